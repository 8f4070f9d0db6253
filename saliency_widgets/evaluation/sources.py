"""Where evaluate() reads images and truth: a dataset as it is, or in-memory arrays wrapped alike."""
from __future__ import annotations

import numpy as np

from ..datasets.base import ebp_difficult
from ..truth import as_objects, by_class

__all__ = ["ArraySource", "as_source"]


class ArraySource:
    """In-memory images and truths with the interface of a dataset (what evaluate() and shards read)."""

    def __init__(self, images, truths):
        if len(images) != len(truths):
            raise ValueError(f"got {len(images)} images but {len(truths)} truths: one list of objects per image")
        self.items = {i: (images[i], truths[i]) for i in range(len(images))}
        self._truth = {}

    def indices(self):
        return sorted(self.items)

    def image(self, i):
        return np.asarray(self.items[i][0])

    def truth(self, i):
        """{label: (union mask, [boxes], n objects, EBP difficult flag)}."""
        if i not in self._truth:
            image, truth = self.items[i]
            shape = np.asarray(image).shape[:2]
            objects = as_objects(truth)
            by = by_class(objects, shape)
            self._truth[i] = {label: (mask, boxes, sum(o[0] == label for o in objects), ebp_difficult(mask, len(by)))
                              for label, (mask, boxes) in by.items()}
        return self._truth[i]

    def labels(self, i):
        return [(label, t[2]) for label, t in self.truth(i).items()]

    def subset(self, indices):
        out = ArraySource.__new__(ArraySource)
        out.items = {i: self.items[i] for i in indices}
        out._truth = {i: self._truth[i] for i in indices if i in self._truth}
        return out


def as_source(images, truths):
    """A dataset as it is; arrays and truths wrapped in :class:`ArraySource`."""
    if hasattr(images, "truth") and hasattr(images, "labels") and hasattr(images, "subset"):
        if truths is not None:
            raise ValueError("images is a dataset: its truths come from its annotations; pass truths=None")
        return images
    if truths is None:
        raise ValueError("truths is required unless images is a dataset (saliency_widgets.datasets)")
    return ArraySource(images, truths)
