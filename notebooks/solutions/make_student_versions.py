"""Write the student versions of the tutorial notebooks: solutions removed, outputs cleared.

The notebooks in ``notebooks/`` are the instructor versions: CI runs them with their solutions.
Exercise cells carry nbgrader metadata (``"nbgrader": {"solution": true, ...}``) and mark the answer with
``### BEGIN SOLUTION`` / ``### END SOLUTION``, so ``nbgrader generate_assignment`` strips them as usual.
Without nbgrader, this script does the same:

    python notebooks/solutions/make_student_versions.py --out student/

Each solution is replaced by ``# YOUR CODE HERE`` and ``raise NotImplementedError()`` (nbgrader's
default), every output is cleared, and the self-check cells that follow stay as they are.
"""
from __future__ import annotations

import argparse
import glob
import os
import re

import nbformat

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
_BLOCK = re.compile(rf"{re.escape(BEGIN)}.*?{re.escape(END)}", re.S)


def is_solution(cell) -> bool:
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("solution"))


def strip_notebook(nb):
    """A copy of ``nb`` with every solution block replaced by the stub and all outputs cleared."""
    nb = nbformat.from_dict(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            cell.metadata.pop("execution", None)
        if is_solution(cell):
            if BEGIN not in cell.source or END not in cell.source:
                raise ValueError(f"solution cell {cell.metadata['nbgrader'].get('grade_id')!r} lacks the "
                                 f"{BEGIN!r} / {END!r} markers")
            cell.source = _BLOCK.sub(STUB, cell.source)
    return nb


def main(argv=None):
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="folder for the student notebooks")
    parser.add_argument("notebooks", nargs="*", help="default: every notebook in notebooks/")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted(glob.glob(os.path.join(os.path.dirname(here), "[0-9]*.ipynb")))
    os.makedirs(args.out, exist_ok=True)
    for path in paths:
        nb = strip_notebook(nbformat.read(path, as_version=4))
        out = os.path.join(args.out, os.path.basename(path))
        nbformat.write(nb, out)
        print(f"{out}: {sum(is_solution(c) for c in nb.cells)} exercise(s)")


if __name__ == "__main__":
    main()
