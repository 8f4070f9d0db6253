"""Publish a ``run_all.sh`` run: RESULTS.md's GPU section (and the documentation's GPU figures), from its JSON.

    python benchmarks/gpu/publish.py RUN_FOLDER [--name h200_run1] [--dry-run]

RUN_FOLDER holds what ``benchmarks/gpu/run_all.sh`` wrote into $OUT (env.json, bench_gpu.json and the
Keras child's bench_gpu.keras-jax.json). The script

- refuses a run whose code stamp (sha256 of the package's Python files and ``bench_gpu.py``) differs from
  this checkout's: no figure is published for code other than the code it describes;
- copies the run's rows to ``benchmarks/gpu/NAME.json`` and its full table to ``NAME.md``;
- rewrites the section between ``<!-- bench_gpu:start -->`` and ``<!-- bench_gpu:end -->`` in
  ``benchmarks/RESULTS.md`` (the first time: the section headed "## On a GPU"), with the device, the date,
  the code stamp and commit, and the command.

The documentation's GPU figures (:func:`readme_paragraph`, then :func:`results_section`) are rendered from
the stored JSON when the site is built (``tools/docs_pages.py``), never pasted.

Goals (issue 23): RISE and the mask update in 256 chains at >= 0.9 of the forward floor on ResNet50 and
MobileNetV2 (every framework), >= 0.5 on the demo model; the paper's rules in chains >= 30x its prototype's
pattern (one batch-1 call per step).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

GOAL_SPEEDUP = 30.0
MARKS = {"results": ("<!-- bench_gpu:start -->", "<!-- bench_gpu:end -->")}


def goal_for(model: str) -> float:
    """The efficiency goal of a model's RISE and chains rows: 0.5 for the demo model, 0.9 otherwise."""
    return 0.5 if model.startswith("demo model") else 0.9


def load_run(folder: str) -> tuple[dict, list[dict], dict]:
    """(meta, rows, env) of a run folder; the Keras child's rows are added when the parent did not merge them."""
    path = os.path.join(folder, "bench_gpu.json")
    if not os.path.exists(path):
        raise SystemExit(f"publish: {path} not found (expected the $OUT folder of benchmarks/gpu/run_all.sh)")
    with open(path) as f:
        run = json.load(f)
    meta, rows = run["meta"], list(run["rows"])
    merged = set(meta.get("merged", []))
    for name in sorted(os.listdir(folder)):
        m = re.fullmatch(r"bench_gpu\.keras-(\w+)\.json", name)
        if m and m.group(1) not in merged:
            with open(os.path.join(folder, name)) as f:
                child = json.load(f)
            meta.setdefault("children", {})[m.group(1)] = dict(child["meta"], merged_by="publish.py")
            rows += child["rows"]
    env = {}
    if os.path.exists(os.path.join(folder, "env.json")):
        with open(os.path.join(folder, "env.json")) as f:
            env = json.load(f)
    return meta, rows, env


def by_model(rows: list[dict]) -> dict[str, dict[str, dict]]:
    """{model: {key: row}} for the model rows (block rows keyed ``block_rise:NB`` / ``block_mu:NB``)."""
    out: dict[str, dict[str, dict]] = {}
    for r in rows:
        if r.get("model") == "region toy" or r.get("key") in (None, "keras", "model"):  # not a model's row
            continue
        key = r["key"] + (f":{r['nb']}" if r["key"].startswith("block_") else "")
        out.setdefault(r["model"], {})[key] = r
    return out


def eff_cell(row: dict | None, goal: float | None = None) -> str:
    if row is None:
        return "not run"
    if row.get("efficiency") is None:
        return row.get("result", "?")
    e = row["efficiency"]
    mark = "" if goal is None else (" ✔" if e >= goal else " ✘")
    return f"**{e:.2f}**{mark}" if goal is not None else f"{e:.2f}"


def speedup_cell(row: dict | None) -> str:
    if row is None or row.get("per_step_ms") is None:
        return "not run" if row is None else row.get("result", "?")
    if not row.get("speedup"):
        return f"{row['per_step_ms']:.2f} ms/step (no chains time)"
    mark = "✔" if row["speedup"] >= GOAL_SPEEDUP else "✘"
    return f"{row['per_step_ms']:.2f} ms/step: **{row['speedup']:.0f}x** {mark}"


