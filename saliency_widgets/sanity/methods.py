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

Similarity (:data:`SIMILARITIES`) between two ``raw`` maps: the signed Spearman
rank correlation, its absolute value (Adebayo et al. report both: a sign flip
does not change what a map points at), SSIM after scaling each map to [0, 1],
and HOG similarity (the Pearson correlation of the two maps' scikit-image
``hog`` feature vectors; HOG bins unsigned orientations, so it too ignores a
sign flip).  A constant map has no ranking and no structure: such a pair is
reported as **map vanished** (its similarities are NaN, counted apart), never
as a similarity.

The verdict follows one rule, stated up front (:data:`RANDOMISATION_RULE`): the
method's own noise floor is the similarity of its map on the trained model to
its map on the trained model *under another seed*; the randomised comparison
uses that other seed too (the same design on both sides), so shared mask noise
cannot make two maps look alike.  A deterministic method (occlusion, Grad-CAM,
gradients, the centre baseline) gives the same map under any seed: its floor is
1, exactly, and it is not recomputed.  sMPRT (Hedström et al. 2023,
``smoothing=``) averages each map over noisy copies of the image (seeded
noise) before comparing; the noise then counts as part of the method's own
randomness, so the floor is measured for every method.

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
           "ssim_similarity", "hog_similarity", "mean_interval", "RandomisationResult", "model_randomisation",
           "DataRandomisationResult", "data_randomisation_check", "DEMO_BLOCKS", "RANDOMISATION_RULE",
           "SIMILARITIES", "MIN_IMAGES", "FLOOR_MIN", "VERDICTS", "decide"]

#: the similarities reported for every pair of maps
SIMILARITIES = ("spearman", "abs_spearman", "ssim", "hog")
#: fewest images (with both maps non-constant) for a verdict; fewer gives "too few images to tell"
MIN_IMAGES = 30
#: a noise floor whose interval's lower bound is at or below this is "near zero": budget too small to tell
FLOOR_MIN = 0.1
#: every verdict the rule can give
VERDICTS = ("passes", "fails", "budget too small to tell", "too few images to tell", "map vanished")
#: the decision rule, as the reports print it
RANDOMISATION_RULE = (
    "Per image i, the similarity (default: signed Spearman) of the method's map on the trained model (seed "
    "s + 2i) to (a) its map on the trained model with seed s + 2i + 1 -- the method's own noise floor -- and "
    "(b) its map on the randomised model with seed s + 2i + 1 (each image its own draws, the same design on "
    "both sides); a deterministic method's floor is 1 (the same map under any seed). "
    "A pair where either map is constant is a vanished map, not a similarity: when maps vanish on at least "
    "half of the images the verdict is MAP VANISHED; otherwise those images are left out. With fewer than "
    f"{MIN_IMAGES} images left: TOO FEW IMAGES TO TELL. The 95% percentile-bootstrap intervals of the two "
    "mean similarities are taken over images. When the floor's lower bound is at or below "
    f"{FLOOR_MIN} the method cannot reproduce its own map: BUDGET TOO SMALL TO TELL. Otherwise the method "
    "PASSES when the randomised interval's upper bound is below the floor interval's lower bound, and FAILS "
    "when it is not. |Spearman| is reported beside it, and a pass that |Spearman| under the same rule does not "
    "confirm is flagged (the randomised map may be the trained one with its sign flipped); |Spearman| does not "
    "decide alone because two unrelated smooth maps have |Spearman| well above 0, so its floor is never near 0.")

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


def _constant(a) -> bool:
    return bool(np.ptp(a) == 0)


def spearman_similarity(a, b) -> float:
    """Spearman rank correlation of two (H, W) maps, in [-1, 1].

    A constant map has no ranking to agree with: the pair is a vanished map
    and the result is NaN (never a similarity), identical or not.
    """
    from scipy.stats import spearmanr

    a, b = _check_pair(a, b)
    if _constant(a) or _constant(b):
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
    if _constant(a) or _constant(b):
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
    if _constant(a) or _constant(b):
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
            "vanished": _constant(np.asarray(a)) or _constant(np.asarray(b))}


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


