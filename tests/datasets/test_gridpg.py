"""GridPG mosaics: a seeded draw, the top-k filter, tile boxes as truth, and evaluate() on them."""
from __future__ import annotations

import numpy as np
import pytest

from saliency_widgets.datasets import GRIDPG_PHOTOS, gridpg_mosaics, mosaic_draw
from saliency_widgets.demo import PHOTOS, sample_images


def _favouring(*classes):
    """A 1000-class model whose top classes are ``classes`` (in that order), whatever the image."""
    logits = np.zeros(1000, np.float32)
    for j, c in enumerate(classes):
        logits[c] = 10.0 - j

    probs = np.exp(logits) / np.exp(logits).sum()

    def model(batch):
        return np.tile(probs, (len(batch), 1))
    return model


def test_draw_is_seeded_and_tiles_are_distinct_photos():
    a, b = mosaic_draw(20, seed=3), mosaic_draw(20, seed=3)
    assert a == b and a != mosaic_draw(20, seed=4)
    for lay in a:
        assert len(lay) == 4 and len(set(lay)) == 4 and set(lay) <= set(GRIDPG_PHOTOS)


def test_photos_have_distinct_listed_classes_and_reusable_licences():
    classes = [c for p in GRIDPG_PHOTOS for c in PHOTOS[p].classes]
    assert len(classes) == len(set(classes))
    assert "motorcycle" not in GRIDPG_PHOTOS  # its licence is unstated


def test_too_few_photos_is_refused():
    with pytest.raises(ValueError, match="needs 4 distinct photos"):
        mosaic_draw(1, seed=0, photos=("cat", "coffee", "rocket"))


def test_only_tiles_in_the_top_k_are_kept_with_their_tile_as_truth():
    model = _favouring(967, 282)  # espresso, then tiger cat: only coffee and cat tiles can be kept at k=2
    ds = gridpg_mosaics(model, 6, seed=1, k=2, photos=("cat", "coffee", "rocket", "camera", "china"))
    tiles = sample_images(112, names=["cat", "coffee"])
    assert len(ds.cases) == 6 and ds.dropped
    for i in ds.indices():
        assert {p for _, _, p in ds.cases[i]} == {"cat", "coffee"} & set(ds.layouts[i])
        for label, (mask, boxes, n, difficult) in ds.truth(i).items():
            photo = ds.photo_of(i, label)
            x0, y0, x1, y1 = boxes[0]
            assert (x1 - x0, y1 - y0) == (112, 112) and mask.sum() == 112 * 112 and not difficult
            assert np.array_equal(ds.image(i)[y0:y1, x0:x1], tiles[photo])
            assert label == {"cat": 282, "coffee": 967}[photo]


def test_evaluate_scores_the_grid_pointing_game():
    from saliency_widgets import evaluate

    model = _favouring(967, 282)
    ds = gridpg_mosaics(model, 4, seed=0, k=2)

    class TileOracle:
        """Puts all its mass in the target's tile (the perfect GridPG map)."""
        method, params = "oracle", {}

        def explain(self, image, target):
            from saliency_widgets.explanation import Explanation
            i = next(j for j in ds.indices() if ds.image(j) is image or np.array_equal(ds.image(j), image))
            mask = ds.truth(i)[target][0].astype(float)
            return Explanation(saliency=mask, raw=mask, target=target, score=1.0, n_forward=0, method="oracle")

    rows = evaluate({"oracle": TileOracle()}, ds, metrics=("pointing_strict", "energy", "energy_centred"),
                    progress=False, sanity=False)
    assert len(rows) == sum(len(ds.cases[i]) for i in ds.indices()) > 0
    assert all(r["hit_strict"] and r["energy"] == 1.0 and r["energy_centred"] == 1.0 for r in rows)


def test_the_results_table_shows_the_energy_shares():
    from saliency_widgets import evaluate
    from saliency_widgets.explainers.center import CenterBaseline

    ds = gridpg_mosaics(_favouring(967, 282), 3, seed=0, k=2)
    rows = evaluate([CenterBaseline()], ds, metrics=("pointing_strict", "energy", "energy_centred"), progress=False)
    text = str(rows)
    assert "energy share in box (Rao)" in text and "centred energy share in box" in text
    # the centre baseline is symmetric about the mosaic's centre: every tile gets a quarter of its mass
    assert all(abs(r["energy"] - 0.25) < 1e-9 for r in rows)
