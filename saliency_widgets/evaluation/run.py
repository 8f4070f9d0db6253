"""The run loop of :func:`evaluate`: resolve the methods, check the results file, score what is missing.

Protocol
--------
* One row per (image, class present in it), as TorchRay's pointing game: the
  image's objects are grouped by label and each class is explained once; the
  pointing truth is the union of that class's masks (or boxes), box IoU takes
  the best match among that class's boxes (:mod:`saliency_widgets.truth`).
* Metrics read ``Explanation.raw`` (every method ranked by the same rule, ties in
  a seeded random order: :mod:`saliency_widgets.metrics.ranking`); box IoU
  thresholds the min-max normalised raw map.  ``saliency`` stays the display map.
* Intervals: 95% percentile bootstrap over images (2000 resamples, seed 0).
* A sanity check (:func:`~saliency_widgets.sanity.sanity_check`) runs with the
  same settings; a metric where the ground-truth mask does not beat a random
  map is flagged in the table.
* Each row carries ``difficult``: EBP's subset flag (the class covers < 1/4 of
  the image and another class is present; a dataset may read TorchRay's flag
  file instead), so :meth:`Results.pointing_table` scores "all" and "difficult".
* A map that failed (an exception in the explanation with ``on_error="record"``,
  always with ``client=``; or an image that does not decode) is a row with
  ``"error"``: counted as failed in the tables, recomputed when the file is resumed.
* Images may be a dataset (:mod:`saliency_widgets.datasets`), decoded lazily,
  and with ``client=`` the work runs on a Dask cluster (:mod:`.cluster`).
"""
from __future__ import annotations

import json

from ..occluder import check_occluder, occluder_param
from ..sanity import metrics as metric_sanity
from . import cluster
from .methods import build_methods, resolve_methods
from .file_lines import seal_row
from .results_file import (FORMAT, first_image, inputs_fingerprint, jsonable, merge_settings, methods_fingerprints,
                           model_prints, new_file_id, package_info, read_results, set_aside_rows, write_results)
from ..metrics.causal import PROTOCOL, check_protocol
from ..metrics.names import ALL_METRICS, METRICS, MODEL_METRICS
from .score import score_image
from .sources import as_source
from .tables import Results

__all__ = ["evaluate"]


