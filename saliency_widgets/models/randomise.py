"""Copies of a model with some layers re-initialised: the framework side of the sanity checks.

:mod:`saliency_widgets.sanity` asks three framework-neutral questions and this
module answers them for Keras 3 models and PyTorch modules:

* :func:`weighted_layers`: the paths of the layers that hold weights, input to
  output;
* :func:`randomised_copy`: a copy of the model with some of those layers
  re-initialised from a seed (the user's model is never modified);
* :func:`describe`: how an error message names the model.

Layers.  Keras: the layers with weights, in the model's order (nested models
flattened, by path ``"outer/inner"``).  PyTorch: every submodule with
parameters of its own, by its ``named_modules()`` path (``"(root)"`` for
parameters the module holds itself), in *registration order*, taken to run
input to output (output last), as in torchvision models.  A PyTorch module
with no parameters, or with lazy ones, is refused (``ValueError``).

Re-initialisation, seeded by ``(seed, layer index)`` so a layer gets the same
draw whichever other layers are randomised with it; the copy is
``keras.models.clone_model`` (with the trained weights and the declared
occluder colour) or ``copy.deepcopy``:

* Keras: every weight of a randomised layer takes a fresh draw from the
  initialiser its layer declares (``kernel_initializer``,
  ``bias_initializer``, ``gamma_initializer``, ...; so a BatchNormalization
  layer returns to its initial state: scale 1, shift 0, running mean 0,
  variance 1), seeded per weight index too.
* PyTorch: the layer's own ``reset_parameters()``, run on a CPU copy of the
  layer with every draw that names no generator given a ``torch.Generator``
  seeded for the layer (a ``TorchFunctionMode``): deterministic, the same on
  every device, and torch's global RNG is neither read nor re-seeded.  A
  BatchNorm's running statistics are reset too (``reset_running_stats()``:
  mean 0, variance 1).
* A weight with no initialiser (Keras), a module with no
  ``reset_parameters()`` or whose submodules hold parameters too, or one whose
  ``reset_parameters()`` draws in a way no generator can be passed to
  (PyTorch), is drawn from a normal distribution with the trained weight's own
  mean and standard deviation (a NumPy Generator seeded for it).
"""
from __future__ import annotations

import functools
import sys
from typing import Sequence

import numpy as np

__all__ = ["weighted_layers", "randomised_copy", "copy_model", "describe", "check_model", "ROOT"]

ROOT = "(root)"  # the path of parameters a PyTorch module holds itself, outside any submodule


# ---------------------------------------------------------------------------------------------
# One helper per framework: is this model mine; which layers hold weights (as (path, layer), input to
# output); how to copy the model without touching the user's; how to re-initialise one layer from a seed.
# ---------------------------------------------------------------------------------------------

def _walk(model, prefix=""):
    """(path, layer) for every leaf layer, nested models flattened, input to output."""
    for layer in model.layers:
        path = prefix + layer.name
        if hasattr(layer, "layers") and layer.layers:
            yield from _walk(layer, path + "/")
        else:
            yield path, layer


