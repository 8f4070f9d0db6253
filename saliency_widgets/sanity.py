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

Both frameworks are supported, by one implementation: a Keras 3 model
(``keras.Model``) or a PyTorch module (``torch.nn.Module``, explained like
:func:`saliency_widgets.models.as_model` explains it: channels-last images in,
(B, C, H, W) to the module).  Only four things differ per framework (a small
helper each): recognising the model, listing its layers with weights, cloning
it, and re-initialising a layer.

Layers (:func:`weighted_layers`), randomised output first: Keras: the layers
with weights, in the model's order (nested models flattened, by path).
PyTorch: every submodule with parameters of its own, by its ``named_modules()``
path, in *registration order*, taken to run input to output (output last), as
in torchvision models; pass ``layers=`` for a module registered otherwise.  A
PyTorch module with no parameters is refused (``ValueError``).

Re-initialisation rule, seeded by ``(seed, layer index)`` so a layer gets the
same draw in the cascading and the independent check, and the user's model is
never modified (the clone is ``keras.models.clone_model`` or ``copy.deepcopy``):

* Keras: every weight of a randomised layer takes a fresh draw from the
  initialiser its layer declares (``kernel_initializer``, ``bias_initializer``,
  ``gamma_initializer``, ... ; so a BatchNormalization layer returns to its
  initial state: scale 1, shift 0, running mean 0, variance 1), seeded per
  weight index too.
* PyTorch: the layer's own ``reset_parameters()``, run on a CPU copy of the
  layer under the CPU generator seeded for it inside ``torch.random.fork_rng``
  (so it is deterministic, the same on every device, and leaves the global RNG
  state as it was); a BatchNorm's running statistics are reset too
  (``reset_running_stats()``: mean 0, variance 1).
* A weight with no initialiser (Keras) or a module with no
  ``reset_parameters()``, or whose submodules hold parameters too (PyTorch), is
  drawn from a normal distribution with the trained weight's own mean and
  standard deviation.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

__all__ = ["weighted_layers", "randomise_layers", "map_similarity", "spearman_similarity",
           "ssim_similarity", "mean_interval", "RandomisationResult", "model_randomisation",
           "DataRandomisationResult", "data_randomisation_check", "DEMO_BLOCKS"]

# The demo model's blocks, from the output down: each convolution with its batch norm.
DEMO_BLOCKS = (("probabilities",), ("conv4", "bn4"), ("conv3", "bn3"), ("conv2", "bn2"),
               ("conv1", "bn1"), ("conv0", "bn0"))


# ---------------------------------------------------------------------------------------------
# Frameworks: the only framework-specific part of the check
# ---------------------------------------------------------------------------------------------
# One helper per framework answers four questions and nothing else: is this model mine; which layers hold
# weights (as (path, layer), input to output); how to clone the model without touching the user's; how to
# re-initialise one layer of the clone from a seed.  Everything below this section is one implementation.

def _walk(model, prefix=""):
    """(path, layer) for every leaf layer, nested models flattened, input to output."""
    for layer in model.layers:
        path = prefix + layer.name
        if hasattr(layer, "layers") and layer.layers:
            yield from _walk(layer, path + "/")
        else:
            yield path, layer


class _Keras:
    """Keras 3 models: leaf layers by path (nested models flattened), cloned with ``clone_model``."""

    @staticmethod
    def owns(model) -> bool:
        keras = sys.modules.get("keras")  # a Keras model exists only once keras is imported
        return keras is not None and isinstance(model, keras.Model)

    @staticmethod
    def label(model) -> str:
        return f"model {model.name!r}"

    @staticmethod
    def layers(model) -> list:
        return [(path, layer) for path, layer in _walk(model) if layer.weights]

    @staticmethod
    def clone(model):
        import keras

        from .models.keras import MEAN_COLOR_ATTR

        clone = keras.models.clone_model(model)
        clone.set_weights(model.get_weights())
        # The declared occluder colour (e.g. load_imagenet_model's) goes with the clone: the trained and the
        # randomised model must be masked the same way, or the comparison measures the occluder too.
        color = getattr(model, MEAN_COLOR_ATTR, None)
        if color is not None:
            setattr(clone, MEAN_COLOR_ATTR, color)
        return clone

    @staticmethod
    def reinitialise(layer, *, seed: int) -> None:
        import keras

        for j, var in enumerate(layer.weights):
            short = var.name.split("/")[-1].split(":")[0]
            init = getattr(layer, f"{short}_initializer", None)
            shape, dtype = tuple(var.shape), var.dtype
            if init is not None:
                init = keras.initializers.get(init)
                config = init.get_config()
                if "seed" in config:
                    init = type(init).from_config({**config, "seed": _draw_seed(seed, j)})
                value = keras.ops.convert_to_numpy(init(shape, dtype=dtype))
            else:
                old = keras.ops.convert_to_numpy(var.value).astype(np.float64)
                value = _fallback_draw(old, _draw_seed(seed, j))
            var.assign(np.asarray(value).astype(keras.backend.standardize_dtype(dtype)))


