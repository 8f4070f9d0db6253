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
    model : a Keras 3 model or a torch.nn.Module with ReLUs it can modify
        Keras: ``Activation("relu")``, ``ReLU`` layers without a negative
        slope, and layers with ``activation="relu"`` or ``"relu6"``, in a
        clone (the model is not modified).  PyTorch: the ``torch.nn.ReLU``
        modules, by hooks removed after each call.  ReLUs applied in other
        ways (``torch.relu`` / ``F.relu`` in ``forward``, ``keras.ops.relu``
        in a custom layer) are not modified; a model with no modifiable ReLU
        at all raises a ValueError instead of silently giving the vanilla
        gradient.  A JAX function (no layers) raises a TypeError.
    differentiate : {"output", "logit"}
        The model's output (default) or the target's logit: see :class:`~.gradient.GradientExplainer`.
    batch_size, preprocess, outputs, progress : see :class:`~.base.Explainer`.
    """

    gradient_frameworks = ("keras", "torch")  # the guided rule replaces ReLU layers: a JAX function has none

    method = "guided-backprop"
    guided = True
    declarations = (Declaration("guided-backprop", "Guided Backpropagation", needs_gradients=True,
                                summary="Springenberg et al. 2015: the gradient with ReLUs passing back only "
                                        "positive gradients; barely changed by model randomisation in "
                                        "Adebayo et al. 2018"),)
