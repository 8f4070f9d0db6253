"""The contract every registered method keeps, checked for each one the registry collects.

Parametrised over ``METHODS`` and ``STUDY_READINGS``: a method added later (one file in
``explainers/`` and its import line) is checked here with no test edited.  Black-box methods
run on a NumPy callable; methods that need gradients on the shipped Keras demo model (and on a
PyTorch module, which they must either explain or refuse with a clear TypeError).
"""
import json

import numpy as np
import pytest

from saliency_widgets import ModelError
from saliency_widgets.registry import METHODS, STUDY_READINGS, build, build_checked, get_method, label_of

from ..conftest import RegionModel

ALL = {**METHODS, **STUDY_READINGS}
KEYS = list(ALL)
OFFERED = list(METHODS)


def need(module: str, extra: str):
    """Import an optional framework, or skip saying which extra installs it."""
    return pytest.importorskip(module, reason=f"{module} is optional: pip install saliency_widgets[{extra}]")


@pytest.fixture(scope="module")
def keras_model():
    need("keras", "tf")
    from saliency_widgets.demo import load_model
    return load_model()


@pytest.fixture(scope="module")
def scene():
    from saliency_widgets.demo import make_scenes
    return make_scenes(1, seed=2).images[0].astype(np.float32)  # 96 x 96, what the demo model takes


@pytest.fixture(scope="module")
def small_image():
    rng = np.random.default_rng(1)  # blocks of colour plus noise: SLIC finds several superpixels
    img = np.kron(rng.uniform(0.2, 1.0, (4, 4, 3)), np.ones((4, 4, 1)))
    return np.clip(img + rng.normal(0, 0.08, img.shape), 0, 1).astype(np.float32)


@pytest.fixture
def setup(request, keras_model_if_needed, scene, small_image):
    """(spec, model, image) for the method key in ``request.param``."""
    spec = ALL[request.param]
    if spec.needs_gradients:
        return spec, keras_model_if_needed(), scene
    return spec, RegionModel(), small_image


@pytest.fixture
def keras_model_if_needed(request):
    return lambda: request.getfixturevalue("keras_model")


def small(spec) -> dict:
    """A small budget and small options inside the declared ranges: ``build_checked`` keywords."""
    budget = spec.budget.low if spec.budget is not None else None
    options = {name: max(o.low, min(o.high, 4)) for name, o in spec.options.items()}
    return {"budget": budget, "options": options}


def other_value(option) -> int:
    """A value of ``option`` in its range that is not its default."""
    return option.default + 1 if option.default < option.high else option.default - 1


by_key = pytest.mark.parametrize("setup", KEYS, indirect=True)
offered = pytest.mark.parametrize("setup", OFFERED, indirect=True)


# == the declaration ==========================================================================

@pytest.mark.parametrize("key", KEYS)
def test_declaration_defaults_are_the_constructors(key):
    import inspect
    spec = ALL[key]
    sig = inspect.signature(spec.cls.__init__).parameters
    if spec.budget is not None:
        assert spec.budget.default == sig[spec.budget_arg].default
        assert spec.budget.low <= spec.budget.default <= spec.budget.high
        assert spec.budget.low <= spec.ui_budget <= spec.budget.high
    for name, opt in spec.options.items():
        assert opt.default == sig[name].default and opt.low <= opt.default <= opt.high, name
    for name in spec.fixed:
        assert name in sig, name
    assert spec.seeded == ("seed" in sig)
    assert spec.summary and get_method(key) is spec and get_method(spec.label) is spec
    import pickle
    decl = spec.declaration  # travels with a built explainer (pickled, deep-copied)
    assert pickle.loads(pickle.dumps(decl)) == decl and hash(pickle.loads(pickle.dumps(decl))) == hash(decl)


def test_every_class_in_explainers_all_with_declarations_is_registered():
    from saliency_widgets import explainers
    declared = {d.key for name in explainers.__all__
                for d in vars(getattr(explainers, name)).get("declarations", ())}
    assert declared == set(ALL) and len(KEYS) == len(set(KEYS))


# == settings round-trip, seeds and batch sizes ===============================================

@by_key
def test_settings_round_trip(setup):
    spec, model, image = setup
    e = build_checked(spec.key, model, seed=3, **small(spec))
    again = type(e)(e.model, **json.loads(json.dumps(e.params)))
    assert again.params == e.params and again.label == e.label
    np.testing.assert_array_equal(again.explain(image, 0).raw, e.explain(image, 0).raw)


@by_key
def test_same_seed_same_map_for_every_batch_size(setup):
    spec, model, image = setup
    ref = build_checked(spec.key, model, seed=5, **small(spec)).explain(image, 0)
    for batch_size in (1, 7, 64):
        e = build_checked(spec.key, model, seed=5, batch_size=batch_size, **small(spec))
        out = e.explain(image, 0)
        np.testing.assert_allclose(out.raw, ref.raw, atol=1e-5, err_msg=f"batch_size={batch_size}")
        assert out.params == ref.params and out.n_forward == ref.n_forward


