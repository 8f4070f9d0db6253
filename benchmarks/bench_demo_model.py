"""Throughput of the bundled demo model at several batch sizes (target >= 2,000 images/s on 2 cores).

    python benchmarks/bench_demo_model.py [--json benchmarks/demo_model.json]

:func:`render` is the section benchmarks/RESULTS.md shows, from the stored JSON.
"""
from __future__ import annotations

import argparse

import _common
import numpy as np

BATCHES = (32, 64, 128, 256, 512)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", default=None, help="store the figures and their provenance here")
    args = ap.parse_args(argv)
    meta = _common.provenance("bench_demo_model.py", argv)
    from saliency_widgets import as_model
    from saliency_widgets.demo import load_model, make_scenes

    images = make_scenes(512, seed=0).images.astype(np.float32)
    print(f"machine: {_common.machine()}")
    rows = []
    for bs in BATCHES:
        m = as_model(load_model(), batch_size=bs)
        m.predict(images[:bs])
        t = min(_common.timed(m.predict, images)[1] for _ in range(3))
        rows.append({"batch": bs, "images_per_s": len(images) / t})
        print(f"batch {bs:4d}: {len(images) / t:7.0f} images/s")
    if args.json:
        _common.save_json(args.json, {"meta": meta, "rows": rows})


def render(data: dict) -> str:
    """The section of benchmarks/RESULTS.md, from the stored JSON."""
    rows = data["rows"]
    best = max(rows, key=lambda r: r["images_per_s"])
    cells = [f"**{r['images_per_s']:,.0f}**" if r is best else f"{r['images_per_s']:,.0f}" for r in rows]
    return "\n".join([_common.provenance_line(data["meta"]), "",
                      "| batch | " + " | ".join(str(r["batch"]) for r in rows) + " |",
                      "| --- |" + " --- |" * len(rows),
                      "| images/s | " + " | ".join(cells) + " |", "",
                      f"Target >= 2,000 images/s at the best batch size: {best['images_per_s']:,.0f} at batch "
                      f"{best['batch']} {_common.mark(best['images_per_s'] >= 2000)}."]) + "\n"


if __name__ == "__main__":
    main()