def main_table(models: dict, cfg: dict) -> list[str]:
    n, c = cfg.get("n"), cfg.get("chains")
    lines = [f"| model, framework | floor (img/s) | `Rise(masks={n})` | `MaskUpdate(steps={n}, chains={c})` | "
             f"paper's rules in {c} chains | default `MaskUpdate` (32 chains) | insertion + deletion (path only) | "
             "prototype pattern (batch-1 per step) vs paper's rules in chains |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for model, r in models.items():
        goal = goal_for(model)
        floor = r.get("floor", {}).get("floor_img_s")
        insdel = eff_cell(r.get("insdel"))
        if r.get("paths"):
            insdel += f" ({eff_cell(r['paths'])})"
        lines.append(f"| {model} | {floor:,.0f} | " if floor else f"| {model} | {r.get('floor', {}).get('result')} | ")
        lines[-1] += " | ".join([eff_cell(r.get("rise"), goal), eff_cell(r.get("mu_chains"), goal),
                                 eff_cell(r.get("paper_chains")), eff_cell(r.get("mu_default")), insdel,
                                 speedup_cell(r.get("prototype"))]) + " |"
    return lines


def block_table(models: dict, chains) -> list[str]:
    """RISE / mask update in chains per JAX block size (batches per compiled call); the main rows' is marked."""
    lines = []
    for model, r in models.items():
        sizes = sorted({int(k.split(":")[1]) for k in r if k.startswith("block_")})
        if not sizes:
            continue
        default = r.get("rise", {}).get("nb")
        cells = {nb: (r.get(f"block_rise:{nb}"), r.get(f"block_mu:{nb}")) for nb in sizes}
        if default is not None:
            cells[default] = (r.get("rise"), r.get("mu_chains"))
        if not lines:
            lines = [f"| model | batches per compiled call | `Rise` | `MaskUpdate(chains={chains})` |",
                     "| --- | --- | --- | --- |"]
        for nb in sorted(cells):
            tag = " (default)" if nb == default else ""
            lines.append(f"| {model} | {nb}{tag} | {eff_cell(cells[nb][0])} | {eff_cell(cells[nb][1])} |")
    return lines


def same_map_line(rows: list[dict]) -> str:
    diffs: dict[str, list[float]] = {}
    for r in rows:
        if r.get("key") == "same_map" and r.get("max_diff") is not None:
            diffs.setdefault(r["device"], []).append(r["max_diff"])
    if not diffs:
        return "Same seed, same map: not measured in this run."
    parts = [f"{dev} {min(v):.0e} to {max(v):.0e}" for dev, v in diffs.items()]
    return ("Same seed, same map on the device (region toy, normalised map, batch sizes 37 and 256 against "
            "NumPy; RISE, both mask-update modes, occlusion, LIME): max |diff| " + "; ".join(parts) + ".")


def diagnostics(rows: list[dict]) -> str:
    """Rows that traced again while timed (JAX) or synced with the host more than a few times (CUDA)."""
    notes = []
    for r in rows:
        if r.get("traces_timed"):
            notes.append(f"{r['model']}, {r['section']}: {r['traces_timed']} JAX trace(s) while timed")
        if r.get("host_syncs") is not None:
            notes.append(f"{r['model']}, {r['section']}: {r['host_syncs']} host sync(s) per run")
    errors = [f"{r['model']}, {r['section']}: {r['result']}" for r in rows
              if str(r.get("result", "")).startswith(("error", "skipped"))]
    out = ""
    if notes:
        out += "Diagnostics (from the same run): " + "; ".join(notes) + ".\n"
    if errors:
        out += "\nNot measured in this run: " + "; ".join(errors) + ".\n"
    return out


def stamp_line(meta: dict, env: dict, commit: str) -> tuple[str, str]:
    smi = env.get("nvidia_smi", "")
    device = (smi if smi and not smi.startswith("unavailable") else meta.get("device") or "?").split(",")[0].strip()
    versions = ", ".join(f"{k} {meta[k]}" for k in ("torch", "jax", "keras") if meta.get(k))
    child = next(iter(meta.get("children", {}).values()), {})
    versions += "".join(f", {k} {child[k]}" for k in ("jax", "keras") if child.get(k) and not meta.get(k))
    argv, skip = [], False
    for a in meta.get("argv", []):  # the run's own output paths say nothing about what was measured
        if not skip and a not in ("--json", "--out"):
            argv.append(a)
        skip = a in ("--json", "--out")
    argv = " ".join(argv)
    command = f"bash benchmarks/gpu/run_all.sh (runs `python benchmarks/bench_gpu.py {argv}`)"
    line = (f"One {device}, {meta['date_utc']} UTC, Python {meta.get('python')}, {versions}; code: commit "
            f"{commit}, sources sha256 {meta['code_stamp']} (`bench_gpu.code_stamp`); command: {command}")
    return device, line


def results_section(meta, rows, env, commit, name) -> str:
    models = by_model(rows)
    device, line = stamp_line(meta, env, commit)
    cfg = meta.get("cfg", {})
    out = [f"## On a GPU -- `bench_gpu.py` via `benchmarks/gpu/run_all.sh`", "",
           line + ".", "",
           f"`torchvision` models and Keras MobileNetV2 with random weights at {cfg.get('px')} x {cfg.get('px')}, "
           f"the demo model at 96 x 96; {cfg.get('n')} forward passes per explanation, batch {cfg.get('batch')}; "
           f"efficiency = forward-floor time for the same number of images (batch {cfg.get('batch')}, data "
           f"already on the device) / wall time, both measured in this run, each the median of "
           f"{cfg.get('repeats')} timed runs after a warm-up. Goals: 0.9 of the floor (RISE, mask update in "
           f"256 chains) on ResNet50 and MobileNetV2, 0.5 on the demo model; the paper's rules in chains >= "
           f"{GOAL_SPEEDUP:.0f}x its prototype's pattern. Every row: `benchmarks/gpu/{name}.md` "
           f"(JSON: `{name}.json`). Republish with `python benchmarks/gpu/publish.py RUN_FOLDER`.", ""]
    out += main_table(models, cfg) + [""]
    blocks = block_table(models, cfg.get("chains"))
    if blocks:
        out += [f"JAX block size (batches of {cfg.get('batch')} per compiled call, a `lax.scan`), same run, "
                "efficiency:", ""]
        out += blocks + [""]
    out += [same_map_line(rows), ""]
    diag = diagnostics(rows)
    if diag:
        out += [diag]
    older = sorted(f for f in os.listdir(os.path.join(ROOT, "benchmarks", "gpu"))
                   if f.endswith(".md") and f != f"{name}.md" and f != "README.md")
    if older:
        out += ["Earlier runs, on older code (not comparable row by row): "
                + ", ".join(f"`benchmarks/gpu/{f}`" for f in older) + "."]
    return "\n".join(out).rstrip() + "\n"


def readme_paragraph(meta, rows, env, commit) -> str:
    models = by_model(rows)
    device, _ = stamp_line(meta, env, commit)
    parts, met, missed = [], [], []
    for model, r in models.items():
        goal = goal_for(model)
        effs = [r.get(k, {}).get("efficiency") for k in ("rise", "mu_chains")]
        if None in effs:
            continue
        parts.append(f"{model} {effs[0]:.2f} / {effs[1]:.2f}")
        (met if min(effs) >= goal else missed).append(model)
    speedups = [r["prototype"]["speedup"] for r in models.values() if r.get("prototype", {}).get("speedup")]
    text = (f"What to expect (one {device}, {meta['date_utc'][:10]}, code {commit}, "
            f"`bash benchmarks/gpu/run_all.sh`; all figures in [benchmarks/RESULTS.md](benchmarks/RESULTS.md)): "
            f"RISE and the mask update in 256 chains run at these fractions of the model's forward-pass floor: "
            + "; ".join(parts) + ".")
    if speedups:
        text += (f" The paper's update run in chains is {min(speedups):.0f}x to {max(speedups):.0f}x faster than "
                 f"its prototype's one batch-1 call per step.")
    text += (f" Goals (0.9 of the floor, 0.5 for the 96-px demo model): met on "
             f"{', '.join(met) or 'none'}; not met on {', '.join(missed) or 'none'}.")
    text += " More in [docs/gpu.md](docs/gpu.md)."
    return text + "\n"


def replace_marked(text: str, marks: tuple[str, str], body: str, first_time: re.Pattern) -> str:
    """``body`` between the markers; the first time, in place of what ``first_time`` matches."""
    start, end = marks
    block = f"{start}\n{body}{end}"
    if start in text:
        i, j = text.index(start), text.index(end) + len(end)
        return text[:i] + block + text[j:]
    m = first_time.search(text)
    if m is None:
        raise SystemExit(f"publish: neither {start} nor the section to replace ({first_time.pattern!r}) found")
    return text[:m.start()] + block + ("\n" if not text[m.end():].startswith("\n") else "") + text[m.end():]


def git_commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "saliency_widgets", "benchmarks/bench_gpu.py"],
                               cwd=ROOT, capture_output=True, text=True).stdout.strip()
        return head + (" + uncommitted changes" if dirty else "")
    except Exception:
        return "unknown"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", nargs="+", help="the folder run_all.sh wrote ($OUT, fetched); with several (a "
                    "shorter second run), a later run's rows replace the earlier runs' rows of the same models")
    ap.add_argument("--name", default=None, help="file name for the copied rows (default: DEVICE_DATE)")
    ap.add_argument("--dry-run", action="store_true", help="print what would be written; change nothing")
    args = ap.parse_args(argv)
    from bench_gpu import code_stamp

    here = code_stamp(ROOT)
    rows: list = []
    dates: list = []
    for folder in args.run:
        meta, later, env = load_run(folder)
        if meta.get("code_stamp") != here and not args.dry_run:
            raise SystemExit(f"publish: {folder} measured code {meta.get('code_stamp')}, this checkout is {here}: "
                             "rerun run_all.sh on this code (or --dry-run to preview)")
        remeasured = {r.get("model") for r in later}
        rows = [r for r in rows if r.get("model") not in remeasured] + later
        dates.append(meta["date_utc"])
    meta["date_utc"] = " and ".join(dict.fromkeys(dates))  # the runs' dates, when several were combined
    if meta.get("cfg", {}).get("n") != 4096 and not args.dry_run:
        raise SystemExit("publish: a --quick run (small sizes) is a rehearsal, not a result (--dry-run to preview)")
    commit = meta.get("git_commit") or git_commit()
    device, _ = stamp_line(meta, env, commit)
    name = args.name or re.sub(r"[^a-z0-9]+", "_", f"{device.split()[-1]}_{meta['date_utc'][:10]}".lower())
    section = results_section(meta, rows, env, commit, name)
    paragraph = readme_paragraph(meta, rows, env, commit)
    if args.dry_run:
        print(section, "\n-- the documentation's summary:\n", paragraph, sep="")
        return
    dest = os.path.join(ROOT, "benchmarks", "gpu")
    with open(os.path.join(dest, f"{name}.json"), "w") as f:
        json.dump(dict(meta=meta, env=env, rows=rows), f, indent=1)
    last = args.run[-1]  # several runs: the latest run's table (its rows replace the earlier ones')
    if os.path.exists(os.path.join(last, "bench_gpu.md")):
        shutil.copyfile(os.path.join(last, "bench_gpu.md"), os.path.join(dest, f"{name}.md"))
    path = os.path.join(ROOT, "benchmarks", "RESULTS.md")
    with open(path) as f:
        text = f.read()
    with open(path, "w") as f:
        f.write(replace_marked(text, MARKS["results"], section + "\n",
                               re.compile(r"^## On a GPU.*?(?=^## )", re.S | re.M)))
    print(f"publish: wrote {os.path.relpath(path, ROOT)}")
    print(f"publish: rows in benchmarks/gpu/{name}.json and .md (the documentation's GPU page renders the "
          "summary paragraph from them at build time: tools/docs_pages.py)")


if __name__ == "__main__":
    main()
