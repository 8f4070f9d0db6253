import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from saliency_widgets.cli import main
from saliency_widgets.cli.explain import make_explainer
from saliency_widgets.registry import METHODS

from ..conftest import RegionModel


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
    assert capsys.readouterr().out.startswith("RISE [grid=6] @ 200 masks (rise): class ")  # the label of what ran


def test_explain_resizes_and_centre_crops_like_the_widget_and_draws_at_the_input_size(tmp_path):
    wide = np.zeros((96, 192, 3), np.uint8)
    wide[:, 48:144] = 200  # the centre square
    src = tmp_path / "wide.png"
    Image.fromarray(wide).save(src)
    out, npz = tmp_path / "o.png", tmp_path / "e.npz"
    assert main(["explain", str(src), "--method", "center", "--out", str(out), "--alpha", "1", "--cmap", "gray",
                 "--save-npz", str(npz)]) == 0
    drawn = np.asarray(Image.open(out))
    assert drawn.shape == (96, 192, 3)                       # the input's size, not the model's 96 x 96
    np.testing.assert_array_equal(drawn[:, :46], wide[:, :46])  # the cropped-off edges: the image as it was
    np.testing.assert_array_equal(drawn[:, 146:], wide[:, 146:])
    from saliency_widgets import Explanation
    sal = Explanation.load(npz).saliency
    assert sal.shape == (96, 96)                             # the .npz: the model's resolution
    # alpha 1, grey: the centre square is the map itself, its peak (the centre baseline's) in the middle
    centre = drawn[:, 48:144, 0].astype(float)
    assert np.abs(centre - 255 * sal).max() <= 3
    assert abs(int(np.argmax(drawn[48, :, 0])) - 96) <= 2


def test_the_overlay_follows_the_input_size_for_any_shape(tmp_path, capsys):
    """Reported: the saved map was 96 x 96 whatever the input size."""
    for h, w in ((60, 80), (300, 200), (96, 96)):
        src, out = tmp_path / f"in_{h}x{w}.png", tmp_path / f"out_{h}x{w}.png"
        Image.fromarray(np.full((h, w, 3), 128, np.uint8)).save(src)
        assert main(["explain", str(src), "--method", "center", "--out", str(out)]) == 0
        assert np.asarray(Image.open(out)).shape == (h, w, 3)
        assert f"({w} x {h})" in capsys.readouterr().out


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
    assert proc.returncode == 1 and "cannot read image" in proc.stderr and "Traceback" not in proc.stderr
    assert main(["explain", str(bad), "--model", str(tmp_path / "missing.keras")]) == 2
    assert "not found" in capsys.readouterr().err


