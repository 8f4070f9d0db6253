"""SmoothGrad against Captum (torch) and finite differences (Keras) on the same noise; seeds and batch sizes."""
import numpy as np
import pytest

from saliency_widgets import Gradient, SmoothGrad

from . import gradient_refs as refs
from .test_gradient import close

keras = pytest.importorskip("keras", reason="the Keras tests need the [tf] extra (pip install saliency_widgets[tf])")


#: each convention and the Captum arguments that reproduce it: NoiseTunnel(Saliency(model)).attribute(...)
CAPTUM = {"absolute": {"nt_type": "smoothgrad", "abs": True},     # Saliency's default abs=True
          "signed": {"nt_type": "smoothgrad", "abs": False},      # then |.| per pixel, as our raw takes it
          "squared": {"nt_type": "smoothgrad_sq", "abs": False}}


@pytest.mark.parametrize("aggregate", sorted(CAPTUM))
def test_each_convention_is_captums_noise_tunnel_with_its_arguments(aggregate, monkeypatch):
    # Captum's NoiseTunnel run with our noise: torch.normal, which it draws its noise with, returns our draws
    # (after checking that stdevs = noise * value range is the standard deviation it asked for).  batch_size 4
    # < 10 samples: the chunked draws of explain() must be draw_noise()'s stream.
    torch = pytest.importorskip("torch", reason="needs the [torch] extra")
    captum = pytest.importorskip("captum.attr", reason="the Captum cross-check needs `pip install captum`")
    module = refs.torch_cnn(seed=1)
    x = refs.image(2).astype(np.float32)
    sg = SmoothGrad(module, samples=10, noise=0.2, seed=4, batch_size=4, outputs="logits", aggregate=aggregate)
    stdevs = 0.2 * float(x.max() - x.min())
    ours = torch.tensor(sg.draw_noise(x), dtype=torch.float32).permute(0, 3, 1, 2)

    def normal(mean, std):
        assert mean == 0 and torch.allclose(std, torch.full_like(std, stdevs)) and std.shape == ours.shape
        return ours.clone()

    t = torch.tensor(x).permute(2, 0, 1)[None]
    with monkeypatch.context() as m:
        m.setattr(torch, "normal", normal)
        ref = captum.NoiseTunnel(captum.Saliency(module)).attribute(
            t, nt_samples=10, nt_samples_batch_size=10, stdevs=stdevs, target=2, **CAPTUM[aggregate])
    ref = ref[0].permute(1, 2, 0).detach().numpy()
    exp = sg.explain(x, target=2)
    close(exp.raw, np.abs(ref).max(axis=-1))
    assert aggregate in exp.params["aggregate"] and f"mean of {aggregate} gradients" in sg.label


@pytest.mark.parametrize("aggregate, rule", [("absolute", lambda g: np.abs(g).mean(0)),
                                             ("signed", lambda g: np.abs(g.mean(0))),
                                             ("squared", lambda g: np.square(g).mean(0))], ids=["abs", "signed", "sq"])
def test_keras_smoothgrad_averages_finite_difference_gradients_at_the_noisy_copies(aggregate, rule):
    model = refs.keras_smooth_net(3, softmax=False)
    x = refs.image(5).astype(np.float32)
    sg = SmoothGrad(model, samples=4, noise=0.1, seed=7, batch_size=3, outputs="logits", aggregate=aggregate)
    fds = np.stack([refs.finite_difference(lambda b: model(b), xn, 1) for xn in x + sg.draw_noise(x)])
    exp = sg.explain(x, target=1)
    close(exp.raw, rule(fds).max(axis=-1))
    assert exp.n_forward == 4
    # sigma is a fraction of the image's value range (Smilkov et al.'s noise level)
    assert sg.sigma(x) == pytest.approx(0.1 * (x.max() - x.min()))


def test_the_conventions_differ_and_the_label_names_the_one_that_runs():
    from saliency_widgets.registry import get_method
    model = refs.keras_smooth_net(3, softmax=False)
    x = refs.image(5).astype(np.float32)
    maps = {a: SmoothGrad(model, samples=6, noise=0.5, seed=0, aggregate=a, outputs="logits").explain(x, 0).raw
            for a in CAPTUM}
    assert np.abs(maps["absolute"] - maps["signed"]).max() > 0.05 * maps["absolute"].max()
    assert (maps["absolute"] >= maps["signed"] - 1e-6).all()  # |mean| <= mean |.|
    spec = get_method("smoothgrad")
    assert spec.label == "SmoothGrad (50 samples, sigma 0.15 x range, mean of absolute gradients)"
    assert spec.label_for({"aggregate": "signed"}) == ("SmoothGrad (50 samples, sigma 0.15 x range, mean of "
                                                       "signed gradients)")


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
    ({"aggregate": "mean"}, ValueError, r"aggregate must be one of \('absolute', 'signed', 'squared'\)"),
])
def test_bad_settings_are_refused(kwargs, error, match):
    with pytest.raises(error, match=match):
        SmoothGrad(refs.keras_smooth_net(0, softmax=False), **kwargs)
