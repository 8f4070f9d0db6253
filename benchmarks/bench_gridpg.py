"""The grid pointing game (Böhle et al. 2021) on the bundled real photos: every method against RISE at equal passes.

2 x 2 mosaics of the bundled photos (:func:`saliency_widgets.datasets.gridpg_mosaics`): each photo's
tile is classified on its own and takes part when its class reaches the declared threshold; a seeded,
balanced draw of mosaics; every tile of every mosaic is a case; no photo provides more than a quarter
of the cases.  Three scores per case (``evaluate``):

* Böhle et al.'s score as published: positive attribution in the target tile over all positive
  attribution, on the map as the method returns it (``energy``);
* the offset-invariant variant: the same after subtracting the map's mean (``energy_centred``);
* the hit rate: the map's maximum inside the tile (``pointing_strict``).

Each method's difference from RISE is paired per case, with a 95% cluster bootstrap over *photos* (a
case's cluster is the photo of its target tile: mosaics share photos, so photos are the sample; 2000
resamples, seed 0).  :data:`HEADLINE` is declared here and written into the output before any map
is computed.

    python benchmarks/bench_gridpg.py --mosaics 8 --passes 500          # the stored table (CPU)
    python benchmarks/bench_gridpg.py --mosaics 2 --passes 16 --methods rise,center --no-write
    python benchmarks/bench_gridpg.py --device cuda --mosaics 48 --passes 2000   # the GPU full tier
    python benchmarks/bench_gridpg.py --add --methods grad-cam       # more rows on the stored draw

It writes benchmarks/gridpg.json and regenerates its section of benchmarks/RESULTS.md.
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import re
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks._common import machine  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

#: the score that heads the table, declared before any map is computed
HEADLINE = "energy"
HEADLINE_WHY = ("Böhle et al.'s score as published (positive attribution in the target tile over all positive "
                "attribution, on the map as the method returns it): the grid pointing game's own score")
#: metric -> (row key, what the table calls it)
SCORES = {"energy": ("energy", "Böhle's score (map as returned)"),
          "energy_centred": ("energy_centred", "centred share (offset-invariant)"),
          "pointing_strict": ("hit_strict", "hit rate (maximum in the tile)")}
METRICS = tuple(SCORES)
BASELINE = "rise"
#: the study readings run beside the widget's list (the slope read-out of the chain)
STUDY = ("mask-update-slope",)
#: candidate thresholds on the tile's own class probability; the rule picks the highest that keeps MIN_PHOTOS
THRESHOLDS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 0.99)
MIN_PHOTOS = 8
THRESHOLD_RULE = f"the highest candidate threshold at which at least {MIN_PHOTOS} photos reach it on their own"
CLUSTER = "photo"
SECTION = "## Grid pointing game on real photos -- `bench_gridpg.py`"


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mosaics", type=int, default=8, help="mosaics drawn (default 8; 4 cases each)")
    p.add_argument("--passes", type=int, default=500, help="forward passes per map, every budgeted method (default 500)")
    p.add_argument("--seed", type=int, default=0, help="the draw of mosaics (default 0)")
    p.add_argument("--threshold", type=float, default=None,
                   help=f"the tile's class probability a photo needs (default: {THRESHOLD_RULE})")
    p.add_argument("--methods", default=None, help="comma-separated registry keys (default: every method the "
                   "loaded model supports, and " + ", ".join(STUDY) + ")")
    p.add_argument("--device", default="cpu", help="torch device of a PyTorch model: cpu or cuda (default cpu)")
    p.add_argument("--threads", type=int, default=None, help="torch's CPU threads (default torch's; on a machine "
                   "shared by many processes, 1 runs faster than 2)")
    p.add_argument("--out", default=os.path.join(HERE, "gridpg.json"))
    p.add_argument("--rows", default=None, help="a JSON-lines file of the rows as they are computed (a run that "
                   "stops resumes from it)")
    p.add_argument("--no-write", action="store_true", help="print only; write neither the JSON nor RESULTS.md")
    p.add_argument("--add", action="store_true", help="run --methods on the stored run's draw and merge their rows")
    p.add_argument("--gradient-budget", type=int, default=None,
                   help="samples / steps of SmoothGrad and Integrated Gradients (default: their constructor's)")
    args = p.parse_args(argv)
    if args.add and not args.methods:
        p.error("--add needs --methods (the rows to add)")
    return args


# -- the methods ---------------------------------------------------------------------------------------------

def supported(model):
    """(keys, left_out): the widget's list for ``model`` (``available_methods`` by its gradients' framework)
    plus :data:`STUDY`, and {key: why} for the registered methods left out."""
    from saliency_widgets.models import as_model
    from saliency_widgets.registry import METHODS, available_methods
    source = getattr(as_model(model), "gradient_source", None)
    kind = source[0] if source else None
    offered = available_methods(gradients=kind)
    left = {k: (f"needs gradients from {', '.join(s.cls.gradient_frameworks)}; this model's come from "
                f"{kind or 'no framework'}") for k, s in METHODS.items() if k not in offered}
    return tuple(offered) + STUDY, left


def build(key, model, passes, gradient_budget=None):
    """The explainer of ``key`` at ``passes`` forward passes (occlusion: the stride whose grid fits the budget;
    the gradient methods: ``gradient_budget`` samples or steps, default their constructor's)."""
    from saliency_widgets.registry import get_method
    spec = get_method(key)
    if spec.needs_gradients:
        given = gradient_budget is not None and spec.budget_arg is not None
        return spec.build(model, **({"budget": gradient_budget} if given else {}))
    if key == "occlusion":
        stride = max(1, math.ceil(224 / math.sqrt(passes)))
        return spec.build(model, window=max(2 * stride, 8), stride=stride)
    return spec.build(model, budget=passes) if spec.budget_arg is not None else spec.build(model)


def probe(keys, model, image, target):
    """{key: why} for the gradient methods that refuse ``model`` (one map each at the smallest budget)."""
    from saliency_widgets.registry import get_method
    out = {}
    for key in keys:
        spec = get_method(key)
        if not spec.needs_gradients:
            continue
        try:
            build(key, model, 1, gradient_budget=1).explain(image, target)
        except Exception as err:  # noqa: BLE001 -- a method that refuses this model is named, not run
            out[key] = f"refuses this model: {type(err).__name__}: {str(err).splitlines()[0]}"
    return out


def labels_of(keys, model, passes, gradient_budget=None):
    from saliency_widgets.registry import label_of
    return {k: label_of(build(k, model, passes, gradient_budget)) for k in keys}


# -- the cases -----------------------------------------------------------------------------------------------

def choose_threshold(confidence) -> float:
    """:data:`THRESHOLD_RULE` over :data:`THRESHOLDS` (SystemExit when none keeps :data:`MIN_PHOTOS`)."""
    from saliency_widgets.datasets import confident_photos
    ok = [t for t in THRESHOLDS if len(confident_photos(confidence, t)) >= MIN_PHOTOS]
    if not ok:
        raise SystemExit(f"bench_gridpg: no candidate threshold keeps {MIN_PHOTOS} photos: {confidence}")
    return max(ok)


def threshold_table(confidence, mosaics, grid=2) -> list[dict]:
    """For each candidate threshold: the photos that reach it and the cases this draw would have."""
    from saliency_widgets.datasets import confident_photos
    out = []
    for t in THRESHOLDS:
        kept = confident_photos(confidence, t)
        cases = mosaics * grid * grid if len(kept) >= grid * grid else 0
        out.append({"threshold": t, "photos": list(kept), "cases": cases})
    return out


def run_set(model, keys, *, n, seed, threshold, passes, confidence, gradient_budget=None, rows_file=None):
    """(dataset, rows) of one draw of mosaics."""
    from saliency_widgets import evaluate
    from saliency_widgets.datasets import gridpg_mosaics
    ds = gridpg_mosaics(model, n, seed=seed, threshold=threshold, confidence=confidence)
    explainers = {k: build(k, model, passes, gradient_budget) for k in keys}
    rows = evaluate(explainers, ds, metrics=METRICS, progress=False, sanity=False, results=rows_file)
    rows = [dict(r, seed=seed, photo=ds.photo_of(r["image"], r["target"]), mosaic=f"{seed}:{r['image']}")
            for r in rows]
    return ds, rows


# -- the statistics ------------------------------------------------------------------------------------------

def paired(rows, method, base=BASELINE):
    """{metric: {mean, mean_ci, base, diff, ci, wins, losses, n, clusters}}: ``method`` minus ``base`` per case,
    95% cluster bootstrap over photos (each case's cluster: the photo of its target tile)."""
    from saliency_widgets.metrics.intervals import cluster_bootstrap_ci
    by = {(r["mosaic"], r["target"]): r for r in rows if r["method"] == base}
    mine = [r for r in rows if r["method"] == method and (r["mosaic"], r["target"]) in by]
    if not mine:
        return {}
    photos = [r[CLUSTER] for r in mine]
    out = {}
    for metric, (key, _) in SCORES.items():
        v = np.array([float(r[key]) for r in mine])
        b = np.array([float(by[(r["mosaic"], r["target"])][key]) for r in mine])
        d = v - b
        ci = cluster_bootstrap_ci(d, photos) if method != base else (0.0, 0.0)
        out[metric] = {"mean": float(v.mean()), "mean_ci": list(cluster_bootstrap_ci(v, photos)),
                       "base": float(b.mean()), "diff": float(d.mean()), "ci": [float(ci[0]), float(ci[1])],
                       "wins": int((d > 0).sum()), "losses": int((d < 0).sum()), "n": len(mine),
                       "clusters": len(set(photos))}
    return out


def sign(p) -> str:
    """"above" (lower bound > 0), "below" (upper bound < 0) or "includes 0" for one paired interval."""
    lo, hi = p["ci"]
    return "above" if lo > 0 else "below" if hi < 0 else "includes 0"


def verdict(stats) -> str:
    """A method against RISE over the three scores: a direction only when every interval agrees on it."""
    signs = {m: sign(stats[m]) for m in METRICS if m in stats}
    if set(signs.values()) == {"above"}:
        return "above RISE on every score"
    if set(signs.values()) == {"below"}:
        return "below RISE on every score"
    return "no winner: " + "; ".join(f"{SCORES[m][1]} {s}" for m, s in signs.items())


def num(x: float, digits: int = 3) -> str:
    """``x`` signed, with enough decimals (up to 6) that a nonzero value does not print as zero."""
    if x == 0:
        return "0"
    d = digits
    while round(abs(x), d) == 0 and d < 6:
        d += 1
    return f"{x:+.{d}f}"


def interval(p) -> str:
    return f"{num(p['diff'])} [{num(p['ci'][0])}, {num(p['ci'][1])}]"


# -- the rendering -------------------------------------------------------------------------------------------

def table(result) -> str:
    order = [HEADLINE] + [m for m in METRICS if m != HEADLINE]
    head = " | ".join(f"{SCORES[m][1]}{' (headline)' if m == HEADLINE else ''} | Δ vs RISE [95% CI]" for m in order)
    lines = [f"| method | passes | {head} |", "| --- | --- |" + " --- | --- |" * len(order)]
    for key, stats in result["methods"].items():
        nf = sorted({r["n_forward"] for r in result["rows"] if r["method"] == key})
        cells = " | ".join(f"{stats[m]['mean']:.3f} | {interval(stats[m]) if key != BASELINE else '--'}"
                           for m in order)
        lines.append(f"| {result['labels'][key]} | {'/'.join(map(str, nf))} | {cells} |")
    return "\n".join(lines)


def photo_lines(result) -> list[str]:
    from saliency_widgets.demo import imagenet_labels
    names = imagenet_labels()
    d, shares = result["declaration"], result["meta"]["shares"]
    conf = ", ".join(f"{p} ({names[c]}) {prob:.3f}" for p, (c, prob) in d["confidence"].items())
    kept = [p for p in d["confidence"] if p in shares]
    probs = [d["confidence"][p][1] for p in kept]
    rows = "; ".join(f"p >= {t['threshold']:g}: {len(t['photos'])} photos, {t['cases']} cases"
                     for t in d["thresholds"])
    return [f"Each candidate photo's tile classified on its own (EfficientNet-Lite0, the tile resized to 224 px; "
            f"its listed class with the highest probability): {conf}.",
            f"Candidate thresholds (photos that reach each, and the cases this draw would have; a 2 x 2 mosaic needs "
            f"4 photos): {rows}. Rule, declared before the run: {d['threshold_rule']}; **threshold p >= "
            f"{d['threshold']:g}**: {len(kept)} photos, median class probability of the cases' tiles "
            f"{float(np.median(probs)):.3f}, highest {max(probs):.3f}. The papers build their grids from images "
            f"classified confidently; no bundled photo reaches 0.99 on its own, so these cases are not that "
            f"selection.",
            "Cases per photo (no photo provides more than a quarter): "
            + ", ".join(f"{p} {s:.3f}" for p, s in shares.items()) + "."]


def findings(result) -> list[str]:
    out = []
    for key, stats in result["methods"].items():
        if key == BASELINE:
            continue
        parts = "; ".join(f"{SCORES[m][1]} {interval(stats[m])} ({sign(stats[m])})" for m in METRICS)
        v = verdict(stats)
        out.append(f"- {result['labels'][key]} minus RISE: {parts}. {v[0].upper() + v[1:]}.")
    return out


def shown(command: str) -> str:
    """``command`` as a reader reruns it: without ``--rows FILE``, a resume checkpoint on the measuring machine
    that changes no figure (how many rows it supplied is stated beside the timing)."""
    return re.sub(r"\s--rows(?:=|\s+)\S+", "", command)


def section(result) -> str:
    m, d = result["meta"], result["declaration"]
    out = [SECTION, "", f"Command: `{shown(m['command'])}`  ",
           f"Date: {m['date']}; code {m['code']}; machine: {m['machine']}; model: EfficientNet-Lite0 "
           f"({m['framework']}{', torch device ' + m['device'] if m['framework'] == 'torch' else ''}); took "
           f"{m['seconds']:.0f} s{_resumed(m)}. The GPU full tier (`--device cuda --mosaics 48 --passes 2000`) did not run "
           "in this measurement: CPU only.", "",
           f"**Headline score, declared before any map was computed** ({d['declared_at']}): "
           f"{SCORES[d['headline']][1]}, i.e. {d['headline_why']}. Beside it: the centred share (the same after "
           "subtracting the map's mean; a map that is positive everywhere, like RISE's raw sums, sits near 1/4 on "
           "the published score whatever it shows) and the hit rate.", ""]
    out += photo_lines(result) + [""]
    out += [f"{m['mosaics']} mosaics (seed {m['seed']}), **{m['cases']} cases from {m['photos']} photos**. Every "
            f"method with a budget at {m['passes']} forward passes (occlusion: the stride whose grid fits; the "
            "gradient methods at their own sample budget, shown in the passes column). Δ: the method minus RISE "
            "per case, 95% cluster bootstrap over photos (a case's cluster is the photo of its target tile; "
            f"{d['clusters_note']}).", "", table(result), ""]
    out += ["Per method against RISE, score by score (a direction only where the interval excludes 0; "
            "a method is called above or below RISE only when all three intervals agree):", ""]
    out += findings(result) + [""]
    left = result["left_out"]
    out.append("Not in the table: " + ("; ".join(f"{k} ({why})" for k, why in left.items()) if left else "none")
               + ".")
    for a in m.get("added", []):
        out.append(f"Rows added by `{shown(a['command'])}` ({a['date']}; {a['machine']}; {a['seconds']:.0f} s; code "
                   f"{a['code']}), on the same draw: {', '.join(a['labels'])}.")
    return "\n".join(out)


def _resumed(meta) -> str:
    n = meta.get("resumed_rows", 0)
    if not n:
        return ""
    return (f" ({n} of the rows were read from the --rows file: computed by an earlier invocation with the same "
            f"settings; the maps' own times add up to {meta['map_seconds']:.0f} s)")


def render(result) -> str:
    """RESULTS.md's section, from a stored result (what main writes, and what the test re-renders)."""
    return section(result)


def prose(result) -> dict:
    """{"readme", "notebook"}: the paragraph README's verdict and notebook 05's closing bullet quote, from a
    stored result."""
    m, s, lab = result["meta"], result["methods"], result["labels"]

    def one(key):
        return (f"{lab[key]}: " + "; ".join(f"{SCORES[x][1]} {interval(s[key][x])}" for x in METRICS)
                + f" ({verdict(s[key])})")
    keys = [k for k in ("mask-update-paper", "mask-update", "mask-update-slope") if k in s]
    setup = (f"{m['cases']} cases from {m['photos']} photos, each photo's tile classified on its own with p >= "
             f"{result['declaration']['threshold']:g} (far below the papers' confident images), {m['passes']} "
             "forward passes per map, CPU only (the GPU full tier did not run)")
    readme = (f"**On real photographs: the grid pointing game** (Böhle et al. 2021; `{shown(m['command'])}`, "
              f"{m['seconds'] / 60:.0f} min on {m['machine'].split(',')[0]}; table in "
              f"[benchmarks/RESULTS.md](benchmarks/RESULTS.md)): {setup}. Method minus RISE, paired, 95% cluster "
              "bootstrap over photos, on Böhle's score as published (the declared headline), the centred share "
              "and the hit rate: " + "; ".join(one(k) for k in keys) + ". Where the scores disagree, no method "
              "is called better than another.")
    split = [lab[k] for k in keys if verdict(s[k]).startswith("no winner")]
    notebook = (f"- **On real photographs** (the grid pointing game, `{shown(m['command'])}`; benchmarks/RESULTS.md; "
                f"{setup}): " + "; ".join(one(k) for k in keys) + "."
                + (f" For {', '.join(split)} the intervals do not all agree on a direction: no winner." if split else ""))
    return {"readme": readme, "notebook": notebook}


def notebook_prose(result) -> str:
    """Notebook 05's closing bullet on real photographs (a generated block of ``python -m tools.claims``)."""
    return prose(result)["notebook"] + "\n"


def write_section(path, text):
    """Replace (or append) this script's section of RESULTS.md: from its heading to the next '## '."""
    from benchmarks import _common as common
    common.write_section(path, SECTION, text, legacy="## Grid pointing game on real photos")


# -- the run -------------------------------------------------------------------------------------------------

def _code():
    import subprocess

    from saliency_widgets import __version__
    git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=HERE)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                           text=True, cwd=HERE).stdout.strip()
    return f"saliency_widgets {__version__}, git {git.stdout.strip() or '?'}{' (uncommitted changes)' if dirty else ''}"


