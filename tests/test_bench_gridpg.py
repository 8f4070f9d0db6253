"""The GridPG benchmark's CI tier: 4 mosaics, 64 passes, 3 methods (the machinery, not the timings)."""
from __future__ import annotations

import importlib.util
import os
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def _bench():
    spec = importlib.util.spec_from_file_location("bench_gridpg", os.path.join(ROOT, "benchmarks", "bench_gridpg.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_paired_difference_and_cluster_interval_on_known_rows():
    bench = _bench()
    rows = []
    for m in range(6):  # the method beats RISE by exactly 0.1 centred energy on every case
        for t in (1, 2):
            base = {"mosaic": f"0:{m}", "target": t, "hit_strict": True, "energy": 0.3, "energy_centred": 0.5}
            rows += [dict(base, method="rise"), dict(base, method="x", energy_centred=0.6, hit_strict=m % 2 == 0)]
    p = bench.paired(rows, "x")
    assert p["energy_centred"]["diff"] == pytest.approx(0.1) and p["energy_centred"]["ci"] == pytest.approx([0.1, 0.1])
    assert p["hit_strict"]["diff"] == pytest.approx(-0.5) and p["hit_strict"]["losses"] == 6
    lo, hi = p["hit_strict"]["ci"]
    assert -1.0 <= lo < -0.5 < hi <= 0.0  # resampling whole mosaics: the interval has width


def test_write_section_replaces_only_its_own_section(tmp_path):
    bench = _bench()
    path = tmp_path / "RESULTS.md"
    path.write_text("# Benchmark results\n\n## Other\nkeep me\n", encoding="utf-8")
    bench.write_section(str(path), bench.SECTION + "\n\nfirst")
    bench.write_section(str(path), bench.SECTION + "\n\nsecond")
    text = path.read_text(encoding="utf-8")
    assert "keep me" in text and "second" in text and "first" not in text and text.count(bench.SECTION) == 1


@pytest.mark.slow
def test_small_tier_runs_every_method_at_equal_passes():
    pytest.importorskip("efficientnet_lite_pytorch")
    bench = _bench()
    rows, _ = bench.main(["--mosaics", "4", "--passes", "64", "--methods", "rise,mask-update,occlusion",
                          "--no-write"])
    methods = {r["method"] for r in rows}
    assert methods == {"rise", "mask-update", "occlusion"}
    cases = {(r["mosaic"], r["target"]) for r in rows}
    assert len(rows) == 3 * len(cases) > 0
    for r in rows:
        assert r["n_forward"] <= 64 and (r["method"] == "occlusion" or r["n_forward"] == 64)
        assert isinstance(r["hit_strict"], bool) and 0 <= r["energy"] <= 1 and 0 <= r["energy_centred"] <= 1
    assert np.isfinite(bench.paired(rows, "mask-update")["energy_centred"]["diff"])


def test_notebook_05_quotes_the_stored_result():
    """(The documentation renders the section from the same JSON when it is built: tools/docs_pages.py.)"""
    import json

    import nbformat
    bench = _bench()
    with open(os.path.join(ROOT, "benchmarks", "gridpg.json"), encoding="utf-8") as f:
        result = json.load(f)
    text = bench.prose(result)
    nb = nbformat.read(os.path.join(ROOT, "notebooks", "05_convergence.ipynb"), as_version=4)
    assert text["notebook"] in [c for c in nb.cells if c.cell_type == "markdown"][-1].source


def test_results_md_section_is_what_the_stored_json_renders():
    """Every GridPG figure in RESULTS.md is rendered from benchmarks/gridpg.json (issue 20): a hand edit of the
    section, or a JSON changed without rewriting it, fails here."""
    import json
    bench = _bench()
    with open(os.path.join(ROOT, "benchmarks", "gridpg.json"), encoding="utf-8") as f:
        result = json.load(f)
    text = open(os.path.join(ROOT, "benchmarks", "RESULTS.md"), encoding="utf-8").read()
    start = text.index(bench.SECTION)
    end = text.find("\n## ", start + len(bench.SECTION))
    assert text[start:end if end >= 0 else None].rstrip() == bench.render(result).rstrip()


def test_add_merges_rows_on_the_stored_draw_and_refuses_another_draw():
    pytest.importorskip("efficientnet_lite_pytorch")
    import argparse

    from saliency_widgets.demo import load_imagenet_model
    bench = _bench()
    model = load_imagenet_model("efficientnet-lite0").eval()
    _, rows = bench.run_set(model, ("rise",), n=2, seed=0, k=5, passes=16)
    result = {"meta": {"mosaics": 2, "seed": 0, "k": 5, "passes": 16}, "labels": {"rise": "RISE"},
              "methods": {"rise": bench.paired(rows, "rise")}, "rows": rows, "moonshot": None}
    args = argparse.Namespace(gradient_budget=2)
    out = bench.add_rows(result, model, ("gradient", "smoothgrad"), args, {"command": "x"})
    cases = {(r["mosaic"], r["target"]) for r in rows}
    for key in ("gradient", "smoothgrad"):
        assert {(r["mosaic"], r["target"]) for r in out["rows"] if r["method"] == key} == cases
    assert list(out["methods"]) == ["rise", "gradient", "smoothgrad"]
    assert out["labels"]["smoothgrad"].startswith("SmoothGrad (2 samples")
    assert out["meta"]["added"][-1]["methods"] == ["gradient", "smoothgrad"] and out["meta"]["added"][-1]["cases"] == len(cases)
    assert "vanilla gradient" in bench.table(out["rows"], list(out["methods"]), out["labels"])
    out["rows"] = [r for r in out["rows"] if r["mosaic"] != rows[0]["mosaic"] or r["method"] != "rise"]
    with pytest.raises(SystemExit, match="rerun the whole table"):
        bench.add_rows(out, model, ("gradient",), args, {})
