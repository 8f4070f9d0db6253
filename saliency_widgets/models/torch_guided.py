"""Guided Backpropagation's ReLU rule for PyTorch modules, applied without touching the module.

:class:`GuidedMode` is a ``torch.overrides.TorchFunctionMode``: while it is entered, every call of a
ReLU-type function *in this thread* (the mode stack is thread-local) runs as a ReLU whose backward pass
is the guided one, ``grad_in = grad_out * (low < x < high) * (grad_out > 0)``.  Nothing is registered on
the module (no hooks, no replaced layers), so another thread explaining with the same module at the same
time -- a second widget, a vanilla gradient -- never sees the guided rule.

The calls it guides (the forward values are the unmodified ones):

* ``nn.ReLU`` / ``F.relu`` / ``torch.relu`` / ``Tensor.relu`` (and their in-place forms);
* ``nn.ReLU6`` / ``F.relu6`` and ``nn.Hardtanh`` / ``F.hardtanh`` with ``min_val=0`` (a ReLU capped at
  ``max_val``: EfficientNet-Lite and MobileNet use ReLU6);
* ``clamp`` / ``clip`` / ``clamp_min`` with ``min=0`` and no or a positive ``max`` (a ReLU written as a clamp).

Other activations (SiLU, GELU, LeakyReLU, a hardtanh with a negative floor...) pass their ordinary
gradient; their calls are counted, so a model with no ReLU-type call can be refused naming them.
A TorchScript or ``torch.compile``'d module hides its calls from the mode.
"""
from __future__ import annotations

import collections
import numbers

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

__all__ = ["GuidedMode", "guided_relu", "activation_modules", "NO_GUIDED_ACTIVATION"]

_T = torch.Tensor
_NN = torch._C._nn
#: func -> (cut above, in place): plain ReLUs and ReLU6s
_RELUS = {torch.relu: (None, False), torch.relu_: (None, True), _T.relu: (None, False), _T.relu_: (None, True),
          _NN.relu6: (6.0, False), getattr(_NN, "relu6_", None): (6.0, True)}
_RELUS.pop(None, None)
_HARDTANH = {F.hardtanh: False, _NN.hardtanh: False, _NN.hardtanh_: True}
_CLAMPS = {torch.clamp: False, torch.clip: False, _T.clamp: False, _T.clip: False, torch.clamp_: True,
           torch.clip_: True, _T.clamp_: True, _T.clip_: True}
_CLAMP_MIN = {torch.clamp_min: False, _T.clamp_min: False, torch.clamp_min_: True, _T.clamp_min_: True}
#: activations the guided rule does not apply to (named when a model has nothing else)
_OTHER = {F.silu: "silu", F.gelu: "gelu", F.elu: "elu", F.selu: "selu", F.celu: "celu", F.leaky_relu: "leaky_relu",
          F.hardswish: "hardswish", F.hardsigmoid: "hardsigmoid", F.mish: "mish", F.softplus: "softplus",
          F.prelu: "prelu", F.rrelu: "rrelu", torch.sigmoid: "sigmoid", _T.sigmoid: "sigmoid", torch.tanh: "tanh",
          _T.tanh: "tanh", F.glu: "glu", F.logsigmoid: "logsigmoid", F.softsign: "softsign"}

NO_GUIDED_ACTIVATION = (
    "{method}: no ReLU-type activation ran in the forward pass of {name}, so the guided rule would change "
    "nothing and the map would silently be the vanilla gradient. It guides nn.ReLU, nn.ReLU6, "
    "nn.Hardtanh(0, max), F.relu, F.relu6, torch.relu, Tensor.relu and clamp(min=0) calls; {found}. Use the "
    "vanilla gradient (Gradient) for this model")


class _GuidedReLU(torch.autograd.Function):
    """``clamp(x, low, high)`` forward; guided backward: positive gradients through ``low < x < high`` only."""

    @staticmethod
    def forward(ctx, x, low, high, inplace):
        keep = x > low
        if high is not None:
            keep = keep & (x < high)
        ctx.save_for_backward(keep)
        if inplace:
            ctx.mark_dirty(x)
            return x.clamp_(min=low, max=high)
        return x.clamp(min=low, max=high)

    @staticmethod
    def backward(ctx, grad_out):
        (keep,) = ctx.saved_tensors
        return grad_out.clamp(min=0) * keep, None, None, None


