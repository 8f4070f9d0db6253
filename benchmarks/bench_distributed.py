"""evaluate() on a Dask LocalCluster vs in one process.

The same evaluation -- the demo model, ``--scenes`` demo scenes written as a
VOC folder, RISE (seeded) with ``--budget`` masks, the pointing game -- run

1. with plain ``evaluate()`` in this process,
2. on a LocalCluster of 1 worker process (1 thread),
3. on a LocalCluster of 2 worker processes (1 thread each),

every process with TensorFlow and BLAS held to one thread (and the workers
without Dask's MALLOC_TRIM_THRESHOLD_, so they run in this process's
environment), so that "2 workers" means 2 cores' worth of work and "1 worker" one.  Each configuration is warmed up
first on two images (model loaded, graph traced), then timed on all; rows go
to a fresh results file per run; ``--rounds`` interleaved rounds, the best time
of each run counts.  Reports maps/s, the 2-vs-1-worker speed-up (target >= 1.7x)
and the 1-worker cluster path's overhead against plain evaluate() (target <= 5%),
and checks that the three runs wrote the same rows.

Run from the repository root: ``python benchmarks/bench_distributed.py [--scenes 200] [--budget 200] [--rounds 2]
[--json benchmarks/distributed.json]``; :func:`render` is the section benchmarks/RESULTS.md shows.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ["TF_NUM_INTRAOP_THREADS"] = "1"  # read by TF at start-up, in this process and in the workers
os.environ["TF_NUM_INTEROP_THREADS"] = "1"
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):  # as Dask's nanny sets them
    os.environ[_var] = "1"

from benchmarks import _common  # noqa: E402
from benchmarks._common import machine  # noqa: E402


def one_thread_demo_model():
    """The demo model in a process whose TensorFlow uses one thread (the workers' factory)."""
    import tensorflow as tf
    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # already initialised in this process: the environment variables held it
        pass
    from saliency_widgets.demo import load_model
    return load_model()


def _warm(factory, key):
    """Build the model in a worker's cache (returns nothing: a model does not travel back)."""
    from saliency_widgets.evaluation.cluster import worker_model
    worker_model(factory, key)


def _methods(budget):
    return {"RISE": ("rise", {"masks": budget, "seed": 0})}


def run_plain(ds, warm, budget, metrics, out):
    from saliency_widgets import evaluate
    from saliency_widgets.registry import build
    model = one_thread_demo_model()
    explainers = {name: build(key, model, **p) for name, (key, p) in _methods(budget).items()}
    evaluate(explainers, warm, metrics=metrics, progress=False, sanity=False)
    t0 = time.perf_counter()
    rows = evaluate(explainers, ds, metrics=metrics, results=out, progress=False, sanity=False)
    return time.perf_counter() - t0, rows


def run_cluster(ds, warm, budget, metrics, out, n_workers):
    import dask
    from distributed import Client, LocalCluster

    from saliency_widgets import evaluate
    # workers get this process's environment: Dask's default MALLOC_TRIM_THRESHOLD_ would make them
    # allocate differently from the plain run (a worker setting, not a cost of the cluster path)
    dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None})
    with LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=40) as cluster, Client(cluster) as client:
        kw = dict(client=client, model_factory=one_thread_demo_model, metrics=metrics, progress=False,
                  sanity=False)
        # warm every worker: one shard each (model loaded and traced in each process)
        from saliency_widgets.evaluation.cluster import _factory_key
        client.run(_warm, one_thread_demo_model, _factory_key(one_thread_demo_model))
        evaluate(_methods(budget), warm, shard_size=1, **kw)
        t0 = time.perf_counter()
        rows = evaluate(_methods(budget), ds, results=out, shard_size=2, **kw)
        return time.perf_counter() - t0, rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenes", type=int, default=200)
    ap.add_argument("--budget", type=int, default=200, help="RISE masks per map")
    ap.add_argument("--rounds", type=int, default=2, help="interleaved rounds; the best time of each run counts")
    ap.add_argument("--json", default=None, help="store the figures and their provenance here")
    args = ap.parse_args(argv)
    meta = _common.provenance("bench_distributed.py", argv)
    from saliency_widgets.datasets import demo_voc, write_demo_voc
    metrics = ("pointing", "pointing_strict")
    tmp = tempfile.mkdtemp(prefix="bench_distributed_")
    root = write_demo_voc(os.path.join(tmp, "voc"), args.scenes, seed=0)
    ds = demo_voc(root)
    warm = ds.subset(ds.indices()[:2])
    n_maps = sum(len(ds.labels(i)) for i in ds.indices())
    print(f"# evaluate on a LocalCluster -- {machine()}")
    print(f"{args.scenes} demo scenes as VOC, {n_maps} maps (RISE, {args.budget} masks), pointing game\n")
    with open("/proc/loadavg") as f:
        print(f"load average before: {f.read().split()[:3]}")
    runs = {"plain evaluate(), 1 process": lambda out: run_plain(ds, warm, args.budget, metrics, out),
            "cluster, 1 worker x 1 thread": lambda out: run_cluster(ds, warm, args.budget, metrics, out, 1),
            "cluster, 2 workers x 1 thread": lambda out: run_cluster(ds, warm, args.budget, metrics, out, 2)}
    results = {name: float("inf") for name in runs}
    rows_of = {}
    for k in range(args.rounds):  # interleaved rounds, best of each: the machine's load drifts
        for j, (name, fn) in enumerate(runs.items()):
            t, rows = fn(os.path.join(tmp, f"r{k}_{j}.jsonl"))
            print(f"round {k + 1}: {name}: {t:.1f} s", flush=True)
            if t < results[name]:
                results[name], rows_of[name] = t, rows
    plain, one, two = rows_of.values()
    with open("/proc/loadavg") as f:
        print(f"load average after: {f.read().split()[:3]}\n")
    key = lambda rows: sorted((r["image"], r["target"], r["method"], r["hit"], r["hit_strict"]) for r in rows)
    same = key(plain) == key(one) == key(two)
    # wall = time inside explain() (the model's and the method's work, which another process on a shared
    # machine can slow down) + everything else (for the cluster: dispatch, transfer, decoding, writing)
    print("| run | wall s | maps/s | mean s / map inside explain() | s outside explain() (total) |\n"
          "|---|---|---|---|---|")
    outside = {}
    for (name, t), rows in zip(results.items(), (plain, one, two)):
        inside = sum(r["seconds"] for r in rows)
        outside[name] = t - inside if name != "cluster, 2 workers x 1 thread" else t - inside / 2
        print(f"| {name} | {t:.1f} | {n_maps / t:.2f} | {inside / len(rows):.3f} | {outside[name]:.1f} |")
    plain_t, one_t, two_t = results.values()
    speedup = one_t / two_t
    overhead = one_t / plain_t - 1
    print(f"\nspeed-up 2 vs 1 worker: **{speedup:.2f}x** (target >= 1.7x) {'✔' if speedup >= 1.7 else '✘'}")
    print(f"cluster overhead (1 worker vs plain): **{100 * overhead:+.1f}%** (target <= 5%) "
          f"{'✔' if overhead <= 0.05 else '✘'}")
    path_cost = (outside["cluster, 1 worker x 1 thread"] - outside["plain evaluate(), 1 process"]) / plain_t
    print(f"cluster path's own cost (time outside explain(), 1 worker minus plain, over plain's wall): "
          f"{100 * path_cost:+.1f}%")
    print(f"same rows in the three runs: {same}")
    if args.json:
        table = [{"run": name, "wall_s": t, "maps_per_s": n_maps / t,
                  "inside_s_per_map": sum(r["seconds"] for r in rows) / len(rows), "outside_s": outside[name]}
                 for (name, t), rows in zip(results.items(), (plain, one, two))]
        _common.save_json(args.json, {"meta": meta, "scenes": args.scenes, "maps": n_maps, "budget": args.budget,
                                      "rounds": args.rounds, "runs": table, "speedup": speedup, "overhead": overhead,
                                      "path_cost": path_cost, "same_rows": same})
    return 0 if same else 1


