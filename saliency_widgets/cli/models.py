"""Models named on a command line: a ``.keras`` file or a Python import path ``package.module:attribute``.

:func:`load_model_spec` is what ``python -m saliency_widgets explain --model`` and ``evaluate --model``
call; it is a module-level function so that ``functools.partial(load_model_spec, spec, input_size=...)``
pickles (a Dask worker loads its own copy of the model with it).

A PyTorch module, a JAX function or a plain callable does not say what image size it takes, so
``input_size`` (the CLI's ``--input-size H,W[,C]``) is required for them; a Keras model says it itself.
"""
from __future__ import annotations

import importlib
import inspect
import os
import re

__all__ = ["load_model_spec", "parse_input_size", "model_input_size", "class_names"]

_IMPORT_PATH = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


def parse_input_size(text) -> tuple[int, ...]:
    """``"H,W"`` or ``"H,W,C"`` -> a tuple of ints >= 1 (C, when given, must be 3: the CLI reads RGB images).

    Examples
    --------
    >>> parse_input_size("32,48")
    (32, 48)
    >>> parse_input_size("224, 224, 3")
    (224, 224, 3)
    """
    if isinstance(text, (tuple, list)):
        parts = list(text)
    else:
        parts = [p.strip() for p in str(text).split(",")]
    try:
        size = tuple(int(p) for p in parts)
    except (TypeError, ValueError):
        raise ValueError(f"input size must be H,W or H,W,C with integers >= 1, got {text!r}") from None
    if len(size) not in (2, 3) or min(size) < 1:
        raise ValueError(f"input size must be H,W or H,W,C with integers >= 1, got {text!r}")
    if len(size) == 3 and size[2] != 3:
        raise ValueError(f"input size {text!r}: C must be 3 (the command line reads RGB images), got {size[2]}")
    return size


def load_model_spec(spec: str, *, input_size=None, outputs: str = "auto"):
    """Load the model that ``spec`` names.

    Parameters
    ----------
    spec : str
        - a name that :func:`~saliency_widgets.demo.load_imagenet_model` takes
          (``efficientnet-lite0``, offline, with the ``imagenet`` extra; the Keras
          ImageNet models download their weights);
        - a ``.keras`` file: loaded with ``keras.saving.load_model(safe_mode=True)``;
        - ``package.module:attribute`` (``attribute`` may be dotted): the module is
          imported (it must be importable from ``sys.path``) and the attribute read;
          a class or a function that takes no arguments is called (a factory).  The
          result may be a Keras model, a ``torch.nn.Module``, a ``jax.jit``-wrapped
          JAX function, or any callable ``(B, H, W, C) batch -> (B, K) scores``
          (a JAX function that is not ``jax.jit``-wrapped runs as such a callable).
    input_size : (H, W) or (H, W, C) ints, or "H,W[,C]", keyword-only
        The image size the model takes.  Required for anything but a Keras model
        (a PyTorch module or a function does not store it); for a Keras model it
        must agree with the model's own input shape (the CLI resizes images to it
        where the model takes any size).
    outputs : {"auto", "probabilities", "logits"}, keyword-only
        Passed to :func:`~saliency_widgets.models.as_model` for non-Keras models.

    Returns
    -------
    keras.Model or ModelAdapter
        A Keras model as loaded (it keeps its gradients for Grad-CAM and its
        ``input_shape`` / ``output_shape``); anything else as a
        :class:`~saliency_widgets.models.ModelAdapter` whose ``input_shape`` is
        ``(H, W, C)`` from ``input_size``.

    Raises
    ------
    FileNotFoundError
        A ``.keras`` file that does not exist.
    ValueError
        A spec of neither form, a module that cannot be imported, a missing
        attribute, or a missing / disagreeing input size.
    TypeError
        An object that is none of the accepted kinds, or a factory that needs arguments.
    """
    size = None if input_size is None else parse_input_size(input_size)
    if not isinstance(spec, (str, os.PathLike)):
        raise TypeError(f"model spec must be a .keras path or 'package.module:attribute', got {type(spec).__name__}")
    spec = os.fspath(spec)
    from ..demo.imagenet import imagenet_model_names
    if spec in imagenet_model_names():  # load_imagenet_model's names; efficientnet-lite0 works offline
        return _as_loaded(_named_imagenet_model(spec), spec, size, outputs)
    if spec.endswith(".keras"):
        if not os.path.exists(spec):
            raise FileNotFoundError(f"model file {spec!r} not found")
        import keras
        obj = keras.saving.load_model(spec, safe_mode=True)
    elif _IMPORT_PATH.match(spec):
        obj = _import_object(spec)
    else:
        raise ValueError(f"model {spec!r} is neither a .keras file nor a Python import path "
                         "'package.module:attribute' (e.g. 'mypkg.nets:make_model')")
    return _as_loaded(obj, spec, size, outputs)


