"""Every explainer rejects bad input with a message that names the problem."""
import numpy as np
import pytest

from saliency_widgets import MaskUpdate, ModelError, Rise


@pytest.fixture(params=["mask-update", "rise"])
def make(request):
    if request.param == "mask-update":
        return lambda model: MaskUpdate(model, occluder="zero", steps=8, chains=4, seed=0)
    return lambda model: Rise(model, occluder="zero", masks=8, seed=0)


@pytest.mark.parametrize("image,match", [
    (np.ones((2, 16, 16, 3)), "shape"),
    (np.ones(16), "shape"),
    (np.ones((0, 16, 3)), "empty"),
    (np.full((16, 16, 3), np.nan), "NaN"),
    (np.full((16, 16, 3), np.inf), "NaN or inf"),
    (np.ones((1, 16, 16, 3)), "one image"),
])
def test_bad_images(make, quadrant_model, image, match):
    with pytest.raises(ValueError, match=match):
        make(quadrant_model).explain(image, 0)


def test_string_image(make, quadrant_model):
    with pytest.raises(TypeError, match="numeric"):
        make(quadrant_model).explain(np.array([["a"]]), 0)


@pytest.mark.parametrize("target,exc,match", [(2, ValueError, r"out of range.*\[0, 2\)"), (-1, ValueError, "range"),
                                              (1.0, TypeError, "integer"), ("cat", TypeError, "integer"),
                                              (True, TypeError, "integer")])
def test_bad_targets(make, quadrant_model, ones_image, target, exc, match):
    with pytest.raises(exc, match=match):
        make(quadrant_model).explain(ones_image, target)


def test_numpy_integer_target_is_accepted(make, quadrant_model, ones_image):
    assert make(quadrant_model).explain(ones_image, np.int64(1)).target == 1


@pytest.mark.parametrize("output,match", [
    (lambda x: np.ones(len(x)), r"\(B, K\)"),
    (lambda x: np.ones((len(x) + 1, 2)) / 2, r"\(B, K\)"),
    (lambda x: np.full((len(x), 2), np.nan), "NaN"),
])
def test_bad_model_outputs(make, ones_image, output, match):
    with pytest.raises(ModelError, match=match):
        make(output).explain(ones_image, 0)


def test_grayscale_image_for_one_channel_model(make):
    model = lambda x: np.stack([x[..., 0].mean((1, 2)), 1 - x[..., 0].mean((1, 2))], 1)  # noqa: E731
    exp = make(model).explain(np.full((10, 12), 0.5), 0)
    assert exp.saliency.shape == (10, 12)


def test_iter_explain_validates_before_iterating(make, quadrant_model):
    with pytest.raises(ValueError):
        make(quadrant_model).iter_explain(np.ones(5), 0)  # raises at the call, not at next()
