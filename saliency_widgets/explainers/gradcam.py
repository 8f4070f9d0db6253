"""Grad-CAM (Selvaraju et al. 2017) for Keras models and PyTorch modules."""
from __future__ import annotations

import numpy as np

from ..explanation import Explanation, normalize_map
from ..models.gradients import find_conv_layer, gradcam_inputs
from .base import Explainer
from .declaration import Declaration

__all__ = ["GradCam"]


class GradCam(Explainer):
    """ReLU of the feature maps of a convolutional layer weighted by their mean gradient.

    Parameters
    ----------
    model : a Keras model or a torch.nn.Module
        Grad-CAM needs layers and gradients: a JAX function or a plain callable
        raises a TypeError that names what it is.
    layer : str or None
        The layer whose activations to use.  Keras: its name, or its path
        through nested models (``"mobilenetv2_1.00_224/out_relu"``); default:
        the last layer with a 4-D output, nested models included, i.e. the
        last convolutional feature map.  PyTorch: the module's qualified name
        as in ``model.named_modules()`` (``"features.8"``); default: the last
        ``torch.nn.Conv2d`` in that order (its output, before any
        normalisation or activation that follows it).  The layer must output a
        4-D feature map.  A label names a layer only when it was chosen by
        hand; ``params["layer"]`` records the layer that ran.

    ``raw`` is the ReLU'd class activation map upsampled to the image:
    higher = more important.

    The gradient is of the model's output for the target class (the
    probability, when the model ends in a softmax).  The (h, w) map is
    upsampled to the image bilinearly.  A PyTorch module is read through a
    private copy of the modules on the path to the layer (parameters shared):
    no hook is left on it, and other threads using it are not affected.
    """

    gradient_frameworks = ("keras", "torch")  # a layer's activations: a Keras layer graph or torch modules
    declarations = (
        Declaration("grad-cam", "Grad-CAM", needs_gradients=True,
                    summary="Selvaraju et al. 2017: gradients of the class at the last convolution, also inside "
                            "nested models (Keras models, PyTorch modules)"),
    )

    def __init__(self, model, *, layer=None, preprocess=None, outputs="auto", progress=False):
        super().__init__(model, preprocess=preprocess, outputs=outputs, progress=progress)
        self._kind, self._net = _layered(self.model)
        self.layer = self._find(layer)

    def _find(self, layer):
        if self._kind == "torch":
            from ..models.torch_layers import find_torch_layer
            return find_torch_layer(self._net, layer)
        return find_conv_layer(self._net, layer)

    def _resolved_defaults(self) -> dict:
        """The layer the default ``layer=None`` resolves to: a label names only a layer chosen by hand."""
        return {"layer": self._find(None)}

    @property
    def budget(self) -> int:
        return 1

    def _explain(self, x, target, score, *, partials=True):
        from skimage.transform import resize
        if self._kind == "torch":
            from ..models.torch_layers import torch_gradcam_inputs
            acts, grads = torch_gradcam_inputs(self._net, self.layer, x[None], target)
        else:
            acts, grads = gradcam_inputs(self._net, self.layer, x[None], target)
        weights = grads[0].mean(axis=(0, 1))
        cam = np.maximum((acts[0] * weights).sum(-1), 0)
        raw = resize(cam, x.shape[:2], order=1, mode="edge", anti_aliasing=False)
        yield Explanation(saliency=normalize_map(raw, center=False), raw=raw.astype(np.float32),
                          target=target, score=score, n_forward=1, method=self.method,
                          params=self.params, done=True)


def _layered(adapter):
    """``("keras" | "torch", the model)``: what Grad-CAM reads layers from; a TypeError naming what it got."""
    source = getattr(adapter, "gradient_source", None)
    if source is not None and source[0] in GradCam.gradient_frameworks:
        return source
    what = (f"{adapter.name}, a JAX function, has no layers to read activations from" if source is not None
            else f"{adapter.name} (a {type(getattr(adapter, 'fn', adapter)).__name__}) is a plain callable: it has "
                 "neither layers nor gradients")
    raise TypeError(f"GradCam needs a Keras model or a torch.nn.Module to reach a layer's activations and "
                    f"gradients; {what}. Use a black-box explainer (MaskUpdate, Rise, Lime, Occlusion) for it")
