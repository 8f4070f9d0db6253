"""What a model expects, declared once: :func:`declare` and :class:`ModelDeclaration`.

A model -- a PyTorch module, a Keras model, a JAX function or any callable -- says here what it takes:

``input_size``
    (H, W) or (H, W, C) of its input, or ``"any"`` for a model meant to take every size.
``crop``
    how an image of another size reaches the input size: ``"imagenet"`` (the default: the short side
    scaled to the input side / 0.875, i.e. 256 for 224, then the centre cropped, as ImageNet evaluation
    does), ``"cover"`` (scaled to cover the input, centre cropped), ``"none"`` (another size is refused),
    an :class:`ImageFit` with another fraction, or a function ``image -> image`` of the input size that
    keeps pixel values.
``pixel_range``, ``convert``
    the values it takes, e.g. ``(0, 255)``; an image whose dtype or values do not fit (a float photo in
    [0, 1], a uint16 photo) is refused naming both, unless ``convert="scale"`` states the rule that
    rescales it (uint8 / uint16 / bool / floats in [0, 1] to the range).  ``None``: values are passed
    as they are (nothing checked).
``preprocess``, ``mean_color``
    the normalisation, when it is not inside the model (``preprocess``: pixels -> the model's input;
    masking happens after it), and the fill that means "masked" in the model's input space
    (``mean_color``: the colour the normalisation maps to 0; 127 for ``(x - 127) / 128``).
``outputs``, ``class_names``
    ``"logits"`` or ``"probabilities"``, and the names of its classes.

``declare(model, ...)`` stores it on the model (attribute ``saliency_widgets_declaration``) and returns the
model; :func:`~saliency_widgets.models.as_model` reads it, and every front end (explainers, metrics, the
widget, the command line, ``evaluate``, the sanity checks) reads it from the adapter
(``as_model(model).declaration``).  Nothing here imports a framework.
"""
from __future__ import annotations

import dataclasses
import numbers
from typing import Callable

import numpy as np

from ..occluder import check_color

__all__ = ["ModelDeclaration", "ImageFit", "declare", "declaration_of", "IMAGENET_CROP_FRACTION", "CROPS",
           "CONVERTS", "ATTRIBUTE", "OUTPUTS"]

#: the share of the resized short side that ImageNet evaluation keeps: 224 of 256
IMAGENET_CROP_FRACTION = 224 / 256
CROPS = ("imagenet", "cover", "none")
CONVERTS = (None, "scale")
OUTPUTS = ("auto", "probabilities", "logits")
ATTRIBUTE = "saliency_widgets_declaration"
_LEGACY = "saliency_widgets_"  # the older per-field attributes: input_shape, preprocess, mean_color, outputs


