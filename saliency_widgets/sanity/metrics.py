"""The metric sanity check: does a perfect map beat a random map on the data at hand?

A metric that ranks methods must at least prefer the ground truth itself to
noise.  For each (image, truth) pair the *perfect* map is the truth mask plus
1e-3 seeded uniform noise (so its ranking inside and outside the object is
random, not raster order), the *random* map is seeded uniform noise; the
check reports, per metric, the share of pairs where the perfect map scores
strictly better.

Rule (:data:`SANITY_RULE`): a metric passes only when the perfect map wins on a
clear majority -- the lower bound of the 95% Wilson interval of wins / n is
above :data:`SANITY_THRESHOLD` (0.5), a tie counting as a failure.  A metric
that scores every map the same (all ties) therefore fails, as does one that
wins 4 of 6 (Wilson lower bound 0.30).  Deleting to black on a raw-pixel
shape classifier fails it (the silhouette is left behind); the mean-colour
occluder passes.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..metrics.causal import PROTOCOL, deletion, insertion
from ..metrics.intervals import wilson_interval
from ..metrics.grid_pointing import grid_energy
from ..metrics.localization import box_iou
from ..metrics.names import ALL_METRICS, METRICS, MODEL_METRICS
from ..metrics.pointing import pointing_game
from ..truth import box_of, truth_mask

__all__ = ["sanity_check", "SanityResult", "SANITY_METRICS", "SANITY_THRESHOLD", "SANITY_RULE"]

SANITY_METRICS = METRICS  # evaluate()'s default metrics; the grid pointing game's are checked when asked for
_ACCEPTED = ALL_METRICS
#: a metric passes when the lower bound of the 95% Wilson interval of the perfect map's win rate is above this
SANITY_THRESHOLD = 0.5
SANITY_CONFIDENCE = 0.95
#: the rule, in the words tables print
SANITY_RULE = ("the ground-truth mask (plus 1e-3 noise) as a map must beat a uniform random map on a clear "
               "majority of images: a tie counts as a loss, and the lower bound of the 95% Wilson interval of "
               "the win rate must be above 50%")
_HIGHER_IS_BETTER = {"pointing": True, "pointing_strict": True, "box_iou": True, "insertion": True,
                     "deletion": False, "energy": True, "energy_centred": True}


@dataclass
class SanityResult:
    """Per metric: share of images where the perfect map wins (ties are losses), and the raw counts.

    ``passed(metric)`` is :data:`SANITY_RULE`: the lower bound of the 95% Wilson
    interval of ``wins / n`` is above ``threshold``.  It reads ``wins`` and ``n``
    (not ``share``), so a result stored under the older rule (ties counted 1/2
    in ``share``) is judged by the current rule when it is read back.
    """

    share: dict
    wins: dict
    ties: dict
    n: int
    threshold: float = SANITY_THRESHOLD
    settings: dict = field(default_factory=dict)

    def interval(self, metric: str) -> tuple[float, float]:
        """95% Wilson interval of the perfect map's win rate (ties are losses); (0, 1) when n = 0."""
        return wilson_interval(int(self.wins[metric]), self.n, confidence=SANITY_CONFIDENCE) if self.n else (0.0, 1.0)

    def passed(self, metric: str) -> bool:
        """True when the Wilson lower bound of wins / n is above ``threshold`` (:data:`SANITY_RULE`)."""
        return self.n > 0 and self.interval(metric)[0] > self.threshold

    @property
    def failed(self) -> list:
        """The metrics that do not pass :data:`SANITY_RULE`."""
        return [m for m in self.share if not self.passed(m)]

    def to_dict(self) -> dict:
        return {"share": self.share, "wins": self.wins, "ties": self.ties, "n": self.n,
                "threshold": self.threshold, "settings": self.settings}


