"""Explainer speed against the model's own forward-pass floor, memory, and the prototype's pattern.

Model: Keras MobileNetV2 (weights=None, 224 x 224).  Prints:
- the forward-pass floor: passes / best-batch throughput of a compiled call;
- each explainer's efficiency = floor time / wall time (target >= 0.95), the floor being the
  same number of forward passes at the same batch size, timed in alternating rounds with the
  explainer (median of the rounds' ratios);
- peak RSS growth of Rise(masks=8000) at 224 x 224 (target <= 300 MB), measured
  in a fresh process with a cheap model so the explainer's own memory shows;
- MaskUpdate's speed-up over the prototype's pattern (steps of batch-1
  ``model.predict``), target >= 7x.

Usage: python benchmarks/bench_explainers.py [--passes 1024] [--rounds 5] [--prototype-steps 40]
    [--json benchmarks/explainers.json]
(``MASKS_ON=device`` in the environment times TensorFlow's own mask making instead of the host path.)
``--json`` stores the figures with their provenance; :func:`render` is the section benchmarks/RESULTS.md
shows (``python -m tools.claims`` re-renders it from the JSON).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import _common  # noqa: F401  (quiet TensorFlow)
import numpy as np

RSS_CHILD = r"""
import sys, numpy as np
sys.path.insert(0, ".")
from saliency_widgets import Rise

def status(key):  # kB from /proc/self/status: VmRSS now, VmHWM the peak so far
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(key))

model = lambda x: np.stack([x.mean((1, 2, 3)), 1 - x.mean((1, 2, 3))], 1)
img = np.random.default_rng(0).random((224, 224, 3)).astype(np.float32)
Rise(model, masks=64, batch_size=64, seed=0).explain(img, 0)  # first allocations, imports
try:
    with open("/proc/self/clear_refs", "w") as f:  # reset the peak (VmHWM) to the current RSS
        f.write("5")
except OSError:
    pass
