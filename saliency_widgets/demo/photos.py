"""Real photographs bundled with scikit-image, at 224 x 224, for ImageNet models."""
from __future__ import annotations

import numpy as np

__all__ = ["sample_images"]

_PHOTOS = {"cat": "chelsea", "coffee": "coffee", "rocket": "rocket", "motorcycle": "stereo_motorcycle",
           "astronaut": "astronaut"}


def sample_images(size: int = 224) -> dict[str, np.ndarray]:
    """A few real photos (centre-cropped square, resized), as {name: (size, size, 3) uint8}.

    They ship inside scikit-image, so this works offline.
    """
    from skimage import data
    from skimage.transform import resize

    out = {}
    for name, fn in _PHOTOS.items():
        img = getattr(data, fn)()
        if isinstance(img, tuple):  # stereo_motorcycle: (left, right, disparity)
            img = img[0]
        img = np.asarray(img)[..., :3]
        h, w = img.shape[:2]
        side = min(h, w)
        y, x = (h - side) // 2, (w - side) // 2
        crop = img[y:y + side, x:x + side]
        out[name] = (resize(crop, (size, size), anti_aliasing=True) * 255).round().astype(np.uint8)
    return out
