"""Integrated Gradients (Sundararajan, Taly & Yan 2017), with its completeness check on every map."""
from __future__ import annotations

import numpy as np

from ..occluder import check_occluder, resolve_occluder
from .declaration import Declaration
from .gradient import GradientExplainer

__all__ = ["IntegratedGradients", "RULES", "COMPLETENESS_TOL", "completeness"]

#: quadrature rules of the path integral (Captum's names: riemann_middle, riemann_trapezoid, gausslegendre)
RULES = ("midpoint", "trapezoid", "gauss-legendre")
#: Sundararajan et al. check completeness to within 5 % and raise the steps until it holds
COMPLETENESS_TOL = 0.05


def quadrature(rule: str, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """``(alphas, weights)`` of ``rule`` with ``steps`` points on [0, 1]; the weights sum to 1."""
    if rule == "midpoint":
        return (np.arange(steps) + 0.5) / steps, np.full(steps, 1.0 / steps)
    if rule == "trapezoid":
        w = np.full(steps, 1.0 / (steps - 1))
        w[[0, -1]] /= 2
        return np.linspace(0.0, 1.0, steps), w
    nodes, w = np.polynomial.legendre.leggauss(steps)
    return (nodes + 1) / 2, w / 2


def completeness(attribution_sum: float, f_image: float, f_baseline: float) -> dict:
    """Integrated Gradients' completeness check: ``sum(A)`` against ``f(image) - f(baseline)``.

    ``completeness_error = |sum(A) - (f(x) - f(b))| / |f(x) - f(b)|`` (inf when the difference is 0 and the
    sum is not; 0 when both are).
    """
    s, d = float(attribution_sum), float(f_image) - float(f_baseline)
    err = abs(s - d) / abs(d) if d != 0 else (0.0 if s == 0 else float("inf"))
    return {"attribution_sum": s, "output_difference": d, "f_image": float(f_image),
            "f_baseline": float(f_baseline), "completeness_error": err}


class IntegratedGradients(GradientExplainer):
    """The gradient integrated along the straight path from a baseline image to the image.

    ``A = (x - b) * sum_k w_k grad f(b + a_k (x - b))``, ``f`` the model's output
    for the target (the logit or the probability, see
    :class:`~.gradient.GradientExplainer`), with the quadrature ``rule``'s
    points ``a_k`` and weights ``w_k``:

    ``"gauss-legendre"`` (default)
        the Gauss-Legendre nodes and weights on [0, 1] (Captum's default,
        ``method="gausslegendre"``).
    ``"midpoint"``
        ``a_k = (k + 1/2) / steps``, equal weights (Captum's ``riemann_middle``).
    ``"trapezoid"``
        ``a_k = k / (steps - 1)``, weights ``1 / (steps - 1)`` halved at both
        ends (Captum's ``riemann_trapezoid`` weighs its points by ``1 / steps``,
        so its weights sum to ``(steps - 1) / steps``, not 1).

    Completeness: ``sum(A) = f(x) - f(b)`` up to the quadrature error, which
    shrinks as ``steps`` grows (exact for a linear model).  Every final
    explanation reports it: ``Explanation.diagnostics`` holds the sum, the
    difference and ``completeness_error`` (their relative difference), and
    ``Explanation.notes`` says so when the error is above 5 %
    (:data:`COMPLETENESS_TOL`, the paper's check).  ``f(x)`` and ``f(b)`` cost
    two more forward and backward passes (counted in ``n_forward``), except
    with the trapezoid rule, whose path starts and ends there.

    The defaults were chosen by that error on the bundled photos with
    EfficientNet-Lite0 (``benchmarks/bench_gradients.py``, its section of
    ``benchmarks/RESULTS.md``): Gauss-Legendre had the lowest mean error at
    every step count measured (20, 50, 128), and at 128 steps the most
    photos were under 5 %.  A ReLU6 network's path from a black image is
    rough, and the error is not monotone in the steps: on one photo no step
    count measured stays under 5 %, and that map's note says so.

    ``raw`` is the attribution summed over channels (signed: negative where a
    pixel speaks against the class); ``saliency`` keeps its positive part,
    divided by its maximum.

    Parameters
    ----------
    model : a Keras 3 model, a torch.nn.Module or a JAX function
    steps : int
        Points on the path (= forward and backward passes, plus two for the
        check); 20-300 in the paper.
    baseline : "zero", "mean", "blur", "auto", number or colour
        The baseline image ``b`` in the model's input space, with the values
        of ``occluder=`` (:mod:`saliency_widgets.occluder`); default 0, the
        paper's black image for raw-pixel models (Captum's default too).
    rule : {"midpoint", "trapezoid", "gauss-legendre"}, keyword-only
        The quadrature rule (above); the label names it.
    differentiate : {"output", "logit"}
        The model's output (default) or the target's logit: see :class:`~.gradient.GradientExplainer`.
    batch_size, preprocess, outputs, progress : see :class:`~.base.Explainer`.
    """

    declarations = (Declaration("integrated-gradients", "Integrated Gradients ({steps} steps, {rule} rule)",
                                budget="steps", budget_range=(1, 10_000), needs_gradients=True,
                                summary="Sundararajan et al. 2017: the gradient integrated from a baseline "
                                        "image, times the difference to it; reports its completeness error"),)

    def __init__(self, model, *, steps=128, baseline="zero", rule="gauss-legendre", differentiate="output",
                 batch_size=None, preprocess=None, outputs="auto", progress=False):
        self.steps = steps  # range-checked against the declaration by Explainer.__init__
        self.baseline = check_occluder(baseline)
        if not isinstance(rule, str) or rule not in RULES:
            raise ValueError(f"rule must be one of {RULES} (the path integral's quadrature), got {rule!r}")
        self.rule = rule
        super().__init__(model, differentiate=differentiate, batch_size=batch_size, preprocess=preprocess,
                         outputs=outputs, progress=progress)
        if rule == "trapezoid" and self.steps < 2:
            raise ValueError(f"the trapezoid rule needs steps >= 2 (both ends of the path), got steps={steps}")

    @property
    def budget(self) -> int:
        return self.steps + self._end_passes

    @property
    def _end_passes(self) -> int:
        """Passes spent on f(image) and f(baseline) besides the path (the trapezoid's path has them)."""
        return 0 if self.rule == "trapezoid" else 2

    def alphas(self) -> np.ndarray:
        """The path's points ``a_k`` of the rule (midpoint: ``(k + 1/2) / steps``)."""
        return quadrature(self.rule, self.steps)[0]

    def weights(self) -> np.ndarray:
        """The rule's weights ``w_k`` of the path's points (they sum to 1)."""
        return quadrature(self.rule, self.steps)[1]

    def attributions(self, image, target=None) -> np.ndarray:
        """The per-channel attributions ``A`` (H, W, C) of ``image`` (``raw`` is their sum over channels)."""
        x, target, _ = self._start(image, target)
        for _done, attr, _final, _check in self._path_attributions(x, target, partials=False):
            pass
        return attr

    def _path_attributions(self, x, target, *, partials):
        """Yield ``(done, A from the first path points done, final, completeness dict on the final one)``."""
        x64 = np.asarray(x, np.float64)
        base = resolve_occluder(x, self.baseline, model=self.model).astype(np.float64)
        diff, (alphas, weights) = x64 - base, quadrature(self.rule, self.steps)
        ends = self._end_values(base, x64, target)
        values = []

        def make(i0, i1):
            return base + alphas[i0:i1, None, None, None] * diff

        for done, acc, final in self._gradient_sums(self.steps, make, target, partials=partials, weights=weights,
                                                    values=values):
            attr = diff * (acc / weights[:done].sum())  # a partial map: the start of the path, a rough preview
            check = None
            if final:
                fb, fx = ends if ends is not None else (values[0][0], values[-1][-1])
                check = completeness(attr.sum(), fx, fb)
            yield done + self._end_passes, attr, final, check

    def _end_values(self, base, x64, target):
        """``(f(baseline), f(image))`` from one batch of both (None for the trapezoid: its path has them)."""
        if not self._end_passes:
            return None
        ends, vals = np.stack([base, x64]), []
        for _ in self._gradient_sums(2, lambda i0, i1: ends[i0:i1], target, partials=False, values=vals):
            pass
        f = np.concatenate(vals)
        return float(f[0]), float(f[1])

    def _explain(self, x, target, score, *, partials=True):
        for done, attr, final, check in self._path_attributions(x, target, partials=partials):
            exp = self._explanation(attr.sum(axis=-1), target, score, done, final)
            if check is not None:
                exp.diagnostics = check
                exp.notes = completeness_notes(check, self.steps, self.rule)
            yield exp


def completeness_notes(check: dict, steps: int, rule: str) -> list[str]:
    """A note when completeness is missed by more than :data:`COMPLETENESS_TOL` (else none)."""
    err = check["completeness_error"]
    if err <= COMPLETENESS_TOL:
        return []
    return [f"Integrated Gradients misses completeness by {err:.1%} at {steps} steps ({rule} rule): its "
            f"attributions sum to {check['attribution_sum']:.4g}, but f(image) - f(baseline) = "
            f"{check['output_difference']:.4g} (Sundararajan et al. accept 5%); more steps bring it closer"]
