"""Model adapters: the only place that calls a model.

``as_model`` turns a Keras 3 model or any callable ``batch -> scores`` into a
:class:`ModelAdapter` with ``prepare(image)`` and ``predict(batch)``.
"""
from .adapter import as_model
from .base import ModelAdapter, ModelError, softmax

__all__ = ["ModelAdapter", "ModelError", "as_model", "softmax"]