class _Torch:
    """PyTorch modules: the submodules holding parameters of their own, cloned with ``copy.deepcopy``."""

    @staticmethod
    def owns(model) -> bool:
        torch = sys.modules.get("torch")  # never import torch for a model that is not one of its modules
        return torch is not None and isinstance(model, torch.nn.Module)

    @staticmethod
    def label(model) -> str:
        return f"PyTorch module {type(model).__name__!r}"

    @staticmethod
    def layers(model) -> list:
        from torch.nn.parameter import is_lazy

        # named_modules() walks in registration order and lists a shared submodule once.
        out = [(path or _TORCH_ROOT, m) for path, m in model.named_modules()
               if next(m.parameters(recurse=False), None) is not None]
        if not out:
            raise ValueError(f"{_Torch.label(model)} has no parameters: model randomisation re-initialises "
                             "learned weights, so it needs a module with at least one parameter")
        lazy = [path for path, m in out if any(is_lazy(p) for p in m.parameters(recurse=False))]
        if lazy:
            raise ValueError(f"layers {lazy} of {_Torch.label(model)} are lazy (not initialised yet); "
                             "run one batch through the module first")
        return out

    @staticmethod
    def clone(model):
        import copy

        try:
            return copy.deepcopy(model)
        except Exception as exc:
            raise TypeError(f"{_Torch.label(model)} cannot be copied with copy.deepcopy ({exc}); the check "
                            "randomises a copy and never the user's module, so it needs a copyable one") from exc

    @staticmethod
    def reinitialise(module, *, seed: int) -> None:
        import copy

        import torch

        own = list(module.named_parameters(recurse=False))
        reset = getattr(module, "reset_parameters", None)
        # A module whose submodules also hold parameters may reset them too in its reset_parameters; they are
        # layers of their own here (randomised in their own step), so such a module takes the fallback draw.
        children_hold = any(next(c.parameters(), None) is not None for c in module.children())
        with torch.no_grad():
            if callable(reset) and not children_hold:
                # The draw runs on a CPU copy of the layer, under the CPU generator seeded here and restored
                # afterwards (fork_rng): deterministic, no global RNG state changed, the same on any device.
                fresh = copy.deepcopy(module).to("cpu")
                with torch.random.fork_rng(devices=[]):
                    torch.default_generator.manual_seed(seed)
                    fresh.reset_parameters()
                    if callable(getattr(fresh, "reset_running_stats", None)):
                        fresh.reset_running_stats()  # BatchNorm: running mean 0, variance 1, count 0
                new = dict(fresh.named_parameters(recurse=False))
                for name, p in own:
                    p.copy_(new[name])
                new_buffers = dict(fresh.named_buffers(recurse=False))
                for name, b in module.named_buffers(recurse=False):
                    if name in new_buffers:
                        b.copy_(new_buffers[name])
            else:
                for j, (_, p) in enumerate(own):
                    old = p.detach().cpu().double().numpy()
                    p.copy_(torch.as_tensor(_fallback_draw(old, _draw_seed(seed, j)), dtype=p.dtype))
                if callable(getattr(module, "reset_running_stats", None)):
                    module.reset_running_stats()


_TORCH_ROOT = "(root)"  # the path of parameters a module holds itself, outside any submodule
_FRAMEWORKS = (_Keras, _Torch)  # Keras first: under Keras' torch backend a Keras model is also a torch Module


