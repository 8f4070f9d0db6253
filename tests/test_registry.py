"""One registry of methods: every entry builds and runs, names are unique, ranges hold, front ends agree."""
import numpy as np
import pytest

from saliency_widgets.registry import METHODS, available_methods, build, build_checked, get_method

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
    from saliency_widgets.cli import build_parser
    from saliency_widgets.demo import load_model, make_scenes
    parser = build_parser()
    explain = parser._subparsers._group_actions[0].choices["explain"]
    method = next(a for a in explain._actions if a.dest == "method")
    assert list(method.choices) == list(METHODS)
    w = ExplainWidget(load_model(), make_scenes(1, seed=0).images[0])
    assert [(label, key) for label, key in w.method_dropdown.options] == [(s.label, k) for k, s in METHODS.items()]
    w2 = ExplainWidget(RegionModel(), np.ones((16, 16, 3), np.float32))
    assert [k for _, k in w2.method_dropdown.options] == list(available_methods(gradients=False))


@pytest.mark.parametrize("key", [k for k, s in METHODS.items() if s.seeded and not s.needs_gradients])
def test_a_seeded_method_built_without_a_seed_is_reproducible(key):
    """Every front end builds through the registry: none may run unseeded (evaluate(["rise"]), Dask workers)."""
    a, b = build(key, RegionModel(QUADRANT)), build(key, RegionModel(QUADRANT))
    assert a.params["seed"] == 0
    image = np.zeros((16, 16, 3), np.float32)
    image[QUADRANT] = 1.0
    kw = {"target": 0}
    np.testing.assert_array_equal(a.explain(image, **kw).raw, b.explain(image, **kw).raw)


# -- one checked builder behind every front end ----------------------------------------------------

@pytest.mark.parametrize("key,budget,options,words", [
    ("rise", 0, {}, "rise ('RISE'): masks=0 (the budget) is outside its range [1, 100000]"),
    ("lime", 200_000, {}, "lime ('LIME'): samples=200000 (the budget) is outside its range [1, 100000]"),
    ("rise", None, {"grid": 99}, "rise ('RISE'): grid=99 is outside its range [2, 16]"),
    ("mask-update", None, {"chains": 0}, "chains=0 is outside its range [1, 256]"),
    ("rise", None, {"chains": 4}, "rise ('RISE') offers no setting ['chains']; its settings are ['grid']"),
    ("occlusion", 100, {}, "occlusion ('occlusion') has no budget of forward passes, got budget=100"),
])
def test_front_ends_refuse_a_bad_choice_with_the_same_words(tmp_path, capsys, key, budget, options, words):
    """The class's constructor, the CLI's explain and evaluate and the widget's session: one range check
    (Declaration.check_value), the same words."""
    from saliency_widgets.cli import main
    from saliency_widgets.registry import build_checked
    from saliency_widgets.session import ExplainSession, MethodChoice, RunRequest
    with pytest.raises(ValueError) as direct:
        build_checked(key, RegionModel(), budget=budget, options=options)
    assert words in str(direct.value)
    spec = METHODS[key]
    # a setting the method does not have, or a budget for one without, is the registry's to refuse
    if set(options) <= set(spec.options) and (budget is None or spec.budget_arg is not None):
        budget_kw = {spec.budget_arg: budget} if budget is not None else {}
        with pytest.raises(ValueError) as constructor:
            spec.cls(RegionModel(), **spec.fixed, **budget_kw, **options)
        assert str(constructor.value) == str(direct.value)
    argv = ["explain", str(tmp_path / "never-read.png"), "--method", key, "--out", str(tmp_path / "o.png")]
    argv += ["--budget", str(budget)] if budget is not None else []
    for name, value in options.items():
        argv += [f"--{name}", str(value)]
    assert main(argv) == 2  # checked before the image is read
    assert capsys.readouterr().err == f"error: {direct.value}\n"
    if not options:  # evaluate offers --budget only
        assert main(["evaluate", "--dataset", f"voc:{tmp_path}", "--methods", key, "--budget", str(budget),
                     "--out", str(tmp_path / "r.jsonl")]) == 2
        assert capsys.readouterr().err == f"error: {direct.value}\n"
    if budget is None or METHODS[key].budget_arg is not None:  # the widget's budget slider is shared (below)
        s = ExplainSession(RegionModel(), np.ones((16, 16, 3), np.float32))
        try:
            with pytest.raises(ValueError) as session:
                s.run(RunRequest(0, (MethodChoice(key, budget, options),)))
        finally:
            s.close()
        assert str(session.value) == str(direct.value)


