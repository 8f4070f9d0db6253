"""The adapter every explainer and metric calls a model through: :class:`ModelAdapter`.

Batching, padding, logit handling and error reporting are written once, here.
:func:`saliency_widgets.models.as_model` (in :mod:`.adapter`) picks the framework's
adapter; :mod:`.keras` and :mod:`.frameworks` build them on this class.
"""
from __future__ import annotations

import warnings
import weakref
from typing import Callable

import numpy as np

from ..occluder import check_color
from .backends import ForwardCounter, numpy_backend, softmax_xp

__all__ = ["ModelAdapter", "ModelError", "softmax", "check_positive_int", "check_mean_color", "weakrefable",
           "weak_handle", "check_image_array"]


class ModelError(RuntimeError):
    """The wrapped model failed or returned something unusable."""


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


_OUTPUTS = ("auto", "probabilities", "logits")


class ModelAdapter:
    """A batched, validated view of a classifier.

    Parameters
    ----------
    fn : callable
        ``fn(batch)`` with ``batch`` a float32 array (B, H, W, C) in the model's
        input space; returns (B, K) scores (a NumPy array or anything
        ``np.asarray`` accepts: a TF/PyTorch CPU tensor, a JAX array).
    input_shape : tuple (H, W, C) or None
        What the model takes, when known; ``None`` entries are free.
    outputs : {"auto", "probabilities", "logits"}, keyword-only
        ``"logits"`` applies a softmax; ``"auto"`` applies one (and warns once)
        when the first outputs it sees are not rows of probabilities.
    preprocess : callable or None, keyword-only
        Maps the user's image (H, W, C), e.g. uint8 RGB, to the model's input.
        **Masking happens after it**: masks apply to the model's input as
        ``fill + M * (x - fill)`` and ``occluder="auto"`` fills with 0 when a
        ``preprocess`` is given, so the preprocessed input is multiplied by the
        mask, as the paper's prototype did.
    batch_size : int, keyword-only
        The largest batch sent to ``fn``.  Smaller batches are padded to the
        next power of two so a compiled function sees few distinct shapes.
    mean_color : sequence of C floats or None, keyword-only
        The colour, in the model's input space, that the model's own
        preprocessing maps to 0 (e.g. the ImageNet mean RGB for a "caffe"
        model that takes pixels).  ``occluder="auto"`` masks to it, so masking
        the raw input reproduces masking the preprocessed input by 0.
    backend : ArrayBackend or None, keyword-only
        Where the explainers make and apply their masks
        (:mod:`saliency_widgets.models.backends`); ``None``: NumPy on the host.
        On an accelerator ``batch_size`` defaults to 256 instead of 64.
    """

    def __init__(self, fn: Callable, *, input_shape=None, outputs: str = "auto",
                 preprocess: Callable | None = None, batch_size: int | None = None,
                 name: str = "model", keras_model=None, pad_batches: bool = False, mean_color=None,
                 backend=None):
        if not callable(fn):
            raise TypeError(f"model must be a Keras model or a callable batch -> scores, got {type(fn).__name__}")
        if outputs not in _OUTPUTS:
            raise ValueError(f"outputs must be one of {_OUTPUTS}, got {outputs!r}")
        if preprocess is not None and not callable(preprocess):
            raise TypeError(f"preprocess must be a callable image -> model input, got {type(preprocess).__name__}")
        self.fn = fn
        self.input_shape = None if input_shape is None else tuple(input_shape)
        self.outputs = outputs
        self.preprocess = preprocess
        self.backend = numpy_backend() if backend is None else backend
        default_bs = 256 if self.backend.accelerator else 64
        self.batch_size = check_positive_int("batch_size", default_bs if batch_size is None else batch_size)
        self.name = name
        self.keras_model = keras_model
        self.pad_batches = pad_batches
        self.mean_color = check_mean_color(mean_color)
        self._softmax = {"auto": None, "probabilities": False, "logits": True}[outputs]
        self.num_classes: int | None = None
        # (kind, model) for the gradient explainers (models/input_gradients.py): "keras", "torch" or
        # "jax" and the object to differentiate; None for a plain callable (no gradients).
        self.gradient_source = ("keras", keras_model) if keras_model is not None else None
        self.wrapped = fn  # the user's model (set by as_model): what a results file fingerprints
        # Images sent to the model (forward_count): on a device path the backend's counter (one per model),
        # on the host path this adapter's own, shared with its re-wraps (as_model(adapter, batch_size=...)).
        self.counter = self.backend.counter if self.backend.native else ForwardCounter()
        # Count inside compiled steps too (a host callback per batch under jax.jit / tf.function): off by
        # default, so the device paths' throughput is untouched; the widget's session turns it on.
        self.count_compiled = False

    @property
    def forward_count(self) -> int:
        """Images sent through the model so far, counted where they are sent (:class:`.backends.ForwardCounter`).

        Counts this adapter's calls and those of its re-wraps (``as_model(adapter, batch_size=...)``,
        what the explainers make); on a device path every adapter of the same model shares one count.
        On the host path and PyTorch's device path every image is counted. Inside a traced step (JAX,
        TensorFlow on a device) images are counted only with :attr:`count_compiled` set (a host callback
        at each execution; off by default so the device paths run as fast as before). Gradient methods
        reach the model through its framework's autodiff, not through the adapter: their passes are not
        in this count.  Read it before and after some work for that work's passes.
        """
        return self.backend.counted() if self.backend.native else self.counter.value

    # -- inputs ---------------------------------------------------------
    def prepare(self, image) -> np.ndarray:
        """Validate one image and return it as float32 (H, W, C) in the model's input space."""
        arr = check_image_array(image)
        if self.preprocess is not None:
            arr = np.asarray(self.preprocess(arr))
        arr = arr.astype(np.float32, copy=False)
        expected_c = self.input_shape[-1] if self.input_shape else None
        if arr.ndim == 2:
            if expected_c not in (None, 1):
                raise ValueError(f"a grayscale (H, W) image was given but the model takes {expected_c} channels")
            arr = arr[:, :, None]
        if arr.ndim != 3 or arr.shape[2] not in (1, 2, 3, 4) and expected_c is None:
            raise ValueError(f"image must have shape (H, W, C) with C in 1..4, got {arr.shape}")
        if expected_c is not None and arr.shape[2] != expected_c:
            raise ValueError(f"image has {arr.shape[2]} channels but the model takes {expected_c}: "
                             f"expected shape {self._shape_text()}")
        if self.input_shape is not None:
            for got, want, axis in zip(arr.shape[:2], self.input_shape[:2], ("height", "width")):
                if want is not None and got != want:
                    raise ValueError(f"image {axis} is {got} but the model takes {want}: expected shape "
                                     f"{self._shape_text()}, got {arr.shape}; resize the image or pass preprocess=")
        if not np.all(np.isfinite(arr)):
            raise ValueError("image contains NaN or inf pixels")
        return np.ascontiguousarray(arr)

    def _shape_text(self) -> str:
        return "(" + ", ".join("any" if d is None else str(d) for d in self.input_shape) + ")"

    # -- forward passes -------------------------------------------------
    def predict(self, batch: np.ndarray) -> np.ndarray:
        """Class probabilities (B, K) float32 for a batch (B, H, W, C) in the model's input space."""
        batch = np.asarray(batch, dtype=np.float32)
        if batch.ndim != 4:
            raise ValueError(f"predict takes a batch (B, H, W, C), got shape {batch.shape}")
        n = batch.shape[0]
        if n == 0:
            return np.zeros((0, self.num_classes or 0), np.float32)
        parts = [self._call(batch[i:i + self.batch_size]) for i in range(0, n, self.batch_size)]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    __call__ = predict

    def scores_fn(self):
        """``scores(batch, target_idx) -> (B,)`` target probabilities of a batch on the backend's device.

        ``target_idx`` is a (1,) integer array.  Traceable by the backend's
        ``compile`` (the softmax decision is baked in: call :meth:`predict`
        once first so ``outputs="auto"`` has decided).  On the NumPy backend
        it is :meth:`predict` (validated outputs).
        """
        be = self.backend
        xp = be.xp
        bs = self.batch_size
        counted = self.count_compiled
        if not be.native:
            fwd, soft = self.predict, False
        else:
            fwd, soft = be.forward, bool(self._softmax)

        def scores(batch, target_idx):
            n = batch.shape[0]
            if be.native:  # the host path counts in _call
                be.count_images(batch, in_traced=counted)
            if be.native and n is not None and n > bs:  # e.g. more chains than batch_size: chunked calls
                out = xp.concat([fwd(batch[i:i + bs]) for i in range(0, n, bs)], axis=0)
            else:
                out = fwd(batch)
            if not be.native:  # host path: a bad class is reported, not an IndexError
                _check_class(int(target_idx[0]), out.shape[1])
            if soft:
                out = softmax_xp(xp, out)
            return xp.take(out, target_idx, axis=1)[:, 0]

        return scores

    def compile_step(self, name: str, make, *static):
        """``make(xp, scores)`` compiled once per model, softmax decision, batch size and ``static`` settings."""
        be = self.backend
        counted = ("counted",) if self.count_compiled and be.traced else ()  # a step with the count's callback
        return be.compile((name, bool(self._softmax), self.batch_size) + tuple(static) + counted,
                          make(be.xp, self.scores_fn()))

    def path_scores(self, x_start: np.ndarray, x_finish: np.ndarray, order: np.ndarray, counts: np.ndarray,
                    target: int) -> np.ndarray:
        """Target probabilities along a pixel-replacement path (insertion / deletion).

        Image ``i`` is ``x_start`` with the pixels ``order[:counts[i]]`` (flat
        indices into H * W, all channels) taken from ``x_finish``.  Only one
        batch of images exists at a time, built on the backend's device from
        ``x_start``, ``x_finish`` and each pixel's rank in ``order``; only the
        counts go in and the scores come out.

        Returns
        -------
        (len(counts),) float32
        """
        h, w, c = x_start.shape
        n_pix = h * w
        counts = np.asarray(counts)
        order = np.asarray(order)
        scores = np.empty(len(counts), np.float32)
        if len(counts) == 0:
            return scores
        if self.backend.native:
            if self.num_classes is None or self._softmax is None:  # outputs="auto" decides on the host first
                self.predict(np.asarray(x_start, np.float32)[None])
            _check_class(target, self.num_classes)
        elif isinstance(target, bool) or not isinstance(target, (int, np.integer)):
            _check_class(target, self.num_classes or 0)
        rank = np.full(n_pix, n_pix, np.int64)  # pixels not in order are never replaced
        rank[order] = np.arange(len(order))
        be = self.backend
        xp = be.xp
        fn = self.compile_step("path_scores", lambda xp, scores: _path_step(xp, scores, (h, w, c)), h, w, c)
        start = be.asarray(np.asarray(x_start, np.float32).reshape(1, n_pix, c))
        finish = be.asarray(np.asarray(x_finish, np.float32).reshape(1, n_pix, c))
        rank_d = be.asarray(rank.reshape(1, n_pix, 1), dtype=be.int_dtype)
        tidx = be.asarray(np.array([target]), dtype=be.int_dtype)
        bs = self.batch_size
        counts_d = be.asarray(counts.reshape(-1, 1, 1), dtype=be.int_dtype)  # once: an upload can sync the device
        outs = []
        for b0 in range(0, len(counts), bs):
            ks = counts[b0:b0 + bs]
            try:
                outs.append((b0, len(ks), fn(start, finish, rank_d, counts_d[b0:b0 + bs], tidx)))
            except ModelError:
                raise
            except Exception as exc:
                if not be.native:
                    raise
                raise ModelError(f"{self.name} raised {type(exc).__name__} on a batch of {len(ks)} "
                                 f"path images of shape {(h, w, c)}: {exc}") from exc
        for b0, n, p in outs:  # one host sync per batch, after every batch is queued
            scores[b0:b0 + n] = be.to_numpy(p)
        return scores

    def _call(self, chunk: np.ndarray) -> np.ndarray:
        b = chunk.shape[0]
        if self.pad_batches and b < self.batch_size:
            padded = min(self.batch_size, 1 << (b - 1).bit_length())
            if padded != b:
                chunk = np.concatenate([chunk, np.zeros((padded - b,) + chunk.shape[1:], chunk.dtype)])
        self.counter.add(b)  # the images asked for, not the padding
        try:
            out = self.fn(chunk)
        except Exception as exc:  # report which model and what it was given
            raise ModelError(f"{self.name} raised {type(exc).__name__} on a batch of shape "
                             f"{chunk.shape}: {exc}") from exc
        out = _to_numpy(out)
        if out.ndim != 2 or out.shape[0] != chunk.shape[0]:
            raise ModelError(f"{self.name} must return scores of shape (B, K) = ({chunk.shape[0]}, K) "
                             f"for a batch of {chunk.shape[0]} images, got shape {out.shape}")
        out = out[:b].astype(np.float32, copy=False)
        if not np.all(np.isfinite(out)):
            raise ModelError(f"{self.name} returned NaN or inf scores")
        if self.num_classes is None:
            self.num_classes = out.shape[1]
        elif out.shape[1] != self.num_classes:
            raise ModelError(f"{self.name} returned {out.shape[1]} classes, earlier {self.num_classes}")
        if self._softmax is None:
            self._softmax = not _looks_like_probabilities(out)
            if self._softmax:
                warnings.warn(f"{self.name}: outputs are not probabilities (rows do not sum to 1), so a "
                              "softmax is applied; pass outputs='logits' or outputs='probabilities' "
                              "to say so explicitly", stacklevel=4)
        return softmax(out) if self._softmax else out

    def __repr__(self) -> str:
        return f"ModelAdapter({self.name}, input_shape={self.input_shape}, batch_size={self.batch_size})"


