"""Sanity checks (Adebayo et al. 2018) on tiny Keras models and PyTorch modules whose answer is known.

The toy model decides class 0 by the mean of the LEFT half of the image (a 1x1
"gain" convolution with weight 1, then a dense "decide" layer that reads only the
left half).  So occlusion's map is positive on the left half and zero on the right;
once "decide" is re-initialised the map is whatever random weights the layer got,
so its rank correlation with the trained map must drop.  The centre baseline
ignores the model, so its map cannot change: similarity 1 by construction.
``HalfNet`` is the same model as a PyTorch module (channels first), so the same
answers hold for it.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from saliency_widgets.models import declare
from saliency_widgets.sanity import methods as sanity

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
    assert res.verdict("centre baseline")["verdict"] == "too few images to tell"  # 6 < MIN_IMAGES
    v = res.verdict("centre baseline", min_images=6)
    assert v["verdict"] == "fails" and not v["passes"] and "FAILS" in v["text"]
    assert v["floor"] == 1.0 and v["high"] == 1.0  # deterministic: floor 1; unchanged map: 1, not below it


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
    verdicts = {v["method"]: v["verdict"] for v in res.verdicts(min_images=6)}
    assert verdicts == {"occlusion": "passes", "centre baseline": "fails"}


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
    with pytest.raises(ValueError, match=r"\['masks'\] must be given as the budget"):  # before any clone
        sanity._methods(["rise"], budget=100, params={"rise": {"masks": 300}}, seed=0)
    res = sanity.model_randomisation(model, images[:1], "center", progress=False)
    with pytest.raises(ValueError, match="'spearman' or 'ssim'"):
        res.curve("centre baseline", "pearson")
    with pytest.raises(ValueError, match="no method"):
        res.verdict("RISE")


def test_seeded_methods_report_their_own_noise_with_the_users_params(model, images):
    res = sanity.model_randomisation(model, images[:2], "rise", layers=["decide"], budget=100,
                                     params={"rise": {"grid": 4}}, progress=False)
    # the label names the setting the user changed (computed from what ran)
    assert set(res.self_spearman) == {"RISE [grid=4]"} and res.self_spearman["RISE [grid=4]"].shape == (2,)
    from saliency_widgets.registry import build
    other = build("rise", model, budget=100, grid=4, seed=1).explain(images[0], int(res.targets[0])).raw
    assert res.self_spearman["RISE [grid=4]"][0] == pytest.approx(
        sanity.spearman_similarity(res.trained_maps["RISE [grid=4]"][0], other))


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
    rows = {r["method"]: r for r in res.summary(min_images=6)}
    assert rows["occlusion"]["verdict"] == "passes" and rows["occlusion"]["spearman"] < 0.2
    assert rows["centre baseline"]["verdict"] == "fails" and rows["centre baseline"]["spearman"] == 1.0


# ---- PyTorch modules: the same check, the same answers ----------------------------------------

class HalfNet(torch.nn.Module):
    """``half_model`` as a PyTorch module: "gain" (1x1 convolution, weight 1), then "decide" (one half only)."""

    def __init__(self, side="left"):
        super().__init__()
        declare(self, input_size=(SIZE, SIZE, 1), pixel_range=None)  # what it takes
        self.gain = torch.nn.Conv2d(1, 1, 1, bias=False)
        self.decide = torch.nn.Linear(SIZE * SIZE, 2)
        half = torch.zeros(SIZE, SIZE, dtype=torch.bool)
        if side == "left":
            half[:, : SIZE // 2] = True
        else:
            half[:, SIZE // 2:] = True
        w = torch.zeros(2, SIZE * SIZE)
        w[0, half.ravel()] = 8.0 / half.sum()
        w[1, half.ravel()] = -8.0 / half.sum()
        with torch.no_grad():
            self.gain.weight.fill_(1.0)
            self.decide.weight.copy_(w)
            self.decide.bias.copy_(torch.tensor([-4.0, 4.0]))

    def forward(self, x):  # (B, 1, H, W): the adapter hands the module channels-first batches
        return torch.softmax(self.decide(self.gain(x).flatten(1)), dim=1)


# The torch adapter declares no occluder colour: black is asked for, so the analytic answers above hold.
BLACK = {"occlusion": {"occluder": "zero"}}
BLACK_LABEL = "occlusion [occluder=zero]"  # the label of what ran: it names the occluder


@pytest.fixture(scope="module")
def net():
    return HalfNet("left")


def _state(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def test_torch_twin_answers_like_the_keras_model_and_decides_by_the_left_half(model, net, images):
    from saliency_widgets.models import as_model
    from saliency_widgets.registry import build

    np.testing.assert_allclose(as_model(net).predict(images), as_model(model).predict(images), atol=1e-5)
    exp = build("occlusion", net, occluder="zero").explain(images[0], 0)
    assert exp.raw[:, : SIZE // 2 - 1].min() > 0
    assert np.allclose(exp.raw[:, SIZE // 2 + 1:], 0, atol=1e-6)


def test_torch_layers_are_listed_in_registration_order(net):
    assert sanity.weighted_layers(net) == ["gain", "decide"]
    seq = torch.nn.Sequential()
    seq.add_module("features", torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2),
                                                   torch.nn.ReLU()))
    seq.add_module("pool", torch.nn.AdaptiveAvgPool2d(1))
    seq.add_module("flat", torch.nn.Flatten())
    seq.add_module("classifier", torch.nn.Linear(2, 2))
    assert sanity.weighted_layers(seq) == ["features.0", "features.1", "classifier"]


def test_torch_centre_baseline_stays_exactly_one(net, images):
    res = sanity.model_randomisation(net, images, "center", progress=False)
    assert res.steps == ["decide", "gain"]
    assert np.all(res.spearman["centre baseline"] == 1.0)
    assert np.all(res.ssim["centre baseline"] == 1.0)
    assert res.verdict("centre baseline", min_images=6)["verdict"] == "fails"


@pytest.mark.parametrize("cascading", [True, False])
def test_torch_occlusion_changes_when_the_deciding_layer_is_randomised(net, images, cascading):
    res = sanity.model_randomisation(net, images, "occlusion", cascading=cascading, params=BLACK, progress=False)
    assert res.steps == ["decide", "gain"]
    sp = res.spearman[BLACK_LABEL][res.steps.index("decide")]  # "decide" alone, in both modes
    mean, low, high = sanity.mean_interval(sp)
    assert high < 0.8, sp
    if cascading:
        assert res.verdict(BLACK_LABEL, min_images=6)["verdict"] == "passes"


def test_torch_users_module_and_global_rng_are_untouched(net, images):
    before, p_before = _state(net), net(torch.from_numpy(images).permute(0, 3, 1, 2))
    rng_before = torch.get_rng_state()
    sanity.randomise_layers(net, ["decide", "gain"], seed=5)
    assert torch.equal(torch.get_rng_state(), rng_before)
    sanity.model_randomisation(net, images, "occlusion", params=BLACK, progress=False)
    sanity.model_randomisation(net, images, "occlusion", cascading=False, params=BLACK, progress=False)
    after = _state(net)
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)
    assert torch.equal(p_before, net(torch.from_numpy(images).permute(0, 3, 1, 2)))


def test_torch_same_seed_same_weights_drawn_by_reset_parameters(net):
    a = sanity.randomise_layers(net, ["decide"], seed=3)
    b = sanity.randomise_layers(net, ["decide"], seed=3)
    c = sanity.randomise_layers(net, ["decide"], seed=4)
    both = sanity.randomise_layers(net, ["decide", "gain"], seed=3)
    assert a is not net
    assert torch.equal(a.gain.weight, net.gain.weight)
    assert not torch.allclose(a.decide.weight, net.decide.weight)
    assert torch.equal(a.decide.weight, b.decide.weight) and torch.equal(a.decide.bias, b.decide.bias)
    assert not torch.allclose(a.decide.weight, c.decide.weight)
    assert torch.equal(a.decide.weight, both.decide.weight)  # the same draw alone and in a cascade
    assert not torch.equal(both.gain.weight, net.gain.weight)
    # nn.Linear.reset_parameters draws weight and bias from U(-1/sqrt(fan_in), 1/sqrt(fan_in)), 1/12 here;
    # the trained weights (8/72) lie outside that bound, so a draw around them would too.
    bound = 1 / np.sqrt(SIZE * SIZE)
    assert a.decide.weight.abs().max() <= bound and a.decide.bias.abs().max() <= bound


def test_torch_batch_norm_returns_to_its_initial_state_running_stats_too():
    m = torch.nn.Sequential(torch.nn.BatchNorm2d(1), torch.nn.Flatten(), torch.nn.Linear(16, 2))
    with torch.no_grad():
        m[0].weight.fill_(3.0)
        m[0].bias.fill_(2.0)
    m[0].running_mean.fill_(5.0)
    m[0].running_var.fill_(7.0)
    m[0].num_batches_tracked.fill_(9)
    bn = sanity.randomise_layers(m, ["0"], seed=0)[0]
    assert (bn.weight.item(), bn.bias.item(), bn.running_mean.item(), bn.running_var.item(),
            bn.num_batches_tracked.item()) == (1.0, 0.0, 0.0, 1.0, 0)
    assert m[0].running_mean.item() == 5.0 and m[0].weight.item() == 3.0  # the user's module keeps its own


class OwnWeights(torch.nn.Module):
    """Parameters held by the module itself and no ``reset_parameters``: the fallback draw."""

    def __init__(self):
        super().__init__()
        declare(self, input_size=(SIZE, SIZE, 1), pixel_range=None)
        self.w = torch.nn.Parameter(torch.linspace(-1.0, 3.0, SIZE * SIZE * 2).reshape(SIZE * SIZE, 2))

    def forward(self, x):
        return x.flatten(1) @ self.w


def test_torch_parameters_of_the_module_itself_take_the_fallback_draw():
    m = OwnWeights()
    assert sanity.weighted_layers(m) == ["(root)"]
    a = sanity.randomise_layers(m, ["(root)"], seed=2)
    b = sanity.randomise_layers(m, ["(root)"], seed=2)
    assert torch.equal(a.w, b.w) and not torch.allclose(a.w, m.w)
    # normal with the trained weight's mean (1.0) and deviation (~1.15): 288 draws land near them
    assert abs(a.w.mean().item() - m.w.mean().item()) < 0.3
    assert abs(a.w.std().item() / m.w.std().item() - 1) < 0.2


def test_torch_bad_input_is_named(net, images):
    empty = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Softmax(dim=1))
    with pytest.raises(ValueError, match="has no parameters"):
        sanity.model_randomisation(empty, images, "center", progress=False)
    with pytest.raises(ValueError, match="has no parameters"):
        sanity.weighted_layers(empty)
    with pytest.raises(ValueError, match="not layers with weights of PyTorch module 'HalfNet'"):
        sanity.randomise_layers(net, ["flat"])
    lazy = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.LazyLinear(2))
    with pytest.raises(ValueError, match="lazy"):
        sanity.weighted_layers(lazy)


def test_torch_data_randomisation_separates_two_modules_that_read_different_halves(net, images):
    res = sanity.data_randomisation_check(net, HalfNet("right"), images, ["occlusion", "center"], params=BLACK,
                                          targets=[0] * len(images), progress=False)
    rows = {r["method"]: r for r in res.summary(min_images=6)}
    assert rows[BLACK_LABEL]["verdict"] == "passes" and rows[BLACK_LABEL]["spearman"] < 0.2
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
    for f in (sanity.spearman_similarity, sanity.ssim_similarity, sanity.hog_similarity):
        assert np.isnan(f(const, a)) and np.isnan(f(const, const))  # a vanished map, never a similarity
    assert sanity.map_similarity(const, a)["vanished"] and not sanity.map_similarity(a, b)["vanished"]
    assert abs(sanity.hog_similarity(a, b)) < 0.3
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
    assert sanity.mean_interval([np.nan, 0.5, 0.5]) == (0.5, 0.5, 0.5)  # vanished maps left out
    assert all(np.isnan(sanity.mean_interval([np.nan, np.nan])))


# Global RNG states seen by SpyLayer.reset_parameters (module level: deepcopy does not copy it).
_SEEN_STATES = []


class SpyLayer(torch.nn.Module):
    """A layer whose ``reset_parameters`` records the global CPU RNG state it runs under, then draws."""

    def __init__(self):
        super().__init__()
        declare(self, input_size=(SIZE, SIZE, 1), pixel_range=None)
        self.w = torch.nn.Parameter(torch.zeros(SIZE * SIZE, 2))

    def reset_parameters(self):
        _SEEN_STATES.append(torch.get_rng_state())
        torch.nn.init.uniform_(self.w, -1.0, 1.0)
        self.w.data.add_(torch.rand(self.w.shape))  # a draw that names no generator either

    def forward(self, x):
        return x.flatten(1) @ self.w


def test_torch_reinitialisation_never_reseeds_or_draws_from_the_global_rng():
    """The rule is a seed per draw and no global RNG state: reset_parameters must not run under a re-seeded
    global generator (another thread drawing meanwhile would get, or take, the seeded numbers)."""
    m = SpyLayer()
    _SEEN_STATES.clear()
    torch.manual_seed(123)
    before = torch.get_rng_state()
    a = sanity.randomise_layers(m, ["(root)"], seed=2)
    assert len(_SEEN_STATES) == 1 and torch.equal(_SEEN_STATES[0], before)
    assert torch.equal(torch.get_rng_state(), before)
    torch.manual_seed(456)  # another global state: the same draw
    b = sanity.randomise_layers(m, ["(root)"], seed=2)
    assert torch.equal(a.w, b.w) and not torch.equal(a.w, m.w)
    assert not torch.equal(a.w, sanity.randomise_layers(m, ["(root)"], seed=3).w)


def _rows(values):
    return [{"image": i, "v": float(x)} for i, x in enumerate(values)]


def test_report_intervals_are_the_tables_bootstrap_mean_ci(model, images):
    """One bootstrap for every interval the package prints: the sanity report's equal bootstrap_mean_ci's."""
    from saliency_widgets.metrics.intervals import bootstrap_mean_ci

    res = sanity.model_randomisation(model, images, "occlusion", seed=3, progress=False)
    curve = res.curve("occlusion", "ssim", level=0.9)
    for k, scores in enumerate(res.ssim["occlusion"]):
        lo, hi = bootstrap_mean_ci(_rows(scores), "v", seed=3, confidence=0.9)
        assert (curve["low"][k + 1], curve["high"][k + 1]) == (lo, hi)
        assert curve["mean"][k + 1] == pytest.approx(scores.mean(), abs=1e-15)
    v = res.verdict("occlusion", metric="spearman")
    assert (v["low"], v["high"]) == bootstrap_mean_ci(_rows(res.spearman["occlusion"][-1]), "v", seed=3)

    data = sanity.data_randomisation_check(model, half_model("right", name="right"), images, "occlusion",
                                           targets=[0] * len(images), seed=4, progress=False)
    row = data.summary(level=0.8)[0]
    assert (row["spearman_low"], row["spearman_high"]) == bootstrap_mean_ci(
        _rows(data.spearman["occlusion"]), "v", seed=4, confidence=0.8)
    assert (row["ssim_low"], row["ssim_high"]) == bootstrap_mean_ci(
        _rows(data.ssim["occlusion"]), "v", seed=4, confidence=0.8)


def _left_half_probs(batch):
    """half_model's rule in NumPy: class 0 when the left half's mean is above 0.5."""
    d = 16 * (np.asarray(batch)[:, :, : SIZE // 2].mean(axis=(1, 2, 3)) - 0.5)
    p0 = 1 / (1 + np.exp(-d))
    return np.stack([p0, 1 - p0], axis=1)


def test_default_targets_are_the_top1_of_the_prepared_images(images):
    """The explainers explain adapter.prepare(image); the default targets must be that image's top-1 too.
    Here preprocess halves the pixels, which flips every image's top-1 from class 0 to class 1."""
    from saliency_widgets.models import as_model

    halved = as_model(_left_half_probs, preprocess=lambda img: img * 0.5)
    assert np.all(halved.predict(images).argmax(1) == 0)  # the raw images: class 0 (what skipping prepare gives)
    res = sanity.data_randomisation_check(halved, halved, images, "center", progress=False)
    np.testing.assert_array_equal(res.targets, np.ones(len(images), int))


