"""Model adapters: the only place that calls a model.

``as_model`` turns a Keras 3 model, a PyTorch module, a JAX function or any callable ``batch -> scores``
into a :class:`ModelAdapter` with ``prepare(image)`` and ``predict(batch)``; ``declare`` says once what a
model takes and returns (input size, crop, pixel range, normalisation, fill, outputs, class names), and
every front end reads it from the adapter (``as_model(model).declaration``).
"""
from .adapter import as_model
from .base import ModelAdapter, ModelError, softmax
from .declaration import ImageFit, ModelDeclaration, declare

__all__ = ["ImageFit", "ModelAdapter", "ModelDeclaration", "ModelError", "as_model", "declare", "softmax"]
