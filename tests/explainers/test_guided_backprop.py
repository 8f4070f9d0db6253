"""Guided Backpropagation: equal to Captum's and to a NumPy MLP by hand, not the vanilla gradient,
blind to randomised top layers (Adebayo et al. 2018), and refused where no ReLU can be modified."""
import numpy as np
import pytest

from saliency_widgets import Gradient, GuidedBackprop
from saliency_widgets.models import declare

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


def test_a_torch_module_with_functional_relu_is_guided_as_its_module_twin_by_captum():
    # F.relu / torch.relu in forward() have no module to hook: the guided rule reaches them all the same.
    torch = pytest.importorskip("torch", reason="needs the [torch] extra")
    captum = pytest.importorskip("captum.attr", reason="the Captum cross-check needs `pip install captum`")
    functional, twin = refs.torch_cnn(seed=2, functional=True), refs.torch_cnn(seed=2)  # the same weights
    x = refs.image(3).astype(np.float32)
    t = torch.tensor(x).permute(2, 0, 1)[None].requires_grad_(True)
    ref = captum.GuidedBackprop(twin).attribute(t, target=0)[0].permute(1, 2, 0).detach().numpy()
    close(GuidedBackprop(functional, outputs="logits").explain(x, target=0).raw, np.abs(ref).max(axis=-1))
    unused = refs.torch_cnn(seed=2, functional=True, registered=True)  # nn.ReLU modules registered, never called
    close(GuidedBackprop(unused, outputs="logits").explain(x, target=0).raw, np.abs(ref).max(axis=-1))


@pytest.mark.parametrize("acts", [("ReLU6", "F.relu6"), ("ReLU6-inplace", "clamp"), ("hardtanh", "Tensor.clamp_")],
                         ids="+".join)
def test_torch_relu6_units_are_guided_with_their_upper_cut(acts):
    # EfficientNet-Lite / MobileNet units: nn.ReLU6 (a Hardtanh(0, 6)), F.relu6, clamp(0, 6), in place or not;
    # large weights, so both cuts matter.  Reference: the MLP by hand in NumPy.
    pytest.importorskip("torch", reason="needs the [torch] extra")
    weights = [(5 * w, b) for w, b in refs.mlp_weights(8)]
    x = refs.image(9).astype(np.float32)  # what the adapter feeds (the reference takes the same values)
    z = x.reshape(-1) @ weights[0][0] + weights[0][1]
    assert (z > 6).any() and (z < 0).any()
    net = refs.torch_mlp(weights, acts)
    for target in range(3):
        want = refs.mlp_gradient(weights, x, target, guided=True, cap=6)
        got = GuidedBackprop(net, outputs="logits").explain(x, target=target).raw
        close(got, np.abs(want).max(-1), tol=1e-6)  # raw is float32: exact to its rounding
    plain = Gradient(net, outputs="logits").explain(x, target=0).raw  # the module keeps its own gradient
    close(plain, np.abs(refs.mlp_gradient(weights, x, 0, cap=6)).max(-1), tol=1e-6)


@pytest.mark.parametrize("acts", [("ReLU", "F.relu"), ("torch.relu", "Tensor.relu_"), ("clamp_min", "ReLU")],
                         ids="+".join)
def test_torch_relu_calls_of_every_form_are_guided(acts):
    pytest.importorskip("torch", reason="needs the [torch] extra")
    weights = refs.mlp_weights(3)
    x = refs.image(4).astype(np.float32)
    want = refs.mlp_gradient(weights, x, 1, guided=True)
    close(GuidedBackprop(refs.torch_mlp(weights, acts), outputs="logits").explain(x, target=1).raw,
          np.abs(want).max(-1), tol=1e-6)