# ---------------------------------------------------------------------------------------------
# Methods: registry names or factories
# ---------------------------------------------------------------------------------------------

def _methods(methods, budget, params, seed):
    """[(label, factory(model, offset=0) -> explainer, seeded)] from registry names or user factories.

    ``offset`` shifts a seeded method's seed (its own seed + offset: the floor's and the randomised
    maps' other seed).  Registry methods are built by :func:`~saliency_widgets.registry.build_checked`:
    the budget (shared: only methods that have one take it; None: the constructor's default) and the
    registry's options in ``params`` are range-checked, other settings in ``params`` (``occluder=``...)
    go to the constructor.  A user's ``(label, factory)`` is unseeded (``factory(model)``); a
    ``(label, factory, True)`` is seeded: ``factory(model, seed=seed + offset)``.
    """
    from ..registry import build_checked, get_method

    if isinstance(methods, (str, tuple)) or callable(methods):
        methods = [methods]
    out = []
    for m in methods:
        if isinstance(m, tuple):
            out.append(_user_method(m, seed))
            continue
        spec = get_method(m)
        b = budget.get(spec.label, budget.get(spec.key)) if isinstance(budget, dict) else budget
        kw = dict((params or {}).get(spec.label, (params or {}).get(spec.key, {})))
        own_seed = kw.pop("seed", seed)
        options = {k: kw.pop(k) for k in list(kw) if k in spec.options}
        b = spec.shared_budget(b)
        # A bad budget, option or clashing setting fails here, before any model is cloned.
        label = spec.label_for(spec.checked_params(budget=b, options=options, extra=kw, seed=own_seed))

        def factory(model, offset=0, spec=spec, b=b, options=options, kw=kw, own_seed=own_seed):
            return build_checked(spec.key, model, budget=b, options=options, extra=kw, seed=own_seed + offset)
        out.append((label, factory, spec.seeded))  # the label the built explainer computes
    labels = [m[0] for m in out]
    if len(set(labels)) != len(labels):
        raise ValueError(f"methods repeat a label: {labels}")
    return out


def _user_method(m, seed):
    if len(m) == 2:
        label, factory = m
        return str(label), (lambda model, offset=0, f=factory: f(model)), False
    if len(m) == 3 and m[2] is True:
        label, factory, _ = m
        return str(label), (lambda model, offset=0, f=factory: f(model, seed=seed + offset)), True
    raise ValueError(f"a method must be a registry name, (label, factory) or (label, factory, True) for a seeded "
                     f"factory taking seed=, got {m!r}")


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


def _noisy(image, index, smoothing, noise, seed):
    """sMPRT's noisy copies of one image: (smoothing, H, W, C), normal noise of ``noise`` x the image's value
    range, seeded by (seed, image index)."""
    rng = np.random.default_rng([int(seed), int(index)])
    scale = noise * float(np.ptp(image)) if np.ptp(image) > 0 else noise
    return (image[None] + rng.normal(0.0, scale, (smoothing,) + image.shape)).astype(np.float32)


def _maps(explainer, images, targets, smooth=None):
    """Raw maps (N, H, W); with ``smooth=(copies, noise, seed)`` each the mean over noisy copies (sMPRT).

    A seeded explainer (an int ``seed`` attribute, s) explains image i with seed
    s + 2i: every image gets its own draws, so a bootstrap over images covers the
    method's own randomness (one draw shared by all images would not); the
    floor's explainer (s + 1) then uses s + 2i + 1, never a trained map's seed.
    """
    base = getattr(explainer, "seed", None)
    per_image = isinstance(base, (int, np.integer)) and not isinstance(base, bool)
    out = []
    for i, (img, t) in enumerate(zip(images, targets)):
        if per_image:
            explainer.seed = int(base) + 2 * i
        if smooth is None or smooth[0] == 0:
            out.append(np.asarray(explainer.explain(img, int(t)).raw, dtype=np.float64))
            continue
        copies, noise, seed = smooth
        out.append(np.mean([np.asarray(explainer.explain(c, int(t)).raw, dtype=np.float64)
                            for c in _noisy(img, i, copies, noise, seed)], axis=0))
    if per_image:
        explainer.seed = base
    return np.stack(out)


