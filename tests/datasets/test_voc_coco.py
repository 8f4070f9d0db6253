"""VOC and COCO readers on tiny folders built on the fly, broken ones included."""
import json
import os

import numpy as np
import pytest
from PIL import Image

from saliency_widgets.datasets import (COCODataset, DatasetError, ImageDecodeError, VOCDataset, demo_voc,
                                       ebp_difficult, open_dataset, write_demo_voc)

CLASSES = ("cat", "dog", "car")


def _xml(fname, w, h, objects):
    objs = "".join(f"<object><name>{n}</name><difficult>{d}</difficult><bndbox><xmin>{x0}</xmin><ymin>{y0}</ymin>"
                   f"<xmax>{x1}</xmax><ymax>{y1}</ymax></bndbox></object>" for n, d, (x0, y0, x1, y1) in objects)
    return (f"<annotation><filename>{fname}</filename><size><width>{w}</width><height>{h}</height>"
            f"<depth>3</depth></size>{objs}</annotation>")


def make_voc(root, images):
    """images: {id: (w, h, [(name, difficult, (xmin, ymin, xmax, ymax) 1-based inclusive)])}."""
    for sub in ("Annotations", "JPEGImages", "ImageSets/Main"):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    rng = np.random.default_rng(0)
    for image_id, (w, h, objs) in images.items():
        Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(
            os.path.join(root, "JPEGImages", f"{image_id}.jpg"))
        with open(os.path.join(root, "Annotations", f"{image_id}.xml"), "w") as f:
            f.write(_xml(f"{image_id}.jpg", w, h, objs))
    with open(os.path.join(root, "ImageSets", "Main", "test.txt"), "w") as f:
        f.write("\n".join(images) + "\n")
    return str(root)


@pytest.fixture
def voc(tmp_path):
    return make_voc(tmp_path / "voc", {
        "a": (40, 20, [("cat", 0, (1, 1, 10, 20)), ("cat", 1, (21, 1, 40, 10)), ("dog", 1, (30, 11, 40, 20))]),
        "b": (30, 30, [("car", 0, (1, 1, 30, 30))]),
    })


def test_voc_boxes_are_zero_based_exclusive_and_difficult_classes_skipped(voc):
    ds = VOCDataset(voc, class_names=CLASSES)
    assert len(ds) == 2 and ds.shape(0) == (20, 40)
    # cat: one non-difficult object -> an entry with both boxes (TorchRay's mask holds difficult ones too);
    # dog: all objects difficult -> no entry
    assert ds.labels(0) == [(0, 2)]
    mask, boxes, n, difficult = ds.truth(0)[0]
    assert boxes == [(0, 0, 10, 20), (20, 0, 40, 10)]
    assert mask.sum() == 10 * 20 + 20 * 10 and mask[:, :10].all() and not mask[10:, 20:].any()
    assert n == 2 and difficult is False  # only one scored class: no distractor
    assert ds.image(0).shape == (20, 40, 3) and ds.image(0).dtype == np.uint8


def test_voc_resize_scales_boxes_and_images(voc):
    ds = VOCDataset(voc, class_names=CLASSES, size=(10, 20))
    assert ds.image(0).shape == (10, 20, 3)
    assert ds.truth(0)[0][1] == [(0, 0, 5, 10), (10, 0, 20, 5)]


def test_class_map_dict_and_unmapped_classes(voc):
    ds = VOCDataset(voc, class_names=CLASSES, class_map={"car": 7})
    assert ds.labels(0) == [] and ds.labels(1) == [(7, 1)]
    assert ds.unmapped() == {"cat": 2, "dog": 1}
    with pytest.raises(TypeError, match="class_map"):
        VOCDataset(voc, class_names=CLASSES, class_map={"car": "seven"}).labels(1)


def test_ebp_difficult_rule():
    small = np.zeros((10, 10), bool)
    small[:2, :2] = True
    assert ebp_difficult(small, 2) and not ebp_difficult(small, 1)
    assert not ebp_difficult(np.ones((10, 10), bool), 2)


def test_difficult_flags_file_overrides_the_rule(voc, tmp_path):
    flags = tmp_path / "flags.txt"
    flags.write_text("a\t1\t0\t0\n")
    ds = VOCDataset(voc, class_names=CLASSES, difficult_flags=str(flags))
    assert ds.truth(0)[0][3] is True
    assert ds.truth(1)[2][3] is True  # not in the file: kept in the difficult subset, as TorchRay
    bad = tmp_path / "bad.txt"
    bad.write_text("a\tx\n")
    with pytest.raises(DatasetError, match="bad.txt, line 1"):
        VOCDataset(voc, class_names=CLASSES, difficult_flags=str(bad))


