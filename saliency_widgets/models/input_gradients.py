"""Gradients of a model's output with respect to its input: the framework side of the gradient explainers.

:func:`input_gradient_fn` returns ``grads(batch, target) -> (B, H, W, C)``,
the gradient of the model's own output for class ``target`` (the logit when
the model returns logits, the probability when it ends in a softmax: the same
quantity Grad-CAM differentiates) with respect to each image of ``batch``, in
the model's input space (after ``preprocess``); ``logit=True`` differentiates the
target's logit instead (a Keras model's final softmax removed in a clone).  Images of a batch are
independent, so one backward pass of the summed target outputs gives every
image's gradient.

Which framework differentiates is read from the adapter's
``gradient_source`` (set by :func:`~saliency_widgets.models.as_model`):

* a Keras 3 model on TensorFlow: ``tf.GradientTape`` inside a ``tf.function``;
* a Keras 3 model on JAX: ``jax.grad`` of ``model.stateless_call`` (the
  weights are arguments, so a model whose weights change is never stale);
* a ``torch.nn.Module``: autograd on the module's device;
* a JAX function: ``jax.grad``.

``guided=True`` gives Guided Backpropagation (Springenberg et al. 2015): the
backward pass of every ReLU passes only positive gradients through positive
inputs, ``grad_in = grad_out * (x > 0) * (grad_out > 0)`` (a ReLU6 also only
below 6).  Neither way modifies the user's model or leaves state on it that
another thread could see.  Keras: on a cached clone of the model whose
``Activation`` layers, ``ReLU`` layers (without a negative slope) and layers
with ``activation="relu"`` or ``"relu6"`` use a ``keras.ops.custom_gradient``
ReLU.  PyTorch: a thread-local ``TorchFunctionMode`` (:mod:`.torch_guided`)
substitutes the guided ReLU for every ReLU-type call (``nn.ReLU``,
``nn.ReLU6``, ``F.relu``, ``clamp(min=0)``...) while this thread runs the
forward pass.  A model in which no such ReLU runs is refused with a
``ValueError`` that names the activations it found, rather than silently
giving the vanilla gradient.
"""
from __future__ import annotations

import weakref

import numpy as np

from .base import weak_handle, weakrefable

__all__ = ["input_gradient_fn", "check_gradients", "guided_relu_count"]

NO_GRADIENTS = ("needs gradients: a Keras 3 model, a torch.nn.Module or a JAX function (as_model(fn, "
                "framework='jax')); {name} is a plain callable whose gradients cannot be taken. Use a "
                "black-box explainer (MaskUpdate, Rise, Lime, Occlusion) for callables")

# Per model: the compiled gradient functions, and the modified clones of a Keras model.
_FNS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_CLONES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def check_gradients(adapter, method: str, *, guided: bool = False):
    """The adapter's ``(kind, model)`` to differentiate; a clear error when it has none (or no ReLU to guide).

    Raises
    ------
    TypeError
        A plain callable (no gradients), or ``guided`` for a JAX function or a Keras backend without
        a gradient path here.
    ValueError
        ``guided`` and the model has no ReLU that Guided Backpropagation can modify.
    """
    source = getattr(adapter, "gradient_source", None)
    if source is None:
        raise TypeError(f"{method} " + NO_GRADIENTS.format(name=adapter.name))
    kind, model = source
    if kind == "keras":
        import keras
        if keras.backend.backend() not in ("tensorflow", "jax"):
            raise TypeError(f"{method} takes gradients of Keras models on the TensorFlow or JAX backend; "
                            f"this Keras runs on {keras.backend.backend()!r} (set KERAS_BACKEND)")
    if guided:
        if kind == "jax":
            raise TypeError(f"{method} replaces the backward pass of ReLU layers, which a JAX function does "
                            "not expose: give a Keras model or a torch.nn.Module")
        if kind == "keras" and guided_relu_count(source) == 0:
            others = _keras_other_activations(model)
            found = (f"its activations cannot be guided: {', '.join(others)}" if others else
                     "it has no activation layer at all")
            raise ValueError(f"{method} found no ReLU (an Activation('relu') or ReLU layer, or a layer with "
                             f"activation='relu' or 'relu6') in {adapter.name}, so it would silently compute "
                             f"the vanilla gradient; {found}. Use the vanilla gradient explicitly, or build the "
                             "model with ReLU layers")
        # A torch module's ReLUs are the calls its forward pass makes (F.relu has no module): counted as
        # they run, and a pass that runs none is refused then (see _torch_fn).
    return source


