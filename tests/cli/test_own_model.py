"""The command line explains a user's own model as the model's declaration says, exactly as the Python API does."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from saliency_widgets.cli import main

torch = pytest.importorskip("torch")


def _photo(path, h=30, w=45, seed=0):
    img = np.random.default_rng(seed).integers(0, 256, (h, w, 3)).astype(np.uint8)
    img[:, : w // 3, 0] = 250  # a red left third: class 0
    Image.fromarray(img).save(path)
    return img


def _cli_map(tmp_path, argv, name="cli"):
    from saliency_widgets import Explanation
    npz = tmp_path / f"{name}.npz"
    assert main(["explain", str(tmp_path / "in.png"), "--method", "rise", "--budget", "64", "--grid", "4",
                 "--out", str(tmp_path / f"{name}.png"), "--save-npz", str(npz)] + argv) == 0
    return Explanation.load(npz)


def test_the_cli_and_the_api_give_the_same_map_for_a_declared_module(tmp_path, capsys):
    """Before: the CLI applied its own crop (resize to cover) and fill (the image's mean) to a module."""
    from saliency_widgets import Rise

    from ..toy_frameworks import make_torch_declared
    img = _photo(tmp_path / "in.png")
    cli = _cli_map(tmp_path, ["--model", "tests.toy_frameworks:make_torch_declared"])
    api = Rise(make_torch_declared(), masks=64, grid=4, seed=0).explain(img)
    assert cli.raw.shape == api.raw.shape == (16, 16)
    np.testing.assert_allclose(cli.raw, api.raw, atol=1e-6)
    assert cli.target == api.target == 0 and abs(cli.score - api.score) < 1e-6
    assert "class 0 (red)" in capsys.readouterr().out  # the declared class names


def test_input_size_on_the_command_line_is_the_declaration_the_api_would_make(tmp_path):
    """--input-size H,W is declare(model, input_size=(H, W), pixel_range=None): the same crop and fill as the API."""
    from saliency_widgets import Rise
    from saliency_widgets.models import declare

    from ..toy_frameworks import make_torch
    img = _photo(tmp_path / "in.png")
    cli = _cli_map(tmp_path, ["--model", "tests.toy_frameworks:make_torch", "--input-size", "16,16"])
    api = Rise(declare(make_torch(), input_size=(16, 16), pixel_range=None), masks=64, grid=4,
               seed=0).explain(img)
    np.testing.assert_allclose(cli.raw, api.raw, atol=1e-6)


def test_a_module_that_declares_its_size_needs_no_input_size(tmp_path, capsys):
    """Before: a module declaring its input size was refused unless --input-size was given again."""
    _photo(tmp_path / "in.png", 24, 32)
    for spec in ("tests.toy_frameworks:make_torch_size_attribute", "tests.toy_frameworks:make_torch_declared"):
        assert main(["explain", str(tmp_path / "in.png"), "--model", spec, "--method", "center",
                     "--out", str(tmp_path / "o.png"), "--force"]) == 0, capsys.readouterr().err
    capsys.readouterr()
    assert main(["explain", str(tmp_path / "in.png"), "--model", "tests.toy_frameworks:make_torch_declared",
                 "--input-size", "16,16", "--method", "center", "--out", str(tmp_path / "o.png"), "--force"]) == 0
    assert main(["explain", str(tmp_path / "in.png"), "--model", "tests.toy_frameworks:make_torch_declared",
                 "--input-size", "20,20", "--method", "center", "--out", str(tmp_path / "o.png"), "--force"]) == 2
    err = capsys.readouterr().err
    assert "--input-size gives (20, 20)" in err and "declares (16, 16)" in err


def test_a_factory_returning_a_declared_model_is_a_model_spec(tmp_path):
    """The route a user finds in the docs: a function of no arguments that returns the declared model."""
    _photo(tmp_path / "in.png")
    exp = _cli_map(tmp_path, ["--model", "tests.toy_frameworks:make_torch_declared"], name="factory")
    assert exp.raw.shape == (16, 16)
