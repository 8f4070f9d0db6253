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


class BlindModel:
    """Ignores its input: every map gets the same insertion and deletion curve (a metric that cannot rank)."""

    def __call__(self, x):
        return np.tile([[0.7, 0.3]], (len(x), 1)).astype(np.float32)


def test_perfect_map_wins_on_a_sound_model():
    images, truths, targets = _data()
    res = sanity_check(RegionModel(), images, truths, targets, occluder=0, step=16, protocol="gauss-reflect")
    assert res.share["deletion"] == 1.0 and res.share["box_iou"] == 1.0
    assert res.interval("deletion")[0] > 0.5 and res.passed("deletion") and res.passed("box_iou")
    # a flat image is its own blurred copy: every insertion curve is the same, a tie on every image,
    # and a tie is a loss: insertion cannot rank maps here and must fail
    assert res.ties["insertion"] == 6 and res.share["insertion"] == 0.0
    # pointing (15 px) on a 16 x 16 image: every map's maximum lies within 15 px of the quadrant, a tie
    # on every image, so the pointing game cannot rank maps here either; strict pointing ties whenever the
    # random map's maximum also lands in the quadrant (4 of these 6 draws): 2 wins of 6 is no majority
    assert res.ties["pointing"] == 6 and res.wins["pointing_strict"] + res.ties["pointing_strict"] == 6
    assert sorted(res.failed) == ["insertion", "pointing", "pointing_strict"] and res.n == 6


def test_a_metric_that_scores_every_map_the_same_fails():
    """Under the old rule (ties count 1/2, pass at >= 0.5) this metric passed with share 0.5."""
    images, truths, targets = _data(40)
    res = sanity_check(BlindModel(), images, truths, targets, metrics=("insertion", "deletion"), occluder=0,
                       step=16)
    assert res.ties == {"insertion": 40, "deletion": 40} and res.wins == {"insertion": 0, "deletion": 0}
    assert sorted(res.failed) == ["deletion", "insertion"]


@pytest.mark.parametrize("wins,n,passes", [(6, 6, True), (4, 6, False), (3, 3, False), (4, 4, True),
                                           (20, 30, False), (22, 30, True)])
def test_a_clear_majority_is_a_wilson_lower_bound_above_one_half(wins, n, passes):
    """4 of 4 passes (lower bound 0.51), 3 of 3 cannot (0.44); 20 of 30 is not clear (0.49), 22 of 30 is."""
    from saliency_widgets.metrics import wilson_interval
    from saliency_widgets.sanity import SanityResult
    res = SanityResult({"m": wins / n}, {"m": wins}, {"m": 0}, n)
    assert res.passed("m") is passes and (res.failed == []) is passes
    assert (wilson_interval(wins, n)[0] > 0.5) is passes


def test_a_metric_that_prefers_noise_fails():
    images, truths, targets = _data()
    res = sanity_check(HidingModel(), images, truths, targets, metrics=("deletion", "box_iou"), occluder=0, step=16)
    assert res.share["deletion"] == 0.0 and res.failed == ["deletion"]


def test_model_metrics_need_a_model():
    images, truths, _ = _data(1)
    with pytest.raises(ValueError, match="need a model"):
        sanity_check(None, images, truths, metrics=("deletion",))
    small = np.zeros((16, 16), bool)
    small[3:5, 3:5] = True  # a random map's maximum lands on 4 of 256 pixels: (almost) always a win
    res = sanity_check(None, np.ones((20, 16, 16, 1)), [small] * 20, metrics=("pointing_strict",))
    assert res.share["pointing_strict"] >= 0.9 and res.wins["pointing_strict"] == 20 * res.share["pointing_strict"]


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