@pytest.mark.parametrize("xml, problem", [
    ("<annotation><size><width>4</width>", "not valid XML"),
    ("<notvoc/>", "expected <annotation>"),
    ("<annotation><filename>b.jpg</filename></annotation>", "no <size>"),
    (_xml("b.jpg", 30, 30, [("horse", 0, (1, 1, 5, 5))]), "class 'horse'"),
    (_xml("b.jpg", 30, 30, [("car", 0, (1, 1, 50, 5))]), "not inside the 30 x 30 image"),
    (_xml("b.jpg", 30, 30, [("car", 0, (1, 1, "x", 5))]), "<xmax> is 'x'"),
    (_xml("b.jpg", 30, 30, [("car", 2, (1, 1, 5, 5))]), "<difficult> is '2'"),
])
def test_malformed_voc_annotation_names_file_and_problem(voc, xml, problem):
    with open(os.path.join(voc, "Annotations", "b.xml"), "w") as f:
        f.write(xml)
    with pytest.raises(DatasetError, match=problem) as info:
        VOCDataset(voc, class_names=CLASSES)
    assert "b.xml" in str(info.value)


def test_missing_voc_files(voc, tmp_path):
    os.remove(os.path.join(voc, "Annotations", "b.xml"))
    with pytest.raises(DatasetError, match=r"b\.xml not found"):
        VOCDataset(voc, class_names=CLASSES)
    with pytest.raises(DatasetError, match="val.txt not found"):
        VOCDataset(voc, split="val", class_names=CLASSES)
    with pytest.raises(DatasetError, match="not found"):
        VOCDataset(tmp_path / "nowhere")


def test_undecodable_image_raises_naming_it(voc):
    with open(os.path.join(voc, "JPEGImages", "b.jpg"), "wb") as f:
        f.write(b"not a jpeg")
    ds = VOCDataset(voc, class_names=CLASSES)  # lazy: construction does not decode
    with pytest.raises(ImageDecodeError, match="b.jpg"):
        ds.image(1)


def test_subset_keeps_original_indices(voc):
    ds = VOCDataset(voc, class_names=CLASSES)
    sub = ds.subset([1])
    assert sub.indices() == [1] and sub.labels(1) == ds.labels(1) and len(ds) == 2


def test_demo_voc_round_trip(tmp_path):
    from saliency_widgets.demo import make_scenes
    root = write_demo_voc(tmp_path / "demo", 4, seed=3)
    scenes = make_scenes(4, objects=(1, 3), seed=3)
    ds = demo_voc(root)
    assert len(ds) == 4
    for i in range(4):
        np.testing.assert_array_equal(ds.image(i), scenes.images[i])  # PNG: lossless
        truth = ds.truth(i)
        assert sorted(truth) == sorted(o.label for o in scenes.objects[i])
        for o in scenes.objects[i]:
            assert truth[o.label][1] == [tuple(o.box)]
    assert open_dataset(f"voc:{root}", class_names=ds.class_names).indices() == [0, 1, 2, 3]


# -- COCO ------------------------------------------------------------------------------------------

def make_coco(root, *, annotations=None, images=None, categories=None):
    os.makedirs(root, exist_ok=True)
    rng = np.random.default_rng(1)
    for name, (w, h) in {"x.jpg": (20, 10), "y.jpg": (16, 16)}.items():
        Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(os.path.join(root, name))
    data = {
        "images": images if images is not None else [
            {"id": 1, "file_name": "x.jpg", "width": 20, "height": 10},
            {"id": 2, "file_name": "y.jpg", "width": 16, "height": 16}],
        "categories": categories if categories is not None else [{"id": 3, "name": "car"}, {"id": 1, "name": "cat"}],
        "annotations": annotations if annotations is not None else [
            # a triangle polygon in image 1, class cat (id 1 -> class 0)
            {"id": 10, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "iscrowd": 0,
             "segmentation": [[0, 0, 10, 0, 0, 10]]},
            # an uncompressed RLE in image 2, class car (id 3 -> class 1): the first 16 pixels (column 0)
            {"id": 11, "image_id": 2, "category_id": 3, "bbox": [0, 0, 1, 16], "iscrowd": 1,
             "segmentation": {"size": [16, 16], "counts": [0, 16, 240]}},
        ]}
    path = os.path.join(root, "instances.json")
    with open(path, "w") as f:
        json.dump(data, f)
    return path


