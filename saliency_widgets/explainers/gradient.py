"""The vanilla gradient (Simonyan, Vedaldi & Zisserman 2014), and what every gradient explainer shares."""
from __future__ import annotations

import math

import numpy as np

from ..explanation import Explanation, normalize_map
from ..models import ModelError
from ..models.backends import Pacer
from ..models.input_gradients import check_gradients, input_gradient_fn
from .base import Explainer
from .declaration import Declaration

__all__ = ["Gradient", "GradientExplainer"]

DIFFERENTIATE = ("output", "logit")


class GradientExplainer(Explainer):
    """Base of the explainers that differentiate the model (framework code: :mod:`..models.input_gradients`).

    What is differentiated, with respect to the model's input (after
    ``preprocess``), is set by ``differentiate``:

    ``"output"`` (default)
        the model's own output for the target class, as for Grad-CAM: the
        logit when the model returns logits (``outputs="logits"``, or
        ``"auto"`` and the outputs are not probabilities), the probability
        when it ends in a softmax.  A saturated softmax (p close to 1) has
        tiny gradients.
    ``"logit"``
        the target's logit: a Keras model that ends in a softmax is
        differentiated without it (in a clone); a model that returns logits
        as it is; any other model returning probabilities raises a ValueError.

    ``outputs=`` still decides ``score`` (always a probability) and the
    default target (the top class).

    The model must have gradients: a Keras 3 model (TensorFlow or JAX
    backend), a ``torch.nn.Module`` or a JAX function; a plain callable raises
    a TypeError that says so.  ``n_forward`` counts images through the model,
    each a forward and a backward pass.
    """

    gradient_frameworks = ("keras", "torch", "jax")

    guided = False  # Guided Backpropagation's modified ReLU backward pass

    def __init__(self, model, *, differentiate="output", batch_size=None, preprocess=None, outputs="auto",
                 progress=False):
        if differentiate not in DIFFERENTIATE:
            raise ValueError(f"differentiate must be one of {DIFFERENTIATE}, got {differentiate!r}")
        self.differentiate = differentiate
        super().__init__(model, batch_size=batch_size, preprocess=preprocess, outputs=outputs, progress=progress)
        check_gradients(self.model, type(self).__name__, guided=self.guided)

    def _gradient_sums(self, n, make, target, *, partials, transform=None, weights=None, values=None):
        """Yield ``(done, sum of the gradients of images [0, done), final)`` in batches of ``batch_size``.

        ``make(i0, i1)`` builds images ``i0 .. i1 - 1`` (a NumPy batch in the model's input space).
        ``transform``: applied to each image's gradient before summing (``np.abs``...); ``weights``: (n,)
        weights of the images in the sum; ``values``: a list that receives each batch's differentiated
        outputs (B,).
        """
        grads = input_gradient_fn(self.model, guided=self.guided, logit=self.differentiate == "logit",
                                  method=type(self).__name__, values=True)
        pacer = Pacer(self.model.backend.yield_interval_s if partials else math.inf)
        acc, bs = None, self.model.batch_size
        for step, i0 in enumerate(range(0, n, bs)):
            i1 = min(i0 + bs, n)
            f, g = self._backward(grads, make(i0, i1), target, step)
            if values is not None:
                values.append(f)
            g = g if transform is None else transform(g)
            g = g.sum(axis=0) if weights is None else np.tensordot(weights[i0:i1], g, axes=1)
            acc = g if acc is None else acc + g
            final = i1 >= n
            if pacer.due(final):
                yield i1, acc, final

    def _backward(self, grads, batch, target, step):
        """``grads(batch, target)``; the framework's own error names the model and the step."""
        try:
            return grads(batch, target)
        except (ModelError, ValueError, TypeError):
            raise
        except Exception as exc:  # the framework's own error: say which model and which step
            raise ModelError(f"{self.method}: at step {step}: {self.model.name} raised "
                             f"{type(exc).__name__} in its backward pass: {exc}") from exc

    def _explanation(self, raw, target, score, done, final) -> Explanation:
        raw = np.asarray(raw, np.float64)
        return Explanation(saliency=normalize_map(raw, center=False), raw=raw.astype(np.float32), target=target,
                           score=score, n_forward=done, method=self.method, params=self.params, done=final)


def abs_max(grad) -> np.ndarray:
    """(H, W, C) -> (H, W): the largest absolute value over channels (Simonyan et al.'s per-pixel map)."""
    return np.abs(np.asarray(grad)).max(axis=-1)


class Gradient(GradientExplainer):
    """The vanilla gradient: how much each input pixel changes the class output, to first order.

    ``raw = max_c |d f_target / d x_c|`` (Simonyan et al. 2014), ``f`` the
    model's output for the target (see :class:`GradientExplainer`): one
    forward and backward pass.  ``saliency`` is ``raw`` divided by its maximum.

    Parameters
    ----------
    model : a Keras 3 model, a torch.nn.Module or a JAX function (anything with gradients)
    differentiate : {"output", "logit"}
        See :class:`GradientExplainer`.
    batch_size, preprocess, outputs, progress : see :class:`~.base.Explainer`.

    Examples
    --------
    >>> import keras, numpy as np
    >>> model = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(2)])
    >>> Gradient(model, outputs="logits").explain(np.ones((4, 4)), target=0).n_forward
    1
    """

    declarations = (Declaration("gradient", "vanilla gradient", needs_gradients=True,
                                summary="Simonyan et al. 2014: the absolute gradient of the class output, "
                                        "largest over channels"),)

    @property
    def budget(self) -> int:
        return 1

    def _explain(self, x, target, score, *, partials=True):
        for done, acc, final in self._gradient_sums(1, lambda i0, i1: x[None], target, partials=partials):
            yield self._explanation(abs_max(acc), target, score, done, final)
