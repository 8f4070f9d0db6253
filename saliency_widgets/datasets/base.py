"""What every dataset reader shares: records, lazy images, objects per class, class mapping.

A dataset holds only annotations in memory (one :class:`Record` per image);
images are decoded when asked for (:meth:`Dataset.image`), resized to ``size``
when one is given, with boxes and masks scaled alike.  The pointing-game
entries are one per (image, class present), as in TorchRay's benchmark:
objects of one class form one entry whose truth is the union of their masks
(or boxes); a class whose objects are all flagged ``difficult`` (VOC's
"difficult" annotation) is skipped, as TorchRay skips it; each entry carries
the EBP "difficult" flag (:func:`ebp_difficult`) so that the "all" and the
"difficult" subsets can be scored from one run.
"""
from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field

import numpy as np

from ..truth import by_class

__all__ = ["Record", "Annotation", "Dataset", "DatasetError", "ImageDecodeError", "ebp_difficult",
           "resolve_class_map", "EBP_AREA"]

EBP_AREA = 0.25  # EBP's difficult set: the class covers less than 1/4 of the image, and another class is present


class DatasetError(ValueError):
    """A missing or malformed annotation file (the message names the file and the problem)."""


class ImageDecodeError(OSError):
    """An image file that cannot be read or decoded."""


@dataclass
class Annotation:
    """One annotated object, in the original image's pixel coordinates.

    ``box`` is (x0, y0, x1, y1) with x1, y1 exclusive; ``segmentation`` is a
    COCO polygon list or RLE dict (None for box-only datasets).
    """

    name: str
    box: tuple[float, float, float, float]
    difficult: bool = False
    segmentation: object = None
    iscrowd: bool = False


@dataclass
class Record:
    """One image: its id, file, original size and annotated objects."""

    id: str
    path: str
    width: int
    height: int
    objects: list[Annotation] = field(default_factory=list)


def ebp_difficult(mask: np.ndarray, n_classes: int, *, area: float = EBP_AREA) -> bool:
    """EBP's "difficult" rule for one (image, class) entry (Zhang et al. 2016, used by TorchRay).

    The class's objects cover less than ``area`` of the image and at least one
    other class is present (a distractor).
    """
    return bool(np.asarray(mask, bool).mean() < area and n_classes > 1)


def resolve_class_map(class_map, names):
    """A function dataset class name -> model class index (or None: the class is not scored).

    ``class_map`` : None (the dataset's own class order ``names``), a dict
    {name: index}, or a callable name -> index or None.
    """
    if class_map is None:
        index = {n: i for i, n in enumerate(names)}
        return index.get
    if isinstance(class_map, dict):
        bad = {k: v for k, v in class_map.items() if v is not None and not isinstance(v, (int, np.integer))}
        if bad:
            raise TypeError(f"class_map values must be model class indices (int) or None, got {bad}")
        return class_map.get
    if callable(class_map):
        return class_map
    raise TypeError(f"class_map must be None, a dict {{dataset class: model class index}} or a callable, "
                    f"got {type(class_map).__name__}")


