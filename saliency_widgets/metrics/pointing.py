"""The pointing game (Zhang et al. 2016), scored exactly as TorchRay's benchmark.

Protocol (TorchRay, ``torchray/benchmark/pointing_game.py``):

* one entry per (image, class present in the image); the truth is the union of
  the masks (or boxes) of *all* that class's instances in the image;
* the point is the map's maximum; it is a hit when some truth pixel lies at a
  distance strictly below ``tolerance`` (TorchRay: ``(v + u) < tolerance**2``,
  15 px by default);
* the accuracy is the mean over classes of hits / (hits + misses).

``tolerance=0`` is the strict variant (Quantus' ``PointingGame``): the maximum
must lie *on* the object.  (TorchRay's strict inequality would never accept at
0, so 0 is defined separately.)  Ties among maxima are broken by a seeded
random choice (:func:`~saliency_widgets.metrics.ranking.max_point`), never by
raster order.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Iterable

import numpy as np

from ..truth import truth_mask
from ._checks import check_saliency
from .ranking import TIE_SEED, max_point

__all__ = ["pointing_game", "pointing_accuracy", "max_point"]


def pointing_game(saliency, truth, *, tolerance: float = 15, tie_seed=TIE_SEED) -> bool:
    """A hit when a ground-truth pixel lies strictly within ``tolerance`` px of the map's maximum.

    Parameters
    ----------
    saliency : (H, W) array, at the image's resolution (rank by ``Explanation.raw``).
    truth : (H, W) bool mask, a box (x0, y0, x1, y1) with x1, y1 exclusive, or a list of
        boxes (their union: all instances of the class, as TorchRay scores it).
    tolerance : float, keyword-only
        15 px in TorchRay's protocol, where a hit needs distance < tolerance (strict).
        0 is the strict variant (Quantus): the maximum must be on the object.
    tie_seed : keyword-only
        Seed of the random choice among several maxima.

    Examples
    --------
    >>> sal = np.zeros((50, 50)); sal[10, 40] = 1
    >>> pointing_game(sal, (30, 5, 45, 15)), pointing_game(sal, [(0, 30, 10, 40)], tolerance=0)
    (True, False)
    """
    sal = check_saliency(saliency)
    if isinstance(tolerance, bool) or not np.isfinite(tolerance) or tolerance < 0:
        raise ValueError(f"tolerance must be a finite number of pixels >= 0, got {tolerance!r}")
    mask = truth_mask(truth, sal.shape)
    y, x = max_point(sal, tie_seed=tie_seed)
    if tolerance == 0:
        return bool(mask[y, x])
    ys, xs = np.nonzero(mask)
    return bool(((ys - y) ** 2 + (xs - x) ** 2).min() < tolerance ** 2)


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
