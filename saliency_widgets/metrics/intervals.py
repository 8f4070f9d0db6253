"""Confidence intervals for the tables: Wilson for one proportion, bootstrap over images otherwise.

A normal approximation (p +- 1.96 sqrt(p (1 - p) / n)) has zero width at 0% and
100%; these intervals do not.  Every table states which interval it prints.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Callable, Sequence

import numpy as np
from scipy.stats import norm

__all__ = ["format_bound", "format_interval", "wilson_interval", "bootstrap_ci", "bootstrap_pointing_ci", "bootstrap_mean_ci", "cluster_bootstrap_ci",
           "BOOTSTRAP_SEED", "BOOTSTRAP_RESAMPLES"]

#: the seed and number of resamples every shipped table uses
BOOTSTRAP_SEED = 0
BOOTSTRAP_RESAMPLES = 2000


def wilson_interval(k: int, n: int, *, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion ``k / n``.

    Examples
    --------
    >>> lo, hi = wilson_interval(20, 20)
    >>> round(lo, 3), hi
    (0.839, 1.0)
    """
    if n < 1 or not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n and n >= 1, got k={k}, n={n}")
    _check_confidence(confidence)
    z = float(norm.ppf(0.5 + confidence / 2))
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def _check_confidence(confidence):
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")


def _groups(rows, group):
    by = defaultdict(list)
    for r in rows:
        by[r[group]].append(r)
    if not by:
        raise ValueError("bootstrap needs at least one row")
    return list(by.values())


