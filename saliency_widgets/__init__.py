"""saliency_widgets: see why an image classifier decided what it did, inside Jupyter."""
from . import explainers as _explainers
from .evaluation import Results, evaluate
from .explainers import *  # noqa: F401,F403 - every explainer class the registry collects (explainers.__all__)
from .explanation import Explanation, normalize_map
from .models import ModelAdapter, ModelError, as_model

__version__ = "0.1.0"

# The explainers' names come from explainers.__all__, the list the registry collects its methods from, so a
# new method is exported where it is registered (tests/test_registry.py checks the two agree).
__all__ = ["Explanation", "normalize_map", *_explainers.__all__, "ModelAdapter", "ModelError", "as_model",
           "evaluate", "Results", "ExplainWidget", "__version__"]


def __getattr__(name):
    # The widget pulls in ipywidgets and bqplot: import it only when asked for.
    if name == "ExplainWidget":
        from .widgets import ExplainWidget
        return ExplainWidget
    raise AttributeError(f"module 'saliency_widgets' has no attribute {name!r}")
