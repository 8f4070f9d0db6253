"""models.predict: the model's answer on adapter.prepare(image), the input every explainer explains."""
import numpy as np
import pytest

from saliency_widgets.models import as_model
from saliency_widgets.models.predict import predict_images, top1


def _first_channel_mean(batch):
    m = np.asarray(batch)[..., 0].mean(axis=(1, 2))
    return np.stack([m, 1 - m], axis=1)


def test_preprocess_is_applied_before_the_forward_pass():
    images = np.full((3, 4, 4, 1), 0.8, np.float32)
    plain = as_model(_first_channel_mean)
    inverted = as_model(_first_channel_mean, preprocess=lambda img: 1 - img)
    np.testing.assert_allclose(predict_images(plain, images)[:, 0], 0.8, rtol=1e-6)
    np.testing.assert_allclose(predict_images(inverted, images)[:, 0], 0.2, rtol=1e-6)
    np.testing.assert_array_equal(top1(plain, images), [0, 0, 0])
    np.testing.assert_array_equal(top1(inverted, images), [1, 1, 1])
    assert top1(inverted, images).dtype.kind == "i"


def test_grey_images_and_lists_are_prepared_like_the_explainers_prepare_them():
    grey = [np.full((4, 4), 0.3), np.full((4, 4), 0.9)]  # (H, W): prepare makes them (H, W, 1)
    np.testing.assert_allclose(predict_images(_first_channel_mean, grey)[:, 0], [0.3, 0.9], rtol=1e-6)


def test_bad_images_are_named():
    with pytest.raises(ValueError, match="empty"):
        predict_images(_first_channel_mean, np.zeros((0, 4, 4, 1)))
    with pytest.raises(ValueError, match="NaN"):
        predict_images(_first_channel_mean, np.full((1, 4, 4, 1), np.nan))
