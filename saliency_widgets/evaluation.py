"""Run every explainer and metric over a set of images: resumable, with a progress bar.

Protocol
--------
* One row per (image, class present in it), as TorchRay's pointing game: the
  image's objects are grouped by label and each class is explained once; the
  pointing truth is the union of that class's masks (or boxes), box IoU takes
  the best match among that class's boxes.
* Metrics read ``Explanation.raw`` (every method ranked by the same rule, ties in
  a seeded random order: :mod:`saliency_widgets.metrics.ranking`); box IoU
  thresholds the min-max normalised raw map.  ``saliency`` stays the display map.
* Intervals: 95% percentile bootstrap over images (2000 resamples, seed 0).
* A sanity check (:func:`~saliency_widgets.metrics.sanity_check`) runs with the
  same settings; a metric where the ground-truth mask does not beat a random
  map is flagged in the table.
* Each row carries ``difficult``: EBP's subset flag (the class covers < 1/4 of
  the image and another class is present; a dataset may read TorchRay's flag
  file instead), so :meth:`Results.pointing_table` scores "all" and "difficult".
* A map that failed (an exception in the explanation with ``on_error="record"``,
  always with ``client=``; or an image that does not decode) is a row with
  ``"error"``: counted as failed in the tables, recomputed when the file is resumed.
* Images may be a dataset (:mod:`saliency_widgets.datasets`), decoded lazily,
  and with ``client=`` the work runs on a Dask cluster
  (:mod:`saliency_widgets.distributed`).

Results file
------------
JSON lines.  The first line is ``{"__settings__": {...}}``: the file format,
the metric settings (metrics, tolerance, step, occluder, iou_rule,
iou_threshold, tie_seed, the map read) and, per method name, the explainer's
``method`` and ``params``; it may also hold ``"__sanity__"`` (the last sanity
check, reused while its settings match).  Every other line is one row.
Resuming a file refuses (``ValueError`` naming what differs) when a metric
setting or a method's params differ; a cut-off last line is removed before new
rows are appended.
"""
from __future__ import annotations

import json
import os
import re
import time
import warnings
from collections import defaultdict

import numpy as np

from . import metrics as M
from .metrics.scores import LOCALIZATION_METRICS
from .datasets.base import ebp_difficult
from .metrics.intervals import (BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED, bootstrap_mean_ci, bootstrap_pointing_ci,
                                wilson_interval)
from .metrics.sanity import SANITY_THRESHOLD, SanityResult
from .occluder import check_occluder, occluder_param

__all__ = ["evaluate", "Results", "METRICS", "FORMAT", "score_image", "as_source", "ArraySource"]

METRICS = ("pointing", "pointing_strict", "box_iou", "insertion", "deletion")
FORMAT = "saliency_widgets.evaluate/2"
_MODEL_METRICS = ("insertion", "deletion")
_ROW_KEY = {"pointing": "hit", "pointing_strict": "hit_strict", "box_iou": "box_iou", "insertion": "insertion",
            "deletion": "deletion"}


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


def _by_class(objects, shape):
    """{label: (union mask (H, W) bool, [boxes])}: all instances of a class together (TorchRay)."""
    out = {}
    for label, box, mask in objects:
        if mask is not None:
            m = np.asarray(mask, bool)
            if m.shape != tuple(shape):
                raise ValueError(f"an object mask has shape {m.shape} but the image is {tuple(shape)}")
        elif box is not None:
            x0, y0, x1, y1 = M.localization.check_box(box, shape)
            m = np.zeros(shape, bool)
            m[y0:y1, x0:x1] = True
        else:
            raise ValueError(f"object of class {label} has neither a box nor a mask")
        b = tuple(box) if box is not None else M.localization.box_of(m)
        if b is None:
            raise ValueError(f"object of class {label} has an empty mask")
        union, boxes = out.get(label, (np.zeros(shape, bool), []))
        out[label] = (union | m, boxes + [b])
    return out


