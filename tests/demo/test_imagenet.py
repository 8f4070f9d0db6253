import numpy as np
import pytest

from saliency_widgets.demo import imagenet_labels, load_imagenet_model, sample_images
from saliency_widgets.demo.imagenet import IMAGENET_MODELS, MEAN_COLORS, WeightsUnavailableError, _Preprocess


def test_labels_are_the_1000_imagenet_classes():
    labels = imagenet_labels()
    assert len(labels) == 1000 and len(set(labels)) >= 999
    assert labels[0] == "tench" and labels[1] == "goldfish" and labels[999] == "toilet tissue"


def test_sample_images_are_real_photos_at_224():
    photos = sample_images()
    assert {"cat", "coffee", "rocket", "motorcycle"} <= set(photos)
    for img in photos.values():
        assert img.shape == (224, 224, 3) and img.dtype == np.uint8 and img.std() > 20


def test_unknown_model_name():
    with pytest.raises(ValueError, match="choose one of"):
        load_imagenet_model("AlexNet")


def test_offline_download_failure_says_what_to_do(monkeypatch, tmp_path):
    keras = pytest.importorskip("keras")

    def offline(**kwargs):
        raise Exception("URL fetch failure on https://storage.googleapis.com/...: [Errno -2] Name or service not known")

    monkeypatch.setattr(keras.applications, "MobileNetV2", offline)  # nothing is downloaded
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(WeightsUnavailableError, match=r"could not be downloaded") as info:
        load_imagenet_model("MobileNetV2")
    msg = str(info.value)
    assert str(tmp_path / "models") in msg  # where to put the file
    assert "weights='/path/to/file.h5'" in msg and "MobileNetV2(weights='imagenet')" in msg


@pytest.mark.parametrize("name", sorted(IMAGENET_MODELS))
def test_built_in_preprocessing_is_the_applications_own(name):
    # The Preprocess layer must compute what keras.applications.<module>.preprocess_input computes.
    keras = pytest.importorskip("keras")
    _, module, _ = IMAGENET_MODELS[name]
    x = np.random.default_rng(0).uniform(0, 255, (2, 5, 7, 3)).astype(np.float32)
    ours = np.asarray(_Preprocess(module)(x))
    theirs = np.asarray(getattr(keras.applications, module).preprocess_input(x.copy()))
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("name", sorted(IMAGENET_MODELS))
def test_declared_mean_color_is_what_preprocessing_maps_to_zero(name):
    _, module, _ = IMAGENET_MODELS[name]
    color = np.broadcast_to(np.asarray(MEAN_COLORS[module], np.float32), (1, 2, 2, 3))
    np.testing.assert_allclose(np.asarray(_Preprocess(module)(color)), 0.0, atol=1e-4)


def test_wrapped_model_equals_the_application_on_preprocessed_input():
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(0)
    # ResNet50: caffe mode (RGB -> BGR, mean subtraction), the easier one to get wrong; with random
    # weights its outputs still depend on the input (MobileNetV2's are ~uniform whatever the input).
    model = load_imagenet_model("ResNet50", weights=None)
    assert model.input_shape == (None, 224, 224, 3) and model.output_shape == (None, 1000)
    assert model.saliency_widgets_mean_color == (123.68, 116.779, 103.939)
    base = model.layers[-1]
    assert isinstance(base, keras.Model) and base.name.startswith("resnet50")
    x = np.random.default_rng(1).uniform(0, 255, (2, 224, 224, 3)).astype(np.float32)
    expected = np.asarray(base(keras.applications.resnet50.preprocess_input(x.copy()), training=False))
    np.testing.assert_allclose(np.asarray(model(x, training=False)), expected, rtol=1e-5, atol=1e-6)
    # the check can fail: the same pixels without the channel flip give other outputs
    assert not np.allclose(np.asarray(model(x[..., ::-1].copy(), training=False)), expected, atol=1e-4)
