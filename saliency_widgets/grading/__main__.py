"""The course's grader from the command line.

    python -m saliency_widgets.grading new-secret ~/.config/saliency-lab/secret
    python -m saliency_widgets.grading grade --submitter ada submitted/ada/lab/*.ipynb [--pairs pairs.csv]

``new-secret`` writes a fresh course secret to a file only its owner can read, and refuses a path inside a
git checkout (the secret must never be committed).  ``grade`` grades handed-in notebooks from their
recorded answers, without nbgrader (``nbgrader autograde`` runs the same grader, see
:mod:`saliency_widgets.grading.nbgrader_plugin`); the course secret comes from ``--secret-file`` or the
environment, as in the students' kernels.  Exit status: 0 graded, 2 the grader could not grade.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import nbformat

from .course import Course, GradingError, new_secret, read_pairs
from .notebook import grade_notebook


def _inside_git_checkout(path: Path) -> Path | None:
    for folder in [path.parent, *path.parent.parents]:
        if (folder / ".git").exists():
            return folder
    return None


def write_secret(path) -> Path:
    """Write a fresh secret to ``path`` (mode 600); refuses an existing file and a path in a git checkout."""
    path = Path(path).expanduser().absolute()
    checkout = _inside_git_checkout(path)
    if checkout is not None:
        raise GradingError(f"{path} is inside the git checkout {checkout}: keep the course secret outside any "
                           "repository (e.g. ~/.config/saliency-lab/secret)")
    if path.exists():
        raise GradingError(f"{path} exists: the course already has a secret (students' cases depend on it)")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(new_secret() + "\n")
    return path


def _grade(args) -> int:
    course = Course.from_environment(secret_file=args.secret_file, pairs=read_pairs(args.pairs) if args.pairs else ())
    report, total, most = {}, 0.0, 0.0
    for path in args.notebooks:
        results = grade_notebook(nbformat.read(path, as_version=4), submitter=args.submitter, course=course)
        report[str(path)] = {gid: {"earned": r.earned, "points": r.points, "feedback": r.feedback()}
                             for gid, r in results.items()}
        for r in results.values():
            print(r.feedback())
            total, most = total + r.earned, most + r.points
    print(f"{args.submitter}: {total:g} / {most:g} autograded points")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m saliency_widgets.grading", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("new-secret", help="write a fresh course secret to a file outside any checkout")
    s.add_argument("path")
    g = sub.add_parser("grade", help="grade handed-in notebooks from their recorded answers")
    g.add_argument("notebooks", nargs="+", type=Path)
    g.add_argument("--submitter", required=True, help="the id of the student who handed them in")
    g.add_argument("--pairs", help="CSV file, one pair per row (ada,alan)")
    g.add_argument("--secret-file", help="file holding the course secret (default: the environment)")
    g.add_argument("--json", help="also write the grades and feedback to this JSON file")
    args = parser.parse_args(argv)
    try:
        if args.command == "new-secret":
            print(f"wrote a new course secret to {write_secret(args.path)}")
            return 0
        return _grade(args)
    except GradingError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
