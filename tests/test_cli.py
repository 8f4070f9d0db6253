import subprocess
import sys

import numpy as np
from PIL import Image

from saliency_widgets.__main__ import main


def test_explain_writes_an_overlay(tmp_path):
    from saliency_widgets.demo import make_scenes
    src = tmp_path / "scene.png"
    Image.fromarray(make_scenes(1, seed=2).images[0]).save(src)
    out = tmp_path / "overlay.png"
    assert main(["explain", str(src), "--method", "rise", "--budget", "200", "--out", str(out),
                 "--save-npz", str(tmp_path / "exp.npz")]) == 0
    img = np.asarray(Image.open(out))
    assert img.shape == (96, 96, 3)
    assert (tmp_path / "exp.npz").exists()


def test_explain_bad_inputs(tmp_path, capsys):
    bad = tmp_path / "not-an-image.png"
    bad.write_text("hello")
    proc = subprocess.run([sys.executable, "-m", "saliency_widgets", "explain", str(bad)], capture_output=True,
                          text=True)
    assert proc.returncode != 0 and "cannot read image" in proc.stderr
    import pytest
    with pytest.raises(SystemExit, match="not found"):
        main(["explain", str(bad), "--model", str(tmp_path / "missing.keras")])


def test_reproduce_quick(tmp_path):
    from saliency_widgets.reproduce import reproduce
    res = reproduce(str(tmp_path), quick=True, progress=False)
    for name in ("pointing.md", "pointing_game.png", "insertion_deletion.png", "curves.png",
                 "convergence_single.png", "convergence.md", "results.json"):
        assert (tmp_path / name).exists(), name
    table = (tmp_path / "pointing.md").read_text()
    for label in ("| mask-update (paper) |", "| mask-update (32 chains, score-weighted) |", "| RISE |"):
        assert label in table  # the paper's method has its own row beside the default reading and RISE
    assert set(res["convergence_single"]) >= {"mask-update (paper)", "RISE"}
