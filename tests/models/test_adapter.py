import warnings

import numpy as np
import pytest

from saliency_widgets.models import ModelAdapter, ModelError, as_model, softmax


def test_logits_are_detected_and_reported():
    m = as_model(lambda x: x.mean(axis=(1, 2)) * 10)
    with pytest.warns(UserWarning, match="softmax"):
        p = m.predict(np.random.default_rng(0).random((3, 4, 4, 3), np.float32))
    np.testing.assert_allclose(p.sum(1), 1, rtol=1e-6)


def test_declared_logits_silently_softmaxed():
    logits = np.array([[1.0, 2.0, 3.0]], np.float32)
    m = as_model(lambda x: np.repeat(logits, len(x), 0), outputs="logits")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = m.predict(np.zeros((2, 2, 2, 1), np.float32))
    np.testing.assert_allclose(p[0], softmax(logits)[0], rtol=1e-6)


def test_probabilities_pass_through():
    probs = np.array([[0.2, 0.8]], np.float32)
    m = as_model(lambda x: np.repeat(probs, len(x), 0))
    np.testing.assert_array_equal(m.predict(np.zeros((3, 2, 2, 1)))[1], probs[0])


def test_batches_are_split_at_batch_size():
    sizes = []

    def fn(x):
        sizes.append(len(x))
        return np.tile([0.5, 0.5], (len(x), 1))

    as_model(fn, batch_size=8).predict(np.zeros((20, 2, 2, 1)))
    assert sizes == [8, 8, 4]


def test_raising_model_is_wrapped():
    def boom(x):
        raise ValueError("bad weights")
    with pytest.raises(ModelError, match="bad weights"):
        as_model(boom).predict(np.zeros((1, 2, 2, 1)))


def test_preprocess_runs_before_checks():
    m = as_model(lambda x: np.tile([0.5, 0.5], (len(x), 1)), preprocess=lambda im: im / 255.0)
    x = m.prepare(np.full((4, 4, 3), 255, np.uint8))
    assert x.dtype == np.float32 and x.max() == 1.0


def test_not_a_model():
    with pytest.raises(TypeError, match="callable"):
        as_model(42)
    with pytest.raises(ValueError, match="outputs"):
        as_model(lambda x: x, outputs="probs")


def test_existing_adapter_is_reused():
    m = as_model(lambda x: x)
    assert as_model(m) is m
    assert isinstance(as_model(m, batch_size=4), ModelAdapter)


@pytest.fixture(scope="module")
def tiny_keras():
    keras = pytest.importorskip("keras")
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(3, activation="softmax")(x)
    return keras.Model(inputs, outputs)


def test_keras_model_matches_direct_call(tiny_keras):
    m = as_model(tiny_keras, batch_size=16)
    x = np.random.default_rng(0).random((21, 8, 8, 3)).astype(np.float32)
    np.testing.assert_allclose(m.predict(x), np.asarray(tiny_keras(x)), rtol=1e-5, atol=1e-6)
    assert m.input_shape == (8, 8, 3) and m.outputs == "probabilities"


def test_keras_input_size_mismatch_is_clear(tiny_keras):
    m = as_model(tiny_keras)
    with pytest.raises(ValueError, match=r"height is 9 but the model takes 8"):
        m.prepare(np.zeros((9, 8, 3)))
    with pytest.raises(ValueError, match="channels"):
        m.prepare(np.zeros((8, 8, 1)))
    with pytest.raises(ValueError, match="grayscale"):
        m.prepare(np.zeros((8, 8)))


def test_mean_color_is_none_unless_declared():
    assert as_model(lambda x: x).mean_color is None
    m = as_model(lambda x: x, mean_color=[1, 2, 3])
    assert m.mean_color == (1.0, 2.0, 3.0)
    assert as_model(m).mean_color == (1.0, 2.0, 3.0)  # kept when the adapter is re-wrapped
    assert as_model(m, batch_size=4).mean_color == (1.0, 2.0, 3.0)
    assert as_model(m, mean_color=[0, 0, 0]).mean_color == (0.0, 0.0, 0.0)


