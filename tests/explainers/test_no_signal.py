"""No map drawn from no signal: a target score that never moves under the perturbations is flagged.

The issue's case: a 32 x 32 all-ones image whose class evidence sits in one
quadrant, under the default occluder (``"auto"``: the image's mean colour, i.e.
1 here), so every masked image *is* the image.  Every perturbation method used to
min-max normalise the resulting flat raw map into a confident-looking picture.

Checked on a broken copy: with ``_flag_no_signal`` in explainers/base.py returning
``exp`` unchanged, every case of ``test_one_colour_image_under_the_mean_occluder``
and ``test_a_model_that_ignores_its_input`` fails (no_signal False, saliency max 1).
"""
import warnings

import numpy as np
import pytest

from saliency_widgets import Explanation
from saliency_widgets.explanation import NO_SIGNAL_TOL, has_no_signal
from saliency_widgets.registry import METHODS, build

from ..conftest import RegionModel

PERTURBATION = [k for k, spec in METHODS.items() if spec.needs_model and not getattr(spec, "needs_gradients", False)]
QUADRANT = (slice(0, 16), slice(0, 16))


def _build(key, model, **kw):
    spec = METHODS[key]
    return build(key, model, **({spec.budget_arg: 200} if spec.budget_arg else {}), **kw)


def _explain(explainer, image, target=0):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        exp = explainer.explain(image, target)
    return exp, [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]


class Blind:
    """Ignores its input: the same probabilities for every image."""

    def __call__(self, x):
        return np.tile(np.array([[0.6, 0.4]], np.float32), (len(x), 1))


def test_every_perturbation_method_is_covered():
    assert {"rise", "lime", "occlusion"} <= set(PERTURBATION) and any("mask-update" in k for k in PERTURBATION)


@pytest.mark.parametrize("key", PERTURBATION)
def test_one_colour_image_under_the_mean_occluder(key):
    exp, msgs = _explain(_build(key, RegionModel(QUADRANT)), np.ones((32, 32, 3), np.float32))
    assert exp.no_signal and exp.done
    lo, hi = exp.score_range
    assert lo == hi == pytest.approx(1.0)  # the quadrant's mean, never changed
    assert not exp.saliency.any(), "a blank display map, not normalised noise"
    assert len(msgs) == 1 and "never changed" in msgs[0] and "no signal" in msgs[0]
    assert "NO SIGNAL" in repr(exp)


@pytest.mark.parametrize("key", PERTURBATION)
def test_a_model_that_ignores_its_input(key):
    image = np.random.default_rng(0).random((32, 32, 3)).astype(np.float32)
    exp, msgs = _explain(_build(key, Blind()), image)
    assert exp.no_signal and exp.score_range == pytest.approx((0.6, 0.6)) and not exp.saliency.any()
    assert len(msgs) == 1


@pytest.mark.parametrize("key", PERTURBATION)
def test_a_normal_case_is_not_flagged(key):
    """The same image and model with a black occluder: masking the quadrant moves the score."""
    exp, msgs = _explain(_build(key, RegionModel(QUADRANT), occluder="zero"), np.ones((32, 32, 3), np.float32))
    assert not exp.no_signal and msgs == []
    lo, hi = exp.score_range
    assert hi - lo > 0.05 and exp.saliency.max() == pytest.approx(1.0)


def test_partial_maps_are_flagged_and_only_the_final_one_warns():
    explainer = build("rise", RegionModel(QUADRANT), masks=300, batch_size=50)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        parts = list(explainer.iter_explain(np.ones((32, 32, 3), np.float32), 0))
    assert len(parts) > 1 and all(p.no_signal and not p.saliency.any() for p in parts)
    assert sum(issubclass(w.category, RuntimeWarning) for w in caught) == 1


def test_methods_without_perturbations_have_no_range():
    exp = build("center").explain(np.ones((32, 32, 3), np.float32))
    assert exp.score_range is None and not exp.no_signal and exp.saliency.max() == 1.0


def test_the_tolerance():
    assert has_no_signal((0.5, 0.5)) and has_no_signal((1.0, 1.0 + 0.5 * NO_SIGNAL_TOL))
    assert not has_no_signal((1.0, 1.0 + 2 * NO_SIGNAL_TOL)) and not has_no_signal(None)
    assert has_no_signal((1000.0, 1000.0 + 1e-4))  # logits: relative to the scores' size
    assert not has_no_signal((1e-3, 1e-3 + 1e-7))  # a low-probability target that moves is signal
    assert has_no_signal((0.0, 0.0))


def test_the_flag_survives_save_and_load(tmp_path):
    exp, _ = _explain(_build("occlusion", Blind()), np.zeros((32, 32, 3), np.float32))
    back = Explanation.load(exp.save(tmp_path / "e"))
    assert back.no_signal and back.score_range == pytest.approx((0.6, 0.6))


@pytest.mark.parametrize("framework", ["torch", "jax", "tensorflow"])
def test_device_paths_carry_the_score_range(framework):
    """The compiled steps of every backend carry the range: flat on a one-colour image, open on another."""
    from .test_device_paths import EXPLAINERS, framework_models
    model = framework_models()[framework]
    ones = np.ones((16, 16, 3), np.float32)
    for name, make in EXPLAINERS.items():
        flat, msgs = _explain(make(model, 5), ones * 0.5)  # occluder 0 on a 0.5 image: the score moves
        assert not flat.no_signal and flat.score_range[1] - flat.score_range[0] > 0.05, name
        same = type(make(model, 5))(model, **{**make(model, 5).params, "occluder": "mean", "batch_size": 5})
        exp, msgs = _explain(same, ones)
        assert exp.no_signal and not exp.saliency.any() and len(msgs) == 1, name


@pytest.mark.parametrize("name", ["rise", "mask-update"])
def test_jax_blocks_of_batches_carry_the_score_range(name):
    """The lax.scan block path (on a GPU; forced here on the CPU) carries the range like a call per batch."""
    from saliency_widgets import as_model
    from .test_device_paths import EXPLAINERS, jax_region, numpy_region
    image = np.random.default_rng(0).uniform(0, 1, (16, 16, 3)).astype(np.float32)
    m = as_model(jax_region)
    m.backend.pixels_per_dispatch = 24 * 16 * 16
    exp = EXPLAINERS[name](m, 5).explain(image, 0)
    ref = EXPLAINERS[name](numpy_region, 64).explain(image, 0)  # the NumPy reference's range
    assert any(k[0].endswith("-block") for k in m.backend._compiled)
    np.testing.assert_allclose(exp.score_range, ref.score_range, atol=1e-6)
    assert not exp.no_signal
    flat = type(EXPLAINERS[name](m, 5))(m, **{**EXPLAINERS[name](m, 5).params, "occluder": "mean", "batch_size": 5})
    exp, msgs = _explain(flat, np.full((16, 16, 3), 0.3, np.float32))
    assert exp.no_signal and len(msgs) == 1
