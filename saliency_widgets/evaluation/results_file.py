"""The results file of :func:`~saliency_widgets.evaluate`: its header and the rules for resuming it.

JSON lines (:mod:`.file_lines`), every line sealed by its own checksum.  The first line is
``{"__settings__": {...}}``: the file format, the file's ``file_id`` (which every row's checksum is keyed
with), the package and its version, the metric settings (metrics, tolerance, step, occluder, iou_rule,
iou_threshold, tie_seed, protocol, the map read), per method name the explainer's ``method`` and ``params``,
and per method its behavioural fingerprint (``"fingerprints"``:
:func:`saliency_widgets.evaluation.fingerprint.method_probe` of its registry key and params, the map it
computes on a fixed probe; an explainer without a registry key: its params only); it may also hold
``"__sanity__"`` (the last sanity check, reused while its settings match).  Every other line is one row.

Resuming keeps every row whose checksum holds and sets every other line aside (appended to
``PATH.set-aside.jsonl``, named in a warning with each line's number and reason), so a damaged row, a
line cut off mid-write, a row edited by hand, a duplicate of a row or a row of a class the image does not
have is recomputed and never counted, and no good row is ever deleted.  A damaged header stops the resume
with the file untouched.  A resume is refused (``ValueError`` naming what differs) when a metric setting
or a method's params differ, or when a method computes another map on the probe than the one the file
records (naming the method): so a file written by another version of the package is resumed exactly when
its methods still compute the same maps.

What the rows were made from is in the header too (``"inputs"``, :func:`inputs_fingerprint`):

``model``
    its kind; a Keras model or a PyTorch module: a hash of its architecture (Keras: the layers' classes,
    configurations without names and initialisers, and weight shapes; PyTorch: the module's ``repr``) and
    of its weights; any other callable: its qualified name; for every kind a *probe*, a hash of its outputs
    (rounded to 5 decimals) on two fixed seeded inputs of the image shape; the adapter's settings that
    change scores (``outputs``, ``mean_color``) and its declaration's crop, input size and pixel rule.
``preprocess``
    the adapter's ``preprocess``: its qualified name and a probe on a fixed seeded image.
``input_size``
    the (H, W[, C]) images are scored at: a dataset's ``size`` (or "each image's own"),
    else the shapes of the arrays.
``images``
    a dataset: its class, root (absolute path), split and each image's id; arrays: per
    image, a hash of its bytes and of its truth.

Resuming with any of these changed is refused, naming the field; the image set may grow (images the file
does not hold yet are added) but no image the file holds may differ.  A file written by another version
of the package is compared on what the model *does* (kind, outputs, fill, declaration and probe), not on
how that version hashed its architecture.  ``overwrite=True`` (the CLI's ``--force-new``) starts a new file.
"""
from __future__ import annotations

import hashlib
import json
import os
import uuid
import warnings

import numpy as np

from . import file_lines
from .json_form import jsonable
from .file_lines import ROW_CHECKSUM, row_checks, seal_header, seal_row, side_file

__all__ = ["FORMAT", "INPUT_FIELDS", "jsonable", "read_results", "diff", "merge_settings", "write_results",
           "inputs_fingerprint", "model_prints", "first_image", "model_fingerprint", "preprocess_fingerprint",
           "image_set_fingerprint", "input_size_of", "package_info", "new_file_id", "methods_fingerprints",
           "ROW_CHECKSUM", "row_checks", "seal_row", "seal_header", "side_file", "set_aside_rows"]

# 3: the header records what the rows were made from ("inputs"); 4: every line carries its checksum, the
# header the package version and the methods' behavioural fingerprints
FORMAT = "saliency_widgets.evaluate/4"
PACKAGE = "saliency_widgets"
#: the model fields compared when the file was written by another version (what the model does)
BEHAVIOUR = ("kind", "outputs", "mean_color", "probe", "declaration")
INPUT_FIELDS = ("model", "preprocess", "input_size", "images")
PROBE_SEED = 0
_INPUT_WORDS = {"model": "another model", "preprocess": "another preprocessing", "input_size": "another input size",
                "images": "another image set"}
