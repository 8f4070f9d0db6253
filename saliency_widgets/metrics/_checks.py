"""Input checks shared by the metrics."""
from __future__ import annotations

import numpy as np


def check_saliency(saliency, shape=None) -> np.ndarray:
    sal = np.asarray(saliency, dtype=np.float64)
    if sal.ndim != 2 or sal.size == 0:
        raise ValueError(f"saliency must be a non-empty (H, W) map, got shape {sal.shape}")
    if np.isnan(sal).any():
        raise ValueError("saliency contains NaN")
    if shape is not None and sal.shape != tuple(shape):
        raise ValueError(f"saliency has shape {sal.shape} but the image is {tuple(shape)}: "
                         "the map must have the image's height and width")
    return sal


def check_box(box, shape) -> tuple[int, int, int, int]:
    try:
        x0, y0, x1, y1 = (int(round(float(v))) for v in box)
    except (TypeError, ValueError):
        raise TypeError(f"a box must be (x0, y0, x1, y1), got {box!r}") from None
    h, w = shape
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"box {tuple(box)} is empty: need x1 > x0 and y1 > y0 (x1, y1 exclusive)")
    if x0 < 0 or y0 < 0 or x1 > w or y1 > h:
        raise ValueError(f"box {tuple(box)} lies outside the {h}x{w} image: need 0 <= x0 < x1 <= {w} "
                         f"and 0 <= y0 < y1 <= {h}")
    return x0, y0, x1, y1


def truth_mask(truth, shape) -> np.ndarray:
    """A boolean (H, W) mask from a mask, one box, or a list of boxes (their union)."""
    arr = np.asarray(truth) if not isinstance(truth, (list, tuple)) else None
    if arr is not None and arr.ndim == 2:
        if arr.shape != tuple(shape):
            raise ValueError(f"truth mask has shape {arr.shape} but the saliency map is {tuple(shape)}")
        mask = arr.astype(bool)
    else:
        boxes = [truth] if _is_box(truth) else list(truth)
        if not boxes:
            raise ValueError("truth is an empty list of boxes")
        mask = np.zeros(shape, bool)
        for box in boxes:
            x0, y0, x1, y1 = check_box(box, shape)
            mask[y0:y1, x0:x1] = True
    if not mask.any():
        raise ValueError("the truth mask is empty: it marks no pixel")
    return mask


def _is_box(truth) -> bool:
    arr = np.asarray(truth, dtype=object)
    return arr.ndim == 1 and arr.shape[0] == 4 and all(np.isscalar(v) for v in arr)


def box_of(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        return None
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1
