"""GridPG: 2 x 2 mosaics of the bundled real photos, one ImageNet class per tile (a pointing benchmark).

The grid pointing game (Böhle et al., CVPR 2021, "Convolutional Dynamic Alignment Networks"; Rao et
al., CVPR 2022) puts ``grid x grid`` images of distinct classes, each classified confidently by the
model on its own, side by side; a map explaining one tile's class on the whole mosaic should hold its
positive attribution in that tile (:func:`~saliency_widgets.metrics.grid_pointing.grid_energy`) and
point into it (:func:`~saliency_widgets.metrics.grid_pointing.grid_pointing`).

Protocol here:

* the photos: :data:`~saliency_widgets.demo.PHOTOS` whose licence allows reuse (CC0, public
  domain, CC BY; the motorcycle's licence is unstated, so it is left out) and that list ImageNet
  classes (:data:`GRIDPG_PHOTOS`); each tile is the photo's frame (:func:`~saliency_widgets.demo.framed_square`),
  resized to the tile side;
* confidence (:func:`tile_confidence`): each photo's tile *on its own*, resized to the mosaic's side
  (the model's input), classified once; its class is the photo's listed class the model ranks highest
  there, and ``p`` that class's probability.  A photo takes part when ``p >= threshold`` (a stated
  threshold, no default: the papers keep only confidently classified images);
* a seeded, balanced draw of mosaics (:func:`mosaic_draw`): ``grid**2`` distinct photos per mosaic
  (no two bundled photos share a listed class), each photo in as many mosaics as any other (+- 1), so no
  photo provides more than ``max_share`` of the cases (checked: :class:`ValueError` otherwise);
* every tile of every mosaic is a case (as in the papers: every cell of a grid is explained); its
  truth is the tile's box.

The result has the interface :func:`~saliency_widgets.evaluate` reads from a dataset
(``indices``, ``image``, ``truth``, ``labels``, ``subset``), so ``evaluate(methods,
gridpg_mosaics(model, threshold=0.1))`` scores it like any other image set.
"""
from __future__ import annotations

import numpy as np

from ..truth import as_objects, by_class

__all__ = ["GridPG", "GRIDPG_PHOTOS", "MAX_SHARE", "gridpg_mosaics", "mosaic_draw", "tile_confidence",
           "confident_photos", "photo_shares"]

#: the bundled photos GridPG uses: a reusable licence and at least one listed ImageNet class
GRIDPG_PHOTOS = ("cat", "coffee", "rocket", "camera", "china", "flower", "hopper", "shuttle")
#: the largest share of the cases one photo may provide
MAX_SHARE = 0.25


def mosaic_draw(n: int, *, seed, photos=GRIDPG_PHOTOS, grid: int = 2) -> list[tuple[str, ...]]:
    """``n`` mosaics, each a tuple of ``grid**2`` distinct photo names in tile order (row by row).

    Balanced: each mosaic takes the photos used least so far (ties in a seeded random order), so
    the photos' counts differ by at most one; the tile order is a seeded permutation.

    Raises
    ------
    ValueError
        Fewer photos than tiles, or ``n < 1``.

    Examples
    --------
    >>> from collections import Counter
    >>> Counter(p for lay in mosaic_draw(4, seed=0, photos="abcdefgh") for p in lay) == Counter("abcdefgh" * 2)
    True
    """
    photos = tuple(photos)
    tiles = grid * grid
    if grid < 1 or len(photos) < tiles:
        raise ValueError(f"a {grid} x {grid} mosaic needs {tiles} distinct photos, got {len(photos)}: {photos}")
    if n < 1:
        raise ValueError(f"n must be >= 1 mosaics, got {n}")
    rng = np.random.default_rng(seed)
    counts = np.zeros(len(photos), int)
    out = []
    for _ in range(n):
        pick = sorted(rng.permutation(len(photos)), key=lambda j: counts[j])[:tiles]  # stable: random among ties
        counts[pick] += 1
        out.append(tuple(photos[j] for j in rng.permutation(pick)))
    return out


def photo_shares(layouts) -> dict[str, float]:
    """{photo: share of all tiles} over ``layouts`` (what share of the cases each photo provides)."""
    names = [p for lay in layouts for p in lay]
    return {p: names.count(p) / len(names) for p in dict.fromkeys(names)}


def tile_confidence(model, photos=GRIDPG_PHOTOS, *, grid: int = 2, tile: int = 112) -> dict[str, tuple[int, float]]:
    """{photo: (class, p)}: each photo's tile classified on its own.

    The tile (:func:`~saliency_widgets.demo.framed_square` at ``tile`` px, what the mosaic shows) is
    resized (bilinear) to the mosaic's side ``grid * tile`` (the model's input) and classified once;
    ``class`` is the photo's listed class with the highest probability there, ``p`` that probability.
    """
    from skimage.transform import resize

    from ..demo import PHOTOS
    from ..models.predict import predict_images
    _check_photos(photos)
    side = grid * tile
    tiles = _tiles(photos, tile)
    alone = [resize(tiles[p], (side, side), order=1, preserve_range=True).astype(np.float32) for p in photos]
    probs = predict_images(model, alone)
    out = {}
    for p, row in zip(photos, probs):
        best = max(PHOTOS[p].classes, key=lambda c: row[c])
        out[p] = (int(best), float(row[best]))
    return out


def confident_photos(confidence: dict, threshold: float) -> tuple[str, ...]:
    """The photos of ``confidence`` ({photo: (class, p)}) with ``p >= threshold``, in its order."""
    if not 0 <= threshold <= 1:
        raise ValueError(f"threshold must be a probability in [0, 1], got {threshold}")
    return tuple(p for p, (_, prob) in confidence.items() if prob >= threshold)


