"""Explainers: one per module, settings in ``__init__``, data in ``explain``.

NumPy core only: nothing here imports a widget library or a deep-learning
framework (Grad-CAM asks :mod:`saliency_widgets.models` for gradients).
"""
from .base import Explainer
from .center import CenterBaseline
from .gradcam import GradCam
from .gradient import Gradient
from .guided_backprop import GuidedBackprop
from .integrated_gradients import IntegratedGradients
from .lime import Lime
from .mask_update import MaskUpdate
from .occlusion import Occlusion
from .rise import Rise
from .smoothgrad import SmoothGrad

__all__ = ["Explainer", "MaskUpdate", "Rise", "GradCam", "Lime", "Occlusion", "CenterBaseline",
           "Gradient", "SmoothGrad", "IntegratedGradients", "GuidedBackprop"]
