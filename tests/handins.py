"""Hand-ins for the grading tests: notebooks built from the course's released (or source) notebooks and run
in a kernel with the course secret, as a student's machine would run them.

A hand-in runs either every cell (``execute``) or only the cells a student who typed their answers needs:
the first code cell (imports), the ``STUDENT`` cell, the answer cells and the recording cells, in order
(``execute_exercise_cells``); the other cells stay unrun, as in a notebook saved after running just those.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import nbformat

STUB = "# YOUR CODE HERE"
STDERR_TRICK = "import sys; sys.stderr = sys.stdout   # nbgrader scored a cell 0 only when it wrote to stderr\n"


def grade_id(cell) -> str:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")


def exercise_cells(nb, also: str | None = None) -> list[int]:
    """The first code cell and every code cell with an nbgrader grade id (STUDENT, answers, recording cells),
    and the code cells whose source contains ``also``."""
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    extra = [i for i in code if also and also in nb.cells[i].source]
    return sorted({code[0], *extra, *[i for i in code if grade_id(nb.cells[i])]})


def set_student(nb, student: str, *, old: str):
    """``nb`` with the STUDENT cell's ``old`` id replaced by ``student`` (the placeholder, or the solution's)."""
    nb = nbformat.from_dict(nb)
    cell = next(c for c in nb.cells if grade_id(c).endswith("-student"))
    assert f'"{old}"' in cell.source, cell.source
    cell.source = cell.source.replace(f'"{old}"', f'"{student}"')
    return nb


def answer_with(nb, gid: str, code: str):
    """``nb`` with the stub of answer cell ``gid`` replaced by ``code`` (what a student typed there)."""
    nb = nbformat.from_dict(nb)
    cell = next(c for c in nb.cells if grade_id(c) == gid)
    assert STUB in cell.source, (gid, cell.source)
    cell.source = cell.source.replace(STUB, code)
    return nb


def prepend(nb, code: str):
    """``nb`` with ``code`` put before its first code cell's source."""
    nb = nbformat.from_dict(nb)
    cell = next(c for c in nb.cells if c.cell_type == "code")
    cell.source = code + cell.source
    return nb


def _client(nb, cwd):
    from nbclient import NotebookClient

    return NotebookClient(nb, timeout=900, kernel_name="python3", allow_errors=False,
                          resources={"metadata": {"path": str(cwd)}})


def execute(nb, *, env: dict, cwd):
    """Run every cell of ``nb`` (in place) in a fresh kernel with environment ``env``; returns ``nb``."""
    _client(nb, cwd).execute(env=env)
    return nb


def execute_exercise_cells(nb, *, env: dict, cwd, also: str | None = None):
    """Run only :func:`exercise_cells` of ``nb`` (in place) in a fresh kernel; returns ``nb``."""
    client = _client(nb, cwd)
    with client.setup_kernel(env=env):
        for i in exercise_cells(nb, also):
            client.execute_cell(nb.cells[i], i)
    return nb


def run_all(jobs, *, workers: int = 2):
    """Run ``jobs`` (callables) on ``workers`` threads, each job in its own kernel; their results, in order."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return [f.result() for f in [pool.submit(job) for job in jobs]]


def kernel_env(secret_file, root) -> dict:
    """A student's kernel environment: the course secret set, the package from ``root``, TensorFlow quiet."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", TF_ENABLE_ONEDNN_OPTS="0",
               SALIENCY_WIDGETS_COURSE_SECRET_FILE=str(secret_file))
    env.pop("SALIENCY_WIDGETS_COURSE_SECRET", None)
    env["PYTHONPATH"] = os.pathsep.join([str(root), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env
