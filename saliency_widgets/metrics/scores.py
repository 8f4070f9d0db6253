"""The localisation scores of one map against one class's truth, as ``evaluate()`` and the widget report them."""
from __future__ import annotations

import numpy as np

from .grid_pointing import grid_energy
from .localization import box_iou
from .names import ENERGY_METRICS, LOCALIZATION_METRICS
from .pointing import pointing_game

__all__ = ["localization_scores"]


def localization_scores(raw, mask, boxes, *, metrics=LOCALIZATION_METRICS, tolerance=15, iou_rule="fraction",
                        iou_threshold=0.5, tie_seed=0) -> dict:
    """Pointing game (TorchRay's, within ``tolerance`` px and strict) and box IoU of one map.

    Parameters
    ----------
    raw : (H, W) array
        The unnormalised map (``Explanation.raw``): every metric ranks by it.
    mask : (H, W) bool array
        The union of the class's objects (the pointing game's truth).
    boxes : list of (x0, y0, x1, y1)
        The class's object boxes: box IoU is the best IoU over them.
    metrics : iterable of {"pointing", "pointing_strict", "box_iou", "energy", "energy_centred"}, keyword-only
        ``energy`` is the share of the positive map in ``mask`` (:func:`.grid_energy`), ``energy_centred``
        the same after subtracting the map's mean.
    tolerance, iou_rule, iou_threshold, tie_seed : keyword-only
        See :func:`.pointing_game` and :func:`.box_iou`.

    Returns
    -------
    dict
        ``{metric: value}`` for the metrics asked for (bools for the pointing game).

    Examples
    --------
    >>> raw = np.zeros((8, 8)); raw[1, 1] = 1
    >>> mask = np.zeros((8, 8), bool); mask[:3, :3] = True
    >>> localization_scores(raw, mask, [(0, 0, 3, 3)], tolerance=0)["pointing"]
    True
    """
    unknown = sorted(set(metrics) - set(LOCALIZATION_METRICS + ENERGY_METRICS))
    if unknown:
        raise ValueError(f"unknown localisation metrics {unknown}; choose from "
                         f"{list(LOCALIZATION_METRICS + ENERGY_METRICS)}")
    raw = np.asarray(raw, np.float64)
    out = {}
    if "pointing" in metrics:
        out["pointing"] = pointing_game(raw, mask, tolerance=tolerance, tie_seed=tie_seed)
    if "pointing_strict" in metrics:
        out["pointing_strict"] = pointing_game(raw, mask, tolerance=0, tie_seed=tie_seed)
    if "box_iou" in metrics:
        out["box_iou"] = box_iou(raw, boxes, rule=iou_rule, threshold=iou_threshold, tie_seed=tie_seed)
    if "energy" in metrics:
        out["energy"] = grid_energy(raw, mask)
    if "energy_centred" in metrics:
        out["energy_centred"] = grid_energy(raw, mask, centre=True)
    return out
