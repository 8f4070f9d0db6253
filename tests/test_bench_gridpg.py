"""The GridPG benchmark: paired intervals clustered by photo, the declared headline written before any map,
the threshold rule, the wording (no winner unless every interval agrees), and RESULTS.md == its rendering."""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

#: one listed class per GridPG photo (cat, coffee, rocket, camera, china, flower, hopper, shuttle)
ONE_CLASS = (282, 967, 744, 872, 442, 985, 906, 812)


def _bench():
    spec = importlib.util.spec_from_file_location("bench_gridpg", os.path.join(ROOT, "benchmarks", "bench_gridpg.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _toy(batch):
    """Equal logits (7) for one class of each GridPG photo, 0 elsewhere: p = e^7 / (8 e^7 + 992) ~ 0.11 each,
    nudged by the image's brightness so that masking changes the answer."""
    batch = np.asarray(batch, np.float64)
    logits = np.zeros((len(batch), 1000))
    bright = batch.reshape(len(batch), -1).mean(axis=1) / 255.0
    for j, c in enumerate(ONE_CLASS):
        logits[:, c] = 7.0 + 0.02 * j * bright
    e = np.exp(logits)
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def _rows(diffs_by_photo, mosaics=6, base_key=0.5):
    """RISE and "x" rows: in each mosaic one case per photo, x - RISE = the photo's diff on every score."""
    rows = []
    for m in range(mosaics):
        for t, (photo, d) in enumerate(diffs_by_photo.items()):
            base = {"mosaic": f"0:{m}", "target": t, "photo": photo, "hit_strict": False, "energy": base_key,
                    "energy_centred": base_key, "n_forward": 8}
            rows += [dict(base, method="rise"),
                     dict(base, method="x", energy=base_key + d, energy_centred=base_key + d, hit_strict=d > 0)]
    return rows


def test_paired_difference_of_a_constant_gain_has_a_zero_width_interval():
    bench = _bench()
    p = bench.paired(_rows({"a": 0.1, "b": 0.1, "c": 0.1, "d": 0.1}), "x")
    assert p["energy"]["diff"] == pytest.approx(0.1) and p["energy"]["ci"] == pytest.approx([0.1, 0.1])
    assert p["energy"]["n"] == 24 and p["energy"]["clusters"] == 4 and p["energy"]["wins"] == 24
    assert p["pointing_strict"]["diff"] == 1.0


def test_the_interval_resamples_photos_not_mosaics():
    """Two photos, +1 and -1 on every case of each: resampling the two photos gives -1, 0 or +1 (each
    bootstrap mean is one of those), with P(-1) = P(+1) = 1/4 > 2.5%, so the interval is [-1, +1]
    however many mosaics there are; resampling the 40 mosaics would give a narrow interval around 0."""
    bench = _bench()
    p = bench.paired(_rows({"a": 1.0, "b": -1.0}, mosaics=40), "x")
    assert p["energy"]["diff"] == pytest.approx(0.0)
    assert p["energy"]["ci"] == pytest.approx([-1.0, 1.0]) and p["energy"]["clusters"] == 2
    assert bench.sign(p["energy"]) == "includes 0"


def test_wording_names_a_direction_only_where_every_interval_agrees():
    bench = _bench()

    def st(lo, hi):
        return {"ci": [lo, hi], "diff": (lo + hi) / 2}
    assert bench.verdict({m: st(0.01, 0.2) for m in bench.METRICS}) == "above RISE on every score"
    assert bench.verdict({m: st(-0.2, -0.01) for m in bench.METRICS}) == "below RISE on every score"
    mixed = {"energy": st(0.1, 0.3), "energy_centred": st(-0.2, -0.05), "pointing_strict": st(0.0, 0.0)}
    text = bench.verdict(mixed)
    assert text.startswith("no winner") and "above" in text and "below" in text and "includes 0" in text
    assert "beats" not in text


@pytest.mark.parametrize("x, text", [(0.0004, "+0.0004"), (-0.00004, "-0.00004"), (0.0, "0"), (0.1234, "+0.123"),
                                     (-0.0004, "-0.0004"), (0.0015, "+0.002")])
def test_numbers_show_on_which_side_of_zero_they_lie(x, text):
    assert _bench().num(x) == text


def test_threshold_rule_picks_the_highest_candidate_keeping_eight_photos():
    bench = _bench()
    conf = {f"p{j}": (j, prob) for j, prob in enumerate([0.95, 0.9, 0.8, 0.6, 0.55, 0.52, 0.31, 0.3, 0.12])}
    assert bench.choose_threshold(conf) == 0.3
    rows = {t["threshold"]: t for t in bench.threshold_table(conf, mosaics=5)}
    assert len(rows[0.5]["photos"]) == 6 and rows[0.5]["cases"] == 20
    assert rows[0.99]["photos"] == [] and rows[0.99]["cases"] == 0
    with pytest.raises(SystemExit, match="keeps 8 photos"):
        bench.choose_threshold({f"p{j}": (j, 0.01) for j in range(9)})


def _args(bench, tmp_path, *extra):
    args = bench.parse(["--mosaics", "2", "--passes", "4", "--methods", "rise,center", "--out",
                        str(tmp_path / "gridpg.json"), *extra])
    args.code = "test"
    return args


def test_the_headline_is_written_before_any_map_is_computed(tmp_path):
    bench = _bench()
    args = _args(bench, tmp_path)
    seen = {}

    def stop(*a, **k):  # stands in for the maps: what is on disk when they start
        seen.update(json.loads((tmp_path / "gridpg.json").read_text()))
        raise RuntimeError("stop before the maps")
    bench.run_set = stop
    with pytest.raises(RuntimeError, match="stop before the maps"):
        bench.fresh(args, None, _toy, 0.0)
    d = seen["declaration"]
    assert d["headline"] == bench.HEADLINE == "energy" and d["cluster"] == "photo"
    assert d["threshold"] == 0.1 and d["methods"] == ["rise", "center"] and "maps not computed" in seen["status"]


@pytest.mark.filterwarnings("ignore:occlusion. the target's score never changed")
def test_a_toy_run_end_to_end_and_its_rendering(tmp_path):
    bench = _bench()
    args = _args(bench, tmp_path)
    result = json.loads(json.dumps(bench.fresh(args, None, _toy, 0.0), default=str))
    assert result["meta"]["cases"] == 8 and result["meta"]["photos"] == 8
    assert set(result["meta"]["shares"].values()) == {0.125}
    assert {r["method"] for r in result["rows"]} == {"rise", "center"}
    assert all(r["n_forward"] == 4 for r in result["rows"] if r["method"] == "rise")
    assert set(result["methods"]["center"]) == set(bench.METRICS)
    result["meta"]["seconds"] = 1.0
    text = bench.render(result)
    assert "declared before any map" in text and "did not run in this measurement" in text
    assert "p >= 0.99: 0 photos, 0 cases" in text and "cluster bootstrap over photos" in text
    assert "grad-cam" in text and "beats" not in text  # a plain function has no gradients: named, with why
    added = bench.add_rows(result, _toy, ("occlusion",), argparse.Namespace(gradient_budget=None),
                           {"command": "x", "date": "d", "machine": "m", "code": "c", "seconds": 0})
    assert {r["method"] for r in added["rows"]} == {"rise", "center", "occlusion"}
    assert list(added["methods"]) == ["rise", "center", "occlusion"]
    added["rows"] = [r for r in added["rows"] if r["mosaic"] != "0:0" or r["method"] != "rise"]
    with pytest.raises(SystemExit, match="rerun the whole table"):
        bench.add_rows(added, _toy, ("center",), argparse.Namespace(gradient_budget=None), {})


@pytest.mark.parametrize("command, expected", [
    ("python benchmarks/bench_gridpg.py --mosaics 4 --rows /work/rows.jsonl --threads 1",
     "python benchmarks/bench_gridpg.py --mosaics 4 --threads 1"),
    ("python benchmarks/bench_gridpg.py --rows=/tmp/r.jsonl", "python benchmarks/bench_gridpg.py"),
    ("python benchmarks/bench_gridpg.py --mosaics 4", "python benchmarks/bench_gridpg.py --mosaics 4"),
])
def test_the_shown_command_leaves_out_the_measuring_machines_resume_file(command, expected):
    assert _bench().shown(command) == expected


def test_write_section_replaces_only_its_own_section(tmp_path):
    bench = _bench()
    path = tmp_path / "RESULTS.md"
    path.write_text("# Benchmark results\n\n## Grid pointing game on real photos (old) -- x\nold\n\n## Other\nkeep me\n",
                    encoding="utf-8")
    bench.write_section(str(path), bench.SECTION + "\n\nfirst")
    bench.write_section(str(path), bench.SECTION + "\n\nsecond")
    text = path.read_text(encoding="utf-8")
    assert "keep me" in text and "second" in text and "first" not in text and "old" not in text
    assert text.count(bench.SECTION) == 1


def _stored():
    with open(os.path.join(ROOT, "benchmarks", "gridpg.json"), encoding="utf-8") as f:
        return json.load(f)


def test_results_md_section_is_what_the_stored_json_renders():
    """Every GridPG figure in RESULTS.md is rendered from benchmarks/gridpg.json: a hand edit of the
    section, or a JSON changed without rewriting it, fails here."""
    bench = _bench()
    text = open(os.path.join(ROOT, "benchmarks", "RESULTS.md"), encoding="utf-8").read()
    start = text.index(bench.SECTION)
    end = text.find("\n## ", start + len(bench.SECTION))
    assert text[start:end if end >= 0 else None].rstrip() == bench.render(_stored()).rstrip()


def test_the_stored_run_declared_its_headline_and_clusters_by_photo():
    bench = _bench()
    result = _stored()
    d = result["declaration"]
    assert d["headline"] == bench.HEADLINE and d["cluster"] == "photo" and d["declared_at"] < result["meta"]["date"]
    assert result["meta"]["photos"] >= 8 and max(result["meta"]["shares"].values()) <= 0.25
    assert "rise" in result["methods"] and "mask-update-slope" in result["methods"]
    for key, stats in result["methods"].items():  # the stored intervals are what the rows give
        if key != "rise":
            assert bench.paired(result["rows"], key)["energy"]["ci"] == pytest.approx(stats["energy"]["ci"])


def test_notebook_05_quotes_the_stored_result():
    """(The documentation renders the section from the same JSON when it is built: tools/docs_pages.py.)"""
    import nbformat
    text = _bench().prose(_stored())
    nb = nbformat.read(os.path.join(ROOT, "notebooks", "05_convergence.ipynb"), as_version=4)
    assert text["notebook"] in [c for c in nb.cells if c.cell_type == "markdown"][-1].source


@pytest.mark.slow
def test_small_tier_on_the_real_model_runs_every_method_at_equal_passes():
    pytest.importorskip("efficientnet_lite_pytorch")
    bench = _bench()
    result = bench.main(["--mosaics", "2", "--passes", "16", "--methods", "rise,mask-update,occlusion", "--no-write"])
    rows = result["rows"]
    assert {r["method"] for r in rows} == {"rise", "mask-update", "occlusion"}
    assert len(rows) == 3 * 8 and result["meta"]["photos"] == 8
    for r in rows:
        assert r["n_forward"] <= 16 and (r["method"] == "occlusion" or r["n_forward"] == 16)
        assert isinstance(r["hit_strict"], bool) and 0 <= r["energy"] <= 1 and 0 <= r["energy_centred"] <= 1