class Dataset:
    """Base of the readers: records in memory, images decoded lazily.

    Subclasses fill ``self.records`` ({index: Record}), ``self.class_names``
    and may override :meth:`_object_mask` (COCO decodes segmentations).

    Parameters
    ----------
    size : (H, W) or None, keyword-only
        Resize images (bilinear) and their boxes / masks to this size (the
        model's input); None keeps every image's own size.
    class_map : None, dict or callable, keyword-only (see :func:`resolve_class_map`)
    difficult_flags : path or dict or None, keyword-only
        Per image id, one 0/1 flag per dataset class (TorchRay's
        ``pointing_game_ebp_*_difficult.txt`` format: ``id<TAB>f0<TAB>f1...``):
        when given, an entry's "difficult" flag is read from it instead of
        computed with :func:`ebp_difficult`; images not listed count as difficult
        for every class, as in TorchRay's benchmark.

    Attributes
    ----------
    max_pixels : int or None
        The pixel limit for this dataset's image files (None: :data:`saliency_widgets.images.MAX_PIXELS`);
        a file whose header claims more is an :class:`ImageDecodeError`, nothing of it decoded.
    """

    name = "dataset"
    max_pixels: int | None = None

    def __init__(self, *, size=None, class_map=None, difficult_flags=None):
        if size is not None:
            size = tuple(int(s) for s in size)
            if len(size) != 2 or min(size) < 1:
                raise ValueError(f"size must be (height, width) with positive sides, got {size}")
        self.size = size
        self.records: dict[int, Record] = {}
        self.class_names: tuple[str, ...] = ()
        self._class_map_arg = class_map
        self._difficult_flags = _read_flags(difficult_flags) if isinstance(difficult_flags, (str, os.PathLike)) \
            else difficult_flags

    # -- class mapping -------------------------------------------------------
    def label_of(self, name: str):
        """The model class index of dataset class ``name`` (None: not scored)."""
        return resolve_class_map(self._class_map_arg, self.class_names)(name)

    # -- sizes -----------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.records)

    def indices(self) -> list[int]:
        return sorted(self.records)

    def shape(self, i: int) -> tuple[int, int]:
        """(H, W) of image ``i`` as :meth:`image` returns it (no decoding)."""
        return self._shape_of(self.records[i])

    def _shape_of(self, r: Record) -> tuple[int, int]:
        return self.size if self.size is not None else (r.height, r.width)

    def subset(self, indices) -> "Dataset":
        """The same dataset restricted to ``indices`` (original indices kept): what a shard carries."""
        out = copy.copy(self)
        out.records = {int(i): self.records[int(i)] for i in indices}
        return out

    # -- images ---------------------------------------------------------------
    def image(self, i: int) -> np.ndarray:
        """Image ``i`` as (H, W, 3) uint8, resized to ``size``; :class:`ImageDecodeError` if unreadable or
        over the pixel limit (:data:`saliency_widgets.images.MAX_PIXELS`, read from the file's header)."""
        from ..images import load_image
        r = self.records[i]
        try:  # the pixel limit is checked from the header; a large photo is decoded at about `size`
            return load_image(r.path, size=self.size, fit="stretch", name=repr(r.path), max_pixels=self.max_pixels)
        except (OSError, ValueError, SyntaxError) as exc:  # missing, corrupt or over the pixel limit
            raise ImageDecodeError(f"{self.name}: cannot decode image {r.path!r} (id {r.id}): {exc}") from exc

    def __getitem__(self, i):
        return self.image(i)

    # -- objects and entries -------------------------------------------------
    def _scale(self, r: Record):
        if self.size is None:
            return 1.0, 1.0
        return self.size[1] / r.width, self.size[0] / r.height

    def _scaled_box(self, r: Record, box):
        sx, sy = self._scale(r)
        h, w = self._shape_of(r)
        x0, y0, x1, y1 = box
        x0, y0 = int(np.floor(x0 * sx)), int(np.floor(y0 * sy))
        x1, y1 = int(np.ceil(x1 * sx)), int(np.ceil(y1 * sy))
        x0, y0 = min(max(x0, 0), w - 1), min(max(y0, 0), h - 1)
        return (x0, y0, min(max(x1, x0 + 1), w), min(max(y1, y0 + 1), h))

    def _object_mask(self, r: Record, obj: Annotation, shape) -> np.ndarray:
        """The object's pixels at ``shape``: its box (box-only datasets)."""
        x0, y0, x1, y1 = self._scaled_box(r, obj.box)
        m = np.zeros(shape, bool)
        m[y0:y1, x0:x1] = True
        return m

    def labels(self, i: int) -> list[tuple[int, int]]:
        """[(model class, number of objects)] of the entries of image ``i``, from the annotations alone.

        A class is an entry when the map scores it and at least one of its
        objects is not flagged difficult (TorchRay skips the others).
        """
        by = self._grouped(i)
        return [(label, len(objs)) for label, objs in by.items()]

    def _grouped(self, i):
        r = self.records[i]
        by: dict[int, list[Annotation]] = {}
        for obj in r.objects:
            label = self.label_of(obj.name)
            if label is None:
                continue
            by.setdefault(int(label), []).append(obj)
        return {label: objs for label, objs in by.items() if not all(o.difficult for o in objs)}

    def unmapped(self) -> dict[str, int]:
        """{dataset class: objects} of the classes the class map does not score (they get no entry)."""
        out: dict[str, int] = {}
        for r in self.records.values():
            for obj in r.objects:
                if self.label_of(obj.name) is None:
                    out[obj.name] = out.get(obj.name, 0) + 1
        return out

    def truth(self, i: int) -> dict:
        """{model class: (union mask (H, W) bool, [boxes], n objects, difficult)} of image ``i``.

        The mask and boxes hold every object of the class (difficult ones too,
        as TorchRay's ``voc_as_mask``); ``difficult`` is the EBP subset flag.
        """
        r = self.records[i]
        shape = self.shape(i)
        by = self._grouped(i)
        objects = [(label, self._scaled_box(r, o.box), self._object_mask(r, o, shape))
                   for label, objs in by.items() for o in objs]
        unions = by_class(objects, shape)
        return {label: (unions[label][0], unions[label][1], len(objs),
                        self._difficult(r, objs[0].name, unions[label][0], len(by)))
                for label, objs in by.items()}

    def _difficult(self, r: Record, name: str, mask, n_classes: int) -> bool:
        if self._difficult_flags is not None:
            flags = self._difficult_flags.get(r.id)
            if flags is None:
                return True  # TorchRay keeps images missing from the flag file in the difficult subset
            k = self.class_names.index(name)
            return bool(flags[k])
        return ebp_difficult(mask, n_classes)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self)} images, {len(self.class_names)} classes, size={self.size})"


def _read_flags(path) -> dict:
    """TorchRay's difficult-flag file: one line per image id, tab-separated 0/1 per class."""
    out = {}
    try:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                parts = line.rstrip("\n").split("\t")
                try:
                    out[parts[0]] = [bool(int(x)) for x in parts[1:]]
                except ValueError:
                    raise DatasetError(f"{path}, line {n}: expected 'image id<TAB>0/1<TAB>0/1...', "
                                       f"got {line.strip()!r}") from None
    except FileNotFoundError:
        raise DatasetError(f"difficult-flag file {path} not found") from None
    return out
