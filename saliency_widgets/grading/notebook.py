"""Grade a notebook from the answers recorded in it: every autograded cell, for the submitter nbgrader names."""
from __future__ import annotations

from ..coursework import PRACTICE, RECORD_FORMAT, records_in
from .course import Course, GradingError
from .exercises import GRADERS, Who
from .result import CellResult, PartResult, evaluate

CHECK_SUFFIX = "-check"


def exercise_of(grade_id: str) -> str:
    """The exercise an autograded cell grades (its grade id without ``-check``)."""
    exercise = grade_id[:-len(CHECK_SUFFIX)] if grade_id.endswith(CHECK_SUFFIX) else grade_id
    if exercise not in GRADERS:
        raise GradingError(f"autograded cell {grade_id!r} grades no exercise this grader knows "
                           f"({sorted(GRADERS)}): refusing to leave its points to the student's kernel")
    return exercise


def _zero(exercise, points, reason) -> CellResult:
    return CellResult(exercise, points, [PartResult("all parts", points, 0.0, "✘ not graded")], reason)


def _refusal(record, exercise, submitter, course) -> str:
    """Why ``record`` earns nothing whatever it says, or '' when it may be graded."""
    if record is None:
        return ("no recorded answer in this cell: run the exercise's cells (your own STUDENT id set) and save the "
                "notebook before handing it in")
    if record.get("format") != RECORD_FORMAT or record.get("exercise") != exercise:
        return "the record in this cell is not this exercise's"
    if record.get("course") == PRACTICE:
        return "answered in practice mode (no course secret set in the kernel): these are not this course's cases"
    if record.get("course") != course.fingerprint:
        return "answered under another course secret than this course's"
    if not course.may_answer_for(str(record.get("student", "")), submitter):
        return (f"answered for {record.get('student')!r}, not by the submitter {submitter!r} "
                "(or a member of their declared pair)")
    return ""


def grade_cell(grade_id: str, outputs, *, points: float, submitter: str, course: Course, rng=None) -> CellResult:
    """The grade of the autograded cell ``grade_id`` from the last record its ``outputs`` hold."""
    exercise = exercise_of(grade_id)
    found = [r for r in records_in(outputs) if r.get("exercise") == exercise] or records_in(outputs)
    record = found[-1] if found else None
    reason = _refusal(record, exercise, submitter, course)
    if reason:
        return _zero(exercise, points, reason)
    who = Who(str(record["student"]), course.secret, rng)
    answers = record.get("answers") or {}
    result = CellResult(exercise, points, evaluate(GRADERS[exercise](answers, who)))
    if abs(sum(p.points for p in result.parts) - points) > 1e-9:
        raise GradingError(f"{grade_id}: the notebook gives {points:g} points, the grader's parts "
                           f"{sum(p.points for p in result.parts):g}; make them agree")
    return result


def graded_cells(nb):
    """The autograded code cells of ``nb``: (grade id, points, cell)."""
    for cell in nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.get("cell_type") == "code" and meta.get("grade"):
            yield meta["grade_id"], float(meta.get("points", 0)), cell


def grade_notebook(nb, *, submitter: str, course: Course, rng=None) -> dict:
    """{grade id: :class:`CellResult`} for every autograded cell of ``nb`` (a notebook as nbformat reads it)."""
    return {gid: grade_cell(gid, cell.get("outputs", []), points=pts, submitter=submitter, course=course, rng=rng)
            for gid, pts, cell in graded_cells(nb)}
