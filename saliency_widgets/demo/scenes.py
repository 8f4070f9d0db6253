"""Synthetic scenes with exact ground truth: shapes over real photographs and textures.

Every image is a crop of a photograph or texture bundled with scikit-image,
with clutter (bars, thin ellipses, jagged blobs, strokes) that looks like the
objects without being one, and one or more objects of distinct classes whose
boxes and pixel masks are known exactly -- what the pointing game needs.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
from skimage import draw

__all__ = ["CLASS_NAMES", "SceneObject", "Scenes", "make_scenes", "draw_object"]

CLASS_NAMES = ("circle", "square", "triangle", "star", "cross", "ring")

_BACKGROUNDS = ("brick", "grass", "gravel", "coffee", "chelsea", "astronaut", "rocket",
                "camera", "moon", "hubble_deep_field", "page", "coins")


@dataclass
class SceneObject:
    """One object: class id, box (x0, y0, x1, y1) with x1, y1 exclusive, H x W bool mask."""

    label: int
    box: tuple[int, int, int, int]
    mask: np.ndarray = field(repr=False)

    @property
    def name(self) -> str:
        return CLASS_NAMES[self.label]


@dataclass
class Scenes:
    """``images`` (n, H, W, 3) uint8 and, per image, a list of :class:`SceneObject`."""

    images: np.ndarray
    objects: list[list[SceneObject]]

    def __len__(self) -> int:
        return len(self.images)

    @property
    def labels(self) -> np.ndarray:
        """The first object's class of each image (the label of a single-object scene)."""
        return np.array([objs[0].label for objs in self.objects])


@functools.lru_cache(maxsize=8)
def _background_sources(size: int) -> tuple[np.ndarray, ...]:
    from skimage import data
    from skimage.transform import rescale
    out = []
    for name in _BACKGROUNDS:
        img = np.asarray(getattr(data, name)(), dtype=np.float32)
        if img.ndim == 2:
            img = np.repeat(img[..., None], 3, axis=2)
        img = img[..., :3] / 255.0
        factor = 2.5 * size / min(img.shape[:2])  # crops then need little resizing
        if factor < 1:
            img = rescale(img, factor, order=1, anti_aliasing=True, channel_axis=2)
        out.append(np.ascontiguousarray(img, dtype=np.float32))
    return tuple(out)


@functools.lru_cache(maxsize=512)
def _sample_index(n_in: int, n_out: int) -> np.ndarray:
    return ((np.arange(n_out) + 0.5) * (n_in / n_out)).astype(np.intp)


def _background(rng, size):
    src = _background_sources(size)[rng.integers(len(_BACKGROUNDS))]
    side = int(rng.integers(size, max(size + 1, min(src.shape[:2]))))
    y = rng.integers(0, src.shape[0] - side + 1)
    x = rng.integers(0, src.shape[1] - side + 1)
    idx = _sample_index(side, size)  # nearest-neighbour resize: plain indexing, no BLAS
    crop = src[y + idx[:, None], x + idx[None, :]]
    if rng.random() < 0.5:  # tint grey textures and vary contrast
        crop = crop * rng.uniform(0.5, 1.2, size=3)
    crop = 0.5 + (crop - 0.5) * rng.uniform(0.35, 0.8)  # objects must stay findable
    return np.clip(crop, 0, 1)


def _polygon_mask(rows, cols, size):
    mask = np.zeros((size, size), bool)
    rr, cc = draw.polygon(rows, cols, (size, size))
    mask[rr, cc] = True
    return mask


def _rotated(points, angle, cy, cx):
    c, s = np.cos(angle), np.sin(angle)
    ys, xs = points[:, 0], points[:, 1]
    return cy + c * ys - s * xs, cx + s * ys + c * xs


def draw_object(label: int, cy: float, cx: float, radius: float, angle: float, size: int) -> np.ndarray:
    """Boolean (size, size) mask of object class ``label`` centred at (cy, cx)."""
    r = radius
    if label == 0:  # circle
        mask = np.zeros((size, size), bool)
        mask[draw.disk((cy, cx), r, shape=(size, size))] = True
        return mask
    if label == 5:  # ring
        mask = np.zeros((size, size), bool)
        mask[draw.disk((cy, cx), r, shape=(size, size))] = True
        mask[draw.disk((cy, cx), 0.55 * r, shape=(size, size))] = False
        return mask
    if label == 1:  # square
        pts = np.array([[-1, -1], [-1, 1], [1, 1], [1, -1]]) * r * 0.8
    elif label == 2:  # triangle
        t = np.pi / 2 + np.arange(3) * 2 * np.pi / 3
        pts = np.stack([-np.sin(t), np.cos(t)], 1) * r
    elif label == 3:  # star
        t = np.pi / 2 + np.arange(10) * np.pi / 5
        rad = np.where(np.arange(10) % 2 == 0, r, 0.42 * r)
        pts = np.stack([-np.sin(t) * rad, np.cos(t) * rad], 1)
    elif label == 4:  # cross
        a, b = r, 0.33 * r
        pts = np.array([[-a, -b], [-a, b], [-b, b], [-b, a], [b, a], [b, b], [a, b], [a, -b],
                        [b, -b], [b, -a], [-b, -a], [-b, -b]])
    else:
        raise ValueError(f"unknown object class {label}; classes are 0..{len(CLASS_NAMES) - 1}")
    rows, cols = _rotated(pts.astype(float), angle, cy, cx)
    return _polygon_mask(rows, cols, size)


