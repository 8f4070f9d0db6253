"""What every explainer shares: input checks, the target, progress, the API.

Subclasses implement ``_explain(x, target, score)``, a generator of partial
:class:`Explanation` objects; ``explain`` and ``iter_explain`` are written once here.
"""
from __future__ import annotations

import inspect
from typing import Iterator

import numpy as np

from ..explanation import Explanation, has_no_signal, no_signal_text
from ..models import as_model
from ..models.adapter import check_positive_int
from ..occluder import check_occluder, occluder_param, resolve_occluder
from .declaration import check_declared, declaration_of, label_of

__all__ = ["Explainer", "check_target", "check_positive_int", "seed_param", "constructor_params",
           "EXECUTION_PARAMS", "MODEL_PARAMS", "params_from"]

# Settings that decide how fast a map is made, never which map (tests prove it).
EXECUTION_PARAMS = frozenset({"batch_size", "progress"})
# Settings that travel with the model (the adapter ``explainer.model`` carries them) and are not JSON.
MODEL_PARAMS = frozenset({"preprocess"})


def seed_param(seed):
    """A seed as it can be stored in JSON metadata (a Generator's state is not reproducible by value)."""
    return seed if isinstance(seed, (int, type(None))) else "Generator"


def constructor_params(cls) -> list[str]:
    """Names of the settings of ``cls.__init__`` (every parameter except ``self`` and ``model``)."""
    sig = inspect.signature(cls.__init__)
    return [name for name, p in sig.parameters.items()
            if name not in ("self", "model") and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)]


def params_from(obj, *, exclude=frozenset()) -> dict:
    """The JSON-ready settings that determine the map: ``get_params()`` less the excluded ones.

    Seeds go through :func:`seed_param`, occluders through
    :func:`~saliency_widgets.occluder.occluder_param`.
    """
    out = {}
    for name, value in obj.get_params().items():
        if name in exclude:
            continue
        if name == "seed":
            value = seed_param(value)
        elif name == "occluder":
            value = occluder_param(value)
        elif isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, np.generic):
            value = value.item()
        out[name] = value
    return out


def check_seed(seed):
    """``None``, an int >= 0 or a numpy Generator; anything else (e.g. the stored "Generator") is refused."""
    if seed is None or isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0:
        return int(seed)
    if seed == "Generator":
        raise ValueError("seed='Generator' is how params record a numpy Generator seed, whose state is not "
                         "stored: the map cannot be remade from it; pass an int seed to make maps reproducible")
    raise TypeError(f"seed must be None, an int >= 0 or a numpy Generator, got {seed!r}")


def check_target(target, num_classes: int) -> int:
    if isinstance(target, bool) or not isinstance(target, (int, np.integer)):
        raise TypeError(f"target must be an integer class index in [0, {num_classes}), got {target!r}")
    if not 0 <= target < num_classes:
        raise ValueError(f"target {target} is out of range: the model has {num_classes} classes, "
                         f"so target must be in [0, {num_classes})")
    return int(target)


