"""``evaluate(..., client=...)``: shards of images on a Dask cluster, rows streamed back to the driver.

* Models do not travel: the user passes a picklable ``model_factory``; each
  worker process calls it once and keeps the model (:func:`worker_model`,
  a per-process cache keyed by the factory's pickled bytes).
* Explainers travel as an :class:`ExplainerRecipe`: the registry key and the
  params the entry does not fix (or, for a class outside the registry, its
  import path and params), rebuilt on the worker with
  :func:`saliency_widgets.registry.build`.  A recipe is checked where it is
  made: rebuilding it must give the same ``params``.
* Work is split into shards of ``shard_size`` images; each shard is one Dask
  task returning its rows.  The driver is the only writer of the results
  file: it appends each shard's rows as they arrive, once per (image, class,
  method).  A worker that dies loses only its running shards, which the
  scheduler runs again elsewhere; an exception inside one explanation is
  written in that row (``"error"``) by the shard itself, and a shard that
  fails as a whole (e.g. it killed workers repeatedly) gets one error row per
  map, so the file always ends with exactly one row per key.  Rows with an
  error are recomputed when the file is resumed.

dask[distributed] is an optional extra (``pip install saliency_widgets[dask]``),
imported only here.
"""
from __future__ import annotations

import hashlib
import importlib
import inspect
import threading
from dataclasses import dataclass, field

__all__ = ["ExplainerRecipe", "recipe_of", "recipes_of", "worker_model", "run_shard", "describe",
           "run_on_cluster", "sanity_on_worker"]

_MODELS: dict[str, object] = {}        # per worker process: factory key -> model
_EXPLAINERS: dict[tuple, object] = {}  # (factory key, recipe) -> explainer built on that model
_LOCK = threading.Lock()               # a worker with several threads builds each model once


def _require_dask():
    try:
        import distributed
    except ImportError as exc:
        raise ImportError("evaluate(client=...) needs dask.distributed: pip install 'saliency_widgets[dask]'") \
            from exc
    return distributed


@dataclass(frozen=True)
class ExplainerRecipe:
    """How to rebuild an explainer on a worker: ``registry.build(key, model, **params)`` or ``cls(model, **params)``.

    ``params`` is a tuple of sorted (name, value) pairs so a recipe is hashable (the worker cache key).
    """

    name: str
    key: str | None
    cls_path: str | None
    params: tuple = field(default=())

    def build(self, model):
        params = dict(self.params)
        if self.key is not None:
            from .registry import build
            return build(self.key, model, **params)
        module, _, qualname = self.cls_path.partition(":")
        cls = importlib.import_module(module)
        for part in qualname.split("."):
            cls = getattr(cls, part)
        return cls(model, **params)


def _freeze(params: dict) -> tuple:
    def f(v):
        if isinstance(v, dict):
            return tuple(sorted((k, f(x)) for k, x in v.items()))
        if isinstance(v, list):
            return tuple(f(x) for x in v)
        return v
    return tuple(sorted((k, f(v)) for k, v in params.items()))


def recipe_of(name: str, explainer) -> ExplainerRecipe:
    """The recipe of a built explainer: its registry entry (when one matches) and its params.

    Raises ``ValueError`` when the explainer cannot be rebuilt from its params
    (a Generator seed, or params that do not round-trip).
    """
    from .registry import METHODS
    params = dict(getattr(explainer, "params", {}))
    if params.get("seed") == "Generator":
        raise ValueError(f"explainer {name!r} was seeded with a numpy Generator, whose state cannot be sent to "
                         "workers: give it an integer seed")
    cls = type(explainer)
    key = None
    for spec in METHODS.values():  # the entry whose fixed settings this explainer has (most specific first)
        if spec.cls is cls and all(params.get(k) == v for k, v in spec.fixed.items()):
            if key is None or len(spec.fixed) > len(METHODS[key].fixed):
                key = spec.key
    if key is not None:
        fixed = METHODS[key].fixed
        kwargs = {k: v for k, v in params.items() if k not in fixed}
        recipe = ExplainerRecipe(name, key, None, _freeze(kwargs))
    else:
        accepted = inspect.signature(cls.__init__).parameters
        extra = sorted(set(params) - set(accepted))
        if extra and not any(p.kind == p.VAR_KEYWORD for p in accepted.values()):
            raise ValueError(f"explainer {name!r} ({cls.__name__}) reports params {extra} that its constructor "
                             "does not take: it cannot be rebuilt on a worker")
        recipe = ExplainerRecipe(name, None, f"{cls.__module__}:{cls.__qualname__}", _freeze(params))
    model = getattr(explainer, "model", None)
    if model is not None:  # check the round trip here, on the driver's model, before anything travels
        rebuilt = recipe.build(model)
        if _freeze(dict(rebuilt.params)) != _freeze(params):
            raise ValueError(f"explainer {name!r} does not rebuild from its params: {params} became "
                             f"{dict(rebuilt.params)}")
    return recipe


