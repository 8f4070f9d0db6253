"""RISE: randomized input sampling for explanation (Petsiuk, Das & Saenko, BMVC 2018)."""
from __future__ import annotations

import math

import numpy as np

from ..explanation import Explanation, normalize_map
from .base import Explainer, check_occluder, check_seed
from ..models.backends import Pacer
from .kernels import MaskConsts, apply_masks, initial_bounds, run_step, score_bounds, upsample, weighted_sum
from .masks import MaskUpsampler
from .declaration import SEED, Declaration

__all__ = ["Rise"]


class Rise(Explainer):
    """RISE with masks streamed in batches (never all N at full size in memory).

    ``raw = sum_i p_i M_i / (N * keep)`` over N random binary grids
    (each cell on with probability ``keep``), upsampled and shifted; masks
    apply as ``fill + M * (x - fill)`` (see :mod:`saliency_widgets.occluder`).

    Parameters
    ----------
    model : Keras model, callable or ModelAdapter
    masks : int
        N, the number of random masks (= forward passes).  Original: 4000-8000.
    grid : int
        Cells per side (7 or 8 in the original).
    keep : float
        Probability that a cell is on (p1 = 0.5).
    occluder : "auto", "mean", "zero", "blur", number or colour
        What a masked pixel becomes (:mod:`saliency_widgets.occluder`).
    batch_size, preprocess, outputs, progress : see :class:`Explainer`.
    seed : int, numpy Generator or None
        Default 0 (``SEED``), as every front end: the same call makes the same map; None draws afresh.

    All N small grids and crop offsets are drawn from the seed up front
    (N * s * s cells: tiny), in mask order; only the upsampling is streamed.
    So for a fixed seed the map does not depend on ``batch_size``.

    Examples
    --------
    >>> import numpy as np
    >>> model = lambda x: np.stack([x[:, :8].mean((1, 2, 3)), 1 - x[:, :8].mean((1, 2, 3))], 1)
    >>> Rise(model, masks=128, seed=0).explain(np.ones((16, 16, 3)), target=0).n_forward
    128
    """

    declarations = (
        Declaration("rise", "RISE", budget="masks", budget_range=(1, 100_000), options={"grid": (2, 16)},
                    interactive_budget=2000,
                    summary="Petsiuk et al. 2018: random masks weighted by the class score, streamed in batches"),
    )

    def __init__(self, model, *, masks=4000, grid=8, keep=0.5, occluder="auto", batch_size=None,
                 preprocess=None, outputs="auto", seed=SEED, progress=False):
        self.masks = masks  # range-checked against the declaration by Explainer.__init__
        self.grid = grid  # range-checked against the declaration by Explainer.__init__
        if not 0.0 < float(keep) <= 1.0:
            raise ValueError(f"keep must be a probability in (0, 1], got {keep}")
        self.keep = float(keep)
        self.occluder = check_occluder(occluder)
        self.seed = check_seed(seed)
        super().__init__(model, batch_size=batch_size, preprocess=preprocess, outputs=outputs,
                         progress=progress)

    @property
    def budget(self) -> int:
        return self.masks

    def draw(self, shape):
        """All N small grids (N, s, s) and crop offsets (N, 2) for an image of ``shape`` (H, W).

        Drawn in one go from the seed, so mask i is the same whatever the batch size.
        """
        rng = np.random.default_rng(self.seed)
        up = MaskUpsampler(self.grid, shape)
        grids = rng.random((self.masks, self.grid, self.grid)) < self.keep
        return up, grids, up.offsets(rng, self.masks)

    def _explain(self, x, target, score, *, partials=True):
        h, w = x.shape[:2]
        up, grids, offsets = self.draw((h, w))
        be = self.model.backend
        c = MaskConsts(be, x, self._fill(x), target, up)
        fn = self.model.compile_step("rise", lambda xp, scores: _rise_step(xp, scores, be.acc_dtype))
        # All draws go to the device once (N * s * s cells: small); batches are slices of them.
        grids_d = be.asarray(grids.astype(np.float32))
        offsets_d = be.asarray(offsets, dtype=be.int_dtype)
        acc = be.asarray(np.zeros((h, w)), dtype=be.acc_dtype)
        bounds = initial_bounds(be, score)  # the scores seen: is there any signal at all?
        pacer = Pacer(be.yield_interval_s if partials else math.inf)
        done, step, bs = 0, 0, self.model.batch_size
        nb = be.batches_per_call(bs, h * w)
        if nb > 1:  # blocks of nb full batches in one compiled call (same masks, same order, same sums)
            blk = self.model.compile_step(
                "rise-block", lambda xp, scores: _block(be.scan, _rise_step(xp, scores, be.acc_dtype)), nb)
            last = be.asarray(np.zeros((h, w), np.float32))
        while done < self.masks:
            if nb > 1 and self.masks - done >= nb * bs:
                sl = slice(done, done + nb * bs)
                g, o = grids_d[sl], offsets_d[sl]
                acc, last, bounds = run_step(self, blk, step, c.rows, c.cols, c.ar_h, c.ar_w, c.fill, c.diff,
                                             c.tidx, be.xp.reshape(g, (nb, bs) + tuple(g.shape[1:])),
                                             be.xp.reshape(o, (nb, bs, 2)), acc, last, bounds)
                done = sl.stop
                step += nb
            else:
                sl = slice(done, min(done + bs, self.masks))
                acc, last, bounds = run_step(self, fn, step, c.rows, c.cols, c.ar_h, c.ar_w, c.fill, c.diff,
                                             c.tidx, grids_d[sl], offsets_d[sl], acc, bounds)
                done = sl.stop
                step += 1
            final = done >= self.masks
            if not pacer.due(final):
                continue
            raw = be.to_numpy(acc).astype(np.float64) / (done * self.keep)
            yield Explanation(saliency=normalize_map(raw), raw=raw.astype(np.float32), target=target,
                              score=score, n_forward=done, method=self.method, params=self.params,
                              done=final, mask=be.to_numpy(last).copy(),
                              score_range=tuple(float(v) for v in be.to_numpy(bounds)))


def _block(scan, step):
    """``step`` over a block of batches (leading axis of ``grids``/``offsets``) as one device loop."""
    def block(rows, cols, ar_h, ar_w, fill, diff, tidx, grids, offsets, acc, last, bounds):
        def body(carry, xs):
            return step(rows, cols, ar_h, ar_w, fill, diff, tidx, xs[0], xs[1], carry[0], carry[2]), None
        return scan(body, (acc, last, bounds), (grids, offsets))[0]
    return block


def _rise_step(xp, scores, acc_dtype):
    """One batch: upsample the grids, mask, forward, add ``sum_i p_i M_i`` to ``acc``."""
    def step(rows, cols, ar_h, ar_w, fill, diff, tidx, grids, offsets, acc, bounds):
        m = upsample(xp, rows, cols, ar_h, ar_w, grids, offsets)
        p = scores(apply_masks(fill, diff, m), tidx)
        acc = acc + weighted_sum(xp, p, m, acc_dtype)
        return acc, m[-1], score_bounds(xp, p, bounds)
    return step
