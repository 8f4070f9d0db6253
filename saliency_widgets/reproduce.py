"""Reproduce the paper's kind of figures and tables on the bundled demo model and scenes.

``python -m saliency_widgets reproduce --out DIR`` writes, with progress bars:
pointing-game tables (single- and multi-object scenes), the pointing-game
figure, the insertion/deletion comparison grid and curves, the convergence
study of the mask-update readings against RISE, as PNG and markdown, and
``results.json`` (what the notebooks load; the package ships a copy).
"""
from __future__ import annotations

import json
import os
import time

import numpy as np

from . import metrics as M
from .evaluation import Results, evaluate
from .explainers import CenterBaseline, GradCam, Lime, MaskUpdate, Occlusion, Rise

__all__ = ["CONFIG", "standard_explainers", "variants", "convergence_study", "comparison_data", "reproduce",
           "shipped_results"]

# Everything that determines the shipped numbers (the drift test recomputes a subset from it).
CONFIG = {
    "single_seed": 2024, "multi_seed": 2025, "n_single": 200, "n_multi": 40,
    "budget": 1000, "lime_samples": 500, "explainer_seed": 0,
    "conv_single": 24, "conv_multi": 24, "checkpoints": [125, 250, 500, 1000, 2000],
}


def shipped_results() -> dict:
    """The results file that ``reproduce`` wrote and the package ships."""
    from importlib import resources
    text = (resources.files("saliency_widgets.demo") / "data" / "results.json").read_text(encoding="utf-8")
    return json.loads(text)


def standard_explainers(model, *, budget=1000, lime_samples=500, seed=0) -> dict:
    """The six methods of the pointing-game table, at equal forward passes where they have a budget."""
    return {
        "mask-update": MaskUpdate(model, steps=budget, seed=seed),
        "rise": Rise(model, masks=budget, seed=seed),
        "grad-cam": GradCam(model),
        "lime": Lime(model, samples=lime_samples, seed=seed),
        "occlusion": Occlusion(model),
        "center": CenterBaseline(),
    }


def variants(model, *, budget=2000, seed=0) -> dict:
    """The readings of the mask-update method compared in the convergence study, and RISE."""
    return {
        "faithful (1 chain, prototype, none)": MaskUpdate.faithful(model, steps=budget, seed=seed),
        "32 chains, prototype, none": MaskUpdate(model, steps=budget, chains=32, update="prototype",
                                                 weighting="none", seed=seed),
        "32 chains, relative, none": MaskUpdate(model, steps=budget, chains=32, update="relative",
                                                weighting="none", seed=seed),
        "32 chains, prototype, score": MaskUpdate(model, steps=budget, chains=32, update="prototype",
                                                  weighting="score", seed=seed),
        "32 chains, relative, score": MaskUpdate(model, steps=budget, chains=32, update="relative",
                                                 weighting="score", seed=seed),
        "32 chains, relative, slope": MaskUpdate(model, steps=budget, chains=32, update="relative",
                                                 weighting="slope", seed=seed),
        "rise": Rise(model, masks=budget, seed=seed),
    }


def _targets(model, scenes, *, not_top1: bool):
    """(image index, object) pairs; with not_top1, only objects that are not the model's top-1 class."""
    from .models import as_model
    adapter = as_model(model)
    top1 = adapter.predict(scenes.images.astype(np.float32)).argmax(1)
    out = []
    for i, objs in enumerate(scenes.objects):
        for obj in objs:
            if not not_top1 or obj.label != top1[i]:
                out.append((i, obj))
    return out


