"""Write the student versions of the tutorial notebooks, or set up an nbgrader course with them.

The notebooks in ``notebooks/`` are the instructor versions: CI runs them with their solutions. Exercise
cells carry nbgrader metadata (``"nbgrader": {"solution": true, ...}``) and mark the answer with lines
containing ``BEGIN SOLUTION`` / ``END SOLUTION``, so ``nbgrader generate_assignment`` strips them as usual.

Without nbgrader:

    python notebooks/solutions/make_student_versions.py --out student/

With nbgrader (writes ``COURSE/source/ASSIGNMENT/*.ipynb`` and ``COURSE/nbgrader_config.py``; then
``cd COURSE && nbgrader generate_assignment ASSIGNMENT``):

    python notebooks/solutions/make_student_versions.py --course course/ --assignment lab

Each solution block becomes ``# YOUR CODE HERE`` (a written answer: ``YOUR ANSWER HERE``). Unlike
nbgrader's default stub, nothing raises: the exercise cells start every answer at ``None`` before the
block, and the self-check that follows prints "not answered yet", so a student notebook runs top to
bottom before it is filled in.  Where a solution block defines a name that its cell does not start at
``None`` (notebook 06's ``predict2``), the line ``name = None`` is added before the block, in the
student versions and in the course's source notebooks alike.  Every output, and the saved widget state
(hundreds of KB, a stale picture of the instructor's run), is removed.
"""
from __future__ import annotations

import argparse
import ast
import glob
import os
import re

import nbformat

BEGIN, END = "BEGIN SOLUTION", "END SOLUTION"
STUB = "# YOUR CODE HERE"
TEXT_STUB = "YOUR ANSWER HERE"
NBGRADER_CONFIG = f'''c = get_config()
# the student versions run top to bottom: a solution block becomes a comment, not `raise NotImplementedError()`
c.ClearSolutions.code_stub = {{"python": {STUB!r}}}
c.ClearSolutions.text_stub = {TEXT_STUB!r}
# a cell of notebook 07 runs for about a minute on two shared cores; nbgrader's default limit is 30 s
c.Execute.timeout = 600
'''
_BLOCK = re.compile(rf"^[^\n]*{BEGIN}[^\n]*\n.*?^[^\n]*{END}[^\n]*$", re.S | re.M)


def is_solution(cell) -> bool:
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("solution"))


def _defined(code: str) -> list[str]:
    """Top-level names a block of code binds (assignments, defs, classes, imports), in order."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    names = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                names += [n.id for n in ast.walk(t) if isinstance(n, ast.Name)]
    return list(dict.fromkeys(names))


def declare_answers(cell):
    """Add ``name = None`` before the solution block for each name it binds that the cell does not bind before it."""
    if cell.cell_type != "code" or BEGIN not in cell.source:
        return cell
    lines = cell.source.split("\n")
    b = next(i for i, line in enumerate(lines) if BEGIN in line)
    e = next((i for i, line in enumerate(lines) if END in line and i > b), len(lines))
    before = set(_defined("\n".join(lines[:b])))
    missing = [n for n in _defined("\n".join(lines[b + 1:e])) if n not in before]
    declared = [f"{n} = None   # your answer: see the exercise above" for n in missing]
    cell.source = "\n".join(lines[:b] + declared + lines[b:])
    return cell


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
            declare_answers(cell)
            stub = STUB if cell.cell_type == "code" else TEXT_STUB
            cell.source = _BLOCK.sub(stub, cell.source)
    return nb


def course_source(nb):
    """The instructor notebook as an nbgrader course's source: answers declared, no widget state."""
    nb = drop_widget_state(nbformat.from_dict(nb))
    for cell in nb.cells:
        if is_solution(cell):
            declare_answers(cell)
    return nb


def _paths(given):
    here = os.path.dirname(os.path.abspath(__file__))
    return given or sorted(glob.glob(os.path.join(os.path.dirname(here), "[0-9]*.ipynb")))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", help="folder for the student notebooks")
    where.add_argument("--course", help="nbgrader course folder to set up (source/<assignment>/, nbgrader_config.py)")
    parser.add_argument("--assignment", default="lab", help="nbgrader assignment name (with --course)")
    parser.add_argument("notebooks", nargs="*", help="default: every notebook in notebooks/")
    args = parser.parse_args(argv)
    if args.course:
        out = os.path.join(args.course, "source", args.assignment)
        os.makedirs(out, exist_ok=True)
        config = os.path.join(args.course, "nbgrader_config.py")
        if not os.path.exists(config):
            with open(config, "w", encoding="utf-8") as f:
                f.write(NBGRADER_CONFIG)
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
