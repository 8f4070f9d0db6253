import numpy as np
import pytest

from saliency_widgets.metrics import box_iou, iou, threshold_map


def test_iou_of_boxes():
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(50 / 150)
    assert iou((0, 0, 2, 2), (3, 3, 4, 4)) == 0.0


def test_fraction_rule():
    sal = np.zeros((20, 20))
    sal[5:10, 2:12] = 1.0
    sal[15, 15] = 0.4  # below half the max: not in the region
    assert box_iou(sal, (2, 5, 12, 10), rule="fraction", threshold=0.5) == 1.0
    assert box_iou(sal, (2, 5, 12, 10), rule="fraction", threshold=0.3) < 0.5


def test_top_rule_keeps_k_percent():
    sal = np.arange(100, dtype=float).reshape(10, 10)
    region = threshold_map(sal, rule="top", threshold=0.2)
    assert region.sum() == 20 and region[8:].all()
    assert box_iou(sal, (0, 8, 10, 10), rule="top", threshold=0.2) == 1.0


def test_bad_rule_and_threshold():
    with pytest.raises(ValueError, match="rule"):
        box_iou(np.ones((4, 4)), (0, 0, 2, 2), rule="otsu")
    with pytest.raises(ValueError, match="threshold"):
        box_iou(np.ones((4, 4)), (0, 0, 2, 2), threshold=0)
