"""The centre baseline: a map peaked at the image centre, whatever the image."""
from __future__ import annotations

import numpy as np

from ..explanation import Explanation
from ..models.base import check_image_array
from .base import constructor_params, params_from
from .declaration import Declaration, declaration_of, label_of

__all__ = ["CenterBaseline"]


class CenterBaseline:
    """A Gaussian bump at the image centre (sigma = 1/4 of each side).

    The floor that the pointing-game literature reports (TorchRay: 69.6% on
    VOC07, 27.8% on COCO).  It needs no model and makes no forward pass.
    """

    declarations = (
        Declaration("center", "centre baseline", needs_model=False,
                    summary="a Gaussian at the image centre: the floor a method must beat"),
    )
    budget = 0
    model = None

    def __init__(self, model=None):
        pass  # no settings: the map depends on the image size only

    @property
    def method(self) -> str:
        """The registry key (see :attr:`Explainer.method <saliency_widgets.explainers.Explainer.method>`)."""
        return declaration_of(self).key

    @property
    def label(self) -> str:
        """What tables and figures call it (computed, see :func:`~.declaration.label_of`)."""
        return label_of(self)

    def get_params(self) -> dict:
        """Every constructor setting except ``model`` (there is none)."""
        return {name: getattr(self, name) for name in constructor_params(type(self))}

    @property
    def params(self) -> dict:
        return params_from(self)

    def explain(self, image, target=None) -> Explanation:
        return next(self.iter_explain(image, target))

    def iter_explain(self, image, target=None):
        arr = check_image_array(image)
        if not np.all(np.isfinite(arr)):
            raise ValueError("image contains NaN or inf pixels")
        if target is not None:
            # No model: the class count is unknown, but a target is still a class index.
            if isinstance(target, bool) or not isinstance(target, (int, np.integer)):
                raise TypeError(f"target must be an integer class index >= 0 or None, got {target!r}")
            if target < 0:
                raise ValueError(f"target {target} is out of range: a class index is >= 0")
        h, w = arr.shape[:2]
        yy = (np.arange(h) - (h - 1) / 2) / (h / 4)
        xx = (np.arange(w) - (w - 1) / 2) / (w / 4)
        sal = np.exp(-0.5 * (yy[:, None] ** 2 + xx[None, :] ** 2)).astype(np.float32)
        sal /= sal.max()
        return iter([Explanation(saliency=sal, raw=sal.copy(), target=-1 if target is None else int(target),
                                 score=float("nan"), n_forward=0, method=self.method, params=self.params, done=True)])

    def __repr__(self) -> str:
        return "CenterBaseline()"