# ---- the decision rule on toy models with a known answer (>= MIN_IMAGES images) ---------------

class ZeroOnReset(torch.nn.Linear):
    """A linear layer whose re-initialisation is all zeros: once randomised, the model ignores its input."""

    def reset_parameters(self):
        with torch.no_grad():
            self.weight.zero_()
            if self.bias is not None:
                self.bias.zero_()


class FadingNet(HalfNet):
    """HalfNet whose "decide" layer re-initialises to zeros: every map of the randomised model is constant."""

    def __init__(self):
        super().__init__("left")
        old = self.decide
        self.decide = ZeroOnReset(SIZE * SIZE, 2)
        with torch.no_grad():
            self.decide.weight.copy_(old.weight)
            self.decide.bias.copy_(old.bias)


@pytest.fixture(scope="module")
def many():
    return np.random.default_rng(5).uniform(0.3, 1.0, size=(sanity.MIN_IMAGES, SIZE, SIZE, 1)).astype(np.float32)


def _tiny_rise(masks):
    from saliency_widgets.explainers import Rise
    return lambda m, seed: Rise(m, masks=masks, grid=4, occluder="zero", seed=seed)


def test_with_enough_images_the_baseline_fails_and_occlusion_passes(net, many):
    """The centre baseline ignores the model and the image: one map for every image (floor = chance = 1): FAILS.
    Occlusion's map follows the weights of "decide": ND far above 0.5: PASSES."""
    res = sanity.model_randomisation(net, many, ["center", "occlusion"], layers=["decide"], params=BLACK,
                                     progress=False)
    v = {d["method"]: d for d in res.verdicts()}
    assert v["centre baseline"]["verdict"] == "fails" and v["centre baseline"]["n"] == sanity.MIN_IMAGES
    assert np.isnan(v["centre baseline"]["nd"]) and "does not depend on the image" in v["centre baseline"]["reason"]
    assert v[BLACK_LABEL]["verdict"] == "passes" and v[BLACK_LABEL]["high"] < 0.5 and v[BLACK_LABEL]["nd_low"] > 1
    assert v[BLACK_LABEL]["floor"] == 1.0 and res.floor[BLACK_LABEL]["hog"].tolist() == [1.0] * len(many)
    for key in sanity.SIMILARITIES:  # every similarity is reported, per step and image
        assert getattr(res, key)[BLACK_LABEL].shape == (1, len(many))
    np.testing.assert_array_equal(res.abs_spearman[BLACK_LABEL], np.abs(res.spearman[BLACK_LABEL]))


