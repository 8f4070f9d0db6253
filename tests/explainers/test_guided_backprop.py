"""Guided Backpropagation: equal to Captum's and to a NumPy MLP by hand, not the vanilla gradient,
blind to randomised top layers (Adebayo et al. 2018), and refused where no ReLU can be modified."""
import numpy as np
import pytest

from saliency_widgets import Gradient, GuidedBackprop

from . import gradient_refs as refs
from .test_gradient import close

keras = pytest.importorskip("keras", reason="the Keras tests need the [tf] extra (pip install saliency_widgets[tf])")


def test_keras_guided_backprop_matches_numpy_by_hand_and_differs_from_the_gradient():
    weights = refs.mlp_weights(3)
    model = refs.keras_mlp(weights)  # one activation="relu" and one ReLU layer: both are replaced
    x = refs.image(4).astype(np.float32)
    for target in range(3):
        guided = GuidedBackprop(model, outputs="logits").explain(x, target=target).raw
        want = np.abs(refs.mlp_gradient(weights, x, target, guided=True)).max(axis=-1)
        close(guided, want)
        vanilla = Gradient(model, outputs="logits").explain(x, target=target).raw
        close(vanilla, np.abs(refs.mlp_gradient(weights, x, target)).max(axis=-1))  # the model is untouched
        assert np.abs(guided - vanilla).max() > 0.1 * np.abs(vanilla).max()


def test_keras_guided_clone_follows_the_models_weights():
    weights = refs.mlp_weights(3)
    model = refs.keras_mlp(weights)
    x = refs.image(4).astype(np.float32)
    GuidedBackprop(model, outputs="logits").explain(x, target=0)
    new = refs.mlp_weights(9)
    model.set_weights([a for pair in new for a in pair])
    close(GuidedBackprop(model, outputs="logits").explain(x, target=0).raw,
          np.abs(refs.mlp_gradient(new, x, 0, guided=True)).max(axis=-1))


def test_torch_guided_backprop_matches_captum_and_leaves_no_hook():
    torch = pytest.importorskip("torch", reason="needs the [torch] extra")
    captum = pytest.importorskip("captum.attr", reason="the Captum cross-check needs `pip install captum`")
    module = refs.torch_cnn(seed=5)
    x = refs.image(6).astype(np.float32)
    ours = GuidedBackprop(module, outputs="logits").explain(x, target=1).raw
    t = torch.tensor(x).permute(2, 0, 1)[None].requires_grad_(True)
    ref = captum.GuidedBackprop(module).attribute(t, target=1)[0].permute(1, 2, 0).detach().numpy()
    close(ours, np.abs(ref).max(axis=-1))
    assert all(not m._forward_hooks for m in module.modules())
    vanilla = Gradient(module, outputs="logits").explain(x, target=1).raw
    assert np.abs(ours - vanilla).max() > 0.1 * np.abs(vanilla).max()


def test_torch_inplace_relus_give_the_same_map():
    torch = pytest.importorskip("torch", reason="needs the [torch] extra")
    module = refs.torch_cnn(seed=5)
    inplace = refs.torch_cnn(seed=5)
    for m in inplace.relus:
        m.inplace = True
    x = refs.image(6).astype(np.float32)
    close(GuidedBackprop(inplace, outputs="logits").explain(x, target=1).raw,
          GuidedBackprop(module, outputs="logits").explain(x, target=1).raw, tol=1e-6)
    assert torch.is_tensor(next(inplace.parameters()))


