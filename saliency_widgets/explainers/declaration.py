"""How a method is declared beside its class, and the label computed from the settings that ran.

Framework-free.  An explainer class carries ``declarations``: one :class:`Declaration` per
reading of the class that the registry offers (``MaskUpdate`` has its paper, default and
relative readings).  A declaration names the reading and says what a front end may offer;
it never holds a default: every default is read from the constructor signature, so
``Rise(model)``, ``build("rise", model)`` and ``python -m saliency_widgets explain --method
rise`` run the same settings.

Labels are computed from the settings that ran (:func:`label_of`): the declaration's
template formatted over the explainer's ``params``, then every setting that differs from its
constructor default and that the template does not name (``RISE [grid=4]``); with
``budget=True`` the forward passes too (``RISE @ 2000 masks``).  At the constructor's defaults
a label is the template alone, which is what tables key their rows by.
"""
from __future__ import annotations

import inspect
import string
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

__all__ = ["Declaration", "constructor_defaults", "declaration_of", "label_of", "label_from", "budget_of",
           "check_declared", "SEED"]

#: The seed every seeded explainer's constructor defaults to, and so every front end (the registry builds
#: with the constructor's default): a map is reproducible unless a user asks for another draw.
SEED = 0

# Settings a label never names: the seed changes the draw, not the method (it is in ``params``).
_UNLABELLED = frozenset({"seed"})


@dataclass(frozen=True)
class Declaration:
    """One registered reading of an explainer class.

    Parameters
    ----------
    key : str
        Command-line and registry name (``"rise"``).
    label : str
        A ``str.format`` template over the explainer's ``params`` (``"mask-update ({chains} chains,
        score-weighted)"``); see :func:`label_of`.
    fixed : mapping
        Constructor settings that define this reading; they cannot be overridden through the registry.
    budget : str or None
        The constructor argument that counts forward passes (``"masks"``); None: no budget.
    budget_range : (int, int) or None
        Inclusive range of the budget: what the constructor accepts and every front end offers (the one
        place a budget is range-checked, :meth:`check_value`).
    options : mapping {constructor argument: (low, high)}
        Settings a front end may offer, with their inclusive ranges (defaults: the constructor's), checked
        by the constructor and the front ends alike.
    needs_model : bool
        False for a method that never calls the model (the centre baseline).
    needs_gradients : bool
        True for a method that needs the model's gradients (offered only for models that have them).
    interactive_budget : int or None
        A smaller budget for an interactive front end (the widget), which then shows it in the label.
    study : bool
        Registered (labels, settings) but not offered by the widget's and CLI's lists.
    summary : str
        One line: what the reading is (the CLI's help, README's table).
    """

    key: str
    label: str
    fixed: Mapping = field(default_factory=dict)
    budget: str | None = None
    budget_range: tuple | None = None
    options: Mapping = field(default_factory=dict)
    needs_model: bool = True
    needs_gradients: bool = False
    interactive_budget: int | None = None
    study: bool = False
    summary: str = ""

    def __post_init__(self):
        object.__setattr__(self, "fixed", MappingProxyType(dict(self.fixed)))
        object.__setattr__(self, "options", MappingProxyType({k: tuple(v) for k, v in self.options.items()}))
        if (self.budget is None) != (self.budget_range is None):
            raise ValueError(f"declaration {self.key!r}: give budget and budget_range together")
        if self.budget in self.options or self.budget in self.fixed:
            raise ValueError(f"declaration {self.key!r}: the budget {self.budget!r} is neither an option nor fixed")
        if set(self.options) & set(self.fixed):
            raise ValueError(f"declaration {self.key!r}: {sorted(set(self.options) & set(self.fixed))} "
                             "are both fixed and offered")

    def __hash__(self):
        return hash((self.key, self.label))  # the mappings are not hashable; key and label identify it

    def __reduce__(self):
        # mappingproxy does not pickle: an explainer built from the registry carries its declaration
        # (pickled with it, copied by copy.deepcopy), so rebuild from plain dicts.
        from dataclasses import fields
        args = [getattr(self, f.name) for f in fields(self)]
        return (type(self), tuple(dict(a) if isinstance(a, MappingProxyType) else a for a in args))

    @property
    def template_fields(self) -> set:
        """The settings the label template names."""
        return {name for _, name, _, _ in string.Formatter().parse(self.label) if name}

    def name(self, cls) -> str:
        """How errors name this reading: its key and its label at ``cls``'s defaults (``rise ('RISE')``)."""
        return f"{self.key} ({self.label.format(**{**constructor_defaults(cls), **self.fixed})!r})"

    def range_of(self, setting: str) -> tuple | None:
        """The inclusive range of ``setting`` (the budget or an option), None: not range-checked."""
        return self.budget_range if setting == self.budget else self.options.get(setting)

    def check_value(self, cls, setting: str, value) -> int:
        """``value`` of ``setting`` as a Python int if it is an integer in its declared range.

        The one range check of a setting: the constructor (:func:`check_declared`) and every front end
        (:meth:`~saliency_widgets.registry.MethodSpec.check`) call it, so ``Rise(model, masks=0)`` and
        ``explain --method rise --budget 0`` fail with the same words.

        Raises
        ------
        TypeError
            ``value`` is not an integer.
        ValueError
            ``value`` is outside the range; the message names the reading, the setting, the value and the range.
        """
        import numpy as np
        low, high = self.range_of(setting)
        role = " (the budget)" if setting == self.budget else ""
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{self.name(cls)}: {setting}={value!r}{role} must be an integer in [{low}, {high}]")
        if not low <= value <= high:
            raise ValueError(f"{self.name(cls)}: {setting}={int(value)}{role} is outside its range [{low}, {high}]")
        return int(value)

    def check_class(self, cls) -> None:
        """Raise if the declaration names a setting ``cls``'s constructor does not take or has no default for."""
        defaults = constructor_defaults(cls)
        named = set(self.fixed) | set(self.options) | ({self.budget} - {None}) | self.template_fields
        missing = sorted(named - set(defaults))
        if missing:
            raise TypeError(f"declaration {self.key!r} names {missing}, which {cls.__name__}.__init__ does not "
                            f"take with a default; its settings are {sorted(defaults)}")


