"""The command line, ``python -m saliency_widgets`` (or ``saliency-widgets``): ``explain``, ``evaluate``,
``reproduce``.

One module per command (:mod:`.explain`, :mod:`.evaluate`, :mod:`.reproduce`), each with ``add_parser`` and
``run``; :mod:`.common` holds what they share (the two errors and exit statuses, output checks, the pixel
limit) and :mod:`.models` what ``--model`` names.  Errors are one line on stderr: exit status 2 for a usage
error (nothing was computed), 1 for a runtime error (:data:`~.common.EXIT_STATUS`).
"""
from __future__ import annotations

import argparse
import os
import sys

from .common import CommandFailed

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command (each command's module adds its own subparser)."""
    from . import evaluate, explain, reproduce
    parser = argparse.ArgumentParser(prog="python -m saliency_widgets",
                                     description="Saliency maps for image classifiers.")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in (explain, reproduce, evaluate):
        command.add_parser(sub)
    return parser


def main(argv=None) -> int:
    """Run a command; errors are one line on stderr: exit status 2 for usage errors (argparse's, and a wrong
    option value, name or path found before any work), 1 for runtime errors (see :data:`EXIT_STATUS`)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")   # before any framework is imported
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    args = build_parser().parse_args(argv)  # argparse: exit status 2 with its usage line
    try:
        return args.func(args)
    except CommandFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (ValueError, TypeError, FileNotFoundError) as exc:  # UsageError, and the checks of names and settings
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ImportError as exc:  # an optional extra not installed (e.g. --model efficientnet-lite0 without [imagenet])
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:   # Ctrl-C: one line, the shell's status for SIGINT, no traceback
        print("interrupted", file=sys.stderr)
        return 130
