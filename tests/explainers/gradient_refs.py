"""Independent references for the gradient explainers: NumPy MLPs, finite differences, toy models.

Importable without any framework (Keras and torch are imported inside the factories), so the
Keras-JAX subprocess test can use it too.
"""
from __future__ import annotations

import numpy as np

SHAPE = (6, 6, 2)


def mlp_weights(seed: int, sizes=(16, 12, 3)):
    """Weights of Flatten -> Dense(16) relu -> Dense(12) relu -> Dense(3) on SHAPE images (float64)."""
    rng = np.random.default_rng(seed)
    dims = (int(np.prod(SHAPE)),) + tuple(sizes)
    return [(rng.normal(0, 1 / np.sqrt(a), (a, b)), rng.normal(0, 0.1, b)) for a, b in zip(dims[:-1], dims[1:])]


def mlp_gradient(weights, x, target, *, guided=False, cap=None):
    """d logit[target] / d x of the MLP (NumPy, by hand): ReLU backward plain or guided.

    ``cap=6``: ReLU6 units, min(max(z, 0), 6), whose gradient passes only where 0 < z < 6.
    """
    h, pre = np.asarray(x, np.float64).reshape(-1), []
    for w, b in weights[:-1]:
        z = h @ w + b
        pre.append(z)
        h = np.clip(z, 0, cap)
    g = weights[-1][0][:, target]
    for (w, _), z in zip(reversed(weights[:-1]), reversed(pre)):
        g = g * ((z > 0) & (z < (np.inf if cap is None else cap)))
        if guided:
            g = np.maximum(g, 0)
        g = w @ g
    return g.reshape(SHAPE)


def keras_mlp(weights, *, dtype="float64", softmax=False):
    """The MLP in Keras: the first ReLU as activation="relu", the second as a ReLU layer (then a softmax)."""
    import keras

    (w1, b1), (w2, b2), (w3, b3) = weights
    model = keras.Sequential([keras.Input(SHAPE, dtype=dtype), keras.layers.Flatten(dtype=dtype),
                              keras.layers.Dense(w1.shape[1], activation="relu", dtype=dtype),
                              keras.layers.Dense(w2.shape[1], dtype=dtype), keras.layers.ReLU(dtype=dtype),
                              keras.layers.Dense(w3.shape[1], activation="softmax" if softmax else None,
                                                 dtype=dtype)])
    model.set_weights([w1, b1, w2, b2, w3, b3])
    return model


def keras_smooth_net(seed: int, *, softmax, dtype="float64", conv=True):
    """A small conv net with tanh units (no kinks: finite differences are exact to O(h^2)).

    ``softmax``: False (logits), True (an ``Activation("softmax")``) or ``"layer"`` (a ``Softmax`` layer);
    the weights depend on ``seed`` only.  ``conv=False``: a Dense tanh layer instead of the convolution
    (Keras on JAX runs float64 convolutions at about float32 precision on the CPU, too coarse for
    finite differences).
    """
    import keras

    hidden = ([keras.layers.Conv2D(4, 3, padding="same", activation="tanh", dtype=dtype),
               keras.layers.Flatten(dtype=dtype)] if conv else
              [keras.layers.Flatten(dtype=dtype), keras.layers.Dense(16, activation="tanh", dtype=dtype)])
    model = keras.Sequential([keras.Input(SHAPE, dtype=dtype)] + hidden + [keras.layers.Dense(3, dtype=dtype)]
                             + ([] if not softmax else [keras.layers.Softmax(dtype=dtype)] if softmax == "layer"
                                else [keras.layers.Activation("softmax", dtype=dtype)]))
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, 0.5, w.shape) for w in model.get_weights()])
    return model


def finite_difference(f, x, target, *, h=1e-5):
    """Central differences of ``f(batch)[:, target]`` at ``x`` (H, W, C), every coordinate in one batch."""
    x = np.asarray(x, np.float64)
    eye = np.eye(x.size).reshape((x.size,) + x.shape) * h
    out = np.asarray(f(np.concatenate([x + eye, x - eye])), np.float64)[:, target]
    return ((out[: x.size] - out[x.size:]) / (2 * h)).reshape(x.shape)


def image(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1, 1, SHAPE)