class Results(list):
    """Rows (dicts) of an evaluation, one per (image, class, method); prints as a markdown table.

    Attributes
    ----------
    settings : dict, the metric settings and each method's params (the results file's header).
    sanity : SanityResult or None, the perfect-vs-random check on the same data.
    """

    def __init__(self, rows=(), *, settings=None, sanity=None):
        super().__init__(rows)
        self.settings = settings or {}
        self.sanity = sanity

    def summary(self) -> list[dict]:
        """Per method: n; pointing accuracy (TorchRay: mean of per-class rates) with ``*_ci`` = [lo, hi]
        (95% bootstrap over images; Wilson's for the pooled proportion when all entries hit or all
        missed, ``*_ci_kind`` says which); mean box IoU / AUCs with ``*_ci`` (bootstrap); seconds per map."""
        by_method = defaultdict(list)
        failed = defaultdict(int)
        for row in self:
            by_method[row["method"]]  # keep the method even when all its rows failed
            if "error" in row:
                failed[row["method"]] += 1
            else:
                by_method[row["method"]].append(row)
        out = []
        for method, rows in by_method.items():
            s = {"method": method, "n": len(rows)}
            if failed:
                s["failed"] = failed[method]
            if not rows:
                out.append(s)
                continue
            for key, name in (("hit", "pointing"), ("hit_strict", "pointing_strict")):
                if key in rows[0]:
                    s[name] = M.pointing_accuracy([(r["target"], r[key]) for r in rows])
                    s[name + "_ci"], s[name + "_ci_kind"] = _pointing_interval(rows, key)
            for key in ("box_iou", "insertion", "deletion"):
                if key in rows[0]:
                    s[key] = float(np.mean([r[key] for r in rows]))
                    s[key + "_ci"] = list(bootstrap_mean_ci(rows, key))
            if "seconds" in rows[0]:
                s["seconds"] = float(np.mean([r["seconds"] for r in rows]))
            out.append(s)
        return out

    def _headers(self):
        m = self.settings.get("metrics", {})
        tol = m.get("tolerance", 15)
        rule, thr = m.get("iou_rule", "fraction"), m.get("iou_threshold", 0.5)
        region = f"≥ {thr:g} of min-max raw" if rule == "fraction" else f"top {100 * thr:g}% of raw"
        occ = m.get("occluder", "auto")
        occ = f"{occ:g}" if isinstance(occ, (int, float)) else occ
        return {"pointing": f"pointing ({tol:g} px) [95% CI]", "pointing_strict": "pointing (strict) [95% CI]",
                "box_iou": f"box IoU ({region})", "insertion": "insertion AUC ↑ (gauss-reflect blur start, not RISE's gkern)",
                "deletion": f"deletion AUC ↓ (occluder {occ})"}

    def to_markdown(self) -> str:
        summary = self.summary()
        if not summary:
            return "(no results)"
        heads = dict(self._headers(), failed="failed")
        failed = set(self.sanity.failed) if self.sanity is not None else set()
        cols = [("method", "method"), ("n", "n"), ("failed", "failed")] + [
            (k, heads[k] + (" ⚠" if k in failed else "")) for k in METRICS] + [("seconds", "s / map")]
        cols = [c for c in cols if any(c[0] in s for s in summary)]
        lines = ["| " + " | ".join(c[1] for c in cols) + " |", "|" + "---|" * len(cols)]
        for s in summary:
            cells = []
            for key, _ in cols:
                if key not in s:
                    cells.append("–")
                elif key in ("pointing", "pointing_strict"):
                    lo, hi = s[key + "_ci"]
                    mark = " †" if s[key + "_ci_kind"] == "wilson" else ""
                    cells.append(f"{100 * s[key]:.1f}% [{100 * lo:.1f}, {100 * hi:.1f}]{mark}")
                elif key in ("box_iou", "insertion", "deletion"):
                    lo, hi = s[key + "_ci"]
                    cells.append(f"{s[key]:.3f} [{lo:.3f}, {hi:.3f}]")
                elif key == "seconds":
                    cells.append(f"{s[key]:.3f}")
                else:
                    cells.append(str(s[key]))
            lines.append("| " + " | ".join(cells) + " |")
        tie = self.settings.get("metrics", {}).get("tie_seed", 0)
        lines += ["", f"One row per (image, class present); maps ranked by `Explanation.raw`, ties in a random order "
                      f"(tie_seed={tie}). Intervals: 95% percentile bootstrap over images ({BOOTSTRAP_RESAMPLES} "
                      f"resamples, seed {BOOTSTRAP_SEED}); pointing = mean of per-class hit rates (TorchRay)."]
        if any(s.get(k + "_ci_kind") == "wilson" for s in summary for k in ("pointing", "pointing_strict")):
            lines.append("† every entry hit (or every entry missed): the bootstrap has no spread, so the interval "
                         "is Wilson's for the pooled proportion hits / entries.")
        errors = [r for r in self if "error" in r]
        if errors:
            first = errors[0]
            lines.append(f"{len(errors)} maps failed and are not scored (their rows hold the error; they are "
                         f"recomputed on resume), e.g. image {first['image']}, class {first['target']}, "
                         f"{first['method']}: {first['error']}")
        if self.sanity is not None:
            shares = ", ".join(f"{k} {100 * v:.0f}%" for k, v in self.sanity.share.items()
                               if any(k in s for s in summary))
            lines.append(f"Sanity check (the ground-truth mask as a map vs a uniform random map, first "
                         f"{self.sanity.n} entries, ties count as losses): the mask wins on {shares}; a metric "
                         f"passes when the 95% Wilson lower bound of its win rate is above "
                         f"{100 * self.sanity.threshold:.0f}%.")
            for k in METRICS:
                if k in failed and any(k in s for s in summary):
                    lo = self.sanity.interval(k)[0]
                    lines.append(f"⚠ {heads[k]}: the ground-truth mask beats a random map on "
                                 f"{100 * self.sanity.share[k]:.0f}% of {self.sanity.n} images, Wilson 95% lower "
                                 f"bound {100 * lo:.0f}%, not above {100 * self.sanity.threshold:.0f}% (sanity "
                                 f"check): do not rank methods on it.")
        return "\n".join(lines)

    def pointing_table(self, class_names=None, *, key: str = "hit") -> str:
        """Per-class pointing accuracy, "all" and "difficult" subsets per method, as markdown.

        TorchRay's benchmark layout: one line per class (hits / entries), and a
        last line with the mean of the per-class rates (its reported number).
        "difficult" reads each row's EBP flag (set by the datasets and by
        evaluate(); see :func:`saliency_widgets.datasets.ebp_difficult`).

        Parameters
        ----------
        class_names : sequence or dict {class index: name}, optional
        key : "hit" (pointing with the tolerance) or "hit_strict"
        """
        scored = [r for r in self if "error" not in r and key in r]
        if not scored:
            return "(no pointing results)"
        methods = list(dict.fromkeys(r["method"] for r in scored))
        classes = sorted({r["target"] for r in scored})
        names = dict(enumerate(class_names)) if isinstance(class_names, (list, tuple)) else dict(class_names or {})
        tally = defaultdict(lambda: [0, 0])  # (method, subset, class) -> [hits, entries]
        for r in scored:
            for subset in ("all", "difficult"):
                if subset == "difficult" and not r.get("difficult"):
                    continue
                t = tally[(r["method"], subset, r["target"])]
                t[0] += bool(r[key])
                t[1] += 1
        head = ["class"] + [f"{m} ({subset})" for m in methods for subset in ("all", "difficult")]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        means = {}
        for c in classes:
            cells = [str(names.get(c, c))]
            for m in methods:
                for subset in ("all", "difficult"):
                    h, n = tally.get((m, subset, c), (0, 0))
                    cells.append(f"{100 * h / n:.1f}% ({h}/{n})" if n else "–")
                    if n:
                        means.setdefault((m, subset), []).append(h / n)
            lines.append("| " + " | ".join(cells) + " |")
        cells = ["**mean of classes**"]
        for m in methods:
            for subset in ("all", "difficult"):
                v = means.get((m, subset))
                cells.append(f"**{100 * float(np.mean(v)):.1f}%**" if v else "–")
        lines.append("| " + " | ".join(cells) + " |")
        tol = self.settings.get("metrics", {}).get("tolerance", 15)
        lines += ["", f"Pointing game ({'strict' if key == 'hit_strict' else f'{tol:g} px tolerance'}), one entry "
                      "per (image, class present); the mean is over classes with entries (TorchRay). "
                      "difficult: EBP's subset (the class covers < 1/4 of the image and another class is present)."]
        n_failed = sum("error" in r for r in self)
        if n_failed:
            lines.append(f"{n_failed} maps failed and are left out (see the rows' \"error\").")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_markdown()

    def _repr_markdown_(self) -> str:
        return self.to_markdown()


