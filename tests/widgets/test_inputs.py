"""What users hand the widget: labelled truth and uploaded files."""
import io
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from saliency_widgets.widgets.inputs import image_from_bytes, labelled_objects, labelled_truth

LABELS = ["ring", "square", "cross"]


def test_objects_of_one_class_are_their_union():
    a, b = np.zeros((10, 10), bool), np.zeros((10, 10), bool)
    a[:2, :2] = True
    b[8:, 8:] = True
    objs = [SimpleNamespace(label=1, mask=a, box=(0, 0, 2, 2)), SimpleNamespace(label=1, mask=b, box=(8, 8, 10, 10)),
            SimpleNamespace(label=2, mask=None, box=(4, 4, 6, 6))]
    truth = labelled_truth(objs, (10, 10), LABELS)
    assert set(truth) == {1, 2} and (truth[1] == (a | b)).all() and truth[2].sum() == 4


def test_dict_truth_by_index_or_name_boxes_or_masks():
    mask = np.zeros((10, 10), bool)
    mask[5, 5] = True
    truth = labelled_truth({"ring": [(0, 0, 2, 2), (8, 8, 10, 10)], 2: mask}, (10, 10), LABELS)
    assert truth[0].sum() == 8 and (truth[2] == mask).all()


def test_objects_stay_apart_with_their_classes_resolved():
    """Each mask or box is one object (box IoU takes the best of a class's boxes), names become indices."""
    mask = np.zeros((10, 10), bool)
    mask[5:7, 5:8] = True
    objs = labelled_objects({"ring": [(0, 0, 2, 2), (8, 8, 10, 10)], 2: mask}, (10, 10), LABELS)
    assert [(o["label"], o["box"]) for o in objs] == [(0, (0, 0, 2, 2)), (0, (8, 8, 10, 10)), (2, None)]
    assert objs[2]["mask"] is mask
    pairs = labelled_objects([("square", (1, 1, 3, 3)), (1, mask), {"label": "cross", "box": (0, 0, 4, 4)}],
                             (10, 10), LABELS)
    assert [o["label"] for o in pairs] == [1, 1, 2]


@pytest.mark.parametrize("truth,match", [
    ((0, 0, 2, 2), "which class"),
    (np.ones((10, 10), bool), "which class"),
    ({7: (0, 0, 2, 2)}, "out of range"),
    ({"zebra": (0, 0, 2, 2)}, "zebra"),
    ({0: np.zeros((10, 10), bool)}, "empty"),
    ({0: np.ones((4, 4), bool)}, "shape"),
])
def test_truth_without_a_valid_class_is_refused(truth, match):
    with pytest.raises(ValueError, match=match):
        labelled_truth(truth, (10, 10), LABELS)


def test_image_from_bytes_png_jpeg_grey_and_garbage():
    arr = np.full((30, 60, 3), 120, np.uint8)
    for fmt in ("PNG", "JPEG"):
        buf = io.BytesIO()
        Image.fromarray(arr).save(buf, format=fmt)
        out = image_from_bytes(buf.getvalue(), (16, 16))
        assert out.shape == (16, 16, 3) and out.dtype == np.uint8 and abs(int(out.mean()) - 120) <= 2
    assert image_from_bytes(buf.getvalue(), (8, 8), channels=1).shape == (8, 8, 1)
    with pytest.raises(ValueError, match="'x.txt' is not an image: expected a PNG or JPEG"):
        image_from_bytes(b"plain text", (8, 8), name="'x.txt'")
    with pytest.raises(ValueError, match="cannot be read|not an image"):
        image_from_bytes(buf.getvalue()[:40], (8, 8), name="cut.jpg")  # a truncated file
