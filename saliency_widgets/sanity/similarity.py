"""Similarity of two saliency maps, as the randomisation checks compare them (Adebayo et al. 2018).

Four measures (:data:`SIMILARITIES`) between two ``raw`` (H, W) maps: the signed
Spearman rank correlation, its absolute value (a sign flip does not change what a
map points at), SSIM after scaling each map to [0, 1], and HOG similarity (the
Pearson correlation of the two maps' scikit-image ``hog`` feature vectors; HOG bins
unsigned orientations, so it too ignores a sign flip).  A constant map has no
ranking and no structure: every similarity with it is NaN (a *vanished* map),
never a number.  :func:`mean_interval` is the bootstrap-over-images interval the
reports print beside every mean.
"""
from __future__ import annotations

import numpy as np

from ..metrics.intervals import BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED, bootstrap_mean_ci

__all__ = ["SIMILARITIES", "spearman_similarity", "ssim_similarity", "hog_similarity", "map_similarity",
           "mean_interval", "constant_map"]

#: the similarities reported for every pair of maps
SIMILARITIES = ("spearman", "abs_spearman", "ssim", "hog")


def _check_pair(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.ndim != 2 or a.shape != b.shape:
        raise ValueError(f"maps must be two (H, W) arrays of one shape, got {a.shape} and {b.shape}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("maps must be finite (no NaN or inf)")
    return a, b


def constant_map(a) -> bool:
    """True when the map ``a`` has one value everywhere (it ranks nothing: a vanished map)."""
    return bool(np.ptp(np.asarray(a)) == 0)


def spearman_similarity(a, b) -> float:
    """Spearman rank correlation of two (H, W) maps, in [-1, 1].

    A constant map has no ranking to agree with: the pair is a vanished map
    and the result is NaN (never a similarity), identical or not.
    """
    from scipy.stats import spearmanr

    a, b = _check_pair(a, b)
    if constant_map(a) or constant_map(b):
        return float("nan")
    if np.array_equal(a, b):
        return 1.0  # exactly, not 1 - rounding: the control's "unchanged" must read as 1
    return float(spearmanr(a.ravel(), b.ravel()).statistic)


def _unit(a):
    span = np.ptp(a)
    return np.zeros_like(a) if span == 0 else (a - a.min()) / span


def ssim_similarity(a, b) -> float:
    """Structural similarity of two (H, W) maps, each first scaled to [0, 1] (``data_range=1``);
    NaN when either map is constant (a vanished map)."""
    from skimage.metrics import structural_similarity

    a, b = _check_pair(a, b)
    win = min(7, *a.shape)
    win -= 1 - win % 2  # odd window no larger than the map
    if win < 3:
        raise ValueError(f"maps of shape {a.shape} are too small for SSIM (at least 3 x 3)")
    if constant_map(a) or constant_map(b):
        return float("nan")
    if np.array_equal(a, b):
        return 1.0
    return float(structural_similarity(_unit(a), _unit(b), data_range=1.0, win_size=win))


def hog_similarity(a, b) -> float:
    """Pearson correlation of the HOG feature vectors of two (H, W) maps, each scaled to [0, 1].

    scikit-image's ``hog`` with 9 unsigned orientations, cells of
    ``max(2, min(H, W) // 8)`` pixels (about 8 cells a side) and 2 x 2 blocks
    (L2-Hys).  NaN when either map is constant (a vanished map).
    """
    from skimage.feature import hog

    a, b = _check_pair(a, b)
    cell = max(2, min(a.shape) // 8)
    if min(a.shape) < 2 * cell:
        raise ValueError(f"maps of shape {a.shape} are too small for HOG (at least 4 x 4)")
    if constant_map(a) or constant_map(b):
        return float("nan")
    if np.array_equal(a, b):
        return 1.0
    kw = dict(orientations=9, pixels_per_cell=(cell, cell), cells_per_block=(2, 2), feature_vector=True)
    ha, hb = hog(_unit(a), **kw), hog(_unit(b), **kw)
    if np.ptp(ha) == 0 or np.ptp(hb) == 0:
        return float("nan")
    return float(np.corrcoef(ha, hb)[0, 1])


def map_similarity(a, b) -> dict:
    """Every similarity of :data:`SIMILARITIES` between two (H, W) maps, and ``vanished``.

    ``vanished`` is True when either map is constant; the similarities are then NaN.
    """
    sp = spearman_similarity(a, b)
    return {"spearman": sp, "abs_spearman": abs(sp), "ssim": ssim_similarity(a, b), "hog": hog_similarity(a, b),
            "vanished": constant_map(np.asarray(a)) or constant_map(np.asarray(b))}


def mean_interval(values, *, level: float = 0.95, n_boot: int = BOOTSTRAP_RESAMPLES,
                  seed: int = BOOTSTRAP_SEED) -> tuple[float, float, float]:
    """Mean of ``values`` and its percentile-bootstrap interval over the values (images), fixed seed.

    The interval is :func:`saliency_widgets.metrics.intervals.bootstrap_mean_ci`'s,
    each value one image (the tables' interval; one implementation).

    Parameters
    ----------
    values : (N,) array
        One similarity per image.
    level : float in (0, 1), keyword-only
    n_boot : int, keyword-only
        Bootstrap resamples.
    seed : int, keyword-only

    Returns
    -------
    (mean, low, high)
        NaN values (vanished maps) are left out; all NaN gives (nan, nan, nan).
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size == 0:
        raise ValueError("no values to average")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    v = v[~np.isnan(v)]
    if v.size == 0:
        return float("nan"), float("nan"), float("nan")
    rows = [{"image": i, "value": x} for i, x in enumerate(v)]
    lo, hi = bootstrap_mean_ci(rows, "value", n_resamples=n_boot, seed=seed, confidence=level)
    return float(v.mean()), lo, hi
