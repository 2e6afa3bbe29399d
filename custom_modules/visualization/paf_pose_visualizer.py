# Copyright (c) OpenMMLab. All rights reserved.
"""mmpose's pose visualizer, drawing part affinity fields as well as joint
maps."""
from typing import Optional

import cv2
import numpy as np
import torch
from mmengine.structures import PixelData
from mmpose.registry import VISUALIZERS
from mmpose.visualization import PoseLocalVisualizer


@VISUALIZERS.register_module()
class PAFPoseLocalVisualizer(PoseLocalVisualizer):
    """``PoseLocalVisualizer`` whose heatmap panel (``--draw-heatmap``,
    ``draw_heatmap=True``) also shows the limb fields of part-affinity-field
    models: the joint maps as mmpose draws them (the maximum over keypoint
    channels, overlaid on the image), and on top, on a grid of ``field_step``
    pixels, an arrow along each limb's field where its length (a unit vector on
    a limb) exceeds ``field_thr``, one colour per limb, pointing from the
    limb's first keypoint to its second. Fields without ``pafs`` (other models)
    are drawn as mmpose draws them.

    Args:
        name (str): The instance's name (mmengine's visualizers are named
            instances).
        field_step (int): Pixels between the arrows. Defaults to 12.
        field_thr (float): Shortest field vector drawn. Defaults to 0.3.
        **kwargs: ``PoseLocalVisualizer``'s other arguments.
    """

    def __init__(self,
                 name: str = 'visualizer',
                 field_step: int = 12,
                 field_thr: float = 0.3,
                 **kwargs) -> None:
        super().__init__(name=name, **kwargs)
        self.field_step = field_step
        self.field_thr = field_thr

    def _draw_instance_heatmap(self,
                               fields: PixelData,
                               overlaid_image: Optional[np.ndarray] = None
                               ) -> np.ndarray:
        """The joint maps over the image, with the limb fields' arrows where
        ``pafs`` are given; an RGB image of the overlaid image's size."""
        drawn = super()._draw_instance_heatmap(fields, overlaid_image)
        if drawn is None or 'pafs' not in fields:
            return drawn
        pafs = fields.pafs
        pafs = (
            pafs.detach().cpu().numpy()
            if isinstance(pafs, torch.Tensor) else np.asarray(pafs))
        # (L, 2, H, W): x, then y
        vectors = pafs.reshape(-1, 2, *pafs.shape[-2:])
        drawn = np.ascontiguousarray(drawn)
        scale_y = drawn.shape[0] / vectors.shape[2]
        scale_x = drawn.shape[1] / vectors.shape[3]
        step = max(1, int(self.field_step / max(scale_x, scale_y)))
        ys, xs = np.mgrid[step // 2:vectors.shape[2]:step,
                          step // 2:vectors.shape[3]:step]
        # (L, 2, gh, gw); a non-finite vector (fp16 overflow, say) is no
        # direction to draw
        sampled = np.nan_to_num(
            vectors[:, :, ys, xs], nan=0.0, posinf=0.0, neginf=0.0)
        length = np.linalg.norm(sampled, axis=1)
        limb = length.argmax(axis=0)  # the strongest limb at each grid point
        best = np.take_along_axis(length, limb[None], axis=0)[0]
        arrow = 0.45 * self.field_step
        for gy, gx in zip(*np.nonzero(best > self.field_thr)):
            k = limb[gy, gx]
            dx, dy = sampled[k, :, gy, gx] / best[gy, gx]
            x0, y0 = (xs[gy, gx] + 0.5) * scale_x, (ys[gy, gx] + 0.5) * scale_y
            colour = tuple(int(c) for c in self._limb_colour(k))
            cv2.arrowedLine(
                drawn, (int(x0 - dx * arrow), int(y0 - dy * arrow)),
                (int(x0 + dx * arrow), int(y0 + dy * arrow)),
                colour,
                1,
                cv2.LINE_AA,
                tipLength=0.4)
        return drawn

    def _limb_colour(self, limb: int) -> np.ndarray:
        """An RGB colour per limb: the HSV hue circle in 19 steps (OpenPose's
        limbs)."""
        hsv = np.uint8([[[int(180 * (limb % 19) / 19), 255, 255]]])
        return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0]
