"""``python -m saliency_widgets explain IMAGE``: one image, one method, the overlay written at the image's size.

``--method`` takes the keys of :data:`saliency_widgets.registry.METHODS` (the names every front end
uses); each method's settings (``--grid``, ``--chains``, ``--segments``...) come from the registry too,
and are checked there (:func:`saliency_widgets.registry.build_checked`): a value out of its range, a setting
the method does not offer or a budget for a method without one is an ``error: ...`` and exit code 2.

``--model`` takes a ``.keras`` file or a Python import path ``package.module:attribute`` (a Keras model, a
PyTorch module, a JAX function or a callable, or a class / function of no arguments returning one; see
:func:`saliency_widgets.cli.models.load_model_spec`).  The model is explained as its declaration says
(:func:`saliency_widgets.models.declare`: input size, crop, pixel range, fill, class names), exactly as the
Python API explains it; ``--input-size H,W`` declares the size of a PyTorch module or a function that does
not declare one (the ImageNet crop for an image of another size).

Everything that can be checked without a framework is checked first, in this order: the output paths,
the method's settings, the model's name or file, the image file (its header against the pixel limit, then
the whole file decoded: a truncated file is found here).  Only then is a framework imported and the model
loaded.
"""
from __future__ import annotations

import argparse
import os
import sys

from ..demo.imagenet import imagenet_model_names  # names only: imports no framework
from ..demo.photos import PHOTOS  # the bundled photographs by name (no image is read here)
from ..registry import METHODS, build_checked, get_method, label_of
from .common import EXIT_STATUS, CommandFailed, UsageError, check_max_pixels, check_output, max_pixels_help, write_atomic

__all__ = ["add_parser", "run", "option_names", "make_explainer", "model_view", "full_size_overlay"]


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


def _read_image(path: str, max_pixels):
    """The image file, whole, as (H, W, 3) uint8 (pixel limit checked from its header first)."""
    from ..images import ImageTooLargeError, load_image
    if not os.path.isfile(path):
        raise UsageError(f"image {path!r} not found" if not os.path.exists(path) else f"image {path!r} is not a file")
    try:
        return load_image(path, name=repr(path), max_pixels=max_pixels)
    except ImageTooLargeError as exc:
        raise CommandFailed(str(exc)) from None
    except ValueError as exc:
        raise CommandFailed(f"cannot read image {path!r}: {exc}") from None


def model_view(original, size):
    """(the model's input, the region of ``original`` it shows (left, top, right, bottom) or None): ``original``
    resized to cover ``size`` and centre-cropped (the widget's upload rule; a model's declaration decides what
    ``explain`` does)."""
    import numpy as np
    from PIL import Image

    from ..images import fit_box
    from ..plotting.resize import fit_image
    if size is None or original.shape[:2] == tuple(size):
        return original, None
    h, w = original.shape[:2]
    return np.asarray(fit_image(Image.fromarray(original), size)), fit_box(w, h, size)


def full_size_overlay(original, saliency, region, *, alpha: float, cmap: str, inplace: bool = False):
    """The map drawn on the original image at its own size: resized onto ``region`` (the part the model saw);
    outside it the image is left as it is (the map says nothing there).  Drawn in uint8, in strips (no
    full-size float copy); ``inplace=True`` draws into ``original`` itself."""
    from ..plotting import overlay_region, to_rgb_uint8
    image = to_rgb_uint8(original)
    if not inplace or image is not original:
        image = image.copy()
    return overlay_region(image, saliency, region, alpha=alpha, cmap=cmap)


def _explain_with_progress(explainer, image, target, key: str):
    """Run the explainer with a progress bar named after what runs: its label (from its settings) and key."""
    from tqdm.auto import tqdm
    total = getattr(explainer, "budget", None) or None
    exp = None
    desc = f"{label_of(explainer)} ({key})"
    with tqdm(total=total, desc=desc, unit="pass", leave=False, file=sys.stderr, disable=not total) as bar:
        for exp in explainer.iter_explain(image, target=target):
            bar.update(exp.n_forward - bar.n)
    return exp


