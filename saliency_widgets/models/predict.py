"""The model's answer on the images the explainers explain: every image through ``adapter.prepare`` first.

An explainer explains ``adapter.prepare(image)`` (the adapter's ``preprocess=``,
grey images made (H, W, 1), validation), so a default target, a "not the
top-1 class" filter or a class probability printed beside a map must come
from that same input, never from ``predict`` on the raw pixels.
"""
from __future__ import annotations

import numpy as np

from .adapter import as_model

__all__ = ["predict_images", "top1"]


def predict_images(model, images) -> np.ndarray:
    """Class probabilities of each image as the explainers see it.

    Parameters
    ----------
    model : anything :func:`saliency_widgets.models.as_model` accepts
        An adapter keeps its ``preprocess``.
    images : (N, H, W, C) array or sequence of N images (H, W, C) / (H, W)

    Returns
    -------
    (N, K) float32
    """
    adapter = as_model(model)
    if len(images) == 0:
        raise ValueError("images is empty: need at least one image (H, W, C)")
    batch = np.stack([adapter.prepare(img) for img in images])
    return adapter.predict(batch)


def top1(model, images) -> np.ndarray:
    """The top-1 class of each image as the explainers see it: (N,) int."""
    return predict_images(model, images).argmax(axis=1).astype(int)
