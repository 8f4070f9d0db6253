import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from saliency_widgets.metrics import blur, deletion, insertion

from ..conftest import RegionModel

GRID = st.integers(-20, 20).map(lambda v: v / 4)
TRANSFORMS = {"exp": np.exp, "affine": lambda a: 3 * a + 7, "cube": lambda a: a ** 3, "arctan": np.arctan}


@pytest.fixture
def scene():
    """A 24x24 image whose class-0 score is the mean of an 8x8 patch (value 1 on a 0.2 background)."""
    img = np.full((24, 24, 3), 0.2, np.float32)
    img[4:12, 10:18] = 1.0
    truth = np.zeros((24, 24), bool)
    truth[4:12, 10:18] = True
    return img, truth, RegionModel((slice(4, 12), slice(10, 18)))


def _patch_first(truth):
    """A map that ranks the patch first, in a known order inside it."""
    return truth * (1 + np.arange(truth.size).reshape(truth.shape)) / truth.size


@pytest.mark.parametrize("occluder,fill", [(0.0, 0.0), ("zero", 0.0), ("mean", None), (0.5, 0.5)])
def test_exact_deletion_curve(scene, occluder, fill):
    """8 patch pixels go per step: score after k steps = (64 - 8k + 8k * fill) / 64, then constant."""
    img, truth, model = scene
    if fill is None:
        fill = float(img[..., 0].mean())
    d = deletion(model, img, _patch_first(truth), 0, step=8, occluder=occluder)
    k = np.arange(len(d.scores))
    expected = (64 - 8 * np.minimum(k, 8) * (1 - fill)) / 64
    np.testing.assert_allclose(d.scores, expected, atol=1e-6)
    assert d.auc == pytest.approx(np.trapezoid(expected, d.fractions), abs=1e-6)


def test_auto_occluder_is_the_image_mean_for_a_raw_pixel_model(scene):
    img, truth, model = scene
    sal = _patch_first(truth)
    assert deletion(model, img, sal, 0, step=8).auc == pytest.approx(
        deletion(model, img, sal, 0, step=8, occluder="mean").auc, abs=1e-7)
    assert deletion(model, img, sal, 0, step=8).auc != pytest.approx(
        deletion(model, img, sal, 0, step=8, occluder=0).auc, abs=1e-3)


def test_truth_beats_random_map(scene):
    img, truth, model = scene
    rand = np.random.default_rng(0).random((24, 24))
    assert insertion(model, img, truth.astype(float), 0, step=8).auc > insertion(model, img, rand, 0, step=8).auc
    assert deletion(model, img, truth.astype(float), 0, step=8).auc < deletion(model, img, rand, 0, step=8).auc


def test_insertion_endpoints(scene):
    """Insertion starts at the blurred image's score and ends at the image's."""
    img, truth, model = scene
    i = insertion(model, img, truth.astype(float), 0, step=24, protocol="gauss-reflect")
    assert i.scores[0] == pytest.approx(float(blur(img)[4:12, 10:18].mean()), abs=1e-6)
    assert i.scores[0] < 0.9 and i.scores[-1] == pytest.approx(1.0)
    assert i.fractions[0] == 0 and i.fractions[-1] == 1 and len(i.fractions) == 24 * 24 // 24 + 1


def test_forward_passes_are_batched(scene):
    img, truth, model = scene
    deletion(model, img, truth.astype(float), 0, step=24, batch_size=10)
    assert model.batches == [10, 10, 5]  # 25 images, never one at a time


def test_auc_is_trapezoid():
    img = np.ones((4, 4, 1), np.float32)
    model = RegionModel((slice(0, 4), slice(0, 4)))  # p = fraction kept
    d = deletion(model, img, np.arange(16.0).reshape(4, 4), 0, step=1, occluder=0)
    assert d.auc == pytest.approx(0.5, abs=1e-6)  # linear from 1 to 0


@given(arrays(np.float64, (6, 6), elements=GRID), st.sampled_from(sorted(TRANSFORMS)), st.integers(1, 5),
       st.integers(0, 3))
@settings(max_examples=40, deadline=None)
def test_auc_invariant_to_strictly_increasing_transforms(sal, fn, step, seed):
    img = np.random.default_rng(1).random((6, 6, 1)).astype(np.float32)
    model = RegionModel((slice(1, 4), slice(2, 6)))
    f = TRANSFORMS[fn]
    for metric in (insertion, deletion):
        a = metric(model, img, sal, 0, step=step, tie_seed=seed)
        b = metric(model, img, f(sal), 0, step=step, tie_seed=seed)
        assert a.auc == b.auc


