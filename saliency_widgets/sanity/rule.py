"""The randomisation checks' decision rule, with an effect size (:data:`RANDOMISATION_RULE`).

Per image and similarity measure (:data:`~.similarity.SIMILARITIES`) the rule
reads three numbers, all about the method's map of that image on the *trained*
model:

* **floor** -- its similarity to the method's map of the same image on the
  trained model under another seed (and another sMPRT noise draw): how alike two
  of the method's maps of one image are when nothing changed.  A deterministic
  method gives the same map under any seed: its floor is 1, exactly.
* **chance** -- its mean similarity to the method's maps of *other* images on
  the trained model (:func:`chance_similarities`): what the maps of unrelated
  images share (a centre bias, the image's texture, the method's own style).
* **randomised** -- its similarity to the method's map of the same image on the
  randomised model (or on the model trained on permuted labels).

The effect size is the **normalised difference**
``ND = (floor - randomised) / (floor - chance)`` of the three means over the
images: 0 when randomising changed nothing, 1 when the map changed as much as
swapping the image for another one.  The signed Spearman correlation, its
absolute value, SSIM and HOG each have their own floor and chance, so one line,
``ND >= 0.5`` (:data:`ND_PASS`), reads alike for all four; a deterministic
method is judged like a seeded one (before this rule, a floor of exactly 1 let
any change at all pass).  The interval is a percentile bootstrap over images
(:data:`~saliency_widgets.metrics.intervals.BOOTSTRAP_RESAMPLES` resamples, a
fixed seed), the three means recomputed together in every resample.
"""
from __future__ import annotations

import functools

import numpy as np

from ..metrics.intervals import BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED
from .similarity import SIMILARITIES, map_similarity

__all__ = ["RANDOMISATION_RULE", "ND_PASS", "MIN_IMAGES", "CHANCE_SHIFTS", "VERDICTS", "decide",
           "chance_partners", "chance_similarities", "verdict_text"]

#: a method passes when the lower bound of ND's 95% interval is at least this, fails when the upper bound is below
ND_PASS = 0.5
#: fewest images (with no map vanished) for a verdict; fewer gives "too few images to tell"
MIN_IMAGES = 30
#: each image's chance level compares its map with the maps of this many neighbours on either side, in a seeded
#: random order of the images (so up to 2 x CHANCE_SHIFTS other images per image)
CHANCE_SHIFTS = 3
#: every verdict the rule can give
VERDICTS = ("passes", "fails", "undecided", "too few images to tell", "map vanished")
#: the decision rule, as the reports print it
RANDOMISATION_RULE = (
    "Per image i and similarity measure (signed Spearman decides; |Spearman|, SSIM and HOG are reported the same "
    "way), three similarities of the method's map of image i on the trained model (seed s + 2i): the FLOOR, to its "
    "map of image i on the trained model with seed s + 2i + 1 (1 for a deterministic method: the same map under "
    "any seed); the CHANCE level, its mean similarity to the method's maps of other images on the trained model "
    f"(up to {2 * CHANCE_SHIFTS} others, chosen by a seeded shuffle: what maps of unrelated images share); and "
    "the RANDOMISED similarity, to its map of image i on the randomised model with seed s + 2i + 1. The "
    "normalised difference ND = (floor - randomised) / (floor - chance), of the three means over images, is 0 "
    "when randomising changed nothing and 1 when the map changed as much as swapping the image for another; its "
    "95% interval is a percentile bootstrap over images (fixed seed). A pair with a constant map is a vanished "
    "map, not a similarity: when maps vanish on at least half of the images the verdict is MAP VANISHED, "
    f"otherwise those images are left out. With fewer than {MIN_IMAGES} images left: TOO FEW IMAGES TO TELL. "
    "When the floor is not above chance (the 95% interval of floor - chance reaches 0) the map does not depend "
    "on the image and the method FAILS (a seeded method: at this budget). Otherwise the method PASSES when ND's "
    f"lower bound is at least {ND_PASS}, FAILS when ND's upper bound is below {ND_PASS}, and is UNDECIDED "
    "otherwise (more images narrow the interval). A signed-Spearman pass that |Spearman| under the same rule "
    "does not confirm is flagged (the randomised map may be the trained one with its sign flipped).")


# ---------------------------------------------------------------------------------------------
# The chance level: the method's maps of different images on the trained model
# ---------------------------------------------------------------------------------------------

def chance_partners(n: int, *, seed: int) -> list[tuple[int, int]]:
    """The pairs of different images whose maps give the chance level.

    The images are put in a seeded random order and each is paired with its
    :data:`CHANCE_SHIFTS` neighbours on either side (cyclically), so an ordered
    image list (frames of one video, one class after another) does not pair
    similar images only.

    Parameters
    ----------
    n : int
        Number of images.
    seed : int, keyword-only

    Returns
    -------
    list of (i, j) with i < j, sorted; empty when ``n < 2``.
    """
    if n < 2:
        return []
    order = np.random.default_rng(seed).permutation(n)
    pairs = {tuple(sorted((int(order[a]), int(order[(a + k) % n]))))
             for k in range(1, min(CHANCE_SHIFTS, n - 1) + 1) for a in range(n)}
    return sorted(pairs)


