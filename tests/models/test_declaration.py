"""One declaration of what a model expects (``saliency_widgets.models.declare``), and refusals instead of guesses.

Each "silent" case below is what a user's own model met before the declaration: explained at whatever size
arrived, masked to black through a crop given as ``preprocess``, fed a 0-1 float or a uint16 photo without a
word.  Every front end reads the one declaration through the adapter (``as_model(model).declaration``).
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from saliency_widgets import Rise  # noqa: E402
from saliency_widgets.models import ModelDeclaration, as_model, declare  # noqa: E402
from saliency_widgets.models.declaration import ImageFit  # noqa: E402
from saliency_widgets.occluder import resolve_occluder  # noqa: E402


class MeanNet(torch.nn.Module):
    """Takes any size (adaptive pooling): logits = per-channel means / 32 of RGB pixels in [0, 255]."""

    def __init__(self):
        super().__init__()
        self.pool = torch.nn.AdaptiveAvgPool2d(1)

    def forward(self, x):
        return self.pool(x).flatten(1) / 32.0


def _photo(h=30, w=40, seed=0):
    img = np.random.default_rng(seed).integers(0, 256, (h, w, 3)).astype(np.uint8)
    img[0, 0] = (0, 255, 128)  # the full range is present
    return img


# -- the size ------------------------------------------------------------------------------------------------

def test_an_undeclared_module_refuses_an_image_instead_of_explaining_it_at_its_own_size():
    """Silent before: any size was explained at that size (the researcher's p 0.33 on the full photo)."""
    adapter = as_model(MeanNet())
    with pytest.raises(ValueError) as err:
        adapter.prepare(_photo())
    text = str(err.value)
    assert "declares no input size" in text and "30 x 40" in text
    assert "declare(" in text and "input_size=" in text  # the fix is named


def test_an_undeclared_module_is_refused_by_every_explainer_before_any_forward_pass():
    net, calls = MeanNet(), []
    net.register_forward_hook(lambda *a: calls.append(1))
    with pytest.raises(ValueError, match="declares no input size"):
        Rise(net, masks=8, seed=0).explain(_photo())
    assert calls == []


def test_a_declared_module_sees_its_declared_crop_by_the_imagenet_rule():
    net = declare(MeanNet(), input_size=(8, 8), pixel_range=(0, 255))
    adapter = as_model(net)
    assert adapter.input_shape == (8, 8, 3)
    assert isinstance(adapter.declaration.crop, ImageFit) and adapter.declaration.crop.crop_fraction == 224 / 256
    photo = _photo(30, 40)
    x = adapter.prepare(photo)
    assert x.shape == (8, 8, 3)
    np.testing.assert_array_equal(x, ImageFit(size=8, crop_fraction=224 / 256)(photo))


def test_imagefit_generalises_the_imagenet_rule_to_any_size_and_keeps_the_old_crop_exactly():
    photo = _photo(300, 451)
    old_style = ImageFit(size=224, short_side=256)
    new_style = ImageFit(size=224, crop_fraction=224 / 256)
    np.testing.assert_array_equal(old_style(photo), new_style(photo))
    fit = ImageFit(size=(260, 260))  # the default fraction: short side 297.1, centre 260
    assert fit(photo).shape == (260, 260, 3)
    left, top, right, bottom = fit.region(300, 451)
    assert abs((right - left) - 260 * 300 / (260 / (224 / 256))) < 1.0  # the crop covers 7/8 of the short side
    wide = ImageFit(size=(20, 40), crop_fraction=1.0)  # a non-square input, cover: nothing of the short side lost
    assert wide(photo).shape == (20, 40, 3)


def test_a_declared_size_without_a_crop_refuses_another_size_naming_the_crop():
    adapter = as_model(declare(MeanNet(), input_size=(8, 8), pixel_range=(0, 255), crop="none"))
    assert adapter.prepare(_photo(8, 8)).shape == (8, 8, 3)
    with pytest.raises(ValueError, match=r"height is 30 but the model takes 8.*crop='imagenet'"):
        adapter.prepare(_photo(30, 40))


def test_any_size_is_a_declaration_not_a_default():
    adapter = as_model(declare(MeanNet(), input_size="any", pixel_range=(0, 255)))
    assert adapter.prepare(_photo(30, 40)).shape == (30, 40, 3)
    assert "each image at its own size" in adapter.declaration.describe()


# -- the fill --------------------------------------------------------------------------------------------------

def test_a_crop_given_as_preprocess_masks_to_the_image_mean_not_black_and_says_so():
    """Silent before: preprocess without mean_color made every masked pixel 0, i.e. black."""
    def centre_crop(img):
        return np.asarray(img, np.float32)[5:25, 10:30]

    adapter = as_model(lambda b: b.mean(axis=(1, 2)), outputs="logits", preprocess=centre_crop)
    photo = _photo()
    x = adapter.prepare(photo)
    with pytest.warns(UserWarning, match=r"keeps pixel values.*image's mean colour"):
        fill = resolve_occluder(x, "auto", model=adapter)
    np.testing.assert_allclose(fill[0, 0], x.mean(axis=(0, 1)), rtol=1e-5)
    assert fill.min() > 0


def test_a_normalising_preprocess_masks_to_its_zero_and_states_the_pixel_colour():
    adapter = as_model(lambda b: b.mean(axis=(1, 2)), outputs="logits",
                       preprocess=lambda img: (np.asarray(img, np.float32) - 127.0) / 128.0)
    x = adapter.prepare(_photo())
    with pytest.warns(UserWarning, match=r"0 after preprocess.*\(127, 127, 127\)"):
        fill = resolve_occluder(x, "auto", model=adapter)
    assert np.all(fill == 0)


def test_a_declared_fill_is_used_without_a_word():
    adapter = as_model(declare(MeanNet(), input_size=(8, 8), pixel_range=(0, 255), mean_color=127))
    x = adapter.prepare(_photo())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.all(resolve_occluder(x, "auto", model=adapter) == 127)


# -- the pixel range and dtype ---------------------------------------------------------------------------------

@pytest.mark.parametrize("image,words", [
    (lambda p: p.astype(np.float32) / 255.0, ["float32", "[0, 1]", "[0, 255]"]),
    (lambda p: p.astype(np.uint16) * 257, ["uint16", "[0, 255]"]),
    (lambda p: p.astype(np.float32) * 2.0 - 100.0, ["[-100, 410]", "[0, 255]"]),
])
def test_an_image_outside_the_declared_range_is_refused_naming_both(image, words):
    """Silent before: a 0-1 float photo or a uint16 photo was explained without a word."""
    adapter = as_model(declare(MeanNet(), input_size=(8, 8), pixel_range=(0, 255)))
    with pytest.raises(ValueError) as err:
        adapter.prepare(image(_photo()))
    assert all(w in str(err.value) for w in words), str(err.value)


def test_a_stated_conversion_rule_converts():
    adapter = as_model(declare(MeanNet(), input_size=(8, 8), pixel_range=(0, 255), convert="scale"))
    photo = _photo(8, 8)
    want = photo.astype(np.float32)
    np.testing.assert_allclose(adapter.prepare(photo.astype(np.float32) / 255.0), want, atol=1e-4)
    np.testing.assert_allclose(adapter.prepare(photo.astype(np.uint16) * 257), want, atol=1e-4)
    with pytest.raises(ValueError, match=r"\[-1, 254\]"):  # outside every known range: still refused
        adapter.prepare(photo.astype(np.float32) - 1.0)
    unit = as_model(declare(MeanNet(), input_size=(8, 8), pixel_range=(0, 1), convert="scale"))
    np.testing.assert_allclose(unit.prepare(photo), want / 255.0, atol=1e-6)


def test_a_uint8_image_for_a_0_1_model_is_refused_without_a_rule():
    adapter = as_model(declare(MeanNet(), input_size=(8, 8), pixel_range=(0, 1)))
    with pytest.raises(ValueError, match=r"uint8.*\[0, 1\].*convert='scale'"):
        adapter.prepare(_photo(8, 8))


def test_the_demo_model_declares_its_range_so_a_0_1_scene_is_refused():
    from saliency_widgets.demo import load_model, make_scenes
    scene = make_scenes(1, seed=0).images[0]
    with pytest.raises(ValueError, match=r"\[0, 1\].*\[0, 255\]"):
        Rise(load_model(), masks=8, seed=0).explain(scene / 255.0)


# -- one declaration, read by every front end -------------------------------------------------------------------

def test_declare_returns_the_model_itself_and_the_adapter_reads_every_field():
    net = MeanNet()
    out = declare(net, input_size=(8, 8), pixel_range=(0, 255), mean_color=(1, 2, 3), outputs="logits",
                  class_names=["r", "g", "b"], crop="cover")
    assert out is net
    decl = as_model(net).declaration
    assert isinstance(decl, ModelDeclaration)
    assert (decl.input_size, decl.pixel_range, decl.mean_color, decl.outputs, decl.class_names) == (
        (8, 8, 3), (0.0, 255.0), (1.0, 2.0, 3.0), "logits", ("r", "g", "b"))
    assert decl.crop.crop_fraction == 1.0
    text = decl.describe()
    for words in ("8 x 8", "[0, 255]", "(1, 2, 3)", "logits", "3 class names", "cover"):
        assert words in text, (words, text)


def test_a_plain_function_can_be_declared_too_and_keeps_working_as_a_function():
    def fn(batch):
        return batch.mean(axis=(1, 2))

    out = declare(fn, input_size=(8, 8), pixel_range=(0, 255), outputs="logits")
    assert out is fn and out(np.ones((1, 8, 8, 3))).shape == (1, 3)
    assert as_model(fn).prepare(_photo()).shape == (8, 8, 3)


@pytest.mark.parametrize("kwargs,words", [
    (dict(input_size=(8, 8), pixel_range=(255, 0)), ["pixel_range", "low < high"]),
    (dict(input_size=(0, 8), pixel_range=(0, 255)), ["input_size"]),
    (dict(input_size=(8, 8), pixel_range=(0, 255), crop="squash"), ["crop", "imagenet", "cover", "none"]),
    (dict(input_size=(8, 8), pixel_range=(0, 255), convert="guess"), ["convert", "scale"]),
    (dict(input_size=(8, 8), pixel_range=(0, 255), outputs="probs"), ["outputs"]),
    (dict(input_size=(8, 8), pixel_range=(0, 255), class_names=["a", "b"]), ["class_names", "2", "3"]),
])
def test_a_bad_declaration_is_refused_naming_the_field(kwargs, words):
    with pytest.raises(ValueError) as err:
        as_model(declare(MeanNet(), **kwargs)).predict(np.zeros((1, 8, 8, 3), np.float32))
    assert all(w in str(err.value) for w in words), str(err.value)


def test_the_callers_settings_win_and_the_declaration_says_what_was_given():
    net = declare(MeanNet(), input_size=(8, 8), pixel_range=(0, 255), mean_color=127)
    adapter = as_model(net, mean_color=(1.0, 2.0, 3.0))
    assert adapter.mean_color == (1.0, 2.0, 3.0) and adapter.declaration.mean_color == (1.0, 2.0, 3.0)
    assert as_model(net).mean_color == (127.0, 127.0, 127.0)  # the model's own declaration is unchanged