def guided_relu_count(source) -> int:
    """How many ReLU layers Guided Backpropagation would modify in ``(kind, model)``.

    A torch module: its ``nn.ReLU``, ``nn.ReLU6`` and ``nn.Hardtanh(0, max)`` modules (its functional
    ReLUs are found only as its forward pass runs).
    """
    kind, model = source
    if kind == "torch":
        import torch
        return sum(isinstance(m, torch.nn.ReLU) or (isinstance(m, torch.nn.Hardtanh) and m.min_val == 0)
                   for m in model.modules())
    if kind == "keras":
        return len(_keras_relus(model))
    return 0


def input_gradient_fn(adapter, *, guided: bool = False, logit: bool = False, method: str = "gradient",
                      values: bool = False):
    """``grads(batch, target) -> (B, H, W, C) float64``: d output[:, target] / d batch, per image.

    ``values=True``: ``grads(batch, target) -> (f (B,) float64, gradients (B, H, W, C))``, ``f`` the
    differentiated output itself (what Integrated Gradients' completeness compares with).

    ``batch`` is a NumPy array (B, H, W, C) in the model's input space; it is
    sent to the model in the model's own float dtype (float64 for a float64
    model).  See the module docstring for what is differentiated.

    ``logit=True``: the gradient of the target's logit.  A model that returns
    logits is differentiated as it is; a Keras model whose last layer ends in
    a softmax (``activation="softmax"``, an ``Activation("softmax")`` or a
    ``Softmax`` layer) is differentiated in a clone without that softmax; any
    other model that returns probabilities raises a ValueError (its logits
    cannot be reached).  Call after the adapter has seen outputs (``predict``),
    so that ``outputs="auto"`` has decided.
    """
    kind, model = check_gradients(adapter, method, guided=guided)
    strip = False
    if logit and adapter._softmax is not True:  # the model itself returns probabilities
        strip = kind == "keras" and _final_softmax(model) is not None
        if not strip:
            raise ValueError(f"{method}(differentiate='logit') needs the logits, but {adapter.name} returns "
                             "probabilities and is not a Keras model whose last layer's softmax can be "
                             "removed; use differentiate='output' (the probability), or give the model "
                             "that returns logits with outputs='logits'")
    run = _framework_fn(adapter, kind, model, guided=guided, strip=strip, method=method)
    return run if values else (lambda batch, target: run(batch, target)[1])


def _framework_fn(adapter, kind, model, *, guided, strip, method):
    """``run(batch, target) -> (values, gradients)`` for the adapter's framework."""
    if kind == "torch":
        return _torch_fn(model, guided, name=adapter.name, method=method)
    if kind == "jax":
        return _cached(model, "jax", lambda: _jax_fn(model))
    if guided or strip:
        model = _keras_clone(model, guided=guided, strip_softmax=strip)
    import keras
    if keras.backend.backend() == "tensorflow":
        return _cached(model, "tf", lambda: _tf_fn(model))
    return _cached(model, "keras-jax", lambda: _keras_jax_fn(model))


def _cached(model, key, make):
    try:
        per_model = _FNS.setdefault(model, {})
    except TypeError:  # not weak-referenceable: no cache
        return make()
    if key not in per_model:
        per_model[key] = make()
    return per_model[key]


def _first(out):
    return out[0] if isinstance(out, (list, tuple)) else out


def _keras_dtype(model) -> str:
    try:
        dtype = model.inputs[0].dtype
    except (AttributeError, IndexError, TypeError):
        dtype = None
    import keras
    return keras.backend.standardize_dtype(dtype or keras.config.floatx())


