import numpy as np
import pytest

from saliency_widgets.sanity import sanity_check

from ..conftest import RegionModel


class HidingModel(RegionModel):
    """p(class 0) = 1 - mean of the region: deleting the object *raises* the score (a broken metric)."""

    def __call__(self, x):
        p = super().__call__(x)
        return p[:, ::-1].copy()


def _data(n=6):
    images = np.ones((n, 16, 16, 1), np.float32)
    truth = np.zeros((16, 16), bool)
    truth[:8, :8] = True
    return images, [truth] * n, [0] * n


def test_perfect_map_wins_on_a_sound_model():
    images, truths, targets = _data()
    res = sanity_check(RegionModel(), images, truths, targets, occluder=0, step=16)
    assert res.share["deletion"] == 1.0 and res.share["box_iou"] == 1.0
    # a flat image is its own blurred copy: every insertion curve is the same, a tie on every image
    assert res.ties["insertion"] == 6 and res.share["insertion"] == 0.5
    assert res.failed == [] and res.n == 6


def test_a_metric_that_prefers_noise_fails():
    images, truths, targets = _data()
    res = sanity_check(HidingModel(), images, truths, targets, metrics=("deletion", "pointing"), occluder=0, step=16)
    assert res.share["deletion"] == 0.0 and res.failed == ["deletion"]


def test_model_metrics_need_a_model():
    images, truths, _ = _data(1)
    with pytest.raises(ValueError, match="need a model"):
        sanity_check(None, images, truths, metrics=("deletion",))
    small = np.zeros((16, 16), bool)
    small[3:5, 3:5] = True  # a random map's maximum lands on 4 of 256 pixels: (almost) always a win
    res = sanity_check(None, np.ones((20, 16, 16, 1)), [small] * 20, metrics=("pointing_strict",))
    assert res.share["pointing_strict"] >= 0.9 and res.wins["pointing_strict"] + res.ties["pointing_strict"] == 20


def test_deletion_to_black_fails_on_the_demo_scenes():
    """The issue's finding, on the shipped model: deleting to black leaves the silhouette, so the
    object's own mask loses to a random map; the default (mean colour) occluder lets it win."""
    from saliency_widgets.demo import load_model, make_scenes
    scenes = make_scenes(30, seed=99)
    model = load_model()
    masks = [objs[0].mask for objs in scenes.objects]
    labels = [objs[0].label for objs in scenes.objects]
    black = sanity_check(model, scenes.images, masks, labels, metrics=("deletion",), occluder=0, seed=0)
    default = sanity_check(model, scenes.images, masks, labels, metrics=("deletion",), seed=0)
    assert black.share["deletion"] <= 0.3 and black.failed == ["deletion"]
    assert default.share["deletion"] >= 0.7 and default.failed == []
