# Copyright (c) OpenMMLab. All rights reserved.
"""The tree of a skeleton's limbs, oriented for assembling people."""
import math
from typing import Optional, Tuple

import numpy as np


def orient_tree(limbs: np.ndarray,
                num_keypoints: int) -> Optional[Tuple[np.ndarray, int]]:
    """Orient tree limbs for assembling people by pointer jumping.

    Args:
        limbs (np.ndarray): ``(T, 2)`` keypoint pairs that should form a
            forest.
        num_keypoints (int): ``M``.

    Returns:
        tuple | None: ``first_is_parent`` (T,), whether a limb's first keypoint
        is nearer its tree's root than its second (roots chosen to make the
        trees shallow), and ``jumps``, the pointer-jumping rounds that take any
        keypoint to its root (``2**jumps >= depth``); ``None`` if the limbs
        close a loop (then people are connected components).
    """
    neighbours = [[] for _ in range(num_keypoints)]
    for a, b in limbs:
        neighbours[a].append(b)
        neighbours[b].append(a)

    def depths_from(root):
        depth = {root: 0}
        queue = [root]
        for node in queue:
            for other in neighbours[node]:
                if other not in depth:
                    depth[other] = depth[node] + 1
                    queue.append(other)
        return depth

    depth = np.full(num_keypoints, -1)
    for node in range(num_keypoints):
        if depth[node] >= 0:
            continue
        component = depths_from(node)
        nodes = list(component)
        edges = sum(len(neighbours[n]) for n in nodes) // 2
        if edges != len(nodes) - 1:
            return None  # a loop (or a repeated limb)
        # the root with the shallowest tree
        best = min((depths_from(n) for n in nodes),
                   key=lambda d: max(d.values()))
        for n, d in best.items():
            depth[n] = d
    limbs = np.asarray(limbs, dtype=np.intp).reshape(-1, 2)
    max_depth = int(depth.max())
    jumps = math.ceil(math.log2(max_depth)) if max_depth > 1 else 0
    return depth[limbs[:, 0]] < depth[limbs[:, 1]], jumps
