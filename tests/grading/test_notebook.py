"""Which records the grader grades: the submitter's (or their pair's), under this course's secret, from the
graded cell; everything else scores 0 with the reason, and a course the grader cannot grade stops it."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

from saliency_widgets import coursework as cw
from saliency_widgets.grading import Course, GradingError, grade_cell, grade_notebook, read_pairs
from saliency_widgets.grading.__main__ import main as grading_main
from saliency_widgets.grading.key import KEY

ROOT = Path(__file__).resolve().parents[2]
SECRET = "notebook-tests-secret"
ME = "ada"


@pytest.fixture(autouse=True)
def course_secret(monkeypatch):
    monkeypatch.delenv(cw.SECRET_FILE_ENV, raising=False)
    monkeypatch.setenv(cw.SECRET_ENV, SECRET)


def right_rule(student=ME):
    c = cw.case("mask_update", student)
    return dict(on_stays=c["p"], off_turns_on=1 - c["p"], max_change=c["learning_rate"])


def outputs_of(*recorded):
    return [{"output_type": "execute_result", "data": r._repr_mimebundle_()} for r in recorded]


def grade(outputs, submitter=ME, course=None):
    return grade_cell("ex02-rule-check", outputs, points=2, submitter=submitter, course=course or Course(SECRET))


def test_the_submitters_record_is_graded_and_anyone_elses_scores_zero_with_the_reason():
    outputs = outputs_of(cw.record("ex02-rule", student=ME, **right_rule()))
    assert grade(outputs).earned == 2
    assert grade(outputs, submitter=" ADA ").earned == 2                       # ids compare case-blind
    other = grade(outputs, submitter="bob")                                     # another student's notebook
    assert other.earned == 0 and "not by the submitter 'bob'" in other.feedback()
    bob = outputs_of(cw.record("ex02-rule", student="bob", **right_rule("bob")))
    assert grade(bob, submitter="bob").earned == 2


def test_pairs_declared_in_the_course_may_answer_for_each_other():
    course = Course(SECRET, pairs=[("Ada", "Alan")])
    outputs = outputs_of(cw.record("ex02-rule", student=ME, **right_rule()))
    assert grade(outputs, submitter="alan", course=course).earned == 2
    assert grade(outputs, submitter="bob", course=course).earned == 0
    with pytest.raises(GradingError, match="two pairs"):
        Course(SECRET, pairs=[("ada", "alan"), ("alan", "bob")])


def test_practice_mode_and_another_courses_secret_score_zero(monkeypatch):
    monkeypatch.delenv(cw.SECRET_ENV)
    practice = outputs_of(cw.record("ex02-rule", student=ME, **right_rule()))
    r = grade(practice)
    assert r.earned == 0 and "practice mode" in r.feedback()
    monkeypatch.setenv(cw.SECRET_ENV, "another-course")
    other = outputs_of(cw.record("ex02-rule", student=ME, **right_rule()))
    r = grade(other)
    assert r.earned == 0 and "another course secret" in r.feedback()


def test_no_record_scores_zero_and_says_how_to_hand_in():
    r = grade([{"output_type": "stream", "name": "stdout", "text": "✔ right!\n"}])
    assert r.earned == 0 and "no recorded answer" in r.feedback()
    r = grade(outputs_of(cw.record("ex02-rule", student=cw.PLACEHOLDER_ID, **right_rule())))
    assert r.earned == 0


def test_the_last_record_of_the_exercise_counts():
    wrong = cw.record("ex02-rule", student=ME, on_stays=0.5, off_turns_on=0.5, max_change=0.5)
    right = cw.record("ex02-rule", student=ME, **right_rule())
    assert grade(outputs_of(wrong, right)).earned == 2
    assert grade(outputs_of(right, wrong)).earned == 0
    other_exercise = cw.record("ex07-predict", student=ME, answer="a")
    assert grade(outputs_of(right, other_exercise)).earned == 2


def test_a_forged_record_is_graded_like_any_other_and_a_malformed_one_scores_zero():
    rec = cw.make_record("ex02-rule", ME, right_rule())
    forged = [{"output_type": "display_data", "data": {cw.RECORD_MIME: json.dumps(rec)}}]   # typed in by hand
    assert grade(forged).earned == 2                 # right answers are right, whoever typed them in
    rec["answers"] = {"on_stays": "all of them", "off_turns_on": [1], "max_change": {}}
    r = grade([{"output_type": "display_data", "data": {cw.RECORD_MIME: rec}}])
    assert r.earned == 0 and "malformed" in r.feedback()
    rec = cw.make_record("ex07-predict", ME, {"answer": "a"})
    rec["answers"]["answer"] = "z"
    r = grade_cell("ex07-predict-check", [{"output_type": "display_data", "data": {cw.RECORD_MIME: rec}}],
                   points=1, submitter=ME, course=Course(SECRET))
    assert r.earned == 0 and "malformed" in r.feedback()


def test_the_grader_refuses_without_a_secret_an_unknown_cell_and_points_that_disagree():
    with pytest.raises(GradingError, match="no course secret"):
        Course("")
    outputs = outputs_of(cw.record("ex02-rule", student=ME, **right_rule()))
    with pytest.raises(GradingError, match="grades no exercise"):
        grade_cell("ex99-check", outputs, points=1, submitter=ME, course=Course(SECRET))
    with pytest.raises(GradingError, match="make them agree"):
        grade_cell("ex02-rule-check", outputs, points=5, submitter=ME, course=Course(SECRET))


def test_read_pairs(tmp_path):
    path = tmp_path / "pairs.csv"
    path.write_text("# pairs for the lab\nada, alan\n\nbob,carol,dave\n")
    assert read_pairs(path) == [("ada", "alan"), ("bob", "carol", "dave")]
    path.write_text("ada\n")
    with pytest.raises(GradingError, match="two ids"):
        read_pairs(path)


# ---- the notebooks' graded cells are the grader's --------------------------------------------------

NOTEBOOKS = sorted((ROOT / "notebooks").glob("0[1-7]_*.ipynb"))


def _ng(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_autograded_cell_records_an_exercise_the_grader_knows_with_the_same_points(path):
    import ast

    from saliency_widgets.grading.exercises import GRADERS
    from saliency_widgets.grading.exercises import Who

    nb = nbformat.read(path, as_version=4)
    graded = [c for c in nb.cells if c.cell_type == "code" and _ng(c).get("grade")]
    assert graded, f"{path.name}: no autograded cell"
    assert any(_ng(c).get("grade_id", "").endswith("-student") for c in nb.cells), f"{path.name}: no STUDENT cell"
    for cell in graded:
        exercise = _ng(cell)["grade_id"].removesuffix("-check")
        call = next(n for n in ast.walk(ast.parse(cell.source)) if isinstance(n, ast.Call)
                    and getattr(n.func, "attr", "") == "record")
        assert call.args[0].value == exercise and "check_" not in cell.source
        assert sorted(k.arg for k in call.keywords) == sorted(["student", *cw.EXERCISES[exercise]])
        parts = GRADERS[exercise]({}, Who("someone", SECRET))
        assert sum(p.points for p in parts) == _ng(cell)["points"], exercise


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_record_is_the_cells_shown_value_and_the_published_run_holds_it(path):
    """A record reaches the grader only as the cell's displayed value: inside an ``if`` (or anywhere but the
    last top-level statement) IPython shows nothing and the hand-in scores zero."""
    import ast

    from saliency_widgets.coursework import records_in

    for cell in nbformat.read(path, as_version=4).cells:
        if not (cell.cell_type == "code" and _ng(cell).get("grade")):
            continue
        last = ast.parse(cell.source).body[-1]
        assert isinstance(last, ast.Expr) and isinstance(last.value, ast.Call) \
            and getattr(last.value.func, "attr", "") == "record", \
            f"{path.name} {_ng(cell)['grade_id']}: coursework.record(...) must be the cell's last statement"
        exercise = _ng(cell)["grade_id"].removesuffix("-check")
        assert [r["exercise"] for r in records_in(cell.get("outputs", []))] == [exercise], \
            f"{path.name} {_ng(cell)['grade_id']}: the published instructor run recorded no answer here"


def test_no_grader_part_prints_a_right_value_it_knows(monkeypatch):
    """Feedback on constants names no right value: hints only (checked on the quick exercises)."""
    for exercise, answers in {"ex02-rule": dict(on_stays=0.123, off_turns_on=0.456, max_change=0.789),
                              "ex03-cells": dict(cell_px=1.5, share_of_side=0.3, answer="a")}.items():
        r = grade_cell(f"{exercise}-check", outputs_of(cw.record(exercise, student=ME, **answers)),
                       points=2, submitter=ME, course=Course(SECRET))
        c = {**cw.case("mask_update", ME), **cw.case("gradcam_cells", ME)}
        for v in (c["p"], 1 - c["p"], c["learning_rate"], c["image_size"] / c["feature_size"]):
            assert f"{v:g}" not in r.feedback().replace("0.123", "").replace("0.456", "").replace("0.789", "")


# ---- the command line -------------------------------------------------------------------------------

def test_new_secret_is_private_and_refuses_a_checkout_and_an_existing_file(tmp_path, capsys):
    target = tmp_path / "cfg" / "secret"
    assert grading_main(["new-secret", str(target)]) == 0
    assert len(target.read_text().strip()) >= 40 and (target.stat().st_mode & 0o777) == 0o600
    assert grading_main(["new-secret", str(target)]) == 2
    assert "exists" in capsys.readouterr().err
    assert grading_main(["new-secret", str(ROOT / "secret")]) == 2
    assert "git checkout" in capsys.readouterr().err and not (ROOT / "secret").exists()


def test_grade_command_grades_a_notebook_for_its_submitter(tmp_path, capsys):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "coursework.record(...)", metadata={"nbgrader": {"grade": True, "grade_id": "ex02-rule-check", "points": 2,
                                                         "locked": True, "solution": False}})])
    nb.cells[0].outputs = [nbformat.from_dict(o) for o in
                           outputs_of(cw.record("ex02-rule", student=ME, **right_rule()))]
    for o in nb.cells[0].outputs:
        o["metadata"], o["execution_count"] = {}, 1
    path = tmp_path / "02.ipynb"
    nbformat.write(nb, path)
    assert grading_main(["grade", "--submitter", ME, str(path), "--json", str(tmp_path / "g.json")]) == 0
    assert "ada: 2 / 2 autograded points" in capsys.readouterr().out
    assert json.loads((tmp_path / "g.json").read_text())[str(path)]["ex02-rule-check"]["earned"] == 2
    assert grading_main(["grade", "--submitter", "bob", str(path)]) == 0
    assert "bob: 0 / 2" in capsys.readouterr().out
    proc = subprocess.run([sys.executable, "-m", "saliency_widgets.grading", "grade", "--submitter", ME, str(path)],
                          capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 2 and "no course secret" in proc.stderr