def test_reproduce_command_writes_the_report(tmp_path, monkeypatch):
    calls = []
    import saliency_widgets.reproduce as rep
    monkeypatch.setattr(rep, "reproduce", lambda out, **kw: calls.append((out, kw)))
    assert main(["reproduce", "--out", str(tmp_path), "--tier", "test", "--scenes", "7"]) == 0
    assert main(["reproduce", "--out", str(tmp_path), "--tier", "quick"]) == 0
    assert calls == [(str(tmp_path), {"n_scenes": 7, "tier": "test"}), (str(tmp_path), {"n_scenes": None,
                                                                                         "tier": "quick"})]


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

    from ..toy_frameworks import channel_probabilities
    src, out = tmp_path / "img.png", tmp_path / "o.png"
    img = _red_left_image(src)
    assert main(["explain", str(src), "--model", spec, "--input-size", "24,32", "--method", "rise",
                 "--budget", "100", "--grid", "4", "--out", str(out), "--save-npz", str(tmp_path / "e.npz")]) == 0
    assert np.asarray(Image.open(out)).shape == (24, 32, 3)
    p = channel_probabilities(img[None].astype(np.float32))[0]
    printed = capsys.readouterr().out
    assert printed.startswith(f"RISE [grid=4] @ 100 masks (rise): class 0 (class 0), p = {p[0]:.3f}, "
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


# -- a Unix tool: outputs checked first, --force, exit status 2 (usage) / 1 (runtime), hostile files -------

def _scene_png(path):
    from saliency_widgets.demo import make_scenes
    Image.fromarray(make_scenes(1, seed=2).images[0]).save(path)
    return path


@pytest.fixture
def no_work(monkeypatch):
    """Fail the test if an explanation starts: errors about the command line come before any work."""
    from saliency_widgets.explainers.base import Explainer

    def refuse(*a, **k):
        raise AssertionError("the computation started")
    monkeypatch.setattr(Explainer, "iter_explain", refuse)
    monkeypatch.setattr(Explainer, "explain", refuse)


def test_an_existing_output_is_kept_unless_forced(tmp_path, capsys, no_work):
    src = _scene_png(tmp_path / "in.png")
    out = tmp_path / "overlay.png"
    out.write_bytes(b"precious")
    for flag, given in (("--out", str(out)), ("--save-npz", str(tmp_path / "e.npz"))):
        (tmp_path / "e.npz").write_bytes(b"precious")
        argv = ["explain", str(src), "--method", "center", "--out", str(tmp_path / "new.png")]
        argv[-1:] = [str(out)] if flag == "--out" else [str(tmp_path / "new.png"), flag, given]
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err == f"error: {flag} {given!r} exists: pass --force to replace it\n"
    assert out.read_bytes() == b"precious" and not (tmp_path / "new.png").exists()
    assert "--force" in subprocess.run([sys.executable, "-m", "saliency_widgets", "explain", "--help"],
                                       capture_output=True, text=True).stdout


def test_force_replaces_an_existing_output(tmp_path):
    src = _scene_png(tmp_path / "in.png")
    out = tmp_path / "overlay.png"
    out.write_bytes(b"old")
    assert main(["explain", str(src), "--method", "center", "--out", str(out), "--force"]) == 0
    assert np.asarray(Image.open(out)).shape == (96, 96, 3)


def test_an_output_in_a_missing_folder_is_refused_before_the_work_naming_the_path_given(tmp_path, capsys,
                                                                                         no_work, monkeypatch):
    src = _scene_png(tmp_path / "in.png")
    monkeypatch.chdir(tmp_path)
    assert main(["explain", str(src), "--out", "missing/o.png"]) == 2
    err = capsys.readouterr().err
    assert "'missing/o.png'" in err and "'missing' does not exist" in err and ".tmp" not in err
    assert main(["explain", str(src), "--out", "o.png", "--save-npz", "nowhere/e.npz"]) == 2
    assert "--save-npz 'nowhere/e.npz'" in capsys.readouterr().err
    assert main(["explain", str(src), "--out", str(tmp_path)]) == 2  # a folder
    assert "is a folder" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.png"]  # nothing written, no temporary file


def test_a_write_that_fails_names_the_path_given_not_a_temporary_file(tmp_path, capsys, monkeypatch):
    from saliency_widgets.cli import common as cli  # where the CLI's files are written
    src = _scene_png(tmp_path / "in.png")
    out = tmp_path / "o.png"
    real_open = open

    def full_disk(path, mode="r", *a, **k):
        if str(path).endswith(".tmp") and "w" in mode:
            raise OSError(28, "No space left on device")
        return real_open(path, mode, *a, **k)
    monkeypatch.setattr(cli, "open", full_disk, raising=False)
    assert main(["explain", str(src), "--method", "center", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.splitlines()[-1] == f"error: cannot write --out {str(out)!r}: No space left on device"
    assert not out.exists() and not (tmp_path / "o.png.tmp").exists()


def exploding_model(batch):
    """A model that fails when called: a runtime error, not the user's."""
    raise RuntimeError("the accelerator went away")


@pytest.mark.parametrize("argv,status,words", [
    (["explain", "{img}", "--method", "nope"], 2, "invalid choice"),                      # argparse
    (["explain", "{img}", "--method", "rise", "--budget", "0"], 2, "outside its range"),
    (["explain", "{tmp}/missing.png", "--method", "center"], 2, "not found"),
    (["explain", "{img}", "--method", "center", "--max-pixels", "0"], 2, "--max-pixels must be"),
    (["explain", "{img}", "--method", "rise", "--budget", "100", "--target", "99"], 2, "99"),
    (["explain", "{img}", "--method", "rise", "--budget", "100", "--model", "tests.cli.test_explain:exploding_model",
      "--input-size", "96,96"], 1, "the accelerator went away"),
    (["explain", "{tmp}/garbage.png"], 1, "cannot read image"),
    (["explain", "{img}", "--max-pixels", "100"], 1, "over the limit of 100 pixels"),
    (["evaluate", "--dataset", "voc:{tmp}/missing"], 2, "not found"),
    (["evaluate", "--dataset", "voc:{tmp}/voc", "--methods", "rise", "--metrics", "nope"], 2, "unknown metrics"),
    (["evaluate", "--dataset", "voc:{tmp}/voc", "--model", "tests.cli.test_explain:exploding_model", "--input-size",
      "96,96", "--classes", "demo", "--methods", "rise", "--budget", "100"], 1, "the accelerator went away"),
    (["evaluate", "--dataset", "voc:{tmp}/voc", "--methods", "center", "--table", "{tmp}/nowhere/t.md"], 2,
     "nowhere"),
    (["reproduce", "--out", "{img}"], 2, "is a file, expected a folder"),
    (["reproduce", "--out", "{tmp}/a/b/c"], 2, "does not exist"),
    (["reproduce", "--out", "{tmp}/r", "--scenes", "1"], 2, "--scenes must be 3 or more"),
    (["reproduce", "--out", "{tmp}/r", "--tier", "huge"], 2, "invalid choice"),
])
def test_exit_status_is_2_for_usage_errors_and_1_for_runtime_errors(tmp_path, capsys, argv, status, words):
    from saliency_widgets.datasets import write_demo_voc
    img = _scene_png(tmp_path / "in.png")
    (tmp_path / "garbage.png").write_text("not a png")
    if "voc:{tmp}/voc" in argv:
        write_demo_voc(tmp_path / "voc", 2, seed=1)
    argv = [a.format(img=img, tmp=tmp_path) for a in argv]
    if argv[0] in ("explain", "evaluate"):
        argv += ["--out", str(tmp_path / ("o.png" if argv[0] == "explain" else "r.jsonl"))]
    try:
        got = main(argv + (["--no-progress"] if argv[0] == "evaluate" else []))
    except SystemExit as exc:  # argparse's own usage errors
        got = exc.code
    err = capsys.readouterr().err
    assert got == status and words in err, (got, err)
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith(("error: ", "python -m"))


def test_reproduce_keeps_a_finished_run_unless_forced(tmp_path, capsys, monkeypatch):
    import saliency_widgets.reproduce as rep
    calls = []
    monkeypatch.setattr(rep, "reproduce", lambda out, **kw: calls.append(out))
    (tmp_path / "rows_single.jsonl").write_text("")      # an unfinished run: resumed
    assert main(["reproduce", "--out", str(tmp_path)]) == 0
    (tmp_path / "results.json").write_text("{}")         # a finished one: kept
    assert main(["reproduce", "--out", str(tmp_path)]) == 2
    assert "--force" in capsys.readouterr().err
    assert main(["reproduce", "--out", str(tmp_path), "--force"]) == 0
    assert calls == [str(tmp_path), str(tmp_path)]


def test_a_runtime_error_in_reproduce_is_one_line_and_status_1(tmp_path, capsys, monkeypatch):
    import saliency_widgets.reproduce as rep

    def fail(out, **kw):
        raise RuntimeError("out of memory")
    monkeypatch.setattr(rep, "reproduce", fail)
    assert main(["reproduce", "--out", str(tmp_path / "f")]) == 1
    assert capsys.readouterr().err == f"error: reproduce into {str(tmp_path / 'f')!r}: RuntimeError: out of memory\n"


def test_progress_and_messages_name_the_method_that_runs(tmp_path, capsys):
    """Reported: --method mask-update-paper showed "mask-update:" in its progress bar."""
    src = _scene_png(tmp_path / "in.png")
    assert main(["explain", str(src), "--method", "mask-update-paper", "--budget", "100",
                 "--out", str(tmp_path / "o.png")]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("mask-update (paper) @ 100 steps (mask-update-paper): class ")  # label, budget, key
    assert "mask-update (paper) (mask-update-paper):" in err and "mask-update:" not in err  # label (key)


def test_a_decompression_bomb_ends_explain_in_one_line_with_nothing_decoded(tmp_path):
    """Reported: a 48 KB PNG of 400 megapixels ended `explain` in a raw PIL DecompressionBombError traceback."""
    from ..bombs import bomb_png
    bomb = tmp_path / "bomb.png"
    assert bomb_png(bomb, 20000, 20000) < 60_000
    proc = subprocess.run([sys.executable, "-m", "saliency_widgets", "explain", str(bomb), "--out",
                           str(tmp_path / "o.png")], capture_output=True, text=True)
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"error: {str(bomb)!r}: 20000 x 20000 pixels (400.0 megapixels) is over the "
                                  f"limit of 50,000,000 pixels")
    assert not (tmp_path / "o.png").exists()
    help_text = subprocess.run([sys.executable, "-m", "saliency_widgets", "explain", "--help"],
                               capture_output=True, text=True).stdout
    assert "--max-pixels" in help_text and "50,000,000" in help_text


def test_chains_4_is_said_in_the_result_line_and_the_progress_bar(tmp_path, capsys):
    """Issue 20 item 6: the label printed is computed from the settings that ran (not the default 32 chains)."""
    from saliency_widgets.demo import make_scenes
    src = tmp_path / "scene.png"
    Image.fromarray(make_scenes(1, seed=2).images[0]).save(src)
    assert main(["explain", str(src), "--method", "mask-update", "--chains", "4", "--budget", "200",
                 "--out", str(tmp_path / "o.png")]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("mask-update (4 chains, score-weighted) @ 200 ")
    assert "(mask-update): class " in captured.out and "32 chains" not in captured.out
    assert "mask-update (4 chains, score-weighted) (mask-update)" in captured.err  # the progress bar
    assert main(["explain", str(src), "--method", "mask-update-paper", "--budget", "200",
                 "--out", str(tmp_path / "p.png")]) == 0
    assert "mask-update (paper) (mask-update-paper)" in capsys.readouterr().err


def test_chains_4_is_said_in_evaluates_table():
    from saliency_widgets import evaluate
    from saliency_widgets.demo import load_model, make_scenes
    from saliency_widgets.registry import label_of
    exp = make_explainer("mask-update", load_model(), budget=100, chains=4, progress=False)
    scenes = make_scenes(1, seed=3)
    rows = evaluate({label_of(exp): exp}, scenes.images, scenes.objects, progress=False, metrics=("pointing",))
    assert "| mask-update (4 chains, score-weighted) |" in rows.to_markdown()


def test_save_npz_without_the_suffix_checks_the_file_numpy_writes(tmp_path, capsys, no_work):
    """numpy writes ``xx.npz`` for ``--save-npz xx``: an existing xx.npz is kept unless --force (it was
    replaced without a word when only ``xx`` was checked)."""
    src = _scene_png(tmp_path / "in.png")
    (tmp_path / "xx.npz").write_bytes(b"precious")
    given = str(tmp_path / "xx")
    assert main(["explain", str(src), "--method", "center", "--out", str(tmp_path / "o.png"),
                 "--save-npz", given]) == 2
    assert capsys.readouterr().err == f"error: --save-npz {given + '.npz'!r} exists: pass --force to replace it\n"
    assert (tmp_path / "xx.npz").read_bytes() == b"precious"


@pytest.mark.parametrize("raised, status, line", [(ImportError("No module named 'efficientnet_lite_pytorch'"), 1,
                                                   "error: No module named 'efficientnet_lite_pytorch'\n"),
                                                  (KeyboardInterrupt(), 130, "interrupted\n")])
def test_a_missing_extra_and_ctrl_c_end_in_one_line_not_a_traceback(tmp_path, capsys, monkeypatch, raised,
                                                                   status, line):
    import saliency_widgets.cli as cli
    import saliency_widgets.cli.explain as explain

    def boom(args):
        raise raised
    monkeypatch.setattr(explain, "run", boom)
    src = _scene_png(tmp_path / "in.png")
    assert cli.main(["explain", str(src), "--out", str(tmp_path / "o.png")]) == status
    assert capsys.readouterr().err == line