class GridPG:
    """Mosaics and their cases, readable by :func:`~saliency_widgets.evaluate` as a dataset.

    Attributes
    ----------
    images : list of (H, W, 3) uint8 mosaics
    cases : list of lists of (label, box, photo) per mosaic: every tile
    layouts : list of tuples of photo names (tile order, row by row)
    confidence : {photo: (class, p)}: every candidate photo's tile classified on its own
    dropped : list of (photo, class, p): the candidate photos below ``threshold``
    threshold, max_share, seed, tile, grid : the settings that made it
    """

    name = "gridpg"

    def __init__(self, images, cases, layouts, *, confidence=None, threshold=None, max_share=MAX_SHARE, seed=None,
                 tile=112, grid=2):
        if len(images) != len(cases) or len(images) != len(layouts):
            raise ValueError(f"got {len(images)} images, {len(cases)} case lists, {len(layouts)} layouts: one each")
        self.images, self.cases, self.layouts = list(images), list(cases), list(layouts)
        self.confidence, self.threshold, self.max_share = dict(confidence or {}), threshold, max_share
        self.seed, self.tile, self.grid = seed, tile, grid
        self.dropped = [(p, c, prob) for p, (c, prob) in self.confidence.items()
                        if threshold is not None and prob < threshold]
        self._keep = [i for i, c in enumerate(self.cases) if c]

    def indices(self) -> list[int]:
        """The mosaics with at least one case."""
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
        return GridPG(self.images, [c if i in keep else [] for i, c in enumerate(self.cases)], self.layouts,
                      confidence=self.confidence, threshold=self.threshold, max_share=self.max_share,
                      seed=self.seed, tile=self.tile, grid=self.grid)


def _check_photos(photos):
    from ..demo import PHOTOS
    unknown = [p for p in photos if p not in PHOTOS or not PHOTOS[p].classes]
    if unknown:
        raise ValueError(f"photos {unknown} are unknown or list no ImageNet class; choose from "
                         f"{[p for p in PHOTOS if PHOTOS[p].classes]}")


def _tiles(names, side):
    from ..demo import framed_square
    return {name: framed_square(name, side) for name in dict.fromkeys(names)}


def _mosaic(layout, tiles, grid, side):
    img = np.zeros((grid * side, grid * side, 3), np.uint8)
    boxes = []
    for t, name in enumerate(layout):
        r, c = divmod(t, grid)
        img[r * side:(r + 1) * side, c * side:(c + 1) * side] = tiles[name]
        boxes.append((c * side, r * side, (c + 1) * side, (r + 1) * side))
    return img, boxes


def _check_shares(layouts, max_share):
    shares = photo_shares(layouts)
    over = {p: round(s, 3) for p, s in shares.items() if s > max_share + 1e-12}
    if over:
        raise ValueError(f"photos {over} would provide more than {max_share} of the cases each; "
                         "give more photos (a lower threshold keeps more) or a larger max_share")


def gridpg_mosaics(model, n: int = 12, *, threshold: float, seed=0, photos=GRIDPG_PHOTOS, grid: int = 2,
                   tile: int = 112, max_share: float = MAX_SHARE, confidence: dict | None = None) -> GridPG:
    """Classify each photo's tile on its own, keep the confident ones, draw ``n`` balanced mosaics of them.

    Parameters
    ----------
    model : anything :func:`~saliency_widgets.models.as_model` takes (an ImageNet classifier)
    n : int
        Mosaics drawn; every tile of every mosaic is a case (``n * grid**2`` cases).
    threshold : float, keyword-only (required)
        A photo takes part when the model gives its class ``p >= threshold`` on its tile alone
        (:func:`tile_confidence`).
    seed : int or numpy Generator, keyword-only
        The draw of photos and their order.
    photos : names in :data:`~saliency_widgets.demo.PHOTOS`, keyword-only
        The candidates; each must list at least one ImageNet class.
    grid, tile : int, keyword-only
        Tiles per side and the tile side in pixels (2 x 112 = EfficientNet-Lite0's 224 input).
    max_share : float, keyword-only
        The largest share of the cases one photo may provide (default 1/4).
    confidence : {photo: (class, p)} or None, keyword-only
        :func:`tile_confidence`'s answer when already computed (None: computed here).

    Raises
    ------
    ValueError
        Fewer than ``grid**2`` photos reach the threshold (the message lists each photo's ``p``), or a
        photo would provide more than ``max_share`` of the cases.
    """
    _check_photos(photos)
    if confidence is None:
        confidence = tile_confidence(model, photos, grid=grid, tile=tile)
    missing = [p for p in photos if p not in confidence]
    if missing:
        raise ValueError(f"confidence has no entry for photos {missing}: pass tile_confidence(model, photos)")
    confidence = {p: tuple(confidence[p]) for p in photos}
    kept = confident_photos(confidence, threshold)
    if len(kept) < grid * grid:
        raise ValueError(f"{len(kept)} photos reach p >= {threshold} on their own ({list(kept)}); a {grid} x {grid} "
                         f"mosaic needs {grid * grid}. Each photo's p: "
                         + ", ".join(f"{p} {prob:.3f}" for p, (_, prob) in confidence.items()))
    layouts = mosaic_draw(n, seed=seed, photos=kept, grid=grid)
    _check_shares(layouts, max_share)
    tiles = _tiles(kept, tile)
    made = [_mosaic(lay, tiles, grid, tile) for lay in layouts]
    cases = [[(confidence[name][0], box, name) for name, box in zip(lay, boxes)]
             for lay, (_, boxes) in zip(layouts, made)]
    return GridPG([im for im, _ in made], cases, layouts, confidence=confidence, threshold=threshold,
                  max_share=max_share, seed=seed, tile=tile, grid=grid)
