import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from saliency_widgets.metrics import max_point, pointing_accuracy, pointing_game

# values on a coarse grid: every strictly increasing transform below keeps them distinct and ordered,
# so an exact equality is the right check (no float merging of near-ties)
GRID = st.integers(-20, 20).map(lambda v: v / 4)
TRANSFORMS = {"exp": np.exp, "affine": lambda a: 3 * a + 7, "cube": lambda a: a ** 3, "arctan": np.arctan}


def test_hit_within_tolerance_and_strict_miss():
    sal = np.zeros((64, 64))
    sal[20, 20] = 1.0
    box = (30, 30, 40, 40)  # nearest truth pixel (30, 30): distance sqrt(200) ~ 14.1
    assert pointing_game(sal, box, tolerance=15)
    assert not pointing_game(sal, box, tolerance=14)
    assert not pointing_game(sal, box, tolerance=0)


def test_distance_equal_to_tolerance_is_a_miss():
    """TorchRay accepts (v + u) < tolerance**2: a truth pixel exactly ``tolerance`` px away is a miss."""
    sal = np.zeros((20, 20))
    sal[5, 5] = 1.0
    truth = np.zeros((20, 20), bool)
    truth[5, 8] = True  # 3 px to the right
    assert not pointing_game(sal, truth, tolerance=3)
    assert pointing_game(sal, truth, tolerance=3.01)
    truth = np.zeros((20, 20), bool)
    truth[8, 9] = True  # 3-4-5 triangle: distance exactly 5
    assert not pointing_game(sal, truth, tolerance=5)
    assert pointing_game(sal, truth, tolerance=6)


def test_strict_means_on_the_object():
    sal = np.zeros((10, 10))
    sal[4, 4] = 1.0
    truth = np.zeros((10, 10), bool)
    truth[4, 5] = True  # one pixel off: a hit at 15 px, not under the strict rule
    assert pointing_game(sal, truth, tolerance=15) and not pointing_game(sal, truth, tolerance=0)
    truth[4, 4] = True
    assert pointing_game(sal, truth, tolerance=0)


def test_box_list_is_a_union_and_mask_works():
    sal = np.zeros((40, 40))
    sal[35, 5] = 1
    assert pointing_game(sal, [(20, 0, 30, 10), (0, 30, 10, 40)], tolerance=0)
    assert not pointing_game(sal, [(20, 0, 30, 10)], tolerance=0)
    mask = np.zeros((40, 40), bool)
    mask[35, 5] = True
    assert pointing_game(sal, mask, tolerance=0)


@given(arrays(np.float64, (12, 15), elements=GRID), st.integers(0, 4), st.sampled_from(sorted(TRANSFORMS)),
       st.integers(0, 3))
@settings(max_examples=80, deadline=None)
def test_invariant_under_strictly_increasing_maps(sal, tol, fn, seed):
    mask = np.zeros((12, 15), bool)
    mask[2:6, 9:13] = True
    transformed = TRANSFORMS[fn](sal)
    assert max_point(transformed, tie_seed=seed) == max_point(sal, tie_seed=seed)
    assert (pointing_game(transformed, mask, tolerance=tol, tie_seed=seed)
            == pointing_game(sal, mask, tolerance=tol, tie_seed=seed))


@given(arrays(np.float64, (9, 7), elements=GRID), st.integers(0, 2 ** 32 - 1))
@settings(max_examples=60, deadline=None)
def test_max_point_is_a_maximum(sal, seed):
    y, x = max_point(sal, tie_seed=seed)
    assert sal[y, x] == sal.max()


def test_ties_are_not_broken_in_raster_order():
    """On a flat map the point is a seeded random pixel: the top-left and bottom-right quadrants
    are hit equally often (raster order would always pick pixel (0, 0))."""
    sal = np.ones((16, 16))
    top_left, bottom_right = np.zeros((16, 16), bool), np.zeros((16, 16), bool)
    top_left[:8, :8] = True
    bottom_right[8:, 8:] = True
    rates = [np.mean([pointing_game(sal, t, tolerance=0, tie_seed=s) for s in range(200)])
             for t in (top_left, bottom_right)]
    assert all(0.15 < r < 0.35 for r in rates), rates  # both near the quadrant's share, 1/4
    assert max_point(sal, tie_seed=1) == max_point(sal, tie_seed=1)  # deterministic for a seed


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


def test_bad_tolerance():
    with pytest.raises(ValueError, match="tolerance"):
        pointing_game(np.zeros((4, 4)), (0, 0, 2, 2), tolerance=-1)


def test_empty_results():
    with pytest.raises(ValueError, match="at least one"):
        pointing_accuracy([])
