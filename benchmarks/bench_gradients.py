"""SmoothGrad's conventions by seed stability, and Integrated Gradients' completeness, on the bundled photos.

EfficientNet-Lite0 (``load_imagenet_model("efficientnet-lite0")``), every bundled photo that has an
ImageNet class (``demo.PHOTOS``; its listed class the model scores highest is the target), cropped by
the model's own ``ImageFit``.

- **SmoothGrad**: two seeds' maps of each photo, for each ``aggregate`` convention (``absolute``:
  the mean of |gradients|, Captum's NoiseTunnel on Saliency; ``signed``: |the mean gradient|, Smilkov
  et al. and PAIR; ``squared``: the mean squared gradient, PAIR's ``magnitude``), compared by the
  Spearman rank correlation of the raw maps (1 = the seed does not change the ranking).  The gradients
  of the noisy copies are computed once per photo and seed, from ``SmoothGrad.draw_noise`` (the draws
  ``explain`` makes) and the package's own gradient function; the first ``--samples`` copies of a
  seed are the copies a run with that many samples draws, so each budget is read from one run.  A
  self-check compares one map with ``SmoothGrad(...).explain`` (recorded as ``selfcheck``).
- **Integrated Gradients**: ``IntegratedGradients(model, steps=n, rule=r).explain`` for every rule and
  step count; its completeness error (|sum of attributions - (f(image) - f(baseline))| / |f(image) -
  f(baseline)|, the logit of the target, baseline black) as each explanation reports it.

    python benchmarks/bench_gradients.py                     # writes gradients.json and its RESULTS.md section
    python benchmarks/bench_gradients.py --photos cat --steps 8 --samples 4 --no-write   # a quick look

``render(json)`` gives the RESULTS.md section; ``tests/test_bench_gradients.py`` keeps the two equal.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks._common import machine  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SECTION = "## Gradient methods' conventions on real photos -- `bench_gradients.py`"
AGGREGATES = ("absolute", "signed", "squared")
RULES = ("midpoint", "trapezoid", "gauss-legendre")


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--photos", default=None, help="comma-separated photo names (default: every photo with a class)")
    p.add_argument("--samples", default="20,50", help="SmoothGrad sample counts (default 20,50: the widget's, "
                                                      "the constructor's)")
    p.add_argument("--noise", type=float, default=0.15, help="SmoothGrad's noise level (default 0.15)")
    p.add_argument("--seeds", default="0,1", help="the two seeds compared (default 0,1)")
    p.add_argument("--steps", default="20,50,128", help="Integrated Gradients step counts (default 20,50,128)")
    p.add_argument("--rules", default=",".join(RULES), help="Integrated Gradients rules (default: all three)")
    p.add_argument("--out", default=os.path.join(HERE, "gradients.json"))
    p.add_argument("--no-write", action="store_true", help="print only; write neither the JSON nor RESULTS.md")
    return p.parse_args(argv)


def photo_cases(model, names=None):
    """[(name, prepared image (224, 224, 3), target class, its probability)] of the photos with a class."""
    from saliency_widgets import as_model
    from saliency_widgets.demo import load_photo, real_photos
    adapter = as_model(model)
    out = []
    for name, photo in real_photos().items():
        if not photo.classes or (names is not None and name not in names):
            continue
        x = adapter.prepare(load_photo(name))
        probs = adapter.predict(x[None])[0]
        target = max(photo.classes, key=lambda c: probs[c])
        out.append((name, x, int(target), float(probs[target])))
    return out


def spearman(a, b) -> float:
    from scipy.stats import spearmanr
    return float(spearmanr(np.ravel(a), np.ravel(b))[0])


def smoothgrad_maps(model, x, target, *, samples, noise, seed):
    """{aggregate: {n: raw map}} for n in ``samples``, from one run of max(samples) noisy copies."""
    from saliency_widgets import SmoothGrad
    from saliency_widgets.models.input_gradients import input_gradient_fn
    sg = SmoothGrad(model, samples=max(samples), noise=noise, seed=seed)
    grads_fn = input_gradient_fn(sg.model)
    noisy = np.asarray(x, np.float64) + sg.draw_noise(x)
    g = np.concatenate([grads_fn(noisy[i:i + 16], target) for i in range(0, len(noisy), 16)])
    agg = {"absolute": np.abs, "signed": lambda v: v, "squared": np.square}
    return {a: {n: np.abs(f(g[:n]).mean(axis=0)).max(axis=-1) for n in samples} for a, f in agg.items()}


def run_smoothgrad(model, cases, args):
    samples = [int(s) for s in args.samples.split(",")]
    s0, s1 = (int(s) for s in args.seeds.split(","))
    per_photo, selfcheck = {}, None
    for name, x, target, _ in cases:
        a = smoothgrad_maps(model, x, target, samples=samples, noise=args.noise, seed=s0)
        b = smoothgrad_maps(model, x, target, samples=samples, noise=args.noise, seed=s1)
        per_photo[name] = {ag: {str(n): spearman(a[ag][n], b[ag][n]) for n in samples} for ag in AGGREGATES}
        if selfcheck is None:  # the benchmark's maps are the explainer's
            from saliency_widgets import SmoothGrad
            n = min(samples)
            raw = SmoothGrad(model, samples=n, noise=args.noise, seed=s0).explain(x, target=target).raw
            selfcheck = float(np.abs(raw - a["absolute"][n]).max() / np.abs(raw).max())
        print(f"smoothgrad {name}: {per_photo[name]}", flush=True)
    summary = {ag: {str(n): _stats([per_photo[p][ag][str(n)] for p in per_photo]) for n in samples}
               for ag in AGGREGATES}
    return {"samples": samples, "noise": args.noise, "seeds": [s0, s1], "per_photo": per_photo,
            "summary": summary, "selfcheck": selfcheck}


def run_integrated_gradients(model, cases, args):
    from saliency_widgets import IntegratedGradients
    steps = [int(s) for s in args.steps.split(",")]
    rules = args.rules.split(",")
    per_photo = {}
    for name, x, target, _ in cases:
        per_photo[name] = {}
        for rule in rules:
            row = {}
            for n in steps:
                exp = IntegratedGradients(model, steps=n, rule=rule).explain(x, target=target)
                row[str(n)] = {"error": exp.diagnostics["completeness_error"], "passes": exp.n_forward,
                               "sum": exp.diagnostics["attribution_sum"],
                               "difference": exp.diagnostics["output_difference"]}
            per_photo[name][rule] = row
        print(f"integrated-gradients {name}: "
              f"{ {r: {n: round(v['error'], 4) for n, v in d.items()} for r, d in per_photo[name].items()} }",
              flush=True)
    summary = {r: {str(n): _stats([per_photo[p][r][str(n)]["error"] for p in per_photo]) for n in steps}
               for r in rules}
    return {"steps": steps, "rules": rules, "per_photo": per_photo, "summary": summary}


def _stats(values) -> dict:
    v = np.asarray(values, np.float64)
    return {"mean": float(v.mean()), "median": float(np.median(v)), "min": float(v.min()), "max": float(v.max()),
            "n": int(v.size)}


# == the RESULTS.md section ===================================================================================

def render(result) -> str:
    """RESULTS.md's section, from a stored result (what main writes, and what the test re-renders)."""
    m, sg, ig = result["meta"], result["smoothgrad"], result["integrated_gradients"]
    out = [SECTION, "", f"Command: `{m['command']}`  ",
           f"Date: {m['date']}; git {m['git']}; machine: {m['machine']}, torch device cpu, {m['threads']} thread(s); "
           f"took {m['seconds']:.0f} s (load average {m['load']:.1f} at the start: the cores were shared).",
           "", f"EfficientNet-Lite0 on {len(m['photos'])} bundled photos with an ImageNet class "
           f"({', '.join(f'{p} (class {t})' for p, t in m['photos'].items())}), the photo's listed class the model "
           "scores highest as the target, the gradient of its logit.", ""]
    out += _smoothgrad_section(sg) + [""] + _ig_section(ig)
    return "\n".join(out)


