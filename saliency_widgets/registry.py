"""One registry of methods, collected from the explainer classes: every front end reads it.

A method is declared once, beside its class: each class in
:data:`saliency_widgets.explainers.__all__` carries ``declarations``, one
:class:`~saliency_widgets.explainers.declaration.Declaration` per reading (its ``key``,
its label template, the ``fixed`` settings that define it, the budget and options a front end
may offer with their ranges).  The defaults are the constructor's, never the registry's: the
same name runs the same settings in the CLI, the widget, ``evaluate``, ``reproduce`` and the
sanity checks.  Adding a method is one file in ``explainers/`` and one import line in
``explainers/__init__.py``; ``tests/explainers/test_contract.py`` then checks it.

Labels are computed from the settings that ran: :func:`label_of` (``explainer.label``).

Two ways to build:

- :func:`build_checked` is what every front end calls with what a user chose
  (the CLI's ``explain`` and ``evaluate``, the widget's session, ``reproduce``,
  the sanity checks): the budget and the options are checked against the
  declared ranges (:meth:`MethodSpec.check`), so the same bad value gets the
  same error everywhere, and a budget left out is the constructor's default.
- :func:`build` rebuilds an explainer from a stored ``(key, params)`` pair of
  constructor settings (that is how explainers travel to Dask workers and how
  ``evaluate()`` checks a results file); it checks nothing beyond the
  constructor's own checks.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Mapping

from . import explainers as _explainers
from .explainers.declaration import SEED, Declaration, constructor_defaults, declaration_of, label_from, label_of

__all__ = ["Option", "MethodSpec", "METHODS", "STUDY_READINGS", "get_method", "build", "build_checked",
           "available_methods", "label_of", "declaration_of", "Declaration", "methods_table"]


@dataclass(frozen=True)
class Option:
    """A setting a UI may offer: its default and inclusive range."""

    default: int
    low: int
    high: int


@dataclass(frozen=True)
class MethodSpec:
    """A registered reading as front ends see it: its :class:`Declaration`, with the defaults read
    from the class's constructor (see :func:`spec_of`)."""

    key: str                      # command-line name, e.g. "mask-update-paper"
    label: str                    # the label at the constructor's defaults (what the widget's list shows)
    cls: type
    fixed: dict = field(default_factory=dict)   # constructor settings that define the reading
    budget_arg: str | None = None               # "steps", "masks", "samples"; None: no budget
    budget: Option | None = None
    options: dict = field(default_factory=dict)  # {constructor argument: Option}
    needs_model: bool = True
    needs_gradients: bool = False
    seeded: bool = True
    summary: str = ""
    interactive_budget: int | None = None       # the widget's budget (None: the constructor's)
    declaration: Declaration | None = None

    @property
    def ui_budget(self) -> int | None:
        """The budget an interactive front end starts with: the declared interactive one, else the default."""
        if self.budget is None:
            return None
        return self.interactive_budget if self.interactive_budget is not None else self.budget.default

    def label_for(self, params: Mapping | None = None, *, budget: bool = False) -> str:
        """The label of this reading built with constructor settings ``params`` (the rest: the constructor's
        defaults), as the built explainer's :attr:`label` says it (see :func:`label_of`)."""
        if self.declaration is None:
            return self.label
        return label_from(self.declaration, self.cls, dict(params or {}), budget=budget)

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
            constructor's default (``self.budget.default``).  A method without a
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
        checked = {name: self.declaration.check_value(self.cls, name, value) for name, value in options.items()}
        if self.budget_arg is None:
            if budget is not None:
                raise ValueError(f"{self.name} has no budget of forward passes, got budget={budget!r}: "
                                 "give no budget for it")
            return None, checked
        if budget is None:
            return self.budget.default, checked
        return self.declaration.check_value(self.cls, self.budget_arg, budget), checked

    def checked_params(self, *, budget=None, options: Mapping | None = None, seed: int = SEED,
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
        method built without ``seed`` gets the constructor's default, :data:`~.explainers.declaration.SEED`
        (0), as the class itself does.
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
        if not self.needs_model and model is None:
            explainer = self.cls(**kwargs)
        else:
            explainer = self.cls(model, **kwargs)
        if self.declaration is not None:
            explainer._declaration = self.declaration  # its method and label name this reading
            explainer.__dict__.pop("_method_key", None)
        return explainer


def spec_of(cls, decl: Declaration) -> MethodSpec:
    """The :class:`MethodSpec` of declaration ``decl`` of class ``cls``: defaults from the constructor."""
    decl.check_class(cls)
    defaults = constructor_defaults(cls)
    budget = None
    if decl.budget is not None:
        budget = Option(defaults[decl.budget], *decl.budget_range)
    options = {name: Option(defaults[name], *rng) for name, rng in decl.options.items()}
    label = decl.label.format(**{**defaults, **decl.fixed})
    return MethodSpec(decl.key, label, cls, dict(decl.fixed), decl.budget, budget, options,
                      needs_model=decl.needs_model, needs_gradients=decl.needs_gradients,
                      seeded="seed" in defaults, summary=decl.summary,
                      interactive_budget=decl.interactive_budget, declaration=decl)


def _collect() -> tuple[dict, dict]:
    """(offered, study readings): every class in ``explainers.__all__`` with ``declarations`` of its own."""
    offered, study = {}, {}
    for name in _explainers.__all__:
        cls = getattr(_explainers, name)
        for decl in vars(cls).get("declarations", ()):
            if decl.key in offered or decl.key in study:
                raise ValueError(f"two methods are registered as {decl.key!r} (the second in {cls.__name__})")
            (study if decl.study else offered)[decl.key] = spec_of(cls, decl)
    return offered, study


# METHODS: what the widget's list and the CLI's --method offer.  STUDY_READINGS: readings of the mask update
# that studies compare (reproduce's convergence study) but the front ends do not offer.
METHODS, STUDY_READINGS = _collect()


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


def build_checked(name: str, model=None, *, budget=None, options: Mapping | None = None, seed: int = SEED,
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
        Forward passes; None: the constructor's default.  A method without a budget
        refuses one (pass ``spec.shared_budget(b)`` for a budget shared by several methods).
    options : mapping {name: int} or None, keyword-only
        The method's registry options (``grid``, ``chains``, ``segments``), range-checked.
    seed : int, keyword-only
        Seed of a seeded method (ignored by the others); default the constructors' own, ``SEED`` (0).
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


def label(name: str, model=None, **params) -> str:
    """The label of the explainer registered as ``name`` built with ``params`` (see :func:`label_of`)."""
    return label_of(build(name, model, **params))


def methods_table() -> str:
    """README's table of methods, as markdown, from the declarations (a test keeps README equal to it)."""
    def budget(s):
        if s.budget is None:
            return "--"
        widget = "" if s.ui_budget == s.budget.default else f" (widget: {s.ui_budget})"
        return f"{s.budget.default} {s.budget_arg}{widget}, {s.budget.low}-{s.budget.high}"

    def options(s):
        return ", ".join(f"{n} {o.default} ({o.low}-{o.high})" for n, o in s.options.items()) or "--"

    rows = ["| key | label at the defaults (template) | budget: default, range | options | what runs |",
            "| --- | --- | --- | --- | --- |"]
    for table, study in ((METHODS, ""), (STUDY_READINGS, " *(study reading: not in the widget's or CLI's lists)*")):
        for s in table.values():
            template = f" (`{s.declaration.label}`)" if s.declaration.label != s.label else ""
            rows.append(f"| `{s.key}` | {s.label}{template} | {budget(s)} | {options(s)} | {s.summary}{study} |")
    return "\n".join(rows)


def available_methods(*, gradients: bool | str | None = True) -> dict[str, MethodSpec]:
    """The registered methods a model can run.

    ``gradients``: True (every method), False or None (the model has no gradients: no method that needs
    them), or the kind of the model's gradients, ``"keras"``, ``"torch"`` or ``"jax"`` (the adapter's
    ``gradient_source``): the methods that need gradients from that kind (each class's
    ``gradient_frameworks``, e.g. Grad-CAM only for Keras).
    """
    if isinstance(gradients, str):
        return {k: s for k, s in METHODS.items()
                if not s.needs_gradients or gradients in getattr(s.cls, "gradient_frameworks", ())}
    return {k: s for k, s in METHODS.items() if gradients or not s.needs_gradients}
