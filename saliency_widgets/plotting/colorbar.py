"""A map's colour scale: the colours of display values 0..1 and the raw values they stand for."""
from __future__ import annotations

import numpy as np

from .overlay import colorize

__all__ = ["display_range", "colorbar_rgb", "scale_ticks"]


def display_range(saliency, raw) -> tuple[float, float] | None:
    """``(raw value drawn as 0, raw value drawn as 1)`` of a display map, read back from the two maps.

    Every explainer draws ``clip(raw - c, 0) / (max(raw) - c)`` (``c``: the map's mean for RISE and the
    mask-update readings, 0 for the others; :func:`~saliency_widgets.explanation.normalize_map`), so the
    display value is linear in the raw value above ``c``.  The line is fitted (least squares) through the
    pixels drawn above 0, so the numbers are the map's own whatever its ``c``.  Raw values at or below the
    first number are all drawn as 0.

    Parameters
    ----------
    saliency : (H, W) display map in [0, 1] (``Explanation.saliency``)
    raw : (H, W) raw map (``Explanation.raw``)

    Returns
    -------
    (lo, hi) floats, or None for a blank map (nothing drawn above 0: no scale to read).

    Examples
    --------
    >>> raw = np.array([[1.0, 2.0], [3.0, 5.0]])
    >>> lo, hi = display_range(np.clip(raw - raw.mean(), 0, None) / (5.0 - raw.mean()), raw)
    >>> round(lo, 6), round(hi, 6)  # the mean (2.75) is drawn as 0, the maximum as 1
    (2.75, 5.0)
    """
    sal = np.asarray(saliency, np.float64)
    raw = np.asarray(raw, np.float64)
    if sal.shape != raw.shape:
        raise ValueError(f"saliency {sal.shape} and raw {raw.shape} must have the same shape")
    on = np.isfinite(sal) & np.isfinite(raw) & (sal > 0)
    if not on.any():
        return None
    s, r = sal[on], raw[on]
    if np.ptp(s) > 1e-6:
        slope, lo = np.polyfit(s, r, 1)
        return float(lo), float(lo + slope)
    hi = float(r.mean())  # one display level (a binary map): the pixels below it bound the lower end
    below = raw[np.isfinite(raw) & ~on]
    return (float(below.max()) if below.size else hi), hi


def scale_ticks(scale: tuple[float, float] | None, values=(0.0, 0.5, 1.0)) -> list[tuple[float, float | None]]:
    """``[(display value, raw value or None)]`` at ``values`` of the display scale (None: no raw scale)."""
    if scale is None:
        return [(float(v), None) for v in values]
    lo, hi = scale
    return [(float(v), float(lo + v * (hi - lo))) for v in values]


def colorbar_rgb(cmap: str = "viridis", *, width: int = 256, height: int = 10) -> np.ndarray:
    """(height, width, 3) uint8: display values 0 (left) to 1 (right) in ``cmap``'s colours."""
    ramp = np.repeat(np.linspace(0.0, 1.0, int(width))[None, :], int(height), axis=0)
    return colorize(ramp, cmap)
