"""Insertion and deletion, RISE's causal metrics, batched through the model adapter.

Pixels are ranked by the map with :func:`~saliency_widgets.metrics.ranking.rank_order`
(higher first, ties in a seeded random order), so pass ``Explanation.raw``:
the AUCs are then invariant to any strictly increasing transform of the map and
every method is ranked by the same rule.

Two protocols (``protocol=``), named in every curve and table label:

``"gauss-reflect"`` (default, this package's since its first release)
    insertion starts from a true Gaussian blur (sigma 5, truncated to an
    11 x 11 window) with *reflected* borders; the AUC is the trapezoid rule over
    the fraction of pixels changed (the last step may change fewer pixels, and
    is given its true, shorter width).
``"rise"``
    as RISE's code has it (``CausalMetric`` and ``gkern`` in eclique/RISE,
    ``evaluation.py``): the blur kernel is ``gkern(11, 5)`` -- scipy's
    ``gaussian_filter`` of an 11 x 11 Dirac with sigma 5 (reflecting at the
    kernel's edge, so the kernel is nearly flat) -- applied with *zero* padding
    (``conv2d(..., padding=5)``, 0 in the model's input space: RISE's normalised
    0 is the mean colour, a raw-pixel model's 0 is black); the AUC is
    ``(sum(s) - s[0]/2 - s[-1]/2) / (len(s) - 1)``, i.e. the points are taken as
    equally spaced even when ``step`` does not divide H*W.  Deletion is the same
    in both protocols except for that AUC formula (RISE's deletion substrate is
    ``torch.zeros_like``: pass ``occluder=0`` for it).

Both use ``ceil(H*W / step)`` steps, the last one changing the remaining pixels,
and the same pixel order (``rank_order``; RISE's own order is
``flip(argsort(map))``, equal to it when the map has no ties).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import correlate, gaussian_filter

from ..models import as_model

from ..occluder import blur, check_occluder, resolve_occluder
from ._checks import check_saliency
from .ranking import TIE_SEED, rank_order

__all__ = ["Curve", "insertion", "deletion", "blur", "rise_blur", "rise_kernel", "PROTOCOLS"]

#: ``protocol=`` values of :func:`insertion` and :func:`deletion` (see the module docstring)
PROTOCOLS = ("gauss-reflect", "rise")


@dataclass
class Curve:
    """Target probability against the fraction of pixels changed, and its area."""

    fractions: np.ndarray
    scores: np.ndarray
    auc: float
    name: str = ""

    def __repr__(self) -> str:
        return f"Curve({self.name or 'curve'}, {len(self.fractions)} points, auc={self.auc:.4f})"


def rise_kernel(klen: int = 11, nsig: float = 5) -> np.ndarray:
    """RISE's ``gkern(klen, nsig)``: ``gaussian_filter`` of a ``klen`` x ``klen`` Dirac (scipy's default
    reflecting mode, so mass beyond the window folds back in), as a (klen, klen) float32 array summing to 1."""
    delta = np.zeros((klen, klen))
    delta[klen // 2, klen // 2] = 1
    return gaussian_filter(delta, nsig).astype(np.float32)


def rise_blur(image: np.ndarray, klen: int = 11, nsig: float = 5) -> np.ndarray:
    """RISE's insertion start: each channel correlated with :func:`rise_kernel` and zero padding
    (``torch.nn.functional.conv2d(x, gkern(11, 5), padding=5)``), float32 like RISE's."""
    x = np.asarray(image, np.float32)
    k = rise_kernel(klen, nsig)
    out = np.stack([correlate(x[..., ch], k, mode="constant", cval=0.0) for ch in range(x.shape[2])], axis=-1)
    return out.astype(np.float32)


def _check_protocol(protocol):
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}")
    return protocol


def _auc(scores, fractions, protocol):
    if protocol == "rise":  # RISE's auc(): equally spaced points whatever the last step's width
        return float((scores.sum() - scores[0] / 2 - scores[-1] / 2) / (scores.shape[0] - 1))
    return float(np.trapezoid(scores, fractions) if hasattr(np, "trapezoid") else np.trapz(scores, fractions))


def _curve(model, x_start, x_finish, saliency, target, step, name, tie_seed, protocol="gauss-reflect"):
    """Scores along the path from x_start to x_finish (both in the model's input space)."""
    h, w, c = x_start.shape
    sal = check_saliency(saliency, (h, w))
    if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or step < 1:
        raise ValueError(f"step must be an integer >= 1 pixels, got {step!r}")
    n_pix = h * w
    order = rank_order(sal, tie_seed=tie_seed)
    n_steps = (n_pix + step - 1) // step  # RISE's count, in integers
    counts = np.minimum(np.arange(n_steps + 1) * step, n_pix)
    scores = model.path_scores(x_start, x_finish, order, counts, target)
    fractions = counts / n_pix
    return Curve(fractions, scores, _auc(scores, fractions, protocol), f"{name} ({protocol})")


def _prepare(model, image, batch_size):
    model = as_model(model, batch_size=batch_size)
    return model, model.prepare(image)


def deletion(model, image, saliency, target, *, step=None, occluder="auto", batch_size=None,
             tie_seed=TIE_SEED, protocol="gauss-reflect") -> Curve:
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
    tie_seed : keyword-only
        Seed of the random order among equal map values.
    protocol : {"gauss-reflect", "rise"}, keyword-only
        The AUC formula (see the module docstring): the trapezoid over the true
        fractions, or RISE's equally spaced points.  ``Curve.name`` names it.

    Returns
    -------
    Curve with ceil(H*W/step) + 1 points; all forward passes batched.
    """
    _check_protocol(protocol)
    model, x = _prepare(model, image, batch_size)
    if isinstance(occluder, np.ndarray) and occluder.ndim == 3:
        finish = np.broadcast_to(np.asarray(occluder, np.float32), x.shape).astype(np.float32)
    else:
        finish = resolve_occluder(x, check_occluder(occluder), model=model)
    return _curve(model, x, finish, saliency, target, x.shape[1] if step is None else step, "deletion", tie_seed,
                  protocol)


def insertion(model, image, saliency, target, *, step=None, blur_sigma=5, batch_size=None,
              tie_seed=TIE_SEED, protocol="gauss-reflect") -> Curve:
    """Copy the most salient pixels into a blurred copy, ``step`` at a time; higher AUC is better.

    ``protocol="gauss-reflect"`` (default): the start image is the input blurred
    with a Gaussian of ``blur_sigma`` truncated to 11 x 11, reflected borders
    (:func:`blur`), AUC by the trapezoid over the fractions changed.
    ``protocol="rise"``: RISE's code, ``gkern(11, blur_sigma)`` with zero padding
    (:func:`rise_blur`) and RISE's AUC formula (see the module docstring).
    Other arguments as in :func:`deletion`.
    """
    _check_protocol(protocol)
    model, x = _prepare(model, image, batch_size)
    start = (rise_blur(x, 11, blur_sigma) if protocol == "rise" else blur(x, blur_sigma)).astype(np.float32)
    return _curve(model, start, x, saliency, target, x.shape[1] if step is None else step, "insertion", tie_seed,
                  protocol)
