"""Same seed, same map: the torch, JAX and TensorFlow device paths against the NumPy reference.

The toy model is the same in every framework: p(class 0) = mean of the input
inside a region, p(class 1) = 1 - that.  torch and jax are test dependencies
(CI installs their CPU wheels): imported normally here, never skipped.
"""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
import jax
import jax.numpy as jnp

from saliency_widgets import Lime, MaskUpdate, Occlusion, Rise, as_model
from saliency_widgets.models import ModelError, declare

ROWS, COLS = slice(0, 8), slice(2, 14)  # the region that decides class 0 (16 x 16 images)


def numpy_region(x):
    s = x[:, ROWS, COLS].mean(axis=(1, 2, 3))
    return np.stack([s, 1 - s], axis=1)


class TorchRegion(torch.nn.Module):
    """Takes (B, C, H, W), as every PyTorch module does; the adapter transposes the user's images."""

    def __init__(self):
        super().__init__()
        self.drop = torch.nn.Dropout(0.5)  # must be off: as_model puts the module in eval mode
        self.w = torch.nn.Parameter(torch.ones(1))
        declare(self, input_size=(16, 16), pixel_range=None)  # what it takes: 16 x 16, values as they are

    def forward(self, x):
        s = self.drop(x[:, :, ROWS, COLS]).mean(dim=(1, 2, 3)) * self.w
        return torch.stack([s, 1 - s], dim=1)


@jax.jit
def jax_region(x):
    s = x[:, ROWS, COLS].mean(axis=(1, 2, 3))
    return jnp.stack([s, 1 - s], axis=1)


declare(jax_region, input_size=(16, 16), pixel_range=None)


def keras_region():
    """The region mean as Keras layers (runs on the TensorFlow backend in this test process)."""
    import keras
    inp = keras.Input((16, 16, 3))
    crop = keras.layers.Cropping2D(((ROWS.start, 16 - ROWS.stop), (COLS.start, 16 - COLS.stop)))(inp)
    pooled = keras.layers.GlobalAveragePooling2D()(crop)
    dense = keras.layers.Dense(2)
    out = dense(pooled)
    dense.set_weights([np.array([[1 / 3, -1 / 3]] * 3, np.float32), np.array([0.0, 1.0], np.float32)])
    return keras.Model(inp, out)


TORCH_MODEL = TorchRegion()  # one module: the adapter's backend (and its compiled steps) is cached per model


def framework_models():
    return {"torch": as_model(TorchRegion()), "jax": as_model(jax_region),
            "tensorflow": as_model(keras_region(), masks_on="device")}


@pytest.fixture(scope="module")
def models():
    return framework_models()


@pytest.fixture(scope="module")
def image():
    return np.random.default_rng(0).uniform(0, 1, (16, 16, 3)).astype(np.float32)


EXPLAINERS = {
    "rise": lambda m, bs: Rise(m, masks=150, grid=4, occluder="zero", batch_size=bs, seed=3),
    "faithful": lambda m, bs: MaskUpdate.faithful(m, steps=120, grid=4, occluder="zero", batch_size=bs, seed=3),
    "mask-update": lambda m, bs: MaskUpdate(m, steps=150, grid=4, chains=8, occluder="zero", batch_size=bs,
                                            seed=3),
    "slope-relative": lambda m, bs: MaskUpdate(m, steps=150, grid=4, chains=6, weighting="slope",
                                               update="relative", occluder="zero", batch_size=bs, seed=3),
    "occlusion": lambda m, bs: Occlusion(m, window=4, stride=3, occluder="zero", batch_size=bs),
    "lime": lambda m, bs: Lime(m, samples=60, segments=10, occluder="zero", batch_size=bs, seed=3),
}


def test_backends_are_the_frameworks(models):
    assert {k: m.backend.name for k, m in models.items()} == {"torch": "torch", "jax": "jax",
                                                              "tensorflow": "tensorflow"}
    assert not as_model(numpy_region).backend.native


@pytest.mark.parametrize("framework", ["torch", "jax", "tensorflow"])
@pytest.mark.parametrize("name", list(EXPLAINERS))
def test_same_seed_same_map_as_numpy(models, image, framework, name):
    ref = EXPLAINERS[name](numpy_region, 64).explain(image, 0)
    for bs in (5, 64):
        exp = EXPLAINERS[name](models[framework], bs).explain(image, 0)
        assert exp.n_forward == ref.n_forward
        np.testing.assert_allclose(exp.saliency, ref.saliency, atol=1e-4, rtol=0)
        if ref.trace is not None:
            np.testing.assert_allclose(exp.trace, ref.trace, atol=1e-5)