@by_key
def test_the_map_and_the_progress_bar_name_the_key_that_runs(setup, monkeypatch):
    spec, model, image = setup
    import tqdm.auto
    seen = []

    class Bar:
        def __init__(self, *, desc, **kwargs):
            seen.append(desc)
            self.n = 0

        def update(self, k):
            self.n += k

        def close(self):
            pass

    monkeypatch.setattr(tqdm.auto, "tqdm", Bar)
    kwargs = {"progress": True} if spec.accepts("progress") else {}
    e = build_checked(spec.key, model, **small(spec), **kwargs)
    exp = e.explain(image, 0)
    assert e.method == exp.method == spec.key
    assert seen == ([spec.key] if kwargs else [])


# == bad input: the cases of test_bad_input.py, for every method ==============================

def _bad_images(h, w):
    return [(np.ones((2, h, w, 3)), ValueError, "shape"), (np.ones(16), ValueError, "shape"),
            (np.ones((0, w, 3)), ValueError, "empty"), (np.full((h, w, 3), np.nan), ValueError, "NaN"),
            (np.full((h, w, 3), np.inf), ValueError, "NaN or inf"), (np.ones((1, h, w, 3)), ValueError, "one image"),
            (np.array([["a"]]), TypeError, "numeric")]


@by_key
@pytest.mark.parametrize("case", range(7))
def test_bad_images_are_refused_clearly(setup, case):
    spec, model, image = setup
    bad, exc, match = _bad_images(*image.shape[:2])[case]
    e = build_checked(spec.key, model, **small(spec))
    with pytest.raises(exc, match=match):
        e.explain(bad, 0)
    with pytest.raises(exc, match=match):
        e.iter_explain(bad, 0)  # at the call, not at the first next()


@by_key
@pytest.mark.parametrize("target,exc,match", [
    ("K", ValueError, r"out of range.*\[0, K\)"), (-1, ValueError, "range"), (1.0, TypeError, "integer"),
    ("cat", TypeError, "integer"), (True, TypeError, "integer")])
def test_bad_targets_are_refused_clearly(setup, target, exc, match):
    spec, model, image = setup
    e = build_checked(spec.key, model, **small(spec))
    if target == "K":
        if not spec.needs_model:
            # no model, no class count: the one case a method that reads no model cannot check
            assert e.explain(image, 10 ** 6).target == 10 ** 6
            return
        k = e.model.predict(e.model.prepare(image)[None]).shape[1]
        target, match = k, match.replace("K", str(k))
    with pytest.raises(exc, match=match):
        e.explain(image, target)
    assert e.explain(image, np.int64(1)).target == 1  # a NumPy integer is a class index


@pytest.mark.parametrize("key", [k for k in KEYS if ALL[k].needs_model])
@pytest.mark.parametrize("output,match", [
    (lambda x: np.ones(len(x)), r"\(B, K\)"),
    (lambda x: np.ones((len(x) + 1, 2)) / 2, r"\(B, K\)"),
    (lambda x: np.full((len(x), 2), np.nan), "NaN"),
])
def test_bad_model_outputs_are_refused_clearly(key, output, match, small_image):
    spec = ALL[key]
    if spec.needs_gradients:  # a plain callable has no gradients: refused when built, saying so
        with pytest.raises(TypeError, match="Keras|gradient|torch|JAX"):
            build_checked(key, output, **small(spec))
        return
    with pytest.raises(ModelError, match=match):
        build_checked(key, output, **small(spec)).explain(small_image, 0)


@pytest.mark.parametrize("key", [k for k in KEYS if ALL[k].needs_gradients])
def test_gradient_methods_explain_a_torch_module_or_refuse_it_clearly(key):
    need("torch", "torch")
    from ..toy_frameworks import make_torch
    spec = ALL[key]
    module = make_torch()
    image = np.zeros((12, 16, 3), np.float32)
    image[:, :8, 0] = 255.0  # red left half: class 0
    try:
        e = build_checked(key, module, seed=3, **small(spec))
    except (TypeError, ValueError) as exc:  # no gradients of that kind, or (Guided Backprop) no nn.ReLU to guide
        assert any(word in str(exc) for word in ("Keras", "gradient", "ReLU")), exc
        return
    a = e.explain(image, 0)
    b = type(e)(e.model, **e.params).explain(image, 0)
    np.testing.assert_array_equal(a.raw, b.raw)
    assert a.raw.shape == (12, 16)


# == labels ===================================================================================

@by_key
def test_the_label_at_the_defaults_is_the_registry_label(setup):
    spec, model, _ = setup
    e = build(spec.key, model)
    assert e.label == label_of(e) == spec.label == spec.label_for({})