class TextureModel:
    """p(class 0) = mean over ``region`` of 4 (x - 0.5)^2: 1 on a 0/1 checkerboard, ~0 once it is blurred
    to grey.  Inserting (or deleting) the region's pixels moves the score; other pixels never do."""

    def __init__(self, region):
        self.region = region

    def __call__(self, x):
        s = np.clip(4 * ((x[:, self.region[0], self.region[1]] - 0.5) ** 2).mean(axis=(1, 2, 3)), 0, 1)
        return np.stack([s, 1 - s], axis=1)


@pytest.mark.parametrize("metric", [insertion, deletion])
def test_ties_do_not_follow_raster_order(metric):
    """A flat map on a model that reads only the top half of the image: raster order would change the top
    rows first (insertion AUC ~0.75, deletion ~0.25; the bottom half, flipped: the reverse), a random order
    changes the region's pixels at a uniform rate (AUC ~0.5 either way).

    Insertion needs an image its blurred start differs from (a flat image is its own blur, and then every
    order gives the same constant curve): a 0/1 checkerboard and a model that reads its texture.
    Checked on a broken copy: with ``rank_order``'s tie keys replaced by ``np.arange`` (raster order),
    both cases fail (insertion 0.75 vs 0.25, deletion 0.25 vs 0.75); the previous insertion case, on an
    all-ones image, passed with that broken copy.
    """
    flat = np.zeros((16, 16))
    top_half, bottom_half = (slice(0, 8), slice(0, 16)), (slice(8, 16), slice(0, 16))
    if metric is insertion:
        img = (np.indices((16, 16)).sum(0) % 2).astype(np.float32)[..., None]
        top, bottom, kw = TextureModel(top_half), TextureModel(bottom_half), dict(step=4)
        assert TextureModel(top_half)(blur(img)[None])[0, 0] < 0.05  # the start holds no evidence
    else:
        img = np.ones((16, 16, 1), np.float32)
        top, bottom, kw = RegionModel(top_half), RegionModel(bottom_half), dict(step=4, occluder=0)
    a = metric(top, img, flat, 0, **kw).auc
    b = metric(bottom, img[::-1], flat[::-1], 0, **kw).auc
    assert abs(a - 0.5) < 0.06 and abs(b - 0.5) < 0.06, (a, b)


def test_blur_kernel():
    img = np.zeros((31, 31, 1), np.float32)
    img[15, 15] = 1
    out = blur(img)
    assert out[15, 15, 0] < 0.1 and out[15, 20, 0] > 0 and out[15, 21, 0] == 0  # radius 5 px


@pytest.mark.parametrize("kwargs,match", [(dict(step=0), "step"), (dict(step=1.5), "step"),
                                          (dict(occluder="black"), "occluder")])
def test_bad_settings(scene, kwargs, match):
    img, truth, model = scene
    with pytest.raises(ValueError, match=match):
        deletion(model, img, truth.astype(float), 0, **kwargs)


def test_map_shape_must_match(scene):
    img, truth, model = scene
    with pytest.raises(ValueError, match="image's height and width"):
        insertion(model, img, np.ones((10, 10)), 0)
    with pytest.raises(ValueError, match="out of range"):
        insertion(model, img, truth.astype(float), 5)


def test_rise_protocol_is_the_default_and_pads_the_blur_with_the_occluders_colour(scene):
    """RISE's protocol by default; its blur is padded with RISE's normalised 0, the occluder's colour: on a
    one-colour image whose colour is the occluder the blurred start is the image itself (nothing darkens the
    border), while literal zeros (occluder=0) darken it."""
    from saliency_widgets.metrics import PROTOCOL, protocol_text
    from saliency_widgets.metrics.causal import rise_blur
    img, truth, model = scene
    assert PROTOCOL == "rise" and insertion(model, img, truth.astype(float), 0, step=24).name == "insertion (rise)"
    flat = np.full((24, 24, 3), 0.4, np.float32)
    np.testing.assert_allclose(rise_blur(flat, pad=0.4), flat, atol=1e-6)
    assert rise_blur(flat, pad=0.0)[0, 0, 0] < 0.3
    mean = insertion(model, flat, truth.astype(float), 0, step=24, occluder="mean")
    assert mean.scores[0] == pytest.approx(mean.scores[-1], abs=1e-6)
    zero = insertion(model, flat, truth.astype(float), 0, step=24, occluder=0)
    assert not np.allclose(zero.scores[0], zero.scores[-1])
    assert "RISE's protocol" in protocol_text("rise") and "reflected" in protocol_text("gauss-reflect")
    with pytest.raises(ValueError, match="one colour"):
        insertion(model, img, truth.astype(float), 0, step=24, occluder="blur")
