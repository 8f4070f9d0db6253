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
    assert capsys.readouterr().out.startswith("RISE: class ")


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
