"""Insertion and deletion, RISE's causal metrics, batched through the model adapter.

Pixels are ranked by the map with :func:`~saliency_widgets.metrics.ranking.rank_order`
(higher first, ties in a seeded random order), so pass ``Explanation.raw``:
the AUCs are then invariant to any strictly increasing transform of the map and
every method is ranked by the same rule.

Two protocols (``protocol=``), named in every curve and table label:

``"rise"`` (default: the protocol of RISE, Petsiuk et al. 2018, as its code runs it)
    ``CausalMetric`` and ``gkern`` in eclique/RISE, ``evaluation.py``: the blur
    kernel is ``gkern(11, 5)`` -- scipy's ``gaussian_filter`` of an 11 x 11
    Dirac with sigma 5 (reflecting at the kernel's edge, so the kernel is nearly
    flat) -- applied with *zero* padding (``conv2d(..., padding=5)``); the AUC
    is ``(sum(s) - s[0]/2 - s[-1]/2) / (len(s) - 1)``, i.e. the points are taken
    as equally spaced even when ``step`` does not divide H*W.  RISE's inputs are
    normalised, so its 0 -- the padding of the blur and the deletion substrate
    ``torch.zeros_like`` -- is the dataset's mean colour.  Here both are the
    occluder (``occluder="auto"``: the model's declared mean colour, which is 0
    after the normalisation of a model that normalises inside, such as
    EfficientNet-Lite0's 127; else the image's mean colour), so RISE's intent
    holds for models that take raw pixels; ``occluder=0`` is RISE's literal
    zeros in the model's own input space.
``"gauss-reflect"`` (this package's earlier protocol)
    insertion starts from a true Gaussian blur (sigma 5, truncated to an
    11 x 11 window) with *reflected* borders; the AUC is the trapezoid rule over
    the fraction of pixels changed (the last step may change fewer pixels, and
    is given its true, shorter width).  Deletion is the same in both protocols
    except for that AUC formula.

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

__all__ = ["Curve", "insertion", "deletion", "blur", "rise_blur", "rise_kernel", "PROTOCOLS", "PROTOCOL",
           "protocol_text", "check_protocol"]

#: ``protocol=`` values of :func:`insertion` and :func:`deletion` (see the module docstring)
PROTOCOLS = ("rise", "gauss-reflect")
#: the default everywhere (metrics, ``evaluate``, the CLI, ``reproduce``, the widget, the sanity check)
PROTOCOL = "rise"


def protocol_text(protocol: str, metric: str = "insertion") -> str:
    """How tables and figures name the protocol that made an AUC."""
    _check_protocol(protocol)
    if protocol == "rise":
        return ("RISE's protocol: gkern(11, 5) blur padded with the occluder, RISE's AUC" if metric == "insertion"
                else "RISE's protocol: RISE's AUC")
    return ("gauss-reflect: Gaussian blur with reflected borders, trapezoid AUC" if metric == "insertion"
            else "gauss-reflect: trapezoid AUC")


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


def rise_blur(image: np.ndarray, klen: int = 11, nsig: float = 5, *, pad=0.0) -> np.ndarray:
    """RISE's insertion start: each channel correlated with :func:`rise_kernel` with constant padding
    (``torch.nn.functional.conv2d(x, gkern(11, 5), padding=5)``: ``pad=0``), float32 like RISE's.

    ``pad``: a number, or one per channel (the colour that is RISE's normalised 0 in this input space)."""
    x = np.asarray(image, np.float32)
    k = rise_kernel(klen, nsig)
    pads = np.broadcast_to(np.asarray(pad, np.float64), (x.shape[2],))
    out = np.stack([correlate(x[..., ch], k, mode="constant", cval=float(pads[ch])) for ch in range(x.shape[2])],
                   axis=-1)
    return out.astype(np.float32)


def _constant_colour(fill: np.ndarray):
    """The per-channel colour of a one-colour fill image (RISE's padding); a fill that varies is refused."""
    colour = fill.reshape(-1, fill.shape[-1])[0]
    if not np.allclose(fill, colour):
        raise ValueError("RISE's protocol pads the blur with one colour (RISE's normalised 0): the occluder must be "
                         "a colour ('auto', 'mean', 'zero' or numbers), not an image such as 'blur'")
    return colour


def check_protocol(protocol):
    """``protocol`` if it is one of :data:`PROTOCOLS`, else a ValueError naming them."""
    return _check_protocol(protocol)


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
             tie_seed=TIE_SEED, protocol=PROTOCOL) -> Curve:
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
    protocol : {"rise", "gauss-reflect"}, keyword-only
        The AUC formula (see the module docstring): RISE's equally spaced points
        (default), or the trapezoid over the true fractions.  ``Curve.name`` names it.

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


def insertion(model, image, saliency, target, *, step=None, blur_sigma=5, occluder="auto", batch_size=None,
              tie_seed=TIE_SEED, protocol=PROTOCOL) -> Curve:
    """Copy the most salient pixels into a blurred copy, ``step`` at a time; higher AUC is better.

    ``protocol="rise"`` (default): RISE's code, ``gkern(11, blur_sigma)`` padded with the occluder's colour
    (RISE's normalised 0; ``occluder=0``: literal zeros, :func:`rise_blur`) and RISE's AUC formula (see the
    module docstring).  ``protocol="gauss-reflect"``: the start image is the input blurred with a Gaussian
    of ``blur_sigma`` truncated to 11 x 11, reflected borders (:func:`blur`; the occluder is not used), AUC by
    the trapezoid over the fractions changed.  Other arguments as in :func:`deletion`.

    Examples
    --------
    >>> from saliency_widgets.metrics import insertion
    >>> model = lambda x: np.stack([x.mean(axis=(1, 2, 3)) / 255, 1 - x.mean(axis=(1, 2, 3)) / 255], 1)
    >>> image = np.full((8, 8, 3), 200.0)
    >>> insertion(model, image, np.ones((8, 8)), 0, step=8).name
    'insertion (rise)'
    """
    _check_protocol(protocol)
    model, x = _prepare(model, image, batch_size)
    if protocol == "rise":
        pad = _constant_colour(resolve_occluder(x, check_occluder(occluder), model=model))
        start = rise_blur(x, 11, blur_sigma, pad=pad)
    else:
        start = blur(x, blur_sigma).astype(np.float32)
    return _curve(model, start, x, saliency, target, x.shape[1] if step is None else step, "insertion", tie_seed,
                  protocol)