def evaluate(explainers, images, truths=None, *, metrics=METRICS, results=None, progress=True, tolerance=15,
             step=None, iou_rule="fraction", iou_threshold=0.5, occluder="auto", tie_seed=0, protocol=PROTOCOL, model=None,
             sanity=True, sanity_images=30, sanity_seed=0, client=None, model_factory=None, shard_size=4,
             on_error=None, on_rows=None, overwrite=False) -> Results:
    """Explain every class present in every image with every explainer and score the maps.

    Parameters
    ----------
    explainers : dict {name: explainer}, list of explainers (named by ``.method``), registry
        names (keys or labels of :data:`saliency_widgets.registry.METHODS`) or ``(registry name,
        params)`` pairs, built on ``model`` (with ``client=``: on each worker's model)
    images : (N, H, W, C) array, list of images, or a :class:`saliency_widgets.datasets.Dataset`
        (VOC, COCO: images decoded lazily, ``truths`` read from its annotations)
    truths : per image, a list of objects: ``SceneObject`` objects (from :func:`make_scenes`),
        ``(label, box)`` or ``(label, mask)`` pairs, or dicts with "label", "box", "mask".
        Objects of one label form one entry (TorchRay's protocol): one row per
        (image, class, method).  None when ``images`` is a dataset.
    metrics : subset of ``ALL_METRICS`` (default ``METRICS``; GridPG's "energy", "energy_centred" when named)
    results : path or None, keyword-only
        A JSON-lines file (:mod:`~saliency_widgets.evaluation.results_file`), resumed: rows that check are
        kept, others set aside and recomputed, new rows appended as they are computed.  A file made with
        other settings, model, preprocessing, input size, image set, or methods that now compute other
        maps is refused (the error names what differs).
    progress : bool, keyword-only (tqdm.auto: a widget in Jupyter, text in a terminal)
    tolerance : the pointing game's, in pixels: a hit needs distance < tolerance (strict: on the object)
    step, iou_rule, iou_threshold : insertion/deletion pixels per step (default: the image width); box IoU's
        region of the min-max normalised raw map (``threshold_map``)
    occluder : deleted pixels, and the padding of RISE's blur (default "auto": the model's mean colour, RISE's 0)
    protocol : of insertion/deletion, "rise" (default) or "gauss-reflect" (:mod:`~saliency_widgets.metrics.causal`)
    tie_seed, model : the seed of the random order among equal map values (every metric); the model
        insertion/deletion query (default: the first explainer's)
    sanity : bool, keyword-only
        Run :func:`~saliency_widgets.metrics.sanity_check` on the first ``sanity_images``
        (image, class) entries (seed ``sanity_seed``) and flag failing metrics in the table.
    client : ``dask.distributed.Client`` or None, keyword-only
        Run shards of ``shard_size`` images on the cluster's workers
        (:mod:`saliency_widgets.evaluation.cluster`); rows stream back into ``results``.
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
    overwrite : bool, keyword-only
        Start ``results`` afresh, discarding what it holds (the CLI's ``--force-new``).

    Returns
    -------
    Results : a list of row dicts (keys image, target, method, seconds, n_forward, n_objects, difficult
        and hit / hit_strict / box_iou / insertion / deletion, or error); ``print(results)`` shows the table.
    """
    metrics, occluder, on_error = _check_options(metrics, occluder, on_error, client)
    source, needs_model = as_source(images, truths), any(m in MODEL_METRICS for m in metrics)
    mset = dict(metrics=list(metrics), tolerance=tolerance, step=step, iou_rule=iou_rule, iou_threshold=iou_threshold,
                occluder=occluder_param(occluder), tie_seed=tie_seed, protocol=check_protocol(protocol), map="raw")
    run = _Methods(explainers, model, needs_model, client, model_factory, source, fingerprint=bool(results))
    current = _header(run, mset, results)
    keys = [(i, label, n_obj) for i in source.indices() for label, n_obj in source.labels(i)]
    header, stored_rows, settings, changed = _stored(results, current, keys, overwrite=overwrite)
    sanity_result, stored_sanity, fresh = _sanity(run, source, keys, settings, header.get("__sanity__"), mset,
                                                  n=sanity_images if sanity else 0, seed=sanity_seed,
                                                  needs_model=needs_model, progress=progress)
    rows = Results(stored_rows, settings=settings, sanity=sanity_result)
    if results and (changed or fresh or not header):
        write_results(results, settings, stored_rows, stored_sanity)
    _score_pending(rows, run, source, keys, mset, results=results, file_id=settings.get("file_id"),
                   progress=progress, on_rows=on_rows, on_error=on_error, shard_size=shard_size)
    return rows


def _score_pending(rows, run, source, keys, mset, *, results, file_id, progress, on_rows, on_error, shard_size):
    """Score every (image, class, method) the file does not hold yet, here or on the cluster, appending rows."""
    pending = _pending(keys, list(run.specs), {(r["image"], r["target"], r["method"]) for r in rows})
    with _Writer(rows, results, sum(len(t) for t in pending.values()), progress, run.client, on_rows,
                 file_id=file_id) as emit:
        if run.client is not None:
            cluster.run_on_cluster(run.client, run.factory, run.methods, source, pending, mset, on_error, emit,
                                   shard_size=shard_size)
        else:
            for i, tasks in pending.items():
                emit(score_image(run.methods, run.model, source, i, tasks, mset, on_error))


def _header(run, mset, results) -> dict:
    """The settings this run writes: format, metric settings, methods, inputs; with a results file also a new
    file id, the package version and the methods' behavioural fingerprints."""
    current = dict(jsonable({"format": FORMAT, "metrics": mset, "explainers": run.specs}), inputs=run.inputs)
    if results:
        current.update(file_id=new_file_id(), package=package_info(), fingerprints=methods_fingerprints(run.specs))
    return current


