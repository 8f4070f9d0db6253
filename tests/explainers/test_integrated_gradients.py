"""Integrated Gradients: exact on a linear model, complete on a nonlinear one, equal to Captum's."""
import numpy as np
import pytest

from saliency_widgets import IntegratedGradients

from . import gradient_refs as refs
from .test_gradient import close

keras = pytest.importorskip("keras", reason="the Keras tests need the [tf] extra (pip install saliency_widgets[tf])")


def linear_model(seed, k=2):
    w = np.random.default_rng(seed).normal(size=refs.SHAPE + (k,))
    model = keras.Sequential([keras.Input(refs.SHAPE, dtype="float64"), keras.layers.Flatten(dtype="float64"),
                              keras.layers.Dense(k, dtype="float64")])
    model.set_weights([w.reshape(-1, k), np.zeros(k)])
    return model, w


@pytest.mark.parametrize("steps", [1, 7])
@pytest.mark.parametrize("baseline", ["zero", "mean", 0.25])
def test_linear_model_attribution_is_difference_times_weight(steps, baseline):
    model, w = linear_model(0)
    x = refs.image(1).astype(np.float32)
    b = {"zero": 0.0, "mean": x.mean(axis=(0, 1), dtype=np.float64).astype(np.float32), 0.25: 0.25}[baseline]
    ig = IntegratedGradients(model, steps=steps, baseline=baseline, outputs="logits")
    d = x.astype(np.float64) - b  # in float64, as the explainer computes the path
    exp = ig.explain(x, target=1)
    close(ig.attributions(x, target=1), d * w[..., 1], tol=1e-9)
    close(exp.raw, (d * w[..., 1]).sum(axis=-1), tol=1e-6)  # raw: summed over channels, signed
    assert exp.n_forward == steps


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
    gaps = [abs(IntegratedGradients(model, steps=s, outputs="probabilities").attributions(x, target=0).sum()
                - (f[0] - f[1])) for s in (4, 256)]
    assert abs(f[0] - f[1]) > 1e-2  # the test means something: the image moves the score
    assert gaps[1] < 1e-4 * abs(f[0] - f[1])
    assert gaps[1] < gaps[0] / 100


def test_same_map_for_every_batch_size():
    model = refs.keras_smooth_net(4, softmax=False)
    x = refs.image(6).astype(np.float32)
    maps = [IntegratedGradients(model, steps=10, batch_size=bs, outputs="logits").explain(x, target=1).raw
            for bs in (1, 3, 64)]
    for m in maps[1:]:
        close(m, maps[0], tol=1e-6)


def test_torch_matches_captum_integrated_gradients():
    torch = pytest.importorskip("torch", reason="needs the [torch] extra")
    captum = pytest.importorskip("captum.attr", reason="the Captum cross-check needs `pip install captum`")
    module = refs.torch_cnn(seed=3)
    x = refs.image(8).astype(np.float32)
    ig = IntegratedGradients(module, steps=16, batch_size=5, outputs="logits")
    t = torch.tensor(x).permute(2, 0, 1)[None]
    ref = captum.IntegratedGradients(module).attribute(t, baselines=0.0, target=0, n_steps=16,
                                                       method="riemann_middle")
    ref = ref[0].permute(1, 2, 0).detach().numpy()
    close(ig.attributions(x, target=0), ref)
    close(ig.explain(x, target=0).raw, ref.sum(axis=-1))


@pytest.mark.parametrize("kwargs, error, match", [
    ({"steps": 0}, ValueError, r"steps=0 \(the budget\) is outside its range \[1, 10000\]"),
    ({"steps": 2.5}, TypeError, r"steps=2.5 \(the budget\) must be an integer"),
    ({"baseline": "black"}, ValueError, "occluder must be one of"),
])
def test_bad_settings_are_refused(kwargs, error, match):
    with pytest.raises(error, match=match):
        IntegratedGradients(refs.keras_smooth_net(0, softmax=False), **kwargs)
