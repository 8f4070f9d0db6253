"""RISE: randomized input sampling for explanation (Petsiuk, Das & Saenko, BMVC 2018)."""
from __future__ import annotations

import numpy as np

from ..explanation import Explanation, normalize_map
from .base import Explainer, check_positive_int, seed_param
from .masks import MaskUpsampler

__all__ = ["Rise"]


class Rise(Explainer):
    """RISE with masks streamed in batches (never all N at full size in memory).

    ``saliency = sum_i p_i M_i / (N * keep)`` over N random binary grids
    (each cell on with probability ``keep``), upsampled and shifted.

    Parameters
    ----------
    model : Keras model, callable or ModelAdapter
    masks : int
        N, the number of random masks (= forward passes).  Original: 4000-8000.
    grid : int
        Cells per side (7 or 8 in the original).
    keep : float
        Probability that a cell is on (p1 = 0.5).
    batch_size, preprocess, outputs, progress : see :class:`Explainer`.
    seed : int, numpy Generator or None

    Examples
    --------
    >>> import numpy as np
    >>> model = lambda x: np.stack([x[:, :8].mean((1, 2, 3)), 1 - x[:, :8].mean((1, 2, 3))], 1)
    >>> Rise(model, masks=128, seed=0).explain(np.ones((16, 16, 3)), target=0).n_forward
    128
    """

    method = "rise"

    def __init__(self, model, *, masks=4000, grid=8, keep=0.5, batch_size=None, preprocess=None,
                 outputs="auto", seed=None, progress=False):
        self.masks = check_positive_int("masks", masks)
        self.grid = check_positive_int("grid", grid)
        if not 0.0 < float(keep) <= 1.0:
            raise ValueError(f"keep must be a probability in (0, 1], got {keep}")
        self.keep = float(keep)
        self.seed = seed
        super().__init__(model, batch_size=batch_size, preprocess=preprocess, outputs=outputs,
                         progress=progress)

    @property
    def params(self) -> dict:
        return {"masks": self.masks, "grid": self.grid, "keep": self.keep,
                "seed": seed_param(self.seed)}

    @property
    def budget(self) -> int:
        return self.masks

    def _explain(self, x, target, score):
        rng = np.random.default_rng(self.seed)
        h, w = x.shape[:2]
        up = MaskUpsampler(self.grid, (h, w))
        acc = np.zeros((h, w), np.float64)
        done, step, bs = 0, 0, self.model.batch_size
        while done < self.masks:
            n = min(bs, self.masks - done)
            grids = (rng.random((n, self.grid, self.grid)) < self.keep).astype(np.float32)
            m = up(grids, rng)
            p = self._forward(x[None] * m[..., None], target, step)
            acc += np.tensordot(p.astype(np.float64), m, axes=1)
            done += n
            step += 1
            raw = acc / (done * self.keep)
            yield Explanation(saliency=normalize_map(raw), raw=raw.astype(np.float32), target=target,
                              score=score, n_forward=done, method=self.method, params=self.params,
                              done=done >= self.masks, mask=m[-1].copy())