class Explainer:
    """Base class: ``explain(image, target=None)`` and ``iter_explain(image, target=None)``.

    Parameters
    ----------
    model : Keras model, callable or ModelAdapter
        See :func:`saliency_widgets.models.as_model`.
    batch_size : int or None, keyword-only
        Largest batch per forward call (default 64; 256 when the model runs on a GPU).
    preprocess : callable or None, keyword-only
        Applied to the image before masking: masks apply to the model's input
        as ``fill + M * (x - fill)``, and ``occluder="auto"`` then fills with
        0, i.e. the preprocessed input is multiplied by M as in the prototype.
        A callable: not in ``params`` (the adapter ``self.model`` carries it).
    outputs : {"auto", "probabilities", "logits"}, keyword-only
    progress : bool, keyword-only
        Show a tqdm.auto progress bar of forward passes.

    Settings are declared once, in the subclass's ``__init__`` signature, and
    stored on ``self`` under the same names (scikit-learn style):
    :meth:`get_params` reads them back from the signature and :attr:`params`
    is their JSON-ready record.  ``type(e)(e.model, **e.params)`` rebuilds an
    explainer that makes the same map (for an int seed).
    """

    needs_model = True
    # Where a method that needs gradients gets them (the adapter's ``gradient_source`` kinds: "keras",
    # "torch", "jax"); empty for a black-box method.  Front ends offer it only for such models.
    gradient_frameworks: tuple = ()
    # The registry's readings of this class (see :mod:`.declaration`); a subclass declares its own.
    declarations: tuple = ()
    # Constructor settings left out of ``params``: execution-only ones (they do
    # not change the map) and the model-side ``preprocess`` (a callable; the
    # adapter ``self.model`` carries it).
    _not_params = EXECUTION_PARAMS | MODEL_PARAMS

    def __init__(self, model, *, batch_size=None, preprocess=None, outputs="auto", progress=False):
        check_declared(self)  # the budget and options in their declared ranges, as every front end checks them
        if batch_size is not None:
            check_positive_int("batch_size", batch_size)
        self.batch_size = batch_size
        self.preprocess = preprocess
        self.outputs = outputs
        self.progress = bool(progress)
        self.model = as_model(model, outputs=outputs, preprocess=preprocess, batch_size=batch_size)

    @property
    def method(self) -> str:
        """The registry key of the reading that runs (``"mask-update-paper"``), else the class name.

        What progress bars, errors and :attr:`Explanation.method` name.  Cached (every partial map
        names it) until a public attribute, i.e. a setting, changes.
        """
        if "_method_key" not in self.__dict__:
            decl = declaration_of(self)
            self.__dict__["_method_key"] = decl.key if decl is not None else type(self).__name__
        return self.__dict__["_method_key"]

    def __setattr__(self, name, value):
        if not name.startswith("_"):  # a setting changed: the reading it matches may have changed too
            self.__dict__.pop("_method_key", None)
        object.__setattr__(self, name, value)

    @property
    def label(self) -> str:
        """What tables and figures call this explainer, computed from its settings (:func:`label_of`)."""
        return label_of(self)

    def get_params(self) -> dict:
        """Every constructor setting (except ``model``) as stored on ``self``, read from the signature."""
        return {name: getattr(self, name) for name in constructor_params(type(self))}

    @property
    def params(self) -> dict:
        """The settings that determine the map, JSON-ready (no ``batch_size``, ``progress``, ``preprocess``)."""
        return params_from(self, exclude=self._not_params)

    def _fill(self, x: np.ndarray) -> np.ndarray:
        """The occluder's fill image (H, W, C) for the prepared image ``x``."""
        return resolve_occluder(x, self.occluder, model=self.model)

    @property
    def budget(self) -> int:
        """Forward passes the explanation will spend (besides the one on the unmasked image)."""
        return 0

    def explain(self, image, target=None) -> Explanation:
        """The final explanation of ``image`` for class ``target`` (default: the top-1 class)."""
        x, target, score = self._start(image, target)
        result = None
        # No partial maps unless a progress bar shows them: each one costs a host sync and a
        # normalisation that only the final map needs.
        for result in self._iterate(x, target, score, partials=self.progress):
            pass
        return result

    def iter_explain(self, image, target=None) -> Iterator[Explanation]:
        """Yield a partial :class:`Explanation` after every batch; the last has ``done=True``.

        Close the generator (or stop iterating) to stop early.
        """
        x, target, score = self._start(image, target)
        return self._iterate(x, target, score)

    def _start(self, image, target):
        # Validate eagerly (not at the first next()) so bad input raises at the call.
        x = self.model.prepare(image)
        probs = self.model.predict(x[None])[0]
        if target is None:
            target = int(np.argmax(probs))
        target = check_target(target, probs.shape[0])
        return x, target, float(probs[target])

    def _iterate(self, x, target, score, *, partials=True):
        bar = None
        if self.progress:
            from tqdm.auto import tqdm
            bar = tqdm(total=self.budget, desc=self.method, unit="pass", leave=False)
        gen = self._explain(x, target, score, partials=partials)
        try:
            for exp in gen:
                if bar is not None:
                    bar.update(exp.n_forward - bar.n)
                yield _flag_no_signal(exp)
        finally:
            gen.close()
            if bar is not None:
                bar.close()

    def _explain(self, x, target, score, *, partials=True):  # pragma: no cover - abstract
        """Yield partial explanations (as often as the backend's pacer allows; only the final one
        when ``partials`` is False) and the final one with ``done=True``."""
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({args})"


def _flag_no_signal(exp: Explanation) -> Explanation:
    """One place for every perturbation method: a map whose target score never moved is flagged, its
    display map blanked (min-max normalising it would draw rounding noise as a confident map), and the
    final one warns."""
    if exp.score_range is None or not has_no_signal(exp.score_range):
        return exp
    exp.no_signal = True
    exp.saliency = np.zeros_like(exp.saliency)
    if exp.done:
        import warnings
        warnings.warn(no_signal_text(exp.method, exp.score_range), RuntimeWarning, stacklevel=3)
    return exp