def _check_options(metrics, occluder, on_error, client):
    """(metrics in the table's order, the checked occluder, on_error with its default)."""
    unknown = set(metrics) - set(ALL_METRICS)
    if unknown:
        raise ValueError(f"unknown metrics {sorted(unknown)}; choose from {ALL_METRICS}")
    if on_error is None:
        on_error = "record" if client is not None else "raise"
    if on_error not in ("raise", "record"):
        raise ValueError(f"on_error must be 'raise' or 'record', got {on_error!r}")
    return tuple(m for m in ALL_METRICS if m in metrics), check_occluder(occluder), on_error


class _Methods:
    """The methods that run and where: built here, or recipes for the cluster's workers.

    Attributes: ``methods`` ({name: explainer or recipe}), ``specs`` ({name: {"method", "params"}}, the
    header's), ``model`` (the model the metrics query here; None on a cluster), ``inputs`` (the header's
    fingerprints of the model, preprocessing, input size and image set; None without a results file).
    """

    def __init__(self, explainers, model, needs_model, client, model_factory, source, *, fingerprint=True):
        resolved = resolve_methods(explainers)
        self.client, self.factory = client, model_factory
        image = first_image(source) if fingerprint else None
        if client is not None:
            if model_factory is None or not callable(model_factory):
                raise ValueError("evaluate(client=...) needs model_factory=: a picklable function that builds the "
                                 "model on each worker (e.g. functools.partial(load_imagenet_model, 'ResNet50'))")
            self.methods = cluster.recipes_of(resolved)
            self.specs = {name: spec for name, spec in cluster.describe(client, model_factory, self.methods).items()}
            self.model = None
            prints = cluster.prints_on_worker(client, model_factory, image) if fingerprint else None
        else:
            self.methods = build_methods(resolved, model)
            if needs_model and model is None:
                model = _model_of(self.methods)
            self.model = model
            self.specs = {name: {"method": getattr(e, "method", type(e).__name__),
                                 "params": getattr(e, "params", {})} for name, e in self.methods.items()}
            prints = model_prints(model if model is not None else _model_of(self.methods, required=False),
                                  image) if fingerprint else None
        self.inputs = inputs_fingerprint(source, prints) if fingerprint else None


def _model_of(explainers, *, required=True):
    for e in explainers.values():
        if getattr(e, "model", None) is not None:
            return e.model
    if required:
        raise ValueError("insertion/deletion need a model: pass model= or an explainer that wraps one")
    return None


def _stored(results, current, keys, *, overwrite):
    """(header, rows without errors, settings to keep, whether the file must be rewritten) of ``results``.

    Every line that does not check, and every row that checks but is not one of this run's (a duplicate
    of an earlier row, a class its image does not have, a method the header does not name), is set aside
    to the side file and the file rewritten without it (:func:`~.results_file.set_aside_rows`); rows
    holding an ``"error"`` are recomputed."""
    header, rows, bad = (None, [], []) if overwrite else read_results(results)
    settings, changed = merge_settings(results, (header or {}).get("__settings__"), current)
    rows, foreign = _screen(rows, keys, settings)
    bad = sorted(bad + foreign)
    if bad:
        head = {"__settings__": settings, **({"__sanity__": header["__sanity__"]} if "__sanity__" in header else {})}
        set_aside_rows(results, head, rows, bad)
    if any("error" in r for r in rows):  # failed rows are recomputed: the file keeps one row per key
        rows, changed = [r for r in rows if "error" not in r], True
    return header or {}, rows, settings, changed


def _screen(rows, keys, settings):
    """(the rows that belong to this file, the others as (line, reason, text)): one row per (image, class,
    method), of a class its image has, of a method the header names."""
    valid = {(i, label) for i, label, _ in keys}
    names = set(settings.get("explainers", {}))
    seen, kept, out = {}, [], []
    for r in rows:
        n, text = r.pop("__line__", None), r.pop("__text__", None)
        key = (r["image"], r["target"], r["method"])
        if key in seen:
            reason = f"a duplicate of line {seen[key]} (image {key[0]}, class {key[1]}, method {key[2]!r})"
        elif (r["image"], r["target"]) not in valid:
            reason = f"image {r['image']} has no class {r['target']} in the image set"
        elif r["method"] not in names:
            reason = f"method {r['method']!r} is not in the file's settings"
        else:
            seen[key] = n
            kept.append(r)
            continue
        out.append((n, reason, text if text is not None else json.dumps(r)))
    return kept, out


