import os

import numpy as np
import pytest

from saliency_widgets.demo import CLASS_NAMES, load_model, make_scenes
from saliency_widgets.demo.model import MODEL_PATH


def test_shipped_model_is_small_and_loads_in_safe_mode():
    assert os.path.getsize(MODEL_PATH) <= 2 * 1024 * 1024
    model = load_model()
    assert model.input_shape == (None, 96, 96, 3) and model.output_shape == (None, len(CLASS_NAMES))


def test_held_out_accuracy_at_least_95_percent():
    from saliency_widgets.demo.train import accuracy
    fresh = make_scenes(200, seed=4242)  # never used in training (seeds 20201, 20202, 777)
    assert accuracy(load_model(), fresh) >= 0.95


def test_missing_model_file_is_explained(tmp_path):
    with pytest.raises(FileNotFoundError, match="demo.train"):
        load_model(tmp_path / "nope.keras")


def test_preprocessing_is_inside_the_model():
    model = load_model()
    img = make_scenes(1, seed=3).images
    p = np.asarray(model(img.astype(np.float32)))
    assert np.allclose(p.sum(1), 1, atol=1e-5)
