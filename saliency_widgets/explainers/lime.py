"""LIME for images (Ribeiro et al. 2016): superpixels on/off and a weighted linear fit."""
from __future__ import annotations

import math

import numpy as np

from ..explanation import Explanation, normalize_map
from ..models.backends import Pacer
from .base import Explainer, check_occluder, check_seed
from .kernels import MaskConsts, apply_masks, run_step
from .declaration import SEED, Declaration

__all__ = ["Lime"]


class Lime(Explainer):
    """Fit ``p ~ z @ w`` on random superpixel on/off vectors z, weighted by closeness to the image.

    Parameters
    ----------
    model : Keras model, callable or ModelAdapter
    samples : int
        Perturbed images (= forward passes).
    segments : int
        Target number of SLIC superpixels (scikit-image).
    keep : float
        Probability that a superpixel stays on in a sample.
    kernel_width : float
        Width of the exponential kernel on the cosine distance to the all-on vector (LIME: 0.25).
    compactness : float
        SLIC's colour/space trade-off (it changes the superpixels, hence the map).
    occluder : "auto", "mean", "zero", "blur", number or colour
        What hidden superpixels become (:mod:`saliency_widgets.occluder`).
    seed : int, numpy Generator or None
        Default 0 (``SEED``), as every front end: the same call makes the same map; None draws afresh.

    ``raw`` is each superpixel's ridge coefficient: higher = keeping it raises
    the target probability more.

    Each partial explanation refits on the samples so far (a ridge fit over
    ``segments`` coefficients: negligible next to the forward passes).
    """

    declarations = (
        Declaration("lime", "LIME", budget="samples", budget_range=(1, 100_000), options={"segments": (2, 500)},
                    summary="Ribeiro et al. 2016: a ridge fit over SLIC superpixels switched on and off"),
    )


    def __init__(self, model, *, samples=1000, segments=50, keep=0.5, kernel_width=0.25, compactness=10.0,
                 occluder="auto", batch_size=None, preprocess=None, outputs="auto", seed=SEED, progress=False):
        self.samples = samples  # range-checked against the declaration by Explainer.__init__
        self.segments = segments  # range-checked against the declaration by Explainer.__init__
        if not 0 < float(keep) < 1:
            raise ValueError(f"keep must be in (0, 1), got {keep}")
        self.keep = float(keep)
        self.kernel_width = float(kernel_width)
        self.compactness = float(compactness)
        self.occluder = check_occluder(occluder)
        self.seed = check_seed(seed)
        super().__init__(model, batch_size=batch_size, preprocess=preprocess, outputs=outputs,
                         progress=progress)

    @property
    def budget(self) -> int:
        return self.samples

    def superpixels(self, x: np.ndarray) -> np.ndarray:
        """SLIC labels (H, W) computed on the image scaled to [0, 1]."""
        from skimage.segmentation import slic
        lo, hi = float(x.min()), float(x.max())
        img = (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)
        multichannel = img.shape[2] > 1
        labels = slic(img if multichannel else img[..., 0], n_segments=self.segments,
                      compactness=self.compactness, start_label=0,
                      channel_axis=-1 if multichannel else None, enforce_connectivity=True)
        return np.unique(labels, return_inverse=True)[1].reshape(labels.shape)

    def _explain(self, x, target, score, *, partials=True):
        rng = np.random.default_rng(self.seed)
        seg = self.superpixels(x)
        n_seg = int(seg.max()) + 1
        h, w = seg.shape
        be = self.model.backend
        c = MaskConsts(be, x, self._fill(x), target)
        seg_d = be.asarray(seg.reshape(-1), dtype=be.int_dtype)
        fn = self.model.compile_step("lime", lambda xp, scores: _lime_step(xp, scores, (h, w)), h, w)
        # Every on/off vector drawn up front (the same stream as batch by batch), uploaded once:
        # z (samples, n_seg) is all that crosses; the pixel masks are made on the device.
        z_all = (rng.random((self.samples, n_seg)) < self.keep).astype(np.float32)
        z_all[0] = 1.0  # LIME includes the unperturbed image
        z_d = be.asarray(z_all)
        pacer = Pacer(be.yield_interval_s if partials else math.inf)
        ps, pending = [], []
        done, bs = 0, self.model.batch_size
        while done < self.samples:
            n = min(bs, self.samples - done)
            pending.append(run_step(self, fn, done // bs, c.fill, c.diff, c.tidx, seg_d, z_d[done:done + n]))
            done += n
            if not pacer.due(done >= self.samples):
                continue
            ps.extend(be.to_numpy(p) for p in pending)
            pending = []
            p_all = np.concatenate(ps)
            coef = self._fit(z_all[:done], p_all)
            raw = coef[seg]
            seen = (min(score, float(p_all.min())), max(score, float(p_all.max())))  # any signal at all?
            yield Explanation(saliency=normalize_map(raw, center=False), raw=raw.astype(np.float32),
                              target=target, score=score, n_forward=done, method=self.method,
                              params={**self.params, "n_superpixels": n_seg}, done=done >= self.samples,
                              score_range=seen)

    def _fit(self, z, p, alpha=1.0):
        # Cosine distance of each sample to the all-on vector, exponential kernel.
        cos = z.sum(1) / (np.sqrt(np.maximum(z.sum(1), 1e-12)) * np.sqrt(z.shape[1]))
        d = 1.0 - cos
        wts = np.sqrt(np.exp(-(d ** 2) / self.kernel_width ** 2))
        a = np.hstack([z, np.ones((len(z), 1))]).astype(np.float64)
        aw = a * wts[:, None]
        reg = alpha * np.eye(a.shape[1])
        reg[-1, -1] = 0.0  # do not shrink the intercept
        coef = np.linalg.solve(aw.T @ aw + reg, aw.T @ (p * wts))
        return coef[:-1]


def _lime_step(xp, scores, shape):
    def step(fill, diff, tidx, seg, z):
        m = xp.reshape(xp.take(z, seg, axis=1), (-1,) + tuple(shape))  # (n, H, W) superpixels on/off
        return scores(apply_masks(fill, diff, m), tidx)
    return step
