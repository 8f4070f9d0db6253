"""evaluate() on a dataset: lazy images, undecodable ones recorded (never dropped), difficult flags."""
import json

import numpy as np
import pytest

from saliency_widgets import evaluate
from saliency_widgets.datasets import demo_voc, write_demo_voc
from saliency_widgets.explainers import CenterBaseline


@pytest.fixture
def demo_root(tmp_path):
    return write_demo_voc(tmp_path / "voc", 5, objects=(1, 2), seed=1)


def test_evaluate_reads_a_dataset_and_records_images_that_fail_to_decode(demo_root, tmp_path):
    ds = demo_voc(demo_root)
    with open(ds.records[2].path, "wb") as f:
        f.write(b"broken")
    out = tmp_path / "r.jsonl"
    rows = evaluate({"centre": CenterBaseline()}, ds, metrics=("pointing", "box_iou"), results=str(out),
                    progress=False, sanity=False)
    keys = [(i, label) for i in ds.indices() for label, _ in ds.labels(i)]
    assert sorted((r["image"], r["target"]) for r in rows) == sorted(keys)  # one row per entry, none dropped
    broken = [r for r in rows if r["image"] == 2]
    assert broken and all("cannot decode image" in r["error"] and r["skipped"] == "image" for r in broken)
    assert all("error" not in r for r in rows if r["image"] != 2)
    assert all(r["image_id"] == f"{r['image']:06d}" for r in rows)
    s = rows.summary()[0]
    assert s["n"] == len(keys) - len(broken) and s["failed"] == len(broken)
    assert f"{len(broken)} maps failed" in rows.to_markdown()
    # the file says the same, and resuming recomputes the failed rows (still one row per key)
    lines = [json.loads(x) for x in out.read_text().splitlines()[1:]]
    assert len(lines) == len(keys)
    again = evaluate({"centre": CenterBaseline()}, ds, metrics=("pointing", "box_iou"), results=str(out),
                     progress=False, sanity=False)
    assert len(again) == len(keys)
    assert len(out.read_text().splitlines()) == 1 + len(keys)


def test_difficult_flag_and_pointing_table(demo_root):
    ds = demo_voc(demo_root)
    rows = evaluate({"centre": CenterBaseline()}, ds, metrics=("pointing",), progress=False, sanity=False)
    for r in rows:
        mask = ds.truth(r["image"])[r["target"]][0]
        assert r["difficult"] == (mask.mean() < 0.25 and len(ds.labels(r["image"])) > 1)
    table = rows.pointing_table(ds.class_names)
    assert "centre (all)" in table and "centre (difficult)" in table and "mean of classes" in table
    for c in {r["target"] for r in rows}:  # each class line: hits / entries of that class
        mine = [r for r in rows if r["target"] == c]
        assert f"({sum(r['hit'] for r in mine)}/{len(mine)})" in table


def test_truths_with_a_dataset_is_refused(demo_root):
    ds = demo_voc(demo_root)
    with pytest.raises(ValueError, match="truths=None"):
        evaluate([CenterBaseline()], ds, [[]] * len(ds), progress=False)
    with pytest.raises(ValueError, match="truths is required"):
        evaluate([CenterBaseline()], np.zeros((1, 8, 8, 3)), progress=False)
