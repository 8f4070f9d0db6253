"""Command line: ``python -m saliency_widgets explain IMAGE`` and ``python -m saliency_widgets reproduce``.

``--method`` takes the keys of :data:`saliency_widgets.registry.METHODS` (the names every front end
uses); each method's settings (``--grid``, ``--chains``, ``--segments``...) come from the registry too,
and are checked there (:func:`saliency_widgets.registry.build_checked`): a value out of its range, a setting
the method does not offer or a budget for a method without one is an ``error: ...`` and exit code 2.

``--model`` takes a ``.keras`` file or a Python import path ``package.module:attribute`` (a Keras model, a
PyTorch module, a JAX function or a callable, or a class / function of no arguments returning one; see
:func:`saliency_widgets.models.loading.load_model_spec`); ``--input-size H,W`` says what a PyTorch module or a
function takes.
"""
from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

from .registry import METHODS, build_checked, get_method  # noqa: E402  (after the TF environment variables)


def option_names() -> list[str]:
    """Every setting any registered method offers, in registry order."""
    names: list[str] = []
    for spec in METHODS.values():
        names += [n for n in spec.options if n not in names]
    return names


def make_explainer(method: str, model, *, budget=None, seed=0, progress=True, **options):
    """The explainer registered as ``method`` (key or label) with the settings given (None: default).

    A thin wrapper of :func:`~saliency_widgets.registry.build_checked`: a ValueError names a setting
    the method does not offer, a budget for a method without one, or a value outside its range.
    """
    given = {k: v for k, v in options.items() if v is not None}
    return build_checked(method, model, budget=budget, options=given, seed=seed, progress=progress)


def _load_image(path: str, size):
    import numpy as np
    from PIL import Image, UnidentifiedImageError
    from .plotting.resize import fit_image
    try:
        img = Image.open(path).convert("RGB")
    except (OSError, ValueError, UnidentifiedImageError) as exc:
        raise SystemExit(f"error: cannot read image {path!r}: {exc}")
    if size is not None and img.size != (size[1], size[0]):
        img = fit_image(img, size)  # resized to cover the model's input, centre-cropped (as the widget)
    return np.asarray(img)


def cmd_explain(args) -> int:
    import numpy as np
    from .demo import CLASS_NAMES, load_model
    from .models.loading import class_names, load_model_spec, model_input_size
    from .plotting import overlay, png_bytes

    if args.model is None:
        model, labels = load_model(), list(CLASS_NAMES)
    else:
        model, labels = load_model_spec(args.model, input_size=args.input_size), None
    size = model_input_size(model, args.input_size, required=False)  # None: the model takes any size
    options = {name: getattr(args, name) for name in option_names()}
    explainer = make_explainer(args.method, model, budget=args.budget, seed=args.seed, **options)  # checked
    image = _load_image(args.image, size).astype(np.float32)                                  # before any work
    exp = explainer.explain(image, target=args.target)
    if labels is None:
        labels = class_names(model, image)
    out = args.out
    tmp = out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(png_bytes(overlay(image, exp.saliency, alpha=args.alpha, cmap=args.cmap)))
    os.replace(tmp, out)
    if args.save_npz:
        exp.save(args.save_npz)
    name = labels[exp.target] if 0 <= exp.target < len(labels) else "no class: the map ignores the model"
    print(f"{get_method(args.method).label}: class {exp.target} ({name}), p = {exp.score:.3f}, "
          f"{exp.n_forward} forward passes -> {out}")
    return 0


def cmd_reproduce(args) -> int:
    from .reproduce import reproduce
    reproduce(args.out, tier="test" if args.quick else args.tier, n_scenes=args.scenes)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m saliency_widgets",
                                     description="Saliency maps for image classifiers.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("explain", help="write an image with its saliency overlay",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog="methods:\n" + "\n".join(f"  {k:26s} {s.label}: {s.summary}"
                                                       for k, s in METHODS.items()))
    p.add_argument("image", help="an image file (PNG, JPEG...), resized and centre-cropped to the model's input")
    p.add_argument("--model", default=None,
                   help="a .keras file or a Python import path package.module:attribute (a Keras model, PyTorch "
                        "module, JAX function or callable, or a class / function of no arguments returning one; "
                        "default: the bundled demo model)")
    p.add_argument("--input-size", default=None, metavar="H,W[,C]",
                   help="the image size a PyTorch module or a function takes (a Keras model says it itself)")
    p.add_argument("--method", default="mask-update", choices=list(METHODS),
                   help="a registry key (default: mask-update = 'mask-update (32 chains, score-weighted)')")
    p.add_argument("--target", type=int, default=None, help="class index (default: the top-1 class)")
    p.add_argument("--budget", type=int, default=None,
                   help="forward passes (the method's steps / masks / samples; default: the registry's; "
                        "an error for a method without a budget)")
    for name in option_names():
        ranges = ", ".join(f"{s.key}: {o.default} in [{o.low}, {o.high}]" for s in METHODS.values()
                           for n, o in s.options.items() if n == name)
        p.add_argument(f"--{name}", type=int, default=None, help=f"default per method ({ranges})")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--alpha", type=float, default=0.5, help="overlay opacity")
    p.add_argument("--cmap", default="jet")
    p.add_argument("--out", default="overlay.png", help="output PNG")
    p.add_argument("--save-npz", default=None, help="also save the explanation (.npz with metadata)")
    p.set_defaults(func=cmd_explain)
    r = sub.add_parser("reproduce", help="write the paper's figures and tables (notebooks 3-5) headless",
                       description="Write the paper's figures and tables (PNG + markdown) on the demo model and "
                                   "scenes.  The first scene of each study is timed first and the run's duration "
                                   "printed before the work starts.")
    r.add_argument("--out", default="figures", help="output folder (default: figures)")
    r.add_argument("--tier", default="full", choices=["full", "quick", "test"],
                   help="full: the run whose numbers the package ships (about 46 min on 2 CPU cores); quick: "
                        "every figure and table from the first 30 + 8 scenes and 15 + 15 convergence targets, "
                        "same methods and budgets, under 10 min on 2 cores, each labelled 'quick tier', with the "
                        "full run's stored numbers written beside them (full_run.md); test: a tiny run")
    r.add_argument("--scenes", type=int, default=None,
                   help="single-object scenes for the pointing-game table (default: the tier's; full: 200)")
    r.add_argument("--quick", action="store_true", help="the same as --tier test (kept for old scripts)")
    r.set_defaults(func=cmd_reproduce)
    from . import cli_evaluate  # the `evaluate` subcommand (issue 13)
    cli_evaluate.add_parser(sub)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
