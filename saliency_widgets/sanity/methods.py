"""Sanity checks for saliency maps (Adebayo et al. 2018, "Sanity checks for saliency maps", NeurIPS).

A saliency method that explains the *model* must give different maps when the
model's learned weights are destroyed.  Two checks:

* **Model-parameter randomisation** (:func:`model_randomisation`): the weights
  of a *clone* of the model are re-initialised, either *cascading* from the
  output layer down (one more layer, or block of layers, at every step) or
  *independently* (each layer alone, the others trained).  The map of each
  randomised model is compared with the trained model's map of the same image
  and class.
* **Data randomisation** (:func:`data_randomisation_check`): the map of the
  trained model is compared with the map of the same architecture trained on
  permuted labels (for the demo model: :func:`saliency_widgets.demo.load_permuted_model`).

Similarity is the Spearman rank correlation (:func:`scipy.stats.spearmanr`)
and the structural similarity (:func:`skimage.metrics.structural_similarity`)
between the two ``raw`` maps (SSIM after scaling each map to [0, 1]).  A map
that does not change (similarity near 1) fails the check: the centre baseline
fails it by construction, which is why it is the control.

The models are Keras 3 models and PyTorch modules (a module is explained like
:func:`saliency_widgets.models.as_model` explains it: channels-last images in,
(B, C, H, W) to the module).  This module knows no framework: it asks
:mod:`saliency_widgets.models.randomise` for the layers with weights
(:func:`weighted_layers`, randomised output first; pass ``layers=`` for a
PyTorch module registered otherwise than input to output) and for a copy of
the model with some layers re-initialised (:func:`randomise_layers`), seeded
by ``(seed, layer index)`` so a layer gets the same draw in the cascading and
the independent check; the user's model is never modified.  That module's
docstring states the re-initialisation rule per framework (Keras: each
weight's declared initialiser; PyTorch: the layer's ``reset_parameters()``
with a seeded ``torch.Generator``, never torch's global RNG; otherwise a
normal draw with the trained weight's mean and deviation).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from ..metrics.intervals import BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED, bootstrap_mean_ci
from ..models import randomise

__all__ = ["weighted_layers", "randomise_layers", "map_similarity", "spearman_similarity",
           "ssim_similarity", "mean_interval", "RandomisationResult", "model_randomisation",
           "DataRandomisationResult", "data_randomisation_check", "DEMO_BLOCKS"]

# The demo model's blocks, from the output down: each convolution with its batch norm.
DEMO_BLOCKS = (("probabilities",), ("conv4", "bn4"), ("conv3", "bn3"), ("conv2", "bn2"),
               ("conv1", "bn1"), ("conv0", "bn0"))


# ---------------------------------------------------------------------------------------------
# Layers and re-initialisation: saliency_widgets.models.randomise knows the frameworks
# ---------------------------------------------------------------------------------------------

# The layers with weights, input to output (Keras: layer paths; PyTorch: submodules in registration
# order, so a module that registers its head first needs ``layers=`` in model_randomisation).
weighted_layers = randomise.weighted_layers


def _clone(model):
    """A copy of ``model`` with the same weights (the user's model is never touched)."""
    return randomise.copy_model(model)


def _as_blocks(model, layers) -> list[tuple[str, ...]]:
    """Randomisation steps, output to input: each a tuple of layer paths re-initialised together."""
    names = weighted_layers(model)
    if layers is None:
        return [(n,) for n in reversed(names)]
    if isinstance(layers, str):
        layers = [layers]
    blocks = []
    for item in layers:
        block = (item,) if isinstance(item, str) else tuple(item)
        if not block:
            raise ValueError("an empty block of layers cannot be randomised")
        unknown = [n for n in block if n not in names]
        if unknown:
            raise ValueError(f"layers {unknown} are not layers with weights of {randomise.describe(model)}; "
                             f"choose from {names}")
        blocks.append(block)
    return blocks


def randomise_layers(model, layers: Sequence[str], *, seed: int = 0):
    """A clone of ``model`` with the weights of ``layers`` re-initialised (the model itself is untouched).

    Parameters
    ----------
    model : keras.Model or torch.nn.Module
    layers : sequence of str
        Layer paths as :func:`weighted_layers` names them.
    seed : int, keyword-only
        Seeds every draw, per layer index (and weight index): the same layer
        gets the same new weights whichever other layers are randomised with it.

    Returns
    -------
    keras.Model or torch.nn.Module
        The clone (``clone_model`` or ``copy.deepcopy``); the re-initialisation
        rule is :func:`saliency_widgets.models.randomise.randomised_copy`'s.
    """
    return randomise.randomised_copy(model, layers, seed=seed)


# ---------------------------------------------------------------------------------------------
# Similarity of two maps
# ---------------------------------------------------------------------------------------------

def _check_pair(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.ndim != 2 or a.shape != b.shape:
        raise ValueError(f"maps must be two (H, W) arrays of one shape, got {a.shape} and {b.shape}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("maps must be finite (no NaN or inf)")
    return a, b


def spearman_similarity(a, b) -> float:
    """Spearman rank correlation of two (H, W) maps, in [-1, 1].

    A constant map has no ranking to agree with: its similarity to another
    map is 0, and 1 only to an identical map.
    """
    from scipy.stats import spearmanr

    a, b = _check_pair(a, b)
    if np.array_equal(a, b):
        return 1.0  # exactly, not 1 - rounding: the control's "unchanged" must read as 1
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return 0.0  # a constant map against another map: no rank agreement
    return float(spearmanr(a.ravel(), b.ravel()).statistic)


def _unit(a):
    span = np.ptp(a)
    return np.zeros_like(a) if span == 0 else (a - a.min()) / span


def ssim_similarity(a, b) -> float:
    """Structural similarity of two (H, W) maps, each first scaled to [0, 1] (``data_range=1``)."""
    from skimage.metrics import structural_similarity

    a, b = _check_pair(a, b)
    win = min(7, *a.shape)
    win -= 1 - win % 2  # odd window no larger than the map
    if win < 3:
        raise ValueError(f"maps of shape {a.shape} are too small for SSIM (at least 3 x 3)")
    if np.array_equal(a, b):
        return 1.0
    return float(structural_similarity(_unit(a), _unit(b), data_range=1.0, win_size=win))


def map_similarity(a, b) -> dict:
    """``{"spearman": ..., "ssim": ...}`` between two (H, W) maps."""
    return {"spearman": spearman_similarity(a, b), "ssim": ssim_similarity(a, b)}


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
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size == 0:
        raise ValueError("no values to average")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    rows = [{"image": i, "value": x} for i, x in enumerate(v)]
    lo, hi = bootstrap_mean_ci(rows, "value", n_resamples=n_boot, seed=seed, confidence=level)
    return float(v.mean()), lo, hi


# ---------------------------------------------------------------------------------------------
# Methods: registry names or factories
# ---------------------------------------------------------------------------------------------

def _methods(methods, budget, params, seed):
    """[(label, factory(model) -> explainer, seeded)] from registry names or (label, factory) pairs.

    Registry methods are built by :func:`~saliency_widgets.registry.build_checked`: the budget (shared:
    only methods that have one take it; None: the constructor's default) and the registry's options in
    ``params`` are range-checked, other settings in ``params`` (``occluder=``...) go to the constructor.
    """
    from ..registry import build_checked, get_method

    if isinstance(methods, (str, tuple)) or callable(methods):
        methods = [methods]
    out = []
    for m in methods:
        if isinstance(m, tuple):
            label, factory = m
            out.append((str(label), factory, False))
            continue
        spec = get_method(m)
        b = budget.get(spec.label, budget.get(spec.key)) if isinstance(budget, dict) else budget
        kw = dict((params or {}).get(spec.label, (params or {}).get(spec.key, {})))
        own_seed = kw.pop("seed", seed)
        options = {k: kw.pop(k) for k in list(kw) if k in spec.options}
        b = spec.shared_budget(b)
        # A bad budget, option or clashing setting fails here, before any model is cloned.
        label = spec.label_for(spec.checked_params(budget=b, options=options, extra=kw, seed=own_seed))

        def factory(model, seed=None, spec=spec, b=b, options=options, kw=kw, own_seed=own_seed):
            # seed: another seed for the same settings (the method's own noise, seeded methods only)
            return build_checked(spec.key, model, budget=b, options=options, extra=kw,
                                 seed=own_seed if seed is None else seed)
        out.append((label, factory, spec.seeded))  # the label the built explainer computes
    labels = [m[0] for m in out]
    if len(set(labels)) != len(labels):
        raise ValueError(f"methods repeat a label: {labels}")
    return out


def _images(images):
    arr = np.asarray(images)
    if arr.ndim == 3:
        arr = arr[None]
    if arr.ndim != 4 or len(arr) == 0:
        raise ValueError(f"images must have shape (N, H, W, C) or (H, W, C), got {arr.shape}")
    return arr.astype(np.float32)


def _targets(model, images, targets):
    if targets is None:
        from ..models.predict import top1
        return top1(model, images)  # what the explainers explain: adapter.prepare(image)
    t = np.asarray(targets, dtype=int).ravel()
    if t.shape != (len(images),):
        raise ValueError(f"targets must give one class per image ({len(images)}), got shape {np.shape(targets)}")
    return t


def _maps(explainer, images, targets):
    return np.stack([np.asarray(explainer.explain(img, int(t)).raw, dtype=np.float64)
                     for img, t in zip(images, targets)])


def _score(ref, maps):
    sp = np.array([spearman_similarity(a, b) for a, b in zip(ref, maps)])
    ss = np.array([ssim_similarity(a, b) for a, b in zip(ref, maps)])
    return sp, ss


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
    spearman, ssim : dict label -> (n_steps, n_images) array
    self_spearman, self_ssim : dict label -> (n_images,) array
        Seeded methods only: the trained model's map against its map under another
        seed (how much of a change the method's own randomness explains).
    trained_maps : dict label -> (n_images, H, W) array
    random_maps : dict label -> (n_steps, n_images, H, W) array
    targets : (n_images,) int array
    seed : int
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

    def _scores(self, metric):
        if metric not in ("spearman", "ssim"):
            raise ValueError(f"metric must be 'spearman' or 'ssim', got {metric!r}")
        return self.spearman if metric == "spearman" else self.ssim

    def curve(self, method: str, metric: str = "spearman", *, level: float = 0.95) -> dict:
        """Plot-ready curve of one method: x labels, mean and bootstrap interval per step.

        Returns
        -------
        dict with ``steps`` (list of str, starting with ``"trained"``), ``mean``,
        ``low``, ``high`` ((n_steps + 1,) arrays; the trained model's similarity to
        itself is 1) and ``metric``.
        """
        scores = self._scores(metric)
        if method not in scores:
            raise ValueError(f"no method {method!r} in this result; it has {self.methods}")
        rows = [mean_interval(s, level=level, seed=self.seed) for s in scores[method]]
        mean, low, high = (np.array([1.0] + [r[i] for r in rows]) for i in range(3))
        return {"steps": ["trained"] + list(self.steps), "mean": mean, "low": low, "high": high,
                "metric": metric, "method": method}

    def verdict(self, method: str, *, threshold: float = 0.5, metric: str = "spearman",
                level: float = 0.95) -> dict:
        """Does ``method`` pass? It passes when its map changes once the model is randomised.

        Rule (stated, not Adebayo's, who judged by eye), on the last step (in
        cascading mode: the whole model randomised), with the ``level`` bootstrap
        interval of the mean similarity over the images: **passes** when the whole
        interval lies below ``threshold``, **fails** when it lies at or above it,
        **undecided** when it straddles it (too few images, or too noisy maps, to say).

        Returns
        -------
        dict with ``method``, ``verdict`` ("passes", "fails" or "undecided"),
        ``passes`` (bool), ``mean``, ``low``, ``high`` and ``text``, a plain sentence.
        """
        if not -1 <= threshold <= 1:
            raise ValueError(f"threshold must be a similarity in [-1, 1], got {threshold}")
        scores = self._scores(metric)
        if method not in scores:
            raise ValueError(f"no method {method!r} in this result; it has {self.methods}")
        mean, low, high = mean_interval(scores[method][-1], level=level, seed=self.seed)
        where = "the whole model randomised" if self.mode == "cascading" else f"{self.steps[-1]} randomised"
        verdict, text = _verdict(mean, low, high, threshold)
        text = (f"{method}: {verdict.upper()} - with {where}, {metric} similarity to the trained map is "
                f"{mean:.2f} [{low:.2f}, {high:.2f}]; {text}")
        return {"method": method, "verdict": verdict, "passes": verdict == "passes", "mean": mean, "low": low,
                "high": high, "text": text}

    def verdicts(self, **kwargs) -> list[dict]:
        """:meth:`verdict` of every method."""
        return [self.verdict(m, **kwargs) for m in self.methods]

    def plot(self, metric: str = "spearman", *, ax=None, level: float = 0.95):
        """Similarity curves with their intervals, one line per method (matplotlib)."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(8, 4))
        for i, m in enumerate(self.methods):
            c = self.curve(m, metric, level=level)
            x = np.arange(len(c["steps"])) + (i - (len(self.methods) - 1) / 2) * 0.04
            ax.errorbar(x, c["mean"], yerr=[c["mean"] - c["low"], c["high"] - c["mean"]], marker="o",
                        capsize=3, label=m, linestyle="--" if m == "centre baseline" else "-")
        steps = ["trained"] + list(self.steps)
        ax.set_xticks(np.arange(len(steps)))
        ax.set_xticklabels(steps, rotation=30, ha="right")
        ax.set_ylabel(f"{'Spearman rank correlation' if metric == 'spearman' else 'SSIM'}\nwith the trained map")
        ax.set_xlabel("cascading randomisation: layers re-initialised, output first"
                      if self.mode == "cascading" else "layer re-initialised alone")
        ax.axhline(0, color="grey", lw=0.5)
        ax.legend(fontsize=8, loc="best")
        return ax


def _verdict(mean, low, high, threshold):
    if high < threshold:
        return "passes", f"the whole interval is below {threshold}: the map depends on the learned weights"
    if low >= threshold:
        return "fails", f"the whole interval is at or above {threshold}: the map barely depends on the learned weights"
    return "undecided", f"the interval straddles {threshold}: more images (or a larger budget) are needed to say"


def model_randomisation(model, images, methods, *, targets=None, cascading: bool = True, layers=None,
                        budget=None, params=None, seed: int = 0, progress: bool = True) -> RandomisationResult:
    """Model-parameter randomisation check (Adebayo et al. 2018) of one or more saliency methods.

    Parameters
    ----------
    model : keras.Model or torch.nn.Module
        The trained model; it is cloned, never modified.  A PyTorch module
        takes (B, C, H, W) batches (the images below are channels-last) and is
        put in ``eval()`` mode, as :func:`saliency_widgets.models.as_model` does.
    images : (N, H, W, C) or (H, W, C) array
    methods : str, (label, factory) or a list of them
        Registry keys or labels (``"rise"``, ``"mask-update (paper)"``, ...), or
        ``(label, factory)`` with ``factory(model) -> explainer`` (treated as unseeded:
        no seed-to-seed comparison is made for it).
    targets : (N,) ints or None, keyword-only
        Class explained per image (default: the trained model's top-1); the same
        class is explained on every randomised model.
    cascading : bool, keyword-only
        True: step k re-initialises blocks 1..k (output first).  False: each block alone.
    layers : list of str or of tuples of str, or None, keyword-only
        The blocks, output first (default: every layer with weights, one per step;
        :data:`DEMO_BLOCKS` for the demo model).
    budget : int, dict label -> int, or None, keyword-only
        Forward passes for methods that have a budget (registry methods only).
    params : dict label -> dict, or None, keyword-only
        Extra constructor settings per method.
    seed : int, keyword-only
        Seeds the re-initialisation, every seeded explainer (the same seed for the
        trained and the randomised model, so the masks drawn are the same) and the
        bootstrap intervals.
    progress : bool, keyword-only

    Returns
    -------
    RandomisationResult
    """
    randomise.check_model(model)
    images = _images(images)
    blocks = _as_blocks(model, layers)
    targets = _targets(model, images, targets)
    meths = _methods(methods, budget, params, seed)
    labels = [m[0] for m in meths]

    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=(len(blocks) + 1) * len(meths), desc="randomisation check", unit="map set")

    trained, self_sp, self_ss = {}, {}, {}
    for label, factory, seeded in meths:
        trained[label] = _maps(factory(model), images, targets)
        if seeded:
            other = _maps(factory(model, seed=seed + 1), images, targets)
            self_sp[label], self_ss[label] = _score(trained[label], other)
        if bar is not None:
            bar.update(1)

    spearman = {m: [] for m in labels}
    ssim = {m: [] for m in labels}
    random_maps = {m: [] for m in labels}
    for k, block in enumerate(blocks):
        chosen = [n for b in blocks[:k + 1] for n in b] if cascading else list(block)
        clone = randomise_layers(model, chosen, seed=seed)
        for label, factory, _ in meths:
            maps = _maps(factory(clone), images, targets)
            sp, ss = _score(trained[label], maps)
            spearman[label].append(sp)
            ssim[label].append(ss)
            random_maps[label].append(maps)
            if bar is not None:
                bar.update(1)
        del clone
    if bar is not None:
        bar.close()
    return RandomisationResult(
        mode="cascading" if cascading else "independent", steps=["+".join(b) for b in blocks], methods=labels,
        spearman={m: np.array(v) for m, v in spearman.items()}, ssim={m: np.array(v) for m, v in ssim.items()},
        trained_maps=trained, random_maps={m: np.array(v) for m, v in random_maps.items()},
        targets=targets, seed=seed, self_spearman=self_sp, self_ssim=self_ss)


# ---------------------------------------------------------------------------------------------
# Data randomisation
# ---------------------------------------------------------------------------------------------

@dataclass
class DataRandomisationResult:
    """Similarity between the maps of the trained model and of the model trained on permuted labels.

    Attributes
    ----------
    methods : list of str
    spearman, ssim : dict label -> (n_images,) array
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

    def summary(self, *, threshold: float = 0.5, level: float = 0.95) -> list[dict]:
        """One row per method: mean Spearman and SSIM with bootstrap intervals, and a verdict.

        The verdict follows :meth:`RandomisationResult.verdict` on the Spearman
        interval: passes below ``threshold``, fails at or above, undecided across it.
        """
        rows = []
        for m in self.methods:
            sp = mean_interval(self.spearman[m], level=level, seed=self.seed)
            ss = mean_interval(self.ssim[m], level=level, seed=self.seed)
            verdict, why = _verdict(*sp, threshold)
            rows.append({"method": m, "spearman": sp[0], "spearman_low": sp[1], "spearman_high": sp[2],
                         "ssim": ss[0], "ssim_low": ss[1], "ssim_high": ss[2], "verdict": verdict,
                         "passes": verdict == "passes",
                         "text": f"{m}: {verdict.upper()} - Spearman {sp[0]:.2f} [{sp[1]:.2f}, {sp[2]:.2f}] "
                                 f"between the maps of the two models; {why}"})
        return rows


def data_randomisation_check(model, permuted_model, images, methods, *, targets=None, budget=None, params=None,
                             seed: int = 0, progress: bool = True) -> DataRandomisationResult:
    """Compare each method's maps of ``model`` with its maps of ``permuted_model`` (same images, same class).

    Parameters
    ----------
    model : keras.Model, torch.nn.Module or any model the explainers accept
        The trained model.
    permuted_model : same kind as ``model``
        The same architecture trained on permuted labels (the demo's:
        :func:`saliency_widgets.demo.load_permuted_model`).
    images, methods, targets, budget, params, seed, progress
        As in :func:`model_randomisation`; ``targets`` default to ``model``'s top-1.

    Returns
    -------
    DataRandomisationResult
    """
    images = _images(images)
    targets = _targets(model, images, targets)
    meths = _methods(methods, budget, params, seed)
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(meths), desc="data randomisation check", unit="method")
    sp, ss, a_maps, b_maps = {}, {}, {}, {}
    for label, factory, _ in meths:
        a_maps[label] = _maps(factory(model), images, targets)
        b_maps[label] = _maps(factory(permuted_model), images, targets)
        sp[label], ss[label] = _score(a_maps[label], b_maps[label])
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return DataRandomisationResult(methods=[m[0] for m in meths], spearman=sp, ssim=ss, trained_maps=a_maps,
                                   permuted_maps=b_maps, targets=targets, seed=seed)
