"""Toy models in PyTorch and JAX, importable by path (``--model tests.toy_frameworks:make_torch``).

Both compute the same thing as :func:`channel_probabilities` (NumPy): class c's logit is
``SCALE`` times the mean of channel c (c < 3) over the image's left half; classes 3..K-1 have
logit 0.  So the top class of an image is the channel that dominates its left half, and only
the left half matters.  torch and jax are imported inside the factories, so importing this
module needs neither.
"""
import numpy as np

SCALE = 4.0 / 255.0  # a pure red left half: logit 4 (p ~ 0.9 of 3 classes), not a saturated softmax

NOT_A_MODEL = 42  # for the "none of the accepted kinds" error


def channel_probabilities(batch, n_classes=3):
    """(B, H, W, 3) -> (B, n_classes) softmax of the left-half channel means (the reference)."""
    batch = np.asarray(batch, np.float64)
    w = batch.shape[2]
    z = np.zeros((len(batch), n_classes))
    z[:, :3] = SCALE * batch[:, :, : w // 2, :].mean(axis=(1, 2))
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def make_torch(n_classes=3):
    """A ``torch.nn.Module`` taking (B, 3, H, W) and returning probabilities (B, n_classes)."""
    import torch

    class LeftHalfChannels(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = torch.nn.Parameter(torch.tensor(SCALE), requires_grad=False)  # gives it a device

        def forward(self, x):
            w = x.shape[3]
            means = x[:, :, :, : w // 2].mean(dim=(2, 3)) * self.scale
            pad = torch.zeros(x.shape[0], n_classes - 3, dtype=means.dtype, device=means.device)
            return torch.softmax(torch.cat([means, pad], dim=1), dim=1)

    return LeftHalfChannels()


def make_torch_six():
    """The same module with 6 classes (the demo dataset's class count)."""
    return make_torch(6)


def make_jax():
    """A ``jax.jit``-wrapped function of (B, H, W, 3) arrays returning probabilities (B, 3)."""
    import jax
    import jax.numpy as jnp

    def left_half_channels(x):
        w = x.shape[2]
        return jax.nn.softmax(SCALE * x[:, :, : w // 2, :].mean(axis=(1, 2)), axis=-1)

    return jax.jit(left_half_channels)


class NeedsArguments:
    """A class the loader cannot build without arguments."""

    def __init__(self, depth):
        self.depth = depth


def make_torch_any_size():
    """The same module, declaring what it takes (``saliency_widgets.models.declare``): any image size, RGB in
    [0, 255].  For the toy frameworks' tests, where each image is explained at its own size."""
    from saliency_widgets.models import declare
    return declare(make_torch(), input_size="any", pixel_range=(0, 255))


def make_jax_any_size():
    """The JAX function, declaring any size and RGB in [0, 255] (each image explained at its own size)."""
    from saliency_widgets.models import declare
    return declare(make_jax(), input_size="any", pixel_range=(0, 255))


def make_torch_declared():
    """A module that takes (B, 3, 16, 16) RGB in [0, 255] and returns logits, declaring all of it."""
    import torch

    from saliency_widgets.models import declare

    class LeftHalfLogits(torch.nn.Module):
        def forward(self, x):
            w = x.shape[3]
            return x[:, :, :, : w // 2].mean(dim=(2, 3)) * SCALE

    return declare(LeftHalfLogits(), input_size=(16, 16), pixel_range=(0, 255), mean_color=127,
                   outputs="logits", class_names=["red", "green", "blue"])


def make_torch_size_attribute():
    """A module that says its input size the older way, with the attribute ``saliency_widgets_input_shape``."""
    net = make_torch()
    net.saliency_widgets_input_shape = (24, 32, 3)
    return net
