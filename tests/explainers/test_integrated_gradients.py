"""Integrated Gradients: exact on a linear model, complete on a nonlinear one, equal to Captum's."""
import numpy as np
import pytest

from saliency_widgets import IntegratedGradients
from saliency_widgets.models import declare
from saliency_widgets.explainers.integrated_gradients import RULES

from . import gradient_refs as refs
from .test_gradient import close

keras = pytest.importorskip("keras", reason="the Keras tests need the [tf] extra (pip install saliency_widgets[tf])")


def linear_model(seed, k=2):
    w = np.random.default_rng(seed).normal(size=refs.SHAPE + (k,))
    model = keras.Sequential([keras.Input(refs.SHAPE, dtype="float64"), keras.layers.Flatten(dtype="float64"),
                              keras.layers.Dense(k, dtype="float64")])
    model.set_weights([w.reshape(-1, k), np.zeros(k)])
    return model, w


@pytest.mark.parametrize("steps", [2, 7])
@pytest.mark.parametrize("baseline", ["zero", "mean", 0.25])
@pytest.mark.parametrize("rule", RULES)
def test_linear_model_attribution_is_difference_times_weight(steps, baseline, rule):
    model, w = linear_model(0)
    x = refs.image(1).astype(np.float32)
    b = {"zero": 0.0, "mean": x.mean(axis=(0, 1), dtype=np.float64).astype(np.float32), 0.25: 0.25}[baseline]
    ig = IntegratedGradients(model, steps=steps, baseline=baseline, rule=rule, outputs="logits")
    d = x.astype(np.float64) - b  # in float64, as the explainer computes the path
    exp = ig.explain(x, target=1)
    close(ig.attributions(x, target=1), d * w[..., 1], tol=1e-9)
    close(exp.raw, (d * w[..., 1]).sum(axis=-1), tol=1e-6)  # raw: summed over channels, signed
    # f(x) and f(b) cost two more passes, except on the trapezoid's path, which starts and ends there
    assert exp.n_forward == ig.budget == steps + (0 if rule == "trapezoid" else 2)
    assert exp.diagnostics["completeness_error"] < 1e-9 and exp.notes == []  # exact for a linear model
    assert exp.diagnostics["output_difference"] == pytest.approx((d * w[..., 1]).sum(), rel=1e-9)
    assert ig.weights().sum() == pytest.approx(1.0) and len(ig.alphas()) == steps


def test_preprocess_is_respected():
    model, w = linear_model(2)
    x = refs.image(3).astype(np.float32)
    ig = IntegratedGradients(model, steps=2, outputs="logits", preprocess=lambda im: 2.0 * im)
    close(ig.attributions(x, target=0), 2.0 * x * w[..., 0], tol=1e-9)


def test_completeness_on_a_nonlinear_model_within_the_riemann_error():
    # sum(A) = f(x) - f(baseline); the midpoint rule's error falls as steps grows (O(1/steps^2)).
    model = refs.keras_smooth_net(4, softmax=True)
    x = refs.image(5).astype(np.float32)
    f = np.asarray(model(np.stack([x, np.zeros_like(x)]).astype(np.float64)))[:, 0]
    gaps = [abs(IntegratedGradients(model, steps=s, rule="midpoint", outputs="probabilities")
                .attributions(x, target=0).sum()
                - (f[0] - f[1])) for s in (4, 256)]
    assert abs(f[0] - f[1]) > 1e-2  # the test means something: the image moves the score
    assert gaps[1] < 1e-4 * abs(f[0] - f[1])
    assert gaps[1] < gaps[0] / 100


def test_gauss_legendre_is_the_most_accurate_rule_at_equal_steps_on_a_smooth_model():
    # A tanh net's path is smooth: Gauss-Legendre's error falls far faster than the Riemann rules'.
    model = refs.keras_smooth_net(4, softmax=True)
    x = refs.image(5).astype(np.float32)
    err = {r: IntegratedGradients(model, steps=6, rule=r, outputs="probabilities").explain(x, target=0)
           .diagnostics["completeness_error"] for r in RULES}
    assert err["gauss-legendre"] < min(err["midpoint"], err["trapezoid"]) / 10, err


def test_same_map_for_every_batch_size():
    model = refs.keras_smooth_net(4, softmax=False)
    x = refs.image(6).astype(np.float32)
    maps = [IntegratedGradients(model, steps=10, batch_size=bs, outputs="logits").explain(x, target=1).raw
            for bs in (1, 3, 64)]
    for m in maps[1:]:
        close(m, maps[0], tol=1e-6)


#: each rule and Captum's name for it (IntegratedGradients.attribute(method=...))
CAPTUM_METHODS = {"midpoint": "riemann_middle", "trapezoid": "riemann_trapezoid", "gauss-legendre": "gausslegendre"}


