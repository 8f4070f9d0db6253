"""The vanilla gradient against finite differences (Keras), Captum (torch), an analytic linear model and JAX.

The Keras-JAX backend runs in a subprocess (Keras picks its backend at import):
tests/explainers/keras_jax_gradients.py, run by :func:`test_keras_jax_backend`, checks all four
methods there against gradients written by hand in NumPy (Keras on JAX computes float64 too
coarsely on this CPU for finite differences).
"""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from saliency_widgets import Gradient, as_model
from saliency_widgets.models.input_gradients import input_gradient_fn

from . import gradient_refs as refs

keras = pytest.importorskip("keras", reason="the Keras tests need the [tf] extra (pip install saliency_widgets[tf])")
ROOT = Path(__file__).resolve().parents[2]


def close(got, want, tol=1e-4):
    """Equal to ``tol`` relative to the reference's largest value (and at least absolutely)."""
    want = np.asarray(want, np.float64)
    np.testing.assert_allclose(got, want, rtol=0, atol=tol * max(1.0, float(np.abs(want).max())))


@pytest.mark.parametrize("softmax", [False, True], ids=["logits", "probabilities"])
def test_keras_gradient_matches_finite_differences(softmax):
    # float64 model: central differences are exact to ~1e-10 on a tanh net.  The gradient is of the
    # model's own output: the probability when it ends in a softmax, else the logit.
    model = refs.keras_smooth_net(1, softmax=softmax)
    x = refs.image(2).astype(np.float32)
    fd = refs.finite_difference(lambda b: model(b), x, 2)
    exp = Gradient(model, outputs="probabilities" if softmax else "logits").explain(x, target=2)
    close(exp.raw, np.abs(fd).max(axis=-1))
    grads = input_gradient_fn(as_model(model, outputs="logits"))(x[None], 2)[0]
    close(grads, fd)
    assert exp.n_forward == 1 and exp.target == 2


def test_keras_mlp_gradient_matches_numpy_by_hand():
    weights = refs.mlp_weights(3)
    model = refs.keras_mlp(weights)
    x = refs.image(4).astype(np.float32)
    for target in range(3):
        got = input_gradient_fn(as_model(model, outputs="logits"))(x[None], target)[0]
        close(got, refs.mlp_gradient(weights, x, target))


@pytest.mark.parametrize("target", [0, 1])
def test_linear_model_gradient_is_the_weight_map(target):
    w = np.random.default_rng(5).normal(size=refs.SHAPE + (2,))
    model = keras.Sequential([keras.Input(refs.SHAPE), keras.layers.Flatten(), keras.layers.Dense(2)])
    model.set_weights([w.reshape(-1, 2), np.zeros(2)])
    exp = Gradient(model, outputs="logits").explain(np.ones(refs.SHAPE, np.float32), target=target)
    close(exp.raw, np.abs(w[..., target]).max(axis=-1), tol=1e-6)
    assert exp.saliency.max() == pytest.approx(1.0)


def test_preprocess_is_differentiated_through_on_the_models_input():
    # Gradients are taken in the model's input space (after preprocess), where masks apply too.
    w = np.random.default_rng(6).normal(size=refs.SHAPE + (2,))
    model = keras.Sequential([keras.Input(refs.SHAPE), keras.layers.Flatten(), keras.layers.Dense(2)])
    model.set_weights([w.reshape(-1, 2), np.zeros(2)])
    exp = Gradient(model, outputs="logits", preprocess=lambda im: im * 3.0).explain(np.ones(refs.SHAPE), target=1)
    close(exp.raw, np.abs(w[..., 1]).max(axis=-1), tol=1e-6)


def test_torch_gradient_matches_captum_saliency():
    torch = pytest.importorskip("torch", reason="needs the [torch] extra")
    captum = pytest.importorskip("captum.attr", reason="the Captum cross-check needs `pip install captum`")
    module = refs.torch_cnn(seed=0)  # float32: the adapter feeds torch modules float32
    x = refs.image(7).astype(np.float32)
    ours = Gradient(module, outputs="logits").explain(x, target=1)
    t = torch.tensor(x).permute(2, 0, 1)[None].requires_grad_(True)
    ref = captum.Saliency(module).attribute(t, target=1, abs=False)[0].permute(1, 2, 0).detach().numpy()
    close(ours.raw, np.abs(ref).max(axis=-1))
    close(input_gradient_fn(as_model(module, outputs="logits"))(x[None], 1)[0], ref)


def test_jax_function_gradient_is_the_weight_map():
    jax = pytest.importorskip("jax", reason="needs the [jax] extra")
    import jax.numpy as jnp

    w = np.random.default_rng(8).normal(size=refs.SHAPE + (3,)).astype(np.float32)

    @jax.jit
    def linear(x):
        return jnp.einsum("bhwc,hwck->bk", x, w)

    from saliency_widgets.models import declare
    declare(linear, input_size=refs.SHAPE, pixel_range=None)

    exp = Gradient(linear, outputs="logits").explain(np.ones(refs.SHAPE, np.float32), target=2)
    close(exp.raw, np.abs(w[..., 2]).max(axis=-1), tol=1e-6)