@pytest.mark.parametrize("framework", ["torch", "jax", "tensorflow"])
def test_device_rise_finds_the_region(models, framework):
    ones = np.ones((16, 16, 3), np.float32)
    exp = Rise(models[framework], masks=400, grid=4, occluder="zero", seed=0).explain(ones, 0)
    inside = np.zeros((16, 16), bool)
    inside[ROWS, COLS] = True
    assert exp.saliency[inside].mean() > exp.saliency[~inside].mean() + 0.2


def test_device_occlusion_is_exactly_zero_where_no_window_touches_the_region(models):
    # Windows of 4 at stride 4 tile the image: a window outside the region changes nothing.
    exp = Occlusion(models["torch"], window=4, stride=4, occluder="zero").explain(np.ones((16, 16, 3)), 0)
    assert np.all(exp.raw[8:] == 0)  # rows 8..15: no window there touches the region (rows 0..7)
    # A window hides 16 of the region's 96 pixels (columns 4..11) or 8 (columns 0..3, 12..15).
    np.testing.assert_allclose(exp.raw[ROWS, 4:12], 16 / 96, rtol=1e-5)
    np.testing.assert_allclose(exp.raw[ROWS, :4], 8 / 96, rtol=1e-5)
    np.testing.assert_allclose(exp.raw[ROWS, 12:], 8 / 96, rtol=1e-5)


@pytest.mark.parametrize("framework", ["torch", "jax", "tensorflow"])
def test_path_scores_on_the_device_match_the_host(models, image, framework):
    rng = np.random.default_rng(1)
    finish = rng.uniform(0, 1, image.shape).astype(np.float32)
    order = rng.permutation(16 * 16)
    counts = np.array([0, 1, 17, 100, 255, 256])
    host = as_model(numpy_region, batch_size=4).path_scores(image, finish, order, counts, 0)
    dev = as_model(models[framework], batch_size=4).path_scores(image, finish, order, counts, 0)
    assert as_model(models[framework], batch_size=4).backend.native
    np.testing.assert_allclose(dev, host, atol=1e-6)
    # Exact endpoints: no pixel replaced, every pixel replaced.
    assert host[0] == pytest.approx(image[ROWS, COLS].mean(), abs=1e-6)
    assert host[-1] == pytest.approx(finish[ROWS, COLS].mean(), abs=1e-6)


def test_torch_module_gets_channels_first_in_eval_mode(image):
    module = TorchRegion()
    module.train()
    m = as_model(module)
    assert not module.training
    seen = []

    class Spy(torch.nn.Module):
        def forward(self, x):
            seen.append(tuple(x.shape))
            return torch.stack([x[:, 0].mean((1, 2)), x[:, 1].mean((1, 2))], 1)

    probs = as_model(Spy(), outputs="probabilities").predict(image[None])
    assert seen == [(1, 3, 16, 16)]
    np.testing.assert_allclose(probs[0], image[..., :2].mean((0, 1)), rtol=1e-6)
    np.testing.assert_allclose(m.predict(image[None]), numpy_region(image[None]), rtol=1e-6)  # dropout off


def test_jax_functions_detected_or_declared(image):
    assert as_model(jax_region).backend.name == "jax"  # jax.jit-wrapped: detected

    def plain(x):
        s = x[:, ROWS, COLS].mean(axis=(1, 2, 3))
        return jnp.stack([s, 1 - s], axis=1)

    assert not as_model(plain).backend.native  # a plain function is a NumPy callable unless declared
    declared = as_model(declare(plain, input_size=(16, 16), pixel_range=None), framework="jax")
    assert declared.backend.name == "jax"
    a = Rise(declared, masks=50, grid=4, seed=1).explain(image, 0)
    b = Rise(numpy_region, masks=50, grid=4, seed=1).explain(image, 0)
    np.testing.assert_allclose(a.saliency, b.saliency, atol=1e-4)


def test_bad_framework_and_masks_on_are_refused():
    with pytest.raises(ValueError, match="framework must be one of"):
        as_model(numpy_region, framework="tf")
    with pytest.raises(ValueError, match="masks_on must be one of"):
        as_model(numpy_region, masks_on="gpu")
    with pytest.raises(TypeError, match="torch.nn.Module"):
        as_model(numpy_region, framework="torch")


def test_masks_on_host_forces_numpy(image):
    m = as_model(TorchRegion(), masks_on="host")
    assert not m.backend.native
    a = Rise(m, masks=40, grid=4, seed=0).explain(image, 0)
    b = Rise(numpy_region, masks=40, grid=4, seed=0).explain(image, 0)
    np.testing.assert_allclose(a.saliency, b.saliency, atol=1e-5)


