"""Run every explainer and metric over a set of images: resumable, with a progress bar."""
from __future__ import annotations

import json
import os
import time
from collections import defaultdict

import numpy as np

from . import metrics as M

__all__ = ["evaluate", "Results", "METRICS"]

METRICS = ("pointing", "pointing_strict", "box_iou", "insertion", "deletion")


def _as_objects(truth):
    """Normalise one image's truth to a list of (label, box or None, mask or None)."""
    if truth is None:
        return []
    if hasattr(truth, "label") or isinstance(truth, dict) or (
            isinstance(truth, tuple) and len(truth) in (2, 3) and np.isscalar(truth[0])):
        truth = [truth]
    out = []
    for obj in truth:
        if hasattr(obj, "label"):
            out.append((int(obj.label), getattr(obj, "box", None), getattr(obj, "mask", None)))
        elif isinstance(obj, dict):
            out.append((int(obj["label"]), obj.get("box"), obj.get("mask")))
        else:
            label, where = obj[0], obj[1]
            arr = np.asarray(where)
            out.append((int(label), None, arr) if arr.ndim == 2 else (int(label), tuple(where), None))
    return out


class Results(list):
    """Rows (dicts) of an evaluation; ``summary()`` aggregates them per method; prints as markdown."""

    def summary(self) -> list[dict]:
        by_method = defaultdict(list)
        for row in self:
            by_method[row["method"]].append(row)
        out = []
        for method, rows in by_method.items():
            s = {"method": method, "n": len(rows)}
            if "hit" in rows[0]:
                s["pointing"], s["pointing_ci"] = _accuracy_ci(rows, "hit")
            if "hit_strict" in rows[0]:
                s["pointing_strict"], s["pointing_strict_ci"] = _accuracy_ci(rows, "hit_strict")
            for key in ("box_iou", "insertion", "deletion", "seconds"):
                if key in rows[0]:
                    s[key] = float(np.mean([r[key] for r in rows]))
            out.append(s)
        return out

    def to_markdown(self) -> str:
        summary = self.summary()
        if not summary:
            return "(no results)"
        cols = [("method", "method", "{}"), ("n", "n", "{}"),
                ("pointing", "pointing (15 px) ± 95% CI", None), ("pointing_strict", "pointing (strict)", None),
                ("box_iou", "box IoU", "{:.3f}"), ("insertion", "insertion AUC ↑", "{:.3f}"),
                ("deletion", "deletion AUC ↓", "{:.3f}"), ("seconds", "s / map", "{:.3f}")]
        cols = [c for c in cols if c[0] in summary[0]]
        lines = ["| " + " | ".join(c[1] for c in cols) + " |", "|" + "---|" * len(cols)]
        for s in summary:
            cells = []
            for key, _, fmt in cols:
                if fmt is None:
                    cells.append(f"{100 * s[key]:.1f}% ± {100 * s[key + '_ci']:.1f}")
                else:
                    cells.append(fmt.format(s[key]))
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_markdown()

    def _repr_markdown_(self) -> str:
        return self.to_markdown()


def _accuracy_ci(rows, key):
    """Per-class mean of hit rates (TorchRay) and its 95% normal-approximation half-width."""
    acc, per_class = M.pointing_accuracy([(r["target"], r[key]) for r in rows], per_class=True)
    counts = defaultdict(int)
    for r in rows:
        counts[r["target"]] += 1
    var = sum(p * (1 - p) / counts[c] for c, p in per_class.items()) / len(per_class) ** 2
    return acc, 1.96 * float(np.sqrt(var))


def _load(path):
    rows = Results()
    if path and os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if line:
                    try:
                        rows.append(json.loads(line))
                    except json.JSONDecodeError:
                        break  # a line cut by an interruption: recompute from there
    return rows


def evaluate(explainers, images, truths, *, metrics=METRICS, results=None, progress=True, tolerance=15,
             step=None, iou_rule="fraction", iou_threshold=0.5) -> Results:
    """Explain every object of every image with every explainer and score the maps.

    Parameters
    ----------
    explainers : dict {name: explainer} or list of explainers (named by ``.method``)
    images : (N, H, W, C) array or list of images
    truths : per image, a list of objects: ``SceneObject``s (from :func:`make_scenes`),
        ``(label, box)`` or ``(label, mask)`` pairs, or dicts with "label", "box", "mask".
        Every class present in an image is explained and scored (pointing-game protocol).
    metrics : subset of ("pointing", "pointing_strict", "box_iou", "insertion", "deletion"), keyword-only
    results : path or None, keyword-only
        A JSON-lines file: rows already there are kept and not recomputed, new
        rows are appended as they are computed, so an interrupted run resumes.
    progress : bool, keyword-only (tqdm.auto: a widget in Jupyter, text in a terminal)
    tolerance : pointing-game tolerance in pixels (the strict variant uses 0)
    step : insertion/deletion pixels per step (default: the image width)

    Returns
    -------
    Results : a list of row dicts; ``print(results)`` shows the per-method markdown table.
    """
    unknown = set(metrics) - set(METRICS)
    if unknown:
        raise ValueError(f"unknown metrics {sorted(unknown)}; choose from {METRICS}")
    if not isinstance(explainers, dict):
        explainers = {e.method: e for e in explainers}
    if len(images) != len(truths):
        raise ValueError(f"got {len(images)} images but {len(truths)} truths: one list of objects per image")
    rows = _load(results)
    done = {(r["image"], r["target"], r["method"]) for r in rows}
    tasks = [(i, obj, name) for i in range(len(images)) for obj in _as_objects(truths[i])
             for name in explainers if (i, obj[0], name) not in done]
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(tasks), desc="evaluate", unit="map")
    out = open(results, "a", encoding="utf-8") if results else None
    try:
        for i, (label, box, mask), name in tasks:
            image = np.asarray(images[i])
            t0 = time.perf_counter()
            exp = explainers[name].explain(image, target=label)
            row = {"image": i, "target": label, "method": name, "seconds": time.perf_counter() - t0,
                   "n_forward": int(exp.n_forward)}
            truth = mask if mask is not None else box
            if "pointing" in metrics:
                row["hit"] = M.pointing_game(exp.saliency, truth, tolerance=tolerance)
            if "pointing_strict" in metrics:
                row["hit_strict"] = M.pointing_game(exp.saliency, truth, tolerance=0)
            if "box_iou" in metrics:
                gt_box = box if box is not None else M.localization.box_of(np.asarray(mask, bool))
                row["box_iou"] = M.box_iou(exp.saliency, gt_box, rule=iou_rule, threshold=iou_threshold)
            model = _model_of(explainers)
            if "insertion" in metrics:
                row["insertion"] = M.insertion(model, image, exp.saliency, label, step=step).auc
            if "deletion" in metrics:
                row["deletion"] = M.deletion(model, image, exp.saliency, label, step=step).auc
            rows.append(row)
            if out:
                out.write(json.dumps(row) + "\n")
                out.flush()
            if bar is not None:
                bar.update(1)
    finally:
        if out:
            out.close()
        if bar is not None:
            bar.close()
    return rows


def _model_of(explainers):
    for e in explainers.values():
        if getattr(e, "model", None) is not None:
            return e.model
    raise ValueError("insertion/deletion need a model: at least one explainer must wrap one")