def _smoothgrad_section(sg) -> list:
    cols = sg["samples"]
    lines = [f"**SmoothGrad: seed stability.** Spearman rank correlation of the raw maps of seeds {sg['seeds'][0]} "
             f"and {sg['seeds'][1]} (noise sigma {sg['noise']} x the image's value range), mean over the photos "
             "[lowest photo]; higher = the map depends less on the draw. The maps are the explainer's (largest "
             f"relative difference to `SmoothGrad.explain` on the first photo: {sg['selfcheck']:.1e}).", "",
             "| what is averaged over the noisy copies (`aggregate=`) | "
             + " | ".join(f"{n} samples" for n in cols) + " |", "| --- |" + " --- |" * len(cols)]
    names = {"absolute": "`absolute`: mean of \\|gradient\\| (Captum NoiseTunnel on Saliency)",
             "signed": "`signed`: \\|mean gradient\\| (Smilkov et al., PAIR)",
             "squared": "`squared`: mean of gradient² (PAIR `magnitude=True`)"}
    for ag, row in sg["summary"].items():
        lines.append(f"| {names[ag]} | " + " | ".join(f"{row[str(n)]['mean']:.3f} [{row[str(n)]['min']:.3f}]"
                                                     for n in cols) + " |")
    best = max(sg["summary"], key=lambda a: sg["summary"][a][str(max(cols))]["mean"])
    lines += ["", f"Most stable at {max(cols)} samples: `{best}`."]
    return lines