def _score(ref, maps):
    """Per-image similarities of :data:`SIMILARITIES` (NaN where a map vanished) and the vanished flags."""
    sims = [map_similarity(a, b) for a, b in zip(ref, maps)]
    out = {k: np.array([d[k] for d in sims], dtype=np.float64) for k in SIMILARITIES}
    out["vanished"] = np.array([d["vanished"] for d in sims], dtype=bool)
    return out


def _floor(factory, seeded, model, images, targets, trained, smooth):
    """The method's own noise floor on the trained model: its maps under seed + 1 (and noise seed + 1)
    against ``trained``; a deterministic method without smoothing gives the same map: 1 exactly."""
    if seeded or smooth is not None:
        other = _maps(factory(model, offset=1), images, targets, _shift(smooth))
        return _score(trained, other), True
    gone = np.array([_constant(m) for m in trained], dtype=bool)
    one = np.where(gone, np.nan, 1.0)
    return {**{k: one.copy() for k in SIMILARITIES}, "vanished": gone}, False


def _shift(smooth):
    return None if smooth is None else (smooth[0], smooth[1], smooth[2] + 1)


def _check_smoothing(smoothing, noise):
    if isinstance(smoothing, bool) or not isinstance(smoothing, (int, np.integer)) or smoothing < 0:
        raise ValueError(f"smoothing must be an integer >= 0 (noisy copies per map; 0: off), got {smoothing!r}")
    if not (isinstance(noise, (int, float)) and 0 < noise < 10):
        raise ValueError(f"smoothing_noise must be a positive fraction of the image's value range, got {noise!r}")


# ---------------------------------------------------------------------------------------------
# The decision rule (RANDOMISATION_RULE), shared by both checks
# ---------------------------------------------------------------------------------------------

def decide(random, floor, *, random_vanished=None, floor_vanished=None, level: float = 0.95,
           min_images: int = MIN_IMAGES, seed: int = BOOTSTRAP_SEED) -> dict:
    """Apply :data:`RANDOMISATION_RULE` to per-image similarities.

    Parameters
    ----------
    random : (N,) array
        Similarity of each image's trained map to its randomised map (NaN where a map vanished).
    floor : (N,) array
        The method's own noise floor per image (trained map, another seed).
    random_vanished, floor_vanished : (N,) bool arrays or None, keyword-only
        Where a map was constant (default: where the similarity is NaN).
    level, min_images, seed : keyword-only
        Interval level, fewest usable images for a verdict, bootstrap seed.

    Returns
    -------
    dict with ``verdict`` (one of :data:`VERDICTS`), ``passes``, ``mean``/``low``/``high`` (randomised),
    ``floor``/``floor_low``/``floor_high``, ``n`` (images used), ``vanished`` (images left out) and
    ``reason`` (a plain sentence).
    """
    random = np.asarray(random, np.float64)
    floor = np.asarray(floor, np.float64)
    rv = np.isnan(random) if random_vanished is None else np.asarray(random_vanished, bool) | np.isnan(random)
    fv = np.isnan(floor) if floor_vanished is None else np.asarray(floor_vanished, bool) | np.isnan(floor)
    gone = rv | fv
    keep = ~gone
    k = int(keep.sum())
    r = mean_interval(random[keep], level=level, seed=seed) if k else (float("nan"),) * 3
    f = mean_interval(floor[keep], level=level, seed=seed) if k else (float("nan"),) * 3
    out = {"mean": r[0], "low": r[1], "high": r[2], "floor": f[0], "floor_low": f[1], "floor_high": f[2],
           "n": k, "vanished": int(gone.sum())}
    if gone.any() and 2 * gone.sum() >= len(gone):
        verdict = "map vanished"
        reason = (f"a map is constant on {int(gone.sum())} of {len(gone)} images ({int(rv.sum())} randomised, "
                  f"{int(fv.sum())} on the trained model): its similarity is undefined; the map did change "
                  "(it disappeared), but this check cannot compare it")
    elif k < min_images:
        verdict, reason = "too few images to tell", f"{k} usable images, fewer than the {min_images} a verdict needs"
    elif f[1] <= FLOOR_MIN:
        verdict = "budget too small to tell"
        reason = (f"the method does not reproduce its own map under another seed (floor's lower bound "
                  f"{f[1]:.2f} <= {FLOOR_MIN}): raise its budget")
    elif r[2] < f[1]:
        verdict, reason = "passes", "the randomised interval lies wholly below the method's own noise floor"
    else:
        verdict, reason = "fails", "the randomised interval reaches the method's own noise floor"
    return {"verdict": verdict, "passes": verdict == "passes", **out, "reason": reason}


