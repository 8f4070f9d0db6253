"""Grad-CAM on PyTorch modules: Captum's LayerGradCam, the layer found or named, errors that name the model."""
import numpy as np
import pytest

from saliency_widgets import GradCam

from . import gradient_refs as refs
from .test_gradient import close

torch = pytest.importorskip("torch", reason="needs the [torch] extra")


def cnn(seed=0):
    """Conv -> ReLU -> strided conv -> ReLU -> global mean -> Linear: named "0", "2" (convolutions), "6"."""
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(),
                              torch.nn.Conv2d(4, 6, 3, stride=2, padding=1), torch.nn.ReLU(),
                              torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(6, 3))
    return anysize(refs.reinit(net, seed))


def anysize(module):
    """``module`` declared as taking images of any size, values as they are (what these toy CNNs take)."""
    from saliency_widgets.models import declare
    return declare(module, input_size="any", pixel_range=None)


def image(seed=1, size=10):
    return np.random.default_rng(seed).uniform(-1, 1, (size, size, 3)).astype(np.float32)


def captum_cam(module, layer, x, target):
    """Captum's LayerGradCam (ReLU'd) at the layer's resolution, (h, w)."""
    captum = pytest.importorskip("captum.attr", reason="the Captum cross-check needs `pip install captum`")
    t = torch.tensor(x).permute(2, 0, 1)[None]
    cam = captum.LayerGradCam(module, layer).attribute(t, target=target, relu_attributions=True)
    return cam[0, 0].detach().numpy().astype(np.float64)


@pytest.mark.parametrize("target", [0, 2])
def test_matches_captum_layer_gradcam_at_the_last_convolution(target):
    from skimage.transform import resize

    from saliency_widgets.models.torch_layers import torch_gradcam_inputs
    module, x = cnn(), image()
    e = GradCam(module, outputs="logits")
    assert e.layer == "2" and e.params["layer"] == "2" and e.label == "Grad-CAM [outputs=logits]"
    acts, grads = torch_gradcam_inputs(module, "2", x[None], target)
    assert acts.shape == grads.shape == (1, 5, 5, 6)  # (B, h, w, C): the strided convolution's map
    ref = captum_cam(module, module[2], x, target)
    close(np.maximum((acts[0] * grads[0].mean(axis=(0, 1))).sum(-1), 0), ref, tol=1e-6)
    assert ref.max() > 0  # the map is not trivially zero
    exp = e.explain(x, target=target)
    close(exp.raw, resize(ref, (10, 10), order=1, mode="edge", anti_aliasing=False), tol=1e-6)
    assert exp.n_forward == 1 and exp.method == "grad-cam"


def test_a_layer_named_as_in_named_modules():
    module, x = cnn(), image()
    e = GradCam(module, layer="0", outputs="logits")
    assert e.label == "Grad-CAM [layer=0, outputs=logits]" and e.params["layer"] == "0"
    close(e.explain(x, target=1).raw, captum_cam(module, module[0], x, 1), tol=1e-6)  # full resolution: no resize
    nested = torch.nn.Sequential()  # a nested name: "body.2"
    nested.add_module("body", cnn())
    nested = anysize(nested)
    close(GradCam(nested, layer="body.2", outputs="logits").explain(x, target=1).raw,
          GradCam(cnn(), outputs="logits").explain(x, target=1).raw, tol=1e-6)
    assert GradCam(nested, outputs="logits").layer == "body.2"


def test_the_users_module_is_left_as_it_was():
    module, x = cnn(), image()
    seen = []
    module[2].register_forward_hook(lambda m, i, o: seen.append(o.shape))  # the user's own hook still runs
    before = {k: v.clone() for k, v in module.state_dict().items()}
    GradCam(module, outputs="logits").explain(x, target=0)
    assert seen == [torch.Size([1, 6, 5, 5])] * 2  # the score's forward pass and Grad-CAM's
    assert [len(m._forward_hooks) for m in module.modules()] == [0, 0, 0, 1, 0, 0, 0, 0]
    assert all("forward" not in vars(m) for m in module.modules())
    assert all(torch.equal(before[k], v) for k, v in module.state_dict().items())


def test_errors_name_the_models_type_and_list_the_candidates():
    module = cnn()
    with pytest.raises(ValueError, match=r"torch module 'Sequential' has no layer 'features.8'.*"
                                         r"Grad-CAM candidates\): 0, 2$"):
        GradCam(module, layer="features.8")
    with pytest.raises(ValueError, match=r"layer '6' of torch module 'Sequential' outputs \(1, 3\), not a 4-D "
                                         r"feature map.*candidates\): 0, 2"):
        GradCam(module, layer="6", outputs="logits").explain(image(), target=0)
    with pytest.raises(TypeError, match="qualified name"):
        GradCam(module, layer=2)
    mlp = refs.torch_mlp(refs.mlp_weights(0), ("ReLU", "ReLU"))
    with pytest.raises(ValueError, match=r"no convolution \(torch.nn.Conv2d\) in torch module 'MLP' \(its "
                                         r"top-level modules: \['layers', 'acts'\]\)"):
        GradCam(mlp)


def test_a_layer_called_twice_is_ambiguous():
    class Twice(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 3, 3, padding=1)
            self.head = torch.nn.Linear(3, 2)

        def forward(self, x):
            return self.head(self.conv(torch.relu(self.conv(x))).mean(dim=(2, 3)))

    with pytest.raises(ValueError, match=r"layer 'conv' of torch module 'Twice' ran 2 times"):
        GradCam(anysize(Twice()), outputs="logits").explain(image(), target=0)


def test_models_without_layers_are_refused_naming_what_they_are():
    with pytest.raises(TypeError, match=r"model 'flat' \(a function\) is a plain callable"):
        def flat(b):
            return np.full((len(b), 2), 0.5)
        GradCam(flat)
    jax = pytest.importorskip("jax", reason="needs the [jax] extra")
    with pytest.raises(TypeError, match=r"JAX function .*, a JAX function, has no layers"):
        GradCam(jax.jit(lambda x: x.mean(axis=(1, 2))))


@pytest.mark.slow
def test_efficientnet_lite0_matches_captum_at_its_head_convolution():
    pytest.importorskip("efficientnet_lite_pytorch", reason="needs the [imagenet] extra")
    from skimage.transform import resize

    from saliency_widgets.demo import load_imagenet_model, load_photo
    model = load_imagenet_model("efficientnet-lite0", framework="torch")
    e = GradCam(model)
    assert e.layer == "net._conv_head" and e.label == "Grad-CAM"
    x = e.model.prepare(load_photo("cat"))
    ref = captum_cam(model, model.net._conv_head, x, 282)
    close(e.explain(x, target=282).raw, resize(ref, (224, 224), order=1, mode="edge", anti_aliasing=False),
          tol=1e-4)
