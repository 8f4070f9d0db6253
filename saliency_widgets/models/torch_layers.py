"""Grad-CAM's side of a PyTorch module: its convolutions, and one layer's activations and gradients.

A layer is named by its qualified name in ``module.named_modules()`` (``"features.8"``,
``"net._conv_head"``).  The activations are read without touching the user's module: the forward pass
runs through a private copy of the modules on the path from the root down to the layer (every other
module, and every parameter and buffer, is shared, so the copy always holds the current weights), and
that copy's layer records its output for the calling thread.  No hook is registered on the user's
module, so another thread (a second widget) using the same module at the same time is not affected.
"""
from __future__ import annotations

import copy

import numpy as np

__all__ = ["torch_conv_layers", "find_torch_layer", "torch_gradcam_inputs"]


def torch_conv_layers(module) -> list[str]:
    """Qualified names of every ``torch.nn.Conv2d`` in ``module`` (subclasses too), in registration order."""
    import torch
    return [name for name, m in module.named_modules() if name and isinstance(m, torch.nn.Conv2d)]


def _model_name(module) -> str:
    return f"torch module {type(module).__name__!r}"


def _candidates(module, n: int = 12) -> str:
    names = torch_conv_layers(module)
    if not names:
        return "it has no torch.nn.Conv2d"
    shown = names[-n:]
    more = f"... ({len(names)} in all; the last {n}:) " if len(names) > n else ""
    return "its convolutions (Grad-CAM candidates): " + more + ", ".join(shown)


def find_torch_layer(module, name=None) -> str:
    """``name`` checked against ``module.named_modules()``, or the last ``torch.nn.Conv2d`` when None.

    "Last" is the order the modules were registered in (``named_modules()``), which is the order of the
    forward pass in a sequential network; name the layer where it is not.

    Raises
    ------
    ValueError
        ``name`` is not a module of ``module``, or there is no convolution to default to; the message names
        the model's type and lists the candidate layers.
    TypeError
        ``name`` is not a string.
    """
    if name is None:
        names = torch_conv_layers(module)
        if not names:
            layers = [n for n, _ in module.named_children()]
            raise ValueError(f"Grad-CAM found no convolution (torch.nn.Conv2d) in {_model_name(module)} (its "
                             f"top-level modules: {layers}); name a layer with a 4-D (B, C, h, w) output with "
                             "GradCam(model, layer='qualified.name'), as in model.named_modules()")
        return names[-1]
    if not isinstance(name, str):
        raise TypeError(f"layer must be a module's qualified name (a str, as in named_modules()), got {name!r}")
    if not name or name not in dict(module.named_modules()):
        raise ValueError(f"{_model_name(module)} has no layer {name!r} (a qualified name as in "
                         f"named_modules()); {_candidates(module)}")
    return name


def _private_path(module, name):
    """``(root, layer)``: ``module`` with the modules on the path to ``name`` copied (everything else shared)."""
    root = copy.copy(module)
    root._modules = type(module._modules)(module._modules)
    node = root
    for part in name.split("."):
        child = copy.copy(node._modules[part])
        child._modules = type(child._modules)(child._modules)
        node._modules[part] = child
        node = child
    return root, node


def _recording_copy(module, name):
    """``(root, outputs)``: a private copy of ``module`` whose layer ``name`` appends its output to ``outputs``."""
    root, layer = _private_path(module, name)
    outputs, forward = [], layer.forward

    def recording_forward(*args, **kwargs):
        out = forward(*args, **kwargs)
        outputs.append(out)
        return out

    object.__setattr__(layer, "forward", recording_forward)  # on the copy's own __dict__ only
    return root, outputs


def torch_gradcam_inputs(module, name, batch, target):
    """Activations of layer ``name`` (B, h, w, C) and the gradient of output[:, target] with respect to them.

    ``batch``: (B, H, W, C) NumPy images in the module's input space; the module takes (B, C, H, W).
    """
    import torch

    from .backends import torch_device_of

    dtype = next((p.dtype for p in module.parameters() if p.is_floating_point()), torch.float32)
    x = torch.as_tensor(np.asarray(batch), dtype=dtype, device=torch_device_of(module)).requires_grad_(True)
    root, outputs = _recording_copy(module, name)
    with torch.enable_grad():
        out = root(x.permute(0, 3, 1, 2))
        acts = _one_feature_map(module, name, outputs)
        out = out[0] if isinstance(out, (list, tuple)) else out
        (grads,) = torch.autograd.grad(out[:, int(target)].sum(), acts, allow_unused=True)
    if grads is None:
        raise ValueError(f"the output of {_model_name(module)} does not depend on layer {name!r}; "
                         f"{_candidates(module)}")
    return tuple(t.detach().permute(0, 2, 3, 1).to("cpu").double().numpy() for t in (acts, grads))


def _one_feature_map(module, name, outputs):
    """The layer's one output of the forward pass, checked to be a (B, C, h, w) tensor."""
    import torch

    if len(outputs) != 1:
        why = ("did not run in the forward pass (a module reached other than through its attributes)"
               if not outputs else f"ran {len(outputs)} times in one forward pass, so its map is ambiguous")
        raise ValueError(f"Grad-CAM: layer {name!r} of {_model_name(module)} {why}; {_candidates(module)}")
    acts = outputs[0]
    if not torch.is_tensor(acts) or acts.ndim != 4:
        shape = tuple(acts.shape) if torch.is_tensor(acts) else type(acts).__name__
        raise ValueError(f"layer {name!r} of {_model_name(module)} outputs {shape}, not a 4-D feature map "
                         f"(B, C, h, w), so Grad-CAM cannot use it; {_candidates(module)}")
    return acts
