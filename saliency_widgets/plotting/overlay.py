"""Images for people: saliency overlays, masks and boxes as uint8 RGB and PNG bytes."""
from __future__ import annotations

import functools
import io

import numpy as np

__all__ = ["to_rgb_uint8", "colorize", "overlay", "overlay_region", "draw_box", "png_bytes", "write_png",
           "upscale", "STRIP_ROWS"]


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


#: rows blended at a time: a full-size overlay never holds a float copy of the whole image
STRIP_ROWS = 256


def overlay(image, saliency, *, alpha: float = 0.5, cmap: str = "viridis", out=None) -> np.ndarray:
    """Blend the colourised map over the image: ``(1 - alpha) * image + alpha * heat``, as (H, W, 3) uint8.

    Computed :data:`STRIP_ROWS` rows at a time (float32 per strip only), so a 49-megapixel image costs its
    uint8 result and no more; ``out`` (an (H, W, 3) uint8 array, e.g. the image itself) receives it.
    """
    sal = np.asarray(saliency)
    rgb = to_rgb_uint8(image)
    if sal.shape[:2] != rgb.shape[:2]:
        raise ValueError(f"saliency {sal.shape[:2]} and image {rgb.shape[:2]} differ in size")
    result = np.empty(rgb.shape, np.uint8) if out is None else out
    for y in range(0, rgb.shape[0], STRIP_ROWS):
        heat = colorize(sal[y:y + STRIP_ROWS], cmap).astype(np.float32)
        img = rgb[y:y + STRIP_ROWS].astype(np.float32)
        result[y:y + STRIP_ROWS] = np.round((1 - alpha) * img + alpha * heat).astype(np.uint8)
    return result


def overlay_region(image, saliency, region, *, alpha: float = 0.5, cmap: str = "viridis") -> np.ndarray:
    """Draw ``saliency`` over the part ``region`` = (left, top, right, bottom) of ``image`` (H, W, 3) uint8,
    **in place** (bilinear, in strips: no full-size float copy), and return the image.  Outside the region
    the image is left as it is (the map says nothing there); ``region`` None: the whole image."""
    h, w = image.shape[:2]
    if region is None:
        region = (0, 0, w, h)
    x0, y0 = int(round(region[0])), int(round(region[1]))
    x1, y1 = max(x0 + 1, min(w, int(round(region[2])))), max(y0 + 1, min(h, int(round(region[3]))))
    sal = np.clip(np.asarray(saliency, np.float32), 0, 1)
    cols = _linear_taps(sal.shape[1], x1 - x0)
    for y in range(y0, y1, STRIP_ROWS):
        rows = _linear_taps(sal.shape[0], y1 - y0, start=y - y0, stop=min(y1, y + STRIP_ROWS) - y0)
        strip = _resample(sal, rows, cols)
        overlay(image[y:y + strip.shape[0], x0:x1], strip, alpha=alpha, cmap=cmap,
                out=image[y:y + strip.shape[0], x0:x1])
    return image


def _linear_taps(n_in: int, n_out: int, *, start: int = 0, stop: int | None = None):
    """(low index, high index, weight of high) of output samples ``start:stop`` of a bilinear resize n_in ->
    n_out (pixel centres aligned, edges clamped: what Pillow's BILINEAR does when enlarging)."""
    stop = n_out if stop is None else stop
    pos = (np.arange(start, stop, dtype=np.float64) + 0.5) * (n_in / n_out) - 0.5
    pos = np.clip(pos, 0, n_in - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, n_in - 1)
    return lo, hi, (pos - lo).astype(np.float32)


def _resample(sal, rows, cols):
    (rl, rh, rw), (cl, ch, cw) = rows, cols
    part = sal[rl] * (1 - rw)[:, None] + sal[rh] * rw[:, None]
    return part[:, cl] * (1 - cw) + part[:, ch] * cw


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


def write_png(file, image: np.ndarray) -> None:
    """Encode (H, W), (H, W, 3) or (H, W, 4) uint8 as PNG straight into ``file`` (a path or a binary file
    object; no PNG bytes held in memory)."""
    from PIL import Image
    Image.fromarray(np.asarray(image)).save(file, format="PNG", compress_level=1)


def png_bytes(image: np.ndarray) -> bytes:
    """Encode (H, W), (H, W, 3) or (H, W, 4) uint8 as PNG."""
    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray(np.asarray(image)).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()