def constructor_defaults(cls) -> dict:
    """``{setting: default}`` of ``cls.__init__`` (keyword settings with a default; not ``model``)."""
    out = {}
    for name, p in inspect.signature(cls.__init__).parameters.items():
        if name in ("self", "model") or p.default is inspect.Parameter.empty:
            continue
        if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD):
            out[name] = p.default
    return out


def _matches(decl: Declaration, params: Mapping) -> bool:
    return all(params.get(k) == v for k, v in decl.fixed.items())


def declaration_of(explainer) -> Declaration | None:
    """The declaration behind ``explainer``: the one the registry built it from, else the most specific
    declaration of its class whose fixed settings it has (None: none matches)."""
    built = getattr(explainer, "_declaration", None)
    if built is not None:
        return built
    params = explainer.params
    decls = [d for d in getattr(type(explainer), "declarations", ()) if _matches(d, params)]
    return max(decls, key=lambda d: len(d.fixed), default=None)  # max keeps the first of equals


def check_declared(explainer) -> None:
    """Range-check an explainer's budget and options against the declaration its settings match.

    Called by :class:`~.base.Explainer`'s constructor once the subclass has stored its settings (as given:
    this is where they are checked and made Python ints); reads only the declared settings (a subclass may
    set others after).  Settings that match no reading are checked against the class's first declaration
    (a class's readings share their ranges).
    """
    cls = type(explainer)
    missing = object()
    own = getattr(cls, "declarations", ())
    decls = [d for d in own if all(getattr(explainer, k, missing) == v for k, v in d.fixed.items())]
    decl = max(decls, key=lambda d: len(d.fixed), default=own[0] if own else None)
    if decl is None:
        return
    for setting in ([decl.budget] if decl.budget else []) + list(decl.options):
        value = getattr(explainer, setting, missing)
        if value is not missing:
            object.__setattr__(explainer, setting, decl.check_value(cls, setting, value))


def _value_text(value) -> str:
    return value if isinstance(value, str) else repr(value)


def budget_of(explainer) -> int | None:
    """The forward passes ``explainer`` was built to spend (its declared budget setting), or None."""
    decl = declaration_of(explainer)
    if decl is None or decl.budget is None:
        return None
    return explainer.params.get(decl.budget)


def label_of(explainer, *, budget: bool = False) -> str:
    """What ``explainer`` is called, computed from the settings it runs with.

    The declaration's template over ``explainer.params``, then ``[name=value, ...]`` for every
    setting that differs from the constructor's default and that neither the template, the
    declaration's fixed settings nor the budget names (the seed is never named).  With
    ``budget=True``, `` @ N <budget name>`` too (what an interactive front end shows).  An
    explainer no declaration matches is named by its class and settings.
    """
    decl = declaration_of(explainer)
    params = dict(explainer.params)
    if decl is None:
        args = ", ".join(f"{k}={_value_text(v)}" for k, v in params.items() if k not in _UNLABELLED)
        return f"{type(explainer).__name__}({args})"
    resolved = getattr(explainer, "_resolved_defaults", dict)()
    return label_from(decl, type(explainer), params, budget=budget, resolved=resolved)


def label_from(decl: Declaration, cls, params: Mapping, *, budget: bool = False, resolved: Mapping = None) -> str:
    """The label of ``cls`` built as reading ``decl`` with constructor settings ``params`` (the rest: defaults).

    What :func:`label_of` computes for a built explainer; front ends that name a method before
    its model is loaded (``evaluate --methods``) call it with the checked settings.
    ``resolved``: defaults the constructor resolves (Grad-CAM's ``layer=None``: the last convolution).
    """
    defaults = {**constructor_defaults(cls), **(resolved or {})}
    params = {**defaults, **decl.fixed, **params}
    text = decl.label.format(**params)
    named = decl.template_fields | set(decl.fixed) | {decl.budget} | _UNLABELLED
    changed = [f"{k}={_value_text(v)}" for k, v in params.items()
               if k not in named and k in defaults and not _same(v, defaults[k])]
    if changed:
        text += f" [{', '.join(changed)}]"
    if budget and decl.budget is not None and decl.budget not in decl.template_fields:
        text += f" @ {params[decl.budget]} {decl.budget}"  # (a template that names the budget says it already)
    return text


def _same(value, default) -> bool:
    """Whether a recorded setting is its default (params store tuples as lists, numbers as floats)."""
    if isinstance(default, tuple):
        default = list(default)
    try:
        return bool(value == default)
    except (TypeError, ValueError):
        return False
