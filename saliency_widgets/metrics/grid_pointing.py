"""The grid pointing game's scores (Böhle et al., CVPR 2021; Rao et al., CVPR 2022).

On a mosaic of ``grid x grid`` photos of distinct classes, a map explaining one tile's class
is scored against that tile's box:

* :func:`grid_energy`: Böhle et al.'s localisation score as published (Rao et al. call it the
  energy-based GridPG score): the share of the map's *positive* attribution that lies in the tile,
  ``sum(max(m, 0) in tile) / sum(max(m, 0))``, on the map as the method returns it
  (``Explanation.raw``);
* ``grid_energy(..., centre=True)``: an offset-invariant variant (not the papers'): the same share
  after subtracting the map's mean.  A map that is positive by construction (RISE's raw sums, the
  mask-update readings) carries a constant offset, and on the published score it sits near the
  tile's area (1/4) whatever it shows; centring removes the offset, but it also changes the score of
  every map that has none;
* :func:`grid_pointing`: the hit rate: a hit when the map's maximum lies inside the tile (ties broken
  by a seeded random choice, :func:`~saliency_widgets.metrics.ranking.max_point`): the pointing game
  with tolerance 0.

A map with no positive mass scores the tile's share of the image (what a constant map puts there).
"""
from __future__ import annotations

import numpy as np

from ..truth import truth_mask
from ._checks import check_saliency
from .ranking import TIE_SEED, max_point

__all__ = ["grid_pointing", "grid_energy"]


def grid_pointing(saliency, tile, *, tie_seed=TIE_SEED) -> bool:
    """True when the map's maximum lies inside ``tile``.

    Parameters
    ----------
    saliency : (H, W) array (rank by ``Explanation.raw``)
    tile : (x0, y0, x1, y1) box (x1, y1 exclusive) or (H, W) bool mask
    tie_seed : keyword-only, the seed of the choice among several maxima

    Examples
    --------
    >>> sal = np.zeros((4, 4)); sal[0, 3] = 1
    >>> grid_pointing(sal, (2, 0, 4, 2)), grid_pointing(sal, (0, 0, 2, 2))
    (True, False)
    """
    sal = check_saliency(saliency)
    y, x = max_point(sal, tie_seed=tie_seed)
    return bool(truth_mask(tile, sal.shape)[y, x])


def grid_energy(saliency, tile, *, centre: bool = False) -> float:
    """The share of the map's positive attribution inside ``tile``, in [0, 1] (Böhle et al.'s score).

    Parameters
    ----------
    saliency : (H, W) array
    tile : (x0, y0, x1, y1) box (x1, y1 exclusive) or (H, W) bool mask
    centre : bool, keyword-only
        Subtract the map's mean before keeping the positive part (the offset-invariant variant;
        False, the default, is the published score).

    Examples
    --------
    >>> sal = np.zeros((4, 4)); sal[:2, :2] = 3; sal[3, 3] = 1
    >>> grid_energy(sal, (0, 0, 2, 2))
    0.9230769230769231
    >>> grid_energy(-sal, (0, 0, 2, 2))  # no positive mass: the tile's area share
    0.25
    """
    sal = check_saliency(saliency).astype(np.float64)
    mask = truth_mask(tile, sal.shape)
    if centre:
        sal = sal - sal.mean()
    pos = np.maximum(sal, 0.0)
    total = pos.sum()
    if not total > 0:
        return float(mask.mean())
    return float(pos[mask].sum() / total)
