"""``python -m saliency_widgets evaluate``: the pointing game on a VOC / COCO folder, here or on a Dask cluster.

Registered by ``__main__`` with :func:`add_parser`; :func:`run` does the work.
"""
from __future__ import annotations

import functools
import json
import os
import sys

__all__ = ["add_parser", "run", "model_factory"]


def add_parser(subparsers):
    """Add the ``evaluate`` subcommand to an argparse ``subparsers`` object."""
    p = subparsers.add_parser(
        "evaluate", help="score methods on a VOC / COCO dataset (pointing game, all / difficult), optionally on "
                         "a Dask cluster",
        description="Explain every (image, class present) of a dataset with each method and write the results "
                    "file (resumable) and the per-class pointing table (markdown).")
    p.add_argument("--dataset", required=True,
                   help="voc:PATH (the folder with Annotations/, JPEGImages/, ImageSets/Main/) or "
                        "coco:ANNOTATIONS.json[:IMAGE_FOLDER]")
    p.add_argument("--model", default="demo",
                   help="demo (the bundled model), an ImageNet model name (MobileNetV2, ResNet50, VGG16), or a "
                        ".keras file")
    p.add_argument("--methods", default="rise", help="comma-separated registry keys (e.g. mask-update,rise,center)")
    p.add_argument("--budget", type=int, default=None, help="forward passes per map (steps / masks / samples)")
    p.add_argument("--out", default="results.jsonl", help="results file (JSON lines; an existing one is resumed)")
    p.add_argument("--table", default=None, help="markdown table file (default: OUT with .md)")
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
    p.add_argument("--limit", type=int, default=None, help="only the first N images (a quick try)")
    p.add_argument("--scheduler", default=None, help="a Dask scheduler address (tcp://host:8786)")
    p.add_argument("--workers", type=int, default=None,
                   help="start a LocalCluster of N worker processes (one thread each)")
    p.add_argument("--shard-size", type=int, default=4, help="images per cluster task")
    p.add_argument("--seed", type=int, default=0, help="seed of the seeded methods")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)
    return p


def model_factory(name: str):
    """(picklable factory, input size (H, W)) for ``demo``, an ImageNet model name or a .keras file."""
    from .demo import IMAGE_SIZE, load_model
    from .demo.imagenet import IMAGENET_MODELS, load_imagenet_model
    if name == "demo":
        return functools.partial(load_model), (IMAGE_SIZE, IMAGE_SIZE)
    if name in IMAGENET_MODELS:
        side = IMAGENET_MODELS[name][2]
        return functools.partial(load_imagenet_model, name), (side, side)
    if name.endswith(".keras"):
        if not os.path.exists(name):
            raise FileNotFoundError(f"model file {name!r} not found")
        path = os.path.abspath(name)
        shape = load_model(path).input_shape  # read once here for the input size; workers load their own
        if shape[1] is None or shape[2] is None:
            raise ValueError(f"{name} takes images of any size: the dataset needs a fixed input size")
        return functools.partial(load_model, path), (int(shape[1]), int(shape[2]))
    raise ValueError(f"--model must be 'demo', one of {sorted(IMAGENET_MODELS)}, or a .keras file, got {name!r}")


def _dataset(args, size):
    from .datasets import VOCDataset, open_dataset
    from .demo import CLASS_NAMES
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


def run(args) -> int:
    from .evaluation import evaluate
    from .registry import get_method
    factory, size = model_factory(args.model)
    ds = _dataset(args, size)
    if args.limit is not None:
        ds = ds.subset(ds.indices()[:args.limit])
    methods = {}
    for key in (m.strip() for m in args.methods.split(",") if m.strip()):
        spec = get_method(key)
        params = {}
        if args.budget is not None and spec.budget_arg:
            params[spec.budget_arg] = args.budget
        if spec.seeded:
            params["seed"] = args.seed
        methods[spec.label] = (spec.key, params)
    metrics = tuple(m.strip() for m in args.metrics.split(",") if m.strip())
    unmapped = ds.unmapped()
    if unmapped:
        print(f"note: classes without a model class are not scored: {unmapped}", file=sys.stderr)
    common = dict(metrics=metrics, results=args.out, progress=not args.no_progress, tolerance=args.tolerance)
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
        from .registry import build
        rows = evaluate({name: build(key, model, **p) for name, (key, p) in methods.items()}, ds, model=model,
                        **common)
    text = (f"# Pointing game: {args.dataset} ({len(ds)} images), model {args.model}\n\n"
            + rows.pointing_table(ds.class_names) + "\n\n## All metrics\n\n" + rows.to_markdown() + "\n")
    table = args.table or os.path.splitext(args.out)[0] + ".md"
    tmp = table + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, table)
    print(text)
    print(f"rows: {args.out}; table: {table}")
    return 0
