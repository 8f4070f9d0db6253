"""Occlusion (Zeiler & Fergus 2014): slide a grey-out window, record the drop in probability."""
from __future__ import annotations

import math

import numpy as np

from ..explanation import Explanation, normalize_map
from ..models.backends import Pacer
from .base import Explainer, check_occluder, check_positive_int
from .kernels import MaskConsts, initial_bounds, run_step, score_bounds, weighted_sum
from .declaration import Declaration

__all__ = ["Occlusion"]


class Occlusion(Explainer):
    """Saliency = mean drop of the target probability over the windows covering each pixel.

    Parameters
    ----------
    model : Keras model, callable or ModelAdapter
    window : int or None
        Side of the square occluder in pixels (default: 1/6 of the image's shorter side).
    stride : int or None
        Step between windows (default: window // 2).
    occluder : "auto", "mean", "zero", "blur", number or colour
        What occluded pixels become (:mod:`saliency_widgets.occluder`; "auto":
        the model's declared mean colour, else the image's mean colour).

    ``raw`` is the mean drop ``p(x) - p(occluded)`` of the windows covering a
    pixel: higher = hiding it costs the target more.

    Examples
    --------
    >>> import numpy as np
    >>> model = lambda x: np.stack([x[:, :4, :4].mean((1, 2, 3)), 1 - x[:, :4, :4].mean((1, 2, 3))], 1)
    >>> exp = Occlusion(model, window=4, stride=2, occluder="zero").explain(np.ones((12, 12, 1)), 0)
    >>> float(exp.saliency[0, 0])
    1.0
    """

    declarations = (
        Declaration("occlusion", "occlusion", summary="Zeiler & Fergus 2014: a sliding grey-out window"),
    )


    def __init__(self, model, *, window=None, stride=None, occluder="auto", batch_size=None, preprocess=None,
                 outputs="auto", progress=False):
        self.window = None if window is None else check_positive_int("window", window)
        self.stride = None if stride is None else check_positive_int("stride", stride)
        self.occluder = check_occluder(occluder)
        self._budget = 0
        super().__init__(model, batch_size=batch_size, preprocess=preprocess, outputs=outputs,
                         progress=progress)

    @property
    def budget(self) -> int:
        return self._budget

    def _start(self, image, target):
        # The budget (one pass per window position) is known once the image is: set it before the first
        # batch, so a progress bar or the widget sees it from the start.
        x, target, score = super()._start(image, target)
        self._budget = len(self._positions(*x.shape[:2])[1])
        return x, target, score

    def _positions(self, h, w):
        win = self.window or max(2, min(h, w) // 6)
        stride = self.stride or max(1, win // 2)
        if win > min(h, w):
            raise ValueError(f"window {win} is larger than the {h}x{w} image")
        ys = list(range(0, h - win + 1, stride))
        xs = list(range(0, w - win + 1, stride))
        if ys[-1] != h - win:
            ys.append(h - win)  # cover the last rows and columns too
        if xs[-1] != w - win:
            xs.append(w - win)
        return win, [(y, x) for y in ys for x in xs]

    def _explain(self, x, target, score, *, partials=True):
        h, w = x.shape[:2]
        win, pos = self._positions(h, w)
        self._budget = len(pos)
        be = self.model.backend
        c = MaskConsts(be, x, self._fill(x), target)
        fn = self.model.compile_step("occlusion", lambda xp, scores: _occlusion_step(xp, scores, be.acc_dtype, win),
                                     win)
        corners = np.asarray(pos, np.int64).reshape(-1, 2)
        corners_d = be.asarray(corners, dtype=be.int_dtype)
        score_d = be.asarray(np.float32(score))
        drop = be.asarray(np.zeros((h, w)), dtype=be.acc_dtype)
        count = be.asarray(np.zeros((h, w)), dtype=be.acc_dtype)
        bounds = initial_bounds(be, score)  # the scores seen: is there any signal at all?
        pacer = Pacer(be.yield_interval_s if partials else math.inf)
        bs = self.model.batch_size
        for b0 in range(0, len(pos), bs):
            n = min(b0 + bs, len(pos))
            drop, count, bounds = run_step(self, fn, b0 // bs, c.x, c.fill, c.ar_h, c.ar_w, c.tidx, score_d,
                                           corners_d[b0:n], drop, count, bounds)
            if not pacer.due(n >= len(pos)):
                continue
            d, k = be.to_numpy(drop), be.to_numpy(count)
            raw = np.where(k > 0, d / np.maximum(k, 1), 0.0)
            yield Explanation(saliency=normalize_map(raw, center=False), raw=raw.astype(np.float32),
                              target=target, score=score, n_forward=n, method=self.method,
                              params={**self.params, "window": win}, done=n >= len(pos),
                              score_range=tuple(float(v) for v in be.to_numpy(bounds)))


def _occlusion_step(xp, scores, acc_dtype, win):
    """One batch of windows (n, 2) top-left corners: occlude, forward, add the drops to the pixels covered."""
    def step(x, fill, ar_h, ar_w, tidx, score, corners, drop, count, bounds):
        y0, x0 = corners[:, 0:1], corners[:, 1:2]
        ry = xp.astype((ar_h[None, :] >= y0) & (ar_h[None, :] < y0 + win), x.dtype)  # (n, H)
        rx = xp.astype((ar_w[None, :] >= x0) & (ar_w[None, :] < x0 + win), x.dtype)  # (n, W)
        occ = ry[:, :, None] * rx[:, None, :]  # (n, H, W): 1 inside the window
        p = scores(xp.where(occ[..., None] > 0, fill[None], x[None]), tidx)
        drop = drop + weighted_sum(xp, score - p, occ, acc_dtype)
        count = count + xp.astype(xp.sum(occ, axis=0), acc_dtype)
        return drop, count, score_bounds(xp, p, bounds)
    return step
