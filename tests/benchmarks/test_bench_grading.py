"""The autograding time the runbook quotes (bench_grading.py): rendered from its stored JSON."""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _bench():
    pytest.importorskip("nbclient")
    sys.path.insert(0, str(ROOT / "benchmarks"))   # bench_grading imports _common beside it
    spec = importlib.util.spec_from_file_location("bench_grading", ROOT / "benchmarks" / "bench_grading.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


SAMPLE = {"machine": "2 cores, X", "date": "2026-12-06", "load": 1.0, "per_student_s": 9.6, "per_student_cpu_s": 8.2,
          "startup_s": 21.0, "one_student_s": 30.6, "two_students_s": 40.2, "rerun_one_student_s": 240.0,
          "rerun_one_student_cpu_s": 260.0}


def test_render_states_the_time_per_student_and_for_sixty():
    bench = _bench()
    text = bench.render(SAMPLE)
    assert "adds **10 s**" in text and "(8 s of CPU)" in text and "after 21 s of start-up" in text
    assert bench.sixty_minutes(SAMPLE) == pytest.approx((21.0 + 60 * 9.6) / 60)
    assert "**60 students take about 10 minutes**" in text
    assert "took 240 s for one student" in text and "about 4.0 hours for 60" in text


def test_paste_replaces_only_the_marked_block_and_refuses_a_file_without_it(tmp_path):
    bench = _bench()
    path = tmp_path / "doc.md"
    path.write_text(f"before\n{bench.START}\nold\n{bench.END}\nafter\n", encoding="utf-8")
    bench.paste(path, "new\n")
    assert path.read_text() == f"before\n{bench.START}\nnew\n{bench.END}\nafter\n" and bench.quoted(path) == "new\n"
    (tmp_path / "bare.md").write_text("no markers\n")
    with pytest.raises(SystemExit, match="no .* block"):
        bench.paste(tmp_path / "bare.md", "x")


def test_the_runbook_quotes_what_the_stored_json_renders():
    """A hand edit of the quoted paragraph, or a new benchmarks/grading.json not pasted, fails here."""
    bench = _bench()
    data = json.loads((ROOT / "benchmarks" / "grading.json").read_text(encoding="utf-8"))
    assert bench.quoted(ROOT / "notebooks" / "README.md") == bench.render(data), \
        "regenerate: python benchmarks/bench_grading.py --json benchmarks/grading.json --paste"
