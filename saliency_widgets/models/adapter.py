"""Turn whatever the user has into ``predict(batch) -> (B, K) probabilities``: :func:`as_model`.

It recognises the framework and hands over to its adapter (:mod:`.keras`, :mod:`.frameworks`);
all of them are :class:`~.base.ModelAdapter` (defined in :mod:`.base`, so no adapter imports
the dispatcher that chooses it).
"""
from __future__ import annotations

import sys
from typing import Callable

from .base import ModelAdapter, ModelError, check_mean_color, check_positive_int, softmax
from .declaration import ModelDeclaration, declaration_of

__all__ = ["ModelAdapter", "ModelError", "as_model", "softmax", "check_positive_int", "is_keras_model",
           "is_torch_module", "is_jax_function"]


def is_keras_model(model) -> bool:
    mod = type(model).__module__ or ""
    return (mod.startswith("keras") or mod.startswith("tf_keras") or "keras" in mod) and hasattr(model, "layers")


def is_torch_module(model) -> bool:
    torch = sys.modules.get("torch")  # never import torch for a model that is not one of its modules
    return torch is not None and isinstance(model, torch.nn.Module)


def is_jax_function(model) -> bool:
    """A ``jax.jit``-wrapped function (its type lives in jaxlib); plain Python functions are not detected."""
    mod = type(model).__module__ or ""
    return "jax" in sys.modules and (mod.startswith("jaxlib") or mod.startswith("jax.")) and callable(model)


_FRAMEWORKS = ("auto", "numpy", "torch", "jax")
_MASKS_ON = ("auto", "host", "device")


def as_model(model, *, outputs: str = "auto", preprocess: Callable | None = None,
             batch_size: int | None = None, mean_color=None, framework: str = "auto",
             masks_on: str = "auto", input_shape=None) -> ModelAdapter:
    """Wrap a Keras 3 model, a PyTorch module, a JAX function, a callable or an adapter.

    Parameters
    ----------
    model : keras.Model, torch.nn.Module, JAX function, callable or ModelAdapter
        Every model takes the user's channels-last images (B, H, W, C):

        - a ``torch.nn.Module`` gets them as (B, C, H, W) on the device of its
          parameters, in ``eval()`` mode under ``torch.inference_mode()``;
        - a JAX function (``framework="jax"``, or detected when it is
          ``jax.jit``-wrapped) gets ``jax.Array`` batches inside a ``jax.jit``;
        - a Keras 3 model runs in its backend's framework (TensorFlow, JAX or
          torch);
        - any other callable gets NumPy batches (the host path).
    framework : {"auto", "numpy", "torch", "jax"}, keyword-only
        Say what a callable is: ``"jax"`` for a function of ``jax.Array``
        batches that is not ``jax.jit``-wrapped; ``"numpy"`` forces the host
        path for anything.
    masks_on : {"auto", "host", "device"}, keyword-only
        Where explainers make and apply masks.  ``"auto"``: on the model's
        device for PyTorch, JAX and Keras on JAX/torch, and for Keras on
        TensorFlow when TensorFlow sees a GPU (on a CPU the host path is as
        fast there); ``"host"``: NumPy; ``"device"``: the framework's device
        path even on a CPU.
    outputs, preprocess, mean_color, input_shape : keyword-only
        Fields of the model's declaration (:func:`~saliency_widgets.models.declare`, where a user's
        model says once what it takes: input size, crop, pixel range, normalisation, fill, outputs,
        class names), given here for this adapter only; each one given wins over what the model
        declares.  ``mean_color``: the fill that means "masked" in the model's input space (the colour
        its normalisation maps to 0).  ``input_shape`` (H, W, C): the image shape, checked, with no
        crop (an image of another size is refused); a Keras model's own ``input_shape`` is used and
        must not be contradicted.

    Returns
    -------
    ModelAdapter
        Its ``declaration`` is what every front end reads.  A PyTorch module, a JAX function or a
        Keras model with a free input size that declares no input size refuses images (``prepare``)
        instead of explaining each at whatever size it has; a plain Python function takes each
        image at its own size.

    Examples
    --------
    >>> import numpy as np
    >>> m = as_model(lambda x: x.mean(axis=(1, 2)), outputs="logits")
    >>> m.predict(np.ones((2, 4, 4, 3), np.float32)).shape
    (2, 3)
    """
    if framework not in _FRAMEWORKS:
        raise ValueError(f"framework must be one of {_FRAMEWORKS}, got {framework!r}")
    if masks_on not in _MASKS_ON:
        raise ValueError(f"masks_on must be one of {_MASKS_ON}, got {masks_on!r}")
    input_shape = _check_input_shape(input_shape)
    if isinstance(model, ModelAdapter):
        return _rewrap(model, outputs=outputs, preprocess=preprocess, batch_size=batch_size, mean_color=mean_color,
                       masks_on=masks_on, input_shape=input_shape)
    decl = _given(declaration_of(model), outputs=outputs, preprocess=preprocess, mean_color=mean_color,
                  input_shape=input_shape)
    adapter, decl = _framework_adapter(model, decl, framework=framework, batch_size=batch_size, masks_on=masks_on,
                                       input_shape=input_shape)
    if decl.outputs == "auto":
        decl = decl.replace(outputs=adapter.outputs)  # e.g. a Keras model whose last layer is a softmax
    adapter.declaration = decl
    adapter.wrapped = model  # what the user gave (a results file fingerprints it)
    return adapter