def test_a_noisy_method_at_a_tiny_budget_fails_because_its_map_does_not_depend_on_the_image(net, many):
    """RISE with 4 masks does not reproduce its own map under another seed any better than it matches its map of
    another image (floor not above chance): at this budget its map does not depend on the image, and it fails,
    whatever the randomised similarity; ND is undefined."""
    tiny = sanity.model_randomisation(net, many, [("rise-4", _tiny_rise(4), True)], layers=["decide"],
                                      progress=False).verdict("rise-4")
    assert tiny["verdict"] == "fails" and tiny["gap_low"] <= 0 and np.isnan(tiny["nd"]), tiny
    assert "does not depend on the image" in tiny["text"] and "ND = undefined" in tiny["text"]


class MostlyTheImage:
    """A toy Guided Backpropagation: the image itself plus 2% of occlusion's map.  It depends on the model a
    little (so a randomised model changes it a little) and on the image a lot."""

    def __init__(self, model):
        from saliency_widgets.registry import build
        self.occlusion = build("occlusion", model, occluder="zero")

    def explain(self, image, target):
        import types
        occ = self.occlusion.explain(image, target).raw
        return types.SimpleNamespace(raw=image[..., 0] + 0.02 * occ / (np.abs(occ).max() + 1e-12))


def test_a_deterministic_map_that_barely_changes_fails(net, many):
    """The audit's defect: with a deterministic method's floor of exactly 1, the rule this replaced passed any
    change at all (this map keeps Spearman above 0.99, below the floor of 1: it passed).  ND measures the change
    against what the maps of two different images differ by: ND near 0, a failure; occlusion, which reads the
    decision layer, passes with ND far above 1 on the same images."""
    res = sanity.model_randomisation(net, many, [("mostly the image", MostlyTheImage), "occlusion"], params=BLACK,
                                     layers=["decide"], progress=False)
    mostly, occ = res.verdict("mostly the image"), res.verdict(BLACK_LABEL)
    assert mostly["floor"] == 1.0 and mostly["high"] < 1.0 and mostly["mean"] > 0.99   # below the floor of 1
    assert mostly["verdict"] == "fails" and mostly["nd_high"] < 0.05, mostly
    assert occ["verdict"] == "passes" and occ["nd_low"] > 1, occ