def recipes_of(explainers) -> dict[str, ExplainerRecipe]:
    """{name: recipe} from registry names, ``(name, params)`` pairs, explainers, or a dict of those."""
    from .registry import get_method
    items = list(explainers.items()) if isinstance(explainers, dict) else [(None, e) for e in explainers]
    out = {}
    for name, e in items:
        if isinstance(e, ExplainerRecipe):
            r = e
        elif isinstance(e, str) or (isinstance(e, tuple) and len(e) == 2 and isinstance(e[0], str)):
            key, params = (e, {}) if isinstance(e, str) else e
            spec = get_method(key)
            clash = sorted(set(params) & set(spec.fixed))
            if clash:
                raise ValueError(f"{spec.label!r} fixes {clash}; drop them from the params")
            r = ExplainerRecipe(name or spec.label_for(params), spec.key, None, _freeze(dict(params)))
        else:
            r = recipe_of(name or getattr(e, "method", type(e).__name__), e)
        name = name or r.name
        if name in out:
            raise ValueError(f"two explainers are named {name!r}: pass a dict {{name: explainer}}")
        out[name] = ExplainerRecipe(name, r.key, r.cls_path, r.params)
    return out


def _factory_key(factory) -> str:
    import cloudpickle
    return hashlib.sha1(cloudpickle.dumps(factory)).hexdigest()


def worker_model(factory, key: str | None = None):
    """The model of ``factory`` in this process: built at the first call, then kept."""
    key = key or _factory_key(factory)
    with _LOCK:
        if key not in _MODELS:
            _MODELS[key] = factory()
        return _MODELS[key]


def _explainers(factory, fkey, recipes):
    model = worker_model(factory, fkey)
    out = {}
    with _LOCK:
        for name, r in recipes.items():
            k = (fkey, r)
            if k not in _EXPLAINERS:
                _EXPLAINERS[k] = r.build(model)
            out[name] = _EXPLAINERS[k]
    return model, out


def _metric_model(model, explainers):
    from .models import as_model
    for e in explainers.values():
        if getattr(e, "model", None) is not None:
            return e.model
    return as_model(model)


def run_shard(factory, fkey, recipes, source, pending, mset, on_error="record") -> list[dict]:
    """One Dask task: the rows of the images in ``pending`` ({image: [(label, n objects, name)]})."""
    from .evaluation import score_image
    model, explainers = _explainers(factory, fkey, recipes)
    metric_model = _metric_model(model, explainers)
    rows = []
    for i, tasks in pending.items():
        rows.extend(score_image(explainers, metric_model, source, i, tasks, mset, on_error))
    return rows


def _describe(factory, fkey, recipes):
    _, explainers = _explainers(factory, fkey, recipes)
    return {name: {"method": getattr(e, "method", type(e).__name__), "params": dict(getattr(e, "params", {}))}
            for name, e in explainers.items()}


def describe(client, factory, recipes) -> dict:
    """{name: {"method", "params"}} of the explainers as a worker builds them (the results file's header).

    Also checks, before any shard runs, that the factory and the recipes work on a worker.
    """
    _require_dask()
    return client.submit(_describe, factory, _factory_key(factory), recipes, pure=False).result()


def _sanity(factory, fkey, args, kwargs):
    from .metrics import sanity_check
    from .models import as_model
    return sanity_check(as_model(worker_model(factory, fkey)), *args, **kwargs)


def sanity_on_worker(client, factory, args, kwargs):
    """The sanity check (it needs the model for insertion/deletion) run on a worker."""
    return client.submit(_sanity, factory, _factory_key(factory), args, kwargs, pure=False).result()


def run_on_cluster(client, factory, recipes, source, pending, mset, on_error, emit, *, shard_size=4):
    """Submit shards of ``shard_size`` images, hand each one's rows to ``emit`` as it completes."""
    distributed = _require_dask()
    if not isinstance(shard_size, int) or isinstance(shard_size, bool) or shard_size < 1:
        raise ValueError(f"shard_size must be an integer >= 1 (images per task), got {shard_size!r}")
    import uuid
    fkey = _factory_key(factory)
    run_id = uuid.uuid4().hex[:12]  # task keys unique to this run: never a finished shard of another run
    images = list(pending)
    shards = {}
    for s in range(0, len(images), shard_size):
        idx = images[s:s + shard_size]
        part = {i: pending[i] for i in idx}
        fut = client.submit(run_shard, factory, fkey, recipes, source.subset(idx), part, mset, on_error,
                            pure=False, key=f"saliency-shard-{run_id}-{s // shard_size}")
        shards[fut] = part
    for fut in distributed.as_completed(list(shards)):
        part = shards.pop(fut)
        try:
            rows = fut.result()
        except Exception as exc:  # noqa: BLE001 - the shard as a whole failed: one error row per map
            if on_error == "raise":
                raise
            text = f"{type(exc).__name__}: {exc} (the whole shard failed on the cluster)"
            rows = [{"image": i, "target": label, "method": name, "n_objects": int(n), "error": text}
                    for i, tasks in part.items() for label, n, name in tasks]
        emit(rows)
        fut.release()