def render(data: dict) -> str:
    """The section of benchmarks/RESULTS.md, from the stored JSON."""
    lines = [_common.provenance_line(data["meta"]), "",
             f"{data['scenes']} demo scenes written as a VOC folder, {data['maps']} (image, class) maps, RISE "
             f"({data['budget']} masks, seed 0), pointing game; plain `evaluate()` in one process against a "
             f"`LocalCluster` of 1 and of 2 worker processes (one thread each; TensorFlow and BLAS held to one "
             f"thread everywhere); best of {data['rounds']} interleaved rounds each.", "",
             "| run | wall | maps/s | mean s / map inside explain() | s outside explain() |",
             "| --- | --- | --- | --- | --- |"]
    for r in data["runs"]:
        lines.append(f"| {r['run']} | {r['wall_s']:.1f} s | {r['maps_per_s']:.2f} | {r['inside_s_per_map']:.3f} | "
                     f"{r['outside_s']:.1f} |")
    lines += ["", f"Speed-up 2 vs 1 worker **{data['speedup']:.2f}x** (target >= 1.7x "
                  f"{_common.mark(data['speedup'] >= 1.7)}); cluster overhead, 1 worker vs plain "
                  f"**{100 * data['overhead']:+.1f}%** (target <= 5% {_common.mark(data['overhead'] <= 0.05)}); the "
                  f"cluster path's own cost (time outside explain()) {100 * data['path_cost']:+.1f}% of the plain "
                  f"wall time; the three runs wrote {'the same' if data['same_rows'] else 'DIFFERENT'} rows. "
                  "Scaling needs two free cores: on a loaded machine the two workers share them with other work "
                  "(the load average is in the line above)."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