def _now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _provenance(args, argv, t0):
    return {"command": "python benchmarks/bench_gridpg.py " + " ".join(sys.argv[1:] if argv is None else argv),
            "date": _now(), "code": args.code, "machine": machine(), "device": args.device,
            "seconds": time.perf_counter() - t0}


def load_model(device="cpu", threads=None):
    """EfficientNet-Lite0 as ``load_imagenet_model`` returns it (a PyTorch module is moved to ``device``;
    ``threads``: the CPU threads of torch and TensorFlow, set before the model is built)."""
    from saliency_widgets.demo import load_imagenet_model
    if threads:
        _limit_threads(threads)
    model = load_imagenet_model("efficientnet-lite0")
    if hasattr(model, "to") and hasattr(model, "eval"):
        import torch
        model = model.to(torch.device(device)).eval()
    return model


def _limit_threads(threads):
    import importlib.util
    if importlib.util.find_spec("torch") is not None:
        import torch
        torch.set_num_threads(threads)
    if importlib.util.find_spec("tensorflow") is not None:
        import tensorflow as tf
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        except RuntimeError:  # TensorFlow already running: it keeps its threads
            pass


def framework(model) -> str:
    from saliency_widgets.models import as_model
    source = getattr(as_model(model), "gradient_source", None)
    return source[0] if source else "no gradients"


