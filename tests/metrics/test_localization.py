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


def test_one_normalisation_for_every_method():
    """Box IoU thresholds the min-max normalised map: an offset or a positive scale (a method's own
    post-processing) does not change the region; a map that is all negative still has one."""
    sal = np.zeros((20, 20))
    sal[5:10, 2:12] = 1.0
    box = (2, 5, 12, 10)
    for f in (lambda a: a - 5, lambda a: 3 * a + 2, lambda a: a - a.mean()):
        assert box_iou(f(sal), box) == 1.0
    assert not threshold_map(np.full((5, 5), 3.0)).any()  # a flat map has no salient region


def test_best_match_among_instances():
    sal = np.zeros((20, 20))
    sal[12:18, 12:18] = 1.0
    assert box_iou(sal, [(0, 0, 4, 4), (12, 12, 18, 18)]) == 1.0


def test_top_rule_ties_are_not_raster_order():
    region = threshold_map(np.zeros((10, 10)), rule="top", threshold=0.2, tie_seed=0)
    assert region.sum() == 20 and not region[:2].all()
    assert np.array_equal(region, threshold_map(np.zeros((10, 10)), rule="top", threshold=0.2, tie_seed=0))