before = status("VmRSS:")
Rise(model, masks=8000, batch_size=64, seed=0).explain(img, 0)
print((status("VmHWM:") - before) / 1024)
"""


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--passes", type=int, default=1024)
    ap.add_argument("--prototype-steps", type=int, default=40)
    ap.add_argument("--mask-update-steps", type=int, default=5000)
    ap.add_argument("--rounds", type=int, default=5, help="alternating floor / explainer timings")
    ap.add_argument("--json", default=None, help="store the figures and their provenance here")
    args = ap.parse_args(argv)
    meta = _common.provenance("bench_explainers.py", argv)

    import keras
    from saliency_widgets import MaskUpdate, Rise, as_model

    keras.utils.set_random_seed(0)
    net = keras.applications.MobileNetV2(weights=None, input_shape=(224, 224, 3))
    adapter = as_model(net, batch_size=64)
    rng = np.random.default_rng(0)
    img = rng.uniform(-1, 1, (224, 224, 3)).astype(np.float32)
    thr, best_bs = _common.best_throughput(adapter.predict, lambda b: np.repeat(img[None], b, 0), sizes=(16, 32, 64))
    print(f"machine: {_common.machine()}")
    print(f"forward floor: {thr:.1f} img/s at batch {best_bs} (compiled call)")
    model = as_model(net, batch_size=best_bs, masks_on=os.environ.get("MASKS_ON", "auto"))
    print(f"masks made by: {model.backend}")
    report = {"throughput": thr, "batch": best_bs, "backend": model.backend.name}

    # Floor and explainer are timed in alternating rounds at the same batch size, so the load on
    # this shared machine weighs on both alike; efficiency = the median of the rounds' ratios.
    n = args.passes
    batch = np.repeat(img[None], best_bs, 0)

    def floor_pass():  # the n + 1 forward passes an explanation makes, on a fixed batch
        for i in range(0, n + 1, best_bs):
            model.predict(batch[:min(best_bs, n + 1 - i)])

    for name, explainer in [("rise", Rise(model, masks=n, seed=0)),
                            ("mask-update (64 chains)", MaskUpdate(model, steps=n, chains=64, seed=0))]:
        explainer.explain(img, 0)  # warm-up (traces the compiled function for this batch shape)
        floor_pass()
        floors, walls = [], []
        for _ in range(args.rounds):
            floors.append(_common.timed(floor_pass)[1])
            walls.append(_common.timed(explainer.explain, img, 0)[1])
        ratios = np.array(floors) / np.array(walls)
        eff = float(np.median(ratios))
        print(f"{name}: {n} passes, {args.rounds} rounds: wall {np.median(walls):.2f} s, floor "
              f"{np.median(floors):.2f} s (median), efficiency {eff:.3f} (rounds: "
              f"{', '.join(f'{r:.3f}' for r in ratios)})")
        report[name] = {"wall": float(np.median(walls)), "floor": float(np.median(floors)), "efficiency": eff,
                        "rounds": ratios.round(4).tolist()}

    rss = float(subprocess.run([sys.executable, "-c", RSS_CHILD], capture_output=True, text=True,
                               check=True).stdout.strip().splitlines()[-1])
    print(f"Rise(masks=8000) at 224x224: peak RSS growth {rss:.0f} MB (a full N x H x W mask array would be "
          f"{8000 * 224 * 224 * 4 / 1e6:.0f} MB)")
    report["rise_8000_rss_mb"] = rss

    # The prototype's pattern: one batch-1 model.predict per step.
    x1 = img[None]
    net.predict(x1, verbose=0)
    _, t_proto = _common.timed(lambda: [net.predict(x1, verbose=0) for _ in range(args.prototype_steps)])
    per_step = t_proto / args.prototype_steps
    steps = args.mask_update_steps
    mu = MaskUpdate(model, steps=steps, seed=0)
    mu.explain(img, 0)
    _, t_mu = _common.timed(mu.explain, img, 0)
    proto_total = per_step * steps
    print(f"prototype pattern: {1000 * per_step:.1f} ms per batch-1 predict -> {proto_total:.0f} s for {steps} "
          f"steps (extrapolated from {args.prototype_steps}); MaskUpdate(steps={steps}, chains={mu.chains}): "
          f"{t_mu:.1f} s -> speed-up {proto_total / t_mu:.1f}x")
    report["prototype_step_ms"] = 1000 * per_step
    report["mask_update_5000_s"] = t_mu
    report["speedup"] = proto_total / t_mu
    report["mask_update_steps"] = steps
    report["mask_update_chains"] = mu.chains
    report["passes"] = n
    report["rounds_n"] = args.rounds
    print(json.dumps(report))
    if args.json:
        _common.save_json(args.json, {"meta": meta, "report": report})


def render(data: dict) -> str:
    """The section of benchmarks/RESULTS.md, from the stored JSON."""
    r, meta = data["report"], data["meta"]
    n, floor = r["passes"], r["throughput"]
    rise, mu = r["rise"], r["mask-update (64 chains)"]
    bound = floor * r["prototype_step_ms"] / 1000
    lines = [_common.provenance_line(meta), "",
             f"Keras MobileNetV2 (random weights), 224 x 224. Forward-pass floor: {floor:.1f} img/s at batch "
             f"{r['batch']} (the best compiled-call throughput over batch 16, 32 and 64); masks made by "
             f"{r['backend']}. Efficiency = the floor's time for the same {n} + 1 passes at the same batch size / "
             f"the explainer's wall time, timed in {r['rounds_n']} alternating rounds (median of the rounds' "
             "ratios), so the machine's load weighs on both alike.", "",
             "| measurement | result | target |", "| --- | --- | --- |",
             f"| `Rise(masks={n})`: {rise['wall']:.2f} s against {rise['floor']:.2f} s | efficiency "
             f"**{rise['efficiency']:.3f}** (rounds {min(rise['rounds']):.2f}-{max(rise['rounds']):.2f}) | "
             f">= 0.95 {_common.mark(rise['efficiency'] >= 0.95)} |",
             f"| `MaskUpdate(steps={n}, chains=64)`: {mu['wall']:.2f} s against {mu['floor']:.2f} s | efficiency "
             f"**{mu['efficiency']:.3f}** (rounds {min(mu['rounds']):.2f}-{max(mu['rounds']):.2f}) | "
             f">= 0.95 {_common.mark(mu['efficiency'] >= 0.95)} |",
             f"| peak RSS growth of `Rise(masks=8000)` at 224 x 224 (a cheap model, a fresh process) | "
             f"**{r['rise_8000_rss_mb']:.0f} MB** (all masks at once: {8000 * 224 * 224 * 4 / 1e6:,.0f} MB) | "
             f"<= 300 MB {_common.mark(r['rise_8000_rss_mb'] <= 300)} |",
             f"| the prototype's pattern, one batch-1 `predict` per step ({r['prototype_step_ms']:.1f} ms), "
             f"against `MaskUpdate(steps={r['mask_update_steps']}, chains={r['mask_update_chains']})` "
             f"({r['mask_update_5000_s']:.1f} s) | **{r['speedup']:.1f}x** faster (bounded by floor x batch-1 "
             f"latency = {bound:.1f}x) | >= 7x {_common.mark(r['speedup'] >= 7)} |"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
