"""What a user hands the widget: uploaded image files and ground truth that belongs to a class."""
from __future__ import annotations

import io

import numpy as np

from ..metrics._checks import truth_mask
from ..plotting.resize import fit_image

__all__ = ["image_from_bytes", "fit_image", "labelled_truth"]


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
        The bytes are not an image Pillow can read (the message names the file and what was expected).
    """
    from PIL import Image, UnidentifiedImageError
    try:
        img = Image.open(io.BytesIO(bytes(data)))
        img.load()
    except UnidentifiedImageError:
        raise ValueError(f"{name} is not an image: expected a PNG or JPEG file") from None
    except (OSError, ValueError) as exc:  # a truncated or corrupt image file
        raise ValueError(f"{name} is not an image that can be read: expected a PNG or JPEG file "
                         f"({type(exc).__name__}: {exc})") from None
    img = fit_image(img.convert("L" if channels == 1 else "RGB"), size)
    arr = np.asarray(img, np.uint8)
    return arr[..., None] if channels == 1 and arr.ndim == 2 else arr


def labelled_truth(truth, shape: tuple[int, int], labels) -> dict[int, np.ndarray]:
    """Ground truth per class: ``{class index: (H, W) bool mask}``.

    Parameters
    ----------
    truth : None, ``{class: box, list of boxes or (H, W) mask}`` (class as index or name), or a list
        of labelled objects (each with ``.label`` and ``.mask`` or ``.box``, e.g. a demo scene's
        ``objects``); several objects of one class are their union.
    shape : (H, W) of the image
    labels : the model's class names

    Raises
    ------
    ValueError
        For truth without a class (a bare box or mask): a map answers a question about one class, so
        truth must say which.
    """
    if truth is None:
        return {}
    names = {str(n): i for i, n in enumerate(labels)}

    def index(key):
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
            if not 0 <= key < len(labels):
                raise ValueError(f"truth for class {key}: out of range, the model has {len(labels)} classes")
            return int(key)
        if str(key) in names:
            return names[str(key)]
        raise ValueError(f"truth names class {key!r}, which is neither a class index nor one of the class names")

    out: dict[int, np.ndarray] = {}
    if isinstance(truth, dict):
        for key, value in truth.items():
            k = index(key)
            out[k] = out.get(k, np.zeros(shape, bool)) | truth_mask(value, shape)
        return out
    items = list(truth) if isinstance(truth, (list, tuple)) else None
    if items and all(hasattr(o, "label") and (hasattr(o, "mask") or hasattr(o, "box")) for o in items):
        for o in items:
            k = index(o.label)
            m = getattr(o, "mask", None)
            m = truth_mask(o.box if m is None else m, shape)
            out[k] = out.get(k, np.zeros(shape, bool)) | m
        return out
    raise ValueError("truth must say which class it belongs to: pass {class: box, boxes or mask} "
                     "(class as index or name) or a list of labelled objects (e.g. scene.objects[i]); "
                     f"got {type(truth).__name__}")