def guided_relu(x, *, high=None, inplace=False):
    """``clamp(x, 0, high)`` whose backward pass is the guided rule (what :class:`GuidedMode` substitutes)."""
    return _GuidedReLU.apply(x, 0.0, high, inplace)


def _arg(args, kwargs, i, name, default):
    return kwargs[name] if name in kwargs else (args[i] if len(args) > i else default)


def _zero(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and v == 0


def relu_cut(func, args, kwargs):
    """``(high, inplace)`` when ``func(*args, **kwargs)`` is a ReLU (``high``: its cap or None), else None."""
    if func in _RELUS:
        return _RELUS[func]
    if func is F.relu or func is F.relu6:
        return (None if func is F.relu else 6.0), bool(_arg(args, kwargs, 1, "inplace", False))
    if func in _HARDTANH:
        low, high = _arg(args, kwargs, 1, "min_val", -1.0), _arg(args, kwargs, 2, "max_val", 1.0)
        inplace = _HARDTANH[func] or bool(_arg(args, kwargs, 3, "inplace", False))
        return (float(high), inplace) if _zero(low) and float(high) > 0 else None
    if func in _CLAMPS or func in _CLAMP_MIN:
        low = _arg(args, kwargs, 1, "min", None)
        high = None if func in _CLAMP_MIN else _arg(args, kwargs, 2, "max", None)
        if not _zero(low) or not (high is None or (isinstance(high, numbers.Real) and high > 0)):
            return None
        return (None if high is None else float(high)), {**_CLAMPS, **_CLAMP_MIN}[func]
    return None


def _other_name(func, args, kwargs) -> str | None:
    if func in _OTHER:
        return _OTHER[func]
    if func in _HARDTANH:
        return f"hardtanh({_arg(args, kwargs, 1, 'min_val', -1.0)}, {_arg(args, kwargs, 2, 'max_val', 1.0)})"
    if func in _CLAMPS or func in _CLAMP_MIN:
        return f"clamp(min={_arg(args, kwargs, 1, 'min', None)})"
    return None


class GuidedMode(TorchFunctionMode):
    """While entered (in the entering thread only), ReLU-type calls run with the guided backward rule.

    Attributes
    ----------
    guided : int, ReLU-type calls guided so far.
    others : collections.Counter, other activation calls seen (name -> count), left as they are.
    """

    def __init__(self):
        super().__init__()
        self.guided = 0
        self.others = collections.Counter()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        cut = relu_cut(func, args, kwargs) if args and isinstance(args[0], torch.Tensor) else None
        if cut is None:
            name = _other_name(func, args, kwargs)
            if name is not None:
                self.others[name] += 1
            return func(*args, **kwargs)
        self.guided += 1
        return _GuidedReLU.apply(args[0], 0.0, cut[0], cut[1])


def activation_modules(module) -> list[str]:
    """``"name (Type)"`` of every activation module (``torch.nn.modules.activation``) in ``module``."""
    import torch.nn.modules.activation as acts
    return [f"{name} ({type(m).__name__})" for name, m in module.named_modules()
            if type(m).__module__ == acts.__name__]


def no_guided_text(method: str, name: str, module, mode: GuidedMode) -> str:
    """The refusal when a forward pass ran no ReLU-type activation: what it found instead."""
    mods = activation_modules(module)
    calls = ", ".join(f"{k} x{v}" for k, v in mode.others.most_common())
    if mods or calls:
        found = ("the activations it found cannot be guided: "
                 + "; ".join(filter(None, [f"modules {_short(mods)}" if mods else "",
                                           f"calls {calls}" if calls else ""])))
    else:
        found = "it saw no activation call at all (a TorchScript or torch.compile'd module hides its calls)"
    return NO_GUIDED_ACTIVATION.format(method=method, name=name, found=found)


def _short(names, n=8) -> str:
    return ", ".join(names[:n]) + (f", ... ({len(names)} in all)" if len(names) > n else "")
