"""The lines of a results file: a sealed header, sealed rows, and the side file that bad rows go to.

Every line is a JSON object carrying its own checksum (``"__sha__"``: SHA-256 of the line's other fields,
written canonically, and of the file's ``file_id``, cut to 16 hex digits).  So a line damaged on disk, edited
by hand, or pasted in from another file fails its own checksum while every other line still checks: a
resume keeps every row that checks and sets the others aside, one by one, with the reason, in a side file
next to the results file (:func:`side_file`), never deleting a good row.  The header (first line) is checked
the same way; a damaged header stops the resume with the file untouched.

A row that checks but is not a row of this format (fields missing or of the wrong type) was written by
code that disagrees with this one: an error naming its line, the file untouched.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field

__all__ = ["ROW_CHECKSUM", "HEADER_SEAL", "checksum", "seal_row", "row_checks", "seal_header", "header_checks",
           "side_file", "Lines", "read_lines", "set_aside", "rewrite", "row_problem", "strip"]

ROW_CHECKSUM = "__sha__"
HEADER_SEAL = "saliency_widgets.evaluate header"  # what the header's checksum is keyed with (it holds file_id)

# What every row holds, and the type each field must have (a row of the wrong shape is refused).
_REQUIRED = {"image": (int, str), "target": (int,), "method": (str,)}
_TYPES = {"hit": (bool, type(None)), "hit_strict": (bool, type(None)), "difficult": (bool,),
          "n_objects": (int,), "n_forward": (int,), "seconds": (int, float),
          "box_iou": (int, float, type(None)), "insertion": (int, float, type(None)),
          "deletion": (int, float, type(None)), "energy": (int, float, type(None)),
          "energy_centred": (int, float, type(None)), "error": (str,)}


def checksum(obj: dict, key: str) -> str:
    """16 hex digits of SHA-256 over ``key`` and ``obj`` (without its own checksum), keys sorted."""
    body = {k: v for k, v in obj.items() if k != ROW_CHECKSUM}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(key.encode() + b"\n" + text.encode()).hexdigest()[:16]


def seal_row(row: dict, file_id: str) -> dict:
    """``row`` with its checksum (keyed by the file's ``file_id``: a row from another file does not check)."""
    return dict(row, **{ROW_CHECKSUM: checksum(row, file_id)})


def row_checks(row, file_id: str) -> bool:
    return isinstance(row, dict) and row.get(ROW_CHECKSUM) == checksum(row, file_id)


def seal_header(head: dict) -> dict:
    return dict(head, **{ROW_CHECKSUM: checksum(head, HEADER_SEAL)})


def header_checks(head) -> bool:
    return isinstance(head, dict) and head.get(ROW_CHECKSUM) == checksum(head, HEADER_SEAL)


def strip(row: dict) -> dict:
    """The row without its checksum (what tables and resumes work with)."""
    return {k: v for k, v in row.items() if k != ROW_CHECKSUM}


def side_file(path) -> str:
    """Where a results file's set-aside lines go: ``PATH.set-aside.jsonl`` (appended, never overwritten)."""
    return f"{os.fspath(path)}.set-aside.jsonl"


def row_problem(row: dict) -> str | None:
    """What is wrong with the shape of a row that checks, or None."""
    for name, types in _REQUIRED.items():
        if name not in row:
            return f"it has no {name!r}"
        if not isinstance(row[name], types) or isinstance(row[name], bool):
            return f"its {name!r} is {row[name]!r}, not {' or '.join(t.__name__ for t in types)}"
    for name, types in _TYPES.items():
        if name in row and not isinstance(row[name], types):
            return f"its {name!r} is {row[name]!r}, not {' or '.join(t.__name__ for t in types)}"
    return None


@dataclass
class Lines:
    """A results file as read: its header (None: empty file), the rows that check (with their line numbers),
    and the lines set aside: ``(line number, reason, text)``."""

    header: dict | None = None
    rows: list = field(default_factory=list)
    line_of: list = field(default_factory=list)
    texts: list = field(default_factory=list)
    bad: list = field(default_factory=list)


def read_lines(path) -> Lines:
    """Read and check every line of ``path``; nothing is written.

    Raises
    ------
    ValueError
        The header (first line) is damaged (not JSON, not a header, or failing its checksum), or a row
        that checks has the wrong shape: the message names the line; the file is left as it is.
    """
    out = Lines()
    if not path or not os.path.exists(path):
        return out
    with open(path, "rb") as f:
        data = f.read()
    lines = data.split(b"\n")
    cut = lines.pop() if lines else b""  # after the last newline: empty, or a line cut off mid-write
    if lines or cut:
        out.header = _header(path, lines[0] if lines else cut, complete=bool(lines))
    file_id = str(out.header["__settings__"].get("file_id", ""))
    for n, raw in enumerate(lines[1:], start=2):
        _take(out, path, n, raw, file_id)
    if cut and lines:
        out.bad.append((len(lines) + 1, "cut off mid-write (an interrupted write)", cut.decode("utf-8", "replace")))
    return out


def _header(path, raw: bytes, *, complete: bool) -> dict:
    fix = ("nothing was changed; restore the first line, or pass overwrite=True (command line: --force-new) "
           "to start the file afresh")
    try:
        head = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ValueError(f"the first line of {path} (the settings the rows were made with) is damaged: it is not "
                         f"JSON{'' if complete else ' (cut off)'}; {fix}") from None
    if not isinstance(head, dict) or "__settings__" not in head:
        raise ValueError(f"the first line of {path} is damaged: it is not the settings line the rows were made "
                         f"with: the file has no settings line, so its rows cannot be checked; {fix}")
    if not header_checks(head):
        raise ValueError(f"the first line of {path} (the settings the rows were made with) is damaged: its "
                         f"checksum does not match (edited by hand, or written by an older version); {fix}")
    return head


def _take(out: Lines, path, n: int, raw: bytes, file_id: str) -> None:
    text = raw.decode("utf-8", "replace")
    if not raw.strip():
        return
    try:
        row = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        out.bad.append((n, "not JSON (damaged)", text))
        return
    if not isinstance(row, dict) or ROW_CHECKSUM not in row:
        out.bad.append((n, "not a row of this file (no checksum)" if isinstance(row, dict) else
                        f"not a row (a JSON {type(row).__name__})", text))
        return
    if not row_checks(row, file_id):
        out.bad.append((n, "its checksum does not match (edited by hand, damaged, or from another file)", text))
        return
    problem = row_problem(row)
    if problem is not None:
        raise ValueError(f"{path}, line {n} checks but is not a row of this format ({problem}): it was written by "
                         "another version of the code; nothing was changed (move the file away, or pass "
                         "overwrite=True to start afresh)")
    out.rows.append(strip(row))
    out.line_of.append(n)
    out.texts.append(text)


def set_aside(path, bad: list) -> str:
    """Append ``bad`` lines ``(line number, reason, text)`` to the side file; returns its path."""
    side = side_file(path)
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    with open(side, "a", encoding="utf-8") as f:
        for n, reason, text in bad:
            f.write(json.dumps({"line": n, "reason": reason, "text": text, "set_aside": stamp}) + "\n")
    return side


def rewrite(path, head: dict, rows, file_id: str) -> None:
    """The file as ``head`` (sealed here) and ``rows`` (sealed with ``file_id``), written under a temporary
    name and renamed: never half-written."""
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(json.dumps(seal_header({k: v for k, v in head.items() if k != ROW_CHECKSUM})) + "\n")
        for r in rows:
            f.write(json.dumps(seal_row(r, file_id)) + "\n")
    os.replace(tmp, path)
