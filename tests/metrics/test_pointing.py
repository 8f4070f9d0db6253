import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from saliency_widgets.metrics import max_point, pointing_accuracy, pointing_game


def test_hit_within_tolerance_and_strict_miss():
    sal = np.zeros((64, 64))
    sal[20, 20] = 1.0
    box = (30, 30, 40, 40)  # nearest truth pixel (30, 30): distance sqrt(200) ~ 14.1
    assert pointing_game(sal, box, tolerance=15)
    assert not pointing_game(sal, box, tolerance=14)
    assert not pointing_game(sal, box, tolerance=0)


def test_box_list_is_a_union_and_mask_works():
    sal = np.zeros((40, 40))
    sal[35, 5] = 1
    assert pointing_game(sal, [(20, 0, 30, 10), (0, 30, 10, 40)], tolerance=0)
    mask = np.zeros((40, 40), bool)
    mask[35, 5] = True
    assert pointing_game(sal, mask, tolerance=0)


@given(arrays(np.float64, (12, 15), elements=st.floats(-5, 5)), st.integers(0, 4),
       st.sampled_from(["exp", "affine", "cube", "arctan"]))
@settings(max_examples=80, deadline=None)
def test_invariant_under_strictly_increasing_maps(sal, tol, fn):
    f = {"exp": np.exp, "affine": lambda a: 3 * a + 7, "cube": lambda a: a ** 3, "arctan": np.arctan}[fn]
    mask = np.zeros((12, 15), bool)
    mask[2:6, 9:13] = True
    transformed = f(sal)
    if max_point(transformed) != max_point(sal):  # float rounding may merge near-ties
        return
    assert pointing_game(transformed, mask, tolerance=tol) == pointing_game(sal, mask, tolerance=tol)


def test_truth_mask_as_saliency_scores_one(quadrant_model):
    from saliency_widgets.demo import make_scenes
    scenes = make_scenes(20, objects=(1, 3), seed=0)
    results = [(o.label, pointing_game(o.mask.astype(float), o.mask, tolerance=0))
               for objs in scenes.objects for o in objs]
    assert pointing_accuracy(results) == 1.0


def test_accuracy_is_mean_over_classes():
    acc, per = pointing_accuracy([(0, True)] * 9 + [(0, False)] + [(1, False)], per_class=True)
    assert per == {0: 0.9, 1: 0.0} and acc == pytest.approx(0.45)
    assert pointing_accuracy([{"target": 2, "hit": True}, {"target": 3, "hit": False}]) == 0.5


@pytest.mark.parametrize("sal,truth,match", [
    (np.zeros((10, 10)), (0, 0, 20, 5), "outside"),
    (np.zeros((10, 10)), (5, 0, 5, 5), "x1 > x0"),
    (np.zeros((10, 10)), np.zeros((10, 10), bool), "empty"),
    (np.full((10, 10), np.nan), (0, 0, 5, 5), "NaN"),
    (np.zeros((10, 10)), np.ones((5, 5), bool), "shape"),
    (np.zeros(10), (0, 0, 5, 5), r"\(H, W\)"),
])
def test_bad_input(sal, truth, match):
    with pytest.raises(ValueError, match=match):
        pointing_game(sal, truth)


def test_empty_results():
    with pytest.raises(ValueError, match="at least one"):
        pointing_accuracy([])
