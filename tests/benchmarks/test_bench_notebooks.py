"""The notebook sizing table (bench_notebooks.py): rendered from its stored JSON wherever the docs quote it."""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _bench():
    pytest.importorskip("psutil")
    sys.path.insert(0, str(ROOT / "benchmarks"))   # bench_notebooks imports _common beside it
    spec = importlib.util.spec_from_file_location("bench_notebooks", ROOT / "benchmarks" / "bench_notebooks.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _row(name, wall, cpu, mb, load=1.0):
    return {"notebook": name, "wall_s": wall, "cpu_s": cpu, "cores_busy": cpu / wall, "peak_mb": mb,
            "peak_gb": mb / 1024, "load": load}


def test_markdown_states_each_row_the_largest_and_the_total():
    bench = _bench()
    rows = [_row("a.ipynb", 60.0, 30.0, 512.0), _row("b.ipynb", 20.0, 18.0, 2048.0, load=3.5)]
    text = bench.markdown(rows, "2 cores", "2026-12-05")
    assert "| a.ipynb | 60 s | 30 s | 0.5 | 0.50 GB | 1.0 |" in text
    assert "| b.ipynb | 20 s | 18 s | 0.9 | 2.00 GB | 3.5 |" in text
    assert "Largest: b.ipynb at 2.00 GB; total CPU time of the 2 notebooks: 0.8 min per student." in text
    assert "(2026-12-05)" in text
    assert "every kernel under 1.2 GB at its peak ✘; every notebook within 60 s ✔." in text
    slow = bench.markdown([_row("a.ipynb", 75.0, 30.0, 512.0)], "2 cores")
    assert "at its peak ✔; every notebook within 60 s ✘ (a.ipynb 75 s)." in slow


def test_paste_replaces_only_the_marked_block_and_refuses_a_file_without_it(tmp_path):
    bench = _bench()
    path = tmp_path / "doc.md"
    path.write_text(f"before\n{bench.TABLE_START}\nold table\n{bench.TABLE_END}\nafter\n", encoding="utf-8")
    bench.paste(path, "new table\n")
    assert path.read_text() == f"before\n{bench.TABLE_START}\nnew table\n{bench.TABLE_END}\nafter\n"
    assert bench.quoted(path) == "new table\n"
    (tmp_path / "bare.md").write_text("no markers\n")
    with pytest.raises(SystemExit, match="no .* block"):
        bench.paste(tmp_path / "bare.md", "x")


@pytest.mark.parametrize("doc", ["notebooks/README.md"])
def test_the_docs_quote_what_the_stored_json_renders(doc):
    """A hand edit of a quoted table, or a new benchmarks/notebooks.json not pasted, fails here (RESULTS.md's
    copy is a generated block of tools/claims.py, checked by tests/tools/test_claims.py)."""
    bench = _bench()
    data = json.loads((ROOT / "benchmarks" / "notebooks.json").read_text(encoding="utf-8"))
    assert {r["notebook"] for r in data["rows"]} == {p.name for p in (ROOT / "notebooks").glob("[0-9]*.ipynb")}, \
        "the stored run does not cover every notebook: rerun bench_notebooks.py --json ... --paste"
    assert bench.quoted(ROOT / doc) == bench.from_json(data), \
        "regenerate: python benchmarks/bench_notebooks.py --json benchmarks/notebooks.json --paste"


def test_markdown_names_the_kernels_environment_when_given():
    bench = _bench()
    rows = [_row("a.ipynb", 60.0, 30.0, 512.0)]
    assert "The kernels ran in the lab's venv." in bench.markdown(rows, "2 cores", "2026-12-05", "the lab's venv")
    assert "kernels ran" not in bench.markdown(rows, "2 cores", "2026-12-05")


def test_every_stored_kernel_peaks_under_its_share_of_binder():
    """The stored measurement meets the memory target (re-measured after a notebook changes)."""
    bench = _bench()
    data = json.loads((ROOT / "benchmarks" / "notebooks.json").read_text(encoding="utf-8"))
    over = {r["notebook"]: round(r["peak_mb"] / 1024, 2) for r in data["rows"] if r["peak_mb"] / 1024 >= bench.PEAK_TARGET_GB}
    assert not over, f"kernel peaks at or above {bench.PEAK_TARGET_GB} GB: {over}"
