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
    """The claim "at least 95% held out", tested so that rounding on another CPU cannot fail it but a
    worse model does: on 1000 fresh scenes the data must not reject it at the 95% level (Wilson's upper
    bound >= 0.95, i.e. at most 63 errors in 1000; the shipped model makes 45 here, 4.5%)."""
    from saliency_widgets.demo.train import accuracy
    from saliency_widgets.metrics import wilson_interval
    fresh = make_scenes(1000, seed=4242)  # never used in training (seeds 20201, 20202, 777)
    acc = accuracy(load_model(), fresh)
    low, high = wilson_interval(round(acc * 1000), 1000)
    assert high >= 0.95, f"held-out accuracy {acc:.3f} [{low:.3f}, {high:.3f}] rejects the 95% claim"


def test_missing_model_file_is_explained(tmp_path):
    with pytest.raises(FileNotFoundError, match="demo.train"):
        load_model(tmp_path / "nope.keras")


def test_preprocessing_is_inside_the_model():
    """The model takes raw pixels in [0, 255]: its first layer divides by 255, so feeding the same
    scene pre-scaled to [0, 1] gives other probabilities, and the rest of the network sees [0, 1]."""
    import keras
    model = load_model()
    img = make_scenes(4, seed=3).images.astype(np.float32)
    assert model.layers[1].name == "rescale" and model.layers[1].get_config()["scale"] == pytest.approx(1 / 255)
    inner = keras.Model(model.input, model.get_layer("rescale").output)
    seen = np.asarray(inner(img))
    assert seen.min() >= 0 and seen.max() <= 1 and seen.max() > 0.5
    p_raw, p_scaled = np.asarray(model(img)), np.asarray(model(img / 255.0))
    assert np.allclose(p_raw.sum(1), 1, atol=1e-5)
    assert (p_raw.argmax(1) == make_scenes(4, seed=3).labels).mean() >= 0.75   # raw pixels: right answers
    assert not np.allclose(p_raw, p_scaled, atol=1e-3)                         # pre-scaled: another input


# ---- the data-randomisation model (Adebayo et al. 2018) -----------------------------------------

def test_permuted_model_has_the_demo_architecture_and_size():
    from saliency_widgets.demo.model import PERMUTED_MODEL_PATH, load_permuted_model
    assert os.path.getsize(PERMUTED_MODEL_PATH) <= os.path.getsize(MODEL_PATH) * 1.01
    permuted, demo = load_permuted_model(), load_model()
    assert [layer.get_config()["name"] for layer in permuted.layers] == \
        [layer.get_config()["name"] for layer in demo.layers]
    assert [w.shape for w in permuted.get_weights()] == [w.shape for w in demo.get_weights()]
    assert load_model(permuted=True).count_params() == permuted.count_params()


def test_permuted_model_fits_its_permuted_labels_and_knows_nothing_about_shapes():
    """What `train --permute-labels` claims: it memorised the shuffled training labels, held-out accuracy is chance."""
    from saliency_widgets.demo.model import load_permuted_model
    from saliency_widgets.demo.train import PERMUTE_SEED, accuracy, make_training_set
    from saliency_widgets.models import as_model

    images, labels = make_training_set(1536, PERMUTE_SEED)
    permuted = np.random.default_rng(PERMUTE_SEED).permutation(labels)
    model = load_permuted_model()
    pred = as_model(model, batch_size=256).predict(images.astype(np.float32)).argmax(1)
    assert (pred == permuted).mean() >= 0.95
    fresh = make_scenes(300, seed=4242)
    # chance is 1/6; 300 scenes give a binomial sd of ~2 points, so 0.30 is > 6 sd above chance
    assert accuracy(model, fresh) < 0.30


def test_missing_permuted_model_names_the_command(tmp_path):
    with pytest.raises(FileNotFoundError, match="--permute-labels"):
        load_model(tmp_path / "nope.keras", permuted=True)
