"""Reproduce the paper's kind of figures and tables on the bundled demo model and scenes.

``python -m saliency_widgets reproduce --out DIR`` writes, with progress bars:
pointing-game tables (single- and multi-object scenes), the pointing-game
figure, the insertion/deletion comparison grid and curves, the convergence
study of the mask-update readings against RISE, as PNG and markdown, and
``results.json`` (what the notebooks load; the package ships a copy).

Tiers (``--tier``): ``full`` is the run whose numbers the package ships (about 46 minutes on 2 CPU
cores); ``quick`` draws every figure and table from a sample of the same scenes with the same methods
and budgets (under 10 minutes on 2 cores), labels each as the quick tier and writes the full run's
stored numbers beside them (``full_run.md``); ``test`` is a tiny run for the test suite.  Before the
work starts, the first scene of each study is timed and the whole run's duration estimated from it.
"""
from __future__ import annotations

import json
import os
import time

import numpy as np

from . import metrics as M
from .evaluation import Results, evaluate
from .truth import class_union

__all__ = ["CONFIG", "TIERS", "READINGS", "CONVERGENCE_REFERENCE", "standard_explainers", "variants", "convergence_study",
           "convergence_cases", "comparison_data", "reproduce", "tier_config", "tier_note", "estimate_seconds",
           "full_run_markdown", "convergence_markdown", "shipped_results", "shipped_fingerprint", "check_shipped"]

# Everything that determines the shipped numbers (the drift test recomputes a sample of every table from it).
# Every method with a budget gets the same number of forward passes ("budget").
CONFIG = {
    "single_seed": 2024, "multi_seed": 2025, "n_single": 200, "n_multi": 40,
    "budget": 1000, "explainer_seed": 0, "protocol": "rise",
    "headline": ["mask-update-paper", "mask-update", "rise", "grad-cam", "lime", "occlusion", "center"],
    "conv_single": 100, "conv_multi": 100, "checkpoints": [125, 250, 500, 1000],
}

# What each tier changes in CONFIG.  "quick": the same methods, budget and checkpoints on the first scenes of
# the same seeds (scenes are drawn one by one from the seed, so they are the full run's first scenes).
TIERS = {
    "full": {},
    "quick": {"n_single": 30, "n_multi": 8, "conv_single": 15, "conv_multi": 15},
    "test": {"n_single": 4, "n_multi": 2, "budget": 200, "conv_single": 2, "conv_multi": 2,
             "checkpoints": [50, 100, 200]},
}

# The readings of the mask-update method compared in the convergence study, by registry key, in the order its
# tables and figures show them, then the reading they are measured against.  Labels and settings are the
# declared once beside the class (MaskUpdate.declarations), the labels computed from the settings that ran.
READINGS = ("mask-update-paper", "mask-update-paper-chains", "mask-update-relative", "mask-update",
            "mask-update-relative-score", "mask-update-relative-slope")
CONVERGENCE_REFERENCE = "rise"


def shipped_results() -> dict:
    """The results file that ``reproduce`` wrote and the package ships."""
    from importlib import resources
    text = (resources.files("saliency_widgets.demo") / "data" / "results.json").read_text(encoding="utf-8")
    return json.loads(text)


def _recipes(explainers) -> dict:
    """``{label: (registry key, params)}`` of built explainers (what a table's fingerprint records)."""
    return {label: (e.method, e.params) for label, e in explainers.items()}


