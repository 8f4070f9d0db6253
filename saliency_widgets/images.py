"""Opening image files safely: one pixel limit, checked from the header before anything is decoded.

Every image file the package opens -- the command line, the widget's upload, the VOC / COCO
readers, :func:`load_image` -- goes through :func:`open_image`, which reads only the file's header
and refuses an image of more than :data:`MAX_PIXELS` pixels (width x height) with a one-line
:class:`ImageTooLargeError` naming the file, its size and the limit.  A PNG of a few kilobytes can
claim 20000 x 20000 pixels (a *decompression bomb*); nothing of it is decoded.

An image under the limit is decoded at the size it is needed: a JPEG through Pillow's
``draft()`` (the decoder itself scales by 1/2, 1/4 or 1/8, so memory follows the model's input,
not the photo), any format then through ``reduce()`` (integer box downscaling) before the final
resize.  Formats without a reduced decoder (PNG, BMP...) are decoded whole once, which the limit
bounds (at most 4 bytes x ``MAX_PIXELS``).

Set the limit for a session with ``saliency_widgets.images.MAX_PIXELS = 100_000_000`` (``None``: no
limit), per call with ``max_pixels=``, on the command line with ``--max-pixels``.
"""
from __future__ import annotations

import io
import math
import os
import threading

import numpy as np

__all__ = ["MAX_PIXELS", "ImageTooLargeError", "open_image", "load_image", "fit_box", "check_pixels"]

#: The largest image (width x height) any function of the package opens; None: no limit.
#: 50 megapixels: every camera photo (a 48 MP phone photo included) passes; a decompression bomb does not.
MAX_PIXELS: int | None = 50_000_000

_PIL_LIMIT_LOCK = threading.Lock()


class ImageTooLargeError(ValueError):
    """An image file whose header claims more pixels than the limit (nothing of it was decoded)."""


def _limit(max_pixels):
    limit = MAX_PIXELS if max_pixels is None else max_pixels
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 1):
        raise ValueError(f"the pixel limit must be a positive integer or None, got {limit!r}")
    return limit


def check_pixels(width: int, height: int, *, name: str, max_pixels: int | None = None) -> None:
    """Raise :class:`ImageTooLargeError` when a ``width`` x ``height`` image is over the limit.

    ``max_pixels``: the limit (default: :data:`MAX_PIXELS`, read at call time).
    """
    limit = _limit(max_pixels)
    if limit is not None and width * height > limit:
        raise ImageTooLargeError(
            f"{name}: {width} x {height} pixels ({width * height / 1e6:.1f} megapixels) is over the limit of "
            f"{limit:,} pixels ({limit / 1e6:g} megapixels); nothing was decoded (raise the limit with "
            f"--max-pixels or saliency_widgets.images.MAX_PIXELS if the file is trusted)")


def _describe(source, name) -> str:
    if name is not None:
        return str(name)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return "the image bytes"
    return repr(os.fspath(source)) if isinstance(source, (str, os.PathLike)) else repr(source)


def open_image(source, *, name: str | None = None, max_pixels: int | None = None):
    """A PIL image whose header was read and checked against the pixel limit; nothing decoded yet.

    Parameters
    ----------
    source : path, bytes or a binary file object
    name : str or None, keyword-only, how messages name the file (default: the path)
    max_pixels : int or None, keyword-only, the limit (default: :data:`MAX_PIXELS`)

    Raises
    ------
    FileNotFoundError
        No such file.
    ImageTooLargeError
        The header claims more pixels than the limit.
    ValueError
        Not an image Pillow can read (the message names the file).
    """
    from PIL import Image, UnidentifiedImageError
    label = _describe(source, name)
    if isinstance(source, (bytes, bytearray, memoryview)):
        source = io.BytesIO(bytes(source))
    elif isinstance(source, (str, os.PathLike)) and not os.path.isfile(source):
        raise FileNotFoundError(f"image file {label} not found")
    limit = _limit(max_pixels)
    try:
        # Pillow's own bomb check (Image.MAX_IMAGE_PIXELS) raises inside open() without the size;
        # ours replaces it, so it is lifted for the header read only.
        with _PIL_LIMIT_LOCK:
            saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
            try:
                img = Image.open(source)
            finally:
                Image.MAX_IMAGE_PIXELS = saved
    except UnidentifiedImageError:
        raise ValueError(f"{label} is not an image: expected a PNG or JPEG file") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ValueError(f"{label} is not an image that can be read ({type(exc).__name__}: {exc})") from None
    try:
        check_pixels(img.width, img.height, name=label, max_pixels=limit)
    except ImageTooLargeError:
        img.close()
        raise
    return img


