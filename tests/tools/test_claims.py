"""Every figure the prose states is rendered from, or checked against, a stored measurement (tools/claims.py).

Generated blocks must be what the code renders from their JSON today; every other figure (a number with a
decimal point, a % or x sign, or a whole number with a unit) must be recorded in tools/claims.json with the
JSON file and key path it comes from, and equal that value at its printed precision.  Each check is shown to
fail on a copy of the prose with one figure changed.
"""
import json
import os
import shutil

import pytest

from tools import claims as C

ROOT = C.ROOT
FILES = C.prose_files()


@pytest.fixture(scope="module")
def claims():
    with open(C.claims_path(), encoding="utf-8") as f:
        return json.load(f)


@pytest.mark.parametrize("rel", FILES)
def test_every_figure_in_the_prose_has_a_source(rel, claims):
    missing = C.unsourced(rel, C.prose_of(os.path.join(ROOT, rel)), claims)
    assert not missing, (f"{rel}: figures with no recorded source in {C.claims_path()} (render them from their JSON "
                         f"in a generated block, record their source file and key path, or cut them): {missing}")


@pytest.mark.parametrize("rel", [f for f in FILES if "<!-- generated: " in C.prose_of(os.path.join(ROOT, f))])
def test_generated_blocks_are_what_the_code_renders_from_the_stored_files(rel):
    path = os.path.join(ROOT, rel)
    text = C.prose_of(path)
    assert C.refresh_blocks(text) == text, f"run `python -m tools.claims`: {rel} is stale"


def test_recorded_figures_are_in_their_file_and_are_their_sources_value(claims):
    problems = C.recorded_problems(ROOT, claims)
    assert not problems, "tools/claims.json's recorded figures:\n" + "\n".join(problems)


def test_every_recorded_figure_names_its_file_figure_source_and_key(claims):
    for r in claims["recorded"]:
        assert {"file", "figure", "source", "key"} <= set(r), r
        assert r["file"] in FILES, r


def _copy(tmp_path, files):
    for rel in files:
        dst = tmp_path / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(os.path.join(ROOT, rel), dst)


def test_a_recorded_figure_changed_in_the_prose_or_in_its_source_fails(tmp_path):
    """Mutation: the check compares the printed figure with the value at its key path, not with any number."""
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "benchmarks" / "run.json").write_text(json.dumps({"rows": [{"eff": 0.912}, {"share": 0.25}],
                                                                   "minutes": 31.4, "cases": 26}))
    (tmp_path / "README.md").write_text("efficiency 0.91, share 25.0%, 31 min, 26 cases.\n")
    entry = {"file": "README.md", "source": "benchmarks/run.json"}
    rec = [dict(entry, figure="0.91", key="rows/0/eff"), dict(entry, figure="25.0%", key="rows/1/share", scale=100),
           dict(entry, figure="31 min", key="minutes"), dict(entry, figure="26 cases", key="cases")]
    assert C.recorded_problems(str(tmp_path), {"recorded": rec}) == []
    assert C.unsourced("README.md", (tmp_path / "README.md").read_text(), {"recorded": rec}) == []
    # the prose changed: one figure off by one unit of its last digit, one whole number changed
    (tmp_path / "README.md").write_text("efficiency 0.92, share 25.0%, 31 min, 27 cases.\n")
    problems = C.recorded_problems(str(tmp_path), {"recorded": rec})
    assert any("0.91: no longer in the file" in p for p in problems)
    assert any("26 cases: no longer in the file" in p for p in problems)
    assert C.unsourced("README.md", (tmp_path / "README.md").read_text(), {"recorded": rec}) == ["0.92", "27 cases"]
    # the source changed: the same printed figure no longer matches the value at its key
    (tmp_path / "README.md").write_text("efficiency 0.91, share 25.0%, 31 min, 26 cases.\n")
    (tmp_path / "benchmarks" / "run.json").write_text(json.dumps({"rows": [{"eff": 0.930}, {"share": 0.25}],
                                                                   "minutes": 31.4, "cases": 26}))
    (problem,) = C.recorded_problems(str(tmp_path), {"recorded": rec})
    assert "README.md: 0.91: benchmarks/run.json rows/0/eff" in problem and "not 0.91" in problem
    # a value that merely appears elsewhere in the file does not support a figure
    bad = [dict(entry, figure="0.91", key="minutes")]
    assert C.recorded_problems(str(tmp_path), {"recorded": bad})
    assert "names no source file and key path" in C.recorded_problems(
        str(tmp_path), {"recorded": [{"file": "README.md", "figure": "0.91"}]})[0]


def test_a_figure_typed_into_a_generated_block_makes_it_stale():
    """Mutation: change one digit of a figure inside a rendered block of RESULTS.md; the block is stale."""
    text = open(os.path.join(ROOT, "benchmarks", "RESULTS.md"), encoding="utf-8").read()
    m = C._GENERATED.search(text)
    assert m, "RESULTS.md has no generated block"
    body = m.group("body")
    digit = next(i for i, ch in enumerate(body) if ch.isdigit())
    mutated = text[:m.start("body") + digit] + str((int(body[digit]) + 1) % 10) + text[m.start("body") + digit + 1:]
    assert C.refresh_blocks(mutated) != mutated
    assert C.refresh_blocks(text) == text


def test_figures_tell_measurements_from_settings_and_code():
    found = [p for p, *_ in C.figures(
        "93.0% [89.4, 96.1], 5.2x, 59x, v0.1.0, 2,751 s, 31 min, 26 cases, 2026, notebook 07, 2 cores, "
        "224 x 224, `0.979`, [a link](https://x/0.75), 9.0e-5\n```\nx = 0.25\n```\n"
        "<!-- generated: x -->\n1.5%\n<!-- end generated -->\n<!-- a comment 0.33 -->")]
    assert found == ["93.0%", "89.4", "96.1", "5.2x", "59x", "2,751 s", "31 min", "26 cases", "9.0e-5"]
    assert C.tolerance("93.0%") == pytest.approx(0.05) and C.tolerance("0.979") == pytest.approx(5e-4)
    assert C.tolerance("9.0e-5") == pytest.approx(5e-7) and C.tolerance("31 min") == pytest.approx(0.5)


def test_value_at_reads_keys_and_list_indices():
    data = {"a": [{"b": 1.5}, {"b": 2.5}], "c": {"d e": 3}}
    assert C.value_at(data, "a/1/b") == 2.5 and C.value_at(data, "c/d e") == 3
    with pytest.raises(KeyError):
        C.value_at(data, "a/0/x")


def test_every_block_the_prose_names_is_registered_and_renders():
    for rel in FILES:
        for m in C._GENERATED.finditer(C.prose_of(os.path.join(ROOT, rel))):
            assert m.group("name") in C.BLOCKS, (rel, m.group("name"))
    assert C.render_block("methods-table").startswith("| key |")
    with pytest.raises(ValueError, match="no generated block"):
        C.render_block("nope")


@pytest.mark.parametrize("script", sorted(C.SCRIPT_SECTIONS))
def test_script_sections_are_the_scripts_own_headings(script):
    """A section left out of the figure check must be one its script writes (and its test checks)."""
    assert C._bench(script).SECTION == C.SCRIPT_SECTIONS[script]
