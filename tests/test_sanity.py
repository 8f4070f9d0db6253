"""Sanity checks (Adebayo et al. 2018) on tiny Keras models whose answer is known.

The toy model decides class 0 by the mean of the LEFT half of the image (a 1x1
"gain" convolution with weight 1, then a dense "decide" layer that reads only the
left half).  So occlusion's map is positive on the left half and zero on the right;
once "decide" is re-initialised the map is whatever random weights the layer got,
so its rank correlation with the trained map must drop.  The centre baseline
ignores the model, so its map cannot change: similarity 1 by construction.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from saliency_widgets import sanity

SIZE = 12


def half_model(side="left", *, name="half"):
    import keras
    from keras import layers

    inputs = keras.Input((SIZE, SIZE, 1), name="image")
    x = layers.Conv2D(1, 1, use_bias=False, name="gain")(inputs)
    x = layers.Flatten(name="flat")(x)
    outputs = layers.Dense(2, activation="softmax", name="decide")(x)
    model = keras.Model(inputs, outputs, name=name)
    model.get_layer("gain").set_weights([np.ones((1, 1, 1, 1), np.float32)])
    half = np.zeros((SIZE, SIZE), bool)
    if side == "left":
        half[:, : SIZE // 2] = True
    else:
        half[:, SIZE // 2:] = True
    w = np.zeros((SIZE * SIZE, 2), np.float32)
    w[half.ravel(), 0] = 8.0 / half.sum()   # logit0 - logit1 = 16 * (mean of the half - 0.5)
    w[half.ravel(), 1] = -8.0 / half.sum()
    model.get_layer("decide").set_weights([w, np.array([-4.0, 4.0], np.float32)])
    # Occluded pixels are black (the analytic answers above assume it): the model declares 0 as its
    # occluder colour, which "auto" uses, and the randomised clones inherit.
    model.saliency_widgets_mean_color = (0.0,)
    return model


@pytest.fixture(scope="module")
def model():
    return half_model("left")


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).uniform(0.3, 1.0, size=(6, SIZE, SIZE, 1)).astype(np.float32)


def test_toy_model_decides_by_the_left_half(model, images):
    """The premise of the tests below: occlusion's trained map is left-positive, right-zero."""
    from saliency_widgets.registry import build

    exp = build("occlusion", model).explain(images[0], 0)
    assert exp.raw[:, : SIZE // 2 - 1].min() > 0
    assert np.allclose(exp.raw[:, SIZE // 2 + 1:], 0, atol=1e-6)


def test_clones_keep_the_declared_occluder_colour(model):
    assert sanity._clone(model).saliency_widgets_mean_color == (0.0,)


def test_centre_baseline_does_not_change_under_randomisation(model, images):
    res = sanity.model_randomisation(model, images, "center", progress=False)
    assert res.steps == ["decide", "gain"]
    assert np.all(res.spearman["centre baseline"] == 1.0)
    assert np.allclose(res.ssim["centre baseline"], 1.0)
    v = res.verdict("centre baseline")
    assert v["verdict"] == "fails" and not v["passes"] and "FAILS" in v["text"]


@pytest.mark.parametrize("method", ["occlusion", "rise"])
def test_a_method_that_reads_the_model_changes_when_the_deciding_layer_is_randomised(model, images, method):
    res = sanity.model_randomisation(model, images, method, layers=["decide"], cascading=False, budget=300,
                                     progress=False)
    label = res.methods[0]
    mean, low, high = sanity.mean_interval(res.spearman[label][0])
    assert high < 0.8, (method, res.spearman[label])
    assert res.ssim[label][0].mean() < 0.8


def test_occlusion_passes_and_the_baseline_fails_the_cascading_check(model, images):
    res = sanity.model_randomisation(model, images, ["occlusion", "center"], progress=False)
    verdicts = {v["method"]: v["verdict"] for v in res.verdicts()}
    assert verdicts == {"occlusion": "passes", "centre baseline": "fails"}


def test_a_verdict_is_undecided_when_the_interval_straddles_the_threshold(model, images):
    res = sanity.model_randomisation(model, images, "occlusion", progress=False)
    res.spearman["occlusion"][-1] = np.array([0.0, 1.0, 0.0, 1.0, 0.0, 1.0])  # mean 0.5, wide interval
    v = res.verdict("occlusion", threshold=0.5)
    assert v["verdict"] == "undecided" and not v["passes"] and v["low"] < 0.5 < v["high"]
    assert res.verdict("occlusion", threshold=0.99)["verdict"] == "passes"
    assert res.verdict("occlusion", threshold=-0.5)["verdict"] == "fails"


def test_the_users_model_is_never_modified(model, images):
    before = [w.copy() for w in model.get_weights()]
    p_before = np.asarray(model(images))
    sanity.model_randomisation(model, images, ["occlusion"], progress=False)
    sanity.model_randomisation(model, images, ["occlusion"], cascading=False, progress=False)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(p_before, np.asarray(model(images)))


def test_randomise_layers_changes_only_the_chosen_layers_and_is_seeded(model):
    a = sanity.randomise_layers(model, ["decide"], seed=3)
    b = sanity.randomise_layers(model, ["decide"], seed=3)
    c = sanity.randomise_layers(model, ["decide"], seed=4)
    np.testing.assert_array_equal(a.get_layer("gain").get_weights()[0], model.get_layer("gain").get_weights()[0])
    assert not np.allclose(a.get_layer("decide").get_weights()[0], model.get_layer("decide").get_weights()[0])
    np.testing.assert_array_equal(a.get_layer("decide").get_weights()[0], b.get_layer("decide").get_weights()[0])
    assert not np.allclose(a.get_layer("decide").get_weights()[0], c.get_layer("decide").get_weights()[0])
    # Each weight from its own initialiser: Dense's bias initialiser is zeros.
    np.testing.assert_array_equal(a.get_layer("decide").get_weights()[1], 0)


def test_a_layer_gets_the_same_draw_alone_and_in_a_cascade(model):
    alone = sanity.randomise_layers(model, ["decide"], seed=1)
    both = sanity.randomise_layers(model, ["decide", "gain"], seed=1)
    np.testing.assert_array_equal(alone.get_layer("decide").get_weights()[0],
                                  both.get_layer("decide").get_weights()[0])


def test_cascading_randomises_one_more_block_per_step(model, images):
    res = sanity.model_randomisation(model, images[:2], "occlusion", progress=False)
    # step 2 has both layers randomised: the same maps as randomising both by hand
    clone = sanity.randomise_layers(model, ["decide", "gain"], seed=res.seed)
    from saliency_widgets.registry import build
    by_hand = build("occlusion", clone).explain(images[0], int(res.targets[0])).raw
    np.testing.assert_allclose(res.random_maps["occlusion"][1, 0], by_hand, atol=1e-6)


def test_batch_norm_returns_to_its_initial_state():
    import keras
    from keras import layers

    inputs = keras.Input((4, 4, 1))
    x = layers.BatchNormalization(name="bn")(inputs)
    out = layers.Dense(2, activation="softmax", name="head")(layers.Flatten()(x))
    m = keras.Model(inputs, out)
    m.get_layer("bn").set_weights([np.full(1, 3.0), np.full(1, 2.0), np.full(1, 5.0), np.full(1, 7.0)])
    gamma, beta, mean, var = sanity.randomise_layers(m, ["bn"]).get_layer("bn").get_weights()
    assert (gamma, beta, mean, var) == (1.0, 0.0, 0.0, 1.0)


def test_nested_models_are_walked_by_path():
    import keras
    from keras import layers

    inner = keras.Sequential([keras.Input((SIZE, SIZE, 1)), layers.Conv2D(2, 3, name="c")], name="inner")
    inputs = keras.Input((SIZE, SIZE, 1))
    out = layers.Dense(2, activation="softmax", name="head")(layers.GlobalAveragePooling2D()(inner(inputs)))
    m = keras.Model(inputs, out)
    assert sanity.weighted_layers(m) == ["inner/c", "head"]
    r = sanity.randomise_layers(m, ["inner/c"], seed=0)
    assert not np.allclose(r.get_layer("inner").get_layer("c").get_weights()[0],
                           m.get_layer("inner").get_layer("c").get_weights()[0])
    np.testing.assert_array_equal(r.get_layer("head").get_weights()[0], m.get_layer("head").get_weights()[0])


def test_bad_input_is_named(model, images):
    with pytest.raises(ValueError, match="not layers with weights"):
        sanity.randomise_layers(model, ["flat"])
    with pytest.raises(ValueError, match="not layers with weights"):
        sanity.model_randomisation(model, images, "center", layers=["nope"], progress=False)
    with pytest.raises(ValueError, match="empty block"):
        sanity.model_randomisation(model, images, "center", layers=[()], progress=False)
    with pytest.raises(TypeError, match="Keras 3 model"):
        sanity.model_randomisation(lambda x: x, images, "center", progress=False)
    with pytest.raises(ValueError, match=r"\(N, H, W, C\)"):
        sanity.model_randomisation(model, images[0, 0], "center", progress=False)
    with pytest.raises(ValueError, match="one class per image"):
        sanity.model_randomisation(model, images, "center", targets=[0], progress=False)
    with pytest.raises(ValueError, match="unknown method"):
        sanity.model_randomisation(model, images, "nope", progress=False)
    res = sanity.model_randomisation(model, images[:1], "center", progress=False)
    with pytest.raises(ValueError, match="'spearman' or 'ssim'"):
        res.curve("centre baseline", "pearson")
    with pytest.raises(ValueError, match="no method"):
        res.verdict("RISE")


def test_seeded_methods_report_their_own_noise_with_the_users_params(model, images):
    res = sanity.model_randomisation(model, images[:2], "rise", layers=["decide"], budget=100,
                                     params={"rise": {"grid": 4}}, progress=False)
    assert set(res.self_spearman) == {"RISE"} and res.self_spearman["RISE"].shape == (2,)
    from saliency_widgets.registry import build
    other = build("rise", model, budget=100, grid=4, seed=1).explain(images[0], int(res.targets[0])).raw
    assert res.self_spearman["RISE"][0] == pytest.approx(
        sanity.spearman_similarity(res.trained_maps["RISE"][0], other))


def test_a_factory_is_accepted_and_the_baseline_has_no_noise(model, images):
    from saliency_widgets.explainers import Occlusion
    res = sanity.model_randomisation(model, images[:2], [("my occlusion", lambda m: Occlusion(m, window=3))],
                                     progress=False)
    assert res.methods == ["my occlusion"] and res.self_spearman == {}


def test_curve_is_plot_ready(model, images):
    res = sanity.model_randomisation(model, images, "occlusion", progress=False)
    c = res.curve("occlusion", "ssim")
    assert c["steps"] == ["trained", "decide", "gain"]
    assert c["mean"][0] == 1.0 and c["mean"].shape == c["low"].shape == c["high"].shape == (3,)
    assert np.all(c["low"] <= c["mean"] + 1e-12) and np.all(c["mean"] <= c["high"] + 1e-12)


def test_data_randomisation_separates_two_models_that_read_different_halves(model, images):
    other = half_model("right", name="right")
    res = sanity.data_randomisation_check(model, other, images, ["occlusion", "center"], targets=[0] * len(images),
                                          progress=False)
    rows = {r["method"]: r for r in res.summary()}
    assert rows["occlusion"]["verdict"] == "passes" and rows["occlusion"]["spearman"] < 0.2
    assert rows["centre baseline"]["verdict"] == "fails" and rows["centre baseline"]["spearman"] == 1.0


# ---- similarity measures ------------------------------------------------------------------------

maps = arrays(np.float64, (8, 8), elements=st.floats(-100, 100, allow_nan=False, width=32), unique=True)


@settings(max_examples=30, deadline=None)
@given(maps)
def test_spearman_is_one_under_a_strictly_increasing_transform_and_minus_one_reversed(a):
    assert sanity.spearman_similarity(a, a ** 3 + 3 * a) == pytest.approx(1.0)
    assert sanity.spearman_similarity(a, -a) == pytest.approx(-1.0)


@settings(max_examples=30, deadline=None)
@given(maps, st.floats(0.1, 10), st.floats(-5, 5))
def test_ssim_is_one_for_the_same_map_up_to_a_positive_affine_change(a, scale, shift):
    assert sanity.ssim_similarity(a, a * scale + shift) == pytest.approx(1.0, abs=1e-6)


def test_identical_maps_are_exactly_one():
    from saliency_widgets.explainers import CenterBaseline
    sal = CenterBaseline().explain(np.zeros((96, 96, 3))).raw  # many tied values
    assert sanity.spearman_similarity(sal, sal.copy()) == 1.0
    assert sanity.ssim_similarity(sal, sal.copy()) == 1.0


def test_similarity_of_different_and_constant_maps():
    rng = np.random.default_rng(0)
    a, b = rng.random((16, 16)), rng.random((16, 16))
    assert abs(sanity.spearman_similarity(a, b)) < 0.3
    assert sanity.ssim_similarity(a, b) < 0.3
    const = np.ones((16, 16))
    assert sanity.spearman_similarity(const, a) == 0.0
    assert sanity.spearman_similarity(const, const) == 1.0
    with pytest.raises(ValueError, match="one shape"):
        sanity.spearman_similarity(a, a[:4])
    with pytest.raises(ValueError, match="finite"):
        sanity.ssim_similarity(a, np.full((16, 16), np.nan))


def test_mean_interval_is_seeded_and_contains_the_mean():
    v = np.random.default_rng(1).normal(size=20)
    m, lo, hi = sanity.mean_interval(v, seed=0)
    assert lo < m < hi and m == pytest.approx(v.mean())
    assert sanity.mean_interval(v, seed=0) == (m, lo, hi)
    assert sanity.mean_interval([0.5, 0.5, 0.5]) == (0.5, 0.5, 0.5)
    with pytest.raises(ValueError, match="no values"):
        sanity.mean_interval([])
