"""How an explainer class declares its readings to the front ends (framework-free).

Minimal copy of the agreed API (helper A's version replaces it at merge).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

__all__ = ["Declaration"]


@dataclass(frozen=True)
class Declaration:
    """One reading of an explainer class, as the registry, the CLI and the widget offer it.

    Defaults of ``budget`` and ``options`` are never here: they are read from the constructor signature.
    """

    key: str                       # CLI/registry name, e.g. "rise"
    label: str                     # str.format template over the explainer's params, e.g. "RISE ({masks} masks)"
    fixed: Mapping = field(default_factory=dict)   # constructor settings that define this reading
    budget: str | None = None      # the constructor argument that counts forward passes
    budget_range: tuple | None = None   # (low, high) a front end may offer
    options: Mapping = field(default_factory=dict)  # {constructor arg: (low, high)} a front end may offer
    needs_model: bool = True
    needs_gradients: bool = False
    interactive_budget: int | None = None  # smaller budget for the widget; its label then shows the number
    study: bool = False            # registered but not offered by the widget/CLI lists
    summary: str = ""
