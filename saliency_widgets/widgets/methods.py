"""The explainers the widget offers, and the few settings that matter for each."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..explainers import GradCam, Lime, MaskUpdate, Occlusion, Rise

__all__ = ["MethodSpec", "default_methods"]


@dataclass
class MethodSpec:
    """How the widget builds one explainer: ``make(model, budget, grid, chains, seed)``."""

    name: str
    make: Callable
    budget_label: str | None = "steps"   # None: the method has no budget (Grad-CAM)
    budget: int = 2000
    budget_range: tuple[int, int] = (100, 10000)
    uses_grid: bool = True
    uses_chains: bool = False


def default_methods(keras: bool) -> dict[str, MethodSpec]:
    specs = [
        MethodSpec("mask-update", lambda m, b, g, c, s: MaskUpdate(m, steps=b, grid=g, chains=c, seed=s),
                   "steps", 2000, (100, 10000), True, True),
        MethodSpec("mask-update (faithful)",
                   lambda m, b, g, c, s: MaskUpdate.faithful(m, steps=b, grid=g, seed=s),
                   "steps", 5000, (100, 10000), True, False),
        MethodSpec("rise", lambda m, b, g, c, s: Rise(m, masks=b, grid=g, seed=s), "masks", 2000, (100, 10000)),
        MethodSpec("lime", lambda m, b, g, c, s: Lime(m, samples=b, segments=g * g, seed=s), "samples", 1000,
                   (50, 5000)),
        MethodSpec("occlusion", lambda m, b, g, c, s: Occlusion(m), None, 0, (0, 0), False),
    ]
    if keras:
        specs.append(MethodSpec("grad-cam", lambda m, b, g, c, s: GradCam(m), None, 0, (0, 0), False))
    return {s.name: s for s in specs}
