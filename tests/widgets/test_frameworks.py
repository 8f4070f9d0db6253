"""The widget on a PyTorch module and on a JAX function (issue 11, item 3): ExplainWidget(module, img).

The session wraps the model with ``models.as_model``, so the module gets (B, C, H, W) batches and the
JAX function ``jax.Array`` batches; the widget itself only sees maps, probabilities and classes.
Both toy models are analytic: class 0 is decided by the top-left quadrant, so its map peaks there.
"""
import numpy as np
import pytest

from saliency_widgets import ExplainWidget
from saliency_widgets.models import declare

TL = (0, 0, 8, 8)  # box (x0, y0, x1, y1) of the quadrant that decides class 0


def image():
    """Bright top-left and bottom-right quadrants on black (16 x 16 x 3, channels last)."""
    img = np.zeros((16, 16, 3), np.float32)
    img[:8, :8] = img[8:, 8:] = 1.0
    return img


def top_left_wins(saliency):
    """The top-left quadrant holds more of the map than each other quadrant (RISE is
    noisy pixel by pixel, its quadrant means are not)."""
    q = [saliency[:8, :8], saliency[:8, 8:], saliency[8:, :8], saliency[8:, 8:]]
    means = [float(np.mean(v)) for v in q]
    return means[0] > max(means[1:])


def run_and_check(w, *, classes):
    """Select class 0, run RISE (2000 masks) through the buttons, check what the widget shows."""
    assert len(w.labels) == classes and len(w.class_dropdown.options) == min(classes, w.top_k)
    w.target = 0
    w.method_dropdown.value = "rise"
    w.budget_slider.value = 2000
    w.run_button.click()
    assert w.wait(120)
    assert w.error is None, w.error
    assert "error" not in w.status.value and "done" in w.status.value, w.status.value
    assert w.result.saliency.shape == (16, 16) and w.result.done and w.result.target == 0
    assert w.result.n_forward == 2000 and w.progress.value == w.progress.max == 2000
    assert top_left_wins(w.result.saliency)
    assert "pointing game" in w.metrics_html.value and "insertion AUC" in w.metrics_html.value
    # compare mode: every panel's map from the same model, no error
    w.compare_select.value = ("rise", "occlusion")
    w.mode.value = "compare"
    w.run()
    assert w.wait(120) and w.error is None, w.error
    assert [m.status for m in w.session.last.methods] == ["done", "done"]
    assert all(m.result.saliency.shape == (16, 16) for m in w.session.last.methods)


def test_widget_on_a_torch_module():
    torch = pytest.importorskip("torch")

    class QuadrantNet(torch.nn.Module):
        """5 classes from a 1x1 conv (grey level) and quadrant means; asserts it gets channels first."""

        def __init__(self):
            super().__init__()
            self.grey = torch.nn.Conv2d(3, 1, kernel_size=1, bias=False)
            with torch.no_grad():
                self.grey.weight.fill_(1 / 3)
            self.drop = torch.nn.Dropout(0.5)  # as_model puts the module in eval mode: no effect then
            declare(self, input_size=(16, 16), pixel_range=None)  # what it takes

        def forward(self, x):
            assert x.shape[1] == 3, f"expected (B, C, H, W), got {tuple(x.shape)}"
            g = self.drop(self.grey(x))[:, 0]
            tl, br = g[:, :8, :8].mean((1, 2)), g[:, 8:, 8:].mean((1, 2))
            const = torch.full_like(tl, 0.2)
            return torch.softmax(torch.stack([tl, br * 0.9, const, const, const], 1) * 4, 1)

    w = ExplainWidget(QuadrantNet(), image(), truth={0: TL})
    assert w.model.backend.native  # the session runs the torch path, not NumPy
    # a torch module has gradients and layers: the gradient methods and Grad-CAM are offered
    offered = {k for _, k in w.method_dropdown.options}
    assert {"gradient", "smoothgrad", "integrated-gradients", "guided-backprop", "grad-cam"} <= offered
    run_and_check(w, classes=5)
    w.mode.value = "single"
    w.method_dropdown.value = "grad-cam"  # its last (only) convolution, "grey", read through the widget
    w.run()
    assert w.wait(120) and w.error is None, w.error
    assert w.result.saliency.shape == (16, 16) and w.result.params["layer"] == "grey"
    # Integrated Gradients' completeness is shown with the map: one step misses it on this softmax model
    w.method_dropdown.value = "integrated-gradients"
    w.budget_slider.value = 1
    w.run()
    assert w.wait(120) and w.error is None, w.error
    err = w.result.diagnostics["completeness_error"]
    assert err > 0.05 and "misses completeness by" in w.status.value and f"{err:.1%}" in w.status.value


