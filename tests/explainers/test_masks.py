import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from skimage.transform import resize

from saliency_widgets.explainers.masks import MaskUpsampler, interpolation_matrix


@given(n_in=st.integers(1, 12), n_out=st.integers(1, 300))
@settings(max_examples=60, deadline=None)
def test_interpolation_matrix_matches_skimage_resize(n_in, n_out):
    g = np.random.default_rng(n_in * 1000 + n_out).random((n_in, 3))
    ref = resize(g, (n_out, 3), order=1, mode="reflect", anti_aliasing=False)
    np.testing.assert_allclose(interpolation_matrix(n_in, n_out) @ g, ref, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, bool, np.uint8])
def test_upsample_equals_resize_then_crop(dtype):
    up = MaskUpsampler(5, (23, 17))
    rng = np.random.default_rng(0)
    grids = (rng.random((4, 5, 5)) > 0.5).astype(dtype)
    offsets = up.offsets(rng, 4)
    masks = up.upsample(grids, offsets)
    assert masks.shape == (4, 23, 17) and masks.dtype == np.float32
    big = (6 * 5, 6 * 4)  # (s + 1) * ceil(H / s)
    for g, (dy, dx), m in zip(grids, offsets, masks):
        ref = resize(g.astype(float), big, order=1, mode="reflect", anti_aliasing=False)
        np.testing.assert_allclose(m, ref[dy:dy + 23, dx:dx + 17], atol=1e-6)


def test_offsets_cover_one_cell():
    up = MaskUpsampler(8, (64, 40))
    off = up.offsets(np.random.default_rng(1), 2000)
    assert off[:, 0].min() == 0 and off[:, 0].max() == 7
    assert off[:, 1].min() == 0 and off[:, 1].max() == 4


def test_binary_grids_give_masks_in_unit_interval():
    up = MaskUpsampler(7, (30, 30))
    rng = np.random.default_rng(2)
    m = up((rng.random((50, 7, 7)) > 0.5), rng)
    assert m.min() >= -1e-6 and m.max() <= 1 + 1e-6