def _deterministic(floor) -> bool:
    """A floor of exactly 1 wherever defined: the method gave the same map under another seed (or has none)."""
    f = np.asarray(floor, np.float64)
    return bool(np.all(np.isnan(f) | (f == 1.0)))


def _sign_flip(d, metric, abs_random, abs_floor, random_vanished, floor_vanished, level, min_images, seed):
    """True when a signed-Spearman pass is not confirmed by |Spearman| under the same rule."""
    if metric != "spearman" or not d["passes"]:
        return False
    return not decide(abs_random, abs_floor, random_vanished=random_vanished, floor_vanished=floor_vanished,
                      level=level, min_images=min_images, seed=seed)["passes"]


def _verdict_text(method, d, metric, where):
    sim = "n/a" if np.isnan(d["mean"]) else f"{d['mean']:.2f} [{d['low']:.2f}, {d['high']:.2f}]"
    floor = "n/a" if np.isnan(d["floor"]) else f"{d['floor']:.2f} [{d['floor_low']:.2f}, {d['floor_high']:.2f}]"
    left = f", {d['vanished']} with a vanished map left out" if d["vanished"] and d["verdict"] != "map vanished" \
        else ""
    if d.get("deterministic"):
        floor += " (deterministic: the same map under any seed)"
    return (f"{method}: {d['verdict'].upper()} - {where}: {metric} similarity to the trained map {sim}, "
            f"the method's own noise floor {floor} ({d['n']} images{left}); {d['reason']}"
            + ("; but |Spearman| does not fall below its floor: the randomised map may be the trained map with its "
               "sign flipped" if d.get("sign_flip") else ""))


