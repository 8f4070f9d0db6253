"""Command line: ``python -m saliency_widgets explain IMAGE`` and ``python -m saliency_widgets reproduce``."""
from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

METHODS = ("mask-update", "mask-update-faithful", "rise", "grad-cam", "lime", "occlusion")


def make_explainer(method: str, model, *, budget=None, grid=8, chains=32, seed=0, progress=True):
    from . import GradCam, Lime, MaskUpdate, Occlusion, Rise
    if method == "mask-update":
        return MaskUpdate(model, steps=budget or 2000, grid=grid, chains=chains, seed=seed, progress=progress)
    if method == "mask-update-faithful":
        return MaskUpdate.faithful(model, steps=budget or 5000, grid=grid, seed=seed, progress=progress)
    if method == "rise":
        return Rise(model, masks=budget or 2000, grid=grid, seed=seed, progress=progress)
    if method == "grad-cam":
        return GradCam(model)
    if method == "lime":
        return Lime(model, samples=budget or 1000, seed=seed, progress=progress)
    if method == "occlusion":
        return Occlusion(model, progress=progress)
    raise ValueError(f"unknown method {method!r}; choose one of {METHODS}")


def _load_image(path: str, size):
    from PIL import Image
    import numpy as np
    try:
        img = Image.open(path).convert("RGB")
    except (OSError, ValueError) as exc:
        raise SystemExit(f"error: cannot read image {path!r}: {exc}")
    if size is not None and img.size != (size[1], size[0]):
        img = img.resize((size[1], size[0]), Image.BILINEAR)
    return np.asarray(img)


def cmd_explain(args) -> int:
    import numpy as np
    from .demo import CLASS_NAMES, imagenet_labels, load_model
    from .plotting import overlay, png_bytes

    if args.model is None:
        model, labels = load_model(), list(CLASS_NAMES)
    else:
        import keras
        if not os.path.exists(args.model):
            raise SystemExit(f"error: model file {args.model!r} not found")
        model = keras.saving.load_model(args.model, safe_mode=True)
        labels = None
    h, w = model.input_shape[1:3]
    image = _load_image(args.image, (h, w) if h and w else None).astype(np.float32)
    explainer = make_explainer(args.method, model, budget=args.budget, grid=args.grid, seed=args.seed)
    exp = explainer.explain(image, target=args.target)
    k = explainer.model.num_classes
    if labels is None:
        labels = list(imagenet_labels()) if k == 1000 else [f"class {i}" for i in range(k)]
    out = args.out
    tmp = out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(png_bytes(overlay(image, exp.saliency, alpha=args.alpha, cmap=args.cmap)))
    os.replace(tmp, out)
    if args.save_npz:
        exp.save(args.save_npz)
    print(f"{exp.method}: class {exp.target} ({labels[exp.target]}), p = {exp.score:.3f}, "
          f"{exp.n_forward} forward passes -> {out}")
    return 0


def cmd_reproduce(args) -> int:
    from .reproduce import reproduce
    reproduce(args.out, n_scenes=args.scenes, quick=args.quick)
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m saliency_widgets",
                                     description="Saliency maps for image classifiers.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("explain", help="write an image with its saliency overlay")
    p.add_argument("image", help="an image file (PNG, JPEG...), resized to the model's input")
    p.add_argument("--model", default=None, help="a .keras file (default: the bundled demo model)")
    p.add_argument("--method", default="mask-update", choices=METHODS)
    p.add_argument("--target", type=int, default=None, help="class index (default: the top-1 class)")
    p.add_argument("--budget", type=int, default=None, help="steps / masks / samples")
    p.add_argument("--grid", type=int, default=8)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--alpha", type=float, default=0.5, help="overlay opacity")
    p.add_argument("--cmap", default="jet")
    p.add_argument("--out", default="overlay.png", help="output PNG")
    p.add_argument("--save-npz", default=None, help="also save the explanation (.npz with metadata)")
    p.set_defaults(func=cmd_explain)
    r = sub.add_parser("reproduce", help="write the paper's figures and tables (notebooks 3-5) headless")
    r.add_argument("--out", default="figures", help="output folder")
    r.add_argument("--scenes", type=int, default=200, help="scenes for the pointing-game table")
    r.add_argument("--quick", action="store_true", help="a small run (for tests)")
    r.set_defaults(func=cmd_reproduce)
    from . import cli_evaluate  # the `evaluate` subcommand (issue 13)
    cli_evaluate.add_parser(sub)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