def torch_cnn(*, seed: int, functional: bool = False, registered: bool | None = None,
              in_channels: int = SHAPE[2], width: int = 8, depth: int = 2, classes: int = 3):
    """A ReLU CNN (B, C, H, W) -> (B, classes): ``depth`` 3x3 convs, global mean, a linear layer.

    Weights are drawn from a seeded ``torch.Generator`` (torch's global RNG is not touched).
    ``functional=True``: the same net calling ``torch.relu`` (no ``nn.ReLU`` module to hook);
    ``registered``: whether its ``nn.ReLU`` modules exist all the same (default: when not functional).
    """
    import torch

    registered = not functional if registered is None else registered

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            chans = (in_channels,) + (width,) * depth
            self.convs = torch.nn.ModuleList(torch.nn.Conv2d(a, b, 3, padding=1) for a, b in zip(chans, chans[1:]))
            self.relus = torch.nn.ModuleList(torch.nn.ReLU() for _ in range(depth)) if registered else None
            self.head = torch.nn.Linear(width, classes)

        def forward(self, x):
            for i, conv in enumerate(self.convs):
                x = torch.relu(conv(x)) if functional else self.relus[i](conv(x))
            return self.head(x.mean(dim=(2, 3)))

    net = Net()
    reinit(net, seed)
    from saliency_widgets.models import declare
    return declare(net, input_size="any", pixel_range=None)  # images of any size, values as they are


def reinit(module, seed: int, *, names=None):
    """Redraw the parameters of ``module`` (those whose name starts with one of ``names``; all when None)."""
    import torch

    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            if names is not None and not name.startswith(tuple(names)):
                continue
            scale = 0.1 if p.ndim == 1 else 1.0 / np.sqrt(p[0].numel())
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype) * scale)
    return module


def dense_tanh_gradient(model, x, target, *, softmax=False):
    """By hand, the gradient of ``keras_smooth_net(..., conv=False)``: its logit, or its probability."""
    w1, b1, w2, b2 = [np.asarray(w, np.float64) for w in model.get_weights()]
    h = np.tanh(np.asarray(x, np.float64).reshape(-1) @ w1 + b1)
    g = w1 @ (w2 * (1 - h ** 2)[:, None])  # (inputs, classes): every logit's gradient
    if not softmax:
        return g[:, target].reshape(SHAPE)
    z = h @ w2 + b2
    p = np.exp(z - z.max())
    p /= p.sum()
    return (p[target] * (g[:, target] - g @ p)).reshape(SHAPE)


#: ways a torch module writes a ReLU6 (``torch_mlp``'s ``acts``) and a ReLU
TORCH_RELU6 = ("ReLU6", "ReLU6-inplace", "F.relu6", "hardtanh", "clamp", "Tensor.clamp_")
TORCH_RELU = ("ReLU", "F.relu", "torch.relu", "Tensor.relu_", "clamp_min")


def torch_activation(kind: str):
    """A torch module (or None) and a function ``f(x, module)`` that applies activation ``kind``."""
    import torch
    import torch.nn.functional as F

    modules = {"ReLU6": torch.nn.ReLU6(), "ReLU6-inplace": torch.nn.ReLU6(inplace=True), "ReLU": torch.nn.ReLU(),
               "hardtanh": torch.nn.Hardtanh(0.0, 6.0)}
    calls = {"F.relu6": lambda x: F.relu6(x), "clamp": lambda x: torch.clamp(x, 0, 6),
             "Tensor.clamp_": lambda x: x.clamp_(min=0, max=6), "F.relu": lambda x: F.relu(x),
             "torch.relu": lambda x: torch.relu(x), "Tensor.relu_": lambda x: x.relu_(),
             "clamp_min": lambda x: torch.clamp_min(x, 0)}
    if kind in modules:
        return modules[kind], lambda x, m: m(x)
    return None, lambda x, m: calls[kind](x)


def torch_mlp(weights, acts, *, dtype=None):
    """The MLP of ``mlp_weights`` as a torch module (float64) taking (B, C, H, W) images of SHAPE.

    ``acts``: the activation of each hidden layer, as written in ``torch_activation`` (e.g. ``("ReLU6",
    "clamp")``: an ``nn.ReLU6`` module, then ``torch.clamp(x, 0, 6)`` in ``forward``).
    """
    import torch

    class MLP(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = torch.nn.ModuleList(torch.nn.Linear(*w.shape) for w, _ in weights)
            made = [torch_activation(a) for a in acts]
            self.acts = torch.nn.ModuleList(m for m, _ in made if m is not None)
            self.calls = [f for _, f in made]
            self.slots = [m for m, _ in made]

        def forward(self, x):
            x = x.to(self.layers[0].weight.dtype)  # predict() feeds float32; gradients come in float64
            h = x.permute(0, 2, 3, 1).reshape(len(x), -1)  # flattened as NumPy flattens (H, W, C)
            for layer, call, mod in zip(self.layers[:-1], self.calls, self.slots):
                h = call(layer(h), mod)
            return self.layers[-1](h)

    net = MLP().to(torch.float64 if dtype is None else dtype)
    with torch.no_grad():
        for layer, (w, b) in zip(net.layers, weights):
            layer.weight.copy_(torch.as_tensor(w.T))
            layer.bias.copy_(torch.as_tensor(b))
    from saliency_widgets.models import declare
    return declare(net, input_size=SHAPE, pixel_range=None)  # images of SHAPE, values as they are
