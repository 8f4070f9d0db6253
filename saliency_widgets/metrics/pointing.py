"""The pointing game (Zhang et al. 2016), scored as in TorchRay's benchmark."""
from __future__ import annotations

from collections import defaultdict
from typing import Iterable

import numpy as np

from ._checks import check_saliency, truth_mask

__all__ = ["pointing_game", "pointing_accuracy", "max_point"]


def max_point(saliency) -> tuple[int, int]:
    """(row, col) of the map's maximum (the first one on ties)."""
    sal = check_saliency(saliency)
    return tuple(int(v) for v in np.unravel_index(np.argmax(sal), sal.shape))


def pointing_game(saliency, truth, *, tolerance: float = 15) -> bool:
    """A hit when a ground-truth pixel lies within ``tolerance`` px of the map's maximum.

    Parameters
    ----------
    saliency : (H, W) array, at the image's resolution.
    truth : (H, W) bool mask, a box (x0, y0, x1, y1) with x1, y1 exclusive, or a list of boxes (union).
    tolerance : float, keyword-only
        15 px in the standard protocol; 0 is the strict variant (the maximum must be on the object).

    Examples
    --------
    >>> sal = np.zeros((50, 50)); sal[10, 40] = 1
    >>> pointing_game(sal, (30, 5, 45, 15)), pointing_game(sal, [(0, 30, 10, 40)], tolerance=0)
    (True, False)
    """
    sal = check_saliency(saliency)
    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0 pixels, got {tolerance}")
    mask = truth_mask(truth, sal.shape)
    y, x = max_point(sal)
    ys, xs = np.nonzero(mask)
    return bool(((ys - y) ** 2 + (xs - x) ** 2).min() <= tolerance ** 2)


def pointing_accuracy(results: Iterable, *, per_class: bool = False):
    """Mean over classes of hits / (hits + misses), as TorchRay's benchmark reports it.

    Parameters
    ----------
    results : iterable of (class, hit) pairs or of dicts with keys "target"/"class" and "hit"
        One entry per (image, class present in it); several images and classes mixed.
    per_class : bool, keyword-only
        Also return {class: accuracy}.

    Examples
    --------
    >>> pointing_accuracy([(0, True), (0, False), (1, True)])
    0.75
    """
    hits, total = defaultdict(int), defaultdict(int)
    for item in results:
        if isinstance(item, dict):
            cls = item.get("target", item.get("class"))
            hit = item["hit"]
        else:
            cls, hit = item
        hits[cls] += bool(hit)
        total[cls] += 1
    if not total:
        raise ValueError("pointing_accuracy needs at least one result")
    acc = {c: hits[c] / total[c] for c in sorted(total, key=str)}
    mean = float(np.mean(list(acc.values())))
    return (mean, acc) if per_class else mean
