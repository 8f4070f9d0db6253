"""The mask-update saliency method of Thakur & Fischmeister (ICPR 2020).

A mask on a coarse grid is resampled from the target's probability on the
masked image: a confident mask is kept, an unconfident one moves away.  Masks
that keep the target confident persist for many steps, so the regions that
support the class are summed more often.  See docs in method.md, section 1.
"""
from __future__ import annotations

import math

import numpy as np

from ..explanation import Explanation, normalize_map
from .base import Explainer, check_occluder, check_seed
from ..models.backends import Pacer
from .kernels import MaskConsts, apply_masks, initial_bounds, run_step, score_bounds, upsample, weighted_sum
from .masks import MaskUpsampler
from .declaration import SEED, Declaration

__all__ = ["MaskUpdate"]

_UPDATES = ("prototype", "relative")
_WEIGHTINGS = ("none", "score", "slope")

# Ranges a front end may offer (defaults: the constructor's).
_STEPS, _GRID, _CHAINS = (1, 100_000), (2, 16), (1, 256)


class MaskUpdate(Explainer):
    """Mask-update saliency (the paper's method), with parallel chains.

    Parameters
    ----------
    model : Keras model, callable or ModelAdapter
    steps : int
        Forward passes in total (all chains together).  The prototype used 5000.
    grid : int
        Cells per side of the mask grid (8).
    chains : int
        Independent chains advanced together, one batched forward pass per step
        of all chains (``steps / chains`` steps each).  ``chains=1`` is the
        prototype's single chain.  Batched passes are what makes the method
        fast (benchmarks/bench_explainers.py measures it).
    initial_keep : float
        Probability that a grid cell starts on (prototype: ``rand > 0.7``).
    learning_rate : float
        Damping of newly-on cells: they get ``1 - learning_rate * |p - p_prev|``.
    update : {"prototype", "relative"}
        ``"prototype"`` resamples with the raw probability p; ``"relative"``
        with ``min(1, p / p0)``, p0 the probability on the unmasked image, so
        the chain does not depend on how confident the model is overall.
    weighting : {"score", "slope", "none"}
        How the map is read out of the chain.  ``"none"`` sums the masks the
        updates produced (the prototype); ``"score"`` sums ``p * mask`` over
        the evaluated masks, divided by how often each pixel was kept (the
        README's "weighed using the class score"); ``"slope"`` is the per-pixel
        regression slope ``cov(p, M) / var(M)`` over the evaluated masks.
    occluder : "auto", "mean", "zero", "blur", number or colour
        What a masked pixel becomes: masks apply as ``fill + M * (x - fill)``
        (:mod:`saliency_widgets.occluder`).  ``"auto"``: the model's declared
        ``mean_color``, else 0 when ``preprocess=`` is given, else the image's
        mean colour.
    batch_size, preprocess, outputs, progress : see :class:`Explainer`.
        ``batch_size`` only chunks the forward passes: every chain advances
        once per step whatever it is, so the map does not depend on it.
    seed : int, numpy Generator or None
        Default 0 (``SEED``), as every front end: the same call makes the same map; None draws afresh.

    ``raw`` is, per weighting, the sum of the masks (``"none"``), the mean
    probability of the evaluated masks that kept the pixel (``"score"``) or
    the regression slope (``"slope"``): higher = more important in each.

    How the defaults were chosen, and on which data.  The defaults
    (``update="prototype"``, ``weighting="score"``, 32 chains) are a choice
    made on the demo model and the synthetic demo scenes
    (:func:`saliency_widgets.demo.make_scenes`), in the convergence study that
    ``python -m saliency_widgets reproduce`` runs: single-object scenes and
    multi-object scenes whose target is not the model's top-1 class
    (``results.json`` entries ``convergence_single`` / ``convergence_multi``,
    tabulated in benchmarks/RESULTS.md; notebook 05 reruns it on your model).
    Read the accuracies and their intervals there: they are the only numbers
    behind this choice, and they were measured on those scenes only (on
    ImageNet photos, method.md reports the opposite ranking of the updates).
    ``update="relative"`` did worse on the multi-object cases.  The reason is
    not a tiny p0: hiding the top-1 object frees probability mass, so
    the target's p on most masked images exceeds p0, ``min(1, p / p0)``
    saturates at 1 and the chain stops moving.

    The paper's method as the prototype ran it is ``MaskUpdate.faithful(model)``
    (``update="prototype", weighting="none", chains=1``); registry label
    "mask-update (paper)".  The default reading is a different method
    ("mask-update (32 chains, score-weighted)").

    Examples
    --------
    >>> import numpy as np
    >>> def model(x):  # the right half decides
    ...     s = x[:, :, 8:].mean(axis=(1, 2, 3))
    ...     return np.stack([s, 1 - s], axis=1)
    >>> exp = MaskUpdate(model, steps=200, occluder="zero", seed=0).explain(np.ones((16, 16, 1)), target=0)
    >>> exp.saliency.shape, exp.n_forward
    ((16, 16), 200)
    """

    declarations = (
        Declaration("mask-update", "mask-update ({chains} chains, score-weighted)",
                    {"update": "prototype", "weighting": "score"}, "steps", _STEPS, {"grid": _GRID, "chains": _CHAINS},
                    interactive_budget=2000,
                    summary="the package's default reading: independent chains, each evaluated mask weighted by the "
                            "class score (the paper's README's words), divided by how often each pixel was kept"),
        Declaration("mask-update-paper", "mask-update (paper)",
                    {"chains": 1, "update": "prototype", "weighting": "none"}, "steps", _STEPS, {"grid": _GRID},
                    summary="the paper's method as its prototype ran it: one chain, the raw class probability drives "
                            "the resampling, the masks summed unweighted (MaskUpdate.faithful)"),
        Declaration("mask-update-paper-chains", "mask-update (paper rules, {chains} chains)",
                    {"update": "prototype", "weighting": "none"}, "steps", _STEPS, {"grid": _GRID, "chains": _CHAINS},
                    interactive_budget=2000,
                    summary="the paper's update and read-out, as independent chains advanced in batched forward passes"),
        # Readings that reproduce's convergence study compares but the front ends do not offer.
        Declaration("mask-update-slope", "mask-update ({chains} chains, slope read-out)",
                    {"update": "prototype", "weighting": "slope"}, "steps", _STEPS, {"grid": _GRID, "chains": _CHAINS},
                    study=True, summary="the paper's update, read out as each pixel's regression slope of the score "
                                        "on its mask"),
        Declaration("mask-update-relative", "mask-update ({chains} chains, relative update, unweighted)",
                    {"update": "relative", "weighting": "none"}, "steps", _STEPS, {"grid": _GRID, "chains": _CHAINS},
                    study=True, summary="independent chains updated by min(1, p / p0), p0 the class probability on "
                                        "the unmasked image; the masks summed unweighted"),
        Declaration("mask-update-relative-score", "mask-update ({chains} chains, relative update, score-weighted)",
                    {"update": "relative", "weighting": "score"}, "steps", _STEPS, {"grid": _GRID, "chains": _CHAINS},
                    study=True, summary="the relative update, each mask weighted by the class score"),
        Declaration("mask-update-relative-slope", "mask-update ({chains} chains, relative update, slope read-out)",
                    {"update": "relative", "weighting": "slope"}, "steps", _STEPS, {"grid": _GRID, "chains": _CHAINS},
                    study=True, summary="the relative update, read out as each pixel's regression slope of the score "
                                        "on its mask"),
    )

    def __init__(self, model, *, steps=5000, grid=8, chains=32, initial_keep=0.3, learning_rate=0.02,
                 update="prototype", weighting="score", occluder="auto", batch_size=None, preprocess=None,
                 outputs="auto", seed=SEED, progress=False):
        self.steps = steps  # range-checked against the declaration by Explainer.__init__
        self.grid = grid  # range-checked against the declaration by Explainer.__init__
        self.chains = chains  # range-checked against the declaration by Explainer.__init__
        if not 0.0 <= float(initial_keep) <= 1.0:
            raise ValueError(f"initial_keep must be a probability in [0, 1], got {initial_keep}")
        if not 0.0 <= float(learning_rate) <= 1.0:
            raise ValueError(f"learning_rate must be in [0, 1], got {learning_rate}")
        if update not in _UPDATES:
            raise ValueError(f"update must be one of {_UPDATES}, got {update!r}")
        if weighting not in _WEIGHTINGS:
            raise ValueError(f"weighting must be one of {_WEIGHTINGS}, got {weighting!r}")
        self.initial_keep = float(initial_keep)
        self.learning_rate = float(learning_rate)
        self.update = update
        self.weighting = weighting
        self.occluder = check_occluder(occluder)
        self.seed = check_seed(seed)
        super().__init__(model, batch_size=batch_size, preprocess=preprocess, outputs=outputs,
                         progress=progress)

    @classmethod
    def faithful(cls, model, *, steps=5000, grid=8, **kwargs) -> "MaskUpdate":
        """The paper's method as its prototype ran it: one chain, raw p, the masks summed unweighted.

        The prototype multiplied the *preprocessed* input by the mask, so a
        masked pixel was 0 after preprocessing.  Here the mask applies to the
        model's input as ``fill + M * (x - fill)`` with the default
        ``occluder="auto"``, i.e. the colour the model declares as
        ``mean_color``.  For the models of
        :func:`~saliency_widgets.demo.load_imagenet_model` that is the colour
        their built-in preprocessing maps to 0 -- the ImageNet mean RGB for
        the caffe models (ResNet50, VGG16), 127.5 grey for MobileNetV2 -- and
        as the preprocessing is affine per channel, preprocess(fill + M (x -
        fill)) = M * preprocess(x): exactly the prototype's masked input.
        For a callable with ``preprocess=``, "auto" masks the preprocessed
        input by 0, as the prototype did.  For any other model the fill is
        the image's mean colour, which only approximates the prototype (it
        used the dataset mean); pass ``occluder=`` to choose.
        """
        return cls(model, steps=steps, grid=grid, chains=1, update="prototype", weighting="none", **kwargs)

    @property
    def budget(self) -> int:
        return self.steps

    def draw(self, shape):
        """Every random number of a run, drawn from the seed on the host in the prototype's order.

        Returns the upsampler, the chains' initial grids (K, s, s) and crop
        offsets (K, 2), and per step the resampling uniforms (k, s, s) and the
        next crop offsets (k, 2), k = K except maybe on the last step.  The
        draws do not depend on the model's scores, so they are made up front
        (about 1 MB for 4096 steps) and the loop runs on the device.
        """
        rng = np.random.default_rng(self.seed)
        up = MaskUpsampler(self.grid, shape)
        k_all, s = min(self.chains, self.steps), self.grid
        grids = (rng.random((k_all, s, s)) > 1.0 - self.initial_keep).astype(np.float32)
        offsets = up.offsets(rng, k_all)
        us, offs, done = [], [], 0
        while done < self.steps:
            k = min(k_all, self.steps - done)
            us.append(rng.random((k, s, s)))
            offs.append(up.offsets(rng, k))
            done += k
        return up, grids, offsets, us, offs

    def _explain(self, x, target, score, *, partials=True):
        h, w = x.shape[:2]
        up, grids0, offsets0, us, offs = self.draw((h, w))
        be = self.model.backend
        xp = be.xp
        c = MaskConsts(be, x, self._fill(x), target, up)
        k_all = len(grids0)
        p0 = be.asarray(np.float32(max(score, 1e-12)))
        # The NumPy reference compares float64 uniforms, as the prototype did; devices take float32.
        u_dtype = be.float_dtype if be.native else np.float64
        n_full = sum(len(u) == k_all for u in us)
        u_full = be.asarray(np.stack(us[:n_full]), dtype=u_dtype) if n_full else None
        off_full = be.asarray(np.stack(offs[:n_full]), dtype=be.int_dtype) if n_full else None
        fn = self.model.compile_step(
            "mask-update", lambda xp, scores: _mask_update_step(xp, scores, be.acc_dtype, self.update,
                                                                self.weighting, self.learning_rate),
            self.update, self.weighting, self.learning_rate)
        init = be.compile(("mask-upsample",), lambda r, cl, ah, aw, g, o: upsample(xp, r, cl, ah, aw, g, o))

        # State of the K chains: grids, their upsampled masks, previous q.
        grids = be.asarray(grids0)
        masks = init(c.rows, c.cols, c.ar_h, c.ar_w, grids, be.asarray(offsets0, dtype=be.int_dtype))
        prev = be.asarray(np.zeros(k_all, np.float32))
        zeros = np.zeros((h, w))
        acc = be.asarray(zeros, dtype=be.acc_dtype)    # sum of masks (none) or of p * M (score/slope)
        acc_m = be.asarray(zeros, dtype=be.acc_dtype)  # sum of evaluated masks (score/slope)
        acc_m2 = be.asarray(zeros, dtype=be.acc_dtype)  # sum of squared masks (slope)
        acc_p = be.asarray(np.float64(0.0), dtype=be.acc_dtype)  # sum of p (slope)
        bounds = initial_bounds(be, score)  # the scores seen: is there any signal at all?
        trace: list[np.ndarray] = []
        pending = []  # p[0] of the steps since the last yield, still on the device
        pacer = Pacer(be.yield_interval_s if partials else math.inf)
        done = 0
        nb = be.batches_per_call(k_all, h * w)
        if nb > 1:  # blocks of nb full steps in one compiled call: the same chain, one dispatch
            blk = self.model.compile_step(
                "mask-update-block", lambda xp, scores: _block(be.scan, _mask_update_step(
                    xp, scores, be.acc_dtype, self.update, self.weighting, self.learning_rate)),
                self.update, self.weighting, self.learning_rate, nb)
        step = 0
        while step < len(us):
            if nb > 1 and n_full - step >= nb:
                grids, masks, prev, ps, acc, acc_m, acc_m2, acc_p, bounds = run_step(
                    self, blk, step, c.rows, c.cols, c.ar_h, c.ar_w, c.fill, c.diff, c.tidx, p0,
                    grids, masks, prev, u_full[step:step + nb], off_full[step:step + nb],
                    acc, acc_m, acc_m2, acc_p, bounds)
                pending.append(ps)
                done += nb * k_all
                step += nb
                final = done >= self.steps
                if not pacer.due(final):
                    continue
                yield self._device_partial(be, xp, pending, trace, (acc, acc_m, acc_m2, acc_p, bounds), masks, done,
                                           target, score, final)
                continue
            k = len(us[step])
            if step < n_full:
                u, off = u_full[step], off_full[step]
            else:  # the last step advances fewer chains
                u, off = be.asarray(us[step], dtype=u_dtype), be.asarray(offs[step], dtype=be.int_dtype)
                grids, masks, prev = grids[:k], masks[:k], prev[:k]
            grids, masks, prev, p, acc, acc_m, acc_m2, acc_p, bounds = run_step(
                self, fn, step, c.rows, c.cols, c.ar_h, c.ar_w, c.fill, c.diff, c.tidx, p0,
                grids, masks, prev, u, off, acc, acc_m, acc_m2, acc_p, bounds)
            pending.append(p[0:1])
            done += k
            step += 1
            final = done >= self.steps
            if not pacer.due(final):
                continue
            yield self._device_partial(be, xp, pending, trace, (acc, acc_m, acc_m2, acc_p, bounds), masks, done,
                                       target, score, final)

    def _device_partial(self, be, xp, pending, trace, sums, masks, n, target, score, final):
        """Bring the running sums and the pending trace values to the host (one sync) as a partial map.

        ``pending`` (the first chain's scores since the last partial) is moved into ``trace`` and emptied.
        """
        trace.append(be.to_numpy(xp.concat(pending) if len(pending) > 1 else pending[0]))
        pending.clear()
        acc, acc_m, acc_m2, acc_p, bounds = sums
        exp = self._partial(be.to_numpy(acc), be.to_numpy(acc_m), be.to_numpy(acc_m2), float(be.to_numpy(acc_p)),
                            n, target, score, be.to_numpy(masks[0]), np.concatenate(trace), final)
        exp.score_range = tuple(float(v) for v in be.to_numpy(bounds))
        return exp

    def _partial(self, acc, acc_m, acc_m2, acc_p, n, target, score, mask, trace, final):
        if self.weighting == "none":
            raw = acc.copy()
        elif self.weighting == "score":
            raw = acc / np.maximum(acc_m, 1e-12)
        else:
            mean_m = acc_m / n
            cov = acc / n - (acc_p / n) * mean_m
            var = acc_m2 / n - mean_m ** 2
            raw = np.where(var > 1e-9, cov / np.maximum(var, 1e-9), 0.0)
        return Explanation(saliency=normalize_map(raw), raw=raw.astype(np.float32), target=target,
                           score=score, n_forward=n, method=self.method, params=self.params,
                           done=final, mask=np.array(mask), trace=np.asarray(trace, np.float32))