def _path_step(xp, scores, shape):
    def step(start, finish, rank, ks, tidx):
        # (B, H*W, C): pixel j comes from finish when its rank in the order is < k.
        batch = xp.where(rank < ks, finish, start)
        return scores(xp.reshape(batch, (-1,) + tuple(shape)), tidx)
    return step


def _looks_like_probabilities(out: np.ndarray) -> bool:
    if out.min() < -1e-4 or out.max() > 1 + 1e-4:
        return False
    if out.shape[1] == 1:
        return True
    return bool(np.allclose(out.sum(axis=1), 1.0, atol=1e-3))


def _to_numpy(out) -> np.ndarray:
    if isinstance(out, (list, tuple)) and len(out) == 1:
        out = out[0]
    if hasattr(out, "detach"):  # torch tensor
        out = out.detach().cpu()
    if hasattr(out, "numpy") and not isinstance(out, np.ndarray):
        try:
            return np.asarray(out.numpy())
        except Exception:
            pass
    return np.asarray(out)


def _check_class(target, num_classes: int) -> None:
    if isinstance(target, bool) or not isinstance(target, (int, np.integer)):
        raise TypeError(f"target must be an integer class index in [0, {num_classes}), got {target!r}")
    if not 0 <= target < num_classes:
        raise ValueError(f"target {target} is out of range: the model has {num_classes} classes, "
                         f"so target must be in [0, {num_classes})")


