"""SmoothGrad against Captum (torch) and finite differences (Keras) on the same noise; seeds and batch sizes."""
import numpy as np
import pytest

from saliency_widgets import Gradient, SmoothGrad

from . import gradient_refs as refs
from .test_gradient import close

keras = pytest.importorskip("keras", reason="the Keras tests need the [tf] extra (pip install saliency_widgets[tf])")


def test_torch_smoothgrad_matches_captum_on_the_same_noise():
    # NoiseTunnel's smoothgrad rule (the mean of Saliency over noisy copies) applied by Captum to our
    # noise: batch_size 4 < 10 samples, so the chunked draws of explain() must be draw_noise()'s stream.
    torch = pytest.importorskip("torch", reason="needs the [torch] extra")
    captum = pytest.importorskip("captum.attr", reason="the Captum cross-check needs `pip install captum`")
    module = refs.torch_cnn(seed=1)
    x = refs.image(2).astype(np.float32)
    sg = SmoothGrad(module, samples=10, noise=0.2, seed=4, batch_size=4, outputs="logits")
    noisy = torch.tensor((x + sg.draw_noise(x)).astype(np.float32)).permute(0, 3, 1, 2).requires_grad_(True)
    ref = captum.Saliency(module).attribute(noisy, target=2, abs=False).mean(0).permute(1, 2, 0).detach().numpy()
    close(sg.explain(x, target=2).raw, np.abs(ref).max(axis=-1))


def test_keras_smoothgrad_is_the_mean_finite_difference_gradient_at_the_noisy_copies():
    model = refs.keras_smooth_net(3, softmax=False)
    x = refs.image(5).astype(np.float32)
    sg = SmoothGrad(model, samples=4, noise=0.1, seed=7, batch_size=3, outputs="logits")
    fds = [refs.finite_difference(lambda b: model(b), xn, 1) for xn in x + sg.draw_noise(x)]
    exp = sg.explain(x, target=1)
    close(exp.raw, np.abs(np.mean(fds, axis=0)).max(axis=-1))
    assert exp.n_forward == 4
    # sigma is a fraction of the image's value range (Smilkov et al.'s noise level)
    assert sg.sigma(x) == pytest.approx(0.1 * (x.max() - x.min()))


def test_no_noise_is_the_vanilla_gradient_and_the_noise_changes_the_map():
    model = refs.keras_smooth_net(3, softmax=False)
    x = refs.image(5).astype(np.float32)
    vanilla = Gradient(model, outputs="logits").explain(x, target=0).raw
    close(SmoothGrad(model, samples=3, noise=0.0, outputs="logits").explain(x, target=0).raw, vanilla, tol=1e-6)
    noisy = SmoothGrad(model, samples=3, noise=0.5, seed=0, outputs="logits").explain(x, target=0).raw
    assert np.abs(noisy - vanilla).max() > 1e-2 * np.abs(vanilla).max()


def test_same_seed_same_map_for_every_batch_size_and_another_seed_another_map():
    model = refs.keras_smooth_net(3, softmax=False)
    x = refs.image(6).astype(np.float32)
    maps = [SmoothGrad(model, samples=9, seed=11, batch_size=bs, outputs="logits").explain(x, target=2).raw
            for bs in (1, 4, 9, 64)]
    for m in maps[1:]:
        close(m, maps[0], tol=1e-6)
    other = SmoothGrad(model, samples=9, seed=12, outputs="logits").explain(x, target=2).raw
    assert np.abs(other - maps[0]).max() > 1e-3 * np.abs(maps[0]).max()


def test_partial_maps_count_the_samples_done():
    model = refs.keras_smooth_net(3, softmax=False)
    parts = list(SmoothGrad(model, samples=7, seed=0, batch_size=3, outputs="logits")
                 .iter_explain(refs.image(1).astype(np.float32), target=0))
    assert [p.n_forward for p in parts] == [3, 6, 7]
    assert [p.done for p in parts] == [False, False, True]


@pytest.mark.parametrize("kwargs, error, match", [
    ({"noise": -0.1}, ValueError, "noise must be a finite number >= 0"),
    ({"noise": float("nan")}, ValueError, "noise must be a finite number >= 0"),
    ({"noise": "high"}, TypeError, "noise must be a number"),
    ({"samples": 0}, ValueError, r"samples=0 \(the budget\) is outside its range \[1, 10000\]"),
    ({"seed": -1}, TypeError, "seed must be None, an int >= 0"),
])
def test_bad_settings_are_refused(kwargs, error, match):
    with pytest.raises(error, match=match):
        SmoothGrad(refs.keras_smooth_net(0, softmax=False), **kwargs)
