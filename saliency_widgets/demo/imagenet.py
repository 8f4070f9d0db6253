"""ImageNet class names (shipped) and keras.applications models (weights need a download)."""
from __future__ import annotations

import functools
import os
from importlib import resources

__all__ = ["imagenet_labels", "load_imagenet_model", "IMAGENET_MODELS", "WeightsUnavailableError"]

# The pixel colour (RGB, in [0, 255]) that each preprocessing maps to 0: what a
# masked pixel was in the prototype, which masked the preprocessed input.
# caffe (ResNet50, VGG16): RGB -> BGR minus the ImageNet mean, so 0 is the mean;
# mobilenet_v2: x / 127.5 - 1, so 0 is mid-grey.
MEAN_COLORS = {
    "mobilenet_v2": (127.5, 127.5, 127.5),
    "resnet50": (123.68, 116.779, 103.939),
    "vgg16": (123.68, 116.779, 103.939),
}

# name -> (keras.applications constructor, preprocess module, input size)
IMAGENET_MODELS = {
    "MobileNetV2": ("MobileNetV2", "mobilenet_v2", 224),
    "ResNet50": ("ResNet50", "resnet50", 224),
    "VGG16": ("VGG16", "vgg16", 224),
}


class WeightsUnavailableError(RuntimeError):
    """The ImageNet weights are neither cached nor downloadable."""


@functools.lru_cache(maxsize=1)
def imagenet_labels() -> tuple[str, ...]:
    """The 1000 ImageNet class names, in the usual class-index order (shipped, no download)."""
    text = (resources.files(__package__) / "data" / "imagenet_classes.txt").read_text(encoding="utf-8")
    labels = tuple(line.strip() for line in text.splitlines() if line.strip())
    assert len(labels) == 1000, "the shipped ImageNet label file is damaged"
    return labels


def load_imagenet_model(name: str = "MobileNetV2", *, weights: str | None = "imagenet"):
    """A keras.applications model that takes RGB images with values in [0, 255].

    Each model's own preprocessing is built into the returned model, so it
    takes the same input as the demo model (a float image in [0, 255]).  The
    model declares, as its ``saliency_widgets_mean_color`` attribute, the
    pixel colour that its preprocessing maps to 0 (ImageNet mean RGB
    (123.68, 116.779, 103.939) for ResNet50 and VGG16, grey 127.5 for
    MobileNetV2); :func:`~saliency_widgets.models.as_model` reads it as
    ``mean_color``, so ``occluder="auto"`` masks to what 0 was in the
    preprocessed input the paper's prototype masked.

    Parameters
    ----------
    name : {"MobileNetV2", "ResNet50", "VGG16"}
    weights : "imagenet", a path to a weights file (.h5), or None for random weights

    Raises
    ------
    WeightsUnavailableError
        When the ImageNet weights are not cached and cannot be downloaded
        (no network); the message says where to put the file.
    """
    if name not in IMAGENET_MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {sorted(IMAGENET_MODELS)}")
    import keras

    ctor_name, prep_name, size = IMAGENET_MODELS[name]
    ctor = getattr(keras.applications, ctor_name)
    preprocess = getattr(keras.applications, prep_name).preprocess_input
    try:
        base = ctor(weights=weights, input_shape=(size, size, 3))
    except Exception as exc:  # keras raises a bare URL/socket error offline
        if weights != "imagenet":
            raise
        cache = os.path.join(os.path.expanduser(os.environ.get("KERAS_HOME", "~/.keras")), "models")
        raise WeightsUnavailableError(
            f"the ImageNet weights of {name} could not be downloaded ({type(exc).__name__}: {exc}). "
            f"This machine seems to be offline. Download the weights file on a machine with internet "
            f"(keras.applications.{ctor_name}(weights='imagenet') saves it under ~/.keras/models/), then copy it "
            f"to {cache}/ on this machine, or pass load_imagenet_model({name!r}, weights='/path/to/file.h5')."
        ) from None
    inputs = keras.Input((size, size, 3), name="image")
    x = _Preprocess(prep_name)(inputs)
    outputs = base(x)
    model = keras.Model(inputs, outputs, name=f"{name}_imagenet")
    from ..models.keras import MEAN_COLOR_ATTR
    setattr(model, MEAN_COLOR_ATTR, MEAN_COLORS[prep_name])
    return model


def _Preprocess(prep_name):
    """The model's preprocessing as a plain, serialisable layer (no Lambda)."""
    import keras

    class Preprocess(keras.layers.Layer):
        def call(self, x):
            if prep_name == "mobilenet_v2":
                return x / 127.5 - 1.0
            # resnet50 / vgg16: 'caffe' mode: RGB -> BGR, subtract the ImageNet means
            mean = keras.ops.convert_to_tensor([103.939, 116.779, 123.68], dtype=x.dtype)
            return keras.ops.flip(x, axis=-1) - mean

    return Preprocess(name="preprocess")
