"""The course's grader: recorded answers graded outside the student's kernel.

The notebooks record each answer (:func:`saliency_widgets.coursework.record`); this package reads the
records of a handed-in notebook and recomputes every answer from the submitter's own case under the course
secret.  ``nbgrader autograde`` runs it as a preprocessor (:mod:`.nbgrader_plugin`); without nbgrader,
``python -m saliency_widgets.grading grade --submitter ID NOTEBOOK...`` grades files directly.
"""
from .course import Course, GradingError, new_secret, read_pairs
from .exercises import GRADERS
from .notebook import grade_cell, grade_notebook
from .result import CellResult, NotAnswered, WrongAnswer

__all__ = ["Course", "GradingError", "new_secret", "read_pairs", "GRADERS", "grade_cell", "grade_notebook",
           "CellResult", "NotAnswered", "WrongAnswer"]
