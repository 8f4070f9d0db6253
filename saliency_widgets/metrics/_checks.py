"""Input checks shared by the metrics (ground truth is parsed in :mod:`saliency_widgets.truth`)."""
from __future__ import annotations

import numpy as np


def check_saliency(saliency, shape=None) -> np.ndarray:
    sal = np.asarray(saliency, dtype=np.float64)
    if sal.ndim != 2 or sal.size == 0:
        raise ValueError(f"saliency must be a non-empty (H, W) map, got shape {sal.shape}")
    if np.isnan(sal).any():
        raise ValueError("saliency contains NaN")
    if shape is not None and sal.shape != tuple(shape):
        raise ValueError(f"saliency has shape {sal.shape} but the image is {tuple(shape)}: "
                         "the map must have the image's height and width")
    return sal