@pytest.mark.parametrize("rule", RULES)
def test_torch_matches_captum_integrated_gradients_and_its_convergence_delta(rule):
    torch = pytest.importorskip("torch", reason="needs the [torch] extra")
    captum = pytest.importorskip("captum.attr", reason="the Captum cross-check needs `pip install captum`")
    module = refs.torch_cnn(seed=3)
    x = refs.image(8).astype(np.float32)
    ig = IntegratedGradients(module, steps=16, batch_size=5, rule=rule, outputs="logits")
    t = torch.tensor(x).permute(2, 0, 1)[None]
    ref, delta = captum.IntegratedGradients(module).attribute(t, baselines=0.0, target=0, n_steps=16,
                                                              method=CAPTUM_METHODS[rule],
                                                              return_convergence_delta=True)
    ref_sum = float(ref.sum())
    ref = ref[0].permute(1, 2, 0).detach().numpy()
    if rule == "trapezoid":  # Captum's riemann_trapezoid weighs its n points by 1/n (they sum to (n-1)/n),
        ref = ref * 16 / 15  # the composite trapezoid rule by 1/(n-1), halved at both ends (they sum to 1)
    close(ig.attributions(x, target=0), ref)
    exp = ig.explain(x, target=0)
    close(exp.raw, ref.sum(axis=-1))
    # Captum's convergence delta is sum(A) - (f(x) - f(b)): f(x) - f(b) is what our completeness check uses
    d = exp.diagnostics
    assert d["output_difference"] == pytest.approx(ref_sum - float(delta[0]), abs=1e-5)
    assert d["attribution_sum"] == pytest.approx(float(ref.sum()), abs=1e-5)
    assert d["completeness_error"] == pytest.approx(abs(d["attribution_sum"] - d["output_difference"])
                                                    / abs(d["output_difference"]), rel=1e-12)


def test_every_map_reports_its_completeness_and_notes_a_miss_above_5_percent(tmp_path):
    from saliency_widgets import Explanation
    model = refs.keras_smooth_net(4, softmax=True)
    x = refs.image(5).astype(np.float32)
    f = np.asarray(model(np.stack([x, np.zeros_like(x)]).astype(np.float64)))[:, 0]
    rough = IntegratedGradients(model, steps=1, outputs="probabilities").explain(x, target=0)
    fine = IntegratedGradients(model, steps=256, outputs="probabilities").explain(x, target=0)
    for exp in (rough, fine):
        assert exp.diagnostics["f_image"] == pytest.approx(f[0], rel=1e-6)
        assert exp.diagnostics["f_baseline"] == pytest.approx(f[1], rel=1e-6)
        assert exp.diagnostics["attribution_sum"] == pytest.approx(float(exp.raw.sum()), rel=1e-5)
    assert rough.diagnostics["completeness_error"] > 0.05 and fine.diagnostics["completeness_error"] < 1e-3
    (note,) = rough.notes
    assert "misses completeness by" in note and "at 1 steps (gauss-legendre rule)" in note and fine.notes == []
    again = Explanation.load(rough.save(tmp_path / "ig"))
    assert again.diagnostics == rough.diagnostics and again.notes == rough.notes


def test_partial_maps_count_the_passes_and_only_the_final_map_checks_completeness():
    model = refs.keras_smooth_net(4, softmax=False)
    parts = list(IntegratedGradients(model, steps=7, batch_size=3, outputs="logits")
                 .iter_explain(refs.image(1).astype(np.float32), target=0))
    assert [p.n_forward for p in parts] == [5, 8, 9]  # f(x) and f(b) first, then the path
    assert [bool(p.diagnostics) for p in parts] == [False, False, True]


@pytest.mark.parametrize("kwargs, error, match", [
    ({"steps": 0}, ValueError, r"steps=0 \(the budget\) is outside its range \[1, 10000\]"),
    ({"steps": 2.5}, TypeError, r"steps=2.5 \(the budget\) must be an integer"),
    ({"baseline": "black"}, ValueError, "occluder must be one of"),
    ({"rule": "simpson"}, ValueError, r"rule must be one of \('midpoint', 'trapezoid', 'gauss-legendre'\)"),
    ({"rule": "trapezoid", "steps": 1}, ValueError, "the trapezoid rule needs steps >= 2"),
])
def test_bad_settings_are_refused(kwargs, error, match):
    with pytest.raises(error, match=match):
        IntegratedGradients(refs.keras_smooth_net(0, softmax=False), **kwargs)


def test_a_jax_function_reports_its_completeness():
    jax = pytest.importorskip("jax", reason="needs the [jax] extra")
    import jax.numpy as jnp

    w = np.random.default_rng(8).normal(size=refs.SHAPE + (3,)).astype(np.float32)

    @jax.jit
    def quadratic(x):  # f = (w . x)^2 / 10 per class: IG is exact on the midpoint rule for a quadratic
        return jnp.einsum("bhwc,hwck->bk", x, w) ** 2 / 10

    x = refs.image(2).astype(np.float32)
    exp = IntegratedGradients(declare(quadratic, input_size="any", pixel_range=None), steps=3, outputs="logits").explain(x, target=1)
    want = float(np.einsum("hwc,hwc->", x, w[..., 1])) ** 2 / 10
    assert exp.diagnostics["output_difference"] == pytest.approx(want, rel=1e-5)
    assert exp.diagnostics["completeness_error"] < 1e-5 and exp.notes == []