def _named_imagenet_model(name: str):
    from ..demo.imagenet import load_imagenet_model
    model = load_imagenet_model(name)
    from ..models.adapter import is_keras_model
    if is_keras_model(model):
        return model
    from ..models.adapter import as_model
    return as_model(model)  # a torch module: the adapter carries its declared input size and crop


def _import_object(spec: str):
    module_name, attr = spec.split(":", 1)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"cannot import module {module_name!r} of model {spec!r} ({exc}); it must be importable "
                         f"from sys.path: run from the folder that holds it, or add that folder to PYTHONPATH") \
            from exc
    obj = module
    for i, part in enumerate(attr.split(".")):
        if not hasattr(obj, part):
            where = module_name + "".join("." + p for p in attr.split(".")[:i])
            raise ValueError(f"model {spec!r}: {where} has no attribute {part!r}")
        obj = getattr(obj, part)
    if inspect.isclass(obj) or (inspect.isfunction(obj) and _takes_no_arguments(obj)):
        try:
            obj = obj()
        except TypeError as exc:
            if inspect.isclass(obj) and not _takes_no_arguments(obj):
                raise TypeError(f"model {spec!r}: the class {obj.__name__} cannot be built without arguments "
                                f"({exc}); point at a function that takes none and returns the model") from exc
            raise
    return obj


def _takes_no_arguments(fn) -> bool:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return False
    return all(p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
               for p in sig.parameters.values())


def _as_loaded(obj, spec, size, outputs):
    from ..models.adapter import as_model, is_keras_model, is_torch_module
    if is_keras_model(obj):
        model_size = tuple(obj.input_shape[1:3])
        if size is not None:
            for got, want, axis in zip(size[:2], model_size, ("height", "width")):
                if want is not None and got != want:
                    raise ValueError(f"--input-size gives {axis} {got} but the Keras model {spec!r} takes "
                                     f"{model_size}: leave --input-size out for this model")
        return obj
    if not (is_torch_module(obj) or callable(obj)) or inspect.isclass(obj):
        raise TypeError(f"model {spec!r} is a {type(obj).__name__}, none of the accepted kinds: a Keras model, a "
                        "torch.nn.Module, a JAX function or a callable (B, H, W, C) batch -> (B, K) scores "
                        "(or a class / function of no arguments that returns one)")
    from ..models.adapter import ModelAdapter
    own = obj.input_shape if isinstance(obj, ModelAdapter) else None
    if own is not None and None not in own[:2]:  # an adapter that knows its size (a named ImageNet model)
        if size is not None and tuple(size[:2]) != tuple(own[:2]):
            raise ValueError(f"--input-size gives {size[:2]} but the model {spec!r} takes {tuple(own[:2])}: "
                             "leave --input-size out for this model")
        return obj
    if size is None:
        kind = "a PyTorch module" if is_torch_module(obj) else "a function"
        raise ValueError(f"model {spec!r} is {kind}, which does not say what image size it takes: "
                         "give --input-size H,W (e.g. --input-size 224,224)")
    # A module or a function says no input shape: the user's size is what images are resized to and
    # checked against (ModelAdapter.prepare).
    return as_model(obj, outputs=outputs, input_shape=(size[0], size[1], size[2] if len(size) == 3 else 3))


def model_input_size(model, input_size=None, *, required: bool = True) -> tuple[int, int] | None:
    """The (H, W) images are resized to: the model's own, else ``input_size``.

    A model that takes any size, given no ``input_size``: a ValueError, or None
    when ``required=False`` (each image keeps its own size).
    """
    shape = getattr(model, "input_shape", None)
    if shape is None:
        own = ()
    else:
        own = tuple(shape[1:3]) if len(shape) == 4 else tuple(shape[:2])  # Keras (B, H, W, C); adapter (H, W, C)
    if len(own) == 2 and None not in own:
        return int(own[0]), int(own[1])
    if input_size is not None:
        size = parse_input_size(input_size)
        return size[0], size[1]
    if not required:
        return None
    raise ValueError("the model takes images of any size: give --input-size H,W")


def class_names(model, image=None) -> list[str]:
    """Names of the model's classes: ImageNet's for 1000 outputs, else ``"class i"``.

    A Keras model's ``output_shape`` says how many there are; for anything else the
    adapter's ``num_classes`` (known after a prediction), else one prediction on ``image``.
    """
    shape = getattr(model, "output_shape", None)
    if shape is not None:
        n_classes = int(shape[-1])
    else:
        from ..models.adapter import as_model
        adapter = as_model(model)
        n_classes = adapter.num_classes
        if n_classes is None:
            if image is None:
                raise ValueError("the number of classes of a non-Keras model needs an image to predict on")
            n_classes = int(adapter.predict(image[None]).shape[-1])
    if n_classes == 1000:
        from ..demo import imagenet_labels
        return list(imagenet_labels())
    return [f"class {i}" for i in range(n_classes)]
