import numpy as np
import pytest

from saliency_widgets import CenterBaseline, GradCam, Lime, MaskUpdate, Occlusion, Rise

from ..conftest import in_region


@pytest.mark.parametrize("make", [
    lambda m: MaskUpdate(m, occluder="zero", steps=1000, grid=4, seed=0),
    lambda m: Rise(m, occluder="zero", masks=1000, grid=4, seed=0),
    lambda m: Lime(m, occluder="zero", samples=300, segments=16, seed=0),
    lambda m: Occlusion(m, occluder="zero", window=4, stride=2),
], ids=["mask-update", "rise", "lime", "occlusion"])
def test_every_perturbation_explainer_points_into_the_quadrant(make, quadrant_model):
    img = np.random.default_rng(0).uniform(0.6, 1.0, (16, 16, 3)).astype(np.float32)
    exp = make(quadrant_model).explain(img, target=0)
    assert in_region(exp.saliency, quadrant_model.region), exp.method
    assert exp.done and exp.saliency.shape == (16, 16)


def test_occlusion_exact_values():
    model = lambda x: np.stack([x[:, :4, :4].mean((1, 2, 3)), 1 - x[:, :4, :4].mean((1, 2, 3))], 1)  # noqa
    exp = Occlusion(model, occluder="zero", window=4, stride=4).explain(np.ones((8, 8, 1)), 0)
    # Only the top-left window covers the region: drop 1.0 there, 0 elsewhere.
    np.testing.assert_allclose(exp.raw[:4, :4], 1.0)
    np.testing.assert_allclose(exp.raw[4:, :], 0.0)
    assert exp.n_forward == 4


def test_occlusion_window_too_large(quadrant_model, ones_image):
    with pytest.raises(ValueError, match="window"):
        Occlusion(quadrant_model, occluder="zero", window=40).explain(ones_image, 0)


def test_lime_linear_model_recovers_weights():
    # p = fraction of the left half kept: superpixels there have positive weight, right half zero.
    def model(x):
        s = x[:, :, :8].mean((1, 2, 3))
        return np.stack([s, 1 - s], 1)
    img = np.ones((16, 16, 3), np.float32)
    img[:, 8:] = 0.5  # two flat halves: SLIC separates them
    exp = Lime(model, occluder="zero", samples=400, segments=8, seed=1).explain(img, 0)
    assert exp.raw[:, :8].min() > 0.02 and abs(exp.raw[:, 8:]).max() < 0.01


def test_lime_deterministic_and_batched(quadrant_model, ones_image):
    a = list(Lime(quadrant_model, occluder="zero", samples=100, batch_size=32, seed=3).iter_explain(ones_image, 0))
    b = Lime(quadrant_model, occluder="zero", samples=100, batch_size=32, seed=3).explain(ones_image, 0)
    assert [p.n_forward for p in a] == [32, 64, 96, 100]
    np.testing.assert_array_equal(a[-1].raw, b.raw)


def test_center_baseline():
    exp = CenterBaseline().explain(np.zeros((31, 41, 3)))
    assert np.unravel_index(exp.saliency.argmax(), exp.saliency.shape) == (15, 20)
    assert exp.n_forward == 0


def test_gradcam_refuses_a_callable(quadrant_model):
    with pytest.raises(TypeError, match="Keras model"):
        GradCam(quadrant_model)


@pytest.fixture(scope="module")
def tiny_cnn():
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(0)
    inputs = keras.Input((12, 12, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv_a")(inputs)
    x = keras.layers.Conv2D(5, 3, strides=2, padding="same", activation="relu", name="conv_b")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(3, activation="softmax")(x)
    return keras.Model(inputs, outputs)


def test_gradcam_matches_gradient_tape(tiny_cnn):
    import tensorflow as tf
    from skimage.transform import resize

    img = np.random.default_rng(0).random((12, 12, 3)).astype(np.float32)
    exp = GradCam(tiny_cnn).explain(img, target=1)
    assert exp.params["layer"] == "conv_b"  # found the last convolutional layer
    sub = tf.keras.Model(tiny_cnn.inputs, [tiny_cnn.get_layer("conv_b").output, tiny_cnn.outputs[0]]) \
        if hasattr(tf, "keras") else None
    x = tf.constant(img[None])
    with tf.GradientTape() as tape:
        acts, out = sub(x)
        score = out[:, 1]
    grads = tape.gradient(score, acts).numpy()[0]
    cam = np.maximum((acts.numpy()[0] * grads.mean((0, 1))).sum(-1), 0)
    expected = resize(cam, (12, 12), order=1, mode="edge", anti_aliasing=False)
    np.testing.assert_allclose(exp.raw, expected, rtol=1e-4, atol=1e-7)


def test_gradcam_named_layer_and_unknown_layer(tiny_cnn):
    assert GradCam(tiny_cnn, layer="conv_a").layer == "conv_a"
    with pytest.raises(ValueError, match="no layer 'nope'"):
        GradCam(tiny_cnn, layer="nope")
