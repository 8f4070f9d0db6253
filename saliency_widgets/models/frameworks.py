"""PyTorch modules and JAX functions as :class:`~.adapter.ModelAdapter` (imported only for such models)."""
from __future__ import annotations

import weakref

import numpy as np

from .base import ModelAdapter, weak_handle
from .backends import jax_backend, torch_backend, torch_device_of, torch_module_forward

__all__ = ["torch_adapter", "jax_adapter"]

# One backend per model: jitted steps are cached on it, so explainers that wrap
# the same model again do not compile again.
_BACKENDS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _cached(model, make):
    try:
        return _BACKENDS[model]
    except (KeyError, TypeError):
        be = make()
        try:
            _BACKENDS[model] = be
        except TypeError:
            pass
        return be


def torch_adapter(module, *, outputs="auto", preprocess=None, batch_size=None, mean_color=None,
                  masks_on="auto") -> ModelAdapter:
    """A ``torch.nn.Module`` taking (B, C, H, W): put in eval mode, fed the user's (B, H, W, C) images."""
    import torch

    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"framework='torch' needs a torch.nn.Module, got {type(module).__name__}")
    module.eval()
    device = torch_device_of(module)
    be = _cached(module, lambda: torch_backend(torch_module_forward(module), device))

    def host_fn(batch):  # the host path (predict): NumPy in, NumPy out; holds the module (the cache does not)
        with torch.inference_mode():
            t = torch.from_numpy(np.ascontiguousarray(batch, np.float32)).to(device)
            return module(t.permute(0, 3, 1, 2)).float().cpu().numpy()

    adapter = ModelAdapter(host_fn, outputs=outputs, preprocess=preprocess, batch_size=batch_size,
                           name=f"PyTorch module {type(module).__name__!r}", mean_color=mean_color,
                           backend=None if masks_on == "host" else be)
    adapter.gradient_source = ("torch", module)
    return adapter


def jax_adapter(fn, *, outputs="auto", preprocess=None, batch_size=None, mean_color=None,
                masks_on="auto") -> ModelAdapter:
    """A function of ``jax.Array`` batches (B, H, W, C) -> (B, K), traced inside the explainers' ``jax.jit``."""
    import jax

    ref = weak_handle(fn)
    be = _cached(fn, lambda: jax_backend(lambda x: ref()(x)))  # the cache must not keep fn alive
    jitted = jax.jit(fn)

    def host_fn(batch):
        return np.asarray(jitted(np.asarray(batch, np.float32)))

    name = getattr(fn, "__name__", type(fn).__name__)
    adapter = ModelAdapter(host_fn, outputs=outputs, preprocess=preprocess, batch_size=batch_size,
                           name=f"JAX function {name!r}", mean_color=mean_color, pad_batches=True,
                           backend=None if masks_on == "host" else be)
    adapter.gradient_source = ("jax", fn)
    return adapter


def keras_backend_for(model, masks_on):
    """The device backend of a Keras model, or None for the host path."""
    import keras

    if masks_on == "host":
        return None
    if keras.backend.backend() == "tensorflow" and masks_on == "auto":
        import tensorflow as tf
        if not tf.config.list_logical_devices("GPU"):
            return None  # on a CPU the host path is as fast (benchmarks/bench_explainers.py)
    from .backends import keras_backend
    return _cached(model, lambda: keras_backend(model))

