"""Grad-CAM (Selvaraju et al. 2017) for Keras models."""
from __future__ import annotations

import numpy as np

from ..explanation import Explanation, normalize_map
from ..models.gradients import gradcam_inputs, find_conv_layer
from .base import Explainer
from .declaration import Declaration

__all__ = ["GradCam"]


class GradCam(Explainer):
    """ReLU of the feature maps of a convolutional layer weighted by their mean gradient.

    Parameters
    ----------
    model : a Keras model (Grad-CAM needs gradients and layers: a plain callable
        cannot be opened and raises a TypeError that says so)
    layer : str or None
        The layer whose activations to use: its name, or its path through
        nested models (``"mobilenetv2_1.00_224/out_relu"``).  Default: the
        last layer with a 4-D output, nested models included, i.e. the last
        convolutional feature map.  ``params["layer"]`` records the path found.

    ``raw`` is the ReLU'd class activation map upsampled to the image:
    higher = more important.

    The gradient is of the model's output for the target class (the
    probability, when the model ends in a softmax).  The (h, w) map is
    upsampled to the image bilinearly.
    """

    gradient_frameworks = ("keras",)  # the last convolution's activations: a Keras layer graph
    declarations = (
        Declaration("grad-cam", "Grad-CAM", needs_gradients=True,
                    summary="Selvaraju et al. 2017: gradients of the class at the last convolution, also inside "
                            "nested models (Keras models)"),
    )

    def __init__(self, model, *, layer=None, preprocess=None, outputs="auto", progress=False):
        super().__init__(model, preprocess=preprocess, outputs=outputs, progress=progress)
        if self.model.keras_model is None:
            raise TypeError("GradCam needs a Keras model to reach its layers and gradients; a plain callable "
                            "cannot be opened. Use a black-box explainer (MaskUpdate, Rise, Lime, Occlusion) "
                            "for callables")
        self.layer = find_conv_layer(self.model.keras_model, layer)

    def _resolved_defaults(self) -> dict:
        """The layer the default ``layer=None`` resolves to: a label names only a layer chosen by hand."""
        return {"layer": find_conv_layer(self.model.keras_model, None)}

    @property
    def budget(self) -> int:
        return 1

    def _explain(self, x, target, score, *, partials=True):
        from skimage.transform import resize
        acts, grads = gradcam_inputs(self.model.keras_model, self.layer, x[None], target)
        weights = grads[0].mean(axis=(0, 1))
        cam = np.maximum((acts[0] * weights).sum(-1), 0)
        raw = resize(cam, x.shape[:2], order=1, mode="edge", anti_aliasing=False)
        yield Explanation(saliency=normalize_map(raw, center=False), raw=raw.astype(np.float32),
                          target=target, score=score, n_forward=1, method=self.method,
                          params=self.params, done=True)
