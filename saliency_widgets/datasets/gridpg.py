"""GridPG: 2 x 2 mosaics of the bundled real photos, one ImageNet class per tile (a pointing benchmark).

The grid pointing game (Böhle et al., CVPR 2021; Rao et al., CVPR 2022) puts ``grid x grid``
photos of distinct classes side by side; a map for one tile's class should point into that
tile (:func:`~saliency_widgets.metrics.grid_pointing.grid_pointing`) and hold most of its
positive mass there (:func:`~saliency_widgets.metrics.grid_pointing.grid_energy`).

Protocol here:

* the photos: :data:`~saliency_widgets.demo.PHOTOS` whose licence allows reuse (CC0, public
  domain, CC BY; the motorcycle's licence is unstated, so it is left out) and that list ImageNet
  classes (:data:`GRIDPG_PHOTOS`); each is centre-cropped square and resized to the tile side;
* a seeded draw of mosaics: ``grid**2`` distinct photos in a random order per mosaic, so the
  classes of a mosaic are distinct (no two bundled photos share a listed class);
* a tile's class is the photo's listed class that the model ranks highest on the whole mosaic,
  and the tile is a case only when that class is in the model's top-``k`` on the whole mosaic
  (the benchmark's "confidently classified" filter); its truth is the tile's box.

The result has the interface :func:`~saliency_widgets.evaluate` reads from a dataset
(``indices``, ``image``, ``truth``, ``labels``, ``subset``), so ``evaluate(methods,
gridpg_mosaics(model))`` scores it like any other image set.
"""
from __future__ import annotations

import numpy as np

from ..truth import as_objects, by_class

__all__ = ["GridPG", "GRIDPG_PHOTOS", "gridpg_mosaics", "mosaic_draw"]

#: the bundled photos GridPG uses: a reusable licence and at least one listed ImageNet class
GRIDPG_PHOTOS = ("cat", "coffee", "rocket", "camera", "china", "flower")


def mosaic_draw(n: int, *, seed, photos=GRIDPG_PHOTOS, grid: int = 2) -> list[tuple[str, ...]]:
    """``n`` mosaics, each a tuple of ``grid**2`` distinct photo names in tile order (row by row).

    Raises
    ------
    ValueError
        Fewer photos than tiles, or ``n < 1``.
    """
    photos = tuple(photos)
    tiles = grid * grid
    if grid < 1 or len(photos) < tiles:
        raise ValueError(f"a {grid} x {grid} mosaic needs {tiles} distinct photos, got {len(photos)}: {photos}")
    if n < 1:
        raise ValueError(f"n must be >= 1 mosaics, got {n}")
    rng = np.random.default_rng(seed)
    return [tuple(photos[j] for j in rng.permutation(len(photos))[:tiles]) for _ in range(n)]


class GridPG:
    """Mosaics and their kept tiles, readable by :func:`~saliency_widgets.evaluate` as a dataset.

    Attributes
    ----------
    images : list of (H, W, 3) uint8 mosaics
    cases : list of lists of (label, box, photo) per mosaic: the kept tiles
    layouts : list of tuples of photo names (tile order, row by row)
    dropped : list of (mosaic, photo, best listed class, its rank): tiles whose class missed the top-k
    k, seed, tile, grid : the settings that made it
    """

    name = "gridpg"

    def __init__(self, images, cases, layouts, *, dropped=(), k=5, seed=None, tile=112, grid=2):
        if len(images) != len(cases) or len(images) != len(layouts):
            raise ValueError(f"got {len(images)} images, {len(cases)} case lists, {len(layouts)} layouts: one each")
        self.images, self.cases, self.layouts = list(images), list(cases), list(layouts)
        self.dropped, self.k, self.seed, self.tile, self.grid = list(dropped), k, seed, tile, grid
        self._keep = [i for i, c in enumerate(self.cases) if c]

    def indices(self) -> list[int]:
        """The mosaics with at least one kept tile."""
        return list(self._keep)

    def __len__(self) -> int:
        return len(self._keep)

    def image(self, i: int) -> np.ndarray:
        return self.images[i]

    def truth(self, i: int) -> dict:
        """{label: (tile mask, [tile box], 1, False)}: the shape evaluate() reads (never EBP-difficult)."""
        shape = self.images[i].shape[:2]
        by = by_class(as_objects([(label, box) for label, box, _ in self.cases[i]]), shape)
        return {label: (mask, boxes, 1, False) for label, (mask, boxes) in by.items()}

    def labels(self, i: int) -> list[tuple[int, int]]:
        return [(label, 1) for label, _, _ in self.cases[i]]

    def photo_of(self, i: int, label: int) -> str:
        """The photo whose tile carries class ``label`` in mosaic ``i``."""
        return next(p for lab, _, p in self.cases[i] if lab == label)

    def subset(self, indices) -> "GridPG":
        keep = set(int(i) for i in indices)
        out = GridPG(self.images, [c if i in keep else [] for i, c in enumerate(self.cases)], self.layouts,
                     dropped=self.dropped, k=self.k, seed=self.seed, tile=self.tile, grid=self.grid)
        return out


