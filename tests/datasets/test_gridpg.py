"""GridPG mosaics: confident photos (each tile classified on its own), a balanced seeded draw, tile boxes as
truth, no photo above a quarter of the cases, and evaluate() on them."""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from saliency_widgets.datasets import (GRIDPG_PHOTOS, confident_photos, gridpg_mosaics, mosaic_draw, photo_shares,
                                       tile_confidence)
from saliency_widgets.demo import PHOTOS, framed_square

METRICS = ("pointing_strict", "energy", "energy_centred")


def _favouring(*classes):
    """A 1000-class model whose top classes are ``classes`` (logits 10, 9, ...), whatever the image."""
    logits = np.zeros(1000, np.float64)
    for j, c in enumerate(classes):
        logits[c] = 10.0 - j
    probs = (np.exp(logits) / np.exp(logits).sum()).astype(np.float32)

    def model(batch):
        return np.tile(probs, (len(batch), 1))
    return model, probs


#: espresso, tiger cat, tripod, projectile: only coffee, cat, camera and rocket are above 0.02 (0.63, 0.23, 0.09, 0.03)
FOUR, FOUR_P = _favouring(967, 282, 872, 744)


def test_draw_is_seeded_and_tiles_are_distinct_photos():
    a, b = mosaic_draw(20, seed=3), mosaic_draw(20, seed=3)
    assert a == b and a != mosaic_draw(20, seed=4)
    for lay in a:
        assert len(lay) == 4 and len(set(lay)) == 4 and set(lay) <= set(GRIDPG_PHOTOS)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 30), st.integers(4, 12), st.integers(0, 2**16))
def test_draw_is_balanced_so_no_photo_exceeds_a_quarter(n, m, seed):
    photos = [f"p{j}" for j in range(m)]
    layouts = mosaic_draw(n, seed=seed, photos=photos)
    counts = Counter(p for lay in layouts for p in lay)
    assert max(counts.values()) - min(counts.get(p, 0) for p in photos) <= 1
    assert max(photo_shares(layouts).values()) <= 0.25 + 1e-12
    assert all(len(set(lay)) == 4 for lay in layouts)


def test_photos_have_distinct_listed_classes_reusable_licences_and_are_eight():
    classes = [c for p in GRIDPG_PHOTOS for c in PHOTOS[p].classes]
    assert len(classes) == len(set(classes))
    assert "motorcycle" not in GRIDPG_PHOTOS  # its licence is unstated
    assert len(GRIDPG_PHOTOS) >= 8 and all(PHOTOS[p].classes for p in GRIDPG_PHOTOS)


def test_too_few_photos_is_refused():
    with pytest.raises(ValueError, match="needs 4 distinct photos"):
        mosaic_draw(1, seed=0, photos=("cat", "coffee", "rocket"))


def test_confidence_classifies_each_tile_alone_at_the_mosaics_side():
    from skimage.transform import resize
    seen = []
    model, probs = _favouring(967, 282)

    def recording(batch):
        seen.append(np.array(batch))
        return model(batch)

    conf = tile_confidence(recording, ("cat", "coffee", "rocket", "camera"))
    batch = np.concatenate(seen)
    assert batch.shape == (4, 224, 224, 3)
    for img, name in zip(batch, ("cat", "coffee", "rocket", "camera")):
        expected = resize(framed_square(name, 112), (224, 224), order=1, preserve_range=True)
        assert np.allclose(img, expected, atol=1e-3)
    # the listed class the model ranks highest, and its probability
    assert conf["cat"] == (282, pytest.approx(float(probs[282])))
    assert conf["coffee"] == (967, pytest.approx(float(probs[967])))


def test_threshold_keeps_the_confident_photos_and_every_tile_is_a_case():
    ds = gridpg_mosaics(FOUR, 6, seed=1, threshold=0.02)
    assert set(p for lay in ds.layouts for p in lay) == {"coffee", "cat", "camera", "rocket"}
    assert {p for p, _, _ in ds.dropped} == set(GRIDPG_PHOTOS) - {"coffee", "cat", "camera", "rocket"}
    assert photo_shares(ds.layouts) == {p: 0.25 for p in ("coffee", "cat", "camera", "rocket")}
    tiles = {p: framed_square(p, 112) for p in ("coffee", "cat", "camera", "rocket")}
    expected = {"cat": 282, "coffee": 967, "camera": 872, "rocket": 744}
    assert len(ds) == 6
    for i in ds.indices():
        assert len(ds.cases[i]) == 4
        for label, (mask, boxes, n, difficult) in ds.truth(i).items():
            photo = ds.photo_of(i, label)
            x0, y0, x1, y1 = boxes[0]
            assert (x1 - x0, y1 - y0) == (112, 112) and mask.sum() == 112 * 112 and not difficult
            assert np.array_equal(ds.image(i)[y0:y1, x0:x1], tiles[photo])
            assert label == expected[photo]


def test_a_threshold_too_high_names_each_photos_probability():
    with pytest.raises(ValueError, match=r"3 photos reach p >= 0.0[0-9]+ .*mosaic needs 4.*shuttle 0\.0"):
        gridpg_mosaics(FOUR, 2, threshold=float(FOUR_P[744]) + 1e-6)
    assert confident_photos({"a": (1, 0.5), "b": (2, 0.49)}, 0.5) == ("a",)
    with pytest.raises(ValueError, match="threshold"):
        confident_photos({"a": (1, 0.5)}, 1.5)


def test_no_photo_may_exceed_the_max_share():
    with pytest.raises(ValueError, match="more than 0.2 of the cases"):
        gridpg_mosaics(FOUR, 3, threshold=0.02, max_share=0.2)  # four photos: each provides a quarter


def test_evaluate_scores_the_grid_pointing_game():
    from saliency_widgets import evaluate

    ds = gridpg_mosaics(FOUR, 3, seed=0, threshold=0.02)

    class TileOracle:
        """Puts all its mass in the target's tile (the perfect GridPG map)."""
        method, params = "oracle", {}

        def explain(self, image, target):
            from saliency_widgets.explanation import Explanation
            i = next(j for j in ds.indices() if ds.image(j) is image or np.array_equal(ds.image(j), image))
            mask = ds.truth(i)[target][0].astype(float)
            return Explanation(saliency=mask, raw=mask, target=target, score=1.0, n_forward=0, method="oracle")

    rows = evaluate({"oracle": TileOracle()}, ds, metrics=METRICS, progress=False, sanity=False)
    assert len(rows) == 3 * 4
    assert all(r["hit_strict"] and r["energy"] == 1.0 and r["energy_centred"] == 1.0 for r in rows)


def test_the_results_table_shows_the_energy_shares():
    from saliency_widgets import evaluate
    from saliency_widgets.explainers.center import CenterBaseline

    ds = gridpg_mosaics(FOUR, 3, seed=0, threshold=0.02)
    rows = evaluate([CenterBaseline()], ds, metrics=METRICS, progress=False)
    text = str(rows)
    assert "GridPG energy (Böhle)" in text and "centred energy share" in text
    # the centre baseline is symmetric about the mosaic's centre: every tile gets a quarter of its mass
    assert all(abs(r["energy"] - 0.25) < 1e-9 for r in rows)