def convergence_study(model, scenes, cases, *, checkpoints, budget=None, progress=True) -> dict:
    """Pointing accuracy (15 px) and correlation with the final map at each checkpoint, per variant."""
    budget = budget or max(checkpoints)
    table = {}
    bar = None
    explainers = variants(model, budget=budget)
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(explainers) * len(cases), desc="convergence", unit="map")
    for name, explainer in explainers.items():
        hits = {c: [] for c in checkpoints}
        corr = {c: [] for c in checkpoints}
        t0 = time.perf_counter()
        for i, obj in cases:
            res = M.convergence(explainer, scenes.images[i].astype(np.float32), obj.label, checkpoints=checkpoints)
            for c in checkpoints:
                k = int(np.searchsorted(res.n_forward, c))
                k = min(k, len(res.maps) - 1)
                hits[c].append((obj.label, M.pointing_game(res.maps[k], obj.mask, tolerance=15)))
                corr[c].append(res.correlation[k])
            if bar is not None:
                bar.update(1)
        table[name] = {"n_forward": list(checkpoints),
                       "pointing": [M.pointing_accuracy(hits[c]) for c in checkpoints],
                       "correlation": [float(np.mean(corr[c])) for c in checkpoints],
                       "seconds_per_map": (time.perf_counter() - t0) / max(1, len(cases))}
    if bar is not None:
        bar.close()
    return table


def _cached(path, cfg, compute):
    """Reuse a finished study from an earlier (interrupted) run with the same configuration."""
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            saved = json.load(f)
        if saved.get("config") == cfg:
            return saved["table"]
    table = compute()
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump({"config": cfg, "table": table}, f, default=float)
    os.replace(path + ".tmp", path)
    return table


def comparison_data(explainers, model, images, objects, methods=("lime", "grad-cam", "rise", "mask-update")):
    """Maps and (insertion, deletion) AUCs per image and method, for :func:`comparison_grid`.

    Returns ``maps``, ``scores`` (lists of {method: ...}), ``titles`` ("class: p%") and the
    insertion/deletion curves of the first image ({method: (Curve, Curve)}).
    """
    from .demo import CLASS_NAMES
    from .models import as_model
    adapter = as_model(model)
    maps, scores, titles, curves = [], [], [], {}
    for i, (img, obj) in enumerate(zip(images, objects)):
        x = np.asarray(img, np.float32)
        p = adapter.predict(x[None])[0, obj.label]
        titles.append(f"{CLASS_NAMES[obj.label]}: {100 * p:.2f}%")
        maps.append({})
        scores.append({})
        for name in methods:
            sal = explainers[name].explain(x, obj.label).saliency
            ins, dele = M.insertion(adapter, x, sal, obj.label), M.deletion(adapter, x, sal, obj.label)
            maps[-1][name], scores[-1][name] = sal, (ins.auc, dele.auc)
            if i == 0:
                curves[name] = (ins, dele)
    return maps, scores, titles, curves


def _markdown_convergence(table) -> str:
    cps = next(iter(table.values()))["n_forward"]
    lines = ["| variant | " + " | ".join(f"{c} passes" for c in cps) + " | s / map |",
             "|---|" + "---|" * (len(cps) + 1)]
    for name, row in table.items():
        cells = [f"{100 * p:.1f}% (r={r:.2f})" for p, r in zip(row["pointing"], row["correlation"])]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {row['seconds_per_map']:.2f} |")
    return "\n".join(lines)


