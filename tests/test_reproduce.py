"""The shipped results cannot drift from the code: recompute a subset and compare."""
import numpy as np
import pytest

from saliency_widgets import evaluate
from saliency_widgets.demo import load_model, make_scenes
from saliency_widgets.reproduce import CONFIG, shipped_results, standard_explainers


@pytest.fixture(scope="module")
def shipped():
    return shipped_results()


def test_shipped_file_matches_the_config(shipped):
    assert shipped["config"]["single_seed"] == CONFIG["single_seed"]
    assert len({r["image"] for r in shipped["rows_single"]}) >= 200  # the table covers >= 200 scenes
    methods = {r["method"] for r in shipped["rows_single"]}
    assert methods == {"mask-update", "rise", "grad-cam", "lime", "occlusion", "center"}


def test_recomputed_rows_match_the_shipped_rows(shipped):
    cfg = shipped["config"]
    scenes = make_scenes(3, seed=cfg["single_seed"])  # the first 3 of the shipped scenes
    explainers = standard_explainers(load_model(), budget=cfg["budget"], lime_samples=cfg["lime_samples"],
                                     seed=cfg["explainer_seed"])
    rows = evaluate(explainers, scenes.images, scenes.objects, progress=False)
    old = {(r["image"], r["target"], r["method"]): r for r in shipped["rows_single"]}
    for row in rows:
        ref = old[(row["image"], row["target"], row["method"])]
        assert row["hit"] == ref["hit"] and row["hit_strict"] == ref["hit_strict"], row
        for key in ("box_iou", "insertion", "deletion"):
            assert row[key] == pytest.approx(ref[key], abs=2e-3), (key, row, ref)


def test_summary_has_confidence_intervals(shipped):
    for s in shipped["pointing_single"]:
        assert 0 <= s["pointing"] <= 1 and 0 < s["pointing_ci"] < 0.2
    assert np.isfinite([s["deletion"] for s in shipped["pointing_single"]]).all()