def chance_similarities(maps, *, seed: int) -> dict:
    """Per image, the mean similarity of its map to the maps of its :func:`chance_partners`.

    Parameters
    ----------
    maps : (N, H, W) array
        The method's maps of N images on the trained model.
    seed : int, keyword-only
        Seeds the order of :func:`chance_partners`.

    Returns
    -------
    dict similarity -> (N,) array
        One entry per :data:`~.similarity.SIMILARITIES`; NaN for an image with no
        partner whose pair has that similarity defined (a constant map, or one image).
    """
    maps = np.asarray(maps, dtype=np.float64)
    if maps.ndim != 3:
        raise ValueError(f"maps must be an (N, H, W) array, got shape {maps.shape}")
    n = len(maps)
    sums = {k: np.zeros(n) for k in SIMILARITIES}
    counts = {k: np.zeros(n) for k in SIMILARITIES}
    for i, j in chance_partners(n, seed=seed):
        sim = map_similarity(maps[i], maps[j])
        for k in SIMILARITIES:
            if not np.isnan(sim[k]):
                sums[k][[i, j]] += sim[k]
                counts[k][[i, j]] += 1
    return {k: np.where(counts[k] > 0, sums[k] / np.maximum(counts[k], 1), np.nan) for k in SIMILARITIES}


# ---------------------------------------------------------------------------------------------
# The rule
# ---------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=16)
def _resample_counts(k: int, n_boot: int, seed: int) -> np.ndarray:
    """(n_boot, k) how often each image is drawn in each resample: :func:`bootstrap_mean_ci`'s draws."""
    picks = np.random.default_rng(seed).integers(0, k, size=(n_boot, k))
    counts = np.stack([np.bincount(p, minlength=k) for p in picks]).astype(np.float64)
    counts.flags.writeable = False
    return counts


def _interval(stats, level):
    alpha = (1 - level) / 2
    lo, hi = np.nanquantile(stats, [alpha, 1 - alpha])
    return float(lo), float(hi)


def _effect(random, floor, chance, *, level: float, n_boot: int, seed: int) -> dict:
    """The three means with their intervals, ND = (F - R) / (F - C) and the gap F - C with theirs.

    Every resample draws images (with replacement) and recomputes the three means together; a
    resample whose gap is not positive has no ND (the map does not depend on the image there) and
    counts as -inf, so it can only lower the interval; with no positive gap on all the images, ND and
    its interval are NaN.  The draws and the arithmetic of the means are :func:`bootstrap_mean_ci`'s
    (same seed), so each similarity's interval is the one the tables print.
    """
    k = len(random)
    counts = _resample_counts(k, n_boot, seed)
    drawn = counts @ np.ones(k)  # k in every resample, exactly
    fb, rb, cb = (counts @ floor) / drawn, (counts @ random) / drawn, (counts @ chance) / drawn
    f_mean, r_mean, c_mean = floor.mean(), random.mean(), chance.mean()
    gap, gb = f_mean - c_mean, fb - cb
    with np.errstate(divide="ignore", invalid="ignore"):
        ndb = np.where(gb > 0, (fb - rb) / np.where(gb > 0, gb, 1.0), -np.inf)
    alpha = (1 - level) / 2
    nd_low, nd_high = np.quantile(ndb, [alpha, 1 - alpha], method="inverted_cdf")
    if not gap > 0:  # the map does not depend on the image: ND is undefined, and so is its interval
        nd_low = nd_high = np.nan
    (low, high), (f_low, f_high), (c_low, c_high), (gap_low, gap_high) = (
        _interval(x, level) for x in (rb, fb, cb, gb))
    return {"nd": float((f_mean - r_mean) / gap) if gap > 0 else float("nan"), "nd_low": float(nd_low),
            "nd_high": float(nd_high), "gap": float(gap), "gap_low": gap_low, "gap_high": gap_high,
            "mean": float(r_mean), "low": low, "high": high, "floor": float(f_mean), "floor_low": f_low,
            "floor_high": f_high, "chance": float(c_mean), "chance_low": c_low, "chance_high": c_high}


def _vanished(values, flags):
    v = np.isnan(values)
    return v if flags is None else v | np.asarray(flags, bool).ravel()