def reproduce(out: str, *, n_scenes: int | None = None, quick: bool = False, progress: bool = True) -> dict:
    """Write every figure and table into ``out`` and return the results dict."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .demo import CLASS_NAMES, load_model, make_scenes
    from .plotting.figures import comparison_grid, convergence_figure, curves_figure, pointing_figure

    cfg = dict(CONFIG)
    if n_scenes is not None:
        cfg["n_single"] = n_scenes
    if quick:
        cfg.update(n_single=4, n_multi=2, budget=200, lime_samples=100, conv_single=2, conv_multi=2,
                   checkpoints=[50, 100, 200])
    os.makedirs(out, exist_ok=True)
    model = load_model()
    single = make_scenes(cfg["n_single"], seed=cfg["single_seed"])
    multi = make_scenes(cfg["n_multi"], objects=(2, 3), seed=cfg["multi_seed"])
    explainers = standard_explainers(model, budget=cfg["budget"], lime_samples=cfg["lime_samples"],
                                     seed=cfg["explainer_seed"])
    t0 = time.perf_counter()

    # 1. pointing game, box IoU and insertion/deletion over single- and multi-object scenes
    rows_single = evaluate(explainers, single.images, single.objects, progress=progress,
                           results=os.path.join(out, "rows_single.jsonl"))
    rows_multi = evaluate(explainers, multi.images, multi.objects, progress=progress,
                          metrics=("pointing", "pointing_strict", "box_iou"),
                          results=os.path.join(out, "rows_multi.jsonl"))
    with open(os.path.join(out, "pointing.md"), "w", encoding="utf-8") as f:
        f.write(f"## Single-object scenes ({len(single)} scenes, 96 x 96, {cfg['budget']} forward passes for "
                f"mask-update and RISE, {cfg['lime_samples']} for LIME)\n\n{rows_single.to_markdown()}\n\n"
                f"## Multi-object scenes ({len(multi)} scenes, every object explained)\n\n"
                f"{rows_multi.to_markdown()}\n")

    # 2. figures: pointing game (seed: pointing_game_result.png)
    cases = []
    for i in range(3):
        obj = single.objects[i][0]
        exp = explainers["mask-update"].explain(single.images[i].astype(np.float32), obj.label)
        cases.append(dict(image=single.images[i], saliency=exp.saliency, box=obj.box, mask=obj.mask,
                          label=CLASS_NAMES[obj.label], method="mask-update"))
    fig = pointing_figure(cases)
    fig.savefig(os.path.join(out, "pointing_game.png"), dpi=110)
    plt.close(fig)

    # 3. insertion/deletion comparison grid (seed: saliency_map_comparison_1_2_3.jpg)
    firsts = [objs[0] for objs in single.objects[:3]]
    maps, scores, titles, curves = comparison_data(explainers, model, single.images[:3], firsts)
    imgs = single.images[:3]
    fig = comparison_grid(imgs, maps, scores, titles=titles)
    fig.savefig(os.path.join(out, "insertion_deletion.png"), dpi=110)
    plt.close(fig)
    fig = curves_figure(curves, title=titles[0])
    fig.savefig(os.path.join(out, "curves.png"), dpi=110)
    plt.close(fig)

    # 4. convergence of the readings of the method, single- and multi-object (target not top-1)
    conv_cases_single = _targets(model, single, not_top1=False)[:cfg["conv_single"]]
    conv_multi_scenes = make_scenes(cfg["conv_multi"] * 3, objects=(2, 3), seed=cfg["multi_seed"] + 1)
    conv_cases_multi = _targets(model, conv_multi_scenes, not_top1=True)[:cfg["conv_multi"]]
    conv_single = _cached(os.path.join(out, "convergence_single.json"), cfg, lambda: convergence_study(
        model, single, conv_cases_single, checkpoints=cfg["checkpoints"], progress=progress))
    conv_multi = _cached(os.path.join(out, "convergence_multi.json"), cfg, lambda: convergence_study(
        model, conv_multi_scenes, conv_cases_multi, checkpoints=cfg["checkpoints"], progress=progress))
    for name, table in (("single", conv_single), ("multi", conv_multi)):
        fig = convergence_figure({k: (v["n_forward"], v["pointing"]) for k, v in table.items()},
                                 title=f"{name}-object scenes" + (" (target not top-1)" if name == "multi" else ""))
        fig.savefig(os.path.join(out, f"convergence_{name}.png"), dpi=110)
        plt.close(fig)
    with open(os.path.join(out, "convergence.md"), "w", encoding="utf-8") as f:
        f.write("Pointing accuracy (15 px) and, in brackets, correlation with the variant's final map.\n\n"
                f"## Single-object scenes ({len(conv_cases_single)} targets)\n\n{_markdown_convergence(conv_single)}\n\n"
                f"## Multi-object scenes, target not the top-1 class ({len(conv_cases_multi)} targets)\n\n"
                f"{_markdown_convergence(conv_multi)}\n")

    results = {"config": cfg, "pointing_single": rows_single.summary(), "pointing_multi": rows_multi.summary(),
               "rows_single": list(rows_single), "rows_multi": list(rows_multi),
               "convergence_single": conv_single, "convergence_multi": conv_multi,
               "seconds": time.perf_counter() - t0}
    tmp = os.path.join(out, "results.json.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(results, f, indent=1, default=float)
    os.replace(tmp, os.path.join(out, "results.json"))
    print(f"wrote figures and tables to {out}/ in {results['seconds']:.0f} s")
    return results