def _pointing_interval(rows, key):
    """([lo, hi], kind): the bootstrap over images; Wilson's for the pooled proportion when every
    entry hit or every entry missed (then every resample gives the same value: a zero-width interval)."""
    k = sum(bool(r[key]) for r in rows)
    if k in (0, len(rows)):
        return list(wilson_interval(k, len(rows))), "wilson"
    return list(bootstrap_pointing_ci(rows, key)), "bootstrap"


def _jsonable(obj):
    """A JSON round trip, so settings compare as they are stored."""
    def default(o):
        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, (np.ndarray, tuple, set)):
            return list(o)
        if callable(o) and hasattr(o, "__qualname__"):  # a function: its name, stable across runs
            return f"{getattr(o, '__module__', '')}.{o.__qualname__}"
        return re.sub(r" at 0x[0-9a-fA-F]+", "", repr(o))  # no memory address: equal settings compare equal
    return json.loads(json.dumps(obj, default=default, sort_keys=True))


def _read(path):
    """(header or None, rows) of a results file; a cut-off or broken tail is truncated away."""
    if not path or not os.path.exists(path):
        return None, []
    header, rows, good_end = None, [], 0
    with open(path, "rb") as f:
        data = f.read()
    pos = 0
    while pos < len(data):
        nl = data.find(b"\n", pos)
        if nl < 0:  # no newline: the last write was cut off
            break
        line = data[pos:nl].strip()
        if line:
            try:
                obj = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError):
                break
            if pos == 0 and isinstance(obj, dict) and "__settings__" in obj:
                header = obj
            else:
                rows.append(obj)
        pos = good_end = nl + 1
    if good_end < len(data):
        warnings.warn(f"{path}: removed {len(data) - good_end} bytes after the last complete row (an "
                      "interrupted write); those rows are recomputed", RuntimeWarning, stacklevel=3)
        with open(path, "r+b") as f:
            f.truncate(good_end)
    if rows and header is None:
        raise ValueError(f"{path} has rows but no settings line (written by an older version, or not by "
                         "evaluate()): its settings cannot be checked; write to a new results file")
    return header, rows


