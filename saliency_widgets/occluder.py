"""What a masked (or deleted) pixel becomes: one setting shared by explainers and metrics.

An *occluder* is the value a pixel takes where a mask is 0.  A mask ``M`` in
[0, 1] is applied as ``fill + M * (x - fill)`` in the model's input space, so
``fill = 0`` is the plain product ``x * M`` of RISE's and the prototype's code.

In RISE's code and in the paper's prototype the model's input is normalised
(mean-subtracted), so 0 there *is* the dataset's mean colour.  For a model that
takes raw pixels (the demo model, :func:`~saliency_widgets.demo.load_imagenet_model`)
the same occluder is a mean colour, not black: blacking out a shape keeps its
silhouette, which is exactly what a shape classifier reads.

Accepted values (``occluder=`` of the perturbation explainers and metrics):

``"auto"`` (default)
    the model's declared fill (``mean_color`` of its declaration,
    :func:`saliency_widgets.models.declare`; ``load_imagenet_model`` declares
    the ImageNet mean, which is what the prototype's caffe-preprocessed masking
    produced), else the image's own mean colour.  With a ``preprocess=`` and no
    declared fill, masking happens in the preprocessed space and the fill is
    derived from the preprocess and stated in a warning: one that keeps pixel
    values (a crop) masks to the image's mean colour; one that normalises masks
    to its 0, as in the prototype (the warning names the pixel colour that is).
``"mean"``
    the image's mean colour (per channel).
``"zero"`` or ``0``
    0 in the model's input space (black for raw-pixel models).
``"blur"``
    a Gaussian-blurred copy of the image (sigma 5, 11 x 11: RISE's insertion start).
a number or a colour (length C)
    that value in the model's input space.

The resolved value is recorded in ``params`` as the string or list given.
"""
from __future__ import annotations

import numbers

import numpy as np

__all__ = ["OCCLUDERS", "check_occluder", "check_color", "resolve_occluder", "occluder_param", "blur"]

OCCLUDERS = ("auto", "mean", "zero", "blur")


def check_occluder(occluder):
    """Validate an ``occluder=`` setting (eagerly, at construction); return it normalised."""
    if isinstance(occluder, str):
        if occluder not in OCCLUDERS:
            raise ValueError(f"occluder must be one of {OCCLUDERS}, a number or a colour (one value per "
                             f"channel), got {occluder!r}")
        return occluder
    if isinstance(occluder, bool):
        raise TypeError(f"occluder must be one of {OCCLUDERS}, a number or a colour, got {occluder!r}")
    if isinstance(occluder, numbers.Real):
        if not np.isfinite(occluder):
            raise ValueError(f"occluder must be finite, got {occluder!r}")
        return float(occluder)
    return check_color(occluder, type_error=f"occluder must be one of {OCCLUDERS}, a number or a colour",
                       subject="an occluder colour")


def check_color(value, *, type_error: str, subject: str) -> tuple:
    """A colour (one finite number per channel) as a tuple of floats; the messages name the setting.

    ``type_error`` opens the TypeError for a value that is not numbers; ``subject`` names the colour in
    the ValueError for a value of the wrong shape or with non-finite entries.
    """
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{type_error}, got {value!r}") from None
    if arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)):
        raise ValueError(f"{subject} must be a 1-D list of finite values (one per channel), got {value!r}")
    return tuple(float(v) for v in arr)


def occluder_param(occluder):
    """The occluder as it is stored in JSON ``params``."""
    return list(occluder) if isinstance(occluder, tuple) else occluder


def resolve_occluder(x: np.ndarray, occluder, *, model=None) -> np.ndarray:
    """The fill image (H, W, C) float32 for image ``x`` (already in the model's input space).

    Parameters
    ----------
    x : (H, W, C) float array, the prepared image.
    occluder : see the module docstring.
    model : ModelAdapter or None, keyword-only
        Consulted by ``"auto"`` (``mean_color``, ``preprocess``).

    Examples
    --------
    >>> x = np.ones((4, 4, 3), np.float32); x[..., 0] = 3
    >>> resolve_occluder(x, "mean")[0, 0].tolist()
    [3.0, 1.0, 1.0]
    """
    x = np.asarray(x, np.float32)
    if x.ndim != 3:
        raise ValueError(f"resolve_occluder takes one prepared image (H, W, C), got shape {x.shape}")
    occluder = check_occluder(occluder)
    if occluder == "auto":
        occluder = _auto(model)
    if occluder == "mean":
        fill = np.broadcast_to(x.mean(axis=(0, 1), dtype=np.float64).astype(np.float32), x.shape)
    elif occluder == "zero":
        fill = np.zeros_like(x)
    elif occluder == "blur":
        fill = blur(x)
    else:
        color = np.asarray(occluder, np.float32)
        if color.ndim == 1 and color.size not in (1, x.shape[2]):
            raise ValueError(f"the occluder colour has {color.size} values but the image has {x.shape[2]} "
                             "channels")
        fill = np.broadcast_to(color, x.shape)
    return np.ascontiguousarray(fill, dtype=np.float32)


def _auto(model):
    """What "auto" is for ``model``: the adapter's own rule (its declared fill, or one derived and stated),
    else its ``mean_color``, else 0 with a ``preprocess``, else the image's mean colour."""
    if model is not None and hasattr(model, "auto_fill"):
        return model.auto_fill()
    color = getattr(model, "mean_color", None) if model is not None else None
    if color is not None:
        return tuple(float(v) for v in color)
    if model is not None and getattr(model, "preprocess", None) is not None:
        return "zero"
    return "mean"


def blur(image: np.ndarray, sigma: float = 5, kernel: int = 11) -> np.ndarray:
    """Gaussian blur per channel with a ``kernel``-wide window (RISE: 11 x 11, sigma 5).

    The ``"blur"`` occluder and insertion's start image (:func:`saliency_widgets.metrics.insertion`).
    """
    from scipy.ndimage import gaussian_filter
    radius = (kernel - 1) / 2
    return gaussian_filter(image, sigma=(sigma, sigma, 0), truncate=radius / sigma, mode="reflect")