def scene(seed: int, n: int = 32) -> np.ndarray:
    """A disc and a square on a flat background, colours drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    img = np.full((n, n, 3), 0.2)
    yy, xx = np.mgrid[:n, :n]
    img[(yy - 10) ** 2 + (xx - 10) ** 2 < 25] = rng.uniform(0.5, 1, 3)
    img[18:28, 16:28] = rng.uniform(0.5, 1, 3)
    return (img + rng.normal(0, 0.02, img.shape)).astype(np.float32)


def rank_correlation(a, b) -> float:
    from scipy.stats import spearmanr
    return float(spearmanr(np.ravel(a), np.ravel(b))[0])


def test_guided_backprop_barely_changes_when_the_top_layer_is_randomised():
    # Adebayo et al. (2018): Guided Backpropagation's map survives randomising the top layers, the
    # vanilla gradient's does not.  Seeded nets and scenes; the margins below hold for each seed with
    # room to spare (measured: guided 0.56-0.84, vanilla -0.02-0.31 over seeds 0-5).
    pytest.importorskip("torch", reason="needs the [torch] extra")
    guided, vanilla = [], []
    for seed in range(4):
        make = lambda: refs.torch_cnn(seed=seed, in_channels=3, width=16, depth=3, classes=4)  # noqa: E731
        trained, randomised = make(), refs.reinit(make(), 1000 + seed, names=["head"])
        x = scene(seed)
        maps = {name: [cls(net, outputs="logits").explain(x, target=0).raw for net in (trained, randomised)]
                for name, cls in (("guided", GuidedBackprop), ("vanilla", Gradient))}
        guided.append(rank_correlation(*maps["guided"]))
        vanilla.append(rank_correlation(*maps["vanilla"]))
    assert min(guided) > 0.5, guided
    assert np.mean(guided) > np.mean(vanilla) + 0.3, (guided, vanilla)


def test_a_torch_module_with_functional_relu_is_refused():
    pytest.importorskip("torch", reason="needs the [torch] extra")
    module = refs.torch_cnn(seed=0, functional=True)
    with pytest.raises(ValueError, match=r"no torch.nn.ReLU module.*F.relu.*vanilla gradient"):
        GuidedBackprop(module)
    # nn.ReLU modules registered but never called: found out at the backward pass, not silently vanilla
    unused = refs.torch_cnn(seed=0, functional=True, registered=True)
    explainer = GuidedBackprop(unused, outputs="logits")
    with pytest.raises(ValueError, match=r"no torch.nn.ReLU module called.*vanilla gradient"):
        explainer.explain(refs.image(0).astype(np.float32), target=0)
    Gradient(module, outputs="logits").explain(refs.image(0).astype(np.float32), target=0)  # gradients still work


def test_a_keras_model_without_relu_is_refused():
    with pytest.raises(ValueError, match=r"found no ReLU .*vanilla gradient"):
        GuidedBackprop(refs.keras_smooth_net(0, softmax=False))


def test_a_jax_function_is_refused():
    jax = pytest.importorskip("jax", reason="needs the [jax] extra")
    fn = jax.jit(lambda x: jax.nn.relu(x).mean(axis=(1, 2)))
    with pytest.raises(TypeError, match="a JAX function does not expose"):
        GuidedBackprop(fn)


def test_keras_relu6_units_are_guided_with_their_upper_cut():
    # MobileNet-style units: activation="relu6" and ReLU(max_value=6) pass gradients only for 0 < z < 6.
    weights = [(5 * w, b) for w, b in refs.mlp_weights(8)]  # large weights: many units beyond 6
    (w1, b1), (w2, b2), (w3, b3) = weights
    model = keras.Sequential([keras.Input(refs.SHAPE, dtype="float64"), keras.layers.Flatten(dtype="float64"),
                              keras.layers.Dense(16, activation="relu6", dtype="float64"),
                              keras.layers.Dense(12, dtype="float64"),
                              keras.layers.ReLU(max_value=6.0, dtype="float64"),
                              keras.layers.Dense(3, dtype="float64")])
    model.set_weights([w1, b1, w2, b2, w3, b3])
    x = refs.image(9).astype(np.float32)
    h, pre = x.astype(np.float64).reshape(-1), []
    for w, b in weights[:-1]:
        pre.append(h @ w + b)
        h = np.clip(pre[-1], 0, 6)
    assert any(((z > 6).any() and (z < 0).any()) for z in pre)  # both cuts matter here
    g = w3[:, 1]
    for (w, _), z in zip(reversed(weights[:-1]), reversed(pre)):
        g = w @ (np.maximum(g, 0) * ((z > 0) & (z < 6)))
    close(GuidedBackprop(model, outputs="logits").explain(x, target=1).raw, np.abs(g.reshape(refs.SHAPE)).max(-1))
