"""as_model reads what a Keras model declares (crop, mean colour, outputs, host batch size); the caller wins."""
from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from saliency_widgets.models import as_model  # noqa: E402
from saliency_widgets.occluder import resolve_occluder  # noqa: E402


def _declaring():
    """Logits = per-channel means of a 4 x 4 x 3 input; declares a top-left crop, grey 10, logits and batch 2."""
    inputs = keras.Input((4, 4, 3))
    model = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(inputs))
    model.saliency_widgets_preprocess = lambda img: np.asarray(img, np.float32)[:4, :4]
    model.saliency_widgets_mean_color = (10.0, 10.0, 10.0)
    model.saliency_widgets_outputs = "logits"
    model.saliency_widgets_host_batch_size = 2
    return model


def test_declarations_are_read():
    adapter = as_model(_declaring())
    assert adapter.input_shape == (4, 4, 3) and adapter.outputs == "logits" and adapter.mean_color == (10.0,) * 3
    assert adapter.batch_size == 2
    img = np.zeros((6, 9, 3), np.float32)
    img[:4, :4, 0] = 5.0  # only the crop reaches the model
    x = adapter.prepare(img)
    assert x.shape == (4, 4, 3)
    probs = adapter.predict(np.stack([x] * 5))  # 5 images in batches of 2
    want = np.exp([5.0, 0, 0]) / np.exp([5.0, 0, 0]).sum()  # declared logits: a softmax is applied
    np.testing.assert_allclose(probs, np.tile(want, (5, 1)), rtol=1e-5)
    assert np.all(resolve_occluder(x, "auto", model=adapter) == 10.0)


def test_the_callers_settings_win_over_the_declarations():
    adapter = as_model(_declaring(), outputs="probabilities", mean_color=(1.0, 2.0, 3.0), batch_size=7,
                       preprocess=lambda img: np.asarray(img, np.float32)[1:5, 1:5])
    assert adapter.outputs == "probabilities" and adapter.mean_color == (1.0, 2.0, 3.0) and adapter.batch_size == 7
    img = np.zeros((6, 9, 3), np.float32)
    img[1, 1] = 1.0
    assert adapter.prepare(img)[0, 0, 0] == 1.0


def test_a_model_that_declares_nothing_is_unchanged_and_a_bad_batch_is_refused():
    inputs = keras.Input((4, 4, 3))
    plain = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(inputs))
    adapter = as_model(plain)
    assert adapter.preprocess is None and adapter.mean_color is None and adapter.outputs == "auto"
    assert adapter.batch_size == 64
    bad = _declaring()
    bad.saliency_widgets_host_batch_size = 0
    with pytest.raises(ValueError, match="saliency_widgets_host_batch_size"):
        as_model(bad)
