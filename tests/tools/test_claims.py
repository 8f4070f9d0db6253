"""Every figure the prose states has a source: README.md, benchmarks/RESULTS.md, every notebook's markdown.

A figure is a number with a decimal point, a % sign or a ratio sign (tools.claims.FIGURE), outside
code spans, fenced code and generated blocks; integers (counts, sizes, years, issue numbers) and the few
settings in claims.SETTINGS are not claims.  Each figure must match, within its printed precision, a
demo-scene claim computed from the shipped results.json, or a recorded measurement of that file (with its
command, the commit that wrote it and that commit's date).
"""
import glob
import json
import os

import pytest

from tools import claims as C
from saliency_widgets.reproduce import shipped_results
from saliency_widgets.verdict import demo_figures

ROOT = C.ROOT
# README, RESULTS.md, the notebooks, and the documentation's own pages (what tools/docs_pages.py generates is
# rendered from the stored JSON when the site is built, and holds no typed figure)
DOCS = sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "docs", "**", "*.md"), recursive=True)
              if not {"_build", "_generated", "api"} & set(os.path.relpath(p, os.path.join(ROOT, "docs")).split(os.sep))
              and os.path.relpath(p, os.path.join(ROOT, "docs")) != os.path.join("tutorials", "runbook.md"))
FILES = (list(C.PROSE) + sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "notebooks", "*.ipynb")))
         + DOCS)


@pytest.fixture(scope="module")
def claims():
    with open(C.claims_path(), encoding="utf-8") as f:
        return json.load(f)


@pytest.mark.parametrize("rel", FILES)
def test_every_figure_in_the_prose_has_a_source(rel, claims):
    missing = C.unsourced(rel, C.prose_of(os.path.join(ROOT, rel)), claims)
    assert not missing, (f"{rel}: figures with no claim in {C.claims_path()} (measure them with a script and "
                         f"record them, render them from results.json, or cut them): {missing}")


@pytest.mark.parametrize("rel", C.PROSE)
def test_generated_blocks_are_what_the_code_renders_from_the_shipped_results(rel):
    text = open(os.path.join(ROOT, rel), encoding="utf-8").read()
    if rel == "benchmarks/RESULTS.md":  # README states no demo figure (the documentation renders them)
        assert "<!-- generated: " in text
    assert C.refresh_blocks(text) == text, f"run `python -m tools.claims`: {rel} is stale"


def test_demo_claims_recompute_from_the_shipped_results(claims):
    shipped = shipped_results()
    demo = claims["demo"]
    assert demo["command"] == "python -m saliency_widgets reproduce" and demo["date"] == shipped["date"]
    assert demo["date"] and demo["source"].endswith("results.json")
    again = json.loads(json.dumps(demo_figures(shipped)))
    assert set(again) == set(demo["claims"])
    for name, value in again.items():
        assert demo["claims"][name] == pytest.approx(value, abs=1e-9), name


def test_recorded_measurements_name_their_command_code_and_date(claims):
    assert claims["recorded"]
    for r in claims["recorded"]:
        assert r["file"] in FILES and r["command"] and r["kind"] in {"measurement", "setting", "fact", "example"}, r
        if r["kind"] == "measurement":
            assert r["code"] and r["date"], r


def test_recorded_figures_are_in_their_file_and_match_their_source_file(claims):
    problems = C.recorded_problems(ROOT, claims)
    assert not problems, "claims.json's recorded measurements:\n" + "\n".join(problems)


def test_recorded_problems_catches_a_stale_entry_a_wrong_value_and_a_missing_source(tmp_path):
    """The recorded check can fail: a figure not in its file, a figure not in its source JSON, a command that
    names a JSON the entry does not check against, a measurement with no commit."""
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "benchmarks" / "run.json").write_text('{"rows": [{"eff": 0.912}, {"share": 0.25}]}')
    (tmp_path / "README.md").write_text("efficiency 0.91, share 25.0%, typed 0.93, moved 0.5.\n")
    entry = {"file": "README.md", "kind": "measurement", "code": "abcdef123456", "date": "2026-12-04",
             "command": "python benchmarks/bench.py (rows: benchmarks/run.json)", "source": "benchmarks/run.json"}
    rec = [dict(entry, figure="0.91", line=1), dict(entry, figure="25.0%", line=1),
           dict(entry, figure="0.93", line=1), dict(entry, figure="0.77", line=1),
           dict(entry, figure="0.91", line=1, source=None), dict(entry, figure="0.91", line=1, code="000000000000")]
    problems = C.recorded_problems(str(tmp_path), {"recorded": rec})
    assert len(problems) == 5, problems
    assert "0.93: not a number of benchmarks/run.json" in problems[0]
    assert "0.77: no longer in the file" in problems[1] and "0.77: not a number" in problems[2]
    assert "its source is None" in problems[3] and "is not a commit" in problems[4]


def test_a_typed_figure_with_no_source_is_caught(claims):
    """The checker can fail: a plausible accuracy typed into README is reported; the same in code is not."""
    text = "RISE reaches 91.7% on the scenes, 0.962 insertion.\n\n`0.5` and 2 cores, 224 x 224, 15 px, 95%."
    assert C.unsourced("README.md", text, claims) == ["91.7%", "0.962"]
    paper = claims["demo"]["claims"]["single/mask-update (paper)/pointing"]
    assert C.unsourced("README.md", f"the paper's method: {paper:.1f}%", claims) == []
    assert C.unsourced("README.md", f"the paper's method: {paper + 0.2:.1f}%", claims) == [f"{paper + 0.2:.1f}%"]


def test_figures_tells_claims_from_settings_and_code():
    found = [p for p, *_ in C.figures("93.0% [89.4, 96.1], 5.2x, 59x, v0.1.0, 2,751 s, 2026, issue 20, `0.979`, "
                                      "9.0e-5\n```\nx = 0.25\n```\n<!-- generated: x -->\n1.5%\n<!-- end generated -->")]
    assert found == ["93.0%", "89.4", "96.1", "5.2x", "59x", "9.0e-5"]
    assert C.tolerance("93.0%") == pytest.approx(0.05) and C.tolerance("0.979") == pytest.approx(5e-4)
    assert C.tolerance("9.0e-5") == pytest.approx(5e-7)
