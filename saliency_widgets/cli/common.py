"""What the commands of the command line share: their two errors and exit statuses, output checks, the pixel limit.

Every command's module (:mod:`.explain`, :mod:`.evaluate`, :mod:`.reproduce`) imports it; none imports another.
"""
from __future__ import annotations

import os

__all__ = ["UsageError", "CommandFailed", "EXIT_STATUS", "check_output", "write_atomic", "check_max_pixels",
           "max_pixels_help"]


class UsageError(ValueError):
    """Something the user typed is wrong (an option, a name, a path): exit status 2, nothing computed."""


class CommandFailed(RuntimeError):
    """The command could not do its work (a file unreadable, the model failed, a write failed): exit status 1."""


EXIT_STATUS = """exit status:
  0  done
  1  runtime error: an input file could not be read or is over the pixel limit, the model failed, a write failed,
     an optional extra is not installed
  2  usage error: an option, a name or a path given is wrong (nothing was computed)
  130  interrupted (Ctrl-C)"""


def check_output(path: str, *, force: bool, what: str = "--out", folder: bool = False) -> str:
    """Check an output path before any work: its folder exists and is writable, and an existing file is
    replaced only with ``force``.  Raises :class:`UsageError` naming ``path`` as the user gave it."""
    if folder:
        if os.path.exists(path) and not os.path.isdir(path):
            raise UsageError(f"{what} {path!r} is a file, expected a folder")
        parent = os.path.dirname(os.path.abspath(path))
        target = path if os.path.isdir(path) else parent
        if not os.path.isdir(target):
            raise UsageError(f"{what} {path!r}: the folder {parent!r} that would hold it does not exist")
    else:
        if os.path.isdir(path):
            raise UsageError(f"{what} {path!r} is a folder, expected a file name")
        if os.path.exists(path) and not force:
            raise UsageError(f"{what} {path!r} exists: pass --force to replace it")
        target = os.path.dirname(path) or "."
        if not os.path.isdir(target):
            raise UsageError(f"{what} {path!r}: the folder {target!r} does not exist")
    if not os.access(target, os.W_OK):
        raise UsageError(f"{what} {path!r}: the folder {target!r} is not writable")
    return path


def write_atomic(path: str, data, *, what: str = "--out") -> None:
    """Write ``data`` (bytes or str) under a temporary name, then rename: never half-written.  An error names
    ``path``, not the temporary file."""
    tmp = path + ".tmp"
    try:
        with open(tmp, "wb" if isinstance(data, bytes) else "w", **({} if isinstance(data, bytes) else
                                                                   {"encoding": "utf-8"})) as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError as exc:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise CommandFailed(f"cannot write {what} {path!r}: {exc.strerror or exc}") from None


def check_max_pixels(args) -> None:
    if getattr(args, "max_pixels", None) is not None and args.max_pixels < 1:
        raise UsageError(f"--max-pixels must be a positive number of pixels, got {args.max_pixels}")


def max_pixels_help() -> str:
    from .. import images
    return (f"refuse an image whose header claims more pixels (width x height) than this, before decoding it "
            f"(default: saliency_widgets.images.MAX_PIXELS = {images.MAX_PIXELS:,})")