def test_a_torch_module_without_a_relu_is_refused_naming_its_activations():
    torch = pytest.importorskip("torch", reason="needs the [torch] extra")

    class Swish(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(2, 4, 3, padding=1)
            self.act = torch.nn.SiLU()
            self.head = torch.nn.Linear(4, 3)

        def forward(self, x):
            return self.head(torch.nn.functional.gelu(self.act(self.conv(x))).mean(dim=(2, 3)))

    explainer = GuidedBackprop(declare(Swish(), input_size="any", pixel_range=None), outputs="logits")
    with pytest.raises(ValueError, match=r"no ReLU-type activation ran.*act \(SiLU\).*gelu.*vanilla gradient"):
        explainer.explain(refs.image(0).astype(np.float32), target=0)
    Gradient(declare(Swish(), input_size="any", pixel_range=None), outputs="logits").explain(refs.image(0).astype(np.float32), target=0)  # gradients still work


@pytest.mark.slow
def test_guided_backprop_on_efficientnet_lite0_guides_its_relu6_modules():
    # EfficientNet-Lite0: 17 nn.ReLU6 modules, called 33 times.  Reference: a deep copy whose ReLU6 modules
    # are replaced by a guided ReLU6 written here (an independent implementation of the rule).
    torch = pytest.importorskip("torch", reason="needs the [torch] extra")
    pytest.importorskip("efficientnet_lite_pytorch", reason="needs the [imagenet] extra")
    import copy

    from saliency_widgets.demo import load_imagenet_model, load_photo

    class Guided6(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return torch.clamp(x, 0, 6)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return torch.where((x > 0) & (x < 6) & (g > 0), g, torch.zeros_like(g))

    class GuidedReLU6(torch.nn.Module):
        def forward(self, x):
            return Guided6.apply(x)

    model = load_imagenet_model("efficientnet-lite0", framework="torch")
    ref_model = copy.deepcopy(model)
    for name, m in list(ref_model.named_modules()):
        for child_name, child in list(m.named_children()):
            if isinstance(child, torch.nn.ReLU6):
                setattr(m, child_name, GuidedReLU6())
    e = GuidedBackprop(model)
    x = e.model.prepare(load_photo("coffee"))
    got = e.explain(x, target=967)
    t = torch.tensor(x[None]).permute(0, 3, 1, 2).requires_grad_(True)
    (g,) = torch.autograd.grad(ref_model(t)[0, 967], t)
    want = np.abs(g[0].permute(1, 2, 0).numpy()).max(-1)
    close(got.raw, want, tol=1e-4)
    vanilla = Gradient(model).explain(x, target=967).raw
    assert np.abs(got.raw / got.raw.max() - vanilla / vanilla.max()).max() > 0.1
    assert all(not m._forward_hooks for m in model.modules())


def test_a_keras_model_without_relu_is_refused_naming_its_activations():
    with pytest.raises(ValueError, match=r"found no ReLU .*vanilla gradient; its activations cannot be guided: "
                                         r"conv2d\w* \(tanh\)"):
        GuidedBackprop(refs.keras_smooth_net(0, softmax=False))


def test_a_jax_function_is_refused():
    jax = pytest.importorskip("jax", reason="needs the [jax] extra")
    fn = jax.jit(lambda x: jax.nn.relu(x).mean(axis=(1, 2)))
    with pytest.raises(TypeError, match="a JAX function does not expose"):
        GuidedBackprop(fn)


def _relu6_unit(form, width, dtype="float64"):
    """A Dense layer of ``width`` units followed by a ReLU6 written as ``form`` (a list of Keras layers)."""
    if form == "dense-relu6":
        return [keras.layers.Dense(width, activation="relu6", dtype=dtype)]
    act = {"ReLU(max_value=6)": lambda: keras.layers.ReLU(max_value=6.0, dtype=dtype),
           "Activation('relu6')": lambda: keras.layers.Activation("relu6", dtype=dtype),
           "Activation(keras.ops.relu6)": lambda: keras.layers.Activation(keras.ops.relu6, dtype=dtype)}[form]()
    return [keras.layers.Dense(width, dtype=dtype), act]


@pytest.mark.parametrize("forms", [("dense-relu6", "ReLU(max_value=6)"),
                                   ("Activation('relu6')", "Activation(keras.ops.relu6)")], ids="+".join)
def test_keras_relu6_units_are_guided_with_their_upper_cut(forms):
    # MobileNet / EfficientNet-Lite units (Keras ports write relu6 in each of these ways) pass gradients only
    # for 0 < z < 6.  Reference: the MLP by hand in NumPy.
    weights = [(5 * w, b) for w, b in refs.mlp_weights(8)]  # large weights: many units beyond 6
    model = keras.Sequential([keras.Input(refs.SHAPE, dtype="float64"), keras.layers.Flatten(dtype="float64")]
                             + _relu6_unit(forms[0], 16) + _relu6_unit(forms[1], 12)
                             + [keras.layers.Dense(3, dtype="float64")])
    model.set_weights([a for pair in weights for a in pair])
    x = refs.image(9).astype(np.float32)
    h, pre = x.astype(np.float64).reshape(-1), []
    for w, b in weights[:-1]:
        pre.append(h @ w + b)
        h = np.clip(pre[-1], 0, 6)
    assert any(((z > 6).any() and (z < 0).any()) for z in pre)  # both cuts matter here
    for target in range(3):
        want = refs.mlp_gradient(weights, x, target, guided=True, cap=6)
        close(GuidedBackprop(model, outputs="logits").explain(x, target=target).raw, np.abs(want).max(-1))
