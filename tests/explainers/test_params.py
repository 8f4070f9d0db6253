"""Settings are declared once (the constructor's signature) and recorded so that the map can be remade."""
import inspect
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from saliency_widgets import CenterBaseline, GradCam, Lime, MaskUpdate, Occlusion, Rise
from saliency_widgets.explainers.base import EXECUTION_PARAMS, MODEL_PARAMS, constructor_params

from ..conftest import RegionModel

CLASSES = [MaskUpdate, Rise, Lime, Occlusion, GradCam, CenterBaseline]
# Small, seeded settings per class (int seeds: a Generator cannot be stored by value).
SMALL = {
    MaskUpdate: dict(steps=40, grid=4, chains=8, seed=3),
    Rise: dict(masks=40, grid=4, seed=3),
    Lime: dict(samples=40, segments=8, seed=3),
    Occlusion: dict(window=4, stride=3),
    GradCam: dict(),
    CenterBaseline: dict(),
}
# A value different from the default for every setting that must change the map.
OTHER = {
    "steps": 48, "grid": 5, "chains": 4, "initial_keep": 0.6, "learning_rate": 0.5, "update": "relative",
    "weighting": "slope", "masks": 48, "keep": 0.3, "samples": 48, "segments": 12, "kernel_width": 0.7,
    "compactness": 0.1, "window": 5, "stride": 2, "occluder": "zero", "seed": 4, "layer": "conv_a",
    "outputs": "logits",
}


@pytest.fixture(scope="module")
def tiny_cnn():
    keras = pytest.importorskip("keras", reason="keras is optional: pip install saliency_widgets[tf]")
    keras.utils.set_random_seed(0)
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv_a")(inputs)
    x = keras.layers.Conv2D(5, 3, strides=2, padding="same", activation="relu", name="conv_b")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(x))


@pytest.fixture
def image():
    # 4 x 4 blocks of random colours plus noise: SLIC finds several superpixels and their
    # shapes depend on compactness.
    rng = np.random.default_rng(1)
    img = np.kron(rng.uniform(0.2, 1.0, (4, 4, 3)), np.ones((4, 4, 1)))
    return np.clip(img + rng.normal(0, 0.08, img.shape), 0, 1).astype(np.float32)


def model_for(cls, tiny_cnn):
    return tiny_cnn if cls is GradCam else RegionModel((slice(0, 8), slice(0, 8)))


def not_params(cls):
    return getattr(cls, "_not_params", EXECUTION_PARAMS | MODEL_PARAMS)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_params_are_the_signature_less_execution_and_model_settings(cls, tiny_cnn):
    # Generic over the signature: a setting added to __init__ but not to params fails here
    # (Lime used to drop value and compactness from a hand-written dict).
    e = cls(model_for(cls, tiny_cnn), **SMALL[cls])
    names = constructor_params(cls)
    assert set(e.get_params()) == set(names)
    assert set(e.params) == set(names) - not_params(cls)
    assert not_params(cls) <= EXECUTION_PARAMS | MODEL_PARAMS | {"value"}  # only the documented exclusions
    assert json.loads(json.dumps(e.params)) == e.params  # JSON-ready


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_every_setting_is_stored_under_its_name(cls, tiny_cnn):
    kwargs = {k: v for k, v in OTHER.items() if k in constructor_params(cls)}
    e = cls(model_for(cls, tiny_cnn), **kwargs)
    for name, value in kwargs.items():
        assert e.get_params()[name] == value, name


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_rebuilt_from_params_gives_the_same_map(cls, tiny_cnn, image):
    model = model_for(cls, tiny_cnn)
    e = cls(model, **SMALL[cls])
    a = e.explain(image, 0)
    again = type(e)(model, **json.loads(json.dumps(e.params)))
    b = again.explain(image, 0)
    assert again.params == e.params
    np.testing.assert_array_equal(a.raw, b.raw)


