"""Integrated Gradients (Sundararajan, Taly & Yan 2017)."""
from __future__ import annotations

import numpy as np

from ..occluder import check_occluder, resolve_occluder
from .declaration import Declaration
from .gradient import GradientExplainer

__all__ = ["IntegratedGradients"]


class IntegratedGradients(GradientExplainer):
    """The gradient integrated along the straight path from a baseline image to the image.

    ``A = (x - b) * mean_k grad f(b + a_k (x - b))`` with the midpoint rule
    ``a_k = (k + 1/2) / steps``, ``f`` the model's output for the target (the
    logit or the probability, see :class:`~.gradient.GradientExplainer`).
    Completeness: ``sum(A) = f(x) - f(b)`` up to the Riemann error, which
    shrinks as ``steps`` grows (exact for a linear model).

    ``raw`` is the attribution summed over channels (signed: negative where a
    pixel speaks against the class); ``saliency`` keeps its positive part,
    divided by its maximum.

    Parameters
    ----------
    model : a Keras 3 model, a torch.nn.Module or a JAX function
    steps : int
        Points on the path (= forward and backward passes); 20-300 in the paper.
    baseline : "zero", "mean", "blur", "auto", number or colour
        The baseline image ``b`` in the model's input space, with the values
        of ``occluder=`` (:mod:`saliency_widgets.occluder`); default 0, the
        paper's black image for raw-pixel models (Captum's default too).
    differentiate : {"output", "logit"}
        The model's output (default) or the target's logit: see :class:`~.gradient.GradientExplainer`.
    batch_size, preprocess, outputs, progress : see :class:`~.base.Explainer`.
    """

    method = "integrated-gradients"
    declarations = (Declaration("integrated-gradients", "Integrated Gradients ({steps} steps)", budget="steps",
                                budget_range=(1, 10_000), needs_gradients=True, interactive_budget=20,
                                summary="Sundararajan et al. 2017: the gradient integrated from a baseline "
                                        "image, times the difference to it"),)

    def __init__(self, model, *, steps=50, baseline="zero", differentiate="output", batch_size=None,
                 preprocess=None, outputs="auto", progress=False):
        self.steps = steps  # range-checked against the declaration by Explainer.__init__
        self.baseline = check_occluder(baseline)
        super().__init__(model, differentiate=differentiate, batch_size=batch_size, preprocess=preprocess,
                         outputs=outputs, progress=progress)

    @property
    def budget(self) -> int:
        return self.steps

    def alphas(self) -> np.ndarray:
        """The path's points ``a_k = (k + 1/2) / steps`` (midpoint rule; Captum's ``riemann_middle``)."""
        return (np.arange(self.steps) + 0.5) / self.steps

    def attributions(self, image, target=None) -> np.ndarray:
        """The per-channel attributions ``A`` (H, W, C) of ``image`` (``raw`` is their sum over channels)."""
        x, target, _ = self._start(image, target)
        for done, attr, _final in self._path_attributions(x, target, partials=False):
            pass
        return attr

    def _path_attributions(self, x, target, *, partials):
        """Yield ``(done, A estimated from the first done path points, final)``."""
        x64 = np.asarray(x, np.float64)
        base = resolve_occluder(x, self.baseline, model=self.model).astype(np.float64)
        diff, alphas = x64 - base, self.alphas()

        def make(i0, i1):
            return base + alphas[i0:i1, None, None, None] * diff

        for done, acc, final in self._gradient_sums(self.steps, make, target, partials=partials):
            yield done, diff * (acc / done), final

    def _explain(self, x, target, score, *, partials=True):
        # A partial map uses the path points done so far (the start of the path): a rough preview.
        for done, attr, final in self._path_attributions(x, target, partials=partials):
            yield self._explanation(attr.sum(axis=-1), target, score, done, final)