def _check_first(args, spec):
    """Everything the command line can check without a framework: outputs, settings, the model's name, and
    the image file (header, pixel limit, decoding: a truncated file is found here).  Returns the image."""
    from .models import check_model_spec, parse_input_size
    check_output(args.out, force=args.force)
    if args.save_npz:
        if not args.save_npz.endswith(".npz"):   # numpy adds the suffix: check the file it will write
            args.save_npz += ".npz"
        check_output(args.save_npz, force=args.force, what="--save-npz")
        if os.path.abspath(args.save_npz) == os.path.abspath(args.out):
            raise UsageError(f"--save-npz and --out are the same file {args.out!r}")
    check_max_pixels(args)
    options = {name: getattr(args, name) for name in option_names()}
    spec.checked_params(budget=args.budget, options={k: v for k, v in options.items() if v is not None},
                        seed=args.seed)
    check_model_spec(args.model)
    if args.input_size is not None:
        parse_input_size(args.input_size)
    if args.photo is not None:
        if args.image is not None:
            raise UsageError(f"give an image file or --photo, not both (got {args.image!r} and --photo {args.photo})")
        from ..demo.photos import load_photo
        try:
            return load_photo(args.photo)
        except ImportError as exc:
            raise CommandFailed(str(exc)) from None
    if args.image is None:
        raise UsageError("give an image file, or --photo NAME for a bundled photograph")
    return _read_image(args.image, args.max_pixels)


def _load_model(args):
    """(the model, its adapter) for ``--model``; a model with a fixed input size but no declared crop gets the
    declaration's default (the ImageNet rule), said on stderr when it is used."""
    from ..models import as_model
    from ..models.declaration import IMAGENET_CROP_FRACTION, ImageFit
    if args.model in (None, "demo"):
        from ..demo import load_model
        model = load_model()
    else:
        from .models import load_model_spec
        model = load_model_spec(args.model, input_size=args.input_size)
    adapter = as_model(model)
    decl = adapter.declaration
    if decl.fixed_size is not None and decl.crop is None:
        adapter.declaration = decl.replace(crop=ImageFit(size=decl.fixed_size, crop_fraction=IMAGENET_CROP_FRACTION))
        adapter.cli_crop_note = True
    return adapter


def _view(adapter, original):
    """(the region of ``original`` the model sees or None, the image the overlay is drawn on)."""
    from ..models.declaration import ImageFit
    crop, size = adapter.declaration.crop, adapter.declaration.fixed_size
    if size is None or original.shape[:2] == size or crop is None:
        return None, original
    if isinstance(crop, ImageFit):
        if getattr(adapter, "cli_crop_note", False):
            print(f"note: the model declares no crop; the {original.shape[1]} x {original.shape[0]} image was "
                  f"{crop.describe()} (the default of saliency_widgets.models.declare, crop='imagenet')",
                  file=sys.stderr)
        return crop.region(*original.shape[:2]), original
    return None, None  # a crop of the user's own: the overlay shows the model's view


def run(args) -> int:
    from ..plotting import write_png
    from .models import class_names

    spec = get_method(args.method)
    original = _check_first(args, spec)  # nothing imported yet that loads a framework
    adapter = _load_model(args)
    explainer = make_explainer(spec.key, adapter, budget=args.budget, seed=args.seed, progress=False,
                               **{name: getattr(args, name) for name in option_names()})
    region, canvas = _view(adapter, original)
    try:
        image = adapter.fit(original)  # the declared pixel rule and crop, once (a method without a model too)
        exp = _explain_with_progress(explainer, image, args.target, spec.key)
    except ValueError as exc:  # e.g. a --target out of range, an image the declaration refuses: the user's input
        raise UsageError(str(exc)) from None
    except Exception as exc:
        raise CommandFailed(f"{spec.key}: {type(exc).__name__}: {exc}") from None
    labels = class_names(adapter, image)
    del image
    size = original.shape
    if canvas is not original:  # a crop of the user's own: the overlay shows the model's view
        canvas, region = adapter.fit(original), None
    drawn = full_size_overlay(canvas, exp.saliency, region, alpha=args.alpha, cmap=args.cmap, inplace=True)
    del original, canvas
    write_atomic(args.out, lambda f: write_png(f, drawn))
    if args.save_npz:
        try:
            exp.save(args.save_npz)
        except OSError as exc:
            raise CommandFailed(f"cannot write --save-npz {args.save_npz!r}: {exc.strerror or exc}") from None
    name = labels[exp.target] if 0 <= exp.target < len(labels) else "no class: the map ignores the model"
    print(f"{label_of(explainer, budget=True)} ({spec.key}): class {exp.target} ({name}), p = {exp.score:.3f}, "
          f"{exp.n_forward} forward passes -> {args.out} ({size[1]} x {size[0]})")
    for note in exp.notes:  # what the map's reader must know (e.g. Integrated Gradients' completeness)
        print(f"note: {note}")
    return 0