@pytest.mark.parametrize("wrap", ["jit", "as_model"])
def test_widget_on_a_jax_function(wrap):
    jax = pytest.importorskip("jax")
    jnp = pytest.importorskip("jax.numpy")

    def quadrants(x):  # (B, H, W, C) jax.Array
        tl, br = x[:, :8, :8].mean(axis=(1, 2, 3)), x[:, 8:, 8:].mean(axis=(1, 2, 3))
        s = jnp.stack([tl, br * 0.9, jnp.full_like(tl, 0.2)], axis=1) + 1e-3
        return s / s.sum(axis=1, keepdims=True)

    # jax.jit-wrapped: detected; a plain JAX function: the user says so with as_model(framework="jax")
    from saliency_widgets import as_model
    declare(quadrants, input_size=(16, 16), pixel_range=None)
    model = declare(jax.jit(quadrants), input_size=(16, 16), pixel_range=None) if wrap == "jit" else \
        as_model(quadrants, framework="jax")
    w = ExplainWidget(model, image(), truth={0: TL})
    assert w.model.backend.native  # the session runs the JAX path, not NumPy
    # a JAX function has gradients but no ReLU layers to guide and no Keras layers: no GB, no Grad-CAM
    offered = {k for _, k in w.method_dropdown.options}
    assert {"gradient", "smoothgrad", "integrated-gradients"} <= offered
    assert not {"guided-backprop", "grad-cam"} & offered
    run_and_check(w, classes=3)


def test_widget_takes_framework_and_outputs_for_a_jax_function_returning_logits():
    """A plain (not jit-wrapped) JAX function of logits, displayed without wrapping it by hand (issue 19.5)."""
    pytest.importorskip("jax", reason="jax is optional: pip install saliency_widgets[jax]")
    import jax.numpy as jnp

    def quadrant_logits(x):  # (B, H, W, C) jax.Array -> unnormalised scores, negative ones included
        tl, br = x[:, :8, :8].mean(axis=(1, 2, 3)), x[:, 8:, 8:].mean(axis=(1, 2, 3))
        return 4.0 * jnp.stack([tl, 0.9 * br, jnp.full_like(tl, -0.5)], axis=1)

    img = image()
    declare(quadrant_logits, input_size=(16, 16), pixel_range=None)
    w = ExplainWidget(quadrant_logits, img, truth={0: TL}, framework="jax", outputs="logits")
    assert w.model.backend.native  # framework="jax": the session runs the JAX path
    z = 4.0 * np.array([img[:8, :8].mean(), 0.9 * img[8:, 8:].mean(), -0.5])
    softmax = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    np.testing.assert_allclose(w.probs, softmax, rtol=1e-5)  # outputs="logits": the widget reads probabilities
    labels = [t for t, _ in w.class_dropdown.options]
    assert labels[0].startswith(f"class 0 ({softmax[0]:.1%})")  # (then marked: in the image, or top-k)
    run_and_check(w, classes=3)
    assert w.result.score == pytest.approx(softmax[0], rel=1e-5)
    with pytest.raises(ValueError, match="framework must be one of"):
        ExplainWidget(quadrant_logits, img, framework="flax")
    with pytest.raises(ValueError, match="outputs must be one of"):
        ExplainWidget(quadrant_logits, img, framework="jax", outputs="scores")
