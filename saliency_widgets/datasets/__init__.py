"""Datasets for evaluation at scale: Pascal VOC and COCO annotations, images decoded lazily.

>>> from saliency_widgets.datasets import VOCDataset          # doctest: +SKIP
>>> voc = VOCDataset("VOCdevkit/VOC2007", split="test", size=(224, 224), class_map=my_map)  # doctest: +SKIP
>>> results = evaluate(["rise"], voc, model=model)            # doctest: +SKIP
"""
from .base import (EBP_AREA, Annotation, Dataset, DatasetError, ImageDecodeError, Record, ebp_difficult,
                   resolve_class_map)
from .coco import COCODataset
from .demo import demo_voc, write_demo_voc
from .gridpg import (GRIDPG_PHOTOS, MAX_SHARE, GridPG, confident_photos, gridpg_mosaics, mosaic_draw,
                     photo_shares, tile_confidence)
from .voc import VOC_CLASSES, VOCDataset, parse_voc_xml

__all__ = ["Dataset", "VOCDataset", "COCODataset", "VOC_CLASSES", "Record", "Annotation", "DatasetError",
           "ImageDecodeError", "ebp_difficult", "resolve_class_map", "EBP_AREA", "write_demo_voc", "demo_voc",
           "parse_voc_xml", "open_dataset", "GridPG", "GRIDPG_PHOTOS", "MAX_SHARE", "gridpg_mosaics", "mosaic_draw",
           "tile_confidence", "confident_photos", "photo_shares"]


def open_dataset(spec: str, **kwargs) -> Dataset:
    """A dataset from a ``voc:PATH`` / ``coco:ANNOTATIONS.json[:IMAGES]`` string (the CLI's ``--dataset``).

    ``coco:`` without an image folder uses the JSON file's folder.
    """
    kind, _, rest = spec.partition(":")
    if kind == "voc" and rest:
        return VOCDataset(rest, **kwargs)
    if kind == "coco" and rest:
        ann, sep, images = rest.partition(":")
        import os
        return COCODataset(ann, images if sep else os.path.dirname(os.path.abspath(ann)), **kwargs)
    raise ValueError(f"dataset must be 'voc:PATH' or 'coco:ANNOTATIONS.json[:IMAGE_FOLDER]', got {spec!r}")
