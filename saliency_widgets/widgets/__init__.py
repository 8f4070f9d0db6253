"""Jupyter widgets (ipywidgets 8 + bqplot, no custom JavaScript); the methods come from saliency_widgets.registry."""
from .explain_widget import ExplainWidget

__all__ = ["ExplainWidget"]
