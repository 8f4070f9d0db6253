"""The result every explainer returns: a saliency map with its metadata."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Explanation", "normalize_map", "NO_SIGNAL_TOL", "has_no_signal", "no_signal_text"]

#: the target's score "never changed" when max - min <= NO_SIGNAL_TOL * max(abs(max), abs(min)) over every
#: perturbed image and the unmasked one: relative, so a low-probability target (p ~ 1e-3) that moves by
#: 1e-6 still counts as signal, while float32 rounding through a model (~1e-7 to 1e-6 relative; JAX on
#: the CPU spread a constant 0.4 over [0.39999965, 0.40000001]) does not
NO_SIGNAL_TOL = 1e-5


def has_no_signal(score_range) -> bool:
    """True when ``score_range`` (min, max of the target's scores seen) is flat to :data:`NO_SIGNAL_TOL`."""
    if score_range is None:
        return False
    lo, hi = (float(v) for v in score_range)
    return hi - lo <= NO_SIGNAL_TOL * max(abs(hi), abs(lo), 1e-30)


def no_signal_text(method: str, score_range) -> str:
    """The warning (and the widget's note) for a map drawn from no signal."""
    lo, hi = (float(v) for v in score_range)
    return (f"{method}: the target's score never changed under the method's perturbations (it stayed in "
            f"[{lo:.6g}, {hi:.6g}]), so the map carries no signal; its display map is left blank "
            f"(Explanation.no_signal). The occluder may equal the image (e.g. a one-colour image under the "
            f"mean-colour occluder), or the model ignores its input: try another occluder or image.")


def normalize_map(raw: np.ndarray, *, center: bool = True) -> np.ndarray:
    """Post-process an accumulated map for display (the prototype's ``process_sal``).

    ``raw - mean(raw)`` (when ``center``), clipped at 0, divided by its maximum;
    an all-zero map stays zero instead of dividing by zero.

    Parameters
    ----------
    raw : (H, W) array
    center : bool, keyword-only

    Returns
    -------
    (H, W) float32 array in [0, 1]
    """
    sal = np.asarray(raw, dtype=np.float64)
    if center:
        sal = sal - sal.mean()
    sal = np.clip(sal, 0.0, None)
    peak = sal.max() if sal.size else 0.0
    if not np.isfinite(peak) or peak <= 0:
        return np.zeros(sal.shape, np.float32)
    return (sal / peak).astype(np.float32)


@dataclass
class Explanation:
    """A (partial or final) saliency map for one image and one target class.

    Attributes
    ----------
    saliency : (H, W) float32 in [0, 1], the display map: post-processed per
        method (RISE and mask-update: mean-centred and clipped; the others:
        clipped at 0), each divided by its maximum.  Not for ranking pixels.
    raw : (H, W) float32, the unnormalised map, higher = more important for
        ``target``, for every explainer (rank and compare by this):
        RISE: ``sum_i p_i M_i / (N keep)``; mask-update: the sum of the masks
        (``weighting="none"``), the mean probability of the masks that kept a
        pixel (``"score"``) or the regression slope of p on the mask
        (``"slope"``); Grad-CAM: the ReLU'd class activation map, upsampled;
        LIME: the superpixel's ridge coefficient; occlusion: the mean drop
        ``p(x) - p(occluded)``; centre baseline: the Gaussian bump; vanilla
        gradient, Guided Backpropagation: ``max_c |gradient|``; SmoothGrad:
        the largest over channels of the mean over noisy copies of
        ``|gradient|`` (``aggregate="absolute"``), of the gradient (then its
        absolute value, ``"signed"``) or of its square (``"squared"``);
        Integrated Gradients: the attribution summed over channels (signed).
    target : int, the explained class.
    score : float, the target's probability on the unmasked image.
    n_forward : int, forward passes (images through the model) spent so far.
    method : str, the explainer's name.
    params : dict, the explainer's settings (JSON-serialisable).
    done : bool, True for the final map.
    mask : (H, W) array or None, the current mask of the first chain (MaskUpdate).
    trace : (steps,) array or None, the first chain's target probability at every step.
    score_range : (min, max) or None, the target's scores seen over the unmasked image
        and every perturbed one (perturbation methods; None for the others).
    no_signal : bool, True when ``score_range`` is flat (:data:`NO_SIGNAL_TOL`): the
        model's score never changed, so ``raw`` is the method's arithmetic on a
        constant (kept as computed) and ``saliency`` is all zeros, not min-max
        normalised noise.
    diagnostics : dict, numbers a method checks itself by (JSON-serialisable):
        Integrated Gradients' ``attribution_sum``, ``output_difference``
        (f(image) - f(baseline)) and ``completeness_error`` (their relative
        difference) on its final map; empty for most methods.
    notes : list of str, what a reader of the map must know about it (shown
        with the map by the widget and the command line), e.g. that
        Integrated Gradients missed completeness by more than 5 %.
    """

    saliency: np.ndarray
    raw: np.ndarray
    target: int
    score: float
    n_forward: int
    method: str
    params: dict = field(default_factory=dict)
    done: bool = True
    mask: np.ndarray | None = None
    trace: np.ndarray | None = None
    score_range: tuple | None = None
    no_signal: bool = False
    diagnostics: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)

    _ARRAYS = ("saliency", "raw", "mask", "trace")

    def save(self, path: str | os.PathLike) -> str:
        """Write the explanation to ``path`` as .npz (arrays + JSON metadata, no pickle).

        The file is written to a temporary name first and renamed, so an
        interrupted save never leaves a half-written file behind.
        """
        path = os.fspath(path)
        if not path.endswith(".npz"):
            path += ".npz"
        meta = {
            "target": int(self.target),
            "score": float(self.score),
            "n_forward": int(self.n_forward),
            "method": str(self.method),
            "params": self.params,
            "done": bool(self.done),
            "score_range": None if self.score_range is None else [float(v) for v in self.score_range],
            "no_signal": bool(self.no_signal),
            "diagnostics": self.diagnostics,
            "notes": [str(n) for n in self.notes],
            "format": "saliency_widgets.Explanation/1",
        }
        arrays = {k: np.asarray(getattr(self, k)) for k in self._ARRAYS if getattr(self, k) is not None}
        tmp = path + ".tmp.npz"
        try:
            np.savez_compressed(tmp, metadata=np.array(json.dumps(meta, default=_json_default)), **arrays)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Explanation":
        """Read an explanation written by :meth:`save`."""
        with np.load(os.fspath(path), allow_pickle=False) as data:
            if "metadata" not in data:
                raise ValueError(f"{path} is not a saliency_widgets explanation: it has no 'metadata' entry")
            meta = json.loads(str(data["metadata"]))
            arrays = {k: data[k] for k in cls._ARRAYS if k in data}
        meta.pop("format", None)
        if meta.get("score_range") is not None:
            meta["score_range"] = tuple(meta["score_range"])
        return cls(**arrays, **meta)

    def __repr__(self) -> str:
        h, w = self.saliency.shape
        state = "final" if self.done else "partial"
        flag = ", NO SIGNAL" if self.no_signal else ""
        return (f"Explanation({self.method}, target={self.target}, score={self.score:.3f}, "
                f"{h}x{w}, n_forward={self.n_forward}, {state}{flag})")


def _json_default(obj: Any):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, tuple):
        return list(obj)
    return str(obj)
