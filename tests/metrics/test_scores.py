import numpy as np
import pytest

from saliency_widgets import metrics as M


def test_localization_scores_are_the_metrics_themselves():
    rng = np.random.default_rng(0)
    raw = rng.random((12, 12))
    raw[2:4, 2:4] += 5  # the peak on object 1
    mask = np.zeros((12, 12), bool)
    mask[1:5, 1:5] = mask[8:11, 8:11] = True
    boxes = [(1, 1, 5, 5), (8, 8, 11, 11)]
    out = M.localization_scores(raw, mask, boxes, tolerance=3, iou_threshold=0.6, tie_seed=2)
    assert out == {"pointing": M.pointing_game(raw, mask, tolerance=3, tie_seed=2),
                   "pointing_strict": M.pointing_game(raw, mask, tolerance=0, tie_seed=2),
                   "box_iou": M.box_iou(raw, boxes, threshold=0.6, tie_seed=2)}
    assert out["pointing"] and out["pointing_strict"]
    assert M.localization_scores(raw, mask, boxes, metrics=["box_iou"]).keys() == {"box_iou"}
    with pytest.raises(ValueError, match=r"unknown localisation metrics \['insertion'\]"):
        M.localization_scores(raw, mask, boxes, metrics=["insertion"])
