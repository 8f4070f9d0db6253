"""Insertion + deletion for one 224 x 224 image at step 224 against the forward-pass floor.

Target: at most 2 x 225 forward passes, within 1.1x of their floor.
Also printed: the cost of the shared ranking rule (seeded random tie order) against a plain argsort,
per 224 x 224 map.

    python benchmarks/bench_metrics.py [--json benchmarks/metrics.json]

:func:`render` is the section benchmarks/RESULTS.md shows, from the stored JSON.
"""
from __future__ import annotations

import _common
import numpy as np


def ranking_overhead(reps: int = 20):
    import time

    from saliency_widgets.metrics import rank_order

    sal = np.random.default_rng(1).random((224, 224))
    t0 = time.perf_counter()
    for _ in range(reps):
        np.argsort(-sal, axis=None, kind="stable")
    t1 = time.perf_counter()
    for _ in range(reps):
        rank_order(sal, tie_seed=0)
    t2 = time.perf_counter()
    print(f"ranking one 224 x 224 map: argsort {1e3 * (t1 - t0) / reps:.1f} ms, rank_order (seeded ties) "
          f"{1e3 * (t2 - t1) / reps:.1f} ms")
    return 1e3 * (t1 - t0) / reps, 1e3 * (t2 - t1) / reps


def main(argv=None):
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", default=None, help="store the figures and their provenance here")
    args = ap.parse_args(argv)
    meta = _common.provenance("bench_metrics.py", argv)
    argsort_ms, rank_ms = ranking_overhead()
    import keras
    from saliency_widgets import as_model
    from saliency_widgets.metrics import deletion, insertion

    keras.utils.set_random_seed(0)
    net = keras.applications.MobileNetV2(weights=None, input_shape=(224, 224, 3))
    img = np.random.default_rng(0).uniform(-1, 1, (224, 224, 3)).astype(np.float32)
    sal = np.random.default_rng(1).random((224, 224))
    thr, bs = _common.best_throughput(as_model(net, batch_size=64).predict, lambda b: np.repeat(img[None], b, 0),
                                      sizes=(16, 32, 64))
    print(f"machine: {_common.machine()}")
    print(f"forward floor: {thr:.1f} img/s at batch {bs}")
    model = as_model(net, batch_size=bs)
    counted = []
    inner = model.fn
    model.fn = lambda b: (counted.append(len(b)), inner(b))[1]
    insertion(model, img, sal, 0, step=224)  # warm-up
    counted.clear()
    (_, t_ins), (_, t_del) = _common.timed(insertion, model, img, sal, 0), _common.timed(deletion, model, img, sal, 0)
    passes = sum(counted)
    floor = passes / thr
    print(f"insertion + deletion: {passes} forward passes (limit 450) in {t_ins + t_del:.2f} s; floor {floor:.2f} s; "
          f"wall / floor = {(t_ins + t_del) / floor:.3f} (target <= 1.1)")
    if args.json:
        _common.save_json(args.json, {"meta": meta, "report": {
            "floor_img_s": thr, "batch": bs, "passes": passes, "wall_s": t_ins + t_del, "floor_s": floor,
            "ratio": (t_ins + t_del) / floor, "argsort_ms": argsort_ms, "rank_order_ms": rank_ms}})


def render(data: dict) -> str:
    """The section of benchmarks/RESULTS.md, from the stored JSON."""
    r = data["report"]
    return "\n".join([
        _common.provenance_line(data["meta"]), "",
        f"Insertion + deletion of one 224 x 224 image at step 224 with Keras MobileNetV2 (random weights; RISE's "
        f"protocol): **{r['passes']} forward passes** (limit 2 x 225 "
        f"{_common.mark(r['passes'] <= 450)}), {r['wall_s']:.2f} s against a floor of {r['floor_s']:.2f} s "
        f"({r['floor_img_s']:.1f} img/s at batch {r['batch']}): **{r['ratio']:.3f}x the floor** (target <= 1.1x "
        f"{_common.mark(r['ratio'] <= 1.1)}). Ranking one 224 x 224 map with the shared rule (seeded random "
        f"order among ties): {r['rank_order_ms']:.1f} ms, against {r['argsort_ms']:.1f} ms for a plain argsort."]) + "\n"


if __name__ == "__main__":
    main()