def test_a_non_integer_setting_is_named_with_its_range():
    with pytest.raises(TypeError, match=r"rise \('RISE'\): grid=4.5 must be an integer in \[2, 16\]"):
        build_checked("rise", RegionModel(), options={"grid": 4.5})
    with pytest.raises(TypeError, match=r"masks=True \(the budget\) must be an integer"):
        build_checked("rise", RegionModel(), budget=True)


def test_checked_settings_are_what_runs():
    spec = METHODS["mask-update"]
    assert spec.check(np.int64(300), {"grid": np.int64(4)}) == (300, {"grid": 4})
    assert spec.check() == (spec.budget.default, {})
    exp = build_checked("mask-update", RegionModel(), budget=300, options={"chains": 4}, seed=3, batch_size=8,
                        progress=False)
    assert (exp.steps, exp.chains, exp.params["seed"], exp.batch_size) == (300, 4, 3, 8)
    assert build_checked("center", None, progress=False).params.get("seed") is None  # unseeded: no seed
    with pytest.raises(ValueError, match="fixes"):  # a reading's fixed settings stay fixed
        build_checked("mask-update-paper", RegionModel(), extra={"chains": 4})
    with pytest.raises(ValueError, match=r"\['grid'\] must be given as .* an option"):  # no way around a range
        build_checked("rise", RegionModel(), extra={"grid": 99})
    with pytest.raises(ValueError, match=r"\['budget'\] must be given as the budget"):  # not silently dropped
        build_checked("rise", RegionModel(), budget=200, extra={"budget": 50000})


def test_a_shared_budget_applies_to_the_methods_that_have_one():
    """The widget's budget slider, reproduce's and the sanity checks' budget are shared by several methods."""
    from saliency_widgets.session import MethodChoice, check_choice
    assert METHODS["occlusion"].shared_budget(500) is None and METHODS["rise"].shared_budget(500) == 500
    assert check_choice(MethodChoice("occlusion", 500))[1] is None
    from saliency_widgets.reproduce import standard_explainers
    ex = standard_explainers(RegionModel(), budget=300, methods=["rise", "occlusion", "center"])
    assert ex["RISE"].masks == 300 and set(ex) == {"RISE", "occlusion", "centre baseline"}
    with pytest.raises(ValueError, match="outside its range"):
        standard_explainers(RegionModel(), budget=0, methods=["rise"])


def test_docs_methods_table_is_the_registry():
    """The documentation's table of methods is generated from the declarations when the site is built
    (tools/docs_pages.py); the page's prose examples are what the code computes."""
    from pathlib import Path

    from saliency_widgets.registry import METHODS, build
    page = (Path(__file__).resolve().parents[1] / "docs" / "guide" / "explainers.md").read_text(encoding="utf-8")
    assert "```{include} ../_generated/methods-table.md\n```" in page
    widget = METHODS["rise"].ui_budget
    assert f"`RISE @ {widget} masks` in the\nwidget" in page
    assert build("rise", lambda x: x.mean(axis=(1, 2)), grid=4).label in page  # the bracket example
    assert f"`{build('mask-update', lambda x: x.mean(axis=(1, 2)), chains=4).label}`" in page


def test_methods_that_need_gradients_are_offered_by_the_kind_of_gradients_a_model_has():
    from saliency_widgets.registry import METHODS
    for key, spec in METHODS.items():  # every method that needs gradients says from which frameworks
        assert bool(getattr(spec.cls, "gradient_frameworks", ())) == spec.needs_gradients, key
    keras, torch_, jax_ = (set(available_methods(gradients=k)) for k in ("keras", "torch", "jax"))
    assert {k for k, s in METHODS.items() if s.needs_gradients} <= keras
    assert "grad-cam" in keras and "grad-cam" in torch_ and "grad-cam" not in jax_
    assert "guided-backprop" in torch_ and "guided-backprop" not in jax_
    assert set(available_methods(gradients=None)) == set(available_methods(gradients=False))


def test_the_package_exports_every_registered_explainer_class():
    """saliency_widgets.__all__ takes the explainers from explainers.__all__, the registry's own list."""
    import saliency_widgets
    from saliency_widgets import explainers
    from saliency_widgets.registry import STUDY_READINGS
    classes = {s.cls.__name__ for s in list(METHODS.values()) + list(STUDY_READINGS.values())}
    assert classes <= set(explainers.__all__) <= set(saliency_widgets.__all__)
    for name in saliency_widgets.__all__:
        assert getattr(saliency_widgets, name) is not None, name
