"""as_model reads what a PyTorch module declares (input shape, crop, mean colour, outputs); the caller wins."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from saliency_widgets.models import as_model  # noqa: E402
from saliency_widgets.occluder import resolve_occluder  # noqa: E402


class Declaring(torch.nn.Module):
    """Logits = per-channel means; declares a 4 x 4 input, a crop of the top-left corner and grey 10."""

    def __init__(self):
        super().__init__()
        self.saliency_widgets_input_shape = (4, 4, 3)
        self.saliency_widgets_preprocess = lambda img: np.asarray(img, np.float32)[:4, :4]
        self.saliency_widgets_mean_color = (10.0, 10.0, 10.0)
        self.saliency_widgets_outputs = "logits"

    def forward(self, x):
        return x.mean(dim=(2, 3))


def test_declarations_are_read():
    adapter = as_model(Declaring())
    assert adapter.input_shape == (4, 4, 3) and adapter.outputs == "logits" and adapter.mean_color == (10.0,) * 3
    img = np.zeros((6, 9, 3), np.float32)
    img[:4, :4, 0] = 5.0  # only the crop reaches the model
    x = adapter.prepare(img)
    assert x.shape == (4, 4, 3)
    probs = adapter.predict(x[None])[0]
    want = np.exp([5.0, 0, 0]) / np.exp([5.0, 0, 0]).sum()  # declared logits: a softmax is applied
    np.testing.assert_allclose(probs, want, rtol=1e-5)
    assert np.all(resolve_occluder(x, "auto", model=adapter) == 10.0)


def test_the_callers_settings_win_over_the_declarations():
    adapter = as_model(Declaring(), outputs="probabilities", mean_color=(1.0, 2.0, 3.0), input_shape=(6, 9, 3),
                       preprocess=lambda img: np.asarray(img, np.float32))
    assert adapter.outputs == "probabilities" and adapter.mean_color == (1.0, 2.0, 3.0)
    assert adapter.prepare(np.zeros((6, 9, 3))).shape == (6, 9, 3)


def test_a_module_that_declares_nothing_is_unchanged():
    adapter = as_model(torch.nn.Flatten())
    assert adapter.input_shape is None and adapter.preprocess is None and adapter.mean_color is None
    assert adapter.outputs == "auto"
