"""bench_tests: pytest's summary and --durations read back; the section and README's sentence from the JSON."""
import importlib.util
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _bench():
    spec = importlib.util.spec_from_file_location("bench_tests", os.path.join(ROOT, "benchmarks", "bench_tests.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


OUT = """........ [100%]
============================= slowest 10 durations =============================
41.20s call     tests/test_a.py::test_slow_one
3.05s setup    tests/b/test_b.py::test_x[1]
0.50s call     tests/test_c.py::test_y
==== 1500 passed, 2 skipped, 120 deselected, 3 warnings in 201.30s (0:03:21) ====
"""


def test_summary_and_durations_are_read_from_pytests_output():
    b = _bench()
    assert b.summary_counts(OUT) == {"passed": 1500, "skipped": 2, "deselected": 120}
    assert b.slowest(OUT, 2) == [{"seconds": 41.2, "phase": "call", "test": "tests/test_a.py::test_slow_one"},
                                 {"seconds": 3.05, "phase": "setup", "test": "tests/b/test_b.py::test_x[1]"}]


def test_render_marks_the_targets_from_the_figures():
    b = _bench()
    meta = {"command": "python benchmarks/bench_tests.py", "date": "d", "git": "g", "machine": "2 cores, X",
            "load": 1.0}
    quick = {"returncode": 0, "wall_s": 200.0, "cpu_s": 240.0, "counts": {"passed": 10, "deselected": 3},
             "slowest": b.slowest(OUT, 1)}
    text = b.render({"meta": meta, "quick": quick})
    assert "**4.0 min of CPU** (target under 5 ✔)" in text and "not measured" in text
    slow = dict(quick, cpu_s=360.0)
    ci = {"returncode": 1, "wall_s": 50 * 60.0, "commit": "abc", "counts": {"passed": 9, "failed": 1},
          "slowest": []}
    text = b.render({"meta": meta, "quick": slow, "ci": ci})
    assert "(target under 5 ✘)" in text and "exit status 1" in text and "**50.0 min** (limit 45 ✘)" in text
    assert b.readme({"meta": meta, "quick": quick}).startswith("The quick tier ran 10 tests in 4.0 min of CPU on 2 cores")


@pytest.mark.slow  # not in the quick tier it measures (that run would check the run before it)
def test_the_stored_run_met_the_quick_tier_target():
    import json
    with open(os.path.join(ROOT, "benchmarks", "tests.json"), encoding="utf-8") as f:
        data = json.load(f)
    assert data["quick"]["returncode"] == 0 and data["quick"]["counts"].get("failed", 0) == 0
    assert data["quick"]["cpu_s"] / 60 < _bench().QUICK_CPU_MIN
