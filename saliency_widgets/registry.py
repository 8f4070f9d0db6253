"""One registry of methods: every front end (CLI, widget, reproduce, evaluate) reads it.

Each entry says what runs: its user-facing ``label`` names the exact reading
(the paper's method is called that), ``key`` is the command-line name,
``fixed`` holds the constructor settings that define the reading, and
``budget_arg`` / ``options`` tell a UI which settings it may offer and in
which ranges.

Two ways to build:

- :func:`build_checked` is what every front end calls with what a user chose
  (the CLI's ``explain`` and ``evaluate``, the widget's session, ``reproduce``,
  the sanity checks): the budget and the options are checked against the
  registry's ranges (:meth:`MethodSpec.check`), so the same bad value gets the
  same error everywhere, and a budget left out is the registry's default.
- :func:`build` rebuilds an explainer from a stored ``(key, params)`` pair of
  constructor settings (that is how explainers travel to Dask workers and how
  ``evaluate()`` checks a results file); it checks nothing beyond the
  constructor's own checks.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from .explainers import (CenterBaseline, GradCam, Gradient, GuidedBackprop, IntegratedGradients, Lime, MaskUpdate,
                         Occlusion, Rise, SmoothGrad)

__all__ = ["Option", "MethodSpec", "METHODS", "STUDY_READINGS", "get_method", "build", "build_checked",
           "available_methods"]


@dataclass(frozen=True)
class Option:
    """A setting a UI may offer: its default and inclusive range."""

    default: int
    low: int
    high: int


@dataclass(frozen=True)
class MethodSpec:
    key: str                      # command-line name, e.g. "mask-update-paper"
    label: str                    # what tables, figures and the widget call it
    cls: type
    fixed: dict = field(default_factory=dict)   # constructor settings that define the reading
    budget_arg: str | None = None               # "steps", "masks", "samples"; None: no budget
    budget: Option | None = None
    options: dict = field(default_factory=dict)  # {constructor argument: Option}
    needs_model: bool = True
    needs_gradients: bool = False               # Grad-CAM: Keras models only
    seeded: bool = True
    summary: str = ""

    @property
    def budget_label(self) -> str | None:
        """What the budget counts, as a UI names it ("steps", "masks", "samples"); None: no budget."""
        return self.budget_arg

    @property
    def name(self) -> str:
        """How error messages name the method: its key and its label."""
        return f"{self.key} ({self.label!r})"

    def shared_budget(self, budget):
        """The part of a budget shared by several methods that applies to this one.

        ``budget`` when the method has a budget, else None: a front end that gives one
        budget to a list of methods (``evaluate --methods center,rise --budget 500``,
        ``reproduce``, the sanity checks, the widget's budget slider) applies it to the
        methods that have one.  A budget given to one method by name goes to
        :meth:`check` unchanged, where a method without a budget refuses it.
        """
        return budget if self.budget_arg is not None else None

    def check(self, budget=None, options: Mapping | None = None) -> tuple[int | None, dict]:
        """Check a user's budget and options against the registry's ranges.

        Parameters
        ----------
        budget : int or None
            Forward passes (the method's steps / masks / samples); None: the
            registry's default (``self.budget.default``).  A method without a
            budget takes only None.
        options : mapping {name: int} or None
            Settings the method offers (``self.options``, e.g. ``{"grid": 8}``).

        Returns
        -------
        budget : int or None
            The checked budget as a Python int (None for a method without one).
        options : dict {name: int}
            The checked options as Python ints (what is checked is what runs).

        Raises
        ------
        ValueError
            A setting the method does not offer, a budget for a method without one,
            or a value outside its range (the message names the method, the setting,
            the value and the range).
        TypeError
            A value that is not an integer.
        """
        options = dict(options or {})
        unknown = sorted(set(options) - set(self.options))
        if unknown:
            raise ValueError(f"{self.name} offers no setting {unknown}; its settings are "
                             f"{sorted(self.options) or 'none'}")
        checked = {name: _in_range(self, name, value, self.options[name]) for name, value in options.items()}
        if self.budget_arg is None:
            if budget is not None:
                raise ValueError(f"{self.name} has no budget of forward passes, got budget={budget!r}: "
                                 "give no budget for it")
            return None, checked
        if budget is None:
            return self.budget.default, checked
        return _in_range(self, self.budget_arg, budget, self.budget, what="budget"), checked

    def checked_params(self, *, budget=None, options: Mapping | None = None, seed: int = 0,
                       extra: Mapping | None = None) -> dict:
        """The constructor settings for a user's choice, checked (see :meth:`check`).

        Returns ``{budget_arg: budget, **options, "seed": seed (seeded methods), **extra}``:
        a ``(key, params)`` pair that :func:`build` (and ``evaluate()``, Dask workers)
        rebuilds.  ``extra`` holds constructor settings the registry has no range for
        (``occluder=``, ``window=``...); the explainer's constructor checks them.
        """
        budget, params = self.check(budget, options)
        extra = dict(extra or {})
        # "budget" too: MethodSpec.build takes it as its own keyword and would overwrite it silently.
        clash = sorted(set(extra) & (set(self.options) | {self.budget_arg, "budget", "seed"}))
        if clash:
            raise ValueError(f"{self.name}: {clash} must be given as the budget, an option or the seed "
                             "(they are range-checked), not as extra settings")
        if budget is not None:
            params = {self.budget_arg: budget, **params}
        if self.seeded:
            params["seed"] = seed
        params.update(extra)
        return params

    def accepts(self, name: str) -> bool:
        """Whether the explainer's constructor takes the keyword ``name`` (e.g. ``batch_size``)."""
        return name in inspect.signature(self.cls.__init__).parameters

    def build(self, model=None, *, budget=None, **params):
        """The explainer for ``model``: ``fixed`` settings, then ``budget`` and ``params``.

        A setting in ``fixed`` cannot be overridden (it is what the label promises).  A seeded
        method built without ``seed`` gets ``seed=0``: nothing built from the registry (the CLI,
        ``evaluate(["rise"])``, a Dask worker) ever draws from an unseeded generator.
        """
        clash = sorted(set(params) & set(self.fixed))
        if clash:
            raise ValueError(f"{self.label!r} fixes {clash} (that is what its name says); use another method "
                             f"or the explainer class {self.cls.__name__} directly")
        kwargs = dict(self.fixed)
        if budget is not None:
            if self.budget_arg is None:
                raise ValueError(f"{self.label!r} has no budget of forward passes")
            kwargs[self.budget_arg] = budget
        kwargs.update(params)
        if self.seeded:
            kwargs.setdefault("seed", 0)
        if not self.needs_model:
            return self.cls(model, **kwargs) if model is not None else self.cls(**kwargs)
        return self.cls(model, **kwargs)


def _from_declaration(cls) -> MethodSpec:
    """The MethodSpec of a class's one declaration (defaults read from its constructor signature)."""
    (d,) = cls.declarations
    sig = inspect.signature(cls.__init__).parameters
    budget = None if d.budget is None else Option(sig[d.budget].default, *d.budget_range)
    options = {name: Option(sig[name].default, *rng) for name, rng in d.options.items()}
    return MethodSpec(d.key, d.label.split(" (")[0], cls, dict(d.fixed), d.budget, budget, options,
                      needs_model=d.needs_model, needs_gradients=d.needs_gradients, seeded="seed" in sig,
                      summary=d.summary)


_SIDE = Option(8, 2, 16)
METHODS: dict[str, MethodSpec] = {s.key: s for s in [
    MethodSpec("mask-update", "mask-update (32 chains, score-weighted)", MaskUpdate,
               {"update": "prototype", "weighting": "score"}, "steps", Option(2000, 100, 10000),
               {"grid": _SIDE, "chains": Option(32, 1, 256)},
               summary="the project's default reading: independent chains, the map weighted by the class score"),
    MethodSpec("mask-update-paper", "mask-update (paper)", MaskUpdate,
               {"chains": 1, "update": "prototype", "weighting": "none"}, "steps", Option(5000, 100, 10000),
               {"grid": _SIDE},
               summary="the paper's method as its prototype ran it: one chain, the masks summed unweighted"),
    MethodSpec("mask-update-paper-chains", "mask-update (paper rules, 32 chains)", MaskUpdate,
               {"update": "prototype", "weighting": "none"}, "steps", Option(2000, 100, 10000),
               {"grid": _SIDE, "chains": Option(32, 1, 256)},
               summary="the paper's update and read-out, run as independent chains in batched passes"),
    MethodSpec("rise", "RISE", Rise, {}, "masks", Option(2000, 100, 10000), {"grid": _SIDE},
               summary="Petsiuk et al. 2018: random masks weighted by the class score"),
    MethodSpec("lime", "LIME", Lime, {}, "samples", Option(1000, 50, 5000), {"segments": Option(50, 10, 200)},
               summary="Ribeiro et al. 2016: a ridge fit over SLIC superpixels switched on and off"),
    MethodSpec("occlusion", "occlusion", Occlusion, {}, None, None, {}, seeded=False,
               summary="Zeiler & Fergus 2014: a sliding grey-out window"),
    MethodSpec("grad-cam", "Grad-CAM", GradCam, {}, None, None, {}, needs_gradients=True, seeded=False,
               summary="Selvaraju et al. 2017: gradients of the class at the last convolution (Keras models)"),
    *(_from_declaration(cls) for cls in (Gradient, SmoothGrad, IntegratedGradients, GuidedBackprop)),
    MethodSpec("center", "centre baseline", CenterBaseline, {}, None, None, {}, needs_model=False, seeded=False,
               summary="a Gaussian at the image centre: the floor a method must beat"),
]}


# Readings of the mask update that studies compare (reproduce's convergence study) but the front ends do not
# offer (the widget's list, the CLI's --method): registered so their labels and settings are declared once.
STUDY_READINGS: dict[str, MethodSpec] = {s.key: s for s in [
    MethodSpec("mask-update-relative", "mask-update (32 chains, relative update, unweighted)", MaskUpdate,
               {"update": "relative", "weighting": "none"}, "steps", Option(2000, 100, 10000),
               {"grid": _SIDE, "chains": Option(32, 1, 256)},
               summary="independent chains updated by min(1, p / p0), p0 the class probability on the "
                       "unmasked image; the masks summed unweighted"),
    MethodSpec("mask-update-relative-score", "mask-update (32 chains, relative update, score-weighted)",
               MaskUpdate, {"update": "relative", "weighting": "score"}, "steps", Option(2000, 100, 10000),
               {"grid": _SIDE, "chains": Option(32, 1, 256)},
               summary="the relative update, each mask weighted by the class score"),
    MethodSpec("mask-update-relative-slope", "mask-update (32 chains, relative update, slope read-out)",
               MaskUpdate, {"update": "relative", "weighting": "slope"}, "steps", Option(2000, 100, 10000),
               {"grid": _SIDE, "chains": Option(32, 1, 256)},
               summary="the relative update, read out as each pixel's regression slope of the score on its mask"),
]}


def get_method(name: str) -> MethodSpec:
    """Look a method up by its key (``"rise"``) or its label (``"RISE"``): :data:`METHODS`, then
    :data:`STUDY_READINGS`."""
    if isinstance(name, MethodSpec):
        return name
    for table in (METHODS, STUDY_READINGS):
        if name in table:
            return table[name]
    for table in (METHODS, STUDY_READINGS):
        for spec in table.values():
            if spec.label == name:
                return spec
    raise ValueError(f"unknown method {name!r}; choose one of {sorted(METHODS)} "
                     f"(or a study reading: {sorted(STUDY_READINGS)})")


def build(name: str, model=None, **kwargs):
    """Build the explainer registered as ``name`` (key or label); see :meth:`MethodSpec.build`.

    Nothing is range-checked: this rebuilds stored settings.  A user's choice goes
    through :func:`build_checked`.
    """
    return get_method(name).build(model, **kwargs)


def build_checked(name: str, model=None, *, budget=None, options: Mapping | None = None, seed: int = 0,
                  progress=None, batch_size=None, extra: Mapping | None = None):
    """The explainer for a user's choice, every setting checked against the registry.

    The one builder behind every front end (CLI ``explain`` and ``evaluate``, the
    widget's session, ``reproduce``, the sanity checks).

    Parameters
    ----------
    name : str
        Registry key (``"rise"``) or label (``"RISE"``).
    model : model or None
        Anything :func:`~saliency_widgets.models.as_model` takes.
    budget : int or None, keyword-only
        Forward passes; None: the registry's default.  A method without a budget
        refuses one (pass ``spec.shared_budget(b)`` for a budget shared by several methods).
    options : mapping {name: int} or None, keyword-only
        The method's registry options (``grid``, ``chains``, ``segments``), range-checked.
    seed : int, keyword-only
        Seed of a seeded method (ignored by the others).
    progress : bool or None, keyword-only
        Passed on where the explainer takes ``progress=``; None: its default.
    batch_size : int or None, keyword-only
        Passed on where the explainer batches; None: its default.
    extra : mapping or None, keyword-only
        Other constructor settings (``occluder=``...), checked by the constructor.

    Raises
    ------
    ValueError, TypeError
        See :meth:`MethodSpec.check`; the messages name the setting, the value and the range.
    """
    spec = get_method(name)
    params = spec.checked_params(budget=budget, options=options, seed=seed, extra=extra)
    if progress is not None and spec.accepts("progress"):
        params["progress"] = progress
    if batch_size is not None and spec.accepts("batch_size"):
        params["batch_size"] = batch_size
    return spec.build(model, **params)


def _in_range(spec: MethodSpec, name: str, value, opt: Option, *, what: str = "option") -> int:
    """``value`` as a Python int if it is an integer in ``opt``'s range, else an error naming all three."""
    role = " (the budget)" if what == "budget" else ""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{spec.name}: {name}={value!r}{role} must be an integer in [{opt.low}, {opt.high}]")
    setting = f"{name}={int(value)}{role}"
    if not opt.low <= value <= opt.high:
        raise ValueError(f"{spec.name}: {setting} is outside its range [{opt.low}, {opt.high}]")
    return int(value)


def available_methods(*, gradients: bool = True) -> dict[str, MethodSpec]:
    """The registered methods, without those that need gradients when the model has none."""
    return {k: s for k, s in METHODS.items() if gradients or not s.needs_gradients}