def check_mean_color(color):
    """``None`` or a 1-D tuple of finite floats (one per channel)."""
    if color is None:
        return None
    return check_color(color, type_error="mean_color must be a colour (one number per channel) or None",
                       subject="mean_color")


def check_positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer >= 1, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return int(value)


def weakrefable(obj) -> bool:
    """Whether ``obj`` takes a weak reference (a compiled function cached per model must not keep it alive)."""
    try:
        weakref.ref(obj)
        return True
    except TypeError:
        return False


def weak_handle(obj) -> Callable[[], object]:
    """A call that returns ``obj``: a weak reference where ``obj`` takes one, else a closure over it."""
    return weakref.ref(obj) if weakrefable(obj) else (lambda: obj)


def check_image_array(image) -> np.ndarray:
    """``image`` as an array once it is one numeric (H, W, C) or (H, W) image that is not empty; else a
    TypeError or ValueError that names what was given (every explainer's first check, model or not)."""
    arr = np.asarray(image)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"image must be a numeric array (H, W, C) or (H, W), got dtype {arr.dtype}")
    if arr.ndim == 4 and arr.shape[0] == 1:
        raise ValueError(f"image must be one image (H, W, C), got a batch of shape {arr.shape}; pass image[0]")
    if arr.ndim not in (2, 3):
        raise ValueError(f"image must have shape (H, W, C) or (H, W), got shape {arr.shape}")
    if arr.size == 0 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"image is empty: shape {arr.shape}")
    return arr