def _verdict(gone, k, min_images, effect, rv, fv):
    """(verdict, reason) in the rule's order: vanished, too few, no image dependence, then ND against its line."""
    if gone.any() and 2 * gone.sum() >= len(gone):
        return "map vanished", (f"a map is constant on {int(gone.sum())} of {len(gone)} images ({int(rv.sum())} "
                                f"randomised, {int(fv.sum())} on the trained model): its similarity is undefined; the "
                                "map did change (it disappeared), but this check cannot compare it")
    if k < max(min_images, 2):
        return "too few images to tell", f"{k} usable images, fewer than the {max(min_images, 2)} a verdict needs"
    if not effect["gap_low"] > 0:
        return "fails", ("the map does not depend on the image: its maps of different images are as alike as two of "
                         "its maps of one image (the interval of floor - chance reaches 0; for a seeded method, a "
                         "larger budget may raise its floor)")
    if effect["nd_low"] >= ND_PASS:
        return "passes", f"ND's lower bound is at least {ND_PASS}: the map changed clearly"
    if effect["nd_high"] < ND_PASS:
        return "fails", (f"ND's upper bound is below {ND_PASS}: the randomised model's map stays closer to the "
                         "trained map than halfway to the map of another image")
    return "undecided", f"ND's interval contains {ND_PASS}: more images would narrow it"


def decide(random, floor, chance, *, random_vanished=None, floor_vanished=None, level: float = 0.95,
           min_images: int = MIN_IMAGES, seed: int = BOOTSTRAP_SEED, n_boot: int = BOOTSTRAP_RESAMPLES) -> dict:
    """Apply :data:`RANDOMISATION_RULE` to per-image similarities of one measure.

    Parameters
    ----------
    random : (N,) array
        Similarity of each image's trained map to its randomised map (NaN where a map vanished).
    floor : (N,) array
        The method's own floor per image (its trained map under another seed; 1 for a deterministic method).
    chance : (N,) array
        Per image, the mean similarity of its trained map to the method's trained maps of other images
        (:func:`chance_similarities`).
    random_vanished, floor_vanished : (N,) bool arrays or None, keyword-only
        Where a map was constant (default: where the similarity is NaN).  An image whose chance is NaN
        is left out too.
    level : float in (0, 1), keyword-only
        Interval level.
    min_images : int, keyword-only
        Fewest usable images for a verdict.
    seed, n_boot : int, keyword-only
        Bootstrap seed and resamples.

    Returns
    -------
    dict
        ``verdict`` (one of :data:`VERDICTS`), ``passes``, ``nd``/``nd_low``/``nd_high`` (the normalised
        difference and its interval), ``mean``/``low``/``high`` (randomised similarity),
        ``floor``/``floor_low``/``floor_high``, ``chance``/``chance_low``/``chance_high``,
        ``gap``/``gap_low``/``gap_high`` (floor - chance), ``n`` (images used), ``vanished`` (images left
        out) and ``reason`` (a plain sentence).
    """
    r, f, c = (np.asarray(x, np.float64).ravel() for x in (random, floor, chance))
    if not r.shape == f.shape == c.shape:
        raise ValueError(f"random, floor and chance need one value per image each, got shapes {r.shape}, "
                         f"{f.shape} and {c.shape}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    rv, fv = _vanished(r, random_vanished), _vanished(f, floor_vanished)
    gone = rv | fv | np.isnan(c)
    keep = ~gone
    k = int(keep.sum())
    nan = float("nan")
    effect = _effect(r[keep], f[keep], c[keep], level=level, n_boot=n_boot, seed=seed) if k else dict.fromkeys(
        ("nd", "nd_low", "nd_high", "gap", "gap_low", "gap_high", "mean", "low", "high", "floor", "floor_low",
         "floor_high", "chance", "chance_low", "chance_high"), nan)
    verdict, reason = _verdict(gone, k, min_images, effect, rv, fv)
    return {"verdict": verdict, "passes": verdict == "passes", **effect, "n": k, "vanished": int(gone.sum()),
            "reason": reason}


def _ci(m, lo, hi) -> str:
    return "n/a" if np.isnan(m) else f"{m:.2f} [{lo:.2f}, {hi:.2f}]"


def verdict_text(method: str, d: dict, metric: str, where: str) -> str:
    """The verdict as one plain sentence: what was randomised, ND with its interval, the three similarities.

    ``d`` is what :func:`decide` returns, with ``deterministic`` and ``sign_flip`` where known.
    """
    nd = "undefined" if np.isnan(d["nd"]) else f"{d['nd']:.2f} [{d['nd_low']:.2f}, {d['nd_high']:.2f}]"
    floor = _ci(d["floor"], d["floor_low"], d["floor_high"])
    if d.get("deterministic"):
        floor += " (deterministic: the same map under any seed)"
    left = f", {d['vanished']} with a vanished map left out" if d["vanished"] and d["verdict"] != "map vanished" \
        else ""
    flip = ("; but |Spearman| does not confirm it: the randomised map may be the trained map with its sign flipped"
            if d.get("sign_flip") else "")
    return (f"{method}: {d['verdict'].upper()} - {where}: ND = {nd} on {metric} (0 = the map did not change, "
            f"1 = as different as another image's map; a pass needs the lower bound >= {ND_PASS}); {metric} "
            f"similarity to the trained map {_ci(d['mean'], d['low'], d['high'])}, floor {floor}, chance "
            f"{_ci(d['chance'], d['chance_low'], d['chance_high'])} ({d['n']} images{left}); {d['reason']}{flip}")