def sanity_check(model, images, truths, targets=None, *, metrics=SANITY_METRICS, seed=0, tolerance=15,
                 step=None, occluder="auto", iou_rule="fraction", iou_threshold=0.5, tie_seed=0,
                 protocol=PROTOCOL, noise=1e-3, threshold=SANITY_THRESHOLD, progress=False) -> SanityResult:
    """Share of images where the ground-truth mask, used as a map, beats a uniform random map.

    A metric passes when the 95% Wilson lower bound of that share (ties count
    as losses) is above ``threshold`` (:data:`SANITY_RULE`).

    Parameters
    ----------
    model : model or None (only needed for insertion/deletion)
    images : sequence of (H, W, C) images
    truths : per image, a (H, W) bool mask, a box or a list of boxes (one class's instances)
    targets : per image, the class to score (needed for insertion/deletion)
    metrics, seed, tolerance, step, occluder, iou_rule, iou_threshold, tie_seed, protocol, noise, threshold : keyword-only
        ``seed`` draws the random maps and the perfect map's noise; the others are
        the metric settings, as in :func:`~saliency_widgets.evaluate`.

    Returns
    -------
    SanityResult

    Examples
    --------
    >>> truth = np.zeros((20, 20), bool); truth[5:10, 5:10] = True
    >>> res = sanity_check(None, [np.ones((20, 20, 1))] * 8, [truth] * 8, metrics=("box_iou",))
    >>> res.share, round(res.interval("box_iou")[0], 2), res.failed
    ({'box_iou': 1.0}, 0.68, [])
    """
    unknown = set(metrics) - set(_ACCEPTED)
    if unknown:
        raise ValueError(f"unknown metrics {sorted(unknown)}; choose from {_ACCEPTED}")
    if len(images) != len(truths):
        raise ValueError(f"got {len(images)} images but {len(truths)} truths")
    needs_model = [m for m in metrics if m in MODEL_METRICS]
    if needs_model and (model is None or targets is None):
        raise ValueError(f"{needs_model} need a model and targets (one class per image)")
    rng = np.random.default_rng(seed)
    wins = {m: 0 for m in metrics}
    ties = {m: 0 for m in metrics}
    it = range(len(images))
    if progress:
        from tqdm.auto import tqdm
        it = tqdm(it, desc="sanity check", unit="image")
    for i in it:
        image = np.asarray(images[i])
        mask = truth_mask(truths[i], image.shape[:2])
        perfect = mask + noise * rng.random(mask.shape)
        random = rng.random(mask.shape)
        for m in metrics:
            a, b = (_score(m, s, image, mask, truths[i], model, None if targets is None else targets[i],
                           tolerance=tolerance, step=step, occluder=occluder, iou_rule=iou_rule,
                           iou_threshold=iou_threshold, tie_seed=tie_seed, protocol=protocol)
                    for s in (perfect, random))
            if a == b:
                ties[m] += 1
            elif (a > b) == _HIGHER_IS_BETTER[m]:
                wins[m] += 1
    n = len(images)
    share = {m: wins[m] / n if n else float("nan") for m in metrics}  # ties are losses
    settings = {"seed": seed, "noise": noise, "tolerance": tolerance, "step": step, "occluder": occluder,
                "iou_rule": iou_rule, "iou_threshold": iou_threshold, "tie_seed": tie_seed, "protocol": protocol}
    return SanityResult(share, wins, ties, n, threshold, settings)


def _score(metric, sal, image, mask, truth, model, target, *, tolerance, step, occluder, iou_rule, iou_threshold,
           tie_seed, protocol):
    if metric == "pointing":
        return pointing_game(sal, mask, tolerance=tolerance, tie_seed=tie_seed)
    if metric == "pointing_strict":
        return pointing_game(sal, mask, tolerance=0, tie_seed=tie_seed)
    if metric == "box_iou":
        boxes = truth if _is_boxes(truth) else box_of(mask)
        return box_iou(sal, boxes, rule=iou_rule, threshold=iou_threshold, tie_seed=tie_seed)
    if metric in ("energy", "energy_centred"):
        return grid_energy(sal, mask, centre=metric == "energy_centred")
    if metric == "insertion":
        return insertion(model, image, sal, target, step=step, occluder=occluder, tie_seed=tie_seed,
                         protocol=protocol).auc
    return deletion(model, image, sal, target, step=step, occluder=occluder, tie_seed=tie_seed,
                    protocol=protocol).auc


def _is_boxes(truth) -> bool:
    return not (isinstance(truth, np.ndarray) and truth.ndim == 2)
