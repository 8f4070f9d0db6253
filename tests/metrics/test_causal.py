import numpy as np
import pytest

from saliency_widgets.metrics import blur, deletion, insertion

from ..conftest import RegionModel


@pytest.fixture
def scene():
    """A 24x24 image whose class-0 score is the mean of a 8x8 patch."""
    img = np.full((24, 24, 3), 0.2, np.float32)
    img[4:12, 10:18] = 1.0
    truth = np.zeros((24, 24), bool)
    truth[4:12, 10:18] = True
    return img, truth, RegionModel((slice(4, 12), slice(10, 18)))


def test_truth_beats_random_map(scene):
    img, truth, model = scene
    rand = np.random.default_rng(0).random((24, 24))
    ins_t = insertion(model, img, truth.astype(float), 0, step=8)
    ins_r = insertion(model, img, rand, 0, step=8)
    del_t = deletion(model, img, truth.astype(float), 0, step=8)
    del_r = deletion(model, img, rand, 0, step=8)
    assert ins_t.auc > ins_r.auc and del_t.auc < del_r.auc
    for c in (ins_t, ins_r, del_t, del_r):
        assert 0 <= c.auc <= 1


def test_curve_endpoints_and_points(scene):
    img, truth, model = scene
    d = deletion(model, img, truth.astype(float), 0, step=24)
    assert len(d.fractions) == 24 * 24 // 24 + 1
    assert d.fractions[0] == 0 and d.fractions[-1] == 1
    assert d.scores[0] == pytest.approx(1.0) and d.scores[-1] == pytest.approx(0.0)
    # the patch holds 64 px: after 3 steps of 24 px, all of it is deleted
    assert d.scores[3] == pytest.approx(0.0)
    i = insertion(model, img, truth.astype(float), 0, step=24)
    assert i.scores[-1] == pytest.approx(1.0)


def test_forward_passes_are_batched(scene):
    img, truth, model = scene
    deletion(model, img, truth.astype(float), 0, step=24, batch_size=10)
    assert model.batches == [10, 10, 5]  # 25 images, never one at a time


def test_auc_is_trapezoid():
    img = np.ones((4, 4, 1), np.float32)
    model = RegionModel((slice(0, 4), slice(0, 4)))  # p = fraction kept
    d = deletion(model, img, np.arange(16.0).reshape(4, 4), 0, step=1)
    assert d.auc == pytest.approx(0.5, abs=1e-6)  # linear from 1 to 0


def test_blur_kernel():
    img = np.zeros((31, 31, 1), np.float32)
    img[15, 15] = 1
    out = blur(img)
    assert out[15, 15, 0] < 0.1 and out[15, 20, 0] > 0 and out[15, 21, 0] == 0  # radius 5 px


@pytest.mark.parametrize("kwargs,match", [(dict(step=0), "step"), (dict(step=1.5), "step")])
def test_bad_step(scene, kwargs, match):
    img, truth, model = scene
    with pytest.raises(ValueError, match=match):
        deletion(model, img, truth.astype(float), 0, **kwargs)


def test_map_shape_must_match(scene):
    img, truth, model = scene
    with pytest.raises(ValueError, match="image's height and width"):
        insertion(model, img, np.ones((10, 10)), 0)
    with pytest.raises(ValueError, match="out of range"):
        insertion(model, img, truth.astype(float), 5)