def _threshold_is_gone(threshold):
    if threshold is not None:
        import warnings
        warnings.warn("threshold= is no longer used: the verdict compares with the method's own noise floor "
                      "(see saliency_widgets.sanity.RANDOMISATION_RULE)", DeprecationWarning, stacklevel=3)


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
        The method's own noise floor (trained map, seed s, against the trained
        map, seed s + 1); 1 for a deterministic method without smoothing.
    floor_vanished : dict label -> (n_images,) bool array
    self_spearman, self_ssim : dict label -> (n_images,) array
        The measured floors' Spearman and SSIM (seeded or smoothed methods only).
    trained_maps : dict label -> (n_images, H, W) array
    random_maps : dict label -> (n_steps, n_images, H, W) array
    targets : (n_images,) int array
    seed : int
    smoothing : int
        sMPRT's noisy copies per map (0: plain MPRT).
    coverage : (int, int) or None
        (layers with weights randomised in all, layers with weights in the model):
        a cascading verdict says "the whole model" only when they are equal.
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
    smoothing: int = 0
    coverage: tuple | None = None

    def _scores(self, metric):
        if metric not in SIMILARITIES:
            raise ValueError(f"metric must be one of {SIMILARITIES} ('spearman' or 'ssim', 'abs_spearman', "
                             f"'hog'), got {metric!r}")
        return getattr(self, metric)

    def _check_method(self, method):
        if method not in self.methods:
            raise ValueError(f"no method {method!r} in this result; it has {self.methods}")

    def curve(self, method: str, metric: str = "spearman", *, level: float = 0.95) -> dict:
        """Plot-ready curve of one method: x labels, mean and bootstrap interval per step.

        Returns
        -------
        dict with ``steps`` (list of str, starting with ``"trained"``), ``mean``,
        ``low``, ``high`` ((n_steps + 1,) arrays; the first point is the method's
        own noise floor -- its trained map under another seed, 1 for a
        deterministic method) and ``metric``.  Vanished maps are left out (NaN
        when every map of a step vanished).
        """
        scores = self._scores(metric)
        self._check_method(method)
        floor = self.floor.get(method, {}).get(metric)
        first = (1.0, 1.0, 1.0) if floor is None else mean_interval(floor, level=level, seed=self.seed)
        rows = [first] + [mean_interval(s, level=level, seed=self.seed) for s in scores[method]]
        mean, low, high = (np.array([r[i] for r in rows]) for i in range(3))
        return {"steps": ["trained"] + list(self.steps), "mean": mean, "low": low, "high": high,
                "metric": metric, "method": method}

    def verdict(self, method: str, *, metric: str = "spearman", level: float = 0.95,
                min_images: int = MIN_IMAGES, threshold=None) -> dict:
        """Does ``method`` pass? :data:`RANDOMISATION_RULE` on the last step (cascading: the whole model).

        Parameters
        ----------
        method : str
        metric : one of :data:`SIMILARITIES`, keyword-only
            Default signed Spearman; with it, ``sign_flip`` is True when ``|Spearman|`` under
            the same rule does not confirm a pass (a sign flip is not a change of what
            the map points at), and the text says so.
        level, min_images : keyword-only
        threshold : deprecated, ignored (the floor replaces the fixed threshold).

        Returns
        -------
        dict as :func:`decide` returns it, plus ``method``, ``metric`` and ``text``, a plain sentence.
        """
        _threshold_is_gone(threshold)
        scores = self._scores(metric)
        self._check_method(method)
        d = decide(scores[method][-1], self.floor[method][metric], random_vanished=self.vanished[method][-1],
                   floor_vanished=self.floor_vanished[method], level=level, min_images=min_images, seed=self.seed)
        where = self._where()
        if self.smoothing:
            where += f" (sMPRT, {self.smoothing} noisy copies per map)"
        d["deterministic"] = _deterministic(self.floor[method][metric])
        d["sign_flip"] = _sign_flip(d, metric, self.abs_spearman[method][-1], self.floor[method]["abs_spearman"],
                                    self.vanished[method][-1], self.floor_vanished[method], level, min_images,
                                    self.seed)
        return {"method": method, "metric": metric, **d, "text": _verdict_text(method, d, metric, where)}

    def _where(self) -> str:
        """What was randomised at the step the verdict reads (the last one)."""
        if self.mode != "cascading":
            return f"with {self.steps[-1]} randomised"
        done, total = self.coverage or (None, None)
        if done is None or done == total:
            return "with the whole model randomised"
        return (f"with {done} of {total} layers with weights randomised (output first, down to "
                f"{self.steps[-1]}; the rest kept trained)")

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
        steps = ["trained\n(other seed)"] + list(self.steps)
        ax.set_xticks(np.arange(len(steps)))
        ax.set_xticklabels(steps, rotation=30, ha="right")
        names = {"spearman": "Spearman rank correlation", "abs_spearman": "|Spearman|", "ssim": "SSIM",
                 "hog": "HOG similarity (Pearson)"}
        ax.set_ylabel(f"{names[metric]}\nwith the trained map")
        ax.set_xlabel("cascading randomisation: layers re-initialised, output first"
                      if self.mode == "cascading" else "layer re-initialised alone")
        ax.axhline(0, color="grey", lw=0.5)
        ax.legend(fontsize=8, loc="best")
        return ax