def _diff(old: dict, new: dict) -> str:
    keys = sorted(set(old) | set(new))
    return ", ".join(f"{k}: {old.get(k, '<unset>')!r} in the file vs {new.get(k, '<unset>')!r} now"
                     for k in keys if old.get(k) != new.get(k))


def _merge_settings(path, stored, current):
    """The header to keep; raises when the stored settings differ from the current ones."""
    if stored is None:
        return current, True
    if stored.get("format") != FORMAT:
        raise ValueError(f"{path} was written in format {stored.get('format')!r}, this version writes {FORMAT!r}")
    if stored["metrics"] != current["metrics"]:
        what = _diff(stored["metrics"], current["metrics"])
        raise ValueError(f"{path} was made with different metric settings ({what}); use another results file "
                         "or the same settings")
    explainers = dict(stored["explainers"])
    for name, spec in current["explainers"].items():
        if name in explainers and explainers[name] != spec:
            old, new = explainers[name], spec
            what = _diff(old.get("params", {}), new.get("params", {})) or _diff(old, new)
            raise ValueError(f"{path} holds rows of method {name!r} made with different settings ({what}); "
                             "use another results file or the same settings")
    changed = any(name not in explainers for name in current["explainers"])
    explainers.update(current["explainers"])
    return dict(stored, explainers=explainers), changed


def _write_all(path, header, rows, sanity):
    """Rewrite the file (header, then rows) under a temporary name and rename it: never half-written."""
    head = {"__settings__": header}
    if sanity is not None:
        head["__sanity__"] = sanity
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(json.dumps(head) + "\n")
        for r in rows:
            f.write(json.dumps(r) + "\n")
    os.replace(tmp, path)