def test_the_floor_and_the_randomised_maps_use_another_seed_per_image(net, many):
    """The same design on both sides: image i's trained map has seed s + 2i, its floor and randomised maps
    s + 2i + 1.  (With the randomised maps drawn with the trained map's seed -- the design this replaced --
    the by-hand map below differs and this test fails.)"""
    from saliency_widgets.explainers import Rise
    images = many[:3]
    res = sanity.model_randomisation(net, images, [("rise", _tiny_rise(16), True)], layers=["decide"], seed=10,
                                     progress=False)
    clone = sanity.randomise_layers(net, ["decide"], seed=10)
    for i, img in enumerate(images):
        t = int(res.targets[i])
        trained = Rise(net, masks=16, grid=4, occluder="zero", seed=10 + 2 * i).explain(img, t).raw
        other = Rise(net, masks=16, grid=4, occluder="zero", seed=11 + 2 * i).explain(img, t).raw
        random = Rise(clone, masks=16, grid=4, occluder="zero", seed=11 + 2 * i).explain(img, t).raw
        np.testing.assert_allclose(res.trained_maps["rise"][i], trained, atol=1e-6)
        np.testing.assert_allclose(res.random_maps["rise"][0, i], random, atol=1e-6)
        assert res.floor["rise"]["spearman"][i] == pytest.approx(sanity.spearman_similarity(trained, other))