_FRESH = "pass overwrite=True (command line: --force-new) to start a new file, or use another results file"


def read_results(path):
    """(header or None, rows that check, lines set aside) of a results file; nothing is written here.

    Lines set aside are ``(line number, reason, text)`` (:func:`~.file_lines.read_lines`); a damaged header,
    or a row that checks but has the wrong shape, raises a ``ValueError`` naming the line.
    """
    lines = file_lines.read_lines(path)
    rows = [dict(r, __line__=n, __text__=t) for r, n, t in zip(lines.rows, lines.line_of, lines.texts)]
    return lines.header, rows, lines.bad


def set_aside_rows(path, header: dict, rows: list, bad: list) -> None:
    """Move the ``bad`` lines to the side file, rewrite ``path`` with ``header`` and the good ``rows``, and say so
    in one warning naming each line, its reason and the side file (an interrupted write is named as such)."""
    side = file_lines.set_aside(path, bad)
    file_lines.rewrite(path, header, rows, header["__settings__"]["file_id"])
    cut = [b for b in bad if b[1].startswith("cut off")]
    what = "; ".join(f"line {n}: {reason}" for n, reason, _ in bad[:10]) + ("; ..." if len(bad) > 10 else "")
    words = (f"{path}: {len(bad)} line(s) set aside ({what}): moved to {side}, where they are kept as they were; "
             f"their maps are recomputed, every row that checks is kept")
    if cut:
        words += " (the last line was an interrupted write)"
    warnings.warn(words, RuntimeWarning, stacklevel=4)


def package_info() -> dict:
    """``{"name", "version"}`` of the package that writes the file (the installed distribution's version)."""
    try:
        from importlib.metadata import version
        v = version(PACKAGE)
    except Exception:  # noqa: BLE001 - not installed (run from a checkout): the source's own version
        v = "unknown"
    return {"name": PACKAGE, "version": v}


def new_file_id() -> str:
    """A new file's id (random): every row's checksum is keyed with it, so rows cannot move between files."""
    return uuid.uuid4().hex


def methods_fingerprints(specs: dict) -> dict:
    """``{name: fingerprint}`` for the header's ``{name: {"method", "params"}}``: the method's behavioural
    fingerprint (:func:`~.fingerprint.method_probe`) when ``method`` is a registry key, else its params
    only (``probe`` None), with the reason when the probe cannot run."""
    from . import fingerprint
    from ..registry import METHODS
    out = {}
    for name, spec in specs.items():
        key, params = spec.get("method"), spec.get("params", {})
        if key not in METHODS:
            out[name] = {"key": None, "params": jsonable(params), "probe": None}
            continue
        try:
            out[name] = fingerprint.method_probe(key, params)
        except Exception as exc:  # noqa: BLE001 - no demo model (no Keras) or settings the probe cannot run
            out[name] = {"key": key, "params": jsonable(params), "probe": None,
                         "note": f"no probe: {type(exc).__name__}: {exc}"}
    return jsonable(out)


def diff(old: dict, new: dict) -> str:
    keys = sorted(set(old) | set(new))
    return ", ".join(f"{k}: {old.get(k, '<unset>')!r} in the file vs {new.get(k, '<unset>')!r} now"
                     for k in keys if old.get(k) != new.get(k))


def merge_settings(path, stored, current):
    """The header to keep; raises when the stored settings differ from the current ones.

    A file written by another version is kept when its methods compute the same maps now (their
    fingerprints agree) and its model does what it did (:data:`BEHAVIOUR`)."""
    if stored is None:
        return current, True
    if stored.get("format") != FORMAT:
        raise ValueError(f"{path} was written in format {stored.get('format')!r} by an older version, before every "
                         f"row carried its checksum; this version writes {FORMAT!r} and cannot vouch for its rows: "
                         f"{_FRESH}")
    same_version = stored.get("package") == current.get("package")
    grown = _check_inputs(path, stored.get("inputs"), current.get("inputs"), same_version=same_version)
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
    _check_fingerprints(path, stored, current)
    changed = grown or any(name not in explainers for name in current["explainers"]) or not same_version
    explainers.update(current["explainers"])
    merged = dict(stored, explainers=explainers, package=current.get("package"),
                  fingerprints={**stored.get("fingerprints", {}), **current.get("fingerprints", {})})
    if not same_version:
        merged["written_by"] = stored.get("written_by", []) + [stored.get("package")]
    if current.get("inputs") is not None:
        merged["inputs"] = current["inputs"]
    return merged, changed