def add_parser(subparsers):
    """Add the ``explain`` subcommand to an argparse ``subparsers`` object."""
    p = subparsers.add_parser("explain", help="write an image with its saliency overlay",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="Explain the model's decision on one image and write the image with its "
                                   "saliency map drawn over it, at the image's own size.",
                       epilog="methods:\n" + "\n".join(f"  {k:26s} {s.label}: {s.summary}"
                                                       for k, s in METHODS.items()) + "\n\n" + EXIT_STATUS)
    p.add_argument("image", nargs="?", default=None,
                   help="an image file (PNG, JPEG...); the model sees it resized to cover its input and "
                        "centre-cropped, the overlay is drawn on the whole image at its own size (the "
                        "cropped-off edges stay uncoloured)")
    p.add_argument("--photo", default=None, choices=sorted(PHOTOS), metavar="NAME",
                   help="a bundled photograph instead of an image file: " + ", ".join(sorted(PHOTOS)))
    p.add_argument("--model", default=None,
                   help="an ImageNet model name (" + ", ".join(imagenet_model_names()) + "; efficientnet-lite0 "
                        "works offline with the 'imagenet' extra, the Keras ones download their weights), a .keras "
                        "file or a Python import path package.module:attribute (a Keras model, PyTorch "
                        "module, JAX function or callable, or a class / function of no arguments returning one; "
                        "default: the bundled demo model)")
    p.add_argument("--input-size", default=None, metavar="H,W[,C]",
                   help="the image size a PyTorch module or a function takes when it does not declare one "
                        "(saliency_widgets.models.declare); an image of another size is brought to it by the "
                        "ImageNet rule (short side to H / 0.875, centre crop). A model that declares its size, "
                        "and a Keras model, need none")
    p.add_argument("--method", default="mask-update", choices=list(METHODS),
                   help=f"a registry key (default: mask-update = {METHODS['mask-update'].label!r})")
    p.add_argument("--target", type=int, default=None, help="class index (default: the top-1 class)")
    p.add_argument("--budget", type=int, default=None,
                   help="forward passes (the method's steps / masks / samples; default: the method's own, "
                        "an error for a method without a budget)")
    for name in option_names():
        ranges = ", ".join(f"{s.key}: {o.default} in [{o.low}, {o.high}]" for s in METHODS.values()
                           for n, o in s.options.items() if n == name)
        p.add_argument(f"--{name}", type=int, default=None, help=f"default per method ({ranges})")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--alpha", type=float, default=0.5, help="overlay opacity")
    p.add_argument("--cmap", default="viridis",
                   help="matplotlib colormap of the overlay (default: viridis, perceptually uniform; jet as in the "
                        "original prototype)")
    p.add_argument("--out", default="overlay.png",
                   help="output PNG, at the input image's size (default: overlay.png); its folder must exist, "
                        "and an existing file is replaced only with --force")
    p.add_argument("--save-npz", default=None,
                   help="also save the explanation (.npz with metadata), at the model's input resolution (the "
                        "map the metrics read); an existing file is replaced only with --force")
    p.add_argument("--force", action="store_true", help="replace existing output files")
    p.add_argument("--max-pixels", type=int, default=None, metavar="N", help=max_pixels_help())
    p.set_defaults(func=run)
    return p
