"""COCO reader: an instances JSON file (boxes, and polygon / RLE masks via pycocotools)."""
from __future__ import annotations

import json
import os

import numpy as np

from .base import Annotation, Dataset, DatasetError, Record

__all__ = ["COCODataset"]


def _require(obj, key, kind, path, what):
    if not isinstance(obj, dict) or key not in obj:
        raise DatasetError(f"{path}: {what} has no {key!r} field")
    if not isinstance(obj[key], kind):
        raise DatasetError(f"{path}: {what} field {key!r} is {type(obj[key]).__name__}, expected "
                           f"{kind.__name__ if isinstance(kind, type) else ' or '.join(k.__name__ for k in kind)}")
    return obj[key]


class COCODataset(Dataset):
    """COCO instances annotations (e.g. ``instances_val2014.json``), images decoded lazily.

    Parameters
    ----------
    annotations : path to the instances JSON file
    images : folder of the image files (``val2014/``)
    masks : bool, keyword-only
        Score against the segmentation masks (default; needs ``pycocotools``:
        ``pip install saliency_widgets[coco]``); False uses the boxes.
    size, class_map, difficult_flags : keyword-only, see :class:`~saliency_widgets.datasets.Dataset`.
        ``class_map=None`` maps the categories, sorted by id, to model classes
        0..K-1 (TorchRay's order for the 80 COCO classes).

    Raises
    ------
    DatasetError : a missing or malformed annotation file (the message names it and the problem).
    """

    name = "COCO"

    def __init__(self, annotations, images, *, masks=True, size=None, class_map=None, difficult_flags=None):
        super().__init__(size=size, class_map=class_map, difficult_flags=difficult_flags)
        path = os.fspath(annotations)
        self.annotations, self.image_dir, self.masks = path, os.fspath(images), bool(masks)
        if self.masks:
            _pycocotools()  # fail now, not on a worker
        if not os.path.exists(path):
            raise DatasetError(f"COCO annotation file {path} not found")
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise DatasetError(f"{path}: not valid JSON ({exc})") from None
        if not isinstance(data, dict):
            raise DatasetError(f"{path}: expected a JSON object with 'images', 'annotations', 'categories'")
        cats = _require(data, "categories", list, path, "the file")
        imgs = _require(data, "images", list, path, "the file")
        anns = _require(data, "annotations", list, path, "the file")
        names = {}
        for k, c in enumerate(cats):
            names[_require(c, "id", int, path, f"category {k}")] = _require(c, "name", str, path, f"category {k}")
        self.class_names = tuple(names[i] for i in sorted(names))
        by_id = {}
        for k, im in enumerate(imgs):
            what = f"image {k}"
            iid = _require(im, "id", int, path, what)
            fname = _require(im, "file_name", str, path, what)
            w, h = _require(im, "width", int, path, what), _require(im, "height", int, path, what)
            if w < 1 or h < 1:
                raise DatasetError(f"{path}: {what} ({fname}) has size {w} x {h}")
            by_id[iid] = Record(os.path.splitext(fname)[0], os.path.join(self.image_dir, fname), w, h, [])
        for k, a in enumerate(anns):
            what = f"annotation {k}"
            iid = _require(a, "image_id", int, path, what)
            cid = _require(a, "category_id", int, path, what)
            if iid not in by_id:
                raise DatasetError(f"{path}: {what} refers to image id {iid}, which is not in 'images'")
            if cid not in names:
                raise DatasetError(f"{path}: {what} refers to category id {cid}, which is not in 'categories'")
            bbox = _require(a, "bbox", list, path, what)
            if len(bbox) != 4 or not all(isinstance(v, (int, float)) for v in bbox) or bbox[2] < 0 or bbox[3] < 0:
                raise DatasetError(f"{path}: {what} bbox is {bbox!r}, expected [x, y, width, height] >= 0")
            seg = a.get("segmentation")
            if self.masks and seg is None:
                raise DatasetError(f"{path}: {what} has no 'segmentation' (pass masks=False to use boxes)")
            r = by_id[iid]
            x, y, w, h = (float(v) for v in bbox)
            x0, y0 = min(max(x, 0.0), r.width - 1), min(max(y, 0.0), r.height - 1)
            box = (x0, y0, min(max(x + w, x0 + 1), r.width), min(max(y + h, y0 + 1), r.height))
            r.objects.append(Annotation(names[cid], box, segmentation=seg, iscrowd=bool(a.get("iscrowd", 0))))
        for i, iid in enumerate(sorted(by_id)):
            self.records[i] = by_id[iid]

    def _object_mask(self, r, obj, shape):
        if not self.masks:
            return super()._object_mask(r, obj, shape)
        mask_utils = _pycocotools()
        seg = obj.segmentation
        if isinstance(seg, list):  # polygons
            rle = mask_utils.merge(mask_utils.frPyObjects(seg, r.height, r.width))
        elif isinstance(seg, dict) and isinstance(seg.get("counts"), list):  # uncompressed RLE
            rle = mask_utils.frPyObjects(seg, r.height, r.width)
        else:
            rle = seg
        m = mask_utils.decode(rle).astype(bool)
        if m.ndim == 3:
            m = m.any(axis=2)
        if m.shape != tuple(shape):
            from PIL import Image
            m = np.asarray(Image.fromarray(m).resize((shape[1], shape[0]), Image.NEAREST))
        if not m.any():  # a polygon thinner than a pixel after resizing: fall back to its box
            return super()._object_mask(r, obj, shape)
        return m


def _pycocotools():
    try:
        from pycocotools import mask
    except ImportError as exc:
        raise ImportError("COCO segmentation masks need pycocotools: pip install 'saliency_widgets[coco]' "
                          "(or pass masks=False to score against boxes)") from exc
    return mask