def _check_fingerprints(path, stored, current) -> None:
    """Refuse when a method the file holds computes another map now (naming it); params-only prints compare
    their params (already equal here)."""
    from .fingerprint import differences
    old_fp, new_fp = stored.get("fingerprints", {}), current.get("fingerprints", {})
    same_version = stored.get("package") == current.get("package")
    for name in sorted(set(old_fp) & set(new_fp)):
        a, b = old_fp[name], new_fp[name]
        if a.get("probe") is None or b.get("probe") is None:
            if not same_version and a.get("key") is not None:
                warnings.warn(f"{path}: method {name!r} was written by another version and its maps cannot be "
                              f"compared on the probe ({b.get('note') or a.get('note') or 'no probe recorded'}); "
                              "its rows are kept because its settings are equal", RuntimeWarning, stacklevel=4)
            continue
        moved = differences({"methods": {name: a}}, {"methods": {name: b}}, table=str(path))
        if moved:
            was = (stored.get("package") or {}).get("version")
            raise ValueError(f"{'; '.join(moved)}: its rows were made by saliency_widgets {was} and this version "
                             f"({(current.get('package') or {}).get('version')}) makes other maps with the same "
                             f"settings; {_FRESH}")


def write_results(path, header, rows, sanity):
    """Rewrite the file (header, then rows, each line sealed) under a temporary name and rename it: never
    half-written."""
    head = {"__settings__": header}
    if sanity is not None:
        head["__sanity__"] = sanity
    file_lines.rewrite(path, head, [{k: v for k, v in r.items() if k not in ("__line__", "__text__")} for r in rows],
                       header["file_id"])


def _check_inputs(path, stored, current, *, same_version: bool = True) -> bool:
    """Refuse a file whose rows were made from another model, preprocessing, input size or image set.

    The image set may grow (an index the file does not hold yet), never change: every image the file
    holds must be the same now.  Returns whether ``current`` adds images to the stored set.  Written by
    another version: the model and the preprocessing are compared on what they do (their probes), not on
    how that version hashed them.
    """
    if current is None:
        return False
    stored = stored or {}
    differ = [k for k in INPUT_FIELDS if k != "images" and not _same(k, stored.get(k), current.get(k), same_version)]
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


def _same(field: str, old, new, same_version: bool) -> bool:
    if same_version or not isinstance(old, dict) or not isinstance(new, dict):
        return old == new
    keep = BEHAVIOUR if field == "model" else ("probe",)
    return {k: old.get(k) for k in keep} == {k: new.get(k) for k in keep}


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
           "mean_color": None if adapter.mean_color is None else [float(v) for v in adapter.mean_color],
           "declaration": adapter.declaration.to_dict()}
    if hasattr(inner, "get_weights") and hasattr(inner, "layers"):  # a Keras model
        layers = [(type(layer).__name__, _layer_config(layer), [list(w.shape) for w in layer.weights])
                  for layer in inner.layers]
        out.update(kind="keras", architecture=_sha(layers), weights=_sha(*map(_array_bytes, inner.get_weights())))
    elif hasattr(inner, "state_dict") and hasattr(inner, "named_modules"):  # a PyTorch module
        state = inner.state_dict()
        out.update(kind="torch", architecture=_sha(repr(inner)),
                   weights=_sha(*(k.encode() + _array_bytes(v.detach().cpu().numpy()) for k, v in state.items())))
    else:
        out.update(kind="callable", name=_qualname(inner))
    shape = shape if shape is not None else adapter.input_shape
    out["probe"] = None
    if shape is not None and None not in tuple(shape):
        out["probe"] = _sha(_array_bytes(np.round(adapter.predict(_probe_inputs(shape)), 5)))
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