def _framework_adapter(model, decl, *, framework, batch_size, masks_on, input_shape):
    """(the framework's adapter of ``model``, the declaration with what the framework says: a Keras input shape)."""
    kwargs = dict(outputs=decl.outputs, preprocess=decl.preprocess, batch_size=batch_size, mean_color=decl.mean_color,
                  masks_on="host" if framework == "numpy" else masks_on)
    if is_keras_model(model):
        from .keras import keras_adapter
        adapter = _host_batch(model, keras_adapter(model, **kwargs), batch_size)
        decl = _with_keras_shape(decl, adapter.input_shape, input_shape)
        adapter.requires_size = None in tuple(adapter.input_shape[:2])
    elif framework == "torch" or (framework == "auto" and is_torch_module(model)):
        from .frameworks import torch_adapter
        adapter = _host_batch(model, torch_adapter(model, **kwargs), batch_size)
        adapter.requires_size = True
    elif framework == "jax" or (framework == "auto" and is_jax_function(model)):
        from .frameworks import jax_adapter
        adapter = jax_adapter(model, **kwargs)
        adapter.requires_size = True
    elif callable(model):
        name = getattr(model, "__name__", type(model).__name__)
        adapter = ModelAdapter(model, outputs=decl.outputs, preprocess=decl.preprocess, batch_size=batch_size,
                               name=f"model {name!r}", mean_color=decl.mean_color)
    else:
        raise TypeError("model must be a Keras model, a torch.nn.Module, a JAX function or a callable "
                        f"batch -> scores, got {type(model).__name__}")
    return adapter, decl


def _check_input_shape(input_shape):
    if input_shape is None:
        return None
    input_shape = tuple(None if d is None else check_positive_int("input_shape", d) for d in input_shape)
    if len(input_shape) != 3:
        raise ValueError(f"input_shape must be (H, W, C), got {input_shape}")
    return input_shape


def _given(decl: ModelDeclaration, *, outputs, preprocess, mean_color, input_shape) -> ModelDeclaration:
    """The model's declaration under the caller's settings (the caller wins, field by field).

    ``input_shape=`` given here declares a size without a crop (another size is refused), unless it is the
    size the model itself declares."""
    changes = {}
    if outputs != "auto":
        changes["outputs"] = outputs
    if preprocess is not None:
        changes["preprocess"] = preprocess
    if mean_color is not None:
        changes["mean_color"] = check_mean_color(mean_color)
    if input_shape is not None and input_shape != decl.input_size:
        changes.update(input_size=input_shape, crop=None)
    return decl.replace(**changes) if changes else decl


def _with_keras_shape(decl: ModelDeclaration, shape, given) -> ModelDeclaration:
    """A Keras model's own input shape is what it takes: a declaration or an ``input_shape=`` may fill its free
    entries, never contradict it."""
    shape = tuple(shape)
    size = decl.input_size
    if size is None or size == "any":
        if size == "any" and None not in shape[:2]:
            raise ValueError(f"the Keras model takes {shape} but is declared input_size='any'")
        return decl.replace(input_size=shape) if size is None else decl
    if any(w is not None and g is not None and g != w for g, w in zip(size, shape)):
        what = "input_shape=" if given is not None else "the declared input_size"
        raise ValueError(f"{what} {size} contradicts the Keras model's own input shape {shape}: leave "
                         f"{'input_shape' if given is not None else 'input_size'} out for a Keras model, or "
                         "declare its own")
    return decl


def _host_batch(model, adapter: ModelAdapter, batch_size) -> ModelAdapter:
    """The batch size a model declares for the host (``saliency_widgets_host_batch_size``), unless the caller
    gave one or the model runs on an accelerator (whose own default is larger)."""
    declared = getattr(model, "saliency_widgets_host_batch_size", None)
    if batch_size is None and declared is not None and not adapter.backend.accelerator:
        adapter.batch_size = check_positive_int("saliency_widgets_host_batch_size", declared)
    return adapter


def _rewrap(model: ModelAdapter, *, outputs, preprocess, batch_size, mean_color, masks_on, input_shape):
    """``model`` itself when nothing is asked of it, else a new adapter of its function with those settings."""
    if (preprocess is None and batch_size is None and outputs == "auto" and mean_color is None
            and masks_on == "auto" and input_shape in (None, model.input_shape)):
        return model
    backend = model.backend if model.backend.native else None
    if masks_on == "host":
        backend = None
    out = ModelAdapter(model.fn, batch_size=batch_size or model.batch_size, name=model.name,
                       keras_model=model.keras_model, pad_batches=model.pad_batches, backend=backend)
    out.declaration = _given(model.declaration, outputs=outputs, preprocess=preprocess, mean_color=mean_color,
                             input_shape=input_shape)
    out.requires_size = model.requires_size
    out.num_classes = model.num_classes
    out.counter = model.counter  # the same model: one count of the images sent to it
    out.count_compiled = model.count_compiled
    out.gradient_source = model.gradient_source
    out.wrapped = model.wrapped
    if outputs == "auto":  # what the wrapped adapter decided (and warned about) holds for the re-wrap
        out._softmax = model._softmax
    return out
