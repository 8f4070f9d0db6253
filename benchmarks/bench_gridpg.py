"""GridPG on the bundled real photos (issue 24 items 4-5): every method against RISE at equal forward passes.

2 x 2 mosaics of the bundled photos (:func:`saliency_widgets.datasets.gridpg_mosaics`: a seeded
draw, a tile kept when its class is in EfficientNet-Lite0's top-k on the whole mosaic), scored by
``evaluate`` with the grid pointing game (the map's maximum inside the target tile: ``hit_strict``)
and the share of positive attribution mass in the tile (Rao et al.: ``energy``; after subtracting
the map's mean: ``energy_centred``).  Each method's difference from RISE is paired per case, with
a 95% cluster-bootstrap interval over mosaics (2000 resamples, seed 0).

The moonshot (``--moonshot``): the candidate readings were tried on the development mosaics
(``--seed``); the one with the highest mean ``energy_centred`` (the primary score, fixed before
the run) is then run with RISE on mosaics of other seeds (``--heldout-seeds``), and its
difference from RISE is also reported per held-out photo (only the cases whose target tile is
that photo).

    python benchmarks/bench_gridpg.py                       # the full table (outside CI)
    python benchmarks/bench_gridpg.py --mosaics 4 --passes 64 --methods rise,mask-update,occlusion --no-write
    python benchmarks/bench_gridpg.py --device cuda --mosaics 48 --passes 2000   # on a GPU
    python benchmarks/bench_gridpg.py --add --methods gradient,smoothgrad   # more rows for the stored draw

``--add`` runs the methods named on the stored run's draw (its seed, mosaics, k and passes), checks that the
draw gives the same cases on this machine, and merges their rows into benchmarks/gridpg.json; the section
names each addition's command, machine and time.  The gradient methods run at their own sample budget
(``--gradient-budget``, default their constructor's), shown in the table's passes column.

It writes benchmarks/gridpg.json and regenerates its section of benchmarks/RESULTS.md.
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks._common import machine  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SCORES = ("hit_strict", "energy", "energy_centred")
METRICS = ("pointing_strict", "energy", "energy_centred")
#: the table's methods: the paper's, the default reading, method.md's readings, RISE, occlusion
GRADIENT_KEYS = ("gradient", "smoothgrad", "integrated-gradients", "guided-backprop")
FULL = ("mask-update-paper", "mask-update", "mask-update-relative", "mask-update-relative-score",
        "mask-update-relative-slope", "mask-update-slope", "rise", "occlusion") + GRADIENT_KEYS
#: the moonshot's candidates (at most three readings, tried on the development mosaics)
CANDIDATES = ("mask-update-relative-slope", "mask-update-relative-score", "mask-update-slope")
#: why a gradient method has no row (the rest: not run yet)
NOT_RUN = {"guided-backprop": "its guided rule hooks torch.nn.ReLU modules and EfficientNet-Lite0's activations "
                              "are nn.ReLU6 modules, so it refuses the model rather than silently computing the "
                              "vanilla gradient"}
SECTION = "## Grid pointing game on real photos (issue 24) -- `bench_gridpg.py`"


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mosaics", type=int, default=12, help="mosaics drawn per seed (default 12)")
    p.add_argument("--passes", type=int, default=500, help="forward passes per map, every method (default 500)")
    p.add_argument("--seed", type=int, default=0, help="the development draw of mosaics (default 0)")
    p.add_argument("--k", type=int, default=5, help="a tile is kept when its class is in the top-k (default 5)")
    p.add_argument("--methods", default=None, help="comma-separated registry keys (default: the full list)")
    p.add_argument("--device", default="cpu", help="torch device of the model: cpu or cuda (default cpu)")
    p.add_argument("--moonshot", action="store_true", help="also run the winning candidate on held-out mosaics")
    p.add_argument("--heldout-seeds", default="1,2", help="seeds of the held-out draws (default 1,2)")
    p.add_argument("--out", default=os.path.join(HERE, "gridpg.json"))
    p.add_argument("--no-write", action="store_true", help="print only; write neither the JSON nor RESULTS.md")
    p.add_argument("--add", action="store_true",
                   help="run --methods on the stored run's draw and merge their rows into --out")
    p.add_argument("--gradient-budget", type=int, default=None,
                   help="samples / steps of SmoothGrad and Integrated Gradients (default: their constructor's)")
    args = p.parse_args(argv)
    if args.add and not args.methods:
        p.error("--add needs --methods (the rows to add)")
    return args


def methods_for(keys, model, passes, gradient_budget=None):
    """{key: explainer} at ``passes`` forward passes (occlusion: the stride whose grid fits the budget; the
    gradient methods: ``gradient_budget`` samples or steps, default their constructor's)."""
    from saliency_widgets.registry import METHODS, get_method
    out = {}
    for key in keys:
        spec = get_method(key)
        if key in GRADIENT_KEYS:
            budget = {} if gradient_budget is None or spec.budget_arg is None else {"budget": gradient_budget}
            out[key] = spec.build(model, **budget)
        elif key == "occlusion":
            stride = max(1, math.ceil(224 / math.sqrt(passes)))
            out[key] = spec.build(model, window=max(2 * stride, 8), stride=stride)
        elif spec.budget_arg is not None:
            out[key] = spec.build(model, budget=passes)
        else:
            out[key] = spec.build(model)
    missing = [k for k in GRADIENT_KEYS if k in METHODS and k not in out]
    return out, missing


def run_set(model, keys, *, n, seed, k, passes, photos=None, gradient_budget=None):
    """(dataset, rows) of one draw of mosaics."""
    from saliency_widgets import evaluate
    from saliency_widgets.datasets import GRIDPG_PHOTOS, gridpg_mosaics
    ds = gridpg_mosaics(model, n, seed=seed, k=k, photos=photos or GRIDPG_PHOTOS)
    explainers, _ = methods_for(keys, model, passes, gradient_budget)
    rows = evaluate(explainers, ds, metrics=METRICS, progress=False, sanity=False)
    rows = [dict(r, seed=seed, photo=ds.photo_of(r["image"], r["target"]), mosaic=f"{seed}:{r['image']}")
            for r in rows]
    return ds, rows


def paired(rows, method, base="rise"):
    """{score: {mean, base, diff, ci, wins, losses}}: ``method`` minus ``base`` per case, bootstrap over mosaics."""
    from saliency_widgets.metrics.intervals import bootstrap_ci
    by = {(r["mosaic"], r["target"]): r for r in rows if r["method"] == base}
    out = {}
    for s in SCORES:
        pairs = [{"image": r["mosaic"], "d": float(r[s]) - float(by[(r["mosaic"], r["target"])][s]),
                  "v": float(r[s])} for r in rows if r["method"] == method and (r["mosaic"], r["target"]) in by]
        if not pairs:
            continue
        d = np.array([p["d"] for p in pairs])
        mean = float(np.mean([p["v"] for p in pairs]))
        ci = bootstrap_ci(pairs, lambda rs: float(np.mean([p["d"] for p in rs]))) if method != base else (0.0, 0.0)
        out[s] = {"mean": mean, "diff": float(d.mean()), "ci": [float(ci[0]), float(ci[1])],
                  "wins": int((d > 0).sum()), "losses": int((d < 0).sum()), "n": len(pairs)}
    return out


def table(rows, keys, labels):
    lines = ["| method | passes | pointing in tile | Δ vs RISE [95% CI] | energy share | centred energy share "
             "| Δ vs RISE [95% CI] |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for key in keys:
        p = paired(rows, key)
        if not p:
            continue
        nf = sorted({r["n_forward"] for r in rows if r["method"] == key})
        h, e, c = p["hit_strict"], p["energy"], p["energy_centred"]
        lines.append(f"| {labels[key]} | {'/'.join(map(str, nf))} | {h['mean']:.3f} | {_d(h)} | {e['mean']:.3f} "
                     f"| {c['mean']:.3f} | {_d(c)} |")
    return "\n".join(lines)


def _d(p):
    return f"{p['diff']:+.3f} [{p['ci'][0]:+.3f}, {p['ci'][1]:+.3f}]"


def moonshot(model, dev_rows, args, labels):
    """The winning candidate on the development rows, then on held-out seeds and per held-out photo."""
    dev = {c: paired(dev_rows, c)["energy_centred"] for c in CANDIDATES if any(r["method"] == c for r in dev_rows)}
    if not dev:
        return None
    winner = max(dev, key=lambda c: dev[c]["mean"])
    held = []
    for s in [int(x) for x in args.heldout_seeds.split(",") if x.strip()]:
        _, rows = run_set(model, [winner, "rise"], n=args.mosaics, seed=s, k=args.k, passes=args.passes)
        held += rows
    per_photo = {}
    for photo in sorted({r["photo"] for r in held}):
        sub = [r for r in held if r["photo"] == photo]
        per_photo[photo] = paired(sub, winner)
    return {"candidates": {c: dev[c] for c in dev}, "winner": winner, "winner_label": labels[winner],
            "heldout_seeds": args.heldout_seeds, "heldout": paired(held, winner) if held else None,
            "heldout_per_photo": per_photo, "heldout_rows": held}


def verdict_text(ms):
    if ms is None or ms["heldout"] is None:
        return "moonshot not run"
    h = ms["heldout"]["energy_centred"]
    clusters = len({r["mosaic"] for r in ms["heldout_rows"]})
    if clusters < 5:
        return f"{ms['winner_label']} vs RISE on held-out seeds: {_d(h)}; only {clusters} mosaics, no verdict"
    won = h["ci"][0] > 0
    return (f"{ms['winner_label']} (best of {len(ms['candidates'])} candidates on the development mosaics) vs RISE "
            f"on held-out seeds {ms['heldout_seeds']}: centred energy share {_d(h)} over {h['n']} cases: "
            + ("beats RISE" if won else "does not beat RISE (the interval does not exclude a loss or a tie)"))


def prose(result) -> dict:
    """{"readme", "notebook"}: the sentences README's verdict and notebook 05 quote, from a stored result."""
    m, ms, c = result["meta"], result["moonshot"], {k: v["energy_centred"] for k, v in result["methods"].items()}
    h = ms["heldout"]["energy_centred"]
    won = h["ci"][0] > 0
    cand = "; ".join(f"`{k}` {_d(v)}" for k, v in ms["candidates"].items())
    readme = (
        f"**On real photographs, the grid pointing game (issue 24).** `{m['command']}` ({m['seconds']:.0f} s on "
        f"{m['machine'].split(',')[0]}{' and an NVIDIA GPU (CUDA)' if m.get('device') == 'cuda' else ''}, "
        f"{m['date']}; table with paired intervals in "
        f"[benchmarks/RESULTS.md](benchmarks/RESULTS.md), rows in `benchmarks/gridpg.json`): 2 x 2 mosaics of the "
        f"bundled photos, EfficientNet-Lite0, a tile kept when its class is in the top-{m['k']}; {m['cases']} cases on "
        f"{m['kept_mosaics']} mosaics, {m['passes']} forward passes per map. Share of the mean-centred map's positive "
        f"mass in the target tile: RISE {c['rise']['mean']:.3f}; the default reading {c['mask-update']['mean']:.3f} "
        f"({_d(c['mask-update'])} against RISE, paired, cluster bootstrap over mosaics); the paper's rules "
        f"{c['mask-update-paper']['mean']:.3f} ({_d(c['mask-update-paper'])}). **The moonshot, measured:** three "
        f"readings were tried on these development mosaics (centred share minus RISE: {cand}); the best, "
        f"`{ms['winner']}`, against RISE on mosaics it was not chosen on (seeds {ms['heldout_seeds']}): {_d(h)} over "
        f"{h['n']} cases. " + ("It beats RISE there." if won else
                               "No reading of the mask-update method beats RISE at equal forward passes on this set "
                               f"({m['cases']} development cases; `--device cuda --mosaics 48 --passes 2000` is the "
                               "full tier)."))
    notebook = (
        f"- **On real photographs** (the grid pointing game, `{m['command']}`; benchmarks/RESULTS.md): at "
        f"{m['passes']} passes RISE put {c['rise']['mean']:.3f} of the centred map's positive mass in the target tile, "
        f"the default reading {c['mask-update']['mean']:.3f}, the paper's rules {c['mask-update-paper']['mean']:.3f}. "
        f"The best of three other readings (`{ms['winner']}`), chosen on those mosaics, differs from RISE by {_d(h)} "
        f"on held-out mosaics ({h['n']} cases): "
        + ("it beats RISE." if won else "no reading beats RISE at equal passes."))
    return {"readme": readme, "notebook": notebook}


def write_section(path, text):
    """Replace (or append) this script's section of RESULTS.md: from its heading to the next '## '."""
    old = open(path, encoding="utf-8").read() if os.path.exists(path) else "# Benchmark results\n"
    start = old.find(SECTION)
    if start < 0:
        new = old.rstrip("\n") + "\n\n" + text + "\n"
    else:
        end = old.find("\n## ", start + len(SECTION))
        new = old[:start] + text + ("\n" + old[end + 1:] if end >= 0 else "\n")
    with open(path, "w", encoding="utf-8") as f:
        f.write(new)


def section(meta, tab, ms, missing):
    out = [SECTION, "", f"Command: `{meta['command']}`  ", f"Date: {meta['date']}; code stamp `{meta['code_stamp']}` "
           f"(git {meta['git']}); machine: {meta['machine']}, torch device {meta['device']}; took "
           f"{meta['seconds']:.0f} s (computed outside CI; CI runs a 4-mosaic tier as a test of the machinery).", "",
           f"{meta['mosaics']} mosaics drawn with seed {meta['seed']} from {', '.join(meta['photos'])} "
           f"(2 x 2 tiles of 112 px, EfficientNet-Lite0, a tile kept when its class is in the top-{meta['k']} "
           f"on the mosaic): **{meta['cases']} cases** on {meta['kept_mosaics']} mosaics ({meta['dropped']} tiles "
           f"dropped). Every method at {meta['passes']} forward passes (occlusion: the stride whose grid fits). "
           "Pointing: the map's maximum inside the target tile; energy share: Rao et al.'s share of the positive map "
           "in the tile (RISE and the mask-update maps are positive everywhere, so it sits near 1/4); centred: "
           "after subtracting the map's mean. Δ: the method minus RISE per case, 95% cluster bootstrap over mosaics.",
           "", tab, ""]
    for a in meta.get("added", []):
        out.append(f"Rows added by `{a['command']}` ({a['date']}; {a['machine']}, torch device {a['device']}; "
                   f"{a['seconds']:.0f} s; code stamp `{a['code_stamp']}`, git {a['git']}), on the same draw (the "
                   f"same {a['cases']} cases): {', '.join(a['labels'])}.  ")
    why = [f"{k} ({NOT_RUN.get(k, 'not run yet: add it with --add --methods ' + k)})" for k in missing]
    out.append("Not in the table: Grad-CAM (needs a Keras model; this is a torch model)"
               + "".join(f"; {w}" for w in why) + ".")
    if ms is not None:
        out += ["", f"**Moonshot** (`--moonshot`): candidates on the development mosaics (seed {meta['seed']}), "
                "centred energy share minus RISE: " + "; ".join(
                    f"{c}: {_d(v)}" for c, v in ms["candidates"].items()) + ". " + verdict_text(ms) + ".",
                "Per held-out photo (cases whose target tile is that photo, held-out seeds): " + "; ".join(
                    f"{p}: {_d(v['energy_centred'])} (n={v['energy_centred']['n']})"
                    for p, v in ms["heldout_per_photo"].items() if "energy_centred" in v) + "."]
    return "\n".join(out)


def render(result) -> str:
    """RESULTS.md's section, from a stored result (what main writes, and what the test re-renders)."""
    keys = list(result["methods"])
    missing = [k for k in GRADIENT_KEYS if k not in keys]
    return section(result["meta"], table(result["rows"], keys, result["labels"]), result["moonshot"], missing)


def _labels(keys, gradient_budget):
    from saliency_widgets.registry import get_method
    out = {}
    for k in keys:
        spec = get_method(k)
        given = k in GRADIENT_KEYS and gradient_budget is not None and spec.budget_arg is not None
        out[k] = spec.label_for({spec.budget_arg: gradient_budget} if given else None)
    return out


def _provenance(args, argv, stamp, git, t0):
    return {"command": "python benchmarks/bench_gridpg.py " + " ".join(sys.argv[1:] if argv is None else argv),
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "code_stamp": stamp, "git": git, "machine": machine(), "device": args.device,
            "seconds": time.perf_counter() - t0}


def add_rows(result, model, keys, args, provenance):
    """``result`` with the rows of ``keys`` on its own draw added (replacing earlier rows of those keys)."""
    m = result["meta"]
    ds, rows = run_set(model, keys, n=m["mosaics"], seed=m["seed"], k=m["k"], passes=m["passes"],
                       gradient_budget=args.gradient_budget)
    stored = {(r["mosaic"], r["target"]) for r in result["rows"] if r["method"] == "rise"}
    drawn = {(r["mosaic"], r["target"]) for r in rows}
    if drawn != stored:
        raise SystemExit(f"bench_gridpg --add: the draw gives {len(drawn)} cases here, the stored run "
                         f"{len(stored)} ({len(drawn ^ stored)} differ: the model's top-{m['k']} differs on this "
                         "device); rerun the whole table instead")
    result["rows"] = [r for r in result["rows"] if r["method"] not in keys] + rows
    result["labels"].update(_labels(keys, args.gradient_budget))
    order = list(dict.fromkeys([k for k in result["methods"] if k not in keys] + list(keys)))
    result["methods"] = {k: paired(result["rows"], k) for k in order}
    added = [a for a in m.get("added", []) if not set(a["methods"]) <= set(keys)]
    m["added"] = added + [dict(provenance or {}, methods=list(keys), labels=[result["labels"][k] for k in keys],
                               cases=len(drawn))]
    return result


def main(argv=None):
    import subprocess

    import torch

    from saliency_widgets.datasets import GRIDPG_PHOTOS
    from saliency_widgets.demo import load_imagenet_model
    from saliency_widgets import __version__
    args = parse(argv)
    git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                         cwd=HERE).stdout.strip()
    stamp = f"{__version__}+{git}"  # the code that runs: the package version and its commit
    t0 = time.perf_counter()
    model = load_imagenet_model("efficientnet-lite0").to(torch.device(args.device)).eval()
    keys = tuple(args.methods.split(",")) if args.methods else FULL
    if args.add:
        with open(args.out, encoding="utf-8") as f:
            stored = json.load(f)
        result = add_rows(stored, model, keys, args, None)
        result["meta"]["added"][-1].update(_provenance(args, argv, stamp, git, t0))
        rows, ms = result["rows"], result["moonshot"]
    else:
        labels = _labels(set(keys) | set(CANDIDATES) | {"rise"}, args.gradient_budget)
        if "rise" not in keys:
            keys = keys + ("rise",)
        ds, rows = run_set(model, keys, n=args.mosaics, seed=args.seed, k=args.k, passes=args.passes,
                           gradient_budget=args.gradient_budget)
        ms = moonshot(model, rows, args, labels) if args.moonshot else None
        meta = dict(_provenance(args, argv, stamp, git, t0), mosaics=args.mosaics, seed=args.seed, k=args.k,
                    passes=args.passes, photos=list(GRIDPG_PHOTOS), cases=sum(len(c) for c in ds.cases),
                    kept_mosaics=len(ds), dropped=len(ds.dropped))
        result = {"meta": meta, "labels": labels, "methods": {k: paired(rows, k) for k in keys},
                  "rows": [{k: v for k, v in r.items()} for r in rows], "moonshot": ms}
    text = render(json.loads(json.dumps(result, default=str)))
    print(text)
    if not args.no_write:
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=1, default=str)
        write_section(os.path.join(HERE, "RESULTS.md"), text)
    return rows, ms


if __name__ == "__main__":
    main()