def shipped_fingerprint(cfg: dict | None = None) -> dict:
    """The fingerprint of every table :func:`reproduce` writes for ``cfg`` (default :data:`CONFIG`).

    Per table (``single``, ``multi``, ``convergence``): the settings of its methods and metrics and what they
    compute on a small fixed probe (:mod:`saliency_widgets.evaluation.fingerprint`), the scenes it is
    computed on, and for the convergence study the study's own numbers on a one-target probe.  A stored
    table is today's while :func:`~saliency_widgets.evaluation.fingerprint.differences` finds nothing.
    """
    from .demo import load_model, make_scenes
    from .evaluation.fingerprint import PROBE_BUDGET, PROBE_SEED, table_fingerprint
    cfg = cfg or CONFIG
    model = load_model()
    headline = _recipes(standard_explainers(model, budget=cfg["budget"], seed=cfg["explainer_seed"]))
    readings = _recipes(variants(model, budget=max(cfg["checkpoints"]), seed=cfg["explainer_seed"]))
    probe = make_scenes(1, objects=(1, 1), seed=PROBE_SEED)
    study = convergence_study(model, probe, [(0, probe.objects[0][0])], progress=False,
                              checkpoints=[PROBE_BUDGET // 4, PROBE_BUDGET // 2, PROBE_BUDGET])
    study = {name: {k: row[k] for k in ("pointing", "correlation", "hits")} for name, row in study.items()}
    return {
        "single": table_fingerprint(headline, M.METRICS, {"protocol": cfg["protocol"]},
                                    {"single": (cfg["single_seed"], (1, 1))}),
        "multi": table_fingerprint(headline, MULTI_METRICS, {}, {"multi": (cfg["multi_seed"], (2, 3))}),
        "convergence": table_fingerprint(readings, ("pointing",), {},
                                         {"single": (cfg["single_seed"], (1, 1)),
                                          "multi": (cfg["multi_seed"] + 1, (2, 3))}, study=study),
    }


def check_shipped(results: dict | None = None) -> list[str]:
    """What today's code computes differently from the code that made ``results`` (default: the shipped
    file), one line per table and method or metric that moved; empty when the stored tables are today's."""
    from .evaluation.fingerprint import differences
    results = results or shipped_results()
    stored = results.get("fingerprint")
    if stored is None:
        return ["the results file has no fingerprint: made by code older than fingerprints; run reproduce"]
    now = shipped_fingerprint(results["config"])
    return [line for table in sorted(set(stored) | set(now))
            for line in differences(stored.get(table, {}), now.get(table, {}), table=table)]


def standard_explainers(model, *, budget=1000, seed=0, methods=None) -> dict:
    """The headline table's methods, keyed by their registry labels, at equal forward passes.

    ``methods``: registry keys (default ``CONFIG["headline"]``); every method with a budget (LIME's samples
    too) gets ``budget`` forward passes.
    """
    from .registry import build_checked, get_method
    out = {}
    for key in methods or CONFIG["headline"]:
        spec = get_method(key)  # one budget for every method that has one (range-checked by the registry)
        explainer = build_checked(spec.key, model, budget=spec.shared_budget(budget), seed=seed)
        out[explainer.label] = explainer
    return out


def variants(model, *, budget=1000, seed=0) -> dict:
    """The readings of the mask-update method compared in the convergence study, and RISE.

    Keyed by their registry labels, in :data:`READINGS` order, each built by the
    registry with ``budget`` forward passes (range-checked) and ``seed``.
    """
    from .registry import build_checked, get_method
    out = {}
    for key in READINGS + (CONVERGENCE_REFERENCE,):
        explainer = build_checked(key, model, budget=budget, seed=seed)
        out[explainer.label] = explainer
    return out


def _targets(model, scenes, *, not_top1: bool):
    """(image index, object) pairs; with not_top1, only objects that are not the model's top-1 class."""
    from .models.predict import top1 as top1_of
    top1 = top1_of(model, scenes.images)  # of adapter.prepare(image): what the explainers explain
    out = []
    for i, objs in enumerate(scenes.objects):
        for obj in objs:
            if not not_top1 or obj.label != top1[i]:
                out.append((i, obj))
    return out


def convergence_study(model, scenes, cases, *, checkpoints, budget=None, progress=True) -> dict:
    """Pointing accuracy (15 px) and stability at each checkpoint, per reading, with intervals.

    For every reading and target: the partial map after each checkpoint's forward passes is
    scored by the pointing game (TorchRay's rule, map ranked by ``raw``) and by its correlation
    with the same run's final map (*stability*: how settled the map is, not whether it is right).
    Accuracy is the share of targets hit (each target is one (image, class) pair), with a 95%
    cluster-bootstrap interval over images (targets of one image are resampled together, see
    :func:`convergence_ci`); the per-target hits and image ids are stored so the drift test can
    recompute any of them.
    """
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
            truth = class_union(scenes.objects[i], obj.label)
            res = M.convergence(explainer, scenes.images[i].astype(np.float32), obj.label, checkpoints=checkpoints)
            ranked = getattr(res, "raws", None) or res.maps
            for c in checkpoints:
                k = min(int(np.searchsorted(res.n_forward, c)), len(res.maps) - 1)
                hits[c].append(bool(M.pointing_game(ranked[k], truth, tolerance=15)))
                corr[c].append(float(res.correlation[k]))
            if bar is not None:
                bar.update(1)
        images = [int(i) for i, _ in cases]
        table[name] = {"n_forward": list(checkpoints), "pointing": [float(np.mean(hits[c])) for c in checkpoints],
                       "pointing_ci": [convergence_ci(hits[c], images) for c in checkpoints],
                       "ci_kind": "cluster bootstrap over images",
                       "correlation": [float(np.mean(corr[c])) for c in checkpoints],
                       "hits": [hits[c] for c in checkpoints], "images": images,
                       "seconds_per_map": (time.perf_counter() - t0) / max(1, len(cases))}
    if bar is not None:
        bar.close()
    return table


def convergence_ci(hits, images) -> list:
    """95% interval of a convergence accuracy: cluster bootstrap over images (several targets share an image).

    Where every target hit (or every one missed) a bootstrap collapses to one point, so Wilson's interval
    over the targets is given there, as the tables do.
    """
    hits = [bool(h) for h in hits]
    if all(hits) or not any(hits):
        return list(M.wilson_interval(sum(hits), len(hits)))
    return list(M.cluster_bootstrap_ci([float(h) for h in hits], images))


def _cached(path, key, compute):
    """Reuse a finished study from an earlier (interrupted) run with the same settings and code."""
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            saved = json.load(f)
        if saved.get("key") == key:
            return saved["table"]
    table = compute()
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump({"key": key, "table": table}, f, default=float)
    os.replace(path + ".tmp", path)
    return table


def _fresh_rows(path, key):
    """Drop a resumable rows file made under other settings or other code (a stamp file beside it)."""
    stamp = path + ".stamp"
    text = json.dumps(key, sort_keys=True, default=str)
    if os.path.exists(path):
        old = open(stamp, encoding="utf-8").read() if os.path.exists(stamp) else None
        if old != text:
            os.remove(path)
    with open(stamp, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def comparison_data(explainers, model, images, objects, methods=None):
    """Maps and (insertion, deletion) AUCs per image and method, for :func:`comparison_grid`.

    ``methods``: keys of ``explainers`` or registry keys/labels (default: every explainer).
    Insertion and deletion rank pixels by the explanation's ``raw`` map (the one rule for
    every method) with the metrics' default occluder; the panels show the display map.
    Returns ``maps``, ``scores`` (lists of {label: ...}), ``titles`` ("class: p%") and the
    insertion/deletion curves of the first image ({label: (Curve, Curve)}).
    """
    from .demo import CLASS_NAMES
    from .models import as_model
    from .models.predict import predict_images
    from .registry import get_method
    adapter = as_model(model)
    names = []
    for name in methods or list(explainers):
        names.append(name if name in explainers else get_method(name).label)
    maps, scores, titles, curves = [], [], [], {}
    for i, (img, obj) in enumerate(zip(images, objects)):
        x = np.asarray(img, np.float32)
        p = predict_images(adapter, [x])[0, obj.label]
        titles.append(f"{CLASS_NAMES[obj.label]}: {100 * p:.2f}%")
        maps.append({})
        scores.append({})
        for name in names:
            exp = explainers[name].explain(x, obj.label)
            ins = M.insertion(adapter, x, exp.raw, obj.label, protocol=CONFIG["protocol"])
            dele = M.deletion(adapter, x, exp.raw, obj.label, protocol=CONFIG["protocol"])
            maps[-1][name], scores[-1][name] = exp.saliency, (ins.auc, dele.auc)
            if i == 0:
                curves[name] = (ins, dele)
    return maps, scores, titles, curves


def _markdown_convergence(table) -> str:
    cps = next(iter(table.values()))["n_forward"]
    lines = ["| reading | " + " | ".join(f"{c} passes" for c in cps) + " | s / map |",
             "|---|" + "---|" * (len(cps) + 1)]
    for name, row in table.items():
        cells = [f"{100 * p:.0f}% [{100 * lo:.0f}, {100 * hi:.0f}] (r={r:.2f})"
                 for p, (lo, hi), r in zip(row["pointing"], row["pointing_ci"], row["correlation"])]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {row['seconds_per_map']:.2f} |")
    return "\n".join(lines)


def convergence_cases(model, cfg):
    """The targets of the two convergence studies: (scenes, [(image index, object)]) each.

    Single-object scenes: the first ``conv_single`` scenes of the headline table's scenes.
    Multi-object scenes: objects whose class is not the model's top-1 class (the hard case).
    """
    from .demo import make_scenes
    single = make_scenes(cfg["conv_single"], seed=cfg["single_seed"])
    multi = make_scenes(cfg["conv_multi"] * 3, objects=(2, 3), seed=cfg["multi_seed"] + 1)
    return ((single, _targets(model, single, not_top1=False)[:cfg["conv_single"]]),
            (multi, _targets(model, multi, not_top1=True)[:cfg["conv_multi"]]))


def tier_config(tier: str = "full", *, n_scenes: int | None = None) -> dict:
    """CONFIG with the settings of ``tier`` (a key of :data:`TIERS`); ``n_scenes`` overrides ``n_single``."""
    if tier not in TIERS:
        raise ValueError(f"tier must be one of {list(TIERS)}, got {tier!r}")
    cfg = dict(CONFIG, **TIERS[tier])
    if n_scenes is not None:
        if isinstance(n_scenes, bool) or not isinstance(n_scenes, int) or n_scenes < 3:
            raise ValueError(f"n_scenes must be an integer >= 3 (the figures show 3 scenes), got {n_scenes!r}")
        cfg["n_single"] = n_scenes
    return cfg


def tier_note(tier: str, cfg: dict) -> str:
    """The words every figure and table of a tier other than ``full`` carries ("" for the full run)."""
    if tier == "full":
        return ""
    return (f"{tier} tier: {cfg['n_single']} single-object scenes, {cfg['n_multi']} multi-object scenes, "
            f"{cfg['conv_single']} + {cfg['conv_multi']} convergence targets, {cfg['budget']} forward passes "
            f"(the full run: {CONFIG['n_single']}, {CONFIG['n_multi']}, {CONFIG['conv_single']} + "
            f"{CONFIG['conv_multi']}; its numbers are in full_run.md)")


def estimate_seconds(first: dict, counts: dict) -> float:
    """The whole run's duration from the timed first items: ``sum(first[k] * counts[k])``.

    ``first``: seconds of the first item of each study (a single-object scene, a multi-object
    (image, class) pair, a convergence target); ``counts``: how many items each study has.
    """
    unknown = set(counts) - set(first)
    if unknown:
        raise ValueError(f"no timing for {sorted(unknown)}: timed {sorted(first)}")
    return float(sum(first[k] * n for k, n in counts.items()))


def _timed_first(explainers, model, single, multi, conv_cases, cfg, paths) -> dict:
    """Seconds of the first item of each study.  The scene rows are kept (the run resumes from them)."""
    t = time.perf_counter()
    evaluate(explainers, single.images[:1], single.objects[:1], progress=False, sanity=False, results=paths[0],
             protocol=cfg["protocol"])
    first = {"single": time.perf_counter() - t}
    t = time.perf_counter()
    rows = evaluate(explainers, multi.images[:1], multi.objects[:1], progress=False, sanity=False,
                    metrics=MULTI_METRICS, results=paths[1])
    first["multi"] = (time.perf_counter() - t) / max(1, len({r["target"] for r in rows}))
    scenes, cases = conv_cases[0]
    t = time.perf_counter()
    convergence_study(model, scenes, cases[:1], checkpoints=cfg["checkpoints"], progress=False)
    first["convergence"] = time.perf_counter() - t
    return first


MULTI_METRICS = M.LOCALIZATION_METRICS  # multi-object scenes: insertion/deletion are about one class


def _announce(tier, cfg, first, counts) -> float:
    """Print what the run does and how long it should take, before it starts."""
    seconds = estimate_seconds(first, counts)
    timed = ", ".join(f"{k} {v:.1f} s" for k, v in first.items() if k != "figures")
    print(f"reproduce, {tier} tier: {counts['single']} single-object scenes, {counts['multi']} (image, class) "
          f"pairs of multi-object scenes, {counts['convergence']} convergence targets, {cfg['budget']} forward "
          f"passes per map; estimated {seconds / 60:.1f} min on this machine (first item of each study: {timed})",
          flush=True)
    return seconds


def reproduce(out: str, *, tier: str = "full", n_scenes: int | None = None, progress: bool = True) -> dict:
    """Write every figure and table into ``out`` and return the results dict.

    Parameters
    ----------
    out : folder (created if missing)
    tier : ``"full"`` (the shipped run), ``"quick"`` (every figure in under 10 minutes on 2 cores, labelled as
        the quick tier, the full run's numbers written beside it) or ``"test"``, keyword-only
    n_scenes : single-object scenes (default: the tier's), keyword-only
    progress : progress bars, keyword-only
    """
    import matplotlib
    matplotlib.use("Agg")

    from .demo import load_model, make_scenes

    cfg = tier_config(tier, n_scenes=n_scenes)
    note = tier_note(tier, cfg)
    os.makedirs(out, exist_ok=True)
    fingerprint = shipped_fingerprint(cfg)
    key = {"config": cfg, "fingerprint": fingerprint}  # caches are reused only while the code computes the same
    model = load_model()
    single = make_scenes(cfg["n_single"], seed=cfg["single_seed"])
    multi = make_scenes(cfg["n_multi"], objects=(2, 3), seed=cfg["multi_seed"])
    explainers = standard_explainers(model, budget=cfg["budget"], seed=cfg["explainer_seed"])
    paths = (_fresh_rows(os.path.join(out, "rows_single.jsonl"), key),
             _fresh_rows(os.path.join(out, "rows_multi.jsonl"), key))
    conv = convergence_cases(model, cfg)
    t0 = time.perf_counter()
    first = _timed_first(explainers, model, single, multi, conv, cfg, paths)
    first["figures"] = first["single"]  # the figures explain 3 scenes with the same methods
    counts = {"single": len(single), "multi": sum(len({o.label for o in objs}) for objs in multi.objects),
              "convergence": len(conv[0][1]) + len(conv[1][1]), "figures": 3}
    estimate = _announce(tier, cfg, first, counts)

    # 1. pointing game, box IoU and insertion/deletion over single- and multi-object scenes
    rows_single = evaluate(explainers, single.images, single.objects, progress=progress, results=paths[0],
                           protocol=cfg["protocol"])
    rows_multi = evaluate(explainers, multi.images, multi.objects, progress=progress, metrics=MULTI_METRICS,
                          results=paths[1])
    _write(out, "pointing.md", _pointing_markdown(cfg, note, single, multi, rows_single, rows_multi))
    _figures(out, note, explainers, model, single)
    conv_single, conv_multi, p0_multi = _convergence(out, note, model, cfg, key, conv, progress)

    from . import __version__
    results = {"config": cfg, "tier": tier, "fingerprint": fingerprint, "version": __version__,
               "date": time.strftime("%Y-%m-%d", time.gmtime()), "labels": list(explainers),
               "pointing_single": rows_single.summary(), "pointing_multi": rows_multi.summary(),
               "markdown_single": rows_single.to_markdown(), "markdown_multi": rows_multi.to_markdown(),
               "sanity_single": rows_single.sanity.to_dict() if getattr(rows_single, "sanity", None) else None,
               "rows_single": list(rows_single), "rows_multi": list(rows_multi),
               "convergence_single": conv_single, "convergence_multi": conv_multi,
               "convergence_multi_p0": [float(v) for v in p0_multi],
               "estimated_seconds": estimate, "seconds": time.perf_counter() - t0}
    if tier != "full":
        _write(out, "full_run.md", full_run_markdown())
    _write(out, "results.json", json.dumps(results, indent=1, default=float))
    print(f"wrote figures and tables ({tier} tier) to {out}/ in {results['seconds']:.0f} s "
          f"(estimated {estimate:.0f} s)")
    return results


def _write(out: str, name: str, text: str) -> None:
    """Write ``out/name`` under a temporary name first: never half-written."""
    path = os.path.join(out, name)
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


def _pointing_markdown(cfg, note, single, multi, rows_single, rows_multi) -> str:
    n_pairs = len({(r["image"], r["target"]) for r in rows_multi})
    head = f"**{note}**\n\n" if note else ""
    return (f"{head}## Single-object scenes ({len(single)} scenes, 96 x 96, {cfg['budget']} forward passes for "
            f"every method with a budget)\n\n{rows_single.to_markdown()}\n\n"
            f"## Multi-object scenes ({len(multi)} scenes, {n_pairs} (image, class) pairs, every class "
            f"present explained once)\n\n{rows_multi.to_markdown()}\n")


def _save(fig, out: str, name: str, note: str) -> None:
    """Save and close a figure; a tier's note goes above its own title."""
    import matplotlib.pyplot as plt
    from .plotting.figures import fit_titles
    if note:
        own = fig.get_suptitle()
        fig.suptitle(note + ("\n" + own if own else ""), fontsize=7)
        fit_titles(fig)  # the note wrapped to the figure's width, the layout redone for it
    fig.savefig(os.path.join(out, name), dpi=110, bbox_inches="tight")
    plt.close(fig)


def _figures(out, note, explainers, model, single) -> None:
    """The pointing-game figure, the insertion/deletion grid and its curves, on the first 3 scenes."""
    from .demo import CLASS_NAMES
    from .plotting.figures import comparison_grid, curves_figure, pointing_figure

    # pointing game (seed: pointing_game_result.png), the project's default reading
    default = get_label("mask-update")
    cases = []
    for i in range(3):
        obj = single.objects[i][0]
        exp = explainers[default].explain(single.images[i].astype(np.float32), obj.label)
        cases.append(dict(image=single.images[i], saliency=exp.saliency, raw=exp.raw, box=obj.box, mask=obj.mask,
                          label=CLASS_NAMES[obj.label], method=default))
    _save(pointing_figure(cases), out, "pointing_game.png", note)
    # insertion/deletion comparison grid (seed: saliency_map_comparison_1_2_3.jpg)
    firsts = [objs[0] for objs in single.objects[:3]]
    grid_methods = [get_label(k) for k in ("lime", "grad-cam", "rise", "mask-update-paper", "mask-update")]
    maps, scores, titles, curves = comparison_data(explainers, model, single.images[:3], firsts,
                                                   methods=grid_methods)
    _save(comparison_grid(single.images[:3], maps, scores, titles=titles), out, "insertion_deletion.png", note)
    _save(curves_figure(curves, title=titles[0]), out, "curves.png", note)


def _convergence(out, note, model, cfg, key, conv, progress):
    """The convergence of the readings of the method, single- and multi-object (target not top-1)."""
    from .plotting.figures import convergence_figure
    (conv_s_scenes, conv_s_cases), (conv_m_scenes, conv_m_cases) = conv
    conv_single = _cached(os.path.join(out, "convergence_single.json"), key, lambda: convergence_study(
        model, conv_s_scenes, conv_s_cases, checkpoints=cfg["checkpoints"], progress=progress))
    conv_multi = _cached(os.path.join(out, "convergence_multi.json"), key, lambda: convergence_study(
        model, conv_m_scenes, conv_m_cases, checkpoints=cfg["checkpoints"], progress=progress))
    for name, table in (("single", conv_single), ("multi", conv_multi)):
        fig = convergence_figure({k: (v["n_forward"], v["pointing"], v["pointing_ci"]) for k, v in table.items()},
                                 title=f"{name}-object scenes" + (" (target not top-1)" if name == "multi" else ""))
        _save(fig, out, f"convergence_{name}.png", note)
    p0_multi = _p0(model, conv_m_scenes, conv_m_cases)
    head = f"**{note}**\n\n" if note else ""
    _write(out, "convergence.md", head + convergence_markdown(conv_single, conv_multi, p0_multi))
    return conv_single, conv_multi, p0_multi


def convergence_markdown(conv_single: dict, conv_multi: dict, p0_multi) -> str:
    """convergence.md: both convergence tables with what they measure."""
    return ("Pointing accuracy (15 px, TorchRay's rule) with its 95% interval (cluster bootstrap over images: "
            "targets that share an image are resampled together), and in "
            "brackets r = mean correlation of the partial map with the same run's final map (stability, "
            "not correctness).\n\n"
            f"## Single-object scenes ({len(next(iter(conv_single.values()))['hits'][0])} targets)\n\n"
            f"{_markdown_convergence(conv_single)}\n\n"
            f"## Multi-object scenes, target not the top-1 class ({len(p0_multi)} targets; the target's "
            f"probability on the unmasked image, p0: median {np.median(p0_multi):.3g}, quartiles "
            f"{np.quantile(p0_multi, 0.25):.3g} to {np.quantile(p0_multi, 0.75):.3g})\n\n"
            f"{_markdown_convergence(conv_multi)}\n")


def full_run_markdown(results: dict | None = None) -> str:
    """The full run's stored numbers (the shipped ``results.json``), as the full run wrote its tables."""
    r = results or shipped_results()
    cfg = r["config"]
    n_pairs = len({(row["image"], row["target"]) for row in r["rows_multi"]})
    return (f"# Full run (stored; tier full, {r['seconds'] / 60:.0f} min when it was made with saliency_widgets "
            f"{r['version']} on {r['date']})\n\n"
            f"## Single-object scenes ({cfg['n_single']} scenes, 96 x 96, {cfg['budget']} forward passes for "
            f"every method with a budget)\n\n{r['markdown_single']}\n\n"
            f"## Multi-object scenes ({cfg['n_multi']} scenes, {n_pairs} (image, class) pairs, every class "
            f"present explained once)\n\n{r['markdown_multi']}\n\n# Convergence\n\n"
            + convergence_markdown(r["convergence_single"], r["convergence_multi"], r["convergence_multi_p0"]))


def get_label(key: str) -> str:
    """The label of a method key at its default settings (what tables and figures call it; computed from
    its declaration, see :func:`saliency_widgets.registry.label_of`)."""
    from .registry import get_method
    return get_method(key).label


def _p0(model, scenes, cases) -> np.ndarray:
    """The target's probability on the unmasked image, per convergence target."""
    from .models.predict import predict_images
    probs = predict_images(model, scenes.images)
    return np.array([probs[i, obj.label] for i, obj in cases])
