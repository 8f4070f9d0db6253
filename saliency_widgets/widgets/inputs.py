"""What a user hands the widget: uploaded image files and ground truth that belongs to a class."""
from __future__ import annotations

import numpy as np

from ..plotting.resize import fit_image
from ..truth import objects_of, truth_by_class

__all__ = ["image_from_bytes", "fit_image", "labelled_objects", "labelled_truth"]


def image_from_bytes(data: bytes, size: tuple[int, int], *, channels: int = 3, name: str = "the file") -> np.ndarray:
    """Decode a PNG/JPEG file's bytes into a (H, W, C) uint8 image of the model's input size.

    Parameters
    ----------
    data : bytes, the file's content
    size : (height, width) the image must have (the model's input size)
    channels : 1 or 3, keyword-only
    name : str, keyword-only, the file's name for messages

    Raises
    ------
    ValueError
        The bytes are not an image Pillow can read (the message names the file and what was expected);
        :class:`~saliency_widgets.images.ImageTooLargeError` (a ValueError) when the header claims more
        pixels than :data:`saliency_widgets.images.MAX_PIXELS` (nothing is decoded then).
    """
    from ..images import load_image
    arr = load_image(bytes(data), size=size, mode="L" if channels == 1 else "RGB", name=name)  # limit checked
    return arr[..., None] if channels == 1 and arr.ndim == 2 else arr


def labelled_objects(truth, shape: tuple[int, int], labels) -> list[dict]:
    """Ground truth as a list of objects ``{"label": class index, "box": box or None, "mask": mask or None}``.

    Class names are resolved to indices and nothing is merged, so the session scores each object as
    :func:`~saliency_widgets.evaluate` does (see :func:`saliency_widgets.truth.truth_by_class`).

    Parameters
    ----------
    truth : None, ``{class: mask, box or list of them}`` (class as index or name; each mask or box is
        one object), or a list of labelled objects: each with ``.label`` and ``.mask`` and/or ``.box``
        (e.g. a demo scene's ``objects``), a dict with "label", "box", "mask", or a ``(label, box or
        mask)`` pair
    shape : (H, W) of the image
    labels : the model's class names

    Raises
    ------
    ValueError
        For truth without a class (a bare box or mask): a map answers a question about one class, so
        truth must say which; for a class that is neither an index in range nor a name; for a mask or
        box that does not fit the image.
    """
    if truth is None:
        return []
    names = {str(n): i for i, n in enumerate(labels)}

    def index(key):
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
            if not 0 <= key < len(labels):
                raise ValueError(f"truth for class {key}: out of range, the model has {len(labels)} classes")
            return int(key)
        if str(key) in names:
            return names[str(key)]
        raise ValueError(f"truth names class {key!r}, which is neither a class index nor one of the class names")

    out: list[dict] = []
    if isinstance(truth, dict):
        for key, value in truth.items():
            k = index(key)
            out += [{"label": k, "box": box, "mask": mask} for box, mask in objects_of(value, k, shape)]
    else:
        items = list(truth) if isinstance(truth, (list, tuple)) else None
        if not items or not all(_labelled(o) for o in items):
            raise ValueError("truth must say which class it belongs to: pass {class: box, boxes or mask} "
                             "(class as index or name) or a list of labelled objects (e.g. scene.objects[i]); "
                             f"got {type(truth).__name__}")
        for o in items:
            if hasattr(o, "label"):
                out.append({"label": index(o.label), "box": getattr(o, "box", None), "mask": getattr(o, "mask", None)})
            elif isinstance(o, dict):
                out.append({"label": index(o["label"]), "box": o.get("box"), "mask": o.get("mask")})
            else:
                k = index(o[0])
                out += [{"label": k, "box": box, "mask": mask} for box, mask in objects_of(o[1], k, shape)]
    truth_by_class(out, shape)  # every object checked now (shape, emptiness, inside the image), not at a run
    return out


def _labelled(o) -> bool:
    if hasattr(o, "label"):
        return hasattr(o, "mask") or hasattr(o, "box")
    if isinstance(o, dict):
        return "label" in o and ("mask" in o or "box" in o)
    return isinstance(o, tuple) and len(o) == 2 and isinstance(o[0], (str, int, np.integer))


def labelled_truth(truth, shape: tuple[int, int], labels) -> dict[int, np.ndarray]:
    """Ground truth per class: ``{class index: (H, W) bool mask}``, the union of the class's objects.

    ``truth``, ``shape``, ``labels`` and the errors are those of :func:`labelled_objects`.
    """
    return {c: mask for c, (mask, _) in truth_by_class(labelled_objects(truth, shape, labels), shape).items()}
