"""How fast an explainer's partial maps approach its final map."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .causal import deletion, insertion

__all__ = ["convergence", "ConvergenceResult"]


@dataclass
class ConvergenceResult:
    """Per checkpoint: forward passes spent, correlation with the final (or reference) map, AUCs.

    ``correlation`` compares the ``raw`` maps (the map every metric ranks by); it measures
    stability -- how settled the run is -- not whether the map is right.  ``maps`` holds the
    display maps, ``raws`` the raw maps, one per checkpoint.
    """

    n_forward: np.ndarray
    correlation: np.ndarray
    insertion: np.ndarray | None = None
    deletion: np.ndarray | None = None
    method: str = ""
    maps: list = field(default_factory=list, repr=False)
    raws: list = field(default_factory=list, repr=False)

    def passes_to_reach(self, level: float = 0.9) -> int | None:
        """The first checkpoint whose correlation reaches ``level`` (None if never)."""
        ok = np.nonzero(self.correlation >= level)[0]
        return int(self.n_forward[ok[0]]) if len(ok) else None


def _corr(a, b) -> float:
    a, b = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
    sa, sb = a.std(), b.std()
    if sa == 0 or sb == 0:
        return 0.0
    return float(((a - a.mean()) * (b - b.mean())).mean() / (sa * sb))


def convergence(explainer, image, target=None, *, checkpoints=None, reference=None, causal: bool = False,
                step=None) -> ConvergenceResult:
    """Correlation of partial maps with the final map at each checkpoint of ``n_forward``.

    Parameters
    ----------
    explainer : an explainer with ``iter_explain``
    image : (H, W, C) array
    target : int or None
    checkpoints : increasing ints, keyword-only
        Forward-pass counts at which to read the partial map (the first partial
        with ``n_forward >= checkpoint``); default: 10 log-spaced points.
    reference : (H, W) array or None, keyword-only
        Compare with this raw map (e.g. a long run's ``raw``) instead of the final one.
    causal : bool, keyword-only
        Also compute insertion and deletion AUCs of every partial map.

    Examples
    --------
    >>> from saliency_widgets import Rise
    >>> model = lambda x: np.stack([x[:, :4].mean((1, 2, 3)), 1 - x[:, :4].mean((1, 2, 3))], 1)
    >>> res = convergence(Rise(model, masks=256, batch_size=32, seed=0), np.ones((8, 8, 1)), 0)
    >>> round(float(res.correlation[-1]), 6)
    1.0
    """
    budget = getattr(explainer, "budget", 0) or 1
    if checkpoints is None:
        checkpoints = np.unique(np.geomspace(max(1, budget / 100), budget, 10).astype(int))
    checkpoints = sorted(int(c) for c in checkpoints)
    if not checkpoints or checkpoints[0] < 1:
        raise ValueError(f"checkpoints must be forward-pass counts >= 1, got {checkpoints}")
    taken, pending = [], list(checkpoints)
    final = None
    for exp in explainer.iter_explain(image, target):
        while pending and exp.n_forward >= pending[0]:
            pending.pop(0)
            if not taken or taken[-1].n_forward != exp.n_forward:
                taken.append(exp)
        final = exp
    if not taken or taken[-1].n_forward != final.n_forward:
        taken.append(final)
    ref = final.raw if reference is None else np.asarray(reference)
    res = ConvergenceResult(n_forward=np.array([e.n_forward for e in taken]),
                            correlation=np.array([_corr(e.raw, ref) for e in taken]),
                            method=final.method, maps=[e.saliency for e in taken],
                            raws=[e.raw for e in taken])
    if causal:
        model = explainer.model
        res.insertion = np.array([insertion(model, image, e.raw, final.target, step=step).auc for e in taken])
        res.deletion = np.array([deletion(model, image, e.raw, final.target, step=step).auc for e in taken])
    return res
