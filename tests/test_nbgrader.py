"""nbgrader on the tutorial notebooks: generate_assignment, then autograde the solutions (full marks on every
autograded cell) and the unanswered student versions (zero, no crash); the student versions run top to bottom.

Slow: nbgrader's autograder executes each notebook, twice here (solutions, empty answers). To stay within
a few minutes on two cores the autograde runs on notebooks 02 and 03 only (the two shortest with
exercises of every kind: a rule, a multiple choice, a recomputation on the student's scenes); the
top-to-bottom run of the student versions covers every notebook.
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

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("0[1-7]_*.ipynb"))
AUTOGRADED = ["02_prototype_step_by_step.ipynb", "03_pointing_game.ipynb"]
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


@pytest.mark.parametrize("name", [p.name for p in NOTEBOOKS])
def test_every_student_version_runs_top_to_bottom_unanswered(student_versions, name, monkeypatch):
    from nbclient import NotebookClient

    for k, v in _env().items():
        monkeypatch.setenv(k, v)
    nb = nbformat.read(student_versions / name, as_version=4)
    NotebookClient(nb, timeout=900, kernel_name="python3", allow_errors=False,
                   resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()
    checks = [c for c in nb.cells if c.cell_type == "code" and "coursework.check" in c.source]
    assert checks
    for cell in checks:   # every self-check says so instead of raising
        err = "".join(o.get("text", "") for o in cell.outputs if o.get("name") == "stderr")
        assert "not answered yet" in err or "PyTorch is not installed" in "".join(
            o.get("text", "") for o in cell.outputs), cell.source
