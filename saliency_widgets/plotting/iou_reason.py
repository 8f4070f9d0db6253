"""Why a map that sits on the object can score a low box IoU: one line read from the map itself.

Box IoU (the table's rule, :func:`saliency_widgets.metrics.box_iou`) takes the pixels at >= 50% of the
min-max range of the raw map and compares the box around them with the object box. Two things make a
map on the object score low, and each is visible in the map's numbers:

- a *signed* map (LIME's coefficients, occlusion's score drops: negative where hiding a region raises the
  class score) puts the 50% line near or below 0 when its minimum is as far below 0 as its maximum is
  above: pixels of no importance pass, and the box around them spans the image;
- a map broader than the object (smooth masks, windows or segments larger than the object), or a few
  pixels above the line away from it (a noisy map): the box around the region is larger than the
  object box; or only part of the object passes the line.
"""
from __future__ import annotations

import numpy as np

from ..metrics import threshold_map
from ..metrics.localization import iou
from ..truth import box_of, is_box

__all__ = ["iou_reason", "LOW_IOU"]

#: below this box IoU the widget and the pointing figure say why
LOW_IOU = 0.5


def _size(box) -> str:
    return f"{box[2] - box[0]}×{box[3] - box[1]} px"


def _area(box) -> int:
    return (box[2] - box[0]) * (box[3] - box[1])


def iou_reason(raw, boxes, *, threshold: float = 0.5) -> str | None:
    """One line on why ``raw`` scores a box IoU under :data:`LOW_IOU` (the ``"fraction"`` rule), or None.

    Parameters
    ----------
    raw : (H, W) raw map (``Explanation.raw``, what box IoU reads)
    boxes : an object box (x0, y0, x1, y1) or a list of them (the best one is compared)
    threshold : keyword-only, the rule's fraction of the min-max range

    Returns
    -------
    str or None: None when the IoU is at least :data:`LOW_IOU`.
    """
    raw = np.asarray(raw, np.float64)
    boxes = [tuple(int(v) for v in boxes)] if is_box(boxes) else [tuple(int(v) for v in b) for b in boxes]
    region = threshold_map(raw, rule="fraction", threshold=threshold)
    rbox = box_of(region)
    if rbox is None:
        return "the map is constant: no region, so no box to compare"
    best = max(boxes, key=lambda b: iou(rbox, b))
    if iou(rbox, best) >= LOW_IOU:
        return None
    lo, hi = float(raw.min()), float(raw.max())
    line = lo + threshold * (hi - lo)
    x0, y0, x1, y1 = best
    outside = 1.0 - region[y0:y1, x0:x1].sum() / region.sum()
    if lo < 0 and line < 0.25 * hi:  # the line sits near 0, far under the peak: the minimum set it
        return (f"signed map (min {lo:.3g}, max {hi:.3g}): the 50% line of its min-max range is {line:.3g}, "
                f"so pixels of little importance pass it; {outside:.0%} of the region lies outside the "
                f"object box and the box around it is {_size(rbox)} against the object's {_size(best)}")
    if region.sum() < 0.5 * _area(rbox):  # a sparse region: a few pixels far apart stretch its box
        return (f"the region (pixels >= {line:.3g}, 50% of the min-max range) is scattered: {outside:.0%} of it "
                f"lies outside the object box, and the box around all of it is {_size(rbox)} against the "
                f"object's {_size(best)}")
    if _area(rbox) > _area(best):
        return (f"the map is broader than the object: the region's box is {_size(rbox)} against the object's "
                f"{_size(best)}")
    return (f"only part of the object passes the 50% line ({line:.3g}): the region's box is {_size(rbox)} "
            f"against the object's {_size(best)}")