def declare(args, model, keys, left_out, confidence, threshold):
    """What is fixed before any map: the headline, the threshold and its rule, the methods, the clusters."""
    return {"headline": HEADLINE, "headline_why": HEADLINE_WHY, "declared_at": _now(),
            "threshold_rule": THRESHOLD_RULE, "threshold": threshold, "thresholds": threshold_table(
                confidence, args.mosaics), "confidence": {p: list(v) for p, v in confidence.items()},
            "methods": list(keys), "left_out": dict(left_out), "baseline": BASELINE, "cluster": CLUSTER,
            "clusters_note": "2000 resamples, seed 0, the mean over the resampled photos' cases",
            "passes": args.passes, "mosaics": args.mosaics, "seed": args.seed}


def _write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1, default=str)


def fresh(args, argv, model, t0):
    """A new run: classify the tiles, declare (and write the declaration), then compute every map."""
    from saliency_widgets.datasets import GRIDPG_PHOTOS, gridpg_mosaics, photo_shares, tile_confidence
    confidence = tile_confidence(model, GRIDPG_PHOTOS)
    threshold = args.threshold if args.threshold is not None else choose_threshold(confidence)
    keys, left = supported(model)
    if args.methods:
        keys = tuple(dict.fromkeys(args.methods.split(",")))
    keys = (BASELINE,) + tuple(k for k in keys if k != BASELINE)  # RISE's row first
    first = gridpg_mosaics(model, 1, seed=args.seed, threshold=threshold, confidence=confidence)
    refused = probe(keys, model, first.image(0), first.labels(0)[0][0])
    keys, left = tuple(k for k in keys if k not in refused), {**left, **refused}
    declaration = declare(args, model, keys, left, confidence, threshold)
    if not args.no_write:
        _write_json(args.out, {"declaration": declaration, "status": "declared; maps not computed yet"})
    resumed = _rows_in(args.rows)
    ds, rows = run_set(model, keys, n=args.mosaics, seed=args.seed, threshold=threshold, passes=args.passes,
                       confidence=confidence, gradient_budget=args.gradient_budget, rows_file=args.rows)
    meta = dict(_provenance(args, argv, t0), resumed_rows=resumed, mosaics=args.mosaics, seed=args.seed,
                passes=args.passes,
                map_seconds=float(sum(r.get("seconds", 0.0) for r in rows)),
                framework=framework(model), cases=len(rows) // len(keys), photos=len(photo_shares(ds.layouts)),
                shares=photo_shares(ds.layouts))
    return {"declaration": declaration, "meta": meta, "labels": labels_of(keys, model, args.passes, args.gradient_budget),
            "left_out": left, "methods": {k: paired(rows, k) for k in keys}, "rows": [dict(r) for r in rows]}


