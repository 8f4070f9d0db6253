"""One registry of methods: every front end (CLI, widget, reproduce, evaluate) reads it.

Each entry says what runs: its user-facing ``label`` names the exact reading
(the paper's method is called that), ``key`` is the command-line name,
``fixed`` holds the constructor settings that define the reading, and
``budget_arg`` / ``options`` tell a UI which settings it may offer and in
which ranges.  Build an explainer with :func:`build`; rebuild one from a
stored ``(key, params)`` pair with the same call (that is how explainers
travel to Dask workers and how ``evaluate()`` checks a results file).
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field

from .explainers import CenterBaseline, GradCam, Lime, MaskUpdate, Occlusion, Rise

__all__ = ["Option", "MethodSpec", "METHODS", "STUDY_READINGS", "get_method", "build", "available_methods"]


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
    """Build the explainer registered as ``name`` (key or label); see :meth:`MethodSpec.build`."""
    return get_method(name).build(model, **kwargs)


def available_methods(*, gradients: bool = True) -> dict[str, MethodSpec]:
    """The registered methods, without those that need gradients when the model has none."""
    return {k: s for k, s in METHODS.items() if gradients or not s.needs_gradients}
