import numpy as np
import pytest

from saliency_widgets.demo import imagenet_labels, load_imagenet_model, sample_images
from saliency_widgets.demo.imagenet import WeightsUnavailableError


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


def test_offline_download_failure_says_what_to_do(monkeypatch):
    keras = pytest.importorskip("keras")

    def offline(**kwargs):
        raise Exception("URL fetch failure on https://storage.googleapis.com/...: [Errno -2] Name or service not known")

    monkeypatch.setattr(keras.applications, "MobileNetV2", offline)
    with pytest.raises(WeightsUnavailableError, match=r"could not be downloaded.*~/.keras/models.*weights="):
        load_imagenet_model("MobileNetV2")


def test_random_weights_model_has_preprocessing_inside():
    model = load_imagenet_model("MobileNetV2", weights=None)
    assert model.input_shape == (None, 224, 224, 3) and model.output_shape == (None, 1000)
