"""Insertion and deletion, RISE's causal metrics, batched through the model adapter."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter

from ..models import as_model
from ._checks import check_saliency

__all__ = ["Curve", "insertion", "deletion", "blur"]


@dataclass
class Curve:
    """Target probability against the fraction of pixels changed, and its area."""

    fractions: np.ndarray
    scores: np.ndarray
    auc: float
    name: str = ""

    def __repr__(self) -> str:
        return f"Curve({self.name or 'curve'}, {len(self.fractions)} points, auc={self.auc:.4f})"


def blur(image: np.ndarray, sigma: float = 5, kernel: int = 11) -> np.ndarray:
    """Gaussian blur per channel with a ``kernel``-wide window (RISE: 11 x 11, sigma 5)."""
    radius = (kernel - 1) / 2
    return gaussian_filter(image, sigma=(sigma, sigma, 0), truncate=radius / sigma, mode="reflect")


def _curve(model, x_start, x_finish, saliency, target, step, name):
    """Scores along the path from x_start to x_finish (both in the model's input space)."""
    h, w, c = x_start.shape
    sal = check_saliency(saliency, (h, w))
    if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or step < 1:
        raise ValueError(f"step must be an integer >= 1 pixels, got {step!r}")
    n_pix = h * w
    order = np.argsort(-sal, axis=None, kind="stable")
    n_steps = int(np.ceil(n_pix / step))
    counts = np.minimum(np.arange(n_steps + 1) * step, n_pix)
    scores = model.path_scores(x_start, x_finish, order, counts, target)
    fractions = counts / n_pix
    auc = float(np.trapezoid(scores, fractions) if hasattr(np, "trapezoid") else np.trapz(scores, fractions))
    return Curve(fractions, scores, auc, name)


def _prepare(model, image, batch_size):
    model = as_model(model, batch_size=batch_size)
    return model, model.prepare(image)


def deletion(model, image, saliency, target, *, step=None, substrate=0.0, batch_size=None) -> Curve:
    """Remove the most salient pixels first, ``step`` at a time; lower AUC is better.

    Parameters
    ----------
    model : Keras model, callable or ModelAdapter (its ``preprocess`` applies)
    image : (H, W, C) array, as the explainers take it
    saliency : (H, W) map
    target : int
    step : int, keyword-only
        Pixels changed per point (default: the image width; RISE used 224 px at 224 x 224).
    substrate : float or (H, W, C) array, keyword-only
        What removed pixels become, in the model's input space (default 0).

    Returns
    -------
    Curve with H*W/step + 1 points; all forward passes batched.
    """
    model, x = _prepare(model, image, batch_size)
    finish = np.broadcast_to(np.asarray(substrate, np.float32), x.shape).astype(np.float32)
    return _curve(model, x, finish, saliency, target, x.shape[1] if step is None else step, "deletion")


def insertion(model, image, saliency, target, *, step=None, blur_sigma=5, batch_size=None) -> Curve:
    """Copy the most salient pixels into a blurred copy, ``step`` at a time; higher AUC is better.

    The start image is the input blurred with an 11 x 11 Gaussian of ``blur_sigma``
    (RISE's protocol). Arguments as in :func:`deletion`.
    """
    model, x = _prepare(model, image, batch_size)
    start = blur(x, blur_sigma).astype(np.float32)
    return _curve(model, start, x, saliency, target, x.shape[1] if step is None else step, "insertion")
