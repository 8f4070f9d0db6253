"""The own-model cost benchmark (bench_own_model.py): RESULTS.md quotes what its stored JSON renders."""
from __future__ import annotations

import importlib.util
import json
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _bench():
    spec = importlib.util.spec_from_file_location("bench_own_model",
                                                  os.path.join(ROOT, "benchmarks", "bench_own_model.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_results_md_section_is_what_the_stored_json_renders():
    """A figure edited by hand in RESULTS.md, or a JSON changed without rerunning the script, fails here."""
    bench = _bench()
    with open(os.path.join(ROOT, "benchmarks", "own_model.json"), encoding="utf-8") as f:
        result = json.load(f)
    text = open(os.path.join(ROOT, "benchmarks", "RESULTS.md"), encoding="utf-8").read()
    start = text.find(bench.SECTION)
    assert start >= 0, "RESULTS.md has no own-model section: run benchmarks/bench_own_model.py"
    end = text.find("\n## ", start + len(bench.SECTION))
    assert text[start:end if end >= 0 else None].rstrip() == bench.render(result).rstrip()


def test_the_stored_run_measured_every_method_against_its_floor():
    with open(os.path.join(ROOT, "benchmarks", "own_model.json"), encoding="utf-8") as f:
        result = json.load(f)
    rows = {r["method"]: r for r in result["rows"]}
    assert set(_bench().METHODS) <= set(rows)
    for r in rows.values():
        assert r["passes"] > 0 and r["ratio"] == pytest.approx(r["per_pass"] / r["floor"])
        assert (r["gradient_ratio"] is not None) == (r["method"] in _bench().GRADIENT)
    w = result["widget"]
    assert w["passes"] == w["map_passes"] + w["curve_passes"] and w["curve_passes"] > 0
    assert w["module_images"] >= w["passes"]


@pytest.mark.parametrize("passes", [16, 64, 128])
def test_occlusion_gets_the_stride_whose_grid_fits_the_passes(passes):
    s = _bench().settings("occlusion", passes)
    side = -(-260 // s["stride"])
    assert side * side <= passes and s["window"] == s["stride"]