def test_constant_randomised_maps_are_reported_as_vanished_not_as_a_similarity(many):
    res = sanity.model_randomisation(FadingNet(), many, "occlusion", layers=["decide"], params=BLACK,
                                     progress=False)
    assert res.vanished[BLACK_LABEL].all() and np.isnan(res.spearman[BLACK_LABEL]).all()
    assert all(np.ptp(m) == 0 for m in res.random_maps[BLACK_LABEL][0])
    v = res.verdict(BLACK_LABEL)
    assert v["verdict"] == "map vanished" and v["vanished"] == len(many) and np.isnan(v["mean"])
    assert "MAP VANISHED" in v["text"] and not v["passes"]


def test_smpRT_averages_each_map_over_seeded_noisy_copies(net, many):
    """sMPRT: the map is the mean over noisy copies; the noise is the method's own randomness, so even a
    deterministic method's floor is measured (and below 1)."""
    from saliency_widgets.registry import build
    images = many[:2]
    res = sanity.model_randomisation(net, images, "occlusion", layers=["decide"], params=BLACK, smoothing=3,
                                     smoothing_noise=0.2, seed=4, progress=False)
    occ = build("occlusion", net, occluder="zero")
    copies = sanity._noisy(images[1], 1, 3, 0.2, 4)
    by_hand = np.mean([occ.explain(c, int(res.targets[1])).raw for c in copies], axis=0)
    np.testing.assert_allclose(res.trained_maps[BLACK_LABEL][1], by_hand, atol=1e-6)
    assert res.smoothing == 3 and BLACK_LABEL in res.self_spearman
    assert np.all(res.floor[BLACK_LABEL]["spearman"] < 1)
    assert not np.allclose(sanity._noisy(images[1], 1, 3, 0.2, 5), copies)  # the floor's noise differs
    with pytest.raises(ValueError, match="smoothing must be an integer"):
        sanity.model_randomisation(net, images, "occlusion", smoothing=-1, progress=False)