def evaluate(explainers, images, truths=None, *, metrics=METRICS, results=None, progress=True, tolerance=15,
             step=None, iou_rule="fraction", iou_threshold=0.5, occluder="auto", tie_seed=0, model=None,
             sanity=True, sanity_images=30, sanity_seed=0, client=None, model_factory=None, shard_size=4,
             on_error=None, on_rows=None) -> Results:
    """Explain every class present in every image with every explainer and score the maps.

    Parameters
    ----------
    explainers : dict {name: explainer}, list of explainers (named by ``.method``), registry
        names (keys or labels of :data:`saliency_widgets.registry.METHODS`) or ``(registry name,
        params)`` pairs, built on ``model`` (with ``client=``: on each worker's model)
    images : (N, H, W, C) array, list of images, or a :class:`saliency_widgets.datasets.Dataset`
        (VOC, COCO: images decoded lazily, ``truths`` read from its annotations)
    truths : per image, a list of objects: ``SceneObject``s (from :func:`make_scenes`),
        ``(label, box)`` or ``(label, mask)`` pairs, or dicts with "label", "box", "mask".
        Objects of one label form one entry (TorchRay's protocol): one row per
        (image, class, method).  None when ``images`` is a dataset.
    metrics : subset of ("pointing", "pointing_strict", "box_iou", "insertion", "deletion"), keyword-only
    results : path or None, keyword-only
        A JSON-lines file (format in the module docstring): rows already there
        are kept, new rows are appended as they are computed, so an interrupted
        run resumes (rows holding an ``"error"`` are recomputed).  A file made
        with other settings is refused.
    progress : bool, keyword-only (tqdm.auto: a widget in Jupyter, text in a terminal)
    tolerance : pointing-game tolerance in pixels, a hit needs distance < tolerance (strict: on the object)
    step : insertion/deletion pixels per step (default: the image width)
    iou_rule, iou_threshold : box IoU region of the min-max normalised raw map (see ``threshold_map``)
    occluder : what deletion replaces pixels with (default "auto": the model's mean colour, else the image's)
    tie_seed : seed of the random order among equal map values, in every metric
    model : the model insertion/deletion query (default: the first explainer's); not needed for
        pointing and box IoU
    sanity : bool, keyword-only
        Run :func:`~saliency_widgets.metrics.sanity_check` on the first ``sanity_images``
        (image, class) entries (seed ``sanity_seed``) and flag failing metrics in the table.
    client : ``dask.distributed.Client`` or None, keyword-only
        Run shards of ``shard_size`` images on the cluster's workers
        (:mod:`saliency_widgets.distributed`); rows stream back into ``results``.
        Needs ``model_factory``.  Without a client everything runs here.
    model_factory : picklable callable () -> model, keyword-only
        Each worker calls it once and keeps the model (models do not travel).
    shard_size : images per cluster task, keyword-only (a lost worker costs at most its shards)
    on_error : {"raise", "record"} or None, keyword-only
        What an exception inside one explanation does: "record" writes it in that
        row (``"error"``: the exception's type and text) and goes on; "raise"
        stops.  Default: "record" with a client, "raise" without.  An image that
        fails to decode is always recorded (its rows hold the error), never dropped.
    on_rows : callable or None, keyword-only
        Called with each list of new rows as they are written (a live view).

    Returns
    -------
    Results : a list of row dicts (keys image, target, method, seconds, n_forward, n_objects, difficult
        and hit / hit_strict / box_iou / insertion / deletion, or error); ``print(results)`` shows the table.
    """
    unknown = set(metrics) - set(METRICS)
    if unknown:
        raise ValueError(f"unknown metrics {sorted(unknown)}; choose from {METRICS}")
    metrics = tuple(m for m in METRICS if m in metrics)
    occluder = check_occluder(occluder)
    if on_error is None:
        on_error = "record" if client is not None else "raise"
    if on_error not in ("raise", "record"):
        raise ValueError(f"on_error must be 'raise' or 'record', got {on_error!r}")
    source = as_source(images, truths)
    needs_model = any(m in _MODEL_METRICS for m in metrics)
    if client is not None:
        from . import distributed
        if model_factory is None or not callable(model_factory):
            raise ValueError("evaluate(client=...) needs model_factory=: a picklable function that builds the "
                             "model on each worker (e.g. functools.partial(load_imagenet_model, 'ResNet50'))")
        recipes = distributed.recipes_of(explainers)
        described = distributed.describe(client, model_factory, recipes)
        explainer_specs = {name: described[name] for name in recipes}
    else:
        explainers = _resolve_explainers(explainers, model)
        if needs_model and model is None:
            model = _model_of(explainers)
        explainer_specs = {name: {"method": getattr(e, "method", type(e).__name__),
                                  "params": getattr(e, "params", {})} for name, e in explainers.items()}
    mset = {"metrics": list(metrics), "tolerance": tolerance, "step": step, "iou_rule": iou_rule,
            "iou_threshold": iou_threshold, "occluder": occluder_param(occluder), "tie_seed": tie_seed,
            "map": "raw"}
    current = _jsonable({"format": FORMAT, "metrics": mset, "explainers": explainer_specs})
    header, stored_rows = _read(results)
    stored_sanity = (header or {}).get("__sanity__")
    settings, changed = _merge_settings(results, (header or {}).get("__settings__"), current)
    n_failed = sum("error" in r for r in stored_rows)
    if n_failed:  # failed rows are recomputed: drop them so the file keeps one row per key
        stored_rows = [r for r in stored_rows if "error" not in r]
        changed = True

    keys = [(i, label, n_obj) for i in source.indices() for label, n_obj in source.labels(i)]

    sanity_result = None
    if sanity and keys:
        picked = []
        for i, label, _ in keys:
            if len(picked) >= sanity_images:
                break
            try:
                picked.append((i, label, source.image(i), source.truth(i)[label][0]))
            except OSError:  # an image that does not decode is reported with its rows, not here
                continue
        s_metrics = metrics if (needs_model and (model is not None or client is not None)) else \
            tuple(m for m in metrics if m not in _MODEL_METRICS)
        s_settings = _jsonable({"metrics": list(s_metrics), "n": len(picked), "seed": sanity_seed,
                                "entries": [[e[0], e[1]] for e in picked], **settings["metrics"]})
        if stored_sanity is not None and stored_sanity.get("key") == s_settings:
            r = stored_sanity["result"]
            sanity_result = SanityResult(r["share"], r["wins"], r["ties"], r["n"], r["threshold"], r["settings"])
        elif s_metrics and picked:
            kwargs = dict(metrics=s_metrics, seed=sanity_seed, tolerance=tolerance, step=step, occluder=occluder,
                          iou_rule=iou_rule, iou_threshold=iou_threshold, tie_seed=tie_seed,
                          threshold=SANITY_THRESHOLD)
            args = ([e[2] for e in picked], [e[3] for e in picked], [e[1] for e in picked])
            if client is not None and any(m in _MODEL_METRICS for m in s_metrics):
                sanity_result = distributed.sanity_on_worker(client, model_factory, args, kwargs)
            else:
                sanity_result = M.sanity_check(model, *args, progress=progress, **kwargs)
            stored_sanity = {"key": s_settings, "result": _jsonable(sanity_result.to_dict())}
            changed = True

    rows = Results(stored_rows, settings=settings, sanity=sanity_result)
    if results and (changed or header is None):
        _write_all(results, settings, stored_rows, stored_sanity)
    done = {(r["image"], r["target"], r["method"]) for r in rows}
    names = list(explainer_specs)
    pending: dict[int, list] = {}
    for i, label, n_obj in keys:
        for name in names:
            if (i, label, name) not in done:
                pending.setdefault(i, []).append((label, n_obj, name))
    n_tasks = sum(len(t) for t in pending.values())
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=n_tasks, desc="evaluate" if client is None else "evaluate (cluster)", unit="map")
    out = open(results, "a", encoding="utf-8") if results else None

    def emit(new_rows):
        """Append rows (once per key), flush, update the bar: the driver is the only writer."""
        fresh = []
        for row in new_rows:
            key = (row["image"], row["target"], row["method"])
            if key in done:
                continue
            done.add(key)
            fresh.append(row)
        for row in fresh:
            rows.append(row)
            if out:
                out.write(json.dumps(row) + "\n")
        if out:
            out.flush()
        if bar is not None:
            bar.update(len(fresh))
        if on_rows is not None and fresh:
            on_rows(fresh)

    try:
        if client is not None:
            distributed.run_on_cluster(client, model_factory, recipes, source, pending, mset, on_error, emit,
                                       shard_size=shard_size)
        else:
            for i, tasks in pending.items():
                emit(score_image(explainers, model, source, i, tasks, mset, on_error))
    finally:
        if out:
            out.close()
        if bar is not None:
            bar.close()
    return rows