# -- Keras on TensorFlow -----------------------------------------------------
def _tf_fn(model):
    import tensorflow as tf

    dtype = _keras_dtype(model)
    ref = weakref.ref(model)  # the cache must not keep the model alive
    shape = tuple(model.inputs[0].shape[1:])

    @tf.function(input_signature=[tf.TensorSpec((None,) + shape, dtype), tf.TensorSpec((), tf.int32)])
    def grad(x, target):
        with tf.GradientTape() as tape:
            tape.watch(x)
            out = tf.gather(_first(ref()(x, training=False)), target, axis=1)
            total = tf.reduce_sum(out)
        return out, tape.gradient(total, x)

    def run(batch, target):
        f, g = grad(tf.convert_to_tensor(np.asarray(batch, dtype)), tf.constant(int(target), tf.int32))
        return np.asarray(f, np.float64), _checked(g, "the Keras model")

    return run


# -- Keras on JAX and JAX functions ------------------------------------------
def _keras_jax_fn(model):
    import jax
    import jax.numpy as jnp

    dtype = _keras_dtype(model)
    ref = weakref.ref(model)

    def total(trainable, non_trainable, x, target):
        out, _ = ref().stateless_call(trainable, non_trainable, x, training=False)
        f = jnp.take(_first(out), target, axis=1)
        return jnp.sum(f), f

    grad = jax.jit(jax.grad(total, argnums=2, has_aux=True))

    def run(batch, target):
        m = ref()
        g, f = grad([v.value for v in m.trainable_variables], [v.value for v in m.non_trainable_variables],
                    jnp.asarray(np.asarray(batch, dtype)), jnp.int32(target))
        return np.asarray(f, np.float64), _checked(g, "the Keras model")

    return run


def _jax_fn(fn):
    import jax
    import jax.numpy as jnp

    ref = weak_handle(fn)
    def total(x, target):
        f = jnp.take(ref()(x), target, axis=1)
        return jnp.sum(f), f

    grad = jax.jit(jax.grad(total, has_aux=True))

    def run(batch, target):
        x = jnp.asarray(np.asarray(batch, np.float64 if jax.config.jax_enable_x64 else np.float32))
        g, f = grad(x, jnp.int32(target))
        return np.asarray(f, np.float64), _checked(g, "the JAX function")

    return run


def _checked(g, what) -> np.ndarray:
    if g is None:
        raise ValueError(f"the output of {what} does not depend on its input: no gradient")
    return np.asarray(g, np.float64)


# -- PyTorch -----------------------------------------------------------------
def _torch_fn(module, guided, *, name, method):
    import torch

    from .backends import torch_device_of

    device = torch_device_of(module)
    dtype = next((p.dtype for p in module.parameters() if p.is_floating_point()), torch.float32)

    def run(batch, target):
        x = torch.as_tensor(np.asarray(batch), dtype=dtype, device=device).requires_grad_(True)
        with torch.enable_grad():
            out = _torch_forward(module, x.permute(0, 3, 1, 2), guided, name=name, method=method)
            f = out[:, int(target)]
            if not f.requires_grad:
                raise ValueError("the output of the torch module does not depend on its input: no gradient")
            (g,) = torch.autograd.grad(f.sum(), x, allow_unused=True)
        if g is None:
            raise ValueError("the output of the torch module does not depend on its input: no gradient")
        return f.detach().to("cpu").double().numpy(), g.detach().to("cpu").double().numpy()

    return run


def _torch_forward(module, x, guided, *, name, method):
    """The module's output on ``x``; ``guided``: with every ReLU-type call guided, in this thread only."""
    if not guided:
        return _first(module(x))
    from .torch_guided import GuidedMode, no_guided_text

    with GuidedMode() as mode:
        out = _first(module(x))
    if not mode.guided:
        raise ValueError(no_guided_text(method, name, module, mode))
    return out


# -- Keras guided ReLU -------------------------------------------------------
def _keras_relus(model) -> list:
    """``(layer, kind)`` for every ReLU a guided clone replaces, nested models opened."""
    import keras

    acts = _keras_relu_functions()
    out = []
    for layer in model.layers:
        if hasattr(layer, "layers") and hasattr(layer, "inputs"):
            out += _keras_relus(layer)
        elif isinstance(layer, keras.layers.ReLU):
            if float(layer.negative_slope) == 0.0:
                out.append((layer, "layer"))
        elif getattr(layer, "activation", None) in acts:
            out.append((layer, acts[layer.activation]))
    return out