def test_hog_and_absolute_spearman_ignore_a_sign_flip():
    a = np.random.default_rng(3).random((24, 24))
    assert sanity.hog_similarity(a, -a) == pytest.approx(1.0, abs=1e-9)
    sim = sanity.map_similarity(a, -a)
    assert sim["spearman"] == pytest.approx(-1.0) and sim["abs_spearman"] == pytest.approx(1.0)


def test_a_deterministic_methods_floor_is_one_and_the_text_says_so(net, images):
    res = sanity.model_randomisation(net, images, ["occlusion", ("rise", _tiny_rise(16), True)], layers=["decide"],
                                     params=BLACK, progress=False)
    occ, rise = res.verdict(BLACK_LABEL), res.verdict("rise")
    assert occ["deterministic"] and "deterministic: the same map under any seed" in occ["text"]
    assert not rise["deterministic"] and "deterministic" not in rise["text"]


def test_the_verdict_names_the_layers_randomised_when_they_are_not_the_whole_model(net, many):
    """Cascading over ``layers=["decide"]`` leaves "gain" trained: the text must not say "the whole model"
    (issue 21); cascading over every layer with weights does say it."""
    part = sanity.model_randomisation(net, many, "occlusion", layers=["decide"], params=BLACK, progress=False)
    text = part.verdict(BLACK_LABEL)["text"]
    assert "whole model" not in text and "1 of 2 layers with weights" in text and "decide" in text, text
    whole = sanity.model_randomisation(net, many, "occlusion", layers=["decide", "gain"], params=BLACK,
                                       progress=False)
    assert "with the whole model randomised" in whole.verdict(BLACK_LABEL)["text"]