class ArraySource:
    """In-memory images and truths with the interface of a dataset (what evaluate() and shards read)."""

    def __init__(self, images, truths):
        if len(images) != len(truths):
            raise ValueError(f"got {len(images)} images but {len(truths)} truths: one list of objects per image")
        self.items = {i: (images[i], truths[i]) for i in range(len(images))}
        self._truth = {}

    def indices(self):
        return sorted(self.items)

    def image(self, i):
        return np.asarray(self.items[i][0])

    def truth(self, i):
        """{label: (union mask, [boxes], n objects, EBP difficult flag)}."""
        if i not in self._truth:
            image, truth = self.items[i]
            shape = np.asarray(image).shape[:2]
            objects = _as_objects(truth)
            by = _by_class(objects, shape)
            self._truth[i] = {label: (mask, boxes, sum(o[0] == label for o in objects), ebp_difficult(mask, len(by)))
                              for label, (mask, boxes) in by.items()}
        return self._truth[i]

    def labels(self, i):
        return [(label, t[2]) for label, t in self.truth(i).items()]

    def subset(self, indices):
        out = ArraySource.__new__(ArraySource)
        out.items = {i: self.items[i] for i in indices}
        out._truth = {i: self._truth[i] for i in indices if i in self._truth}
        return out


def as_source(images, truths):
    """A dataset as it is; arrays and truths wrapped in :class:`ArraySource`."""
    if hasattr(images, "truth") and hasattr(images, "labels") and hasattr(images, "subset"):
        if truths is not None:
            raise ValueError("images is a dataset: its truths come from its annotations; pass truths=None")
        return images
    if truths is None:
        raise ValueError("truths is required unless images is a dataset (saliency_widgets.datasets)")
    return ArraySource(images, truths)


