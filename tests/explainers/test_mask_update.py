import math

import numpy as np
import pytest
from skimage.transform import resize

from saliency_widgets import MaskUpdate, ModelError
from saliency_widgets.explanation import normalize_map

from ..conftest import RegionModel, in_region


def reference_mask_update(model, image, target, *, steps, grid, initial_keep=0.3, lr=0.02, seed=0):
    """method.md section 1, step by step, one cell at a time, with skimage's resize."""
    rng = np.random.default_rng(seed)
    h, w = image.shape[:2]
    ch, cw = math.ceil(h / grid), math.ceil(w / grid)

    def upsample(g):
        big = resize(g, ((grid + 1) * ch, (grid + 1) * cw), order=1, mode="reflect", anti_aliasing=False)
        dy = rng.integers(0, ch, size=1)[0]
        dx = rng.integers(0, cw, size=1)[0]
        return big[dy:dy + h, dx:dx + w]

    g = (rng.random((grid, grid)) > 1 - initial_keep).astype(float)
    mask = upsample(g)
    p_prev, total, trace = 0.0, np.zeros((h, w)), []
    for _ in range(steps):
        p = float(model(image[None] * mask[None, :, :, None])[0, target])
        trace.append(p)
        d = p - p_prev
        u = rng.random((grid, grid))
        new = np.zeros_like(g)
        for i in range(grid):
            for j in range(grid):
                if g[i, j] > 0:
                    new[i, j] = 1.0 if u[i, j] < p else 0.0
                else:
                    new[i, j] = 1.0 if u[i, j] < 1 - p else 0.0
                if new[i, j] > g[i, j]:
                    new[i, j] = 1 - lr * abs(d)
        g = new
        mask = upsample(g)
        total += mask
        p_prev = p
    return total, np.array(trace)


