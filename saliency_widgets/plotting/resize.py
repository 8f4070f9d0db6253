"""Bringing an image file to the model's input size: resize to cover, then crop the centre."""
from __future__ import annotations

__all__ = ["fit_image"]


def fit_image(img, size: tuple[int, int]):
    """Resize a PIL image to cover ``size`` = (height, width), keeping its aspect, then crop the centre.

    Nothing is stretched: a wide photo loses its left and right edges, a tall one its top and bottom.
    """
    from PIL import Image
    h, w = size
    scale = max(w / img.width, h / img.height)
    new = (max(w, round(img.width * scale)), max(h, round(img.height * scale)))
    img = img.resize(new, Image.BILINEAR)
    left, top = (new[0] - w) // 2, (new[1] - h) // 2
    return img.crop((left, top, left + w, top + h))