class _Keras:
    """Keras 3 models: leaf layers by path (nested models flattened), copied with ``clone_model``."""

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

        from .declaration import ATTRIBUTE
        from .keras import MEAN_COLOR_ATTR

        clone = keras.models.clone_model(model)
        clone.set_weights(model.get_weights())
        # What the model declares (its crop, pixels, fill, outputs, class names; e.g. load_imagenet_model's)
        # goes with the clone: the trained and the randomised model see the same image, masked alike.
        color = getattr(model, MEAN_COLOR_ATTR, None)
        if color is not None:
            setattr(clone, MEAN_COLOR_ATTR, color)
        decl = getattr(model, ATTRIBUTE, None)
        if decl is not None:
            setattr(clone, ATTRIBUTE, decl)
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
    """PyTorch modules: the submodules holding parameters of their own, copied with ``copy.deepcopy``."""

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
        out = [(path or ROOT, m) for path, m in model.named_modules()
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
        import torch

        own = list(module.named_parameters(recurse=False))
        reset = getattr(module, "reset_parameters", None)
        # A module whose submodules also hold parameters may reset them too in its reset_parameters; they are
        # layers of their own here (randomised in their own step), so such a module takes the fallback draw.
        children_hold = any(next(c.parameters(), None) is not None for c in module.children())
        with torch.no_grad():
            fresh = _reset_copy(module, seed) if callable(reset) and not children_hold else None
            if fresh is not None:
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


def _reset_copy(module, seed: int):
    """A CPU copy of ``module`` after its ``reset_parameters()``, every draw from a Generator seeded ``seed``.

    None when a draw escaped the generator (the global RNG state moved: it is
    put back and the caller takes the fallback draw).  A fresh CPU Generator
    seeded ``seed`` gives the numbers the default generator seeded ``seed``
    would, so this is the draw ``torch.manual_seed(seed); reset_parameters()``
    makes, without touching the global RNG.

    Limit: the check compares the global RNG state before and after, so another
    thread drawing from torch's global generator meanwhile would be taken for an
    escaped draw (this layer then takes the seeded fallback draw, and that
    thread's draws are rewound).  Run sanity checks of torch models from one thread.
    """
    import copy

    import torch

    fresh = copy.deepcopy(module).to("cpu")
    state = torch.get_rng_state()
    with _seeded_draws()(torch.Generator().manual_seed(int(seed))):
        fresh.reset_parameters()
        if callable(getattr(fresh, "reset_running_stats", None)):
            fresh.reset_running_stats()  # BatchNorm: running mean 0, variance 1, count 0
    if not torch.equal(torch.get_rng_state(), state):
        torch.set_rng_state(state)
        return None
    return fresh


@functools.cache
def _seeded_draws():
    """The ``TorchFunctionMode`` below (made on first use: torch is imported only for its modules)."""
    from torch.overrides import TorchFunctionMode

    class SeededDraws(TorchFunctionMode):
        """Give every torch call that takes a ``generator=`` and names none this one (no global RNG)."""

        def __init__(self, generator):
            super().__init__()
            self.generator = generator

        def __torch_function__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            if kwargs.get("generator") is None and _takes_generator(func):
                try:
                    return func(*args, **{**kwargs, "generator": self.generator})
                except TypeError:
                    # e.g. a generator passed by position: run the call as written; a global draw it makes
                    # is caught afterwards (the global state moved) and replaced by the fallback draw.
                    pass
            return func(*args, **kwargs)

    return SeededDraws


_TAKES_GENERATOR: dict = {}


def _takes_generator(func) -> bool:
    """Whether ``func`` (a torch function, a Tensor method or a ``torch.nn.init`` function) takes ``generator=``."""
    try:
        return _TAKES_GENERATOR[func]
    except (KeyError, TypeError):
        pass
    import inspect

    try:
        ok = "generator" in inspect.signature(func).parameters
    except (TypeError, ValueError):  # a builtin (Tensor.uniform_, torch.rand): its docstring's signature line
        ok = "generator" in (getattr(func, "__doc__", None) or "").strip().split("\n")[0]
    try:
        _TAKES_GENERATOR[func] = ok
    except TypeError:
        pass
    return ok


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
# The framework-neutral interface
# ---------------------------------------------------------------------------------------------

def check_model(model) -> None:
    """Raise ``TypeError`` unless ``model`` is a Keras 3 model or a PyTorch module."""
    _framework(model)


def describe(model) -> str:
    """How messages name ``model`` (``"model 'half'"``, ``"PyTorch module 'HalfNet'"``)."""
    return _framework(model).label(model)


def weighted_layers(model) -> list[str]:
    """Paths of the layers that hold weights, input to output (see the module docstring).

    Keras: layer paths (``"outer/inner"`` in nested models), in the model's
    layer order.  PyTorch: ``named_modules()`` paths (``"features.0"``;
    ``"(root)"`` for parameters the module holds itself) in registration order,
    taken to run input to output: a module that registers its head first needs
    ``layers=`` in :func:`saliency_widgets.sanity.model_randomisation`.

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
    return [path for path, _ in _framework(model).layers(model)]


def copy_model(model):
    """A copy of ``model`` with the same weights (and declared occluder colour); ``model`` is untouched."""
    return _framework(model).clone(model)


def randomised_copy(model, layers: Sequence[str], *, seed: int = 0):
    """A copy of ``model`` with the weights of ``layers`` re-initialised (``model`` is untouched).

    Parameters
    ----------
    model : keras.Model or torch.nn.Module
    layers : str or sequence of str
        Paths as :func:`weighted_layers` names them.
    seed : int, keyword-only
        Seeds every draw, per layer index in :func:`weighted_layers` (and per
        weight index): a layer gets the same new weights whichever other layers
        are randomised with it.

    Raises
    ------
    ValueError
        For a path that is not a layer with weights.
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
