"""The results file of :func:`~saliency_widgets.evaluate`: its header and the rules for resuming it.

JSON lines.  The first line is ``{"__settings__": {...}}``: the file format, the metric
settings (metrics, tolerance, step, occluder, iou_rule, iou_threshold, tie_seed, the map
read) and, per method name, the explainer's ``method`` and ``params``; it may also hold
``"__sanity__"`` (the last sanity check, reused while its settings match).  Every other
line is one row.  Resuming a file refuses (``ValueError`` naming what differs) when a
metric setting or a method's params differ; a cut-off last line is removed before new
rows are appended.

What the rows were made from is in the header too (``"inputs"``, :func:`inputs_fingerprint`):

``model``
    a Keras model or a PyTorch module: its kind, a hash of its architecture (Keras: the
    layers' classes, configurations without names and initialisers, and weight shapes;
    PyTorch: the module's ``repr``) and a hash of its weights; any other callable: its qualified name and a *probe*, a hash of its
    outputs (rounded to 5 decimals) on two fixed seeded inputs of the image shape; and the
    adapter's settings that change scores (``outputs``, ``mean_color``).
``preprocess``
    the adapter's ``preprocess``: its qualified name and a probe on a fixed seeded image.
``input_size``
    the (H, W[, C]) images are scored at: a dataset's ``size`` (or "each image's own"),
    else the shapes of the arrays.
``images``
    a dataset: its class, root (absolute path), split and each image's id; arrays: per
    image, a hash of its bytes and of its truth.

Resuming with any of these changed is refused, naming the field; the image set may grow
(images the file does not hold yet are added) but no image the file holds may differ.
``overwrite=True`` (the CLI's ``--force-new``) starts a new file.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import warnings

import numpy as np

__all__ = ["FORMAT", "INPUT_FIELDS", "jsonable", "read_results", "diff", "merge_settings", "write_results",
           "inputs_fingerprint", "model_prints", "first_image", "model_fingerprint", "preprocess_fingerprint",
           "image_set_fingerprint", "input_size_of"]

FORMAT = "saliency_widgets.evaluate/3"  # 3: the header records what the rows were made from ("inputs")
INPUT_FIELDS = ("model", "preprocess", "input_size", "images")
PROBE_SEED = 0
_INPUT_WORDS = {"model": "another model", "preprocess": "another preprocessing", "input_size": "another input size",
                "images": "another image set"}
_FRESH = "pass overwrite=True (command line: --force-new) to start a new file, or use another results file"


def jsonable(obj):
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


def read_results(path):
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


def diff(old: dict, new: dict) -> str:
    keys = sorted(set(old) | set(new))
    return ", ".join(f"{k}: {old.get(k, '<unset>')!r} in the file vs {new.get(k, '<unset>')!r} now"
                     for k in keys if old.get(k) != new.get(k))


def merge_settings(path, stored, current):
    """The header to keep; raises when the stored settings differ from the current ones."""
    if stored is None:
        return current, True
    if stored.get("format") != FORMAT:
        raise ValueError(f"{path} was written in format {stored.get('format')!r}, this version writes {FORMAT!r}")
    grown = _check_inputs(path, stored.get("inputs"), current.get("inputs"))
    if stored["metrics"] != current["metrics"]:
        what = diff(stored["metrics"], current["metrics"])
        raise ValueError(f"{path} was made with different metric settings ({what}); use another results file "
                         "or the same settings")
    explainers = dict(stored["explainers"])
    for name, spec in current["explainers"].items():
        if name in explainers and explainers[name] != spec:
            old, new = explainers[name], spec
            what = diff(old.get("params", {}), new.get("params", {})) or diff(old, new)
            raise ValueError(f"{path} holds rows of method {name!r} made with different settings ({what}); "
                             "use another results file or the same settings")
    changed = grown or any(name not in explainers for name in current["explainers"])
    explainers.update(current["explainers"])
    merged = dict(stored, explainers=explainers)
    if current.get("inputs") is not None:
        merged["inputs"] = current["inputs"]
    return merged, changed


def write_results(path, header, rows, sanity):
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


def _check_inputs(path, stored, current) -> bool:
    """Refuse a file whose rows were made from another model, preprocessing, input size or image set.

    The image set may grow (an index the file does not hold yet), never change: every image the file
    holds must be the same now.  Returns whether ``current`` adds images to the stored set.
    """
    if current is None:
        return False
    stored = stored or {}
    differ = [k for k in INPUT_FIELDS if k != "images" and stored.get(k) != current.get(k)]
    what = [f"{k}: {_describe_change(stored.get(k), current.get(k))}" for k in differ]
    old_images, new_images = stored.get("images") or {}, current.get("images") or {}
    same_set = {k: v for k, v in old_images.items() if k != "images"} == \
        {k: v for k, v in new_images.items() if k != "images"}
    old_ids, new_ids = old_images.get("images", {}), new_images.get("images", {})
    changed = [i for i in old_ids if new_ids.get(i) != old_ids[i]]
    if not same_set or changed:
        differ.append("images")
        what.append("images: " + (diff({k: v for k, v in old_images.items() if k != "images"},
                                       {k: v for k, v in new_images.items() if k != "images"}) if not same_set else
                                  f"{len(changed)} of the {len(old_ids)} images in the file differ or are missing "
                                  f"now (first: image {changed[0]}, {old_ids[changed[0]]!r} in the file vs "
                                  f"{new_ids.get(changed[0], '<missing>')!r} now)"))
    if differ:
        raise ValueError(f"{path} was made with {' and '.join(_INPUT_WORDS[k] for k in differ)} "
                         f"({'; '.join(what)}); {_FRESH}")
    return len(new_ids) > len(old_ids)


def _describe_change(old, new) -> str:
    if isinstance(old, dict) and isinstance(new, dict):
        return diff(old, new)
    return f"{old!r} in the file vs {new!r} now"


def _sha(*parts) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p if isinstance(p, bytes) else json.dumps(p, sort_keys=True, default=str).encode())
    return h.hexdigest()[:16]


def _array_bytes(a) -> bytes:
    a = np.ascontiguousarray(a)
    return f"{a.dtype.str}{a.shape}".encode() + a.tobytes()


def _qualname(obj) -> str:
    target = getattr(obj, "func", obj)  # functools.partial: the function it calls
    name = getattr(target, "__qualname__", None) or type(target).__qualname__
    return f"{getattr(target, '__module__', None) or type(target).__module__}.{name}"


def _probe_inputs(shape) -> list[np.ndarray]:
    """Two fixed seeded inputs of ``shape``: values in [0, 1) and in [0, 255), whichever a model reads."""
    rng = np.random.default_rng(PROBE_SEED)
    x = rng.random((2,) + tuple(shape), dtype=np.float32)
    x[1] *= 255
    return x


def _layer_config(layer) -> dict:
    """A Keras layer's configuration without what does not change its function: its (auto-numbered) name
    and how its weights were initialised (the weights themselves are hashed)."""
    try:
        config = dict(layer.get_config())
    except Exception:  # noqa: BLE001 - a custom layer without a config: its class and weights still count
        return {}
    return {k: v for k, v in config.items()
            if k != "name" and not k.endswith(("_initializer", "_regularizer", "_constraint"))}


def model_fingerprint(model, shape=None) -> dict | None:
    """What identifies ``model`` (see the module docstring); None for no model.

    ``shape`` is the (H, W, C) the model takes here (for the probe of a callable).
    """
    if model is None:
        return None
    from ..models import as_model
    adapter = as_model(model)
    inner = adapter.keras_model if adapter.keras_model is not None else getattr(adapter, "wrapped", None)
    inner = adapter.fn if inner is None else inner
    out = {"outputs": adapter.outputs,
           "mean_color": None if adapter.mean_color is None else [float(v) for v in adapter.mean_color]}
    if hasattr(inner, "get_weights") and hasattr(inner, "layers"):  # a Keras model
        layers = [(type(layer).__name__, _layer_config(layer), [list(w.shape) for w in layer.weights])
                  for layer in inner.layers]
        out.update(kind="keras", architecture=_sha(layers), weights=_sha(*map(_array_bytes, inner.get_weights())))
    elif hasattr(inner, "state_dict") and hasattr(inner, "named_modules"):  # a PyTorch module
        state = inner.state_dict()
        out.update(kind="torch", architecture=_sha(repr(inner)),
                   weights=_sha(*(k.encode() + _array_bytes(v.detach().cpu().numpy()) for k, v in state.items())))
    else:
        probe = None
        shape = shape if shape is not None else adapter.input_shape
        if shape is not None and None not in tuple(shape):
            probe = _sha(_array_bytes(np.round(adapter.predict(_probe_inputs(shape)), 5)))
        out.update(kind="callable", name=_qualname(inner), probe=probe)
    return out


def preprocess_fingerprint(model, shape=None) -> dict | None:
    """The adapter's ``preprocess``: qualified name and a probe on a seeded uint8 image of ``shape`` (H, W, C)."""
    if model is None:
        return None
    from ..models import as_model
    fn = as_model(model).preprocess
    if fn is None:
        return None
    probe = None
    if shape is not None:
        image = np.random.default_rng(PROBE_SEED).integers(0, 256, tuple(shape), dtype=np.uint8)
        probe = _sha(_array_bytes(np.round(np.asarray(fn(image), np.float64), 5)))
    return {"name": _qualname(fn), "probe": probe}


