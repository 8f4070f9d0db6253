"""The bundled demo scenes written as a Pascal VOC folder: try the dataset path offline."""
from __future__ import annotations

import os
from xml.sax.saxutils import escape

__all__ = ["write_demo_voc", "demo_voc"]


def write_demo_voc(root, n_scenes: int = 200, *, objects=(1, 3), seed: int = 0, split: str = "test",
                   image_format: str = "png") -> str:
    """Write ``n_scenes`` demo scenes (:func:`~saliency_widgets.demo.make_scenes`) as a VOC folder.

    Objects become VOC boxes (1-based, inclusive) with ``difficult=0``; class
    names are :data:`~saliency_widgets.demo.CLASS_NAMES`, so
    ``VOCDataset(root, class_names=CLASS_NAMES)`` reads them back with the demo
    model's class indices.  Files are written under temporary names and renamed.

    Returns
    -------
    str : ``root``
    """
    import numpy as np
    from PIL import Image

    from ..demo import CLASS_NAMES, make_scenes
    if image_format not in ("png", "jpg"):
        raise ValueError(f"image_format must be 'png' (lossless) or 'jpg', got {image_format!r}")
    scenes = make_scenes(n_scenes, objects=objects, seed=seed)
    root = os.fspath(root)
    for sub in ("Annotations", "JPEGImages", os.path.join("ImageSets", "Main")):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    ids = []
    for k, (img, objs) in enumerate(zip(scenes.images, scenes.objects)):
        image_id = f"{k:06d}"
        ids.append(image_id)
        fname = f"{image_id}.{image_format}"
        h, w = img.shape[:2]
        _atomic(os.path.join(root, "JPEGImages", fname),
                lambda p: Image.fromarray(np.asarray(img)).save(p, format="PNG" if image_format == "png" else "JPEG",
                                                                quality=95))
        parts = [f"<annotation><folder>demo</folder><filename>{fname}</filename>",
                 f"<size><width>{w}</width><height>{h}</height><depth>3</depth></size>"]
        for o in objs:
            x0, y0, x1, y1 = o.box
            parts.append(f"<object><name>{escape(CLASS_NAMES[o.label])}</name><difficult>0</difficult>"
                         f"<bndbox><xmin>{x0 + 1}</xmin><ymin>{y0 + 1}</ymin><xmax>{x1}</xmax><ymax>{y1}</ymax>"
                         "</bndbox></object>")
        parts.append("</annotation>\n")
        xml = "".join(parts)
        _atomic(os.path.join(root, "Annotations", f"{image_id}.xml"),
                lambda p: open(p, "w", encoding="utf-8").write(xml))
    text = "\n".join(ids) + "\n"
    _atomic(os.path.join(root, "ImageSets", "Main", f"{split}.txt"),
            lambda p: open(p, "w", encoding="utf-8").write(text))
    return root


def demo_voc(root, **kwargs):
    """The demo VOC folder at ``root`` read as a :class:`VOCDataset` with the demo model's classes."""
    from ..demo import CLASS_NAMES
    from .voc import VOCDataset
    return VOCDataset(root, class_names=CLASS_NAMES, **kwargs)


def _atomic(path, write):
    tmp = path + ".tmp"
    write(tmp)
    os.replace(tmp, path)
