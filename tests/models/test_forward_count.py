"""ModelAdapter.forward_count: images sent to the model, counted where they are sent.

Each toy model counts the images it is given itself (on a traced path with its own host callback, so the
count follows executions, not traces); the adapter's count must equal the model's, whatever path ran.
"""
import functools

import numpy as np
import pytest

from saliency_widgets import as_model
from saliency_widgets.explainers import Occlusion, Rise
from saliency_widgets.metrics import deletion, insertion
from saliency_widgets.models import ModelAdapter
from saliency_widgets.models.backends import ForwardCounter

IMAGE = np.zeros((16, 16, 3), np.float32)
IMAGE[:8, :8] = 1.0


class CountingQuadrants:
    """NumPy batches in, (B, 3) probabilities out; ``images`` counts every image it was given."""

    def __init__(self):
        self.images = 0

    def __call__(self, x):
        self.images += len(x)
        a = x[:, :8, :8].mean((1, 2, 3))
        s = np.stack([a, 1 - a, np.full_like(a, 0.2)], 1) + 1e-3
        return s / s.sum(1, keepdims=True)


def explain_and_curves(model):
    """A RISE map, an occlusion map and both curves through one adapter (what a widget run does)."""
    exp = Rise(model, masks=100, grid=4, seed=0, batch_size=16).explain(IMAGE, 0)
    Occlusion(model, window=8, stride=4).explain(IMAGE, 0)
    insertion(model, IMAGE, exp.raw, 0)
    deletion(model, IMAGE, exp.raw, 0)


def test_the_host_path_counts_every_image_the_model_is_given():
    toy = CountingQuadrants()
    model = as_model(toy)
    explain_and_curves(model)
    assert toy.images > 100 and model.forward_count == toy.images


def test_a_rewrap_counts_into_the_same_count():
    """The explainers re-wrap the adapter with their own batch size: their passes are the adapter's too."""
    toy = CountingQuadrants()
    model = as_model(toy)
    as_model(model, batch_size=4).predict(np.zeros((10, 16, 16, 3), np.float32))
    assert model.forward_count == toy.images == 10


def test_padding_is_not_counted():
    toy = CountingQuadrants()
    model = ModelAdapter(toy, batch_size=8, pad_batches=True)
    model.predict(np.zeros((3, 16, 16, 3), np.float32))
    assert toy.images == 4 and model.forward_count == 3  # padded to 4; 3 images were asked for


def test_the_counter_survives_pickling():
    import pickle
    c = ForwardCounter()
    c.add(5)
    d = pickle.loads(pickle.dumps(c))
    d.add(2)
    assert d.value == 7 and c.value == 5


def test_the_torch_device_path_counts_every_image():
    torch = pytest.importorskip("torch")

    class Quadrants(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.images = 0

        def forward(self, x):  # (B, C, H, W)
            self.images += x.shape[0]
            a = x[:, :, :8, :8].mean((1, 2, 3))
            s = torch.stack([a, 1 - a, torch.full_like(a, 0.2)], 1) + 1e-3
            return s / s.sum(1, keepdim=True)

    net = Quadrants()
    model = as_model(net)
    assert model.backend.native
    explain_and_curves(model)
    assert net.images > 100 and model.forward_count == net.images


@pytest.mark.parametrize("wrap", ["jit", "scan"])
def test_the_jax_device_path_counts_executions_not_traces(wrap):
    """Inside ``jax.jit`` the function body runs once per trace: both counts are host callbacks that run at
    every execution (``scan``: the explainers' device loop over blocks of batches, one trace for many)."""
    jax = pytest.importorskip("jax")
    jnp = pytest.importorskip("jax.numpy")
    seen = ForwardCounter()

    def quadrants(x):
        jax.debug.callback(functools.partial(seen.add, x.shape[0]))
        a = x[:, :8, :8].mean(axis=(1, 2, 3))
        s = jnp.stack([a, 1 - a, jnp.full_like(a, 0.2)], axis=1) + 1e-3
        return s / s.sum(axis=1, keepdims=True)

    model = as_model(quadrants, framework="jax")
    assert model.backend.native and model.backend.traced
    model.count_compiled = True  # what the widget's session sets
    if wrap == "scan":  # blocks of several batches per compiled call, as on an accelerator
        model.backend.pixels_per_dispatch = 4 * 16 * 16 * 16
    explain_and_curves(model)
    if wrap == "scan":
        assert any(k[0].endswith("-block") for k in model.backend._compiled)
    jax.effects_barrier()
    assert seen.value > 100 and model.forward_count == seen.value


def test_the_tensorflow_device_path_counts_executions_not_traces():
    tf = pytest.importorskip("tensorflow")
    from saliency_widgets.models.backends import tf_backend
    seen = ForwardCounter()

    def quadrants(x):
        tf.py_function(lambda n: seen.add(int(n)), [tf.shape(x)[0]], [])
        a = tf.reduce_mean(x[:, :8, :8], axis=(1, 2, 3))
        s = tf.stack([a, 1 - a, tf.fill(tf.shape(a), 0.2)], axis=1) + 1e-3
        return s / tf.reduce_sum(s, axis=1, keepdims=True)

    host = CountingQuadrants()
    model = ModelAdapter(host, backend=tf_backend(quadrants))
    model.count_compiled = True
    explain_and_curves(model)
    assert seen.value > 100 and model.forward_count == seen.value + host.images


def test_compiled_steps_get_no_callback_unless_asked():
    """The device paths' throughput is left alone by default: no host callback in a traced step (its
    images are then not counted), and a counted step is compiled apart from an uncounted one."""
    jax = pytest.importorskip("jax")
    jnp = pytest.importorskip("jax.numpy")
    seen = ForwardCounter()

    def quadrants(x):
        jax.debug.callback(functools.partial(seen.add, x.shape[0]))
        a = x[:, :8, :8].mean(axis=(1, 2, 3))
        return jnp.stack([a, 1 - a], axis=1)

    model = as_model(quadrants, framework="jax", outputs="probabilities")
    Rise(model, masks=100, grid=4, seed=0, batch_size=16).explain(IMAGE, 0)
    jax.effects_barrier()
    assert seen.value >= 100 and model.forward_count == 1  # only the host-path prediction of the image
    assert not any("counted" in k for k in model.backend._compiled)
    counted = as_model(model, batch_size=16)
    counted.count_compiled = True
    before = model.forward_count
    Rise(counted, masks=100, grid=4, seed=0, batch_size=16).explain(IMAGE, 0)
    assert model.forward_count - before == 101 and any("counted" in k for k in model.backend._compiled)
