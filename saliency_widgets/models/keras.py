"""Keras 3 models: compiled inference (never ``model.predict`` per batch) and gradients."""
from __future__ import annotations

import weakref

import numpy as np

from .base import ModelAdapter
from .frameworks import keras_backend_for

# One compiled function per model: every explainer wraps the model again, and
# tracing a graph costs far more than a forward pass of a small model.
_COMPILED: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()

__all__ = ["keras_adapter", "compiled_forward"]


def compiled_forward(model, input_shape):
    """A fast ``fn(batch) -> scores`` for a Keras model.

    ``model.predict`` costs ~100 ms per call on a 2-core CPU whatever the batch;
    a compiled call costs ~1 ms plus the compute.  The TensorFlow graph is
    traced once for a fixed image shape and a free batch dimension, so no call
    retraces and no batch is padded (padding a last batch of 33 to 64 would
    waste half of that call).
    """
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        spec = tf.TensorSpec((None,) + tuple(input_shape), tf.float32)
        ref = weakref.ref(model)  # the cache below must not keep the model alive

        @tf.function(input_signature=[spec])
        def forward(x):
            return ref()(x, training=False)

        return lambda batch: forward(tf.convert_to_tensor(batch)).numpy()
    if backend == "jax":
        import jax

        forward = jax.jit(lambda x: model(x, training=False))
        return lambda batch: np.asarray(forward(batch))
    return lambda batch: keras.ops.convert_to_numpy(model(batch, training=False))


def _output_activation(model) -> str | None:
    try:
        act = model.layers[-1].get_config().get("activation")
    except Exception:
        return None
    return act if isinstance(act, str) else None


MEAN_COLOR_ATTR = "saliency_widgets_mean_color"


def keras_adapter(model, *, outputs="auto", preprocess=None, batch_size=None, mean_color=None,
                  masks_on="auto") -> ModelAdapter:
    """The adapter of a Keras model; ``mean_color`` defaults to the model's ``saliency_widgets_mean_color``."""
    shape = model.input_shape
    if isinstance(shape, list):
        if len(shape) != 1:
            raise ValueError(f"the model has {len(shape)} inputs; saliency_widgets explains single-image models")
        shape = shape[0]
    if len(shape) != 4:
        raise ValueError(f"the model's input must be images (B, H, W, C), got input shape {shape}")
    if outputs == "auto" and _output_activation(model) == "softmax":
        outputs = "probabilities"
    # jax.jit retraces per batch shape: pad small batches to a power of two there.
    import keras
    pad = keras.backend.backend() == "jax"
    try:
        fn = _COMPILED[model]
    except (KeyError, TypeError):
        fn = compiled_forward(model, shape[1:])
        try:
            _COMPILED[model] = fn
        except TypeError:  # not weak-referenceable: no cache
            pass
    if mean_color is None:
        mean_color = getattr(model, MEAN_COLOR_ATTR, None)
    return ModelAdapter(fn, input_shape=shape[1:], outputs=outputs,
                        preprocess=preprocess, batch_size=batch_size,
                        name=f"Keras model {model.name!r}", keras_model=model, pad_batches=pad,
                        mean_color=mean_color, backend=keras_backend_for(model, masks_on))