@pytest.mark.parametrize("shape", [(12, 12, 3), (13, 9, 1)])
def test_faithful_equals_step_by_step_reference(shape):
    model = RegionModel((slice(0, 6), slice(0, 6)))
    image = np.random.default_rng(5).uniform(0.5, 1, shape).astype(np.float32)
    exp = MaskUpdate.faithful(model, occluder="zero", steps=60, grid=4, seed=3).explain(image, target=0)
    raw, trace = reference_mask_update(model, image, 0, steps=60, grid=4, seed=3)
    np.testing.assert_allclose(exp.trace, trace, rtol=1e-5)
    np.testing.assert_allclose(exp.raw, raw, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(exp.saliency, normalize_map(raw), atol=1e-4)


@pytest.mark.parametrize("kwargs", [
    dict(), dict(chains=1, update="prototype", weighting="none"), dict(chains=4, weighting="score"),
    dict(update="prototype", weighting="slope"),
])
def test_quadrant_model_map_peaks_in_quadrant(quadrant_model, ones_image, kwargs):
    exp = MaskUpdate(quadrant_model, occluder="zero", steps=1500, grid=4, seed=0, **kwargs).explain(ones_image, target=0)
    assert in_region(exp.saliency, quadrant_model.region)
    inside = exp.saliency[:8, :8].mean()
    assert inside > 2 * exp.saliency[8:, 8:].mean()


def test_brightness_region_model(ones_image):
    region = (slice(4, 12), slice(9, 16))
    model = RegionModel(region)
    exp = MaskUpdate(model, occluder="zero", steps=2000, grid=8, seed=1).explain(ones_image, target=0)
    inside = np.zeros((16, 16), bool)
    inside[region] = True
    assert exp.saliency[inside].mean() > 3 * exp.saliency[~inside].mean()
    assert in_region(exp.saliency, region)


def test_same_seed_same_map_and_different_seed_differs(quadrant_model, ones_image):
    a = MaskUpdate(quadrant_model, occluder="zero", steps=200, seed=7).explain(ones_image, target=0)
    b = MaskUpdate(quadrant_model, occluder="zero", steps=200, seed=7).explain(ones_image, target=0)
    c = MaskUpdate(quadrant_model, occluder="zero", steps=200, seed=8).explain(ones_image, target=0)
    np.testing.assert_array_equal(a.raw, b.raw)
    assert not np.array_equal(a.raw, c.raw)


def test_generator_seed_is_used_without_global_state(quadrant_model, ones_image):
    np.random.seed(0)
    a = MaskUpdate(quadrant_model, occluder="zero", steps=64, seed=np.random.default_rng(3)).explain(ones_image, 0)
    np.random.seed(1)
    b = MaskUpdate(quadrant_model, occluder="zero", steps=64, seed=np.random.default_rng(3)).explain(ones_image, 0)
    np.testing.assert_array_equal(a.raw, b.raw)


@pytest.mark.parametrize("steps,chains", [(100, 1), (100, 8), (101, 8), (5, 16)])
def test_partials_grow_and_spend_exactly_steps(quadrant_model, ones_image, steps, chains):
    parts = list(MaskUpdate(quadrant_model, occluder="zero", steps=steps, chains=chains, seed=0).iter_explain(ones_image, 0))
    n = [p.n_forward for p in parts]
    assert n == sorted(n) and len(set(n)) == len(n) and n[-1] == steps
    assert [p.done for p in parts] == [False] * (len(parts) - 1) + [True]
    assert quadrant_model.calls == 1 + len(parts)  # the unmasked image, then one batch per step
    assert max(quadrant_model.batches[1:]) == min(steps, chains)
    assert len(parts[-1].trace) == len(parts)
    assert parts[-1].mask.shape == (16, 16)


def test_closing_the_generator_stops_early(quadrant_model, ones_image):
    gen = MaskUpdate(quadrant_model, occluder="zero", steps=1000, chains=10, seed=0).iter_explain(ones_image, 0)
    first = next(gen)
    gen.close()
    assert first.n_forward == 10 and not first.done
    assert quadrant_model.calls == 2


def test_saliency_is_float32_in_unit_interval(quadrant_model, ones_image):
    exp = MaskUpdate(quadrant_model, occluder="zero", steps=300, seed=0).explain(ones_image, 0)
    assert exp.saliency.dtype == np.float32 and exp.saliency.shape == (16, 16)
    assert exp.saliency.min() >= 0 and exp.saliency.max() == pytest.approx(1.0)


def test_default_target_is_top1(quadrant_model):
    dark = np.full((16, 16, 3), 0.1, np.float32)  # class 1 wins (p = 0.9)
    exp = MaskUpdate(quadrant_model, occluder="zero", steps=16, seed=0).explain(dark)
    assert exp.target == 1 and exp.score == pytest.approx(0.9)


@pytest.mark.parametrize("name", ["steps", "grid", "chains", "batch_size"])
@pytest.mark.parametrize("value", [0, -3])
def test_settings_below_one_are_rejected(quadrant_model, name, value):
    with pytest.raises(ValueError, match=name):
        MaskUpdate(quadrant_model, occluder="zero", **{name: value})


def test_bad_options_are_named(quadrant_model):
    with pytest.raises(ValueError, match="update"):
        MaskUpdate(quadrant_model, occluder="zero", update="fast")
    with pytest.raises(ValueError, match="weighting"):
        MaskUpdate(quadrant_model, occluder="zero", weighting="yes")
    with pytest.raises(TypeError, match="steps"):
        MaskUpdate(quadrant_model, occluder="zero", steps=2.5)


def test_model_that_raises_reports_the_step(ones_image):
    calls = []

    def flaky(x):
        calls.append(1)
        if len(calls) == 4:
            raise RuntimeError("GPU fell off")
        return np.tile([0.6, 0.4], (len(x), 1))

    with pytest.raises(ModelError, match=r"step 2.*GPU fell off"):
        MaskUpdate(flaky, occluder="zero", steps=50, chains=5, seed=0).explain(ones_image, 0)
