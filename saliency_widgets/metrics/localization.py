"""Box IoU between the ground-truth box and the box around the thresholded map."""
from __future__ import annotations

import numpy as np

from ._checks import box_of, check_box, check_saliency

__all__ = ["box_iou", "threshold_map", "iou"]


def threshold_map(saliency, *, rule: str = "fraction", threshold: float = 0.5) -> np.ndarray:
    """The salient region as a boolean mask.

    ``rule="fraction"``: pixels >= ``threshold`` x the map's maximum.
    ``rule="top"``: the ``threshold`` fraction of pixels with the highest values.
    """
    sal = check_saliency(saliency)
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    if rule == "fraction":
        peak = sal.max()
        return sal >= threshold * peak if peak > 0 else np.zeros(sal.shape, bool)
    if rule == "top":
        k = max(1, int(round(threshold * sal.size)))
        order = np.argsort(-sal, axis=None, kind="stable")[:k]
        mask = np.zeros(sal.size, bool)
        mask[order] = True
        return mask.reshape(sal.shape)
    raise ValueError(f"rule must be 'fraction' (of the max) or 'top' (k% of the area), got {rule!r}")


def iou(a, b) -> float:
    """IoU of two boxes (x0, y0, x1, y1), x1 and y1 exclusive."""
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def box_iou(saliency, box, *, rule: str = "fraction", threshold: float = 0.5) -> float:
    """IoU between ``box`` and the bounding box of the thresholded map.

    Parameters
    ----------
    saliency : (H, W) array
    box : (x0, y0, x1, y1), pixels, x1 and y1 exclusive
    rule, threshold : keyword-only
        The threshold rule (see :func:`threshold_map`): by default the region
        is every pixel at >= 50% of the map's maximum.

    Examples
    --------
    >>> sal = np.zeros((10, 10)); sal[2:5, 2:6] = 1
    >>> box_iou(sal, (2, 2, 6, 5))
    1.0
    """
    sal = check_saliency(saliency)
    gt = check_box(box, sal.shape)
    region = box_of(threshold_map(sal, rule=rule, threshold=threshold))
    return 0.0 if region is None else float(iou(region, gt))
