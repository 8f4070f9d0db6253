"""Images for people: saliency overlays, masks and boxes as uint8 RGB and PNG bytes."""
from __future__ import annotations

import functools
import io

import numpy as np

__all__ = ["to_rgb_uint8", "colorize", "overlay", "draw_box", "png_bytes", "upscale"]


def to_rgb_uint8(image) -> np.ndarray:
    """Show any image as (H, W, 3) uint8: uint8 as is, floats in [0, 1] or [0, 255] rescaled."""
    arr = np.asarray(image)
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    arr = arr[..., :3]
    if arr.dtype == np.uint8:
        return arr
    arr = arr.astype(np.float64)
    lo, hi = float(arr.min()), float(arr.max())
    if lo >= 0 and hi <= 1.0:
        arr = arr * 255
    elif lo < 0 or hi > 255:  # e.g. a preprocessed image in [-1, 1] or standardised
        arr = (arr - lo) / (hi - lo) * 255 if hi > lo else np.zeros_like(arr)
    return np.clip(np.round(arr), 0, 255).astype(np.uint8)


@functools.lru_cache(maxsize=16)
def _lut(cmap: str) -> np.ndarray:
    import matplotlib
    try:
        cm = matplotlib.colormaps[cmap]
    except KeyError:
        raise ValueError(f"unknown colormap {cmap!r}; try 'jet', 'viridis', 'inferno' or 'turbo'") from None
    return (cm(np.linspace(0, 1, 256))[:, :3] * 255).round().astype(np.uint8)


def colorize(saliency, cmap: str = "viridis") -> np.ndarray:
    """(H, W) map in [0, 1] -> (H, W, 3) uint8 through a matplotlib colormap."""
    sal = np.clip(np.nan_to_num(np.asarray(saliency, np.float64)), 0, 1)
    return _lut(cmap)[np.round(sal * 255).astype(np.uint8)]


def overlay(image, saliency, *, alpha: float = 0.5, cmap: str = "viridis") -> np.ndarray:
    """Blend the colourised map over the image: ``(1 - alpha) * image + alpha * heat``."""
    img = to_rgb_uint8(image).astype(np.float32)
    heat = colorize(saliency, cmap).astype(np.float32)
    if heat.shape[:2] != img.shape[:2]:
        raise ValueError(f"saliency {heat.shape[:2]} and image {img.shape[:2]} differ in size")
    return np.round((1 - alpha) * img + alpha * heat).astype(np.uint8)


def draw_box(image: np.ndarray, box, color=(0, 255, 0), width: int = 1) -> np.ndarray:
    """A copy of ``image`` with the box (x0, y0, x1, y1), x1/y1 exclusive, outlined."""
    out = np.array(image, copy=True)
    x0, y0, x1, y1 = (int(v) for v in box)
    for k in range(width):
        out[y0 + k, x0:x1] = color
        out[y1 - 1 - k, x0:x1] = color
        out[y0:y1, x0 + k] = color
        out[y0:y1, x1 - 1 - k] = color
    return out


def upscale(image: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour upscaling by an integer factor (crisp pixels for small images)."""
    if factor <= 1:
        return image
    return np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)


def png_bytes(image: np.ndarray) -> bytes:
    """Encode (H, W), (H, W, 3) or (H, W, 4) uint8 as PNG."""
    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray(np.asarray(image)).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()
