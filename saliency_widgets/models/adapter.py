"""Turn whatever the user has into ``predict(batch) -> (B, K) probabilities``: :func:`as_model`.

It recognises the framework and hands over to its adapter (:mod:`.keras`, :mod:`.frameworks`);
all of them are :class:`~.base.ModelAdapter` (defined in :mod:`.base`, so no adapter imports
the dispatcher that chooses it).
"""
from __future__ import annotations

import sys
from typing import Callable

from .base import ModelAdapter, ModelError, check_positive_int, softmax

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
    mean_color : sequence of C floats or None
        The input colour the model's preprocessing maps to 0 (see
        :class:`ModelAdapter`); a Keras model may declare it itself as a
        ``saliency_widgets_mean_color`` attribute (``load_imagenet_model`` does).  A PyTorch module
        may also declare ``saliency_widgets_input_shape``, ``saliency_widgets_preprocess`` and
        ``saliency_widgets_outputs``; settings passed here win over what a model declares.
    input_shape : (H, W, C) or None, keyword-only
        The image shape the model takes, for a module or function that does
        not say (images are checked against it); a Keras model's own
        ``input_shape`` is used and must not be contradicted.

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
    kwargs = dict(outputs=outputs, preprocess=preprocess, batch_size=batch_size, mean_color=mean_color,
                  masks_on="host" if framework == "numpy" else masks_on)
    if is_keras_model(model):
        from .keras import keras_adapter
        adapter = keras_adapter(model, **kwargs)
        if input_shape is not None and any(w is not None and g is not None and g != w
                                           for g, w in zip(input_shape, adapter.input_shape)):
            raise ValueError(f"input_shape={input_shape} contradicts the Keras model's own input shape "
                             f"{adapter.input_shape}: leave input_shape out for a Keras model")
    elif framework == "torch" or (framework == "auto" and is_torch_module(model)):
        from .frameworks import torch_adapter
        kwargs, input_shape = _torch_declared(model, kwargs, input_shape)
        adapter = torch_adapter(model, **kwargs)
        adapter.input_shape = input_shape
    elif framework == "jax" or (framework == "auto" and is_jax_function(model)):
        from .frameworks import jax_adapter
        adapter = jax_adapter(model, **kwargs)
        adapter.input_shape = input_shape
    elif callable(model):
        name = getattr(model, "__name__", type(model).__name__)
        adapter = ModelAdapter(model, input_shape=input_shape, outputs=outputs, preprocess=preprocess,
                               batch_size=batch_size, name=f"model {name!r}", mean_color=mean_color)
    else:
        raise TypeError("model must be a Keras model, a torch.nn.Module, a JAX function or a callable "
                        f"batch -> scores, got {type(model).__name__}")
    adapter.wrapped = model  # what the user gave (a results file fingerprints it)
    return adapter


def _check_input_shape(input_shape):
    if input_shape is None:
        return None
    input_shape = tuple(None if d is None else check_positive_int("input_shape", d) for d in input_shape)
    if len(input_shape) != 3:
        raise ValueError(f"input_shape must be (H, W, C), got {input_shape}")
    return input_shape


def _torch_declared(model, kwargs: dict, input_shape):
    """What a PyTorch module declares (``load_imagenet_model``'s does), under the caller's settings."""
    kwargs = dict(kwargs)
    if kwargs["outputs"] == "auto":
        kwargs["outputs"] = getattr(model, "saliency_widgets_outputs", "auto")
    for name in ("preprocess", "mean_color"):
        if kwargs[name] is None:
            kwargs[name] = getattr(model, f"saliency_widgets_{name}", None)
    if input_shape is None:
        input_shape = getattr(model, "saliency_widgets_input_shape", None)
    return kwargs, None if input_shape is None else tuple(input_shape)


def _rewrap(model: ModelAdapter, *, outputs, preprocess, batch_size, mean_color, masks_on, input_shape):
    """``model`` itself when nothing is asked of it, else a new adapter of its function with those settings."""
    if (preprocess is None and batch_size is None and outputs == "auto" and mean_color is None
            and masks_on == "auto" and input_shape in (None, model.input_shape)):
        return model
    backend = model.backend if model.backend.native else None
    if masks_on == "host":
        backend = None
    out = ModelAdapter(model.fn, input_shape=model.input_shape if input_shape is None else input_shape,
                       outputs=model.outputs if outputs == "auto" else outputs,
                       preprocess=preprocess or model.preprocess,
                       batch_size=batch_size or model.batch_size, name=model.name,
                       keras_model=model.keras_model, pad_batches=model.pad_batches,
                       mean_color=model.mean_color if mean_color is None else mean_color,
                       backend=backend)
    out.num_classes = model.num_classes
    out.counter = model.counter  # the same model: one count of the images sent to it
    out.count_compiled = model.count_compiled
    out.gradient_source = model.gradient_source
    out.wrapped = model.wrapped
    if outputs == "auto":  # what the wrapped adapter decided (and warned about) holds for the re-wrap
        out._softmax = model._softmax
    return out
