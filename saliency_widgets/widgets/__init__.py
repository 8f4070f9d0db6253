"""Jupyter widgets (ipywidgets 8 + bqplot, no custom JavaScript)."""
from .explain_widget import ExplainWidget
from .methods import MethodSpec, default_methods

__all__ = ["ExplainWidget", "MethodSpec", "default_methods"]
