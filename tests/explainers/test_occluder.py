"""The occluder setting of the perturbation explainers: what a masked pixel becomes."""
import numpy as np
import pytest

from saliency_widgets import Lime, MaskUpdate, Occlusion, Rise
from saliency_widgets.models import as_model

from ..conftest import RegionModel

QUAD = (slice(0, 8), slice(0, 8))


@pytest.fixture
def two_tone():
    """Top-left quadrant 0.5, the rest 1.0: mean colour 0.875."""
    img = np.ones((16, 16, 3), np.float32)
    img[QUAD] = 0.5
    return img


@pytest.mark.parametrize("occluder,expected", [("zero", 0.5), ("mean", 0.5 - 0.875), (0.25, 0.25)])
def test_occlusion_analytic_drop_per_occluder(two_tone, occluder, expected):
    # p(class 0) = mean of the quadrant = 0.5; hiding it with the fill f gives p = f.
    exp = Occlusion(RegionModel(QUAD), window=8, stride=8, occluder=occluder).explain(two_tone, 0)
    np.testing.assert_allclose(exp.raw[QUAD], expected, atol=1e-6)
    np.testing.assert_allclose(exp.raw[8:, :], 0.0, atol=1e-6)
    np.testing.assert_allclose(exp.raw[:, 8:], 0.0, atol=1e-6)


@pytest.mark.parametrize("occluder,fill", [("zero", 0.0), ("mean", 0.875), ("auto", 0.875), ([0.3, 0.3, 0.3], 0.3)])
def test_rise_equals_its_formula_with_a_fill(two_tone, occluder, fill):
    model = RegionModel(QUAD)
    rise = Rise(model, masks=30, grid=4, seed=5, occluder=occluder)
    exp = rise.explain(two_tone, 0)
    up, grids, offsets = rise.draw((16, 16))
    m = up.upsample(grids.astype(np.float32), offsets)
    p = np.clip(fill + m[:, :8, :8].mean((1, 2)) * (0.5 - fill), 0, 1)  # the quadrant's mean after masking
    np.testing.assert_allclose(exp.raw, np.tensordot(p, m, axes=1) / (30 * 0.5), rtol=1e-5, atol=1e-6)


def test_auto_uses_the_declared_mean_color(two_tone):
    adapter = as_model(RegionModel(QUAD), mean_color=(0.2, 0.2, 0.2))
    a = Occlusion(adapter, window=8, stride=8).explain(two_tone, 0)
    np.testing.assert_allclose(a.raw[QUAD], 0.5 - 0.2, atol=1e-6)
    assert Occlusion(adapter).params["occluder"] == "auto"


def test_auto_masks_to_zero_after_a_normalising_preprocess_and_says_which_colour_that_is(two_tone):
    # x -> x - 0.25: the quadrant reads 0.25, masked to 0 after preprocess (the pixel colour 0.25): a drop of 0.25
    with pytest.warns(UserWarning, match=r"0 after preprocess, i.e. the pixel colour \(0.25, 0.25, 0.25\)"):
        exp = Occlusion(RegionModel(QUAD), window=8, stride=8, preprocess=lambda im: im - 0.25).explain(two_tone, 0)
    np.testing.assert_allclose(exp.raw[QUAD], 0.25, atol=1e-6)


def test_auto_masks_a_preprocess_that_keeps_values_to_the_image_mean_not_black(two_tone):
    """A crop or an identity given as preprocess: 0 there would be black; the image's mean colour is used."""
    with pytest.warns(UserWarning, match="keeps pixel values"):
        exp = Occlusion(RegionModel(QUAD), window=8, stride=8, preprocess=lambda im: im * 1.0).explain(two_tone, 0)
    np.testing.assert_allclose(exp.raw[QUAD], 0.5 - 0.875, atol=1e-6)


@pytest.mark.parametrize("cls", [Rise, MaskUpdate, Lime, Occlusion], ids=lambda c: c.__name__)
def test_occluder_is_validated_and_recorded(cls):
    with pytest.raises(ValueError, match="occluder"):
        cls(RegionModel(QUAD), occluder="grey")
    assert cls(RegionModel(QUAD), occluder=[0.1, 0.2, 0.3]).params["occluder"] == [0.1, 0.2, 0.3]


def _capture(explainer):
    """Record every batch the explainer sends to the model."""
    seen, fn = [], explainer.model.fn

    def spy(batch):
        seen.append(np.array(batch))
        return fn(batch)

    explainer.model.fn = spy
    return seen


@pytest.fixture(scope="module", params=["ResNet50", "MobileNetV2"])
def imagenet_model(request):
    from saliency_widgets.demo import load_imagenet_model
    return request.param, load_imagenet_model(request.param, weights=None)


def test_faithful_on_imagenet_models_masks_the_preprocessed_input(imagenet_model):
    # The prototype multiplied the preprocessed input by M; the same must reach the network here:
    # preprocess(masked) == M * preprocess(x), i.e. the same factor M on every channel of a pixel.
    name, model = imagenet_model
    expected = {"ResNet50": (123.68, 116.779, 103.939), "MobileNetV2": (127.5,) * 3}[name]
    x = np.random.default_rng(0).uniform(0, 255, (224, 224, 3)).astype(np.float32)
    explainer = MaskUpdate.faithful(model, steps=2, grid=4, seed=0)
    assert explainer.model.mean_color == pytest.approx(expected)
    np.testing.assert_allclose(explainer._fill(x), np.broadcast_to(expected, x.shape), rtol=1e-6)
    seen = _capture(explainer)
    explainer.explain(x, 3)
    prep = model.get_layer("preprocess")
    pre_x = np.asarray(prep(x[None]))[0]
    for batch in seen[1:]:  # seen[0] is the unmasked image
        ratio = np.asarray(prep(batch))[0] / pre_x
        ok = np.abs(pre_x).min(-1) > 0.05 * np.abs(pre_x).max()  # avoid dividing by ~0
        spread = ratio.max(-1) - ratio.min(-1)
        assert np.all(spread[ok] < 1e-3)
        assert ratio[ok].min() > -1e-4 and ratio[ok].max() < 1 + 1e-4
        assert ratio[ok].max() - ratio[ok].min() > 0.5  # something was masked