# ---- the results' API: a verdict per step, a summary per measure, ND curves ---------------------------

def test_each_step_has_its_verdict_and_the_text_names_what_was_randomised(net, many):
    res = sanity.model_randomisation(net, many, "occlusion", layers=["decide", "gain"], params=BLACK, progress=False)
    first, last = res.verdict(BLACK_LABEL, step=0), res.verdict(BLACK_LABEL)
    assert first["step"] == "decide" and last["step"] == "gain" and res.step_layers == [1, 2]
    assert "1 of 2 layers with weights randomised (output first, down to decide" in first["text"]
    assert "with the whole model randomised" in last["text"] and "ND = " in last["text"]
    assert res.verdict(BLACK_LABEL, step="decide") == first and res.verdict(BLACK_LABEL, step=-1) == last
    for bad in (2, -3, "nope", True):
        with pytest.raises(ValueError, match="step"):
            res.verdict(BLACK_LABEL, step=bad)
    alone = sanity.model_randomisation(net, many, "occlusion", layers=["gain"], cascading=False, params=BLACK,
                                       progress=False)
    assert "with gain randomised alone (the other layers kept trained)" in alone.verdict(BLACK_LABEL)["text"]


def test_summary_has_nd_for_every_measure_and_the_deciding_verdict(net, many):
    res = sanity.model_randomisation(net, many, ["occlusion", "center"], layers=["decide"], params=BLACK,
                                     progress=False)
    rows = {r["method"]: r for r in res.summary(step=0)}
    occ = rows[BLACK_LABEL]
    for key in sanity.SIMILARITIES:
        d = sanity.decide(getattr(res, key)[BLACK_LABEL][0], res.floor[BLACK_LABEL][key], res.chance[BLACK_LABEL][key],
                          random_vanished=res.vanished[BLACK_LABEL][0], seed=res.seed)
        assert (occ[f"{key}_nd"], occ[f"{key}_nd_low"], occ[f"{key}_nd_high"]) == (d["nd"], d["nd_low"], d["nd_high"])
        assert occ[f"{key}_verdict"] == d["verdict"] and occ[key] == d["mean"]
    assert occ["verdict"] == res.verdict(BLACK_LABEL, step=0)["verdict"] == "passes"
    assert occ["text"] == res.verdict(BLACK_LABEL, step=0)["text"] and occ["metric"] == "spearman"
    assert rows["centre baseline"]["verdict"] == "fails"
    assert res.summary(metric="hog", step=0)[0]["verdict"] == occ["hog_verdict"]


