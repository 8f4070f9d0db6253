"""Box IoU between the ground-truth box and the box around the thresholded map."""
from __future__ import annotations

import numpy as np

from ..truth import box_of, check_box, is_box
from ._checks import check_saliency
from .ranking import TIE_SEED, minmax, rank_order

__all__ = ["box_iou", "threshold_map", "iou"]


def threshold_map(saliency, *, rule: str = "fraction", threshold: float = 0.5, tie_seed=TIE_SEED) -> np.ndarray:
    """The salient region as a boolean mask, after one normalisation for every method.

    The map is first min-max normalised to [0, 1] (:func:`~.ranking.minmax`), so
    a method's own post-processing (mean-centring, clipping) does not change
    its region.  Then:

    ``rule="fraction"``: pixels >= ``threshold`` of the normalised map (i.e. at
    least ``threshold`` of the way from the minimum to the maximum); a
    constant map has no region.
    ``rule="top"``: the ``threshold`` fraction of pixels with the highest values,
    ties in a random order drawn from ``tie_seed`` (never raster order).
    """
    sal = check_saliency(saliency)
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    if rule == "fraction":
        if sal.max() <= sal.min():
            return np.zeros(sal.shape, bool)
        return minmax(sal) >= threshold
    if rule == "top":
        k = max(1, int(round(threshold * sal.size)))
        order = rank_order(sal, tie_seed=tie_seed)[:k]
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


def box_iou(saliency, box, *, rule: str = "fraction", threshold: float = 0.5, tie_seed=TIE_SEED) -> float:
    """IoU between ``box`` and the bounding box of the thresholded map.

    Parameters
    ----------
    saliency : (H, W) array (metrics read ``Explanation.raw``)
    box : (x0, y0, x1, y1), pixels, x1 and y1 exclusive; or a list of boxes (the
        instances of one class): the best IoU with any of them, as in CAM's
        localisation protocol.
    rule, threshold, tie_seed : keyword-only
        The threshold rule (see :func:`threshold_map`): by default the region
        is every pixel at >= 50% of the min-max normalised map.

    Examples
    --------
    >>> sal = np.zeros((10, 10)); sal[2:5, 2:6] = 1
    >>> box_iou(sal, (2, 2, 6, 5))
    1.0
    """
    sal = check_saliency(saliency)
    boxes = [box] if is_box(box) else list(box)
    if not boxes:
        raise ValueError("box_iou needs a box (x0, y0, x1, y1) or a non-empty list of boxes")
    gts = [check_box(b, sal.shape) for b in boxes]
    region = box_of(threshold_map(sal, rule=rule, threshold=threshold, tie_seed=tie_seed))
    return 0.0 if region is None else float(max(iou(region, gt) for gt in gts))