def fit_box(width: int, height: int, size: tuple[int, int]) -> tuple[float, float, float, float]:
    """The region (left, top, right, bottom), in the image's pixels, that :func:`load_image` with
    ``fit="cover"`` brings to ``size`` = (height, width): the centre of the image at the target's aspect."""
    h, w = size
    scale = max(w / width, h / height)
    new_w, new_h = max(w, round(width * scale)), max(h, round(height * scale))
    left, top = (new_w - w) // 2, (new_h - h) // 2
    sx, sy = width / new_w, height / new_h
    return left * sx, top * sy, (left + w) * sx, (top + h) * sy


def _decoded_small(img, mode: str, need: tuple[int, int]):
    """``img`` decoded no larger than needed for a (width, height) ``need``: draft (JPEG), then reduce."""
    if img.format == "JPEG":
        img.draft(mode if mode in ("RGB", "L") else None, need)  # the decoder scales by 1/2, 1/4 or 1/8
    img.load()
    factor = min(img.width // max(1, need[0]), img.height // max(1, need[1]))
    if factor >= 2:
        img = img.reduce(factor)  # integer box filter: no aliasing, far less to resize
    return img


def load_image(source, *, size: tuple[int, int] | None = None, fit: str = "cover", mode: str = "RGB",
               name: str | None = None, max_pixels: int | None = None) -> np.ndarray:
    """An image file as a uint8 array, at ``size`` or as it is, after the pixel-limit check.

    Parameters
    ----------
    source : path, bytes or a binary file object
    size : (height, width) or None, keyword-only
        None: the image as it is (decoded whole). Else the result's size, decoded through
        ``draft``/``reduce`` so that memory follows ``size``, not the file.
    fit : ``"cover"`` or ``"stretch"``, keyword-only
        cover: resized to cover ``size`` keeping the aspect, then the centre cropped (nothing is
        squeezed; :func:`fit_box` gives the region kept); stretch: resized to ``size`` exactly.
    mode : ``"RGB"`` or ``"L"``, keyword-only
    name : how messages name the file, keyword-only (default: the path)
    max_pixels : the limit, keyword-only (default: :data:`MAX_PIXELS`)

    Returns
    -------
    (H, W, 3) uint8 for RGB, (H, W) for L.

    Raises
    ------
    ImageTooLargeError, FileNotFoundError, ValueError : as :func:`open_image`; ValueError for a bad
        ``fit`` or ``mode`` or a file that breaks off while decoding.
    """
    from PIL import Image

    from .plotting.resize import fit_image
    if fit not in ("cover", "stretch"):
        raise ValueError(f"fit must be 'cover' or 'stretch', got {fit!r}")
    if mode not in ("RGB", "L"):
        raise ValueError(f"mode must be 'RGB' or 'L', got {mode!r}")
    img = open_image(source, name=name, max_pixels=max_pixels)
    label = _describe(source, name)
    try:
        with img:
            if size is None:
                img.load()
                return np.asarray(img if img.mode == mode else img.convert(mode))  # no second full-size copy
            h, w = (int(v) for v in size)
            if fit == "stretch":
                need = (w, h)
            else:
                scale = max(w / img.width, h / img.height)
                need = (max(w, math.ceil(img.width * scale)), max(h, math.ceil(img.height * scale)))
            small = _decoded_small(img, mode, need).convert(mode)
            out = small.resize((w, h), Image.BILINEAR) if fit == "stretch" else fit_image(small, (h, w))
            return np.asarray(out)
    except (OSError, SyntaxError) as exc:  # a file that breaks off or is corrupt after its header
        raise ValueError(f"{label} is not an image that can be read ({type(exc).__name__}: {exc})") from None
