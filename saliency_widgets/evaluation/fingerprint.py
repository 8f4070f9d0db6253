"""What a stored number was computed by, by behaviour rather than by bytes of source code.

A shipped table (``demo/data/results.json``) and a results file of :func:`~saliency_widgets.evaluate`
record, for every method that made their rows, its registry key, its settings and a *probe*: what the
method computes on a small fixed input (the bundled demo model on one demo scene, at most
:data:`PROBE_BUDGET` forward passes, seed 0), reduced to an 8 x 8 grid of block means of the raw map
scaled to a largest magnitude of 1.  They record the metrics' probe too (every metric on a fixed map of the
same scene, with the table's settings) and the data's (a hash of the first scene of each seed).

Two fingerprints agree when every setting is equal and every probe value is within :data:`TOLERANCE` (maps
and metric values alike).  A docstring, a comment, a renamed variable or a refactor moves no number and
leaves the fingerprint unchanged; a change that moves a map or a metric beyond the tolerance changes it,
and :func:`differences` names the method or metric that moved.  So a stored table is trusted while the
code computes what it computed, and a reproduce run is needed only when it does not.

A probe is cheap (a fraction of a second per method on a CPU, after the demo model is loaded) and cached
per (key, settings) for the process.
"""
from __future__ import annotations

import functools
import hashlib
import json

import numpy as np

__all__ = ["PROBE_BUDGET", "PROBE_SEED", "TOLERANCE", "method_probe", "metric_probe", "data_probe",
           "aggregate_probe", "table_fingerprint", "methods_fingerprint", "differences", "rounded"]

#: forward passes a budgeted method spends on the probe (its own budget when smaller)
PROBE_BUDGET = 64
#: the seed of the probe's scene and of every seeded draw in it
PROBE_SEED = 0
#: largest change of a probe value (a map scaled to max |value| = 1, a metric's value) that is not a change
TOLERANCE = 1e-3
_GRID = 8
_DECIMALS = 6  # stored precision, well below the tolerance


@functools.lru_cache(maxsize=1)
def _probe_input():
    """(demo model, image, object) of the probe: the first single-object demo scene of PROBE_SEED."""
    from ..demo import load_model, make_scenes
    scenes = make_scenes(1, objects=(1, 1), seed=PROBE_SEED)
    return load_model(), scenes.images[0], scenes.objects[0][0]


def _blocks(raw) -> list:
    """The map as an 8 x 8 grid of block means, scaled to a largest magnitude of 1 (a zero map stays 0)."""
    raw = np.asarray(raw, np.float64)
    h, w = raw.shape
    ys, xs = np.linspace(0, h, _GRID + 1).astype(int), np.linspace(0, w, _GRID + 1).astype(int)
    grid = np.array([[raw[ys[i]:ys[i + 1], xs[j]:xs[j + 1]].mean() for j in range(_GRID)] for i in range(_GRID)])
    peak = np.abs(grid).max()
    return np.round(grid / peak if peak > 0 else grid, _DECIMALS).ravel().tolist()


def _canonical(params) -> str:
    from .results_file import jsonable
    return json.dumps(jsonable(params), sort_keys=True)


def method_probe(key: str, params: dict | None = None) -> dict:
    """What registry method ``key`` with constructor settings ``params`` computes on the probe.

    Returns ``{"key", "params", "probe"}``: ``probe`` holds the map's 64 block means (scaled), the
    target's score and the forward passes spent (the budget capped at :data:`PROBE_BUDGET`).
    """
    return json.loads(_method_probe(key, _canonical(params or {})))


@functools.lru_cache(maxsize=None)
def _method_probe(key: str, params_json: str) -> str:
    from ..registry import get_method
    spec = get_method(key)
    params = {k: v for k, v in json.loads(params_json).items() if k not in spec.fixed}
    run = dict(params)
    if spec.budget_arg is not None:
        budget = run.get(spec.budget_arg, spec.budget.default)
        run[spec.budget_arg] = int(min(budget, PROBE_BUDGET))
    if spec.seeded:
        run["seed"] = PROBE_SEED
    model, image, obj = _probe_input()
    explainer = spec.build(model if spec.needs_model else None, **run)
    exp = explainer.explain(image, target=obj.label)
    probe = {"map": _blocks(exp.raw), "score": round(float(exp.score), _DECIMALS), "n_forward": int(exp.n_forward)}
    return json.dumps({"key": spec.key, "params": json.loads(params_json), "probe": probe})


