"""Pascal VOC reader: ``Annotations/*.xml``, ``JPEGImages/``, ``ImageSets/Main/<split>.txt``."""
from __future__ import annotations

import os
from xml.etree.ElementTree import ParseError


from .base import Annotation, Dataset, DatasetError, Record

__all__ = ["VOCDataset", "VOC_CLASSES", "parse_voc_xml"]

VOC_CLASSES = ("aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
               "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train",
               "tvmonitor")


def _text(node, tag, path, what):
    child = node.find(tag)
    if child is None or child.text is None or not child.text.strip():
        raise DatasetError(f"{path}: {what} has no <{tag}>")
    return child.text.strip()


def _number(node, tag, path, what):
    raw = _text(node, tag, path, what)
    try:
        return float(raw)
    except ValueError:
        raise DatasetError(f"{path}: {what} <{tag}> is {raw!r}, expected a number") from None


def parse_voc_xml(path, *, class_names=VOC_CLASSES, image_dir=None) -> Record:
    """One VOC annotation file as a :class:`Record` (boxes converted to 0-based, x1/y1 exclusive).

    VOC boxes are 1-based and inclusive: ``xmin=1, xmax=10`` covers pixel
    columns 0..9, i.e. (0, ..., 10) here, as TorchRay's ``voc_as_mask`` reads them.
    Raises :class:`DatasetError` naming the file and the problem.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise DatasetError(f"VOC annotation file {path} not found")
    # defusedxml refuses entity expansion, external entities and DTDs (imported here: only VOC reads XML)
    import defusedxml.ElementTree as ET
    from defusedxml import DefusedXmlException
    try:
        root = ET.parse(path).getroot()
    except ParseError as exc:
        raise DatasetError(f"{path}: not valid XML ({exc})") from None
    except DefusedXmlException as exc:  # a billion-laughs entity, an external entity or a DTD
        raise DatasetError(f"{path}: refused XML ({type(exc).__name__}: {exc}); VOC annotations have no "
                           f"entities or DTDs") from None
    if root.tag != "annotation":
        raise DatasetError(f"{path}: the root element is <{root.tag}>, expected <annotation>")
    stem = os.path.splitext(os.path.basename(path))[0]
    filename = root.findtext("filename", default="").strip() or f"{stem}.jpg"
    size = root.find("size")
    if size is None:
        raise DatasetError(f"{path}: no <size> (width, height) element")
    width, height = int(_number(size, "width", path, "<size>")), int(_number(size, "height", path, "<size>"))
    if width < 1 or height < 1:
        raise DatasetError(f"{path}: image size {width} x {height} is empty")
    objects = []
    for k, obj in enumerate(root.findall("object")):
        what = f"object {k}"
        name = _text(obj, "name", path, what)
        if name not in class_names:
            raise DatasetError(f"{path}: {what} has class {name!r}, which is not one of the dataset's classes "
                               f"{list(class_names)}")
        diff = obj.findtext("difficult", default="0").strip() or "0"
        if diff not in ("0", "1"):
            raise DatasetError(f"{path}: {what} <difficult> is {diff!r}, expected 0 or 1")
        bb = obj.find("bndbox")
        if bb is None:
            raise DatasetError(f"{path}: {what} ({name}) has no <bndbox>")
        x0, y0, x1, y1 = (_number(bb, t, path, f"{what} <bndbox>") for t in ("xmin", "ymin", "xmax", "ymax"))
        if not (1 <= x0 <= x1 <= width and 1 <= y0 <= y1 <= height):
            raise DatasetError(f"{path}: {what} ({name}) box xmin={x0:g} ymin={y0:g} xmax={x1:g} ymax={y1:g} is "
                               f"not inside the {width} x {height} image (VOC boxes are 1-based, inclusive)")
        objects.append(Annotation(name, (x0 - 1, y0 - 1, x1, y1), difficult=diff == "1"))
    image_path = os.path.join(image_dir, filename) if image_dir else filename
    return Record(stem, image_path, width, height, objects)


class VOCDataset(Dataset):
    """Pascal VOC detection annotations (e.g. VOC2007 ``test``), images decoded lazily.

    Parameters
    ----------
    root : path to the folder holding ``Annotations/``, ``JPEGImages/`` and ``ImageSets/Main/``
        (``VOCdevkit/VOC2007``)
    split : str, keyword-only
        ``ImageSets/Main/<split>.txt`` lists the image ids (default "test", as TorchRay).
    class_names : sequence of str, keyword-only
        The dataset's classes in order (default the 20 VOC classes); an object of another class is an error.
    size, class_map, difficult_flags : keyword-only, see :class:`~saliency_widgets.datasets.Dataset`.
        ``class_map=None`` maps the i-th class name to model class i (a model trained on these classes).

    Raises
    ------
    DatasetError : a missing split file or annotation file, or a malformed one (the message names it).
    """

    name = "VOC"

    def __init__(self, root, *, split="test", class_names=VOC_CLASSES, size=None, class_map=None,
                 difficult_flags=None):
        super().__init__(size=size, class_map=class_map, difficult_flags=difficult_flags)
        root = os.fspath(root)
        self.root, self.split = root, split
        self.class_names = tuple(class_names)
        if not os.path.isdir(root):
            raise DatasetError(f"VOC folder {root} not found")
        split_file = os.path.join(root, "ImageSets", "Main", f"{split}.txt")
        if not os.path.exists(split_file):
            raise DatasetError(f"VOC split file {split_file} not found (expected ImageSets/Main/{split}.txt "
                               f"listing one image id per line)")
        with open(split_file, encoding="utf-8") as f:
            ids = [line.split()[0] for line in f if line.strip()]
        image_dir = os.path.join(root, "JPEGImages")
        for i, image_id in enumerate(ids):
            self.records[i] = parse_voc_xml(os.path.join(root, "Annotations", f"{image_id}.xml"),
                                            class_names=self.class_names, image_dir=image_dir)