def _clutter_mask(rng, size, radius_range):
    kind = rng.integers(4)
    cy, cx = rng.uniform(0, size, 2)
    r = rng.uniform(*radius_range)
    angle = rng.uniform(0, np.pi)
    if kind == 0:  # a bar: long and thin, unlike a square
        pts = np.array([[-1, -0.22], [-1, 0.22], [1, 0.22], [1, -0.22]]) * r * 1.3
    elif kind == 1:  # a thin ellipse, unlike a circle
        mask = np.zeros((size, size), bool)
        rr, cc = draw.ellipse(cy, cx, r * 1.2, r * 0.35, shape=(size, size), rotation=angle)
        mask[rr, cc] = True
        return mask
    elif kind == 2:  # a jagged blob
        n = int(rng.integers(7, 13))
        t = np.sort(rng.uniform(0, 2 * np.pi, n))
        rad = r * rng.uniform(0.3, 1.1, n)
        pts = np.stack([-np.sin(t) * rad, np.cos(t) * rad], 1)
    else:  # a stroke
        mask = np.zeros((size, size), bool)
        y1, x1 = cy + 2 * r * np.sin(angle), cx + 2 * r * np.cos(angle)
        for o in (-1, 0, 1):
            rr, cc = draw.line(int(cy) + o, int(cx), int(np.clip(y1, 0, size - 1)) + o,
                               int(np.clip(x1, 0, size - 1)))
            ok = (rr >= 0) & (rr < size) & (cc >= 0) & (cc < size)
            mask[rr[ok], cc[ok]] = True
        return mask
    rows, cols = _rotated(pts, angle, cy, cx)
    return _polygon_mask(rows, cols, size)


def _colour(rng, under):
    """A random colour that stands out from the mean colour ``under``."""
    for _ in range(20):
        c = rng.uniform(0, 1, 3)
        if np.abs(c - under).sum() > 0.75:
            return c
    return 1.0 - under


def _box(mask):
    ys, xs = np.nonzero(mask)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def make_scenes(n: int, *, size: int = 96, objects: tuple[int, int] = (1, 1), clutter: tuple[int, int] = (1, 4),
                seed=None) -> Scenes:
    """Make ``n`` scenes with known object boxes and masks.

    Parameters
    ----------
    n : int
        Number of images (>= 1).
    size : int, keyword-only
        Side of the square images in pixels (>= 48).
    objects : (lo, hi), keyword-only
        Each image gets between lo and hi objects (inclusive) of distinct classes.
    clutter : (lo, hi), keyword-only
        Distractors per image.
    seed : int, numpy Generator or None, keyword-only

    Returns
    -------
    Scenes
        ``images`` (n, size, size, 3) uint8 and ``objects``.

    Examples
    --------
    >>> s = make_scenes(2, objects=(2, 3), seed=0)
    >>> s.images.shape, len(s.objects[0]) >= 2
    ((2, 96, 96, 3), True)
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 48:
        raise ValueError(f"size must be an integer >= 48 pixels (objects are at least 16 px wide), got {size!r}")
    try:
        lo, hi = (int(v) for v in objects)
    except (TypeError, ValueError):
        raise TypeError(f"objects must be a (min, max) pair of integers, got {objects!r}") from None
    if lo < 1 or hi < lo:
        raise ValueError(f"objects range must satisfy 1 <= min <= max, got {objects!r}")
    if hi > len(CLASS_NAMES):
        raise ValueError(f"objects max {hi} exceeds the number of object classes ({len(CLASS_NAMES)}); "
                         "each object in a scene has a distinct class")
    r_lo, r_hi = size / 8, size / 5  # object radius: 12-19 px at 96 px
    r_multi = (r_lo + r_hi) / 2 if hi > 1 else r_hi
    if hi * (2 * r_multi + 6) ** 2 > 0.7 * size * size:
        raise ValueError(f"size {size} is too small for {hi} objects of up to {2 * r_multi:.0f} px each; "
                         "use a larger size or fewer objects")
    rng = np.random.default_rng(seed)
    images = np.empty((n, size, size, 3), np.uint8)
    all_objects = []
    for i in range(n):
        img = _background(rng, size)
        for _ in range(int(rng.integers(clutter[0], clutter[1] + 1))):
            m = _clutter_mask(rng, size, (r_lo, r_hi))
            img[m] = _colour(rng, img[m].mean(0) if m.any() else np.full(3, 0.5))
        k = int(rng.integers(lo, hi + 1))
        labels = rng.choice(len(CLASS_NAMES), size=k, replace=False)
        placed: list[SceneObject] = []
        occupied = np.zeros((size, size), bool)
        for label in labels:
            for _attempt in range(50):
                r = rng.uniform(r_lo, r_hi) if k == 1 else rng.uniform(r_lo, (r_lo + r_hi) / 2)
                cy, cx = rng.uniform(r + 1, size - r - 1, 2)
                mask = draw_object(int(label), cy, cx, r, rng.uniform(0, 2 * np.pi), size)
                x0, y0, x1, y1 = _box(mask)
                pad = 3
                if not occupied[max(0, y0 - pad):y1 + pad, max(0, x0 - pad):x1 + pad].any():
                    break
            else:
                raise RuntimeError(f"could not place {k} objects in a {size}px image; use a larger size")
            occupied[mask] = True
            placed.append(SceneObject(int(label), (x0, y0, x1, y1), mask))
        for obj in placed:
            img[obj.mask] = _colour(rng, img[obj.mask].mean(0))
        img = img + 0.02 * rng.standard_normal(img.shape, dtype=np.float32)
        images[i] = np.clip(np.round(img * 255), 0, 255).astype(np.uint8)
        all_objects.append(placed)
    return Scenes(images, all_objects)
