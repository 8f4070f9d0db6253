"""Guided Backpropagation (Springenberg et al. 2015)."""
from __future__ import annotations

from .declaration import Declaration
from .gradient import Gradient

__all__ = ["GuidedBackprop"]


class GuidedBackprop(Gradient):
    """The gradient with every ReLU's backward pass replaced by the guided rule.

    A ReLU passes back only positive gradients, and only where its input was
    positive: ``grad_in = grad_out * (x > 0) * (grad_out > 0)``.  ``raw`` is
    ``max_c |g_c|`` of that guided gradient ``g``: :class:`~.gradient.Gradient` with the guided rule,
    one forward and backward pass.

    The maps look sharp, but they are largely independent of the top layers'
    weights: Adebayo et al. (2018) showed they barely change when those
    layers are randomised (the method partly reconstructs the image rather
    than explaining the class).  It is here as that classic case to compare
    against: on the demo model it fails :func:`saliency_widgets.sanity.model_randomisation`
    when the top block is re-initialised (its maps under two unrelated random
    decision layers agree with each other), while the vanilla gradient
    changes more (notebook 07 shows both, and why).

    Parameters
    ----------
    model : a Keras 3 model or a torch.nn.Module with ReLUs
        The guided rule replaces the backward pass of every ReLU-type
        activation; the user's model is never modified, and nothing is left on
        it that another thread (another widget) could see.  Keras: in a clone,
        ``Activation("relu")`` / ``Activation("relu6")`` layers, ``ReLU``
        layers without a negative slope (``max_value=6`` too) and layers with
        ``activation="relu"`` or ``"relu6"`` (Keras's, ``keras.ops``' or
        ``tf.nn``'s functions).  PyTorch: every call of ``nn.ReLU``,
        ``nn.ReLU6``, ``nn.Hardtanh(0, max)``, ``F.relu``, ``F.relu6``,
        ``torch.relu``, ``Tensor.relu`` or ``clamp(min=0)`` made while the
        explaining thread runs the forward pass (a thread-local
        ``TorchFunctionMode``; no hooks).  A ReLU6 passes gradients only for
        ``0 < x < 6``.  Other activations (SiLU, GELU, a leaky ReLU,
        ``keras.ops.relu`` inside a custom layer...) keep their ordinary
        gradient; a model in which no ReLU-type activation runs raises a
        ValueError naming the activations it found instead of silently giving
        the vanilla gradient (a Keras model when the explainer is built, a
        torch module at its first forward pass).  A JAX function (no layers)
        raises a TypeError.
    differentiate : {"output", "logit"}
        The model's output (default) or the target's logit: see :class:`~.gradient.GradientExplainer`.
    batch_size, preprocess, outputs, progress : see :class:`~.base.Explainer`.
    """

    gradient_frameworks = ("keras", "torch")  # the guided rule replaces ReLU layers: a JAX function has none

    guided = True
    declarations = (Declaration("guided-backprop", "Guided Backpropagation", needs_gradients=True,
                                summary="Springenberg et al. 2015: the gradient with ReLUs passing back only "
                                        "positive gradients; barely changed by model randomisation in "
                                        "Adebayo et al. 2018"),)