def _sanity(run, source, keys, settings, stored, mset, *, n, seed, needs_model, progress):
    """(SanityResult or None, the header's "__sanity__", whether it was computed now): reused while its key holds."""
    metrics = tuple(mset["metrics"])
    kw = dict(tolerance=mset["tolerance"], step=mset["step"], occluder=check_occluder(mset["occluder"]),
              iou_rule=mset["iou_rule"], iou_threshold=mset["iou_threshold"], tie_seed=mset["tie_seed"],
              protocol=mset.get("protocol", PROTOCOL))
    picked = []
    for i, label, _ in keys:
        if len(picked) >= n:
            break
        try:
            picked.append((i, label, source.image(i), source.truth(i)[label][0]))
        except OSError:  # an image that does not decode is reported with its rows, not here
            continue
    if not picked:
        return None, stored, False
    on_cluster = run.client is not None
    s_metrics = metrics if (needs_model and (run.model is not None or on_cluster)) else \
        tuple(m for m in metrics if m not in MODEL_METRICS)
    key = jsonable({"metrics": list(s_metrics), "n": len(picked), "seed": seed,
                    "entries": [[e[0], e[1]] for e in picked], **settings["metrics"]})
    if stored is not None and stored.get("key") == key:
        r = stored["result"]
        return metric_sanity.SanityResult(r["share"], r["wins"], r["ties"], r["n"], r["threshold"],
                                          r["settings"]), stored, False
    if not s_metrics:
        return None, stored, False
    kwargs = dict(metrics=s_metrics, seed=seed, threshold=metric_sanity.SANITY_THRESHOLD, **kw)
    args = ([e[2] for e in picked], [e[3] for e in picked], [e[1] for e in picked])
    if on_cluster and any(m in MODEL_METRICS for m in s_metrics):
        result = cluster.sanity_on_worker(run.client, run.factory, args, kwargs)
    else:
        result = metric_sanity.sanity_check(run.model, *args, progress=progress, **kwargs)
    return result, {"key": key, "result": jsonable(result.to_dict())}, True


def _pending(keys, names, done) -> dict[int, list]:
    """{image: [(label, n objects, method name)]} of the maps not in the file yet."""
    pending: dict[int, list] = {}
    for i, label, n_obj in keys:
        for name in names:
            if (i, label, name) not in done:
                pending.setdefault(i, []).append((label, n_obj, name))
    return pending


class _Writer:
    """The driver's only writer: appends rows once per key, flushes, updates the bar, calls ``on_rows``."""

    def __init__(self, rows, results, n_tasks, progress, client, on_rows, *, file_id=None):
        self.rows, self.on_rows, self.file_id = rows, on_rows, file_id
        self.done = {(r["image"], r["target"], r["method"]) for r in rows}
        self.bar = None
        if progress:
            from tqdm.auto import tqdm
            self.bar = tqdm(total=n_tasks, desc="evaluate" if client is None else "evaluate (cluster)", unit="map")
        self.out = open(results, "a", encoding="utf-8") if results else None

    def __enter__(self):
        return self.emit

    def __exit__(self, *exc):
        if self.out:
            self.out.close()
        if self.bar is not None:
            self.bar.close()
        return False

    def emit(self, new_rows):
        fresh = []
        for row in new_rows:
            key = (row["image"], row["target"], row["method"])
            if key in self.done:
                continue
            self.done.add(key)
            fresh.append(row)
        for row in fresh:
            self.rows.append(row)
            if self.out:
                self.out.write(json.dumps(seal_row(jsonable(row), self.file_id)) + "\n")
        if self.out:
            self.out.flush()
        if self.bar is not None:
            self.bar.update(len(fresh))
        if self.on_rows is not None and fresh:
            self.on_rows(fresh)