class ImageFit:
    """Bring a photo to the model's input as ImageNet evaluation does: scale, then crop the centre.

    ``fit(image)`` resizes an (H, W[, C]) image (bilinear, anti-aliased) so that it covers
    ``size / crop_fraction`` (for a square input: the short side becomes ``size / crop_fraction``,
    256 for 224 at the ImageNet fraction 0.875), then crops the centre ``size``; values keep their range.
    An image already of ``size`` is returned unchanged (as float32), so a map covers the image passed in.
    A large image is first box-averaged by an integer factor that leaves it at least twice the resized
    size, so memory follows the model's input, not the photo.

    Parameters
    ----------
    size : int or (H, W), keyword-only
        The model's input size (224).
    short_side : int or None, keyword-only
        A square input's short side before the crop (256 for 224); the older way to give the fraction.
    crop_fraction : float in (0, 1], keyword-only
        ``size / short side`` (default :data:`IMAGENET_CROP_FRACTION` = 0.875; 1.0: cover, nothing of
        the short side cropped).  Give one of ``short_side`` and ``crop_fraction``.

    Examples
    --------
    >>> fit = ImageFit(size=224, short_side=256)
    >>> fit(np.zeros((300, 451, 3))).shape
    (224, 224, 3)
    >>> ImageFit(size=(260, 260)).short_sides
    (297.14285714285717, 297.14285714285717)
    """

    def __init__(self, *, size=224, short_side: int | None = None, crop_fraction: float | None = None):
        h, w = _pair("size", size)
        if short_side is not None and crop_fraction is not None:
            raise ValueError("give short_side or crop_fraction, not both")
        if short_side is not None:
            _positive_int("short_side", short_side)
            if h != w:
                raise ValueError(f"short_side is for a square input; size {size} is not square: give crop_fraction")
            if short_side < h:
                raise ValueError(f"short_side ({short_side}) must be >= size ({h}): the crop must fit inside")
            self.short_sides, self.crop_fraction = (float(short_side),) * 2, h / short_side
        else:
            f = IMAGENET_CROP_FRACTION if crop_fraction is None else crop_fraction
            if isinstance(f, bool) or not isinstance(f, numbers.Real) or not 0 < f <= 1:
                raise ValueError(f"crop_fraction must be a number in (0, 1], got {crop_fraction!r}")
            self.crop_fraction, self.short_sides = float(f), (h / f, w / f)
        self._short_side = short_side
        self.height, self.width = h, w
        self.size = h if h == w else (h, w)

    @property
    def short_side(self):
        """A square input's short side before the crop (256 for 224 at the ImageNet fraction)."""
        if self._short_side is not None:
            return self._short_side
        side = self.short_sides[0] if self.height <= self.width else self.short_sides[1]
        return int(side) if float(side).is_integer() else side

    def _geometry(self, h: int, w: int):
        """(new_h, new_w): the resized image's size, the crop centred in it."""
        scale = max(self.short_sides[0] / h, self.short_sides[1] / w)
        return max(self.height, round(h * scale)), max(self.width, round(w * scale)), scale

    def __call__(self, image) -> np.ndarray:
        arr = np.asarray(image)
        if arr.ndim not in (2, 3) or min(arr.shape[:2]) < 1:
            raise ValueError(f"image must have shape (H, W, C) or (H, W), got {arr.shape}")
        h, w = arr.shape[:2]
        if (h, w) == (self.height, self.width):
            return arr.astype(np.float32, copy=False)
        new_h, new_w, scale = self._geometry(h, w)
        k = int(min(h / new_h, w / new_w) // 2)
        small = box_reduce(arr, k) if k >= 2 else arr.astype(np.float32, copy=False)
        from skimage.transform import resize
        big = resize(small, (new_h, new_w) + arr.shape[2:], order=1, anti_aliasing=scale * max(k, 1) < 1,
                     preserve_range=True).astype(np.float32)
        top, left = (new_h - self.height) // 2, (new_w - self.width) // 2
        return np.ascontiguousarray(big[top:top + self.height, left:left + self.width])

    def region(self, h: int, w: int) -> tuple | None:
        """The part of an (h, w) image the crop shows, as (left, top, right, bottom) in its pixels;
        None when the image is passed through whole (already of the input size)."""
        if (h, w) == (self.height, self.width):
            return None
        new_h, new_w, _ = self._geometry(h, w)
        scale_h, scale_w = new_h / h, new_w / w
        top, left = (new_h - self.height) // 2, (new_w - self.width) // 2
        return (left / scale_w, top / scale_h, (left + self.width) / scale_w, (top + self.height) / scale_h)

    def describe(self) -> str:
        side = self.short_sides[0] if self.height <= self.width else self.short_sides[1]
        rule = ("resized to cover it" if self.crop_fraction == 1 else
                f"scaled so that it covers {_num(self.short_sides[0])} x {_num(self.short_sides[1])} "
                f"(the input / {_num(self.crop_fraction)}{', the ImageNet rule' if self._imagenet() else ''}; "
                f"short side {_num(side)})")
        return f"{rule}, then the centre {self.height} x {self.width} cropped"

    def _imagenet(self) -> bool:
        return abs(self.crop_fraction - IMAGENET_CROP_FRACTION) < 1e-12

    def __eq__(self, other) -> bool:
        return isinstance(other, ImageFit) and (self.height, self.width, self.short_sides) == (
            other.height, other.width, other.short_sides)

    def __hash__(self) -> int:
        return hash((self.height, self.width, self.short_sides))

    def __repr__(self) -> str:
        if self._short_side is not None:
            return f"ImageFit(size={self.size}, short_side={self._short_side})"
        return f"ImageFit(size={self.size}, crop_fraction={self.crop_fraction!r})"


def box_reduce(arr: np.ndarray, k: int) -> np.ndarray:
    """``arr`` (H, W[, C]) averaged over k x k boxes (the last row and column of boxes may be partial), as
    float32 (ceil(H / k), ceil(W / k)[, C]); made one strip of k rows at a time, so no full-size float copy."""
    h, w = arr.shape[:2]
    oh, ow, wk = -(-h // k), -(-w // k), w // k
    out = np.empty((oh, ow) + arr.shape[2:], np.float32)
    for i in range(oh):
        strip = arr[i * k:(i + 1) * k].astype(np.float32)
        if wk:
            out[i, :wk] = strip[:, :wk * k].reshape((strip.shape[0], wk, k) + arr.shape[2:]).mean(axis=(0, 2))
        if wk < ow:
            out[i, wk] = strip[:, wk * k:].mean(axis=(0, 1))
    return out


@dataclasses.dataclass(frozen=True)
class ModelDeclaration:
    """What a model takes and returns (see the module docstring); made by :func:`declare`.

    Attributes
    ----------
    input_size : (H, W, C) (entries may be None: free), "any", or None (not declared)
    crop : ImageFit, a callable image -> image, or None (another size is refused)
    pixel_range : (low, high) or None (values not checked)
    convert : None or "scale"
    preprocess : callable or None (the normalisation outside the model; masking happens after it)
    mean_color : tuple of floats or None (the fill that means "masked", in the model's input space)
    outputs : "auto", "logits" or "probabilities"
    class_names : tuple of str or None
    declared : bool (True when made by :func:`declare`; False: gathered from a model's own input shape or
        the adapter's settings)
    """

    input_size: object = None
    crop: object = None
    pixel_range: tuple | None = None
    convert: str | None = None
    preprocess: Callable | None = None
    mean_color: tuple | None = None
    outputs: str = "auto"
    class_names: tuple | None = None
    declared: bool = False

    def replace(self, **changes) -> "ModelDeclaration":
        return dataclasses.replace(self, **changes)

    @property
    def fixed_size(self) -> tuple | None:
        """(H, W) when both are declared, else None."""
        size = self.input_size
        if isinstance(size, tuple) and size[0] is not None and size[1] is not None:
            return int(size[0]), int(size[1])
        return None

    # -- pixels ----------------------------------------------------------------------------------------------
    def take_pixels(self, arr: np.ndarray, *, name: str = "the model") -> np.ndarray:
        """``arr`` as the declared range wants it: as it is, converted by the stated rule, or refused."""
        if self.pixel_range is None:
            return arr
        return _take_pixels(arr, self.pixel_range, self.convert, name)

    # -- words -----------------------------------------------------------------------------------------------
    def describe(self) -> str:
        """What the declaration says, one line per field (what the docs and the notebooks print)."""
        lines = [f"input: {self._size_text()}"]
        if self.fixed_size is not None:
            lines.append(f"an image of another size: {_crop_text(self.crop)}")
        lines.append(f"pixels: {self._pixels_text()}")
        lines.append(f"normalisation: {self._norm_text()}")
        lines.append(f"outputs: {_OUTPUT_WORDS[self.outputs]}")
        lines.append(f"classes: {'not named' if self.class_names is None else f'{len(self.class_names)} class names'}"
                     + ("" if self.class_names is None else f" ({', '.join(self.class_names[:3])}, ...)"))
        return "\n".join(lines)

    def _size_text(self) -> str:
        if self.input_size == "any":
            return "any size: each image at its own size"
        if self.input_size is None:
            return "not declared"
        h, w, c = (("any" if v is None else v) for v in self.input_size)
        return f"{h} x {w} x {c}"

    def _pixels_text(self) -> str:
        if self.pixel_range is None:
            return "range not declared: values are passed as they are"
        lo, hi = self.pixel_range
        text = f"values in [{_num(lo)}, {_num(hi)}] (sent to the model as float32)"
        if self.convert == "scale":
            return text + "; uint8, uint16, bool and floats in [0, 1] are rescaled to it (convert='scale')"
        return text + "; other dtypes and ranges are refused"

    def _norm_text(self) -> str:
        fill = "the image's mean colour (occluder 'auto')" if self.mean_color is None else \
            "(" + ", ".join(_num(v) for v in self.mean_color) + ")"
        if self.preprocess is None:
            return f"inside the model; a masked pixel becomes {fill}"
        name = getattr(self.preprocess, "__qualname__", type(self.preprocess).__name__)
        if self.mean_color is None:
            return f"preprocess={name}, masks applied after it; the fill is derived from it at the first image"
        return f"preprocess={name}, masks applied after it; a masked pixel becomes {fill} there"

    def to_dict(self) -> dict:
        """A JSON summary (a results file's header records it): the fields that change what the model sees."""
        crop = self.crop
        return {"input_size": list(self.input_size) if isinstance(self.input_size, tuple) else self.input_size,
                "crop": None if crop is None else (repr(crop) if isinstance(crop, ImageFit) else _qualname(crop)),
                "pixel_range": None if self.pixel_range is None else list(self.pixel_range),
                "convert": self.convert}


_OUTPUT_WORDS = {"auto": "not declared: a softmax is applied when rows do not sum to 1 (with a warning)",
                 "logits": "logits (a softmax is applied)", "probabilities": "probabilities (used as they are)"}


def _num(v) -> str:
    return f"{round(float(v), 4):g}"


def _qualname(obj) -> str:
    target = getattr(obj, "func", obj)
    return f"{getattr(target, '__module__', '')}.{getattr(target, '__qualname__', type(target).__qualname__)}"


def _crop_text(crop) -> str:
    if crop is None:
        return "refused (no crop declared)"
    if isinstance(crop, ImageFit):
        return crop.describe()
    return f"{_qualname(crop)} (the declared crop)"


def _take_pixels(arr, pixel_range, convert, name):
    lo, hi = pixel_range
    want = f"{name} takes values in [{_num(lo)}, {_num(hi)}]"
    dtype = arr.dtype
    if dtype == bool or (np.issubdtype(dtype, np.unsignedinteger) and dtype.itemsize > 1):
        top = 1 if dtype == bool else int(np.iinfo(dtype).max)
        if convert == "scale":
            return arr.astype(np.float32) * np.float32((hi - lo) / top) + np.float32(lo)
        raise ValueError(f"image is {dtype} (values 0..{top}) but {want}: convert it first (a 16-bit photo: "
                         "(image / 257).astype(np.uint8)), or declare convert='scale' to have it rescaled")
    if dtype == np.uint8:
        if lo <= 0 and hi >= 255:
            return arr
        if convert == "scale":
            return arr.astype(np.float32) * np.float32((hi - lo) / 255) + np.float32(lo)
        raise ValueError(f"image is uint8 (values 0..255) but {want}: convert it first (e.g. image / 255), or "
                         "declare convert='scale' to have it rescaled")
    if np.issubdtype(dtype, np.floating) and not np.all(np.isfinite(arr)):
        raise ValueError("image contains NaN or inf pixels")
    vmin, vmax = float(arr.min()), float(arr.max())
    if vmin < lo or vmax > hi:
        raise ValueError(f"image values span [{_num(vmin)}, {_num(vmax)}] but {want}: bring the image into that "
                         "range (or declare the range the model really takes)")
    if np.issubdtype(dtype, np.floating) and hi > 1 and vmin >= 0 and 0 < vmax <= 1:
        if convert == "scale":
            return arr.astype(np.float32) * np.float32(hi - lo) + np.float32(lo)
        raise ValueError(f"image is {dtype} with values in [0, 1] but {want}: a photo in [0, 1] would reach the "
                         f"model nearly black; multiply it by {_num(hi)} first, or declare convert='scale' to have "
                         "it rescaled")
    return arr


# -- declare ---------------------------------------------------------------------------------------------------

def declare(model, *, input_size, pixel_range, crop="imagenet", convert=None, preprocess=None, mean_color=None,
            outputs="auto", class_names=None):
    """Declare what ``model`` takes and returns; every front end reads it (see the module docstring).

    Parameters
    ----------
    model : torch.nn.Module, keras.Model, JAX function or callable batch -> scores
    input_size : int, (H, W), (H, W, C) or "any", keyword-only
        The input it takes (C defaults to 3); ``"any"``: each image is explained at its own size.
    pixel_range : (low, high) or None, keyword-only
        The values it takes (``(0, 255)`` for RGB pixels); None: not checked.
    crop : {"imagenet", "cover", "none"}, ImageFit or callable, keyword-only
        How an image of another size reaches ``input_size`` (default ``"imagenet"``: short side to
        input / 0.875, centre crop).  A callable must keep pixel values and return the input size.
    convert : None or "scale", keyword-only
        ``"scale"``: rescale uint8 / uint16 / bool images and floats in [0, 1] to ``pixel_range``;
        None: such an image is refused naming both.
    preprocess : callable or None, keyword-only
        The normalisation when it is outside the model (pixels -> model input); masks apply after it.
    mean_color : number, sequence of C numbers or None, keyword-only
        The fill that means "masked", in the model's input space (after ``preprocess``): the colour
        the normalisation maps to 0.  None: ``occluder="auto"`` uses the image's mean colour, or
        (with ``preprocess``) a fill derived from it and stated in a warning.
    outputs : {"auto", "logits", "probabilities"}, keyword-only
    class_names : sequence of str or None, keyword-only

    Returns
    -------
    The same ``model``, now carrying the declaration (attribute ``saliency_widgets_declaration``).  A
    :class:`~saliency_widgets.models.ModelAdapter` gets it as its ``declaration``.

    Examples
    --------
    >>> import numpy as np
    >>> def net(batch):                       # (B, 260, 260, 3) RGB in [0, 255] -> (B, 3) logits
    ...     return batch.mean(axis=(1, 2))
    >>> net = declare(net, input_size=260, pixel_range=(0, 255), mean_color=127, outputs="logits")
    >>> from saliency_widgets.models import as_model
    >>> as_model(net).prepare(np.zeros((300, 451, 3), np.uint8)).shape    # the ImageNet crop
    (260, 260, 3)
    """
    decl = make_declaration(input_size=input_size, pixel_range=pixel_range, crop=crop, convert=convert,
                            preprocess=preprocess, mean_color=mean_color, outputs=outputs, class_names=class_names)
    if isinstance(getattr(type(model), "declaration", None), property):  # a ModelAdapter: its own declaration
        model.declaration = decl
        return model
    if not callable(model):
        raise TypeError(f"declare() takes a model (a torch.nn.Module, a Keras model, a JAX function or a callable "
                        f"batch -> scores), got {type(model).__name__}")
    try:
        setattr(model, ATTRIBUTE, decl)
    except (AttributeError, TypeError):
        raise TypeError(f"{type(model).__name__} takes no attributes, so it cannot carry a declaration: wrap it in a "
                        "function (def predict(batch): return model(batch)) and declare that") from None
    return model


def make_declaration(*, input_size, pixel_range, crop="imagenet", convert=None, preprocess=None, mean_color=None,
                     outputs="auto", class_names=None) -> ModelDeclaration:
    """The checked :class:`ModelDeclaration` of :func:`declare`'s arguments (a ValueError names a bad field)."""
    size = _check_size(input_size)
    pixel_range = _check_range(pixel_range)
    if convert not in CONVERTS:
        raise ValueError(f"convert must be one of {CONVERTS}, got {convert!r}")
    if convert is not None and pixel_range is None:
        raise ValueError("convert='scale' rescales to the declared pixel_range: declare one")
    if outputs not in OUTPUTS:
        raise ValueError(f"outputs must be one of {OUTPUTS}, got {outputs!r}")
    if preprocess is not None and not callable(preprocess):
        raise TypeError(f"preprocess must be a callable image -> model input, got {type(preprocess).__name__}")
    channels = size[2] if isinstance(size, tuple) else None
    return ModelDeclaration(input_size=size, crop=_check_crop(crop, size), pixel_range=pixel_range, convert=convert,
                            preprocess=preprocess, mean_color=_check_fill(mean_color, channels), outputs=outputs,
                            class_names=_check_names(class_names), declared=True)


def _check_size(size):
    if isinstance(size, str):
        if size != "any":
            raise ValueError(f"input_size must be an int, (H, W), (H, W, C) or 'any', got {size!r}")
        return "any"
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        size = (size, size)
    try:
        size = tuple(size)
    except TypeError:
        raise ValueError(f"input_size must be an int, (H, W), (H, W, C) or 'any', got {size!r}") from None
    if len(size) == 2:
        size = size + (3,)
    if len(size) != 3:
        raise ValueError(f"input_size must be (H, W) or (H, W, C), got {size!r}")
    return tuple(_positive_int("input_size", v) for v in size)


def _check_range(pixel_range):
    if pixel_range is None:
        return None
    try:
        lo, hi = (float(v) for v in pixel_range)
    except (TypeError, ValueError):
        raise ValueError(f"pixel_range must be (low, high) numbers or None, got {pixel_range!r}") from None
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ValueError(f"pixel_range must be (low, high) with low < high, got {pixel_range!r}")
    return lo, hi


def _check_crop(crop, size):
    fixed = isinstance(size, tuple)
    if isinstance(crop, str):
        if crop not in CROPS:
            raise ValueError(f"crop must be one of {CROPS}, an ImageFit or a function image -> image, got {crop!r}")
        if crop == "none" or not fixed:
            return None
        return ImageFit(size=size[:2], crop_fraction=IMAGENET_CROP_FRACTION if crop == "imagenet" else 1.0)
    if crop is None:
        return None
    if isinstance(crop, ImageFit):
        if fixed and (crop.height, crop.width) != size[:2]:
            raise ValueError(f"crop {crop!r} makes {crop.height} x {crop.width} images but input_size is "
                             f"{size[0]} x {size[1]}")
        return crop
    if not callable(crop):
        raise ValueError(f"crop must be one of {CROPS}, an ImageFit or a function image -> image, got {crop!r}")
    return crop


def _check_fill(mean_color, channels):
    if mean_color is None:
        return None
    if isinstance(mean_color, numbers.Real) and not isinstance(mean_color, bool):
        mean_color = (mean_color,) * (channels or 1)
    color = check_color(mean_color, type_error="mean_color must be a number, a colour or None", subject="mean_color")
    if channels is not None and len(color) not in (1, channels):
        raise ValueError(f"mean_color has {len(color)} values but input_size has {channels} channels")
    return color


def _check_names(names):
    if names is None:
        return None
    if isinstance(names, str):
        raise ValueError("class_names must be a sequence of names, got one string")
    return tuple(str(n) for n in names)


def _positive_int(name, v) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise ValueError(f"{name} must be made of integers >= 1, got {v!r}")
    return int(v)


def _pair(name, size):
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        size = (size, size)
    try:
        h, w = size
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an int or (H, W), got {size!r}") from None
    return _positive_int(name, h), _positive_int(name, w)


# -- reading what a model declares ----------------------------------------------------------------------------

def declaration_of(model) -> ModelDeclaration:
    """What ``model`` declares: :func:`declare`'s declaration, else the older per-field attributes
    (``saliency_widgets_input_shape``, ``_preprocess`` (an :class:`ImageFit` there is the crop),
    ``_mean_color``, ``_outputs``, with ``class_names``), else nothing (an empty declaration)."""
    decl = getattr(model, ATTRIBUTE, None)
    if isinstance(decl, ModelDeclaration):
        return decl
    fields = {k: getattr(model, _LEGACY + k, None) for k in ("input_shape", "preprocess", "mean_color", "outputs",
                                                               "pixel_range")}
    if all(v is None for v in fields.values()):
        return ModelDeclaration()
    pre = fields["preprocess"]
    crop = pre if isinstance(pre, ImageFit) else None
    shape = fields["input_shape"]
    return ModelDeclaration(
        input_size=None if shape is None else tuple(None if v is None else int(v) for v in shape), crop=crop,
        pixel_range=_check_range(fields["pixel_range"]), preprocess=None if crop is not None else pre,
        mean_color=_check_fill(fields["mean_color"], None), outputs=fields["outputs"] or "auto",
        class_names=_check_names(getattr(model, "class_names", None)), declared=True)
