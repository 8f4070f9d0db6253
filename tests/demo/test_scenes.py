import numpy as np
import pytest

from saliency_widgets.demo import CLASS_NAMES, make_scenes
from saliency_widgets.demo.scenes import draw_object


def test_shapes_and_ground_truth_are_consistent():
    s = make_scenes(12, objects=(1, 3), seed=0)
    assert s.images.shape == (12, 96, 96, 3) and s.images.dtype == np.uint8
    for objs in s.objects:
        assert 1 <= len(objs) <= 3
        assert len({o.label for o in objs}) == len(objs)  # distinct classes
        for o in objs:
            x0, y0, x1, y1 = o.box
            ys, xs = np.nonzero(o.mask)
            assert (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) == (x0, y0, x1, y1)  # exclusive x1, y1
            assert o.mask.shape == (96, 96) and o.mask.dtype == bool
        masks = np.array([o.mask for o in objs])
        assert masks.sum(0).max() <= 1  # objects never overlap


def test_objects_are_drawn_where_the_mask_says():
    s = make_scenes(6, seed=1, clutter=(0, 0))
    for img, objs in zip(s.images.astype(int), s.objects):
        m = objs[0].mask
        inside = img[m].std(0).mean()  # one flat colour (+ small noise) inside the object
        assert inside < 12


def test_deterministic_and_seed_dependent():
    a, b = make_scenes(3, seed=5), make_scenes(3, seed=5)
    np.testing.assert_array_equal(a.images, b.images)
    assert not np.array_equal(a.images, make_scenes(3, seed=6).images)


def test_every_class_is_drawable_and_distinct():
    masks = [draw_object(k, 48, 48, 16, 0.3, 96) for k in range(len(CLASS_NAMES))]
    areas = [m.sum() for m in masks]
    assert min(areas) > 100
    for i in range(len(masks)):
        for j in range(i + 1, len(masks)):
            assert (masks[i] ^ masks[j]).sum() > 50, (CLASS_NAMES[i], CLASS_NAMES[j])


@pytest.mark.parametrize("kwargs,match", [
    (dict(n=0), "n must be"), (dict(n=2, size=20), "size"), (dict(n=2, objects=(2, 1)), "objects range"),
    (dict(n=2, objects=(0, 1)), "objects range"), (dict(n=2, objects=(1, 9)), "exceeds the number"),
    (dict(n=2, size=48, objects=(6, 6)), "too small"),
])
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_scenes(**kwargs)
