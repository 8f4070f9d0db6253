import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from saliency_widgets.__main__ import main, make_explainer
from saliency_widgets.registry import METHODS

from .conftest import RegionModel


def test_explain_writes_an_overlay(tmp_path, capsys):
    from saliency_widgets.demo import make_scenes
    src = tmp_path / "scene.png"
    Image.fromarray(make_scenes(1, seed=2).images[0]).save(src)
    out = tmp_path / "overlay.png"
    assert main(["explain", str(src), "--method", "rise", "--budget", "200", "--grid", "6", "--out", str(out),
                 "--save-npz", str(tmp_path / "exp.npz")]) == 0
    img = np.asarray(Image.open(out))
    assert img.shape == (96, 96, 3)
    from saliency_widgets import Explanation
    exp = Explanation.load(tmp_path / "exp.npz")
    assert exp.n_forward == 200 and exp.params["grid"] == 6
    assert capsys.readouterr().out.startswith("RISE [grid=6] @ 200 masks: class ")  # the label of what ran


def test_explain_resizes_and_centre_crops_like_the_widget(tmp_path):
    wide = np.zeros((96, 192, 3), np.uint8)
    wide[:, 48:144] = 200  # the centre square
    src = tmp_path / "wide.png"
    Image.fromarray(wide).save(src)
    out = tmp_path / "o.png"
    assert main(["explain", str(src), "--method", "center", "--out", str(out), "--alpha", "0"]) == 0
    assert np.asarray(Image.open(out)).min() >= 190  # only the centre square is left, not squeezed


@pytest.mark.parametrize("key", [k for k, s in METHODS.items() if not s.needs_gradients])  # Grad-CAM:
def test_make_explainer_uses_the_registry(key):                                                # test_registry
    exp = make_explainer(key, RegionModel(), progress=False)
    assert type(exp) is METHODS[key].cls


def test_settings_a_method_does_not_offer_are_refused(capsys, tmp_path):
    with pytest.raises(ValueError, match="no setting \\['chains'\\]"):
        make_explainer("rise", RegionModel(), chains=4)
    with pytest.raises(ValueError, match="no budget"):
        make_explainer("occlusion", RegionModel(), budget=100)
    with pytest.raises(SystemExit):
        main(["explain", "x.png", "--method", "mask-update-faithful"])  # the old name is gone
    assert "invalid choice" in capsys.readouterr().err


def test_explain_bad_inputs(tmp_path, capsys):
    bad = tmp_path / "not-an-image.png"
    bad.write_text("hello")
    proc = subprocess.run([sys.executable, "-m", "saliency_widgets", "explain", str(bad)], capture_output=True,
                          text=True)
    assert proc.returncode != 0 and "cannot read image" in proc.stderr
    assert main(["explain", str(bad), "--model", str(tmp_path / "missing.keras")]) == 2
    assert "not found" in capsys.readouterr().err


def test_reproduce_command_writes_the_report(tmp_path, monkeypatch):
    calls = []
    import saliency_widgets.reproduce as rep
    monkeypatch.setattr(rep, "reproduce", lambda out, **kw: calls.append((out, kw)))
    assert main(["reproduce", "--out", str(tmp_path), "--quick", "--scenes", "7"]) == 0
    assert calls == [(str(tmp_path), {"n_scenes": 7, "quick": True})]


# -- models given by import path (PyTorch modules, JAX functions) -----------------------------------

def _red_left_image(path, size=(24, 32)):
    """Left half pure red, right half pure green: the toy models' top class is 0 (red), decided on the left."""
    img = np.zeros((*size, 3), np.uint8)
    img[:, : size[1] // 2, 0] = 255
    img[:, size[1] // 2:, 1] = 255
    Image.fromarray(img).save(path)
    return img


@pytest.mark.parametrize("framework,spec", [("torch", "tests.toy_frameworks:make_torch"),
                                            ("jax", "tests.toy_frameworks:make_jax")])
def test_explain_a_module_given_by_import_path(tmp_path, capsys, framework, spec):
    pytest.importorskip(framework)
    from saliency_widgets import Explanation

    from .toy_frameworks import channel_probabilities
    src, out = tmp_path / "img.png", tmp_path / "o.png"
    img = _red_left_image(src)
    assert main(["explain", str(src), "--model", spec, "--input-size", "24,32", "--method", "rise",
                 "--budget", "100", "--grid", "4", "--out", str(out), "--save-npz", str(tmp_path / "e.npz")]) == 0
    assert np.asarray(Image.open(out)).shape == (24, 32, 3)
    p = channel_probabilities(img[None].astype(np.float32))[0]
    printed = capsys.readouterr().out
    assert printed.startswith(f"RISE [grid=4] @ 100 masks: class 0 (class 0), p = {p[0]:.3f}, "
                              "100 forward passes")  # 3 outputs; the label names what ran
    sal = Explanation.load(tmp_path / "e.npz").saliency
    assert sal.shape == (24, 32) and sal[:, :16].mean() > sal[:, 16:].mean()  # only the left half decides


def test_explain_an_import_path_needs_an_input_size_and_a_model(tmp_path, capsys):
    pytest.importorskip("torch")
    src = tmp_path / "img.png"
    _red_left_image(src)
    for argv, words in [
        (["--model", "tests.toy_frameworks:make_torch"], ["does not say what image size", "--input-size H,W"]),
        (["--model", "tests.no_such_module:make", "--input-size", "8,8"], ["cannot import module", "sys.path"]),
        (["--model", "tests.toy_frameworks:nope", "--input-size", "8,8"], ["has no attribute 'nope'"]),
        (["--model", "tests.toy_frameworks:NOT_A_MODEL", "--input-size", "8,8"], ["none of the accepted kinds"]),
        (["--model", "tests.toy_frameworks:NeedsArguments", "--input-size", "8,8"], ["without arguments"]),
        (["--model", "not a model", "--input-size", "8,8"], ["neither a .keras file nor"]),
        (["--model", "tests.toy_frameworks:make_torch", "--input-size", "8,x"], ["H,W or H,W,C"]),
        (["--model", "tests.toy_frameworks:make_torch", "--input-size", "8,8,1"], ["C must be 3"]),
    ]:
        out = tmp_path / "o.png"
        assert main(["explain", str(src), "--method", "center", "--out", str(out)] + argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("error: ") and all(w in err for w in words), (argv, err)
        assert not out.exists()  # nothing half-written


def test_a_keras_file_with_a_disagreeing_input_size_is_refused(tmp_path, capsys):
    from saliency_widgets.demo.model import MODEL_PATH
    src = tmp_path / "img.png"
    _red_left_image(src)
    assert main(["explain", str(src), "--model", MODEL_PATH, "--input-size", "32,32", "--method", "center",
                 "--out", str(tmp_path / "o.png")]) == 2
    assert "takes (96, 96)" in capsys.readouterr().err
    assert main(["explain", str(src), "--model", MODEL_PATH, "--input-size", "96,96", "--method", "center",
                 "--out", str(tmp_path / "o.png")]) == 0
    assert "class" in capsys.readouterr().out and (tmp_path / "o.png").exists()


def test_a_budget_left_out_is_the_registrys_default():
    """--budget's help says 'default: the registry's'; the constructors' own defaults differ (Rise: 4000)."""
    for key in ("rise", "mask-update", "lime"):
        exp = make_explainer(key, RegionModel(), progress=False)
        assert getattr(exp, METHODS[key].budget_arg) == METHODS[key].budget.default
