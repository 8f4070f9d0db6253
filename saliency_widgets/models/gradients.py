"""Gradients of Keras models (Grad-CAM): the only gradient code in the package."""
from __future__ import annotations

import numpy as np

__all__ = ["find_conv_layer", "gradcam_inputs"]


def find_conv_layer(model, name=None) -> str:
    """The named layer, or the last top-level layer with a 4-D (B, h, w, c) output."""
    if name is not None:
        try:
            model.get_layer(name)
        except ValueError:
            names = [layer.name for layer in model.layers]
            raise ValueError(f"the model has no layer {name!r}; its layers are {names}") from None
        return name
    for layer in reversed(model.layers):
        try:
            shape = layer.output.shape
        except (AttributeError, ValueError):
            continue
        if len(shape) == 4 and type(layer).__name__ != "InputLayer":
            return layer.name
    raise ValueError(f"Grad-CAM could not find a convolutional layer (a layer with a 4-D output) among the "
                     f"top-level layers of {model.name!r}; name one with GradCam(model, layer=...). Nested "
                     "models must be flattened into one functional model first")


def gradcam_inputs(model, layer_name, batch, target):
    """Activations of ``layer_name`` and the gradient of output[:, target] with respect to them."""
    import keras
    import tensorflow as tf

    try:
        sub = keras.Model(model.inputs, [model.get_layer(layer_name).output, model.outputs[0]])
    except Exception as exc:
        raise ValueError(f"Grad-CAM cannot open layer {layer_name!r} of {model.name!r} ({exc}); "
                         "name a top-level layer of a functional model") from None
    x = tf.convert_to_tensor(np.asarray(batch, np.float32))
    with tf.GradientTape() as tape:
        acts, out = sub(x, training=False)
        score = out[:, target]
    grads = tape.gradient(score, acts)
    return acts.numpy(), grads.numpy()
