"""Ground truth: boxes, masks and per-class unions, parsed in one place.

Every consumer of ground truth reads it through this module: the metrics (a mask, a
box or a list of boxes), :func:`~saliency_widgets.evaluate` and its in-memory images
(a list of labelled objects per image), the datasets (annotations grouped by class),
the session and the widget (``{class: mask, box or list of them}``).  So one object
is read the same way whichever front end it comes through, and the per-class union
(TorchRay's pointing-game truth) is built by one function, :func:`by_class`.

Forms
-----
box
    ``(x0, y0, x1, y1)`` in pixels, x1 and y1 exclusive.
mask
    an (H, W) array, nonzero on the object.
object
    ``(label, box or None, mask or None)`` once parsed (:func:`as_objects`); given as a
    ``SceneObject`` (anything with ``.label`` and ``.box`` / ``.mask``), a dict with
    "label", "box", "mask", or a ``(label, box)`` / ``(label, mask)`` pair.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

__all__ = ["is_box", "check_box", "box_of", "truth_mask", "as_objects", "by_class", "objects_of",
           "truth_by_class", "class_union"]


def is_box(value) -> bool:
    """True when ``value`` is one box: four scalars."""
    arr = np.asarray(value, dtype=object)
    return arr.ndim == 1 and arr.shape[0] == 4 and all(np.isscalar(v) for v in arr)


def check_box(box, shape) -> tuple[int, int, int, int]:
    """``box`` as four ints, checked to be non-empty and inside an image of ``shape`` (H, W)."""
    try:
        x0, y0, x1, y1 = (int(round(float(v))) for v in box)
    except (TypeError, ValueError):
        raise TypeError(f"a box must be (x0, y0, x1, y1), got {box!r}") from None
    h, w = shape
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"box {tuple(box)} is empty: need x1 > x0 and y1 > y0 (x1, y1 exclusive)")
    if x0 < 0 or y0 < 0 or x1 > w or y1 > h:
        raise ValueError(f"box {tuple(box)} lies outside the {h}x{w} image: need 0 <= x0 < x1 <= {w} "
                         f"and 0 <= y0 < y1 <= {h}")
    return x0, y0, x1, y1


def box_of(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """The box around the nonzero pixels of ``mask``; None for an empty mask."""
    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        return None
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def truth_mask(truth, shape) -> np.ndarray:
    """A boolean (H, W) mask from a mask, one box, or a list of boxes (their union)."""
    arr = np.asarray(truth) if not isinstance(truth, (list, tuple)) else None
    if arr is not None and arr.ndim == 2:
        if arr.shape != tuple(shape):
            raise ValueError(f"truth mask has shape {arr.shape} but the saliency map is {tuple(shape)}")
        mask = arr.astype(bool)
    else:
        boxes = [truth] if is_box(truth) else list(truth)
        if not boxes:
            raise ValueError("truth is an empty list of boxes")
        mask = np.zeros(shape, bool)
        for box in boxes:
            x0, y0, x1, y1 = check_box(box, shape)
            mask[y0:y1, x0:x1] = True
    if not mask.any():
        raise ValueError("the truth mask is empty: it marks no pixel")
    return mask


def as_objects(truth) -> list[tuple]:
    """One image's truth as a list of ``(label, box or None, mask or None)``.

    ``truth`` is None, one labelled object or a list of them (see the module docstring).
    """
    if truth is None:
        return []
    if hasattr(truth, "label") or isinstance(truth, dict) or (
            isinstance(truth, tuple) and len(truth) in (2, 3) and np.isscalar(truth[0])):
        truth = [truth]
    out = []
    for obj in truth:
        if hasattr(obj, "label"):
            out.append((int(obj.label), getattr(obj, "box", None), getattr(obj, "mask", None)))
        elif isinstance(obj, dict):
            out.append((int(obj["label"]), obj.get("box"), obj.get("mask")))
        else:
            label, where = obj[0], obj[1]
            arr = np.asarray(where)
            out.append((int(label), None, arr) if arr.ndim == 2 else (int(label), tuple(where), None))
    return out


def by_class(objects, shape) -> dict[int, tuple[np.ndarray, list]]:
    """``{label: (union mask (H, W) bool, [boxes])}``: all instances of a class together (TorchRay).

    ``objects`` are ``(label, box or None, mask or None)``; an object with a mask is its mask
    (its box, when given, is kept as its box), an object with only a box is the box's pixels.
    """
    out = {}
    for label, box, mask in objects:
        if mask is not None:
            m = np.asarray(mask, bool)
            if m.shape != tuple(shape):
                raise ValueError(f"an object mask has shape {m.shape} but the image is {tuple(shape)}")
        elif box is not None:
            x0, y0, x1, y1 = check_box(box, shape)
            m = np.zeros(shape, bool)
            m[y0:y1, x0:x1] = True
        else:
            raise ValueError(f"object of class {label} has neither a box nor a mask")
        b = tuple(box) if box is not None else box_of(m)
        if b is None:
            raise ValueError(f"object of class {label} has an empty mask")
        union, boxes = out.get(label, (np.zeros(shape, bool), []))
        out[label] = (union | m, boxes + [b])
    return out


def truth_by_class(truth, shape) -> dict[int, tuple[np.ndarray, list]]:
    """Ground truth per class as evaluate() scores it: ``{class: (union mask (H, W) bool, [object boxes])}``.

    Pointing reads the union of a class's objects; box IoU is the best IoU over the class's object
    boxes (evaluate()'s rule, CAM's localisation protocol). An object is exactly what it is given as:
    no mask is split into connected components (evaluate() does not split either), so two objects of
    one class scored apart must be given as two masks or boxes.

    Parameters
    ----------
    truth : None, mapping or sequence
        ``{class index: value}`` where value is one object (an (H, W) mask or a box (x0, y0, x1, y1),
        x1/y1 exclusive), a list of objects (masks and/or boxes), or an (N, H, W) array of N object
        masks; or evaluate()'s list of objects for one image (``SceneObject``s, ``(label, box)`` /
        ``(label, mask)`` pairs, dicts with "label", "box", "mask"), scored the same way.
    shape : (H, W) of the map

    Raises
    ------
    ValueError
        A class that is not an integer, a mask of another shape, an empty mask, a box outside the
        image, or a value that is neither a mask, a box nor a list of them.
    """
    if truth is None:
        return {}
    if isinstance(truth, Mapping):
        objects = []
        for label, value in truth.items():
            if isinstance(label, bool) or not isinstance(label, (int, np.integer)):
                raise ValueError(f"truth is keyed by class index (an integer), got the key {label!r}")
            objects += [(int(label), box, mask) for box, mask in objects_of(value, int(label), shape)]
    elif isinstance(truth, (list, tuple)):
        objects = as_objects(list(truth))
    else:
        raise ValueError(f"truth must be {{class index: mask, box or list of them}} or a list of labelled "
                         f"objects, got {type(truth).__name__}")
    return by_class(objects, tuple(shape))


def objects_of(value, label: int, shape) -> list:
    """[(box or None, mask or None)]: the objects one class's truth value holds, for images of ``shape`` (H, W).

    A value is a box (x0, y0, x1, y1), an (H, W) mask (an array or nested lists), (N, H, W) masks,
    (N, 4) boxes, or a list of masks and boxes.
    """
    shape = tuple(shape)
    if is_box(value):
        return [(tuple(value), None)]
    if isinstance(value, (list, tuple)):
        items = list(value)
        if not items:
            raise ValueError(f"truth for class {label} is an empty list: give at least one mask or box")
        if not all(is_box(item) or np.ndim(item) == 2 for item in items):
            arr = np.asarray(value) if all(isinstance(i, (list, tuple)) for i in items) else None
            if arr is not None and arr.shape == shape and arr.dtype.kind in "biuf":
                items = [arr]  # one (H, W) mask written as nested lists
    else:
        items = _array_items(value, label, shape)
    out = []
    for item in items:
        if is_box(item):
            out.append((tuple(item), None))
            continue
        arr = np.asarray(item)
        if arr.ndim != 2 or arr.dtype.kind not in "biuf":
            raise ValueError(f"truth for class {label}: each object must be an (H, W) = {shape} mask or a box "
                             f"(x0, y0, x1, y1), got {item!r:.80}")
        out.append((None, arr))
    return out


def _array_items(value, label, shape) -> list:
    """The objects of an array value: one (H, W) mask, (N, H, W) masks or (N, 4) boxes."""
    arr = np.asarray(value)
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"truth for class {label} must be an (H, W) mask, a box (x0, y0, x1, y1) or a "
                         f"list of them, got {value!r:.80}")
    if arr.ndim == 2 and arr.shape != shape and arr.shape[1] == 4 and arr.dtype.kind != "b":
        return [tuple(b) for b in arr]  # (N, 4) boxes
    if arr.ndim in (2, 3):
        return [arr] if arr.ndim == 2 else list(arr)
    raise ValueError(f"truth for class {label} must be an (H, W) = {shape} mask, (N, H, W) object masks "
                     f"or (N, 4) boxes, got an array of shape {arr.shape}")


def class_union(objects, label) -> np.ndarray | None:
    """The union of the masks of every object of class ``label`` (TorchRay's truth); None when there is none."""
    masks = [mask for lab, _, mask in as_objects(list(objects)) if lab == label and mask is not None]
    return np.logical_or.reduce([np.asarray(m, bool) for m in masks]) if masks else None