def _block(scan, step):
    """``step`` over a block of steps (leading axis of ``u``/``offsets``) as one device loop;
    the block's p[0] per step come back as one (nb,) array."""
    def block(rows, cols, ar_h, ar_w, fill, diff, tidx, p0, grids, masks, prev, u, offsets,
              acc, acc_m, acc_m2, acc_p, bounds):
        def body(carry, xs):
            grids, masks, prev, acc, acc_m, acc_m2, acc_p, bounds = carry
            grids, masks, prev, p, acc, acc_m, acc_m2, acc_p, bounds = step(
                rows, cols, ar_h, ar_w, fill, diff, tidx, p0, grids, masks, prev, xs[0], xs[1],
                acc, acc_m, acc_m2, acc_p, bounds)
            return (grids, masks, prev, acc, acc_m, acc_m2, acc_p, bounds), p[0]
        (grids, masks, prev, acc, acc_m, acc_m2, acc_p, bounds), ps = scan(
            body, (grids, masks, prev, acc, acc_m, acc_m2, acc_p, bounds), (u, offsets))
        return grids, masks, prev, ps, acc, acc_m, acc_m2, acc_p, bounds
    return block


def _mask_update_step(xp, scores, acc_dtype, update, weighting, lr):
    """One step of all chains: score the masks, accumulate, resample the grids, upsample the next masks."""
    def step(rows, cols, ar_h, ar_w, fill, diff, tidx, p0, grids, masks, prev, u, offsets,
             acc, acc_m, acc_m2, acc_p, bounds):
        p = scores(apply_masks(fill, diff, masks), tidx)
        bounds = score_bounds(xp, p, bounds)
        if weighting != "none":
            acc = acc + weighted_sum(xp, p, masks, acc_dtype)
            acc_m = acc_m + xp.astype(xp.sum(masks, axis=0), acc_dtype)
            if weighting == "slope":
                acc_m2 = acc_m2 + xp.astype(xp.sum(masks * masks, axis=0), acc_dtype)
                acc_p = acc_p + xp.sum(xp.astype(p, acc_dtype))
        q = p
        if update == "relative":
            q = p / p0
            q = xp.where(q > 1.0, xp.ones_like(q), q)
        d = q - prev
        # Resample: an on cell stays on w.p. q, an off cell turns on w.p. 1 - q.
        qb = q[:, None, None]
        new = xp.astype(xp.where(grids > 0, u < qb, u < 1.0 - qb), grids.dtype)
        # Regulariser: cells that grew get 1 - lr * |d| instead of 1.
        damped = (1.0 - lr * xp.abs(d))[:, None, None]
        new = xp.where(new > grids, damped * xp.ones_like(new), new)
        masks = upsample(xp, rows, cols, ar_h, ar_w, new, offsets)
        if weighting == "none":
            acc = acc + xp.astype(xp.sum(masks, axis=0), acc_dtype)
        return new, masks, q, p, acc, acc_m, acc_m2, acc_p, bounds
    return step
