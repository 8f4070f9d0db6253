"""One registry of methods: every entry builds and runs, names are unique, ranges hold, front ends agree."""
import numpy as np
import pytest

from saliency_widgets.registry import METHODS, available_methods, build, get_method

from .conftest import RegionModel, in_region

QUADRANT = (slice(0, 8), slice(0, 8))


def test_keys_and_labels_are_unique_and_name_what_runs():
    labels = [s.label for s in METHODS.values()]
    assert len(set(labels)) == len(labels) and len(set(METHODS)) == len(METHODS)
    assert all(k == s.key for k, s in METHODS.items())
    assert METHODS["mask-update-paper"].label == "mask-update (paper)"
    assert METHODS["mask-update"].label == "mask-update (32 chains, score-weighted)"
    assert not set(labels) & set(METHODS) - {"occlusion"}  # a label is never another entry's key


def test_every_default_lies_in_its_range():
    for spec in METHODS.values():
        opts = list(spec.options.values()) + ([spec.budget] if spec.budget is not None else [])
        for opt in opts:
            assert opt.low <= opt.default <= opt.high, spec.key
        assert (spec.budget is None) == (spec.budget_arg is None), spec.key
        for name in spec.options:
            assert spec.accepts(name), f"{spec.key}: the constructor takes no {name!r}"


@pytest.mark.parametrize("key", [k for k, s in METHODS.items() if not s.needs_gradients])
def test_every_entry_builds_and_explains_a_toy_model(key):
    spec = METHODS[key]
    kwargs = {} if spec.budget is None else {"budget": spec.budget.default}
    if spec.seeded:
        kwargs["seed"] = 0
    image = np.zeros((16, 16, 3), np.float32)
    image[QUADRANT] = 1.0  # masking to the mean colour (the default occluder) dims the quadrant that decides
    exp = build(key, RegionModel(QUADRANT), **kwargs).explain(image, target=0)
    assert exp.saliency.shape == (16, 16) and exp.done
    if spec.budget is not None:
        assert exp.n_forward == spec.budget.default
    if key != "center":  # the centre baseline ignores the model: that is its point
        assert in_region(exp.saliency, QUADRANT), key


def test_grad_cam_entry_builds_for_a_keras_model():
    from saliency_widgets.demo import load_model, make_scenes
    scene = make_scenes(1, seed=3)
    exp = build("grad-cam", load_model()).explain(scene.images[0], target=int(scene.labels[0]))
    assert exp.saliency.shape == scene.images[0].shape[:2] and exp.saliency.max() == pytest.approx(1.0)
    assert "grad-cam" not in available_methods(gradients=False)


def test_fixed_settings_cannot_be_overridden_and_names_resolve():
    with pytest.raises(ValueError, match="fixes"):
        build("mask-update-paper", RegionModel(), chains=4)
    assert get_method("RISE") is get_method("rise") is METHODS["rise"]
    with pytest.raises(ValueError, match="unknown method"):
        get_method("mask-update (faithful)")


def test_widget_and_cli_offer_exactly_the_registry_methods():
    from saliency_widgets import ExplainWidget
    from saliency_widgets.__main__ import build_parser
    from saliency_widgets.demo import load_model, make_scenes
    parser = build_parser()
    explain = parser._subparsers._group_actions[0].choices["explain"]
    method = next(a for a in explain._actions if a.dest == "method")
    assert list(method.choices) == list(METHODS)
    w = ExplainWidget(load_model(), make_scenes(1, seed=0).images[0])
    assert [(label, key) for label, key in w.method_dropdown.options] == [(s.label, k) for k, s in METHODS.items()]
    w2 = ExplainWidget(RegionModel(), np.ones((16, 16, 3), np.float32))
    assert [k for _, k in w2.method_dropdown.options] == list(available_methods(gradients=False))


@pytest.mark.parametrize("key", [k for k, s in METHODS.items() if s.seeded])
def test_a_seeded_method_built_without_a_seed_is_reproducible(key):
    """Every front end builds through the registry: none may run unseeded (evaluate(["rise"]), Dask workers)."""
    a, b = build(key, RegionModel(QUADRANT)), build(key, RegionModel(QUADRANT))
    assert a.params["seed"] == 0
    image = np.zeros((16, 16, 3), np.float32)
    image[QUADRANT] = 1.0
    kw = {"target": 0}
    np.testing.assert_array_equal(a.explain(image, **kw).raw, b.explain(image, **kw).raw)
