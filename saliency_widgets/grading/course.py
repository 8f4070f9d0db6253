"""A course as the grader sees it: its secret, and which ids may stand for which submitter (pairs)."""
from __future__ import annotations

import csv
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from ..coursework import SECRET_ENV, SECRET_FILE_ENV, course_fingerprint, course_secret, normalise_id


class GradingError(RuntimeError):
    """The grader cannot grade at all (no course secret, an unknown graded cell, a bad pairs file)."""


@dataclass(frozen=True)
class Course:
    """``secret``: the course secret (never ``None``: the grader refuses practice mode); ``pairs``: groups of
    ids that hand in one piece of work, declared once (each member submits; the notebooks may carry any
    member's id)."""

    secret: str
    pairs: tuple = field(default=())

    def __post_init__(self):
        if not isinstance(self.secret, str) or not self.secret.strip():
            raise GradingError(f"no course secret: set {SECRET_ENV} (or {SECRET_FILE_ENV}) to the secret the "
                               "students' kernels use; the grader does not grade practice-mode work")
        groups, seen = [], {}
        for group in self.pairs:
            ids = tuple(sorted({normalise_id(s) for s in group}))
            for s in ids:
                if s in seen:
                    raise GradingError(f"{s!r} is declared in two pairs: {seen[s]} and {ids}")
                seen[s] = ids
            groups.append(ids)
        object.__setattr__(self, "pairs", tuple(groups))

    @property
    def fingerprint(self) -> str:
        return course_fingerprint(self.secret)

    def group_of(self, submitter: str) -> tuple:
        """The ids that may stand for ``submitter``: their pair's, or their own alone."""
        s = normalise_id(submitter)
        return next((g for g in self.pairs if s in g), (s,))

    def may_answer_for(self, recorded_id: str, submitter: str) -> bool:
        """Whether a notebook answered under ``recorded_id`` counts for ``submitter``."""
        try:
            return normalise_id(recorded_id) in self.group_of(submitter)
        except ValueError:
            return False

    @classmethod
    def from_environment(cls, *, secret_file: str | None = None, pairs=()) -> "Course":
        """The course whose secret is in ``secret_file`` or the environment (as the students' kernels read it)."""
        if secret_file:
            try:
                secret = Path(secret_file).expanduser().read_text(encoding="utf-8").strip()
            except OSError as err:
                raise GradingError(f"cannot read the course secret from {secret_file!r}: {err}") from err
        else:
            secret = course_secret()
        return cls(secret or "", tuple(pairs))


def read_pairs(path) -> list[tuple]:
    """Pairs from a CSV file, one group per row (``ada,alan``); blank lines and ``#`` comments skipped."""
    groups = []
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.reader(f):
            ids = [c.strip() for c in row if c.strip()]
            if ids and not ids[0].startswith("#"):
                if len(ids) < 2:
                    raise GradingError(f"{path}: a pair needs two ids or more, got {ids}")
                groups.append(tuple(ids))
    return groups


def new_secret() -> str:
    """A fresh course secret (32 random bytes, URL-safe text)."""
    return secrets.token_urlsafe(32)