def metric_probe(metrics, settings: dict | None = None) -> dict:
    """``{metric: value}`` of every metric in ``metrics`` on the probe scene with ``settings`` (the keyword
    options of :func:`~saliency_widgets.evaluate`: tolerance, step, iou_rule, iou_threshold, occluder,
    tie_seed, insertion protocol...), scoring a fixed map: the object's mask blurred, plus seeded noise."""
    return json.loads(_metric_probe(tuple(metrics), _canonical(settings or {})))


@functools.lru_cache(maxsize=None)
def _metric_probe(metrics: tuple, settings_json: str) -> str:
    from ..truth import class_union
    from .score import score_image
    from .sources import as_source
    model, image, obj = _probe_input()
    mask = class_union([obj], obj.label).astype(np.float64)
    rng = np.random.default_rng(PROBE_SEED)
    from scipy.ndimage import gaussian_filter
    fixed_map = gaussian_filter(mask, 3) + 0.05 * rng.random(mask.shape)
    settings = json.loads(settings_json)
    mset = {"metrics": list(metrics), "tolerance": 15, "step": None, "iou_rule": "fraction", "iou_threshold": 0.5,
            "occluder": "auto", "tie_seed": 0, "map": "raw", **settings}
    source = as_source(image[None], [[obj]])
    row = score_image({"probe": _FixedMap(fixed_map)}, model, source, 0, [(obj.label, 1, "probe")], mset)[0]
    values = {k: (float(v) if not isinstance(v, bool) else v) for k, v in row.items()
              if k not in ("image", "target", "method", "n_objects", "difficult", "seconds", "n_forward")}
    return json.dumps({k: round(v, _DECIMALS) if isinstance(v, float) else v for k, v in sorted(values.items())})


class _FixedMap:
    """An explainer that returns one fixed map (what the metric probe scores)."""

    method = "probe"
    params: dict = {}

    def __init__(self, raw):
        self.raw = raw

    def explain(self, image, target=None):
        from types import SimpleNamespace
        return SimpleNamespace(raw=self.raw, n_forward=0)


def data_probe(seeds: dict) -> dict:
    """``{name: hash}`` of the first demo scene drawn from each seed (``{"single": (seed, (1, 1)), ...}``:
    ``(seed, objects per scene)``): the scenes a table was computed on."""
    from ..demo import make_scenes
    out = {}
    for name, (seed, objects) in sorted(seeds.items()):
        scenes = make_scenes(1, objects=tuple(objects), seed=seed)
        h = hashlib.sha256(np.round(np.asarray(scenes.images[0], np.float64), 3).tobytes())
        h.update(repr([(o.label, tuple(np.round(o.box, 3))) for o in scenes.objects[0]]).encode())
        out[name] = h.hexdigest()[:16]
    return out


@functools.lru_cache(maxsize=1)
def _aggregate_probe() -> str:
    from .tables import Results
    rng = np.random.default_rng(PROBE_SEED)
    rows = [{"image": i, "target": int(t), "method": m, "n_objects": 1, "difficult": False, "seconds": 0.0,
             "n_forward": 1, "hit": bool(rng.random() < 0.7), "hit_strict": bool(rng.random() < 0.4),
             "box_iou": float(rng.random()), "insertion": float(rng.random()), "deletion": float(rng.random())}
            for i in range(12) for t in (i % 3,) for m in ("a", "b")]
    return json.dumps(rounded(Results(rows).summary()))


def aggregate_probe() -> list:
    """What the tables compute from rows (accuracies, means, intervals) on fixed seeded rows of two methods."""
    return json.loads(_aggregate_probe())


