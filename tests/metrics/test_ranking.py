import numpy as np
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from saliency_widgets.metrics import minmax, rank_order


@given(arrays(np.float64, (6, 5), elements=st.integers(0, 3).map(float)), st.integers(0, 2 ** 32 - 1))
@settings(max_examples=60, deadline=None)
def test_order_is_a_permutation_by_decreasing_value(sal, seed):
    order = rank_order(sal, tie_seed=seed)
    assert sorted(order.tolist()) == list(range(30))
    assert np.all(np.diff(sal.ravel()[order]) <= 0)
    assert np.array_equal(order, rank_order(sal, tie_seed=seed))


def test_ties_in_random_not_raster_order():
    order = rank_order(np.zeros((8, 8)), tie_seed=0)
    assert not np.array_equal(order, np.arange(64))
    assert not np.array_equal(order, rank_order(np.zeros((8, 8)), tie_seed=1))


def test_minmax():
    assert np.allclose(minmax(np.array([[-2.0, 0.0], [2.0, 1.0]])), [[0, 0.5], [1, 0.75]])
    assert not minmax(np.full((3, 3), 7.0)).any()
