"""nbgrader on the tutorial notebooks: generate_assignment, then autograde the solutions (full marks on every
autograded cell) and the unanswered student versions (zero, no crash, every cell run top to bottom), for all
seven notebooks; the student versions written without nbgrader (``make_student_versions.py --out``) are the
released ones.

Slow: nbgrader's autograder executes each notebook twice here (solutions, empty answers), about 10 minutes on
two cores; the unanswered run doubles as the top-to-bottom run of the student versions.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbgrader", reason="nbgrader is in the test extra")

pytestmark = [pytest.mark.env, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("0[1-7]_*.ipynb"))
AUTOGRADED = [p.name for p in NOTEBOOKS]
SCRIPT = ROOT / "notebooks" / "solutions" / "make_student_versions.py"


def _env():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", TF_ENABLE_ONEDNN_OPTS="0")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    # nbgrader runs `alembic` (the gradebook's migrations) from PATH: the test's environment first
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def _nbgrader(course, *args):
    exe = Path(sys.executable).with_name("nbgrader")
    out = subprocess.run([str(exe), *args], cwd=course, env=_env(), capture_output=True, text=True)
    assert out.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}"
    return out


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = tmp_path_factory.mktemp("course")
    saved = tmp_path_factory.mktemp("saved")
    for n in AUTOGRADED:   # as an executed notebook with a widget is saved (notebook 01's state is ~0.5 MB)
        nb = nbformat.read(ROOT / "notebooks" / n, as_version=4)
        nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {"m": {}}}}
        nbformat.write(nb, saved / n)
    subprocess.run([sys.executable, str(SCRIPT), "--course", str(course), "--assignment", "lab",
                    *[str(saved / n) for n in AUTOGRADED]], check=True, env=_env())
    _nbgrader(course, "generate_assignment", "lab", "--force")
    for student, folder in (("instructor", course / "source" / "lab"), ("empty", course / "release" / "lab")):
        _nbgrader(course, "db", "student", "add", student)
        shutil.copytree(folder, course / "submitted" / student / "lab")
        _nbgrader(course, "autograde", "lab", "--student", student, "--force")
    return course


def _autograded_scores(course, student):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        sub = gb.find_submission("lab", student)
        return {(nb.name, g.name): (g.score, g.max_score) for nb in sub.notebooks for g in nb.grades
                if g.auto_score is not None or g.cell_type == "code"}


def test_released_versions_carry_no_solution_and_no_widget_state(course):
    for name in AUTOGRADED:
        nb = nbformat.read(course / "release" / "lab" / name, as_version=4)
        assert "widgets" not in nb.metadata
        assert "BEGIN SOLUTION" not in nbformat.writes(nb)
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")


def test_the_solutions_get_full_marks_on_every_autograded_cell(course):
    scores = _autograded_scores(course, "instructor")
    assert scores and {nb for nb, _ in scores} == {n[:-6] for n in AUTOGRADED}
    for key, (score, max_score) in scores.items():
        assert max_score > 0 and score == max_score, (key, score, max_score)


def test_unanswered_student_versions_get_zero_without_crashing(course):
    scores = _autograded_scores(course, "empty")
    assert scores
    for key, (score, max_score) in scores.items():
        assert max_score > 0 and score == 0, (key, score, max_score)


@pytest.fixture(scope="module")
def student_versions(tmp_path_factory):
    out = tmp_path_factory.mktemp("student")
    subprocess.run([sys.executable, str(SCRIPT), "--out", str(out)], check=True, env=_env())
    return out


@pytest.mark.parametrize("name", AUTOGRADED)
def test_every_student_version_runs_top_to_bottom_unanswered(course, name):
    """The autograder's run of the unanswered release: no cell raised, every self-check said so."""
    nb = nbformat.read(course / "autograded" / "empty" / "lab" / name, as_version=4)
    errors = [c.source[:80] for c in nb.cells if c.cell_type == "code"
              and any(o.get("output_type") == "error" for o in c.get("outputs", []))]
    assert not errors, f"{name}: cells raised in the unanswered student version: {errors}"
    checks = [c for c in nb.cells if c.cell_type == "code" and "coursework.check" in c.source]
    assert checks
    for cell in checks:   # every self-check says so instead of raising
        text = "".join(o.get("text", "") for o in cell.outputs)
        assert "not answered yet" in text or "PyTorch is not installed" in text, cell.source


@pytest.mark.parametrize("name", AUTOGRADED)
def test_student_versions_without_nbgrader_are_the_released_ones(student_versions, course, name):
    """``make_student_versions.py --out`` (no nbgrader) writes the cells nbgrader releases: the same code,
    the same stubs, no outputs."""
    ours = nbformat.read(student_versions / name, as_version=4)
    released = nbformat.read(course / "release" / "lab" / name, as_version=4)
    assert [(c.cell_type, c.source) for c in ours.cells] == [(c.cell_type, c.source) for c in released.cells]
    assert all(not c.get("outputs") for c in ours.cells if c.cell_type == "code")
