"""RISE-style smooth random masks, made and upsampled in batches.

A mask is a small grid (s x s, values in [0, 1]) upsampled bilinearly to
(s + 1) * ceil(H / s) and cropped to H x W at a random offset.  Upsampling a
batch of grids is two small matrix products, so no mask is interpolated pixel
by pixel and only one batch of full-size masks exists at a time.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["interpolation_matrix", "MaskUpsampler"]


def interpolation_matrix(n_in: int, n_out: int) -> np.ndarray:
    """Linear interpolation from ``n_in`` to ``n_out`` samples as an (n_out, n_in) matrix.

    Reproduces ``skimage.transform.resize(..., order=1, mode="reflect",
    anti_aliasing=False)`` along one axis (pixel-centre alignment, mirrored edges),
    which is what RISE and the paper's prototype call.
    """
    out = np.zeros((n_out, n_in), np.float64)
    if n_in == 1:
        out[:, 0] = 1.0
        return out
    pos = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
    period = 2 * (n_in - 1)
    pos = np.abs(pos) % period  # mirror about 0 and n_in - 1
    pos = np.where(pos > n_in - 1, period - pos, pos)
    lo = np.minimum(np.floor(pos).astype(int), n_in - 1)
    hi = np.minimum(lo + 1, n_in - 1)
    frac = pos - lo
    rows = np.arange(n_out)
    np.add.at(out, (rows, lo), 1.0 - frac)
    np.add.at(out, (rows, hi), frac)
    return out


class MaskUpsampler:
    """Upsample batches of (s x s) grids to randomly shifted (H x W) masks.

    Parameters
    ----------
    grid : int
        Cells per side, s.
    shape : (H, W)
        Output size.

    Examples
    --------
    >>> up = MaskUpsampler(4, (10, 12))
    >>> rng = np.random.default_rng(0)
    >>> up(np.ones((3, 4, 4)), rng).shape
    (3, 10, 12)
    """

    def __init__(self, grid: int, shape: tuple[int, int]):
        self.grid = int(grid)
        self.shape = (int(shape[0]), int(shape[1]))
        h, w = self.shape
        self.cell = (math.ceil(h / self.grid), math.ceil(w / self.grid))
        up_h, up_w = (self.grid + 1) * self.cell[0], (self.grid + 1) * self.cell[1]
        self._rows = interpolation_matrix(self.grid, up_h).astype(np.float32)
        self._cols = interpolation_matrix(self.grid, up_w).astype(np.float32)

    def offsets(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw n (dy, dx) crop offsets, each in [0, cell) -- rows first, then columns."""
        dy = rng.integers(0, self.cell[0], size=n)
        dx = rng.integers(0, self.cell[1], size=n)
        return np.stack([dy, dx], axis=1)

    def upsample(self, grids: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """(n, s, s) grids and (n, 2) offsets -> (n, H, W) float32 masks."""
        grids = np.asarray(grids, np.float32)
        h, w = self.shape
        rows = self._rows[offsets[:, 0, None] + np.arange(h)]  # (n, H, s)
        cols = self._cols[offsets[:, 1, None] + np.arange(w)]  # (n, W, s)
        return np.matmul(np.matmul(rows, grids), cols.transpose(0, 2, 1))

    def __call__(self, grids: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return self.upsample(grids, self.offsets(rng, len(grids)))