def rounded(obj):
    """``obj`` (dicts, lists, numbers) with every float rounded to the stored precision."""
    if isinstance(obj, dict):
        return {k: rounded(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [rounded(v) for v in obj]
    if isinstance(obj, (float, np.floating)):
        return round(float(obj), _DECIMALS)
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def methods_fingerprint(methods: dict) -> dict:
    """``{name: method_probe(key, params)}`` for ``{name: (registry key, params)}``."""
    return {name: method_probe(key, params) for name, (key, params) in methods.items()}


def table_fingerprint(methods: dict, metrics=(), metric_settings: dict | None = None,
                      data: dict | None = None, **extra) -> dict:
    """The fingerprint of one table: its methods (``{label: (registry key, params)}``), its metrics with their
    settings, its data (:func:`data_probe`'s argument), how its rows are aggregated (:func:`aggregate_probe`)
    and ``extra`` probes of a study's own code (numbers, compared within the tolerance)."""
    out = {"methods": methods_fingerprint(methods), "aggregate": aggregate_probe(), **rounded(extra)}
    if metrics:
        out["metrics"] = {"settings": metric_settings or {}, "probe": metric_probe(metrics, metric_settings)}
    if data:
        out["data"] = data_probe(data)
    return out


def _close(a, b, tol) -> tuple[bool, float]:
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return False, float("inf")
        worst = max((_close(a[k], b[k], tol)[1] for k in a), default=0.0)
        return worst <= tol, worst
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if len(a) != len(b):
            return False, float("inf")
        worst = max((_close(x, y, tol)[1] for x, y in zip(a, b)), default=0.0)
        return worst <= tol, worst
    if isinstance(a, bool) or isinstance(b, bool) or isinstance(a, str) or isinstance(b, str):
        return a == b, 0.0 if a == b else float("inf")
    if a is None or b is None:
        return a is b, 0.0 if a is b else float("inf")
    a, b = float(a), float(b)
    if np.isnan(a) or np.isnan(b):  # a score that does not exist (the centre baseline calls no model)
        return np.isnan(a) and np.isnan(b), 0.0 if np.isnan(a) and np.isnan(b) else float("inf")
    d = abs(a - b)
    return d <= tol, d


def differences(stored: dict, now: dict, *, table: str = "table", tol: float = TOLERANCE) -> list[str]:
    """What moved between two fingerprints, one line each naming the table and the method or metric.

    Empty when every setting is equal and every probe value within ``tol``.
    """
    out = []
    old_m, new_m = stored.get("methods", {}), now.get("methods", {})
    for name in sorted(set(old_m) | set(new_m)):
        if name not in new_m or name not in old_m:
            out.append(f"{table}: method {name!r} is {'no longer computed' if name not in new_m else 'new'}")
            continue
        a, b = old_m[name], new_m[name]
        if a["key"] != b["key"] or _canonical(a["params"]) != _canonical(b["params"]):
            out.append(f"{table}: method {name!r} ({b['key']}) now has other settings: {a['params']} -> {b['params']}")
            continue
        for part in ("map", "score", "n_forward"):
            ok, worst = _close(a["probe"][part], b["probe"][part], tol)
            if not ok:
                out.append(f"{table}: method {name!r} ({b['key']}) computes another {part} on the probe "
                           f"(largest change {worst:.3g}, tolerance {tol:g})")
    if "metrics" in stored or "metrics" in now:
        a, b = stored.get("metrics", {}), now.get("metrics", {})
        if _canonical(a.get("settings")) != _canonical(b.get("settings")):
            out.append(f"{table}: metric settings differ: {a.get('settings')} -> {b.get('settings')}")
        pa, pb = a.get("probe", {}), b.get("probe", {})
        for metric in sorted(set(pa) | set(pb)):
            ok, worst = _close(pa.get(metric), pb.get(metric), tol)
            if not ok:
                out.append(f"{table}: metric {metric!r} computes another value on the probe "
                           f"({pa.get(metric)} -> {pb.get(metric)}, tolerance {tol:g})")
    for name in sorted(set(stored.get("data", {})) | set(now.get("data", {}))):
        if stored.get("data", {}).get(name) != now.get("data", {}).get(name):
            out.append(f"{table}: the {name} scenes are drawn differently (data hash changed)")
    for part in sorted((set(stored) | set(now)) - {"methods", "metrics", "data"}):
        ok, worst = _close(stored.get(part), now.get(part), tol)
        if not ok:
            out.append(f"{table}: {part} computes other numbers on its probe (largest change {worst:.3g}, "
                       f"tolerance {tol:g})")
    return out