def _ig_section(ig) -> list:
    cols = ig["steps"]
    lines = ["**Integrated Gradients: completeness.** |sum of attributions - (f(image) - f(black))| / "
             "|f(image) - f(black)|, as each explanation reports it (`Explanation.diagnostics`), mean over the "
             "photos [worst photo], with the forward-and-backward passes each run spent; Sundararajan et al. "
             "accept 5%.", "",
             "| rule | " + " | ".join(f"{n} steps" for n in cols) + " |", "| --- |" + " --- |" * len(cols)]
    first = next(iter(ig["per_photo"].values()))
    for rule, row in ig["summary"].items():
        cells = [f"{row[str(n)]['mean']:.1%} [{row[str(n)]['max']:.1%}] ({first[rule][str(n)]['passes']} passes)"
                 for n in cols]
        lines.append(f"| {rule} | " + " | ".join(cells) + " |")
    under = {r: [n for n in cols if ig["summary"][r][str(n)]["max"] <= 0.05] for r in ig["summary"]}
    ok = [f"{r} from {v[0]} steps" for r, v in under.items() if v]
    lines += ["", "Under 5% on every photo: " + ("; ".join(ok) if ok else "no rule at any step count measured")
              + ". Per photo (error at each step count):", ""]
    for photo, rules in ig["per_photo"].items():
        lines.append(f"- {photo}: " + "; ".join(
            f"{r} " + ", ".join(f"{v['error']:.1%}" for v in d.values()) for r, d in rules.items()))
    return lines


def write_section(path, text):
    """Replace (or append) this script's section of RESULTS.md: from its heading to the next '## '."""
    from benchmarks import _common as common
    common.write_section(path, SECTION, text)


def main(argv=None):
    from saliency_widgets.demo import load_imagenet_model
    args = parse(argv)
    git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                         cwd=HERE).stdout.strip()
    t0, load = time.perf_counter(), os.getloadavg()[0]  # other jobs on the machine slow the run down
    model = load_imagenet_model("efficientnet-lite0", framework="torch").eval()
    cases = photo_cases(model, None if args.photos is None else args.photos.split(","))
    sg = run_smoothgrad(model, cases, args)
    ig = run_integrated_gradients(model, cases, args)
    import torch
    given = sys.argv[1:] if argv is None else argv
    meta = {"command": " ".join(["python benchmarks/bench_gradients.py"] + list(given)),
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "git": git,
            "machine": machine(), "threads": torch.get_num_threads(), "load": load,
            "seconds": time.perf_counter() - t0, "photos": {name: target for name, _, target, _ in cases}}
    result = json.loads(json.dumps({"meta": meta, "smoothgrad": sg, "integrated_gradients": ig}))
    from benchmarks import _common as common
    return common.publish(result, render(result), out=args.out, results_md=os.path.join(HERE, "RESULTS.md"),
                          heading=SECTION, write=not args.no_write)


if __name__ == "__main__":
    main()
