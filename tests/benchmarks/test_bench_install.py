"""The install footprint table (bench_install.py): its summary of a resolved set, and RESULTS.md's section."""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _bench():
    sys.path.insert(0, str(ROOT / "benchmarks"))   # bench_install imports _common beside it
    spec = importlib.util.spec_from_file_location("bench_install", ROOT / "benchmarks" / "bench_install.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _item(name, version, size):
    return {"name": name, "version": version, "url": f"https://x/{name}.whl", "bytes": size}


def test_summary_counts_cuda_packages_and_names_the_frameworks():
    bench = _bench()
    items = [_item("torch", "2.15.0", 900), _item("nvidia_cublas", "13", 500), _item("triton", "3", 100),
             _item("tensorflow-cpu", "2.21.0", 250), _item("numpy", "2", 20), dict(_item("saliency_widgets", "0.1", 0),
                                                                                   url=None)]
    s = bench.summary(items)
    assert s["bytes"] == 1770 and s["packages"] == 6
    assert s["cuda_bytes"] == 600 and s["cuda_packages"] == ["nvidia-cublas", "triton"]
    assert s["frameworks"] == {"torch": "2.15.0", "tensorflow-cpu": "2.21.0"}
    assert s["largest"][0] == ["torch", 900]


def test_spec_of_reads_the_lab_and_binder_lines_of_a_checkout():
    bench = _bench()
    lab = bench.spec_of("lab", ROOT)
    assert lab.startswith(".[") and bench.spec_of("binder", ROOT) == lab  # as tests/test_binder.py keeps them


def test_render_states_each_line_and_the_environment():
    bench = _bench()
    state = {"git": "abc1234", "downloads": {"lab": dict(bench.summary([_item("tensorflow-cpu", "2.21.0", 25 * 10 ** 7)]),
                                                          spec=".[tf]")},
             "setup": {"venv_bytes": 2 * 2 ** 30, "wall_s": 300.0, "packages": 140, "cuda_packages": [],
                       "frameworks": {"tensorflow-cpu": "2.21.0"}}}
    stored = bench.derive({"meta": {"date": "2026-12-06", "machine": "2 cores", "python": "3.11", "pip": "26.3"},
                           "states": {"new": state}})
    assert state["downloads"]["lab"]["gb"] == 0.25 and state["setup"]["venv_gib"] == 2.0
    text = bench.render(stored)
    assert text.startswith(bench.SECTION)
    assert "| new (git abc1234) | .ci/lab's install line (the main job): `pip install \".[tf]\"` | 0.25 GB | 1 | none " \
           "| tensorflow-cpu 2.21.0 |" in text
    assert "| new (git abc1234) | 2.00 GiB | 140 | 0 | tensorflow-cpu 2.21.0 |" in text


def test_results_md_section_is_what_the_stored_json_renders():
    """A hand edit of the section, or a new benchmarks/install.json not rendered, fails here."""
    bench = _bench()
    result = json.loads((ROOT / "benchmarks" / "install.json").read_text(encoding="utf-8"))
    text = (ROOT / "benchmarks" / "RESULTS.md").read_text(encoding="utf-8")
    start = text.index(bench.SECTION)
    end = text.find("\n## ", start + len(bench.SECTION))
    assert text[start:end if end >= 0 else None].rstrip() == bench.render(result).rstrip(), \
        "regenerate: python benchmarks/bench_install.py --render"
    assert result["states"], "install.json holds no measurement"