def model_randomisation(model, images, methods, *, targets=None, cascading: bool = True, layers=None,
                        budget=None, params=None, seed: int = 0, smoothing: int = 0, smoothing_noise: float = 0.1,
                        progress: bool = True) -> RandomisationResult:
    """Model-parameter randomisation check (Adebayo et al. 2018) of one or more saliency methods.

    Parameters
    ----------
    model : keras.Model or torch.nn.Module
        The trained model; it is cloned, never modified.  A PyTorch module
        takes (B, C, H, W) batches (the images below are channels-last) and is
        put in ``eval()`` mode, as :func:`saliency_widgets.models.as_model` does.
    images : (N, H, W, C) or (H, W, C) array
        At least :data:`MIN_IMAGES` for a verdict.
    methods : str, (label, factory), (label, factory, True) or a list of them
        Registry keys or labels (``"rise"``, ``"mask-update (paper)"``, ...);
        ``(label, factory)`` with ``factory(model) -> explainer`` (deterministic:
        floor 1); ``(label, factory, True)`` with ``factory(model, seed=...)`` (seeded).
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
        Seeds the re-initialisation and the bootstrap; a seeded method's trained
        map uses its seed s (default ``seed``), its floor and its randomised maps
        s + 1 (:data:`RANDOMISATION_RULE`).
    smoothing : int, keyword-only
        sMPRT (Hedström et al. 2023): average each map over this many noisy
        copies of the image (0: off).  The noise is seeded by (the map's seed,
        image index), so the floor's and the randomised maps' noise differ from
        the trained map's, as their explainer seeds do.
    smoothing_noise : float, keyword-only
        The noise's standard deviation, as a fraction of the image's value range.
    progress : bool, keyword-only

    Returns
    -------
    RandomisationResult
    """
    randomise.check_model(model)
    _check_smoothing(smoothing, smoothing_noise)
    images = _images(images)
    blocks = _as_blocks(model, layers)
    targets = _targets(model, images, targets)
    meths = _methods(methods, budget, params, seed)
    smooth = (int(smoothing), float(smoothing_noise), seed) if smoothing else None
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=(len(blocks) + 1) * len(meths), desc="randomisation check", unit="map set")

    trained, floors, measured = {}, {}, {}
    for label, factory, seeded in meths:
        trained[label] = _maps(factory(model), images, targets, smooth)
        floors[label], measured[label] = _floor(factory, seeded, model, images, targets, trained[label],
                                                smooth)
        if bar is not None:
            bar.update(1)

    sims, random_maps = _randomised_maps(model, blocks, cascading, meths, trained, measured, images, targets,
                                         smooth, seed, bar)
    if bar is not None:
        bar.close()
    per = {key: {m: np.array([d[key] for d in v]) for m, v in sims.items()} for key in SIMILARITIES + ("vanished",)}
    return RandomisationResult(
        mode="cascading" if cascading else "independent", steps=["+".join(b) for b in blocks],
        methods=list(trained), spearman=per["spearman"], ssim=per["ssim"], trained_maps=trained,
        random_maps={m: np.array(v) for m, v in random_maps.items()}, targets=targets, seed=seed,
        self_spearman={m: f["spearman"] for m, f in floors.items() if measured[m]}, abs_spearman=per["abs_spearman"],
        self_ssim={m: f["ssim"] for m, f in floors.items() if measured[m]}, hog=per["hog"], vanished=per["vanished"],
        floor={m: {k: f[k] for k in SIMILARITIES} for m, f in floors.items()}, smoothing=int(smoothing),
        floor_vanished={m: f["vanished"] for m, f in floors.items()},
        coverage=(len({name for b in blocks for name in b}), len(weighted_layers(model))))