def _keras_relu_functions() -> dict:
    """{activation function: "relu" or "relu6"}: Keras's own, keras.ops' and (on TensorFlow) tf.nn's."""
    import keras

    acts = {keras.activations.relu: "relu", keras.activations.relu6: "relu6", keras.ops.relu: "relu",
            keras.ops.relu6: "relu6"}
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf
        acts.update({tf.nn.relu: "relu", tf.nn.relu6: "relu6"})
    return acts


def _keras_other_activations(model) -> list[str]:
    """``"layer (activation)"`` of every layer with a non-linear activation the guided rule cannot modify."""
    import keras

    out = []
    for layer in model.layers:
        if hasattr(layer, "layers") and hasattr(layer, "inputs"):
            out += [f"{layer.name}/{a}" for a in _keras_other_activations(layer)]
            continue
        act = getattr(layer, "activation", None)
        if "softmax" in (type(layer).__name__ + getattr(act, "__name__", "")).lower():
            continue  # a classifier's output, not a hidden unit
        if isinstance(layer, keras.layers.ReLU):
            out.append(f"{layer.name} (ReLU with negative_slope={float(layer.negative_slope):g})")
        elif type(layer).__module__.startswith("keras.src.layers.activations"):
            out.append(f"{layer.name} ({type(layer).__name__})")
        elif callable(act) and act is not keras.activations.linear:
            out.append(f"{layer.name} ({getattr(act, '__name__', type(act).__name__)})")
    return out


def _guided(forward, *, low, high):
    """``forward`` (a ReLU) whose gradient is the guided one: upstream > 0 and low < x (< high)."""
    import keras
    from keras import ops

    @keras.ops.custom_gradient
    def guided(x):
        def grad(*args, upstream=None):
            if upstream is None:
                (upstream,) = args
            keep = ops.greater(x, low)
            if high is not None:
                keep = ops.logical_and(keep, ops.less(x, high))
            keep = ops.logical_and(keep, ops.greater(upstream, 0))
            return ops.where(keep, upstream, ops.zeros_like(upstream))
        return forward(x), grad

    return guided


def _final_softmax(model):
    """The layer whose softmax ends ``model`` (nested models opened), or None."""
    import keras

    last = model.layers[-1] if getattr(model, "layers", None) else None
    if last is None:
        return None
    if hasattr(last, "layers") and hasattr(last, "inputs"):
        return _final_softmax(last)
    if isinstance(last, keras.layers.Softmax) or getattr(last, "activation", None) is keras.activations.softmax:
        return last
    return None


def _keras_clone(model, *, guided: bool, strip_softmax: bool):
    """A clone of the model (made once per model and variant) with guided ReLUs and/or no final softmax,
    holding the model's current weights."""
    import keras

    variants = _CLONES.setdefault(model, {}) if weakrefable(model) else {}
    clone = variants.get((guided, strip_softmax))
    if clone is None:
        clone = keras.models.clone_model(model)
        if guided:
            _guide(clone)
        if strip_softmax:
            last = _final_softmax(clone)
            if isinstance(last, keras.layers.Softmax):
                last.call = lambda inputs, mask=None: inputs
            else:
                last.activation = keras.activations.linear
        variants[(guided, strip_softmax)] = clone
    # Weights copied at every call: a model trained (or edited) since the clone was made is never stale.
    clone.set_weights(model.get_weights())
    return clone


def _guide(clone) -> None:
    """Replace every ReLU of ``clone`` (see :func:`_keras_relus`) by its guided version."""
    import keras

    for layer, kind in _keras_relus(clone):
        if kind == "layer":
            relu = keras.activations.relu
            mv, th = layer.max_value, float(layer.threshold)
            layer.call = _guided(lambda x, mv=mv, th=th: relu(x, max_value=mv, threshold=th), low=th, high=mv)
        elif kind == "relu6":
            layer.activation = _guided(keras.activations.relu6, low=0.0, high=6.0)
        else:
            layer.activation = _guided(keras.activations.relu, low=0.0, high=None)
