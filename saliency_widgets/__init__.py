"""saliency_widgets: see why an image classifier decided what it did, inside Jupyter."""
from .explanation import Explanation, normalize_map
from .explainers import Explainer, MaskUpdate, Rise
from .models import ModelAdapter, ModelError, as_model

__version__ = "0.1.0"

__all__ = ["Explanation", "normalize_map", "Explainer", "MaskUpdate", "Rise",
           "ModelAdapter", "ModelError", "as_model", "__version__"]