@pytest.mark.parametrize("cls_name", ["Gradient", "SmoothGrad", "IntegratedGradients", "GuidedBackprop"])
def test_a_plain_callable_is_refused_naming_what_is_needed(cls_name):
    import saliency_widgets as sw

    with pytest.raises(TypeError, match=r"needs gradients: a Keras 3 model, a torch.nn.Module"):
        getattr(sw, cls_name)(lambda b: np.full((len(b), 2), 0.5))


def test_keras_jax_backend():
    """Every gradient method on a Keras model with the JAX backend (a subprocess: the backend is per process)."""
    pytest.importorskip("jax", reason="needs the [jax] extra")
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_ENABLE_X64="1", PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "tests.explainers.keras_jax_gradients"], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "checked: gradient smoothgrad integrated-gradients guided-backprop" in proc.stdout


@pytest.mark.parametrize("cls_name, kwargs", [
    ("Gradient", {}), ("SmoothGrad", {"samples": 5, "noise": 0.3, "seed": 2}),
    ("IntegratedGradients", {"steps": 6, "baseline": [0.1, -0.2]}), ("GuidedBackprop", {}),
])
def test_settings_round_trip_and_the_registry_builds_the_same_explainer(cls_name, kwargs):
    import saliency_widgets as sw
    from saliency_widgets.registry import build

    model = refs.keras_mlp(refs.mlp_weights(0))
    x = refs.image(1).astype(np.float32)
    e = getattr(sw, cls_name)(model, outputs="logits", **kwargs)
    again = type(e)(e.model, **e.params)
    np.testing.assert_array_equal(again.explain(x, target=1).raw, e.explain(x, target=1).raw)
    assert again.params == e.params
    built = build(e.method, model, **e.params)
    assert type(built) is type(e) and built.params == e.params


@pytest.mark.parametrize("softmax", [True, "layer", False], ids=["activation", "Softmax-layer", "logits"])
def test_differentiate_logit_removes_a_keras_models_final_softmax(softmax):
    model = refs.keras_smooth_net(1, softmax=softmax)
    logits = refs.keras_smooth_net(1, softmax=False)  # the same weights, no softmax
    x = refs.image(2).astype(np.float32)
    fd = refs.finite_difference(lambda b: logits(b), x, 0)
    exp = Gradient(model, differentiate="logit").explain(x, target=0)
    close(exp.raw, np.abs(fd).max(axis=-1))
    assert exp.params["differentiate"] == "logit"
    assert 0 < exp.score < 1  # the score is still the class probability


def test_differentiate_logit_of_guided_backprop_on_a_softmax_model():
    from saliency_widgets import GuidedBackprop

    weights = refs.mlp_weights(3)
    x = refs.image(4).astype(np.float32)
    got = GuidedBackprop(refs.keras_mlp(weights, softmax=True), differentiate="logit").explain(x, target=2).raw
    close(got, np.abs(refs.mlp_gradient(weights, x, 2, guided=True)).max(axis=-1))


def test_differentiate_logit_needs_logits_it_can_reach():
    pytest.importorskip("torch", reason="needs the [torch] extra")
    from tests.toy_frameworks import make_torch_any_size  # returns softmax probabilities: no logits to reach

    x = np.zeros((8, 8, 3), np.float32)
    x[:, :4, 0] = 200
    with pytest.raises(ValueError, match=r"differentiate='logit'\) needs the logits.*returns probabilities"):
        Gradient(make_torch_any_size(), differentiate="logit").explain(x, target=0)
    module = refs.torch_cnn(seed=0)  # returns logits: "logit" is its output
    img = refs.image(1).astype(np.float32)
    np.testing.assert_array_equal(Gradient(module, differentiate="logit").explain(img, target=1).raw,
                                  Gradient(module, outputs="logits").explain(img, target=1).raw)
    with pytest.raises(ValueError, match="differentiate must be one of"):
        Gradient(module, differentiate="probability")


@pytest.mark.parametrize("cls_name", ["Gradient", "SmoothGrad", "IntegratedGradients", "GuidedBackprop"])
def test_the_key_comes_from_the_declarations_only(cls_name):
    # No class on the way down from Explainer hard-codes a key: a subclass that declares another reading
    # is named by its declaration (a class attribute `method = "..."` would shadow it).
    import dataclasses

    import saliency_widgets as sw
    from saliency_widgets.explainers.base import Explainer

    cls = getattr(sw, cls_name)
    assert not [c.__name__ for c in cls.__mro__ if c is not Explainer and "method" in vars(c)]
    renamed = type("Renamed", (cls,), {"declarations": (dataclasses.replace(cls.declarations[0], key="renamed"),)})
    model = refs.keras_mlp(refs.mlp_weights(0))
    assert cls(model, outputs="logits").method == cls.declarations[0].key
    e = renamed(model, outputs="logits")
    assert e.method == "renamed" and e.explain(refs.image(1).astype(np.float32), target=0).method == "renamed"
