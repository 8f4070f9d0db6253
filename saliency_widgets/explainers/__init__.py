"""Explainers: one per module, settings in ``__init__``, data in ``explain``.

Adding a method: one module here whose class carries ``declarations``
(:class:`~.declaration.Declaration`), and its import line below with its name in
``__all__``; the registry collects it and ``tests/explainers/test_contract.py`` checks it.

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

# The registry collects each class's ``declarations`` in this order (the widget's and the CLI's lists).
__all__ = ["Explainer", "MaskUpdate", "Rise", "Lime", "Occlusion", "GradCam", "CenterBaseline",
           "Gradient", "SmoothGrad", "IntegratedGradients", "GuidedBackprop"]
