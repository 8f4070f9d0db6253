"""Which methods an evaluation runs, and what each is called: :func:`resolve_methods`, the one place.

The local loop builds what it resolves on the driver's model (:func:`build_methods`); the
cluster turns it into recipes that workers rebuild on their own model
(:func:`saliency_widgets.evaluation.cluster.recipes_of`).  Both read the same names.
"""
from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["RegistryMethod", "resolve_methods", "build_methods", "is_registry_name"]


@dataclass(frozen=True)
class RegistryMethod:
    """A method named by the registry and not built yet: its entry and the params given with it."""

    spec: object
    params: dict = field(default_factory=dict)


def is_registry_name(item) -> bool:
    """A registry key or label, or a ``(name, params)`` pair."""
    return isinstance(item, str) or (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str))


def resolve_methods(explainers) -> dict:
    """``{name: explainer or RegistryMethod}`` from what ``evaluate(explainers, ...)`` was given.

    ``explainers`` is a dict ``{name: item}`` or a list of items; an item is a built explainer
    (named by its ``.method``, or a recipe by its ``.name``), a registry key or label (named by
    the entry's label) or a ``(registry name, params)`` pair.

    Raises
    ------
    ValueError
        Two methods under one name, or a registry name that is not registered.
    """
    from ..registry import get_method
    items = list(explainers.items()) if isinstance(explainers, dict) else [(None, e) for e in explainers]
    out = {}
    for name, item in items:
        if is_registry_name(item):
            key, params = (item, {}) if isinstance(item, str) else item
            spec = get_method(key)
            name, item = name or spec.label_for(params), RegistryMethod(spec, dict(params))
        name = name or getattr(item, "method", None) or getattr(item, "name", None) or type(item).__name__
        if name in out:
            raise ValueError(f"two explainers are named {name!r}: pass a dict {{name: explainer}}")
        out[name] = item
    return out


def build_methods(resolved: dict, model) -> dict:
    """``{name: explainer}``: the registry's methods of :func:`resolve_methods` built on ``model``."""
    out = {}
    for name, item in resolved.items():
        if isinstance(item, RegistryMethod):
            if model is None:
                raise ValueError(f"explainer {item.spec.key!r} is a registry name: pass model= to build it")
            item = item.spec.build(model, **item.params)
        out[name] = item
    return out
