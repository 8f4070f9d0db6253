import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from saliency_widgets import Rise
from saliency_widgets.explainers.masks import MaskUpsampler

from ..conftest import RegionModel, in_region


def test_rise_equals_its_formula(quadrant_model, ones_image):
    # All N grids first, then all N offsets (rows, columns), from the seed; masks multiply the image.
    exp = Rise(quadrant_model, occluder="zero", masks=40, grid=4, keep=0.5, batch_size=16, seed=2).explain(
        ones_image, 0)
    rng = np.random.default_rng(2)
    up = MaskUpsampler(4, (16, 16))
    grids = (rng.random((40, 4, 4)) < 0.5).astype(np.float32)
    m = up.upsample(grids, up.offsets(rng, 40))
    p = quadrant_model(ones_image[None] * m[..., None])[:, 0]
    np.testing.assert_allclose(exp.raw, np.tensordot(p, m, axes=1) / (40 * 0.5), rtol=1e-5)


@settings(max_examples=15, deadline=None)
@given(bs_a=st.integers(1, 70), bs_b=st.integers(1, 70), masks=st.integers(1, 70), seed=st.integers(0, 2**32 - 1))
def test_same_seed_same_map_whatever_the_batch_size(bs_a, bs_b, masks, seed):
    # Regression: grids and offsets used to be drawn per batch (bs 16 vs 32 differed by up to 0.18).
    model, img = RegionModel(), np.random.default_rng(0).uniform(0, 1, (16, 16, 3)).astype(np.float32)
    a = Rise(model, masks=masks, grid=5, batch_size=bs_a, seed=seed).explain(img, 0)
    b = Rise(model, masks=masks, grid=5, batch_size=bs_b, seed=seed).explain(img, 0)
    # Each batch is summed in float32 (kernels.weighted_sum), so the sums differ by rounding (~1e-7 relative).
    np.testing.assert_allclose(a.raw, b.raw, atol=1e-5)
    np.testing.assert_allclose(a.saliency, b.saliency, atol=1e-5)


def test_quadrant_model(quadrant_model, ones_image):
    exp = Rise(quadrant_model, occluder="zero", masks=500, grid=4, seed=0).explain(ones_image, target=0)
    assert in_region(exp.saliency, quadrant_model.region)


def test_streams_batches_and_partials_grow(ones_image):
    model = RegionModel()
    parts = list(Rise(model, occluder="zero", masks=100, batch_size=32, seed=0).iter_explain(ones_image, 0))
    assert [p.n_forward for p in parts] == [32, 64, 96, 100]
    assert model.batches == [1, 32, 32, 32, 4]  # no batch larger than batch_size
    assert parts[-1].done and not parts[0].done


def test_deterministic(quadrant_model, ones_image):
    a = Rise(quadrant_model, occluder="zero", masks=64, seed=1).explain(ones_image, 0)
    b = Rise(quadrant_model, occluder="zero", masks=64, seed=1).explain(ones_image, 0)
    np.testing.assert_array_equal(a.saliency, b.saliency)


@pytest.mark.parametrize("kwargs,match", [(dict(masks=0), "masks"), (dict(grid=0), "grid"),
                                          (dict(keep=0.0), "keep"), (dict(batch_size=0), "batch_size")])
def test_bad_settings(quadrant_model, kwargs, match):
    with pytest.raises(ValueError, match=match):
        Rise(quadrant_model, occluder="zero", **kwargs)
