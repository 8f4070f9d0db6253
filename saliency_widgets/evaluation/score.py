"""What one image produces: its rows, one per (class present, method), scored by every metric.

:func:`score_image` is shared by the local loop (:mod:`.run`) and the cluster's shards
(:mod:`.cluster`), so both write the same rows.
"""
from __future__ import annotations

import time

import numpy as np

from .. import metrics as M
from ..metrics.names import ENERGY_METRICS, LOCALIZATION_METRICS, MODEL_METRICS, ROW_KEY
from ..occluder import check_occluder

__all__ = ["score_image", "error_text"]


def error_text(exc) -> str:
    """How a row records an exception: its type and text."""
    return f"{type(exc).__name__}: {exc}"


def score_image(explainers, model, source, i, tasks, mset, on_error="raise") -> list[dict]:
    """The rows of image ``i``: ``tasks`` is [(label, n objects, explainer name)]; ``mset`` the metric settings.

    Shared by the local loop and the cluster's shards, so both write the same rows.
    """
    occluder = check_occluder(mset["occluder"])
    base = {}
    rid = getattr(getattr(source, "records", {}).get(i), "id", None) if hasattr(source, "records") else None
    if rid is not None:
        base["image_id"] = rid
    try:
        image = np.asarray(source.image(i))
        truth = source.truth(i)
    except OSError as exc:  # an image that does not decode: every row of it says so, none is dropped
        return [{"image": i, "target": label, "method": name, "n_objects": int(n_obj), **base,
                 "error": error_text(exc), "skipped": "image"} for label, n_obj, name in tasks]
    out = []
    for label, n_obj, name in tasks:
        mask, boxes, _, difficult = truth[label]
        row = {"image": i, "target": label, "method": name, **base, "n_objects": int(n_obj),
               "difficult": bool(difficult)}
        try:
            row.update(_scores(explainers[name], model, image, label, mask, boxes, mset, occluder))
        except Exception as exc:  # noqa: BLE001 - recorded in the row when asked to
            if on_error == "raise":
                raise
            row = {k: row[k] for k in ("image", "target", "method", "n_objects", "difficult") if k in row}
            row.update(base)
            row["error"] = error_text(exc)
        out.append(row)
    return out


def _scores(explainer, model, image, label, mask, boxes, mset, occluder) -> dict:
    """One map's seconds, forward passes and metric values (the row's scored part)."""
    metrics = mset["metrics"]
    t0 = time.perf_counter()
    exp = explainer.explain(image, target=label)
    row = {"seconds": time.perf_counter() - t0, "n_forward": int(exp.n_forward)}
    raw = np.asarray(exp.raw, np.float64)  # one ranking rule for every method
    tie = mset["tie_seed"]
    local = [m for m in metrics if m in LOCALIZATION_METRICS + ENERGY_METRICS]
    scores = M.localization_scores(raw, mask, boxes, metrics=local, tolerance=mset["tolerance"],
                                   iou_rule=mset["iou_rule"], iou_threshold=mset["iou_threshold"], tie_seed=tie)
    row.update({ROW_KEY.get(k, k): v for k, v in scores.items()})
    if "insertion" in metrics:
        row["insertion"] = M.insertion(model, image, raw, label, step=mset["step"], occluder=occluder, tie_seed=tie,
                                       protocol=mset.get("protocol", M.PROTOCOL)).auc
    if "deletion" in metrics:
        row["deletion"] = M.deletion(model, image, raw, label, step=mset["step"], occluder=occluder,
                                     tie_seed=tie, protocol=mset.get("protocol", M.PROTOCOL)).auc
    return row