def _framework(model):
    for fw in _FRAMEWORKS:
        if fw.owns(model):
            return fw
    raise TypeError("model randomisation needs a Keras 3 model (keras.Model) or a PyTorch module "
                    f"(torch.nn.Module), got {type(model).__name__}")


def _fallback_draw(old: np.ndarray, seed: int) -> np.ndarray:
    """A weight with no declared initialiser: normal, with the trained weight's own mean and deviation."""
    return np.random.default_rng(seed).normal(old.mean(), old.std(), size=old.shape)


def _draw_seed(seed: int, *keys: int) -> int:
    return int(np.random.SeedSequence([int(seed), *keys]).generate_state(1)[0] % (2 ** 31 - 1))


# ---------------------------------------------------------------------------------------------
# Layers and re-initialisation (both frameworks)
# ---------------------------------------------------------------------------------------------

def weighted_layers(model) -> list[str]:
    """Names of the layers that hold weights, input to output.

    Keras: layer paths (``"outer/inner"`` in nested models), in the model's
    layer order.  PyTorch: submodule paths as ``named_modules()`` gives them
    (``"features.0"``; ``"(root)"`` for parameters the module holds itself),
    of every submodule that holds parameters of its own, in *registration
    order* (the order of assignment in ``__init__``), which is taken to run
    input to output, output last, as in torchvision models.  A module that
    registers its head first needs ``layers=`` in :func:`model_randomisation`.

    Parameters
    ----------
    model : keras.Model or torch.nn.Module

    Returns
    -------
    list of str

    Raises
    ------
    TypeError
        For any other model.
    ValueError
        For a PyTorch module with no parameters, or with lazy ones.
    """
    fw = _framework(model)
    return [path for path, _ in fw.layers(model)]


def _clone(model):
    """A copy of ``model`` with the same weights (the user's model is never touched)."""
    return _framework(model).clone(model)


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
            raise ValueError(f"layers {unknown} are not layers with weights of {_framework(model).label(model)}; "
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
        The clone (``clone_model`` or ``copy.deepcopy``); see the module
        docstring for the re-initialisation rule.
    """
    fw = _framework(model)
    names = weighted_layers(model)
    if isinstance(layers, str):
        layers = [layers]
    unknown = [n for n in layers if n not in names]
    if unknown:
        raise ValueError(f"layers {unknown} are not layers with weights of {fw.label(model)}; choose from {names}")
    clone = fw.clone(model)
    by_path = dict(fw.layers(clone))
    for name in layers:
        fw.reinitialise(by_path[name], seed=_draw_seed(seed, names.index(name)))
    return clone


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


def mean_interval(values, *, level: float = 0.95, n_boot: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """Mean of ``values`` and its percentile-bootstrap interval over the values (images), fixed seed.

    Returns
    -------
    (mean, low, high)
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size == 0:
        raise ValueError("no values to average")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, v.size, size=(n_boot, v.size))].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(v.mean()), float(lo), float(hi)


# ---------------------------------------------------------------------------------------------
# Methods: registry names or factories
# ---------------------------------------------------------------------------------------------

def _methods(methods, budget, params, seed):
    """[(label, factory(model) -> explainer, seeded)] from registry names or (label, factory) pairs.

    Registry methods are built by :func:`~saliency_widgets.registry.build_checked`: the budget (shared:
    only methods that have one take it; None: the registry's default) and the registry's options in
    ``params`` are range-checked, other settings in ``params`` (``occluder=``...) go to the constructor.
    """
    from .registry import build_checked, get_method

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
        spec.check(b, options)  # a bad budget or option fails here, before any model is cloned

        def factory(model, seed=None, spec=spec, b=b, options=options, kw=kw, own_seed=own_seed):
            # seed: another seed for the same settings (the method's own noise, seeded methods only)
            return build_checked(spec.key, model, budget=b, options=options, extra=kw,
                                 seed=own_seed if seed is None else seed)
        out.append((spec.label, factory, spec.seeded))
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
    from .models import as_model

    if targets is None:
        return as_model(model).predict(images).argmax(1).astype(int)
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
    _framework(model)
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
