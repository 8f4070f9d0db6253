"""nbgrader's autograder, graded from the recorded answers, outside the student's kernel.

``GradeRecordedAnswers`` is a preprocessor of ``nbgrader autograde``: it runs in nbgrader's own process
(never in the student's kernel), just before nbgrader saves the scores.  For every autograded cell it reads
the answer the student's notebook recorded (:func:`saliency_widgets.coursework.record`), grades it with
:mod:`saliency_widgets.grading` for the submitter nbgrader names, and replaces the cell's outputs with the
feedback and the score, which nbgrader then saves as the cell's points (its partial-credit rule: a cell
whose result is a number scores that number).  Whatever the student's kernel printed, raised, patched or
redirected, the points are the grader's.  A graded cell the grader does not know stops the autograder.

In ``nbgrader_config.py`` (``make_student_versions.py --course`` writes it)::

    c.Autograde.autograde_preprocessors = [..., "saliency_widgets.grading.nbgrader_plugin.GradeRecordedAnswers",
                                           SaveAutoGrades, ...]
    c.GradeRecordedAnswers.pairs = [["ada", "alan"]]          # declared once for the course
    c.GradeRecordedAnswers.secret_file = "~/.config/saliency-lab/secret"   # or the environment variable
"""
from __future__ import annotations

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import List, Unicode

import os

from nbgrader.api import Gradebook, MissingEntry

from ..coursework import RECORD_MIME, records_in
from .course import Course
from .notebook import exercise_of, graded_cells, grade_cell
from .written import copy_flag, model_answer


class GradeRecordedAnswers(NbGraderPreprocessor):
    """Score every autograded cell from the answer recorded in it (see the module's docstring)."""

    secret_file = Unicode("", help="file holding the course secret (default: the SALIENCY_WIDGETS_COURSE_SECRET "
                                   "or SALIENCY_WIDGETS_COURSE_SECRET_FILE environment variable)").tag(config=True)
    pairs = List([], help="groups of student ids that hand in one piece of work, e.g. [['ada', 'alan']]"
                 ).tag(config=True)

    def preprocess(self, nb, resources):
        submitter = resources["nbgrader"]["student"]
        course = Course.from_environment(secret_file=self.secret_file or None, pairs=self.pairs)
        for grade_id, points, cell in graded_cells(nb):
            exercise_of(grade_id)   # an unknown graded cell stops here, before any score is saved
            result = grade_cell(grade_id, cell.get("outputs", []), points=points, submitter=submitter, course=course)
            self.log.info("%s, %s, %s: %g / %g", submitter, resources["nbgrader"]["notebook"], grade_id,
                          result.earned, points)
            cell.outputs = _graded_outputs(cell.get("outputs", []), result)
        return nb, resources


def _graded_outputs(outputs, result):
    """The feedback, the record that was graded, and the score as the cell's result (what nbgrader saves)."""
    new = [nbformat.v4.new_output("stream", name="stdout", text=result.feedback() + "\n")]
    for rec in records_in(outputs)[-1:]:
        new.append(nbformat.v4.new_output("display_data", data={RECORD_MIME: rec,
                                                                "text/plain": "the recorded answer graded above"}))
    new.append(nbformat.v4.new_output("execute_result", data={"text/plain": f"{result.earned:g}"},
                                      execution_count=None))
    return new


class FlagCopiedAnswers(NbGraderPreprocessor):
    """After nbgrader has saved the scores: a written answer that repeats the course source's model answer (the
    published one) gets an automatic comment in Formgrader saying so (its points stay the lecturer's)."""

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        source = _source_notebook(info)
        if source is None:
            return nb, resources
        models = {c.metadata.nbgrader["grade_id"]: model_answer(c.source) for c in source.cells
                  if c.cell_type == "markdown" and c.get("metadata", {}).get("nbgrader", {}).get("solution")}
        with Gradebook(info["db_url"]) as gb:
            for cell in nb.cells:
                gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
                flag = copy_flag(cell.source, models[gid]) if gid in models and models[gid] else None
                if flag:
                    try:
                        gb.find_comment(gid, info["notebook"], info["assignment"], info["student"]).auto_comment = flag
                    except MissingEntry:
                        continue
                    self.log.warning("%s, %s, %s: %s", info["student"], info["notebook"], gid, flag)
            gb.db.commit()
        return nb, resources


def _source_notebook(info):
    """The course's source notebook (with the model answers), beside the gradebook; None if not found."""
    db = info["db_url"]
    root = os.path.dirname(db[len("sqlite:///"):]) if db.startswith("sqlite:///") else os.getcwd()
    path = os.path.join(root, "source", info["assignment"], info["notebook"] + ".ipynb")
    return nbformat.read(path, as_version=4) if os.path.exists(path) else None
