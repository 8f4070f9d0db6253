"""The bundled photos: licences recorded, and every listed ImageNet class checked against the model."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from saliency_widgets.demo import PHOTOS, load_photo, real_photos, sample_images

ROOT = Path(__file__).resolve().parents[2]


def test_every_photo_loads_offline_as_rgb_uint8():
    for name in real_photos():
        img = load_photo(name)
        smallest = 200 if PHOTOS[name].region else 300  # a region of a photo is smaller than the photo
        assert img.ndim == 3 and img.shape[2] == 3 and img.dtype == np.uint8 and min(img.shape[:2]) >= smallest, name
        assert img.std() > 20, name


def test_a_region_is_that_part_of_its_photo_and_a_frame_is_that_square():
    from skimage.transform import resize

    from saliency_widgets.demo import framed_square
    x0, y0, x1, y1 = PHOTOS["shuttle"].region
    assert np.array_equal(load_photo("shuttle"), load_photo("astronaut")[y0:y1, x0:x1])
    x, y, side = PHOTOS["rocket"].frame
    crop = load_photo("rocket")[y:y + side, x:x + side]
    expected = (resize(crop, (64, 64), anti_aliasing=True) * 255).round().astype(np.uint8)
    assert np.array_equal(framed_square("rocket", 64), expected)
    assert np.array_equal(framed_square("cat", 64), sample_images(64, names=["cat"])["cat"])  # no frame: the centre


def test_every_frame_and_region_fits_its_photo():
    for name, photo in real_photos().items():
        if photo.frame is not None:
            x, y, side = photo.frame
            h, w = load_photo(name).shape[:2]
            assert x >= 0 and y >= 0 and x + side <= w and y + side <= h, name


def test_sample_images_keep_their_names_and_size():
    photos = sample_images()
    assert {"cat", "coffee", "rocket", "motorcycle"} <= set(photos)
    assert set(sample_images(64, names=["cat"])) == {"cat"}
    for img in photos.values():
        assert img.shape == (224, 224, 3) and img.dtype == np.uint8


def test_unknown_photo_names_the_known_ones():
    with pytest.raises(KeyError, match="coffee"):
        load_photo("dog")


def test_every_photo_has_a_licence_in_notice_and_the_docs():
    notice = (ROOT / "NOTICE").read_text(encoding="utf-8")
    page = (ROOT / "docs" / "guide" / "models.md").read_text(encoding="utf-8")
    for photo in PHOTOS.values():
        assert photo.license and photo.credit, photo.name
        source = photo.source.split(" ")[0]
        assert source in notice and source in page, f"{photo.name}: {source} not in NOTICE / docs/guide/models.md"
        assert f'"{photo.name}"' in notice and f"`{photo.name}`" in page, f"{photo.name}: no entry in NOTICE / the models page"
        if not photo.classes:
            assert "no ImageNet class" in photo.note, photo.name  # an empty list says why


def test_listed_classes_are_in_the_models_top5():
    pytest.importorskip("efficientnet_lite_pytorch")
    from saliency_widgets.demo import imagenet_labels, load_imagenet_model
    from saliency_widgets.models import as_model
    adapter = as_model(load_imagenet_model("efficientnet-lite0"))
    names = list(real_photos())
    square = sample_images(names=names)
    # both views a user meets: the model's own crop of the full photo, and sample_images' 224 square
    batch = np.stack([adapter.prepare(load_photo(n)) for n in names] + [square[n].astype(np.float32) for n in names])
    probs = adapter.predict(batch)
    labels = imagenet_labels()
    assert {"hopper", "shuttle"} <= set(names)  # every photo, the matplotlib one included
    for i, name in enumerate(names * 2):
        top5 = set(np.argsort(-probs[i])[:5].tolist())
        missing = [labels[c] for c in PHOTOS[name].classes if c not in top5]
        assert not missing, f"{name}: listed {missing} not in the top-5 {[labels[c] for c in top5]}"