@by_key
def test_the_label_names_the_settings_that_ran(setup):
    spec, model, _ = setup
    for name, option in spec.options.items():
        value = other_value(option)
        e = build_checked(spec.key, model, options={name: value})
        assert e.label != spec.label and str(value) in e.label, (name, e.label)
        assert e.label == spec.label_for({name: value}), name
    if spec.budget is not None:
        b = spec.budget.low
        e = build_checked(spec.key, model, budget=b)
        assert label_of(e, budget=True) == spec.label_for({spec.budget_arg: b}, budget=True)
        if spec.budget_arg in spec.declaration.template_fields:  # the template names the budget itself
            assert str(b) in e.label and e.label != spec.label and label_of(e, budget=True) == e.label
        else:  # the budget is named on request: tables hold it in their own column (n_forward)
            assert e.label == spec.label
            assert label_of(e, budget=True) == f"{spec.label} @ {b} {spec.budget_arg}"


def test_chains_4_says_4_chains():
    e = build_checked("mask-update", RegionModel(), options={"chains": 4})
    assert e.label == "mask-update (4 chains, score-weighted)"
    e = build_checked("mask-update-paper-chains", RegionModel(), options={"chains": 4, "grid": 5}, budget=300)
    assert e.label == "mask-update (paper rules, 4 chains) [grid=5]"
    assert label_of(e, budget=True) == "mask-update (paper rules, 4 chains) [grid=5] @ 300 steps"


# == front ends: the CLI and evaluate() build what the Python API builds =======================

@pytest.mark.parametrize("key", OFFERED)
def test_the_cli_and_the_python_api_give_the_same_map(key, keras_model, scene, tmp_path, capsys):
    from PIL import Image

    from saliency_widgets import Explanation
    from saliency_widgets.cli import main
    kw = small(ALL[key])
    src, out, npz = tmp_path / "in.png", tmp_path / "out.png", tmp_path / "e.npz"
    Image.fromarray(scene.astype(np.uint8)).save(src)
    argv = ["explain", str(src), "--method", key, "--seed", "2", "--out", str(out), "--save-npz", str(npz)]
    if kw["budget"] is not None:
        argv += ["--budget", str(kw["budget"])]
    for name, value in kw["options"].items():
        argv += [f"--{name}", str(value)]
    assert main(argv) == 0
    cli = Explanation.load(npz)
    e = build_checked(key, keras_model, seed=2, **kw)
    api = e.explain(np.asarray(Image.open(src)).astype(np.float32))
    np.testing.assert_allclose(cli.raw, api.raw, atol=1e-6)
    assert cli.params == api.params and cli.method == api.method == key
    assert capsys.readouterr().out.startswith(f"{label_of(e, budget=True)} ({key}): class {api.target} ")


@pytest.mark.parametrize("key", KEYS)
def test_evaluate_records_the_built_explainers_settings(key, small_image, keras_model_if_needed, scene):
    from saliency_widgets import evaluate
    from saliency_widgets.cli.evaluate import methods_from_args
    spec, kw = ALL[key], small(ALL[key])
    model, image = (keras_model_if_needed(), scene) if spec.needs_gradients else (RegionModel(), small_image)
    params = spec.checked_params(budget=kw["budget"], options=kw["options"], seed=1)
    built = build(key, model, **params)
    h, w = image.shape[:2]
    rows = evaluate([(key, params)], image[None], [[(0, (0, 0, w // 2, h // 2))]], model=model,
                    metrics=("pointing",), progress=False, sanity=False)
    assert list(rows.settings["explainers"]) == [built.label]
    recorded = rows.settings["explainers"][built.label]
    assert recorded["params"] == built.params and recorded["method"] == key
    assert {r["method"] for r in rows} == {built.label}
    if key in METHODS:  # `evaluate --methods KEY --budget B` names and builds the same
        (label, (k, p)), = methods_from_args(key, kw["budget"], seed=1).items()
        assert k == key and p == spec.checked_params(budget=kw["budget"], seed=1)
        assert label == build(k, model, **p).label


def test_a_class_built_directly_is_named_by_the_reading_its_settings_match():
    from saliency_widgets import MaskUpdate
    e = MaskUpdate(RegionModel(), chains=4)
    assert (e.method, e.label) == ("mask-update", "mask-update (4 chains, score-weighted)")
    e.chains, e.weighting = 1, "none"  # a changed setting renames it (the cached key is dropped)
    assert (e.method, e.label) == ("mask-update-paper", "mask-update (paper)")
    assert MaskUpdate.faithful(RegionModel()).method == "mask-update-paper"
    e.weighting = "slope"  # prototype updates read out by slope: the study reading of issue 24's moonshot
    assert (e.method, e.label) == ("mask-update-slope", "mask-update (1 chains, slope read-out)")
