"""One ranking rule for every metric: order pixels by the raw map, ties in a seeded random order.

Explainers post-process their display map (``Explanation.saliency``) differently
(RISE and mask-update centre and clip it, so most pixels tie at 0; Grad-CAM,
LIME and occlusion do not).  Metrics therefore rank pixels by
``Explanation.raw`` (higher = more important), and break ties by a random
order drawn from ``tie_seed`` -- never by raster order, which would favour the
top rows of the image.  Every rank-based metric is then invariant to a strictly
increasing transform of the map.
"""
from __future__ import annotations

import numpy as np

from ._checks import check_saliency

__all__ = ["rank_order", "max_point", "minmax"]

#: default seed of the random order that breaks ties in every metric
TIE_SEED = 0


def _tie_keys(n: int, tie_seed) -> np.ndarray:
    return np.random.default_rng(tie_seed).permutation(n)


def rank_order(saliency, *, tie_seed=TIE_SEED) -> np.ndarray:
    """Flat pixel indices, most salient first; equal values in a seeded random order.

    Parameters
    ----------
    saliency : (H, W) array
    tie_seed : int or numpy Generator seed, keyword-only

    Returns
    -------
    (H * W,) int array

    Examples
    --------
    >>> rank_order(np.array([[0.0, 2.0], [1.0, 2.0]]))[2:].tolist()
    [2, 0]
    """
    sal = check_saliency(saliency).ravel()
    # lexsort: the last key is the primary one (descending value), the permutation breaks ties
    return np.lexsort((_tie_keys(sal.size, tie_seed), -sal))


def max_point(saliency, *, tie_seed=TIE_SEED) -> tuple[int, int]:
    """(row, col) of the map's maximum; among several maxima a seeded random one.

    Examples
    --------
    >>> max_point(np.array([[0, 1], [3, 0]]))
    (1, 0)
    """
    sal = check_saliency(saliency)
    flat = sal.ravel()
    ties = np.flatnonzero(flat == flat.max())
    if len(ties) == 1:
        idx = ties[0]
    else:  # the maximum with the smallest random key: the same rule as rank_order
        idx = ties[np.argmin(_tie_keys(flat.size, tie_seed)[ties])]
    return tuple(int(v) for v in np.unravel_index(idx, sal.shape))


def minmax(saliency) -> np.ndarray:
    """The map rescaled to [0, 1] by its minimum and maximum (a constant map becomes all 0).

    The one normalisation applied to every method's raw map before a threshold
    (box IoU), so no method's own post-processing (centring, clipping) changes
    its score.
    """
    sal = check_saliency(saliency)
    lo, hi = sal.min(), sal.max()
    if not np.isfinite(hi - lo) or hi <= lo:
        return np.zeros(sal.shape)
    return (sal - lo) / (hi - lo)