@pytest.mark.parametrize("cls", [MaskUpdate, Rise, Lime, Occlusion, GradCam], ids=lambda c: c.__name__)
def test_every_recorded_setting_can_change_the_map(cls, tiny_cnn, image):
    # The converse of the test above: each setting in params is one that matters.
    model = model_for(cls, tiny_cnn)
    base = cls(model, **SMALL[cls])
    ref = base.explain(image, 0)
    for name in base.params:
        assert name in OTHER, f"{cls.__name__}.{name}: give it another value in OTHER"  # none goes unchecked
        e = cls(model, **{**SMALL[cls], name: OTHER[name]})
        assert e.params[name] != base.params[name], name
        out = e.explain(image, 0)
        # outputs= changes what the model's scores are read as: Grad-CAM's gradient is of the Keras output
        # whatever it says, so there it changes the recorded score, not the map
        changed = out.n_forward != ref.n_forward or not np.allclose(out.raw, ref.raw)
        assert changed or (name == "outputs" and not np.isclose(out.score, ref.score)), name


@pytest.mark.parametrize("cls", [MaskUpdate, Rise, Lime, Occlusion], ids=lambda c: c.__name__)
@settings(max_examples=8, deadline=None)
@given(bs=st.integers(1, 50), progress=st.booleans())
def test_execution_settings_do_not_change_the_map(cls, bs, progress):
    img = np.random.default_rng(1).uniform(0.2, 1.0, (16, 16, 3)).astype(np.float32)
    model = RegionModel((slice(0, 8), slice(0, 8)))
    ref = cls(model, **SMALL[cls]).explain(img, 0)
    out = cls(model, **SMALL[cls], batch_size=bs, progress=progress).explain(img, 0)
    np.testing.assert_allclose(out.raw, ref.raw, atol=1e-5)  # batches are summed in float32
    assert out.params == ref.params


def test_gradcam_records_the_layer_it_found(tiny_cnn):
    assert GradCam(tiny_cnn).params["layer"] == "conv_b"


def test_signatures_are_keyword_only():
    for cls in CLASSES:
        for name, p in inspect.signature(cls.__init__).parameters.items():
            if name not in ("self", "model"):
                assert p.kind is p.KEYWORD_ONLY, (cls.__name__, name)


@pytest.mark.parametrize("cls", [MaskUpdate, Rise, Lime], ids=lambda c: c.__name__)
def test_a_generator_seed_is_recorded_but_cannot_be_replayed(cls):
    e = cls(RegionModel(), seed=np.random.default_rng(0))
    assert e.params["seed"] == "Generator"
    with pytest.raises(ValueError, match="int seed"):
        cls(RegionModel(), **e.params)
    with pytest.raises(TypeError, match="seed"):
        cls(RegionModel(), seed=1.5)


@pytest.mark.parametrize("make", [lambda m: Rise(m, masks=40, grid=4, batch_size=8, seed=1),
                                  lambda m: MaskUpdate(m, steps=40, chains=4, grid=4, batch_size=8, seed=1),
                                  lambda m: Occlusion(m, window=4, stride=4, batch_size=8),
                                  lambda m: Lime(m, samples=40, segments=8, batch_size=8, seed=1)],
                         ids=["rise", "mask-update", "occlusion", "lime"])
def test_explain_skips_partials_but_ends_on_the_same_map(make, monkeypatch):
    # explain() asks for no partial maps (each costs a host sync and a normalisation); its map must be
    # the one iter_explain ends on, and with progress=True the bar still gets its partials.
    img = np.random.default_rng(0).uniform(0, 1, (16, 16, 3)).astype(np.float32)
    explainer = make(RegionModel())
    steps = list(explainer.iter_explain(img, 0))
    assert len(steps) > 1 and steps[-1].done
    made, inner = [], type(explainer)._explain

    def counted(self, *args, **kwargs):
        for exp in inner(self, *args, **kwargs):
            made.append(exp.n_forward)
            yield exp

    monkeypatch.setattr(type(explainer), "_explain", counted)
    final = explainer.explain(img, 0)
    assert made == [steps[-1].n_forward]
    np.testing.assert_array_equal(final.raw, steps[-1].raw)
    assert final.done and final.n_forward == steps[-1].n_forward
    made.clear()
    explainer.progress = True
    explainer.explain(img, 0)
    assert len(made) == len(steps)
