"""Grad-CAM finds the last convolution inside nested models and differentiates through the nesting."""
import numpy as np
import pytest

from saliency_widgets import GradCam
from saliency_widgets.models.gradients import conv_layer_candidates, find_conv_layer, gradcam_inputs

keras = pytest.importorskip("keras")


def _layers(prefix=""):
    return [keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="c1"),
            keras.layers.Conv2D(5, 3, strides=2, padding="same", activation="relu", name="c2"),
            keras.layers.GlobalAveragePooling2D(name="gap"), keras.layers.Dense(3, name="logits")]


def _chain(x, layers):
    for layer in layers:
        x = layer(x)
    return x


@pytest.fixture(scope="module")
def nested_and_flat():
    """The same network twice: a base model behind a preprocessing layer, and flattened into one graph."""
    keras.utils.set_random_seed(0)
    inner_in = keras.Input((12, 12, 3))
    base = keras.Model(inner_in, _chain(inner_in, _layers()), name="base")
    outer_in = keras.Input((12, 12, 3))
    pre = keras.layers.Rescaling(1 / 255.0, offset=-0.5, name="preprocess")(outer_in)
    nested = keras.Model(outer_in, keras.layers.Softmax(name="softmax")(base(pre)), name="nested")
    flat_in = keras.Input((12, 12, 3))
    flat_layers = _layers()
    x = keras.layers.Rescaling(1 / 255.0, offset=-0.5)(flat_in)
    flat = keras.Model(flat_in, keras.layers.Softmax()(_chain(x, flat_layers)), name="flat")
    for src, dst in zip(base.layers[1:], flat_layers):
        dst.set_weights(src.get_weights())
    return nested, flat


def test_finds_the_last_conv_inside_the_nested_model(nested_and_flat):
    nested, _ = nested_and_flat
    assert find_conv_layer(nested) == "base/c2"  # not the top-level "preprocess" (4-D too)
    assert conv_layer_candidates(nested) == ["preprocess", "base/c1", "base/c2"]


def test_nested_map_equals_the_flattened_models_map(nested_and_flat):
    # The flat model's Grad-CAM is checked against a GradientTape in test_baselines.py.
    nested, flat = nested_and_flat
    img = np.random.default_rng(0).uniform(0, 255, (12, 12, 3)).astype(np.float32)
    for target in range(3):
        a = GradCam(nested).explain(img, target)
        b = GradCam(flat, layer="c2").explain(img, target)
        np.testing.assert_allclose(a.raw, b.raw, rtol=1e-4, atol=1e-9)
    assert a.params["layer"] == "base/c2"
    np.testing.assert_allclose(GradCam(nested, layer="base/c1").explain(img, 1).raw,
                               GradCam(flat, layer="c1").explain(img, 1).raw, rtol=1e-4, atol=1e-9)


def test_named_layers_and_errors_list_the_candidates(nested_and_flat):
    nested, _ = nested_and_flat
    with pytest.raises(ValueError, match=r"no layer 'base/nope'.*base/c1"):
        GradCam(nested, layer="base/nope")
    with pytest.raises(ValueError, match=r"4-D.*candidates.*base/c2"):
        GradCam(nested, layer="base/logits")


def test_no_conv_layer_is_a_clear_error():
    inp = keras.Input((4, 4, 3))
    model = keras.Model(inp, keras.layers.Dense(2, activation="softmax")(keras.layers.Flatten()(inp)))
    with pytest.raises(ValueError, match="could not find a convolutional layer.*layer="):
        GradCam(model)


@pytest.fixture(scope="module", params=["MobileNetV2", "ResNet50", "VGG16"])
def imagenet_model(request):
    from saliency_widgets.demo.imagenet import IMAGENET_MODELS, load_imagenet_model
    assert request.param in IMAGENET_MODELS
    keras.utils.set_random_seed(0)
    return load_imagenet_model(request.param, weights=None)


def test_every_imagenet_model_is_covered():
    from saliency_widgets.demo.imagenet import IMAGENET_MODELS
    assert set(IMAGENET_MODELS) == {"MobileNetV2", "ResNet50", "VGG16"}  # extend the fixture with the dict


@pytest.mark.slow
def test_gradcam_on_imagenet_models(imagenet_model):
    # Regression: on these models the last top-level 4-D layer is "preprocess", whose gradient was
    # None (AttributeError: 'NoneType' object has no attribute 'numpy').
    img = np.random.default_rng(0).uniform(0, 255, (224, 224, 3)).astype(np.float32)
    explainer = GradCam(imagenet_model)
    base = imagenet_model.layers[-1].name
    assert explainer.layer.startswith(base + "/") and explainer.layer == conv_layer_candidates(imagenet_model)[-1]
    acts, grads = gradcam_inputs(imagenet_model, explainer.layer, img[None], 0)
    assert acts.ndim == 4 and grads.shape == acts.shape
    assert np.all(np.isfinite(grads)) and np.abs(grads).max() > 0  # the gradient reaches the inner layer
    # Random weights: the ReLU'd map of one class may be all zero and a saturated softmax gives the
    # other classes ~0 gradients, so look, top classes first, for a class whose map is not constant.
    probs = explainer.model.predict(img[None])[0]
    maps = []
    for target in np.argsort(-probs)[:10]:
        exp = explainer.explain(img, int(target))
        assert exp.raw.shape == (224, 224) and np.all(np.isfinite(exp.raw))
        maps.append(exp.raw)
        if np.ptp(exp.raw) > 0:
            break
    assert np.ptp(maps[-1]) > 0 and exp.saliency.max() == pytest.approx(1.0)