def bootstrap_ci(rows: Sequence[dict], statistic: Callable, *, group: str = "image",
                 n_resamples: int = BOOTSTRAP_RESAMPLES, seed=BOOTSTRAP_SEED,
                 confidence: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of ``statistic(rows)``, resampling whole images.

    Parameters
    ----------
    rows : list of dicts, each with a ``group`` key (default "image")
    statistic : callable list of rows -> float
    group : str, keyword-only
        Rows sharing this key are resampled together (the images are the sample).
    n_resamples, seed, confidence : keyword-only

    Returns
    -------
    (lo, hi)

    Examples
    --------
    >>> rows = [{"image": i, "v": float(i % 2)} for i in range(40)]
    >>> lo, hi = bootstrap_ci(rows, lambda rs: np.mean([r["v"] for r in rs]))
    >>> lo < 0.5 < hi
    True
    """
    _check_confidence(confidence)
    groups = _groups(rows, group)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(groups), size=(n_resamples, len(groups)))
    stats = np.array([statistic([r for g in pick for r in groups[g]]) for pick in picks], float)
    return _percentile(stats, confidence)


def _percentile(stats, confidence):
    alpha = (1 - confidence) / 2
    lo, hi = np.nanquantile(stats, [alpha, 1 - alpha])
    return float(lo), float(hi)


def bootstrap_pointing_ci(rows: Sequence[dict], key: str = "hit", *, n_resamples: int = BOOTSTRAP_RESAMPLES,
                          seed=BOOTSTRAP_SEED, confidence: float = 0.95) -> tuple[float, float]:
    """Bootstrap-over-images interval of TorchRay's pointing accuracy (the mean of per-class hit rates).

    Equal to ``bootstrap_ci(rows, lambda rs: pointing_accuracy(rs), ...)`` with the
    same seed, vectorised: resampled image counts times per-image hit tables.
    A class absent from a resample is left out of that resample's mean.
    """
    _check_confidence(confidence)
    groups = _groups(rows, "image")
    classes = sorted({r["target"] for r in rows}, key=str)
    col = {c: j for j, c in enumerate(classes)}
    hits = np.zeros((len(groups), len(classes)))
    total = np.zeros((len(groups), len(classes)))
    for i, g in enumerate(groups):
        for r in g:
            hits[i, col[r["target"]]] += bool(r[key])
            total[i, col[r["target"]]] += 1
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(groups), size=(n_resamples, len(groups)))
    weights = np.stack([np.bincount(p, minlength=len(groups)) for p in picks]).astype(float)
    h, t = weights @ hits, weights @ total
    with np.errstate(invalid="ignore", divide="ignore"):
        stats = np.nanmean(np.where(t > 0, h / np.where(t > 0, t, 1), np.nan), axis=1)
    return _percentile(stats, confidence)


def bootstrap_mean_ci(rows: Sequence[dict], key: str, *, n_resamples: int = BOOTSTRAP_RESAMPLES,
                      seed=BOOTSTRAP_SEED, confidence: float = 0.95) -> tuple[float, float]:
    """Bootstrap-over-images interval of the mean of ``row[key]`` over rows (vectorised).

    Equal to ``bootstrap_ci(rows, lambda rs: np.mean([r[key] for r in rs]), ...)`` with the same seed.
    """
    _check_confidence(confidence)
    groups = _groups(rows, "image")
    sums = np.array([sum(float(r[key]) for r in g) for g in groups])
    counts = np.array([len(g) for g in groups], float)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(groups), size=(n_resamples, len(groups)))
    weights = np.stack([np.bincount(p, minlength=len(groups)) for p in picks]).astype(float)
    return _percentile((weights @ sums) / (weights @ counts), confidence)


def cluster_bootstrap_ci(values, clusters, *, n_resamples: int = BOOTSTRAP_RESAMPLES, seed=BOOTSTRAP_SEED,
                         confidence: float = 0.95) -> tuple[float, float]:
    """Cluster-bootstrap interval of the mean of ``values``, resampling whole clusters (e.g. images).

    Targets that share an image are not independent (one image's clutter makes all of its targets
    easy or hard together); resampling the images, each with all of its targets, keeps that
    dependence, where a Wilson interval over targets would treat them as independent and be too narrow.

    Parameters
    ----------
    values : sequence of float (hits as 0/1 give the accuracy's interval), one per target
    clusters : sequence of hashable, same length: the cluster (image id) of each target
    n_resamples, seed, confidence : keyword-only; seed is an int or a numpy Generator

    Returns
    -------
    (lo, hi)

    Examples
    --------
    Duplicating every value within its own cluster does not narrow the interval:

    >>> v = [0, 1, 1, 0, 1, 1, 1, 0, 1, 1]
    >>> cluster_bootstrap_ci(v, range(10)) == cluster_bootstrap_ci(v + v, list(range(10)) * 2)
    True
    """
    _check_confidence(confidence)
    values = np.asarray(values, dtype=float).ravel()
    clusters = list(clusters)
    if len(clusters) != values.size:
        raise ValueError(f"values and clusters must have the same length, got {values.size} values and "
                         f"{len(clusters)} cluster ids")
    if values.size == 0:
        raise ValueError("cluster_bootstrap_ci needs at least one value")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}")
    ids = {c: j for j, c in enumerate(dict.fromkeys(clusters))}
    index = np.array([ids[c] for c in clusters])
    sums = np.bincount(index, weights=values, minlength=len(ids))
    counts = np.bincount(index, minlength=len(ids)).astype(float)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    picks = rng.integers(0, len(ids), size=(n_resamples, len(ids)))
    weights = np.stack([np.bincount(p, minlength=len(ids)) for p in picks]).astype(float)
    return _percentile((weights @ sums) / (weights @ counts), confidence)


def format_bound(x: float, decimals: int = 1, *, signed: bool = True, max_extra: int = 4) -> str:
    """``x`` printed with ``decimals`` decimals, or with as many more as it takes (up to ``max_extra``) to show
    on which side of 0 it lies: a bound of +0.009 prints as ``+0.01``, never as a ``+0.0`` that reads as 0.

    Examples
    --------
    >>> format_bound(-6.93), format_bound(0.009), format_bound(0.0), format_bound(-0.00004, 3)
    ('-6.9', '+0.01', '+0.0', '-0.00004')
    """
    sign = "+" if signed else ""
    x = float(x)
    for extra in range(max_extra + 1):
        text = f"{x:{sign}.{decimals + extra}f}"
        if x == 0 or float(text) != 0:
            return text
    return text


def format_interval(lo: float, hi: float, decimals: int = 1, *, signed: bool = True) -> str:
    """``[lo, hi]`` with each bound printed by :func:`format_bound`: which side of 0 each bound lies on shows.

    Examples
    --------
    >>> format_interval(-6.91, 0.009)
    '[-6.9, +0.01]'
    """
    return f"[{format_bound(lo, decimals, signed=signed)}, {format_bound(hi, decimals, signed=signed)}]"