def test_coco_polygon_and_rle_masks(tmp_path):
    pytest.importorskip("pycocotools")
    path = make_coco(str(tmp_path / "coco"))
    ds = COCODataset(path, tmp_path / "coco")
    assert ds.class_names == ("cat", "car") and len(ds) == 2
    mask, boxes, n, _ = ds.truth(0)[0]
    assert boxes == [(0, 0, 10, 10)] and n == 1
    assert mask[1, 1] and not mask[9, 9] and not mask[:, 12:].any()  # a triangle, not its box
    rle_mask = ds.truth(1)[1][0]
    assert rle_mask[:, 0].all() and rle_mask.sum() == 16
    boxes_only = COCODataset(path, tmp_path / "coco", masks=False)
    assert boxes_only.truth(0)[0][0].sum() == 100
    assert open_dataset(f"coco:{path}").indices() == [0, 1]


@pytest.mark.parametrize("kwargs, problem", [
    ({"annotations": [{"id": 1, "image_id": 9, "category_id": 1, "bbox": [0, 0, 1, 1], "segmentation": []}]},
     "image id 9"),
    ({"annotations": [{"id": 1, "image_id": 1, "category_id": 5, "bbox": [0, 0, 1, 1], "segmentation": []}]},
     "category id 5"),
    ({"annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, -1, 1], "segmentation": []}]},
     "bbox"),
    ({"annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1]}]}, "no 'segmentation'"),
    ({"images": [{"id": 1, "width": 3, "height": 3}]}, "no 'file_name'"),
    ({"categories": [{"id": "one", "name": "cat"}]}, "'id' is str"),
])
def test_malformed_coco_names_file_and_problem(tmp_path, kwargs, problem):
    pytest.importorskip("pycocotools")
    path = make_coco(str(tmp_path / "coco"), **kwargs)
    with pytest.raises(DatasetError, match=problem) as info:
        COCODataset(path, tmp_path / "coco")
    assert "instances.json" in str(info.value)


def test_coco_not_json_and_missing(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(DatasetError, match="bad.json: not valid JSON"):
        COCODataset(bad, tmp_path, masks=False)
    with pytest.raises(DatasetError, match="not found"):
        COCODataset(tmp_path / "none.json", tmp_path, masks=False)
    with pytest.raises(ValueError, match="voc:PATH"):
        open_dataset("imagenet:/x")


# -- hostile files: an image over the pixel limit, XML with entities ------------------------------------

def test_an_image_over_the_pixel_limit_is_refused_from_its_header(voc, monkeypatch):
    from PIL import Image as PILImage

    from ..bombs import bomb_png
    path = os.path.join(voc, "JPEGImages", "b.jpg")
    bomb_png(path, 11000, 11000)  # 121 megapixels in 15 KB (PIL reads the format from the content)
    ds = VOCDataset(voc, class_names=CLASSES)
    decoded = []
    monkeypatch.setattr(PILImage.Image, "load", lambda self: decoded.append(self.size))
    with pytest.raises(ImageDecodeError, match="11000 x 11000 pixels .* over the limit of 50,000,000") as err:
        ds.image(1)
    assert "b.jpg" in str(err.value) and decoded == []
    monkeypatch.undo()
    ds.max_pixels = 100  # the dataset's own limit (the CLI's --max-pixels), here under a's size too
    with pytest.raises(ImageDecodeError, match="limit of 100 pixels"):
        ds.image(0)


def test_voc_xml_with_entities_is_refused(tmp_path):
    """A "billion laughs" annotation (entities expanding to gigabytes) is refused, not expanded."""
    from saliency_widgets.datasets.voc import parse_voc_xml

    from ..bombs import BILLION_LAUGHS
    path = tmp_path / "laughs.xml"
    path.write_text(BILLION_LAUGHS)
    with pytest.raises(DatasetError, match="laughs.xml: refused XML .*Entities"):
        parse_voc_xml(path, class_names=CLASSES)
    external = tmp_path / "external.xml"
    external.write_text('<?xml version="1.0"?><!DOCTYPE annotation [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                        '<annotation><filename>&x;</filename></annotation>')
    with pytest.raises(DatasetError, match="external.xml: refused XML"):
        parse_voc_xml(external, class_names=CLASSES)
