"""Gradients of Keras models (Grad-CAM): the only gradient code in the package.

A layer is named by its path through nested models, ``"outer_layer/inner_layer"``
(e.g. ``"mobilenetv2_1.00_224/Conv_1"`` inside :func:`~saliency_widgets.demo.load_imagenet_model`),
or by its plain name when it is a top-level layer.
"""
from __future__ import annotations

import numpy as np

__all__ = ["find_conv_layer", "gradcam_inputs", "conv_layer_candidates"]


def _is_model(layer) -> bool:
    return hasattr(layer, "layers") and hasattr(layer, "inputs")


def _is_feature_map(layer) -> bool:
    if type(layer).__name__ == "InputLayer":
        return False
    try:
        return len(layer.output.shape) == 4
    except (AttributeError, ValueError):  # a layer used several times, or not built
        return False


def conv_layer_candidates(model, prefix: str = "") -> list[str]:
    """Paths of every layer with a 4-D (B, h, w, c) output, nested models opened, in graph order."""
    out = []
    for layer in model.layers:
        path = prefix + layer.name
        if _is_model(layer):
            out += conv_layer_candidates(layer, path + "/")
        elif _is_feature_map(layer):
            out.append(path)
    return out


def _last_feature_map(model) -> list[str] | None:
    for layer in reversed(model.layers):
        if _is_model(layer):
            inner = _last_feature_map(layer)
            if inner is not None:
                return [layer.name] + inner
        elif _is_feature_map(layer):
            return [layer.name]
    return None


def _resolve(model, path: str):
    """The layer at ``path`` ("a/b/c"); a ValueError naming the candidates when there is none."""
    obj = model
    for part in path.split("/"):
        try:
            obj = obj.get_layer(part)
        except (ValueError, AttributeError):
            raise ValueError(f"the model has no layer {path!r}; layers with a 4-D output (Grad-CAM "
                             f"candidates): {conv_layer_candidates(model)}") from None
    return obj


def find_conv_layer(model, name=None) -> str:
    """The path of the named layer, or of the last layer with a 4-D (B, h, w, c) output.

    Nested models (e.g. the keras.applications base behind the ``Preprocess``
    layer of ``load_imagenet_model``) are searched too, last layer first, so
    the last convolutional feature map is found inside them.

    Raises
    ------
    ValueError
        When ``name`` is not a layer (or not a 4-D one), or no layer has a 4-D
        output; the message lists the candidate layers.
    """
    if name is not None:
        layer = _resolve(model, name)
        if not _is_feature_map(layer):
            raise ValueError(f"layer {name!r} does not output a 4-D feature map (B, h, w, c), so Grad-CAM "
                             f"cannot use it; candidates: {conv_layer_candidates(model)}")
        return name
    path = _last_feature_map(model)
    if path is None:
        names = [layer.name for layer in model.layers]
        raise ValueError(f"Grad-CAM could not find a convolutional layer (a layer with a 4-D output) in "
                         f"{model.name!r} or the models nested in it (its layers: {names}); name one with "
                         "GradCam(model, layer=...)")
    return "/".join(path)


def _activation_fn(model, parts: list[str]):
    """``f(x) -> (activations of the layer at parts, model output)``, through nested models.

    A nested model is entered at the tensor the outer graph feeds it
    (``pre``), run to the inner layer and its own output, and the outer graph
    continues from that output (``post``); the tape sees one connected
    computation, so the gradient flows through the nesting.
    """
    import keras

    if len(parts) == 1:
        sub = keras.Model(model.inputs, [model.get_layer(parts[0]).output, model.outputs[0]])
        return lambda x: sub(x, training=False)
    nested = model.get_layer(parts[0])
    nodes = [n for n in nested._inbound_nodes if any(t is not None for t in n.input_tensors)]
    if len(nodes) != 1:
        raise ValueError(f"Grad-CAM cannot follow {parts[0]!r}: it is called {len(nodes)} times in "
                         f"{model.name!r} (it must be called once)")
    node = nodes[0]
    inner = _activation_fn(nested, parts[1:])
    pre = keras.Model(model.inputs, node.input_tensors[0])
    out_t = node.output_tensors[0]
    post = None if out_t is model.outputs[0] else keras.Model(out_t, model.outputs[0])

    def f(x):
        acts, mid = inner(pre(x, training=False))
        return acts, (mid if post is None else post(mid, training=False))

    return f


def gradcam_inputs(model, layer_name, batch, target):
    """Activations of ``layer_name`` (a path) and the gradient of output[:, target] with respect to them."""
    import tensorflow as tf

    try:
        fn = _activation_fn(model, layer_name.split("/"))
    except ValueError:
        raise
    except Exception as exc:
        raise ValueError(f"Grad-CAM cannot open layer {layer_name!r} of {model.name!r} ({exc}); "
                         f"candidates: {conv_layer_candidates(model)}") from None
    x = tf.convert_to_tensor(np.asarray(batch, np.float32))
    with tf.GradientTape() as tape:
        acts, out = fn(x)
        score = out[:, target]
    grads = tape.gradient(score, acts)
    if grads is None:  # not connected: say so instead of failing on None.numpy()
        raise ValueError(f"the output of {model.name!r} does not depend on layer {layer_name!r}; "
                         f"candidates: {conv_layer_candidates(model)}")
    return np.asarray(acts), np.asarray(grads)
