"""Insertion and deletion, RISE's causal metrics, batched through the model adapter.

Pixels are ranked by the map with :func:`~saliency_widgets.metrics.ranking.rank_order`
(higher first, ties in a seeded random order), so pass ``Explanation.raw``:
the AUCs are then invariant to any strictly increasing transform of the map and
every method is ranked by the same rule.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..models import as_model
import warnings

from ..occluder import blur, check_occluder, resolve_occluder
from ._checks import check_saliency
from .ranking import TIE_SEED, rank_order

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


def _curve(model, x_start, x_finish, saliency, target, step, name, tie_seed):
    """Scores along the path from x_start to x_finish (both in the model's input space)."""
    h, w, c = x_start.shape
    sal = check_saliency(saliency, (h, w))
    if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or step < 1:
        raise ValueError(f"step must be an integer >= 1 pixels, got {step!r}")
    n_pix = h * w
    order = rank_order(sal, tie_seed=tie_seed)
    n_steps = int(np.ceil(n_pix / step))
    counts = np.minimum(np.arange(n_steps + 1) * step, n_pix)
    scores = model.path_scores(x_start, x_finish, order, counts, target)
    fractions = counts / n_pix
    auc = float(np.trapezoid(scores, fractions) if hasattr(np, "trapezoid") else np.trapz(scores, fractions))
    return Curve(fractions, scores, auc, name)


def _prepare(model, image, batch_size):
    model = as_model(model, batch_size=batch_size)
    return model, model.prepare(image)


def deletion(model, image, saliency, target, *, step=None, occluder="auto", substrate=None, batch_size=None,
             tie_seed=TIE_SEED) -> Curve:
    """Replace the most salient pixels by the occluder first, ``step`` at a time; lower AUC is better.

    Parameters
    ----------
    model : Keras model, callable or ModelAdapter (its ``preprocess`` applies)
    image : (H, W, C) array, as the explainers take it
    saliency : (H, W) map; pass ``Explanation.raw`` (ranked, ties in a seeded random order)
    target : int
    step : int, keyword-only
        Pixels changed per point (default: the image width; RISE used 224 px at 224 x 224).
    occluder : keyword-only
        What deleted pixels become (see :mod:`saliency_widgets.occluder`).  The
        default ``"auto"`` is the model's declared mean colour, else the image's
        mean colour: what RISE's 0 in a normalised input is.  Deleting to black
        on a raw-pixel model leaves the object's silhouette, and a perfect map
        then loses to a random one (see :func:`~.sanity.sanity_check`).
    substrate : float or array, keyword-only
        Deprecated alias of ``occluder`` (a value in the model's input space).
    tie_seed : keyword-only
        Seed of the random order among equal map values.

    Returns
    -------
    Curve with ceil(H*W/step) + 1 points; all forward passes batched.
    """
    if substrate is not None:
        warnings.warn("deletion(substrate=) is renamed occluder=", DeprecationWarning, stacklevel=2)
        occluder = substrate
    model, x = _prepare(model, image, batch_size)
    if isinstance(occluder, np.ndarray) and occluder.ndim == 3:
        finish = np.broadcast_to(np.asarray(occluder, np.float32), x.shape).astype(np.float32)
    else:
        finish = resolve_occluder(x, check_occluder(occluder), model=model)
    curve = _curve(model, x, finish, saliency, target, x.shape[1] if step is None else step, "deletion", tie_seed)
    return curve


def insertion(model, image, saliency, target, *, step=None, blur_sigma=5, batch_size=None,
              tie_seed=TIE_SEED) -> Curve:
    """Copy the most salient pixels into a blurred copy, ``step`` at a time; higher AUC is better.

    The start image is the input blurred with an 11 x 11 Gaussian of ``blur_sigma``
    (RISE's protocol). Arguments as in :func:`deletion`.
    """
    model, x = _prepare(model, image, batch_size)
    start = blur(x, blur_sigma).astype(np.float32)
    return _curve(model, start, x, saliency, target, x.shape[1] if step is None else step, "insertion", tie_seed)