def input_size_of(source):
    """The size images are scored at: a dataset's ``size``, else the images' distinct shapes."""
    if hasattr(source, "records"):
        size = getattr(source, "size", None)
        return list(size) if size is not None else "each image's own size"
    shapes = sorted({tuple(np.shape(source.image(i))) for i in source.indices()})
    return [list(s) for s in shapes]


def image_set_fingerprint(source) -> dict:
    """``{"images": {index: id or hash}}`` and, for a dataset, its class, root and split.

    A dataset's images are named by their ids; arrays (or any other source) by a hash of the image's
    bytes and its truth.
    """
    idx = source.indices()
    if hasattr(source, "records"):
        root = getattr(source, "root", None) or getattr(source, "annotations", None)
        return {"dataset": type(source).__name__, "root": None if root is None else os.path.abspath(os.fspath(root)),
                "split": getattr(source, "split", None), "images": {str(i): source.records[i].id for i in idx}}
    out = {}
    for i in idx:
        parts = [_array_bytes(np.asarray(source.image(i)))]
        for label, (mask, boxes, *_rest) in sorted(source.truth(i).items()):
            parts += [str(label).encode(), _array_bytes(mask), json.dumps(jsonable(boxes)).encode()]
        out[str(i)] = _sha(*parts)
    return {"dataset": None, "images": out}


def model_prints(model, image=None) -> dict:
    """``{"model", "preprocess"}`` fingerprints of ``model``, probed at the shape of ``image`` (one raw image)."""
    shape = raw_shape = None
    if model is not None and image is not None:
        from ..models import as_model
        raw_shape = np.shape(image)
        shape = as_model(model).prepare(image).shape
    return {"model": model_fingerprint(model, shape), "preprocess": preprocess_fingerprint(model, raw_shape)}


def first_image(source):
    """The first image of ``source`` that decodes (the probes' shape), or None."""
    for i in source.indices():
        try:
            return np.asarray(source.image(i))
        except OSError:
            continue
    return None


def inputs_fingerprint(source, prints: dict) -> dict:
    """The header's ``"inputs"``: ``prints`` (:func:`model_prints`), the input size and the image set."""
    return jsonable({"model": prints["model"], "preprocess": prints["preprocess"],
                     "input_size": input_size_of(source), "images": image_set_fingerprint(source)})
