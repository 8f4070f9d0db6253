"""What the students get carries nothing of a solution, and a record alone is worth nothing to nbgrader."""
from __future__ import annotations

import ast
import importlib.util
import io
import tokenize
from pathlib import Path

import nbformat
import pytest

from saliency_widgets import coursework as cw

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("0[1-7]_*.ipynb"))


def _strip_module():
    path = ROOT / "notebooks" / "solutions" / "make_student_versions.py"
    spec = importlib.util.spec_from_file_location("make_student_versions", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _bound(code: str) -> set:
    """Every name ``code`` binds (assignments, loops, defs, imports, comprehension targets)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.arg):
            names.add(node.arg)
    return names


def _identifiers(code: str) -> set:
    """The variable names ``code`` reads or binds (not attributes or keywords: `coursework.case` is no `case`)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:   # IPython magics: read them as text
        return {t.string for t in tokenize.generate_tokens(io.StringIO(code).readline) if t.type == tokenize.NAME}
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | _bound(code)


def _ng(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_student_versions_name_nothing_only_a_solution_binds(path):
    """A name bound only inside solution blocks (a solution's helper: `centre_maps`, `my_scenes`, ...) does not
    appear in the student version: the released cells are no skeleton of the solution."""
    mod = _strip_module()
    nb = nbformat.read(path, as_version=4)
    inside, outside = set(), set()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        src = cell.source
        blocks = mod._BLOCK.findall(src) if mod.BEGIN in src else []
        for block in blocks:
            inside |= _bound("\n".join(block.splitlines()[1:-1]))
        outside |= _bound(mod._BLOCK.sub("", src))
    only_solution = inside - outside
    student = mod.strip_notebook(nb)
    shown = set().union(*(_identifiers(c.source) for c in student.cells if c.cell_type == "code"))
    assert not only_solution & shown, f"{path.name}: the student version names {sorted(only_solution & shown)}"
    text = nbformat.writes(student)
    assert "BEGIN SOLUTION" not in text and "widgets" not in student.metadata
    assert all(c.outputs == [] for c in student.cells if c.cell_type == "code")
    for cell in student.cells:
        if mod.is_solution(cell):
            assert ("YOUR CODE HERE" in cell.source or "YOUR ANSWER HERE" in cell.source)
            assert "raise NotImplementedError" not in cell.source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_recorded_answer_starts_at_none_before_the_solution(path):
    """Each name a recording cell records is set to None in the answer cells, outside the solution block, so an
    unanswered student version records 'not answered yet' instead of failing."""
    mod = _strip_module()
    nb = mod.strip_notebook(nbformat.read(path, as_version=4))
    before = set()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if "coursework.record(" in cell.source:
            call = next(n for n in ast.walk(ast.parse(cell.source)) if isinstance(n, ast.Call)
                        and getattr(n.func, "attr", "") == "record")
            names = {k.value.id for k in call.keywords if isinstance(k.value, ast.Name) and k.arg != "student"}
            assert names <= before, f"{path.name}: {sorted(names - before)} not set before {_ng(cell)['grade_id']}"
        before |= _bound(cell.source)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_the_student_versions_start_from_the_placeholder_id_not_the_instructors(path):
    instructor = nbformat.read(path, as_version=4)
    ids = [c for c in instructor.cells if _ng(c).get("grade_id", "").endswith("-student")]
    assert len(ids) == 1 and _ng(ids[0])["solution"], f"{path.name}: no STUDENT cell as an nbgrader answer cell"
    code = "\n".join(c.source for c in _strip_module().strip_notebook(instructor).cells if c.cell_type == "code")
    assert '"instructor"' not in code and f'STUDENT = "{cw.PLACEHOLDER_ID}"' in code


def test_a_solution_cell_without_markers_is_refused():
    mod = _strip_module()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "x = 1", metadata={"nbgrader": {"solution": True, "grade_id": "q1"}})])
    with pytest.raises(ValueError, match="markers"):
        mod.strip_notebook(nb)


def test_a_record_cell_alone_scores_zero_under_nbgraders_own_rule(monkeypatch):
    """Should the course's grader be left out of nbgrader's configuration, nbgrader's own rule (a cell whose
    result is a number scores that number) gives a recording cell 0, answered or not: nothing is given away."""
    utils = pytest.importorskip("nbgrader.utils")
    monkeypatch.setenv(cw.SECRET_ENV, "s")
    for rec in (cw.record("ex07-predict", student="ada", answer="a"),
                cw.record("ex07-predict", student="ada", answer=None)):
        cell = nbformat.v4.new_code_cell("coursework.record(...)", metadata={"nbgrader": {
            "grade": True, "grade_id": "ex07-predict-check", "points": 1, "solution": False}})
        cell.outputs = [nbformat.v4.new_output("execute_result", data=rec._repr_mimebundle_(), execution_count=1)]
        assert utils.determine_grade(cell) == (0.0, 1.0)
