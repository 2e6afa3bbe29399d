# Copyright (c) OpenMMLab. All rights reserved.
"""The resize machinery of the PAF decoding: maps resized (or placed) with
half-pixel centres, read only where they are asked for."""
import numpy as np
import pytest
import torch

from custom_modules.codecs.utils import ResizedMaps, placed_resize


def resize(maps: np.ndarray, size, mode: str = 'bicubic') -> np.ndarray:
    """``(C, h, w)`` maps resized to ``size`` ``(W, H)`` as the heads' full
    restore does."""
    return torch.nn.functional.interpolate(
        torch.from_numpy(maps)[None],
        size=size[::-1],
        mode=mode,
        align_corners=False)[0].numpy()


@pytest.mark.parametrize('mode', ['bicubic', 'bilinear'])
def test_resized_maps_read_what_a_resize_gives(mode):
    """ResizedMaps' blocks and vectors equal ``interpolate`` (averaged over
    scales), at integer and fractional ratios, inside the maps and up to their
    border."""
    rng = np.random.default_rng(0)
    size = (50, 37)  # (W, H)
    for shapes in ([(5, 6)], [(7, 9), (4, 5), (11, 13)]):
        maps = [
            rng.normal(size=(4, h, w)).astype(np.float32) for h, w in shapes
        ]
        expected = np.mean([resize(m, size, mode) for m in maps], axis=0)
        resized = ResizedMaps(maps, size, mode)
        assert resized.shape == (4, 37, 50)
        # blocks that tile the maps, some reaching outside (those pixels are
        # not compared)
        channels = np.array([0, 1, 2, 3, 1])
        top, left = np.array([-3, 0, 20, 30,
                              10]), np.array([-3, 40, 0, 45, 20])
        blocks = resized.windows(channels, top, left, 11, 12)
        for block, channel, y, x in zip(blocks, channels, top, left):
            ys, xs = np.arange(y, y + 11), np.arange(x, x + 12)
            inside_y, inside_x = (ys >= 0) & (ys < 37), (xs >= 0) & (xs < 50)
            np.testing.assert_allclose(
                block[np.ix_(inside_y, inside_x)],
                expected[channel][np.ix_(ys[inside_y], xs[inside_x])],
                atol=1e-5)
        vectors = rng.integers(0, 2, (30, 1))
        ys, xs = rng.integers(0, 37, (30, 4)), rng.integers(0, 50, (30, 4))
        ys[0], xs[0] = [0, 36, 0, 36], [0, 49, 49, 0]  # the corners
        np.testing.assert_allclose(
            resized.sample_vectors(vectors, ys, xs),
            expected[2 * vectors + np.arange(2)[:, None, None], ys, xs],
            atol=1e-5)
        # no pixels at all (a limb with no candidate pairs left): an empty
        # read, not an error
        empty = np.zeros((0, 4), np.intp)
        assert resized.sample_vectors(np.zeros((0, 1), np.intp), empty,
                                      empty).shape == (2, 0, 4)


@pytest.mark.parametrize('mode', ['bicubic', 'bilinear'])
def test_placed_resize_is_interpolate_for_the_plain_placement(mode):
    """With the plain resize's placement, ``(h / H, 0)`` and ``(w / W, 0)``,
    ``placed_resize`` is torch's ``interpolate`` (``align_corners=False``)."""
    maps = np.random.default_rng(0).normal(size=(3, 9, 7)).astype(np.float32)
    size = (30, 41)  # (W, H)
    placement = ((9 / 41, 0.0), (7 / 30, 0.0))
    np.testing.assert_allclose(
        placed_resize(torch.from_numpy(maps), size, placement, mode).numpy(),
        resize(maps, size, mode),
        atol=1e-5)


@pytest.mark.parametrize('mode', ['bicubic', 'bilinear'])
def test_a_placement_by_whole_pixels_shifts_the_maps(mode):
    """``a = 1`` and an integer ``b`` reads source pixel ``u + b`` at output
    pixel ``u`` (the taps' weights fall on one pixel), the edge pixel beyond
    the source (the resize's clamp)."""
    maps = np.random.default_rng(1).normal(size=(2, 6, 8)).astype(np.float32)
    placed = placed_resize(
        torch.from_numpy(maps), (8, 6), ((1.0, -1.0), (1.0, 2.0)),
        mode).numpy()
    rows = np.clip(np.arange(6) - 1, 0, 5)
    cols = np.clip(np.arange(8) + 2, 0, 7)
    np.testing.assert_allclose(placed, maps[:, rows][:, :, cols], atol=1e-5)
