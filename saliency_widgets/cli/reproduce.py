"""``python -m saliency_widgets reproduce``: the paper's kind of figures and tables, headless."""
from __future__ import annotations

import argparse
import os

from .common import EXIT_STATUS, CommandFailed, UsageError, check_output

__all__ = ["add_parser", "run"]


def run(args) -> int:
    if args.check:
        return _check()
    from ..reproduce import reproduce
    check_output(args.out, force=args.force, folder=True)
    done = os.path.join(args.out, "results.json")
    if os.path.exists(done) and not args.force:
        raise UsageError(f"--out {args.out!r} holds a finished run ({done!r}): pass --force to replace its "
                         f"figures and tables (an unfinished run's files are resumed without it)")
    if args.scenes is not None and args.scenes < 3:
        raise UsageError(f"--scenes must be 3 or more (the figures show 3 scenes), got {args.scenes}")
    try:
        reproduce(args.out, tier=args.tier, n_scenes=args.scenes)
    except Exception as exc:  # after the checks above, whatever fails is a runtime error
        raise CommandFailed(f"reproduce into {args.out!r}: {type(exc).__name__}: {exc}") from None
    return 0


def _check() -> int:
    """``--check``: 0 when the shipped tables are what this code computes, else 1 and what moved."""
    import saliency_widgets
    from ..reproduce import check_shipped
    where = os.path.dirname(saliency_widgets.__file__)
    moved = check_shipped()
    if not moved:
        print(f"the shipped tables are what the code in {where} computes")
        return 0
    print(f"the code in {where} computes otherwise than the code that made the shipped tables:")
    for line in moved:
        print(f"  {line}")
    print("run `python -m saliency_widgets reproduce --out DIR`, copy DIR/results.json into "
          "saliency_widgets/demo/data/ and re-render the prose (python -m tools.claims)")
    return 1


def add_parser(subparsers):
    """Add the ``reproduce`` subcommand to an argparse ``subparsers`` object."""
    r = subparsers.add_parser("reproduce", help="write the paper's figures and tables (notebooks 3-5) headless",
                       formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EXIT_STATUS + "\n  with --check: 0 the shipped tables are today's, 1 they are not",
                       description="Write the paper's figures and tables (PNG + markdown) on the demo model and "
                                   "scenes.  The first scene of each study is timed first and the run's duration "
                                   "printed before the work starts.")
    r.add_argument("--out", default="figures", help="output folder (default: figures)")
    from ..reproduce import CONFIG, TIERS, shipped_results
    q = dict(CONFIG, **TIERS["quick"])
    shipped_minutes = shipped_results()["seconds"] / 60  # what the shipped run took, not a typed figure
    r.add_argument("--tier", default="full", choices=list(TIERS),
                   help=f"full: the run whose numbers the package ships ({shipped_minutes:.0f} min on the 2-core "
                        f"machine that made it); quick: "
                        f"every figure and table from the first {q['n_single']} + {q['n_multi']} scenes and "
                        f"{q['conv_single']} + {q['conv_multi']} convergence targets, same methods and budgets "
                        f"(under 10 min on 2 idle cores), each labelled 'quick tier', with the full "
                        f"run's stored numbers written beside them (full_run.md); test: a tiny run")
    r.add_argument("--scenes", type=int, default=None,
                   help="single-object scenes for the pointing-game table (default: the tier's; full: 200)")
    r.add_argument("--check", action="store_true",
                   help="compute nothing but the fingerprint: exit 0 when the shipped tables are what this code "
                        "computes, 1 (naming each table and method that moved) when a reproduce run is needed")
    r.add_argument("--force", action="store_true",
                   help="replace the figures and tables of a finished run in --out (an unfinished run's files "
                        "are resumed without it)")
    r.set_defaults(func=run)
    return r