def _tiles(names, side):
    from ..demo import sample_images
    return sample_images(side, names=names)


def _mosaic(layout, tiles, grid, side):
    img = np.zeros((grid * side, grid * side, 3), np.uint8)
    boxes = []
    for t, name in enumerate(layout):
        r, c = divmod(t, grid)
        img[r * side:(r + 1) * side, c * side:(c + 1) * side] = tiles[name]
        boxes.append((c * side, r * side, (c + 1) * side, (r + 1) * side))
    return img, boxes


def gridpg_mosaics(model, n: int = 12, *, seed=0, k: int = 5, photos=GRIDPG_PHOTOS, grid: int = 2,
                   tile: int = 112, batch_size: int = 16) -> GridPG:
    """Draw ``n`` mosaics (seeded), classify each once, keep the tiles whose class is in the top-``k``.

    Parameters
    ----------
    model : anything :func:`~saliency_widgets.models.as_model` takes (an ImageNet classifier)
    n : int
        Mosaics drawn (some may keep no tile; :meth:`GridPG.indices` lists those that keep one).
    seed : int or numpy Generator, keyword-only
        The draw of photos and their order.
    k : int, keyword-only
        A tile is a case when its class is in the model's top-``k`` on the whole mosaic.
    photos : names in :data:`~saliency_widgets.demo.PHOTOS`, keyword-only
        Each must list at least one ImageNet class; at least ``grid**2`` of them.
    grid, tile : int, keyword-only
        Tiles per side and the tile side in pixels (2 x 112 = EfficientNet-Lite0's 224 input).
    """
    from ..demo import PHOTOS
    from ..models.predict import predict_images

    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    unknown = [p for p in photos if p not in PHOTOS or not PHOTOS[p].classes]
    if unknown:
        raise ValueError(f"photos {unknown} are unknown or list no ImageNet class; choose from "
                         f"{[p for p in PHOTOS if PHOTOS[p].classes]}")
    layouts = mosaic_draw(n, seed=seed, photos=photos, grid=grid)
    tiles = _tiles(sorted(set(photos)), tile)
    made = [_mosaic(lay, tiles, grid, tile) for lay in layouts]
    scores = np.concatenate([predict_images(model, [im for im, _ in made[j:j + batch_size]])
                             for j in range(0, len(made), batch_size)])
    cases, dropped = [], []
    for i, ((img, boxes), lay) in enumerate(zip(made, layouts)):
        rank = np.argsort(np.argsort(-scores[i], kind="stable"), kind="stable")  # 0 = top-1
        kept = []
        for name, box in zip(lay, boxes):
            best = min(PHOTOS[name].classes, key=lambda c: rank[c])
            if rank[best] < k:
                kept.append((int(best), box, name))
            else:
                dropped.append((i, name, int(best), int(rank[best]) + 1))
        cases.append(kept)
    return GridPG([im for im, _ in made], cases, layouts, dropped=dropped, k=k, seed=seed, tile=tile, grid=grid)
