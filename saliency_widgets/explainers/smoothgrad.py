"""SmoothGrad (Smilkov et al. 2017): the gradient averaged over noisy copies of the image."""
from __future__ import annotations

import numbers

import numpy as np

from .base import check_seed
from .declaration import SEED, Declaration
from .gradient import GradientExplainer, abs_max

__all__ = ["SmoothGrad"]


class SmoothGrad(GradientExplainer):
    """The mean gradient over ``samples`` copies of the image with Gaussian noise added.

    Copy ``i`` is ``x + sigma * z_i``, ``z_i`` standard normal per pixel and
    channel, ``sigma = noise * (x.max() - x.min())`` (the noise level of
    Smilkov et al., who recommend 10-20 %).  ``raw = max_c |mean_i g_i|``:
    the gradients ``g_i`` (of the model's output for the target, see
    :class:`~.gradient.GradientExplainer`) are averaged with their signs, as
    Smilkov et al.'s sensitivity maps, and the absolute value is taken last.

    Parameters
    ----------
    model : a Keras 3 model, a torch.nn.Module or a JAX function
    samples : int
        Noisy copies (= forward and backward passes); 50 as Smilkov et al.
    noise : float >= 0
        The noise's standard deviation as a fraction of the image's value range.
    seed : int, numpy Generator or None
        Default 0 (``SEED``), as every front end: the same call makes the same map; None draws afresh.
        The noise is drawn on the host from ``numpy.random.default_rng(seed)``,
        copy after copy, so the map does not depend on ``batch_size`` or on the
        device (:meth:`draw_noise` gives the same draws).
    differentiate : {"output", "logit"}
        The model's output (default) or the target's logit: see :class:`~.gradient.GradientExplainer`.
    batch_size, preprocess, outputs, progress : see :class:`~.base.Explainer`.
    """

    method = "smoothgrad"
    declarations = (Declaration("smoothgrad", "SmoothGrad ({samples} samples, noise {noise})", budget="samples",
                                budget_range=(1, 10_000), needs_gradients=True, interactive_budget=20,
                                summary="Smilkov et al. 2017: the gradient averaged over noisy copies of "
                                        "the image"),)

    def __init__(self, model, *, samples=50, noise=0.15, seed=SEED, differentiate="output", batch_size=None,
                 preprocess=None, outputs="auto", progress=False):
        self.samples = samples  # range-checked against the declaration by Explainer.__init__
        if isinstance(noise, bool) or not isinstance(noise, numbers.Real):
            raise TypeError(f"noise must be a number >= 0 (a fraction of the image's value range), got {noise!r}")
        if not (np.isfinite(noise) and noise >= 0):
            raise ValueError(f"noise must be a finite number >= 0 (a fraction of the image's value range), "
                             f"got {noise}")
        self.noise = float(noise)
        self.seed = check_seed(seed)
        super().__init__(model, differentiate=differentiate, batch_size=batch_size, preprocess=preprocess,
                         outputs=outputs, progress=progress)

    @property
    def budget(self) -> int:
        return self.samples

    def sigma(self, x) -> float:
        """The noise's standard deviation for the prepared image ``x``."""
        x = np.asarray(x, np.float64)
        return self.noise * float(x.max() - x.min())

    def draw_noise(self, x) -> np.ndarray:
        """All ``samples`` noise images (samples, H, W, C), ``sigma * z``, as :meth:`explain` draws them."""
        rng = np.random.default_rng(self.seed)
        return self.sigma(x) * rng.standard_normal((self.samples,) + np.shape(x))

    def _explain(self, x, target, score, *, partials=True):
        rng = np.random.default_rng(self.seed)
        sigma = self.sigma(x)
        x64 = np.asarray(x, np.float64)

        def make(i0, i1):  # drawn in order, batch after batch: the same stream whatever the batch size
            return x64 + sigma * rng.standard_normal((i1 - i0,) + x.shape)

        for done, acc, final in self._gradient_sums(self.samples, make, target, partials=partials):
            yield self._explanation(abs_max(acc / done), target, score, done, final)