def _rows_in(path) -> int:
    """Rows a ``--rows`` file already holds (computed by an earlier invocation; 0 without a file)."""
    if not path or not os.path.exists(path):
        return 0
    with open(path, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return sum(1 for r in rows if isinstance(r, dict) and "method" in r and "image" in r and "error" not in r)


def add_rows(result, model, keys, args, provenance):
    """``result`` with the rows of ``keys`` on its own draw added (replacing earlier rows of those keys)."""
    d, m = result["declaration"], result["meta"]
    confidence = {p: tuple(v) for p, v in d["confidence"].items()}
    _, rows = run_set(model, keys, n=m["mosaics"], seed=m["seed"], threshold=d["threshold"], passes=m["passes"],
                      confidence=confidence, gradient_budget=args.gradient_budget)
    stored = {(r["mosaic"], r["target"]) for r in result["rows"] if r["method"] == BASELINE}
    drawn = {(r["mosaic"], r["target"]) for r in rows}
    if drawn != stored:
        raise SystemExit(f"bench_gridpg --add: the draw gives {len(drawn)} cases here, the stored run {len(stored)} "
                         f"({len(drawn ^ stored)} differ); rerun the whole table instead")
    result["rows"] = [r for r in result["rows"] if r["method"] not in keys] + rows
    result["labels"].update(labels_of(keys, model, m["passes"], args.gradient_budget))
    order = list(dict.fromkeys([k for k in result["methods"] if k not in keys] + list(keys)))
    result["methods"] = {k: paired(result["rows"], k) for k in order}
    result["left_out"] = {k: v for k, v in result["left_out"].items() if k not in keys}
    m["added"] = [a for a in m.get("added", []) if not set(a["methods"]) <= set(keys)] + [
        dict(provenance, methods=list(keys), labels=[result["labels"][k] for k in keys])]
    return result


def main(argv=None):
    args = parse(argv)
    args.code = _code()  # the code that runs, read before it runs
    t0 = time.perf_counter()
    model = load_model(args.device, args.threads)
    if args.add:
        with open(args.out, encoding="utf-8") as f:
            result = add_rows(json.load(f), model, tuple(args.methods.split(",")), args, _provenance(args, argv, t0))
        result["meta"]["added"][-1]["seconds"] = time.perf_counter() - t0
    else:
        result = fresh(args, argv, model, t0)
        result["meta"]["seconds"] = time.perf_counter() - t0
    result = json.loads(json.dumps(result, default=str))
    text = render(result)
    print(text)
    if not args.no_write:
        _write_json(args.out, result)
        write_section(os.path.join(HERE, "RESULTS.md"), text)
    return result


if __name__ == "__main__":
    main()
