"""What the randomisation checks return: per-image similarities, and the verdicts read from them.

:class:`RandomisationResult` (model-parameter randomisation, one row of
similarities per randomisation step) and :class:`DataRandomisationResult` (the
model trained on permuted labels) hold, per method and similarity measure, the
randomised similarity, the floor and the chance level of every image; their
``verdict``/``verdicts``/``summary`` apply :data:`~.rule.RANDOMISATION_RULE`
(:func:`~.rule.decide`), ``curve``/``plot`` draw the similarity or the
normalised difference ND step by step.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .rule import MIN_IMAGES, ND_PASS, decide, verdict_text
from .similarity import SIMILARITIES, mean_interval

__all__ = ["RandomisationResult", "DataRandomisationResult"]

_NAMES = {"spearman": "Spearman rank correlation", "abs_spearman": "|Spearman|", "ssim": "SSIM",
          "hog": "HOG similarity (Pearson)"}


def _check_metric(metric):
    if metric not in SIMILARITIES:
        raise ValueError(f"metric must be one of {SIMILARITIES} ('spearman' or 'ssim', 'abs_spearman', "
                         f"'hog'), got {metric!r}")


def _deterministic(floor) -> bool:
    """A floor of exactly 1 wherever defined: the method gave the same map under another seed (or has none)."""
    f = np.asarray(floor, np.float64)
    return bool(np.all(np.isnan(f) | (f == 1.0)))


def _threshold_is_gone(threshold):
    if threshold is not None:
        import warnings
        warnings.warn("threshold= is no longer used: the verdict reads the normalised difference ND against "
                      "the method's floor and chance level (see saliency_widgets.sanity.RANDOMISATION_RULE)",
                      DeprecationWarning, stacklevel=3)


def _judge(method, inputs, metric, where, *, level, min_images, seed) -> dict:
    """:func:`decide` on ``inputs(metric)``, with ``deterministic``, ``sign_flip``, ``method``, ``metric``, ``text``."""
    _check_metric(metric)
    d = decide(**inputs(metric), level=level, min_images=min_images, seed=seed)
    d["deterministic"] = _deterministic(inputs(metric)["floor"])
    # a sign flip is not a change of what the map points at: a signed pass must hold for |Spearman| too
    d["sign_flip"] = bool(metric == "spearman" and d["passes"] and not decide(
        **inputs("abs_spearman"), level=level, min_images=min_images, seed=seed)["passes"])
    return {"method": method, "metric": metric, **d, "text": verdict_text(method, d, metric, where)}


def _row(method, inputs, metric, where, *, level, min_images, seed) -> dict:
    """One summary row: every measure's mean similarity, ND and verdict; the deciding measure's verdict."""
    v = _judge(method, inputs, metric, where, level=level, min_images=min_images, seed=seed)
    row = {"method": method}
    for key in SIMILARITIES:
        e = v if key == metric else decide(**inputs(key), level=level, min_images=min_images, seed=seed)
        row.update({key: e["mean"], f"{key}_low": e["low"], f"{key}_high": e["high"], f"{key}_nd": e["nd"],
                    f"{key}_nd_low": e["nd_low"], f"{key}_nd_high": e["nd_high"], f"{key}_verdict": e["verdict"]})
    row.update({k: x for k, x in v.items() if k not in ("method", "mean", "low", "high")})
    return row


# ---------------------------------------------------------------------------------------------
# Model-parameter randomisation
# ---------------------------------------------------------------------------------------------

@dataclass
class RandomisationResult:
    """Per-method, per-step, per-image similarity between trained and randomised maps.

    Attributes
    ----------
    mode : {"cascading", "independent"}
    steps : list of str
        One label per randomisation step (a block's layers joined by ``+``);
        in cascading mode step k has every block up to k randomised.
    methods : list of str
        Method labels (the registry's labels for registry methods).
    spearman, abs_spearman, ssim, hog : dict label -> (n_steps, n_images) array
        Trained map (seed s) against the randomised model's map (seed s + 1 for
        seeded or smoothed methods); NaN where a map vanished.
    vanished : dict label -> (n_steps, n_images) bool array
        Where either map of the pair is constant.
    floor : dict label -> dict similarity -> (n_images,) array
        The method's own floor (trained map, seed s, against the trained map,
        seed s + 1); 1 for a deterministic method without smoothing.
    floor_vanished : dict label -> (n_images,) bool array
    chance : dict label -> dict similarity -> (n_images,) array
        Per image, the mean similarity of its trained map to the method's
        trained maps of other images (:func:`~.rule.chance_similarities`).
    self_spearman, self_ssim : dict label -> (n_images,) array
        The measured floors' Spearman and SSIM (seeded or smoothed methods only).
    trained_maps : dict label -> (n_images, H, W) array
    random_maps : dict label -> (n_steps, n_images, H, W) array
    targets : (n_images,) int array
    seed : int
    smoothing : int
        sMPRT's noisy copies per map (0: plain MPRT).
    coverage : (int, int) or None
        (layers with weights randomised in all, layers with weights in the model).
    step_layers : list of int or None
        Layers with weights randomised at each step (cascading: all so far);
        a verdict says "the whole model" only when a step's count is the model's.
    """

    mode: str
    steps: list
    methods: list
    spearman: dict
    ssim: dict
    trained_maps: dict
    random_maps: dict
    targets: np.ndarray
    seed: int
    self_spearman: dict = field(default_factory=dict)
    self_ssim: dict = field(default_factory=dict)
    abs_spearman: dict = field(default_factory=dict)
    hog: dict = field(default_factory=dict)
    vanished: dict = field(default_factory=dict)
    floor: dict = field(default_factory=dict)
    floor_vanished: dict = field(default_factory=dict)
    chance: dict = field(default_factory=dict)
    smoothing: int = 0
    coverage: tuple | None = None
    step_layers: list | None = None

    def _scores(self, metric):
        _check_metric(metric)
        return getattr(self, metric)

    def _check_method(self, method):
        if method not in self.methods:
            raise ValueError(f"no method {method!r} in this result; it has {self.methods}")

    def _step(self, step) -> int:
        """The index of ``step`` (an index, negative from the end, or a step label)."""
        if isinstance(step, str):
            if step not in self.steps:
                raise ValueError(f"no step {step!r}; the steps are {self.steps}")
            return self.steps.index(step)
        if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or not -len(self.steps) <= step < len(
                self.steps):
            raise ValueError(f"step must be an index into the {len(self.steps)} steps {self.steps} or a label, "
                             f"got {step!r}")
        return int(step) % len(self.steps)

    def _inputs(self, method, k):
        return lambda key: {"random": self._scores(key)[method][k], "floor": self.floor[method][key],
                            "chance": self.chance[method][key], "random_vanished": self.vanished[method][k],
                            "floor_vanished": self.floor_vanished[method]}

    def curve(self, method: str, metric: str = "spearman", *, level: float = 0.95) -> dict:
        """Plot-ready curve of one method: the similarity and ND per step, with their bootstrap intervals.

        Returns
        -------
        dict
            ``steps`` (list of str, starting with ``"trained"``); ``mean``, ``low``,
            ``high`` ((n_steps + 1,) arrays: the similarity to the trained map, the
            first point the method's own floor -- its trained map under another
            seed, 1 for a deterministic method); ``nd``, ``nd_low``, ``nd_high``
            (same shape; the first point 0 by definition: the floor is ND's zero);
            ``chance``, ``chance_low``, ``chance_high`` (floats); ``metric``,
            ``method``.  Vanished maps are left out (NaN when every map of a step
            vanished).
        """
        scores = self._scores(metric)
        self._check_method(method)
        first = mean_interval(self.floor[method][metric], level=level, seed=self.seed)
        rows = [first] + [mean_interval(s, level=level, seed=self.seed) for s in scores[method]]
        # the first point compares the floor with itself: ND 0 by definition (undefined when floor = chance)
        itself = {**self._inputs(method, 0)(metric), "random_vanished": self.floor_vanished[method]}
        itself["random"] = itself["floor"]
        ds = [decide(**itself, level=level, min_images=1, seed=self.seed)] + [
            decide(**self._inputs(method, k)(metric), level=level, min_images=1, seed=self.seed)
            for k in range(len(self.steps))]
        mean, low, high = (np.array([r[i] for r in rows]) for i in range(3))
        nd = {key: np.array([d[key] for d in ds]) for key in ("nd", "nd_low", "nd_high")}
        chance = mean_interval(self.chance[method][metric], level=level, seed=self.seed)
        return {"steps": ["trained"] + list(self.steps), "mean": mean, "low": low, "high": high, **nd,
                "chance": chance[0], "chance_low": chance[1], "chance_high": chance[2], "metric": metric,
                "method": method}

    def verdict(self, method: str, *, metric: str = "spearman", step=-1, level: float = 0.95,
                min_images: int = MIN_IMAGES, threshold=None) -> dict:
        """Does ``method`` pass at ``step``? :data:`~.rule.RANDOMISATION_RULE` on that step's similarities.

        Parameters
        ----------
        method : str
        metric : one of :data:`~.similarity.SIMILARITIES`, keyword-only
            Default signed Spearman; with it, ``sign_flip`` is True when ``|Spearman|`` under
            the same rule does not confirm a pass (a sign flip is not a change of what
            the map points at), and the text says so.
        step : int or str, keyword-only
            The step to judge (an index or a step label).  Default: the last one
            (cascading: every block randomised).  In a cascade, the first step (the
            output layer alone) is the harder test: see the notebook on sanity checks.
        level, min_images : keyword-only
        threshold : deprecated, ignored.

        Returns
        -------
        dict
            As :func:`~.rule.decide` returns it, plus ``method``, ``metric``, ``step``
            (its label), ``deterministic``, ``sign_flip`` and ``text``, a plain
            sentence that names what was randomised and prints ND with its interval.
        """
        _threshold_is_gone(threshold)
        _check_metric(metric)
        self._check_method(method)
        k = self._step(step)
        v = _judge(method, self._inputs(method, k), metric, self._where(k), level=level, min_images=min_images,
                   seed=self.seed)
        return {**v, "step": self.steps[k]}

    def _where(self, k: int) -> str:
        """What was randomised at step ``k``."""
        smooth = f" (sMPRT, {self.smoothing} noisy copies per map)" if self.smoothing else ""
        if self.mode != "cascading":
            return f"with {self.steps[k]} randomised alone (the other layers kept trained){smooth}"
        total = self.coverage[1] if self.coverage else None
        done = self.step_layers[k] if self.step_layers else (
            self.coverage[0] if self.coverage and k == len(self.steps) - 1 else None)
        if done is not None and done == total:
            return f"with the whole model randomised{smooth}"
        if done is None or total is None:  # a result made without layer counts
            return f"with every block down to {self.steps[k]} randomised (output first){smooth}"
        return (f"with {done} of {total} layers with weights randomised (output first, down to "
                f"{self.steps[k]}; the rest kept trained){smooth}")

    def verdicts(self, **kwargs) -> list[dict]:
        """:meth:`verdict` of every method (keywords as :meth:`verdict`'s)."""
        return [self.verdict(m, **kwargs) for m in self.methods]

    def summary(self, *, metric: str = "spearman", step=-1, level: float = 0.95,
                min_images: int = MIN_IMAGES) -> list[dict]:
        """One row per method at ``step``: every measure's mean similarity, ND and verdict, and the verdict.

        Each row has, for every key of :data:`~.similarity.SIMILARITIES`, ``key``,
        ``key_low``, ``key_high`` (similarity to the trained map), ``key_nd``,
        ``key_nd_low``, ``key_nd_high`` and ``key_verdict``; then the deciding
        measure's (``metric``) verdict as :meth:`verdict` returns it.
        """
        _check_metric(metric)
        k = self._step(step)
        return [{**_row(m, self._inputs(m, k), metric, self._where(k), level=level, min_images=min_images,
                        seed=self.seed), "step": self.steps[k]} for m in self.methods]

    def plot(self, metric: str = "spearman", *, ax=None, level: float = 0.95, show: str = "similarity"):
        """One line per method over the steps, with its intervals (matplotlib).

        ``show="similarity"``: the similarity to the trained map, the first point the
        method's floor.  ``show="nd"``: the normalised difference ND, from 0 (the
        floor) up, with the pass line at :data:`~.rule.ND_PASS`.
        """
        import matplotlib.pyplot as plt

        if show not in ("similarity", "nd"):
            raise ValueError(f"show must be 'similarity' or 'nd', got {show!r}")
        if ax is None:
            _, ax = plt.subplots(figsize=(8, 4))
        prefix = "nd_" if show == "nd" else ""
        for i, m in enumerate(self.methods):
            c = self.curve(m, metric, level=level)
            y = c["nd"] if show == "nd" else c["mean"]
            x = np.arange(len(c["steps"])) + (i - (len(self.methods) - 1) / 2) * 0.04
            ax.errorbar(x, y, yerr=[y - c[prefix + "low"], c[prefix + "high"] - y], marker="o", capsize=3,
                        label=m, linestyle="--" if m == "centre baseline" else "-")
        ax.set_xticks(np.arange(len(self.steps) + 1))
        ax.set_xticklabels(["trained\n(other seed)"] + list(self.steps), rotation=30, ha="right")
        if show == "nd":
            ax.axhline(ND_PASS, color="grey", lw=1, ls=":")
            ax.set_ylabel(f"ND, {_NAMES[metric]}\n0 unchanged, 1 another image's map")
        else:
            ax.set_ylabel(f"{_NAMES[metric]}\nwith the trained map")
        ax.set_xlabel("cascading randomisation: layers re-initialised, output first"
                      if self.mode == "cascading" else "layer re-initialised alone")
        ax.axhline(0, color="grey", lw=0.5)
        ax.legend(fontsize=8, loc="best")
        return ax


# ---------------------------------------------------------------------------------------------
# Data randomisation
# ---------------------------------------------------------------------------------------------

@dataclass
class DataRandomisationResult:
    """Similarity between the maps of the trained model and of the model trained on permuted labels.

    Attributes
    ----------
    methods : list of str
    spearman, abs_spearman, ssim, hog : dict label -> (n_images,) array
        Trained model's map (seed s) against the permuted model's map (seed s + 1
        for seeded methods); NaN where a map vanished.
    vanished : dict label -> (n_images,) bool array
    floor : dict label -> dict similarity -> (n_images,) array
        The method's own floor on the trained model (1 for a deterministic method).
    floor_vanished : dict label -> (n_images,) bool array
    chance : dict label -> dict similarity -> (n_images,) array
        Per image, the mean similarity of its trained map to the method's trained
        maps of other images.
    trained_maps, permuted_maps : dict label -> (n_images, H, W) array
    targets : (n_images,) int array
    seed : int
    """

    methods: list
    spearman: dict
    ssim: dict
    trained_maps: dict
    permuted_maps: dict
    targets: np.ndarray
    seed: int
    abs_spearman: dict = field(default_factory=dict)
    hog: dict = field(default_factory=dict)
    vanished: dict = field(default_factory=dict)
    floor: dict = field(default_factory=dict)
    floor_vanished: dict = field(default_factory=dict)
    chance: dict = field(default_factory=dict)

    WHERE = "with the model trained on permuted labels in place of the trained model"

    def _inputs(self, method):
        return lambda key: {"random": getattr(self, key)[method], "floor": self.floor[method][key],
                            "chance": self.chance[method][key], "random_vanished": self.vanished[method],
                            "floor_vanished": self.floor_vanished[method]}

    def _check_method(self, method):
        if method not in self.methods:
            raise ValueError(f"no method {method!r} in this result; it has {self.methods}")

    def verdict(self, method: str, *, metric: str = "spearman", level: float = 0.95,
                min_images: int = MIN_IMAGES) -> dict:
        """Does ``method`` pass? :data:`~.rule.RANDOMISATION_RULE` between the maps of the two models.

        Returns the dict of :meth:`RandomisationResult.verdict` (without ``step``).
        """
        self._check_method(method)
        return _judge(method, self._inputs(method), metric, self.WHERE, level=level, min_images=min_images,
                      seed=self.seed)

    def verdicts(self, **kwargs) -> list[dict]:
        """:meth:`verdict` of every method."""
        return [self.verdict(m, **kwargs) for m in self.methods]

    def summary(self, *, metric: str = "spearman", level: float = 0.95, min_images: int = MIN_IMAGES,
                threshold=None) -> list[dict]:
        """One row per method: every measure's mean similarity, ND and verdict, then the deciding verdict.

        The keys are :meth:`RandomisationResult.summary`'s; ``threshold`` is deprecated and ignored.
        """
        _threshold_is_gone(threshold)
        _check_metric(metric)
        return [_row(m, self._inputs(m), metric, self.WHERE, level=level, min_images=min_images, seed=self.seed)
                for m in self.methods]
