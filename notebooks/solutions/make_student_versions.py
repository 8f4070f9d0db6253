"""Write the student versions of the tutorial notebooks, or set up an nbgrader course with them.

The notebooks in ``notebooks/`` are the instructor versions: CI runs them with their solutions. Exercise
cells carry nbgrader metadata (``"nbgrader": {"solution": true, ...}``) and mark the answer with lines
containing ``BEGIN SOLUTION`` / ``END SOLUTION``, so ``nbgrader generate_assignment`` strips them as usual.

Without nbgrader:

    python notebooks/solutions/make_student_versions.py --out student/

With nbgrader (writes ``COURSE/source/ASSIGNMENT/*.ipynb`` and ``COURSE/nbgrader_config.py``; then
``cd COURSE && nbgrader generate_assignment ASSIGNMENT``):

    python notebooks/solutions/make_student_versions.py --course ~/saliency-lab --assignment lab \
        --course-id saliency-lab --exchange /srv/nbgrader/exchange

Each solution block becomes ``# YOUR CODE HERE`` (a written answer: ``YOUR ANSWER HERE``). Unlike
nbgrader's default stub, nothing raises: the exercise cells start every answer at ``None`` before the
block, and the recording cell that follows says "not answered yet", so a student notebook runs top to
bottom before it is filled in.  Nothing of a solution stays in the student versions: no line of the block,
no name it binds, no output, no saved widget state.

The course's ``nbgrader_config.py`` sets the course id and the exchange, and makes ``nbgrader autograde``
grade the hand-in as it was saved, from its recorded answers, with ``saliency_widgets.grading`` (outside
the student's kernel; see notebooks/README.md, "Grading").
"""
from __future__ import annotations

import argparse
import glob
import os
import re

import nbformat

BEGIN, END = "BEGIN SOLUTION", "END SOLUTION"
STUB = "# YOUR CODE HERE"
TEXT_STUB = "YOUR ANSWER HERE"
NBGRADER_CONFIG = """c = get_config()
import os

# -- the course and its exchange (release_assignment, fetch_assignment, submit, collect). nbgrader makes the
#    exchange's root world-writable (students drop their submissions there): keep it on the shared machine.
c.CourseDirectory.course_id = {course_id!r}
c.Exchange.root = {exchange!r}

# -- the student versions run top to bottom: a solution block becomes a comment, not `raise NotImplementedError()`
c.ClearSolutions.code_stub = {{"python": {stub!r}}}
c.ClearSolutions.text_stub = {text_stub!r}
c.Execute.timeout = 600   # only if you re-execute hand-ins (below): a cell of notebook 07 runs about a minute

# -- grading: the hand-in as the student saved it (not cleared, not re-run), every autograded cell scored by
#    saliency_widgets.grading from the answers recorded in it, for the submitter nbgrader names, in nbgrader's
#    own process: nothing the student's kernel did changes a score.
from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, DeduplicateIds, IgnorePattern,
                                    LimitOutput, OverwriteCells, OverwriteKernelspec, SaveAutoGrades)
c.Autograde.sanitize_preprocessors = [DeduplicateIds, OverwriteKernelspec, OverwriteCells, CheckCellMetadata]
c.Autograde.autograde_preprocessors = [IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
                                       "saliency_widgets.grading.nbgrader_plugin.GradeRecordedAnswers",
                                       SaveAutoGrades, "saliency_widgets.grading.nbgrader_plugin.FlagCopiedAnswers",
                                       AssignLatePenalties, CheckCellMetadata]
# the course secret: this file if set, else the SALIENCY_WIDGETS_COURSE_SECRET(_FILE) environment variable
c.GradeRecordedAnswers.secret_file = {secret_file!r}
# pairs that hand in one piece of work, declared once: one pair per row of pairs.csv beside this file (ada,alan)
_pairs = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pairs.csv")
if os.path.exists(_pairs):
    from saliency_widgets.grading import read_pairs
    c.GradeRecordedAnswers.pairs = [list(p) for p in read_pairs(_pairs)]
"""
_BLOCK = re.compile(rf"^[^\n]*{BEGIN}[^\n]*\n.*?^[^\n]*{END}[^\n]*$", re.S | re.M)


def is_solution(cell) -> bool:
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("solution"))


def drop_widget_state(nb):
    nb.metadata.pop("widgets", None)
    return nb


def strip_notebook(nb):
    """A copy of ``nb`` with every solution block replaced by the stub and all outputs cleared."""
    nb = drop_widget_state(nbformat.from_dict(nb))
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            cell.metadata.pop("execution", None)
        if is_solution(cell):
            if BEGIN not in cell.source or END not in cell.source:
                raise ValueError(f"solution cell {cell.metadata['nbgrader'].get('grade_id')!r} lacks the "
                                 f"{BEGIN!r} / {END!r} markers")
            stub = STUB if cell.cell_type == "code" else TEXT_STUB
            cell.source = _BLOCK.sub(stub, cell.source)
    return nb


def course_source(nb):
    """The instructor notebook as an nbgrader course's source: no saved widget state."""
    return drop_widget_state(nbformat.from_dict(nb))


def _paths(given):
    here = os.path.dirname(os.path.abspath(__file__))
    return given or sorted(glob.glob(os.path.join(os.path.dirname(here), "[0-9]*.ipynb")))


def write_config(course: str, *, course_id: str, exchange: str, secret_file: str = "") -> str:
    """Write ``COURSE/nbgrader_config.py`` (never over an existing one: it may hold the lecturer's edits)."""
    config = os.path.join(course, "nbgrader_config.py")
    if os.path.exists(config):
        print(f"{config} exists: left as it is")
        return config
    with open(config, "w", encoding="utf-8") as f:
        f.write(NBGRADER_CONFIG.format(course_id=course_id, exchange=os.path.abspath(os.path.expanduser(exchange)),
                                       stub=STUB, text_stub=TEXT_STUB, secret_file=secret_file))
    return config


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", help="folder for the student notebooks")
    where.add_argument("--course", help="nbgrader course folder to set up (source/<assignment>/, nbgrader_config.py)")
    parser.add_argument("--assignment", default="lab", help="nbgrader assignment name (with --course)")
    parser.add_argument("--course-id", default="saliency-lab", help="nbgrader course id (with --course)")
    parser.add_argument("--exchange", default="/srv/nbgrader/exchange",
                        help="nbgrader exchange root, shared by you and the students (with --course)")
    parser.add_argument("--secret-file", default="", help="file holding the course secret, for the grader "
                        "(default: the SALIENCY_WIDGETS_COURSE_SECRET(_FILE) environment variable)")
    parser.add_argument("notebooks", nargs="*", help="default: every notebook in notebooks/")
    args = parser.parse_args(argv)
    if args.course:
        out = os.path.join(args.course, "source", args.assignment)
        os.makedirs(out, exist_ok=True)
        write_config(args.course, course_id=args.course_id, exchange=args.exchange, secret_file=args.secret_file)
    else:
        out = args.out
        os.makedirs(out, exist_ok=True)
    for path in _paths(args.notebooks):
        nb = nbformat.read(path, as_version=4)
        nb = course_source(nb) if args.course else strip_notebook(nb)
        target = os.path.join(out, os.path.basename(path))
        nbformat.write(nb, target)
        print(f"{target}: {sum(is_solution(c) for c in nb.cells)} answer cell(s)")
    if args.course:
        print(f"next: cd {args.course} && nbgrader generate_assignment {args.assignment}")


if __name__ == "__main__":
    main()