def test_failing_module_names_the_step(image):
    class Breaks(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.calls = 0
            declare(self, input_size="any", pixel_range=None)

        def forward(self, x):
            self.calls += 1
            if self.calls > 2:  # the probe on the image and the first batch pass
                raise RuntimeError("out of memory")
            return torch.stack([x.mean((1, 2, 3)), 1 - x.mean((1, 2, 3))], 1)

    with pytest.raises(ModelError, match=r"rise: at step 1: PyTorch module 'Breaks' raised RuntimeError"):
        Rise(Breaks(), masks=20, grid=4, batch_size=10, seed=0).explain(image, 0)


def test_partials_paced_on_a_device_every_batch_on_the_host(image):
    m = as_model(TorchRegion(), batch_size=10)
    m.backend.yield_interval_s = 1e9  # as on a GPU, with a long interval: only the final map syncs
    try:
        parts = list(Rise(m, masks=50, grid=4, seed=0).iter_explain(image, 0))
    finally:
        m.backend.yield_interval_s = 0.0
    assert [p.n_forward for p in parts] == [50] and parts[-1].done
    parts = list(Rise(m, masks=50, grid=4, seed=0).iter_explain(image, 0))
    assert [p.n_forward for p in parts] == [10, 20, 30, 40, 50]


def test_torch_without_array_api_compat_uses_the_fallback(monkeypatch, image):
    import sys
    from saliency_widgets.models import backends
    monkeypatch.setitem(sys.modules, "array_api_compat.torch", None)  # import fails
    net = TorchRegion().eval()
    be = backends.torch_backend(lambda x: net(x.permute(0, 3, 1, 2)), torch.device("cpu"))
    assert type(be.xp).__name__ == "_TorchNamespace"
    from saliency_widgets.models import ModelAdapter
    m = ModelAdapter(lambda b: numpy_region(np.asarray(b)), backend=be)
    for name in ("rise", "mask-update", "occlusion", "lime"):
        a = EXPLAINERS[name](m, 16).explain(image, 0)
        b = EXPLAINERS[name](numpy_region, 16).explain(image, 0)
        np.testing.assert_allclose(a.saliency, b.saliency, atol=1e-4, err_msg=name)


@settings(max_examples=8, deadline=None)
@given(bs=st.integers(1, 40), chains=st.integers(1, 12), steps=st.integers(1, 60), seed=st.integers(0, 2**32 - 1))
def test_torch_mask_update_is_the_numpy_chain_whatever_the_batch_size(bs, chains, steps, seed):
    img = np.random.default_rng(seed % 1000).uniform(0, 1, (16, 16, 3)).astype(np.float32)
    kw = dict(steps=steps, grid=4, chains=chains, occluder="zero", seed=seed)
    ref = MaskUpdate(numpy_region, batch_size=64, **kw).explain(img, 0)
    exp = MaskUpdate(TORCH_MODEL, batch_size=bs, **kw).explain(img, 0)
    np.testing.assert_allclose(exp.trace, ref.trace, atol=1e-5)
    np.testing.assert_allclose(exp.saliency, ref.saliency, atol=1e-4)


@pytest.mark.parametrize("name", ["rise", "faithful", "mask-update", "slope-relative"])
def test_jax_blocks_of_batches_in_one_call_make_the_same_map(image, name):
    # On a GPU, JAX runs several batches per compiled call (a lax.scan); forced here on the CPU.
    ref = EXPLAINERS[name](numpy_region, 64).explain(image, 0)
    m = as_model(jax_region)
    m.backend.pixels_per_dispatch = 24 * 16 * 16  # blocks of 4 batches of 5, 3 steps of 8 chains, 24 faithful steps
    m.backend.yield_interval_s = 1e9  # partial maps only between blocks, as on a GPU
    for bs in (5, 64):
        parts = list(EXPLAINERS[name](m, bs).iter_explain(image, 0))
        exp = parts[-1]
        assert exp.done and exp.n_forward == ref.n_forward
        np.testing.assert_allclose(exp.saliency, ref.saliency, atol=1e-4, rtol=0)
        if ref.trace is not None:
            np.testing.assert_allclose(exp.trace, ref.trace, atol=1e-5)
    assert any(k[0].endswith("-block") for k in m.backend._compiled)  # the block path ran


def test_batches_per_call():
    m = as_model(jax_region)
    assert m.backend.batches_per_call(256, 96 * 96) == 1  # on the CPU: a call per batch
    m.backend.pixels_per_dispatch = 2048 * 96 * 96
    assert [m.backend.batches_per_call(k, 96 * 96) for k in (256, 32, 1, 4096)] == [8, 32, 32, 1]
    # The same pixels in bigger images: one batch of 256 at 224 x 224 is a call of its own.
    assert [m.backend.batches_per_call(k, 224 * 224) for k in (256, 128, 64, 16)] == [1, 2, 5, 23]
    assert as_model(TorchRegion()).backend.batches_per_call(1, 96 * 96) == 1  # no device loop on torch
