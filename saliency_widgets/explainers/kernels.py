"""Mask making and masking written once against the model's array backend.

Every function here takes the backend's array namespace ``xp`` and arrays on
the model's device, so one implementation serves NumPy (the reference, on the
host), TensorFlow, JAX and PyTorch; the backend compiles the step functions
(``jax.jit``, ``tf.function``).  Only the small random draws come from the
host; see :mod:`saliency_widgets.models.backends`.
"""
from __future__ import annotations

import numpy as np

from ..models import ModelError

__all__ = ["upsample", "apply_masks", "weighted_sum", "score_bounds", "initial_bounds", "MaskConsts", "run_step"]


def upsample(xp, rows_m, cols_m, ar_h, ar_w, grids, offsets):
    """(n, s, s) grids and (n, 2) crop offsets -> (n, H, W) masks (see :class:`.masks.MaskUpsampler`).

    ``rows_m`` (up_h, s) and ``cols_m`` (up_w, s) are the interpolation
    matrices; ``ar_h``/``ar_w`` are ``arange(H)``/``arange(W)`` on the device.
    """
    h, w = ar_h.shape[0], ar_w.shape[0]
    s = rows_m.shape[1]
    iy = xp.reshape(offsets[:, 0:1] + ar_h[None, :], (-1,))
    ix = xp.reshape(offsets[:, 1:2] + ar_w[None, :], (-1,))
    rows = xp.reshape(xp.take(rows_m, iy, axis=0), (-1, h, s))  # (n, H, s)
    cols = xp.reshape(xp.take(cols_m, ix, axis=0), (-1, w, s))  # (n, W, s)
    return xp.matmul(xp.matmul(rows, grids), xp.permute_dims(cols, (0, 2, 1)))


def apply_masks(fill, diff, m):
    """``fill + M * (x - fill)`` for a batch of masks (n, H, W) -> (n, H, W, C)."""
    return fill[None] + m[..., None] * diff[None]


def weighted_sum(xp, w, m, acc_dtype):
    """``sum_i w_i m_i`` of one batch, (n,) and (n, H, W) -> (H, W) in ``acc_dtype``.

    The product runs in the masks' float32 (a BLAS matrix-vector product on
    the host) and only the (H, W) result is cast to the accumulator's dtype:
    casting the whole batch to float64 first cost more host time than the
    masking itself (8 ms of a 150 ms MobileNetV2 batch of 16 on 2 cores).  A
    batch's float32 sum is exact to ~1e-7 relative; the running sum over
    batches stays in ``acc_dtype``.
    """
    return xp.astype(xp.tensordot(xp.astype(w, m.dtype), m, axes=1), acc_dtype)


def score_bounds(xp, p, bounds):
    """The running ``[min, max]`` (2,) of the target scores seen, updated with one batch's scores ``p``.

    Every perturbation kernel carries it, so the shared path
    (:meth:`~saliency_widgets.explainers.base.Explainer._iterate`) can tell a map
    drawn from no signal (the score never changed) from a map; two reductions of
    a batch of scores, nothing more.
    """
    p = xp.astype(p, bounds.dtype)
    lo = xp.minimum(bounds[0:1], -xp.max(-p, keepdims=True))
    hi = xp.maximum(bounds[1:2], xp.max(p, keepdims=True))
    return xp.concat([lo, hi], axis=0)


def initial_bounds(be, score):
    """``[score, score]`` on the device: the unmasked image's score opens the range."""
    return be.asarray(np.array([score, score], np.float32))


class MaskConsts:
    """The per-image arrays an explainer puts on the device once: fill, x - fill, the target index,
    and (for grid masks) the interpolation matrices and index ranges."""

    def __init__(self, be, x, fill, target, up=None):
        h, w = x.shape[:2]
        self.fill = be.asarray(fill.astype(np.float32))
        self.diff = be.asarray((x - fill).astype(np.float32))
        self.x = be.asarray(x.astype(np.float32))
        self.tidx = be.asarray(np.array([target]), dtype=be.int_dtype)
        self.ar_h = be.asarray(np.arange(h), dtype=be.int_dtype)
        self.ar_w = be.asarray(np.arange(w), dtype=be.int_dtype)
        if up is not None:
            self.rows = be.asarray(up._rows)
            self.cols = be.asarray(up._cols)


def run_step(explainer, fn, step, *args):
    """Call a compiled step; a failure names the explainer, the model and the step."""
    try:
        return fn(*args)
    except ModelError as exc:
        raise ModelError(f"{explainer.method}: at step {step}: {exc}") from exc.__cause__
    except Exception as exc:
        if not explainer.model.backend.native:
            raise
        raise ModelError(f"{explainer.method}: at step {step}: {explainer.model.name} raised "
                         f"{type(exc).__name__}: {exc}") from exc