@pytest.mark.parametrize("bad,exc", [([[1, 2]], ValueError), ([np.nan], ValueError), ("grey", TypeError),
                                     ([], ValueError)])
def test_bad_mean_color_is_named(bad, exc):
    with pytest.raises(exc, match="mean_color"):
        as_model(lambda x: x, mean_color=bad)


def test_keras_model_declares_its_mean_color(tiny_keras):
    from saliency_widgets.models.keras import MEAN_COLOR_ATTR
    assert as_model(tiny_keras).mean_color is None
    setattr(tiny_keras, MEAN_COLOR_ATTR, (1.0, 2.0, 3.0))
    try:
        assert as_model(tiny_keras).mean_color == (1.0, 2.0, 3.0)
        assert as_model(tiny_keras, mean_color=(0, 0, 0)).mean_color == (0.0, 0.0, 0.0)  # explicit wins
    finally:
        delattr(tiny_keras, MEAN_COLOR_ATTR)


def test_batch_size_defaults_to_256_on_an_accelerator_and_64_on_the_host():
    from saliency_widgets.models.backends import ArrayBackend, numpy_backend
    host = numpy_backend()
    gpu = ArrayBackend("torch", host.xp, accelerator=True)  # stands in for a CUDA device
    assert ModelAdapter(lambda x: x, backend=gpu).batch_size == 256
    assert ModelAdapter(lambda x: x, backend=gpu, batch_size=8).batch_size == 8
    assert ModelAdapter(lambda x: x).batch_size == 64
    assert gpu.yield_interval_s > 0 and host.yield_interval_s == 0  # partial maps paced on a GPU only


def test_input_shape_checks_images_of_a_model_that_does_not_say_its_size():
    m = as_model(lambda x: np.stack([x.mean((1, 2, 3)), 1 - x.mean((1, 2, 3))], 1), input_shape=(8, 6, 3))
    assert m.prepare(np.zeros((8, 6, 3))).shape == (8, 6, 3)
    with pytest.raises(ValueError, match=r"height is 9 but the model takes 8"):
        m.prepare(np.zeros((9, 6, 3)))
    with pytest.raises(ValueError, match="model takes 3"):
        m.prepare(np.zeros((8, 6, 4)))
    assert as_model(m, input_shape=(4, 4, 3)).input_shape == (4, 4, 3)  # a re-wrap may set it
    with pytest.raises(ValueError, match=r"input_shape must be \(H, W, C\)"):
        as_model(m, input_shape=(8, 6))


def test_input_shape_of_a_torch_module():
    pytest.importorskip("torch")
    from ..toy_frameworks import make_torch
    m = as_model(make_torch(), input_shape=(8, 8, 3))
    assert m.backend.name == "torch" and m.input_shape == (8, 8, 3)
    with pytest.raises(ValueError, match="width is 5 but the model takes 8"):
        m.prepare(np.zeros((8, 5, 3)))


def test_input_shape_may_not_contradict_a_keras_model(tiny_keras):
    assert as_model(tiny_keras, input_shape=tiny_keras.input_shape[1:]).input_shape == tiny_keras.input_shape[1:]
    with pytest.raises(ValueError, match="contradicts the Keras model's own input shape"):
        as_model(tiny_keras, input_shape=(3, 3, 3))


def test_a_rewrapped_adapter_keeps_the_softmax_decision_and_warns_once():
    # The widget wraps the model, then each explainer re-wraps it with its batch size: the user heard
    # "a softmax is applied" once and must not hear it again for the same model.
    m = as_model(lambda x: x.mean(axis=(1, 2)) * 10)
    x = np.random.default_rng(0).random((3, 4, 4, 3), np.float32)
    with pytest.warns(UserWarning, match="softmax"):
        ref = m.predict(x)
    again = as_model(m, batch_size=2)
    assert again is not m
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(again.predict(x), ref, rtol=1e-6)
    assert again.num_classes == 3
    assert as_model(m, outputs="probabilities")._softmax is False  # a new declaration overrides it