def test_chance_is_the_mean_similarity_to_other_images_maps(net, many):
    res = sanity.model_randomisation(net, many[:8], "occlusion", layers=["decide"], params=BLACK, seed=2,
                                     progress=False)
    maps = res.trained_maps[BLACK_LABEL]
    pairs = sanity.chance_partners(8, seed=2)
    for i in (0, 5):
        mine = [j for a, b in pairs for j in ((b,) if a == i else (a,) if b == i else ())]
        want = np.mean([sanity.spearman_similarity(maps[i], maps[j]) for j in mine])
        assert res.chance[BLACK_LABEL]["spearman"][i] == pytest.approx(want)


def test_curve_and_plot_show_nd(net, many):
    import matplotlib
    matplotlib.use("Agg")
    res = sanity.model_randomisation(net, many, ["occlusion", "center"], layers=["decide", "gain"], params=BLACK,
                                     progress=False)
    c = res.curve(BLACK_LABEL)
    assert c["nd"][0] == 0 and c["nd"].shape == (3,) and c["nd"][1] == res.verdict(BLACK_LABEL, step=0)["nd"]
    assert c["nd_low"][2] == res.verdict(BLACK_LABEL)["nd_low"] and 0 < c["chance"] < 1
    assert np.isnan(res.curve("centre baseline")["nd"]).all()   # one map for every image: no ND, not even 0
    ax = res.plot("spearman", show="nd")
    assert "ND" in ax.get_ylabel() and any(np.allclose(line.get_ydata(), 0.5) for line in ax.get_lines())
    with pytest.raises(ValueError, match="show"):
        res.plot(show="both")


def test_data_randomisation_has_a_chance_level_and_verdicts(net, images):
    res = sanity.data_randomisation_check(net, HalfNet("right"), images, ["occlusion"], params=BLACK,
                                          targets=[0] * len(images), progress=False)
    assert set(res.chance[BLACK_LABEL]) == set(sanity.SIMILARITIES)
    v = res.verdict(BLACK_LABEL, min_images=6)
    assert v["verdict"] == "passes" and "permuted labels" in v["text"] and "ND = " in v["text"]
    assert [x["verdict"] for x in res.verdicts(min_images=6)] == ["passes"]
    assert res.summary(min_images=6)[0]["nd"] == v["nd"]


def test_smprt_copies_stay_in_the_pixel_range_the_model_declares():
    """Reported: notebook 07's sMPRT cell stopped with 'image values span [-52.1, 322.1] but ... takes values in
    [0, 255]' (the noise pushed pixels out of the declared range); the copies are clipped to it."""
    image = np.full((8, 8, 3), 250.0, np.float32)
    image[:4] = 5.0
    copies = sanity._noisy(image, 0, 6, 0.2, 1, (0, 255))
    assert copies.min() >= 0 and copies.max() <= 255 and copies.dtype == np.float32
    raw = sanity._noisy(image, 0, 6, 0.2, 1)
    assert raw.min() < 0 and raw.max() > 255  # without a declared range the noise is as drawn
    np.testing.assert_array_equal(copies, np.clip(raw, 0, 255))