def _error_text(exc) -> str:
    return f"{type(exc).__name__}: {exc}"


_ROW_KEY = {"pointing": "hit", "pointing_strict": "hit_strict"}  # what a results row calls them


def score_image(explainers, model, source, i, tasks, mset, on_error="raise") -> list[dict]:
    """The rows of image ``i``: ``tasks`` is [(label, n objects, explainer name)]; ``mset`` the metric settings.

    Shared by the local loop and the cluster's shards, so both write the same rows.
    """
    metrics = mset["metrics"]
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
                 "error": _error_text(exc), "skipped": "image"} for label, n_obj, name in tasks]
    out = []
    for label, n_obj, name in tasks:
        mask, boxes, _, difficult = truth[label]
        row = {"image": i, "target": label, "method": name, **base, "n_objects": int(n_obj),
               "difficult": bool(difficult)}
        try:
            t0 = time.perf_counter()
            exp = explainers[name].explain(image, target=label)
            row["seconds"] = time.perf_counter() - t0
            row["n_forward"] = int(exp.n_forward)
            raw = np.asarray(exp.raw, np.float64)  # one ranking rule for every method
            tie = mset["tie_seed"]
            local = [m for m in metrics if m in LOCALIZATION_METRICS]
            scores = M.localization_scores(raw, mask, boxes, metrics=local, tolerance=mset["tolerance"],
                                           iou_rule=mset["iou_rule"], iou_threshold=mset["iou_threshold"], tie_seed=tie)
            row.update({_ROW_KEY.get(k, k): v for k, v in scores.items()})
            if "insertion" in metrics:
                row["insertion"] = M.insertion(model, image, raw, label, step=mset["step"], tie_seed=tie).auc
            if "deletion" in metrics:
                row["deletion"] = M.deletion(model, image, raw, label, step=mset["step"], occluder=occluder,
                                             tie_seed=tie).auc
        except Exception as exc:  # noqa: BLE001 - recorded in the row when asked to
            if on_error == "raise":
                raise
            row = {k: row[k] for k in ("image", "target", "method", "n_objects", "difficult") if k in row}
            row.update(base)
            row["error"] = _error_text(exc)
        out.append(row)
    return out


def _resolve_explainers(explainers, model):
    if isinstance(explainers, dict):
        items = list(explainers.items())
    else:
        items = [(None, e) for e in explainers]
    out = {}
    for name, e in items:
        if isinstance(e, str) or (isinstance(e, tuple) and len(e) == 2 and isinstance(e[0], str)):
            from . import registry
            key, params = (e, {}) if isinstance(e, str) else e  # a registry name, or (name, params)
            spec = registry.get_method(key)
            if model is None:
                raise ValueError(f"explainer {key!r} is a registry name: pass model= to build it")
            name, e = name or spec.label, spec.build(model, **params)
        name = name or e.method
        if name in out:
            raise ValueError(f"two explainers are named {name!r}: pass a dict {{name: explainer}}")
        out[name] = e
    return out


def _model_of(explainers):
    for e in explainers.values():
        if getattr(e, "model", None) is not None:
            return e.model
    raise ValueError("insertion/deletion need a model: pass model= or an explainer that wraps one")