def _randomised_maps(model, blocks, cascading, meths, trained, measured, images, targets, smooth, seed, bar):
    """Per method: the similarity of its trained maps to those on each randomised model, and those maps."""
    sims = {label: [] for label in trained}
    random_maps = {label: [] for label in trained}
    for k, block in enumerate(blocks):
        chosen = [n for b in blocks[:k + 1] for n in b] if cascading else list(block)
        clone = randomise_layers(model, chosen, seed=seed)
        for label, factory, _ in meths:
            # the other seed (and noise seed) of the floor: the same design on both sides
            offset = 1 if measured[label] else 0
            maps = _maps(factory(clone, offset=offset), images, targets, _shift(smooth) if offset else smooth)
            sims[label].append(_score(trained[label], maps))
            random_maps[label].append(maps)
            if bar is not None:
                bar.update(1)
        del clone
    return sims, random_maps


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
        The method's own noise floor on the trained model (1 for a deterministic method).
    floor_vanished : dict label -> (n_images,) bool array
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

    def summary(self, *, metric: str = "spearman", level: float = 0.95, min_images: int = MIN_IMAGES,
                threshold=None) -> list[dict]:
        """One row per method: every similarity's mean and bootstrap interval, the floor, and a verdict.

        The verdict is :data:`RANDOMISATION_RULE` on ``metric`` (default signed Spearman,
        ``sign_flip`` as in :meth:`RandomisationResult.verdict`); ``threshold`` is deprecated and ignored.
        """
        _threshold_is_gone(threshold)
        if metric not in SIMILARITIES:
            raise ValueError(f"metric must be one of {SIMILARITIES}, got {metric!r}")
        rows = []
        for m in self.methods:
            row = {"method": m}
            for key in SIMILARITIES:
                row[key], row[key + "_low"], row[key + "_high"] = mean_interval(getattr(self, key)[m], level=level,
                                                                                seed=self.seed)
            d = decide(getattr(self, metric)[m], self.floor[m][metric], random_vanished=self.vanished[m],
                       floor_vanished=self.floor_vanished[m], level=level, min_images=min_images, seed=self.seed)
            d["deterministic"] = _deterministic(self.floor[m][metric])
            d["sign_flip"] = _sign_flip(d, metric, self.abs_spearman[m], self.floor[m]["abs_spearman"], self.vanished[m],
                                        self.floor_vanished[m], level, min_images, self.seed)
            row.update({k: v for k, v in d.items() if k not in ("mean", "low", "high")})
            row.update(metric=metric, text=_verdict_text(m, d, metric, "between the maps of the two models"))
            rows.append(row)
        return rows


def data_randomisation_check(model, permuted_model, images, methods, *, targets=None, budget=None, params=None,
                             seed: int = 0, progress: bool = True) -> DataRandomisationResult:
    """Compare each method's maps of ``model`` with its maps of ``permuted_model`` (same images, same class).

    The design is :func:`model_randomisation`'s (:data:`RANDOMISATION_RULE`): a
    seeded method's floor is its trained map under seed s + 1, and the permuted
    model's maps use seed s + 1 too.

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
    sims, floors, a_maps, b_maps = {}, {}, {}, {}
    for label, factory, seeded in meths:
        a_maps[label] = _maps(factory(model), images, targets)
        floors[label], measured = _floor(factory, seeded, model, images, targets, a_maps[label], None)
        b_maps[label] = _maps(factory(permuted_model, offset=1 if measured else 0), images, targets)
        sims[label] = _score(a_maps[label], b_maps[label])
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    per = {key: {m: v[key] for m, v in sims.items()} for key in SIMILARITIES + ("vanished",)}
    return DataRandomisationResult(
        methods=list(a_maps), spearman=per["spearman"], ssim=per["ssim"], trained_maps=a_maps, permuted_maps=b_maps,
        targets=targets, seed=seed, abs_spearman=per["abs_spearman"], hog=per["hog"], vanished=per["vanished"],
        floor={m: {k: f[k] for k in SIMILARITIES} for m, f in floors.items()},
        floor_vanished={m: f["vanished"] for m, f in floors.items()})
