"""saliency_widgets: see why an image classifier decided what it did, inside Jupyter."""
from .evaluation import Results, evaluate
from .explainers import (CenterBaseline, Explainer, GradCam, Gradient, GuidedBackprop, IntegratedGradients, Lime,
                         MaskUpdate, Occlusion, Rise, SmoothGrad)
from .explanation import Explanation, normalize_map
from .models import ModelAdapter, ModelError, as_model

__version__ = "0.1.0"

__all__ = ["Explanation", "normalize_map", "Explainer", "MaskUpdate", "Rise", "GradCam", "Lime",
           "Occlusion", "CenterBaseline", "Gradient", "SmoothGrad", "IntegratedGradients", "GuidedBackprop",
           "ModelAdapter", "ModelError", "as_model", "evaluate", "Results",
           "ExplainWidget", "__version__"]


def __getattr__(name):
    # The widget pulls in ipywidgets and bqplot: import it only when asked for.
    if name == "ExplainWidget":
        from .widgets import ExplainWidget
        return ExplainWidget
    raise AttributeError(f"module 'saliency_widgets' has no attribute {name!r}")
