"""Toy models whose right answer is known analytically, shared by all tests."""
from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


class RegionModel:
    """Two-class model: p(class 0) = mean of the input inside ``region`` (rows, cols slices).

    On an all-ones image, the pixels that matter for class 0 are exactly the
    region, so a correct saliency map for class 0 peaks inside it.
    """

    def __init__(self, region=(slice(0, 8), slice(0, 8))):
        self.region = region
        self.calls = 0
        self.batches = []

    def __call__(self, x):
        self.calls += 1
        self.batches.append(len(x))
        s = np.clip(x[:, self.region[0], self.region[1]].mean(axis=(1, 2, 3)), 0, 1)
        return np.stack([s, 1 - s], axis=1)


@pytest.fixture
def quadrant_model():
    """Only the top-left quadrant of a 16 x 16 image matters for class 0."""
    return RegionModel((slice(0, 8), slice(0, 8)))


@pytest.fixture
def ones_image():
    return np.ones((16, 16, 3), np.float32)


def in_region(saliency, region) -> bool:
    y, x = np.unravel_index(np.argmax(saliency), saliency.shape)
    return region[0].start <= y < region[0].stop and region[1].start <= x < region[1].stop
