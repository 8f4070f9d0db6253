"""The command line checks what it was given before it imports a framework or loads a model.

Before: ``explain`` imported TensorFlow and loaded the model, then read its input: a missing file, a truncated
JPEG or a decompression bomb took 25-46 s and 670 MB before its one-line error.  Each case runs in a fresh
interpreter, which reports the frameworks in ``sys.modules`` after the command returned.
"""
from __future__ import annotations

import io
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

FRAMEWORKS = ("tensorflow", "keras", "torch", "jax")

_RUN = """
import json, sys
from saliency_widgets.cli import main
status = main(json.loads(sys.argv[1]))
print(json.dumps({"status": status, "loaded": [m for m in %r if m in sys.modules]}))
""" % (FRAMEWORKS,)


def _run(argv):
    proc = subprocess.run([sys.executable, "-c", _RUN, json.dumps(argv)], capture_output=True, text=True,
                          timeout=600)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return result["status"], result["loaded"], proc.stderr


def _truncated_jpeg(path):
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (200, 300, 3)).astype(np.uint8)).save(buf, "JPEG")
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])


@pytest.mark.parametrize("case", ["missing", "truncated", "bomb", "not an image"])
@pytest.mark.parametrize("model", [None, "tests.toy_frameworks:make_torch_declared", "efficientnet-lite0"])
def test_a_bad_input_is_reported_before_any_framework_is_imported(tmp_path, case, model):
    from ..bombs import bomb_png
    src = tmp_path / "in.png"
    if case == "truncated":
        src = tmp_path / "in.jpg"
        _truncated_jpeg(src)
    elif case == "bomb":
        bomb_png(src, 20000, 20000)
    elif case == "not an image":
        src.write_text("hello")
    argv = ["explain", str(src), "--out", str(tmp_path / "o.png")] + (["--model", model] if model else [])
    status, loaded, err = _run(argv)
    assert status in (1, 2) and err.startswith("error: ") and err.count("\n") == 1, err
    assert loaded == [], f"{case}: {loaded} imported before the error: {err}"
    assert not (tmp_path / "o.png").exists()


def test_an_output_folder_that_does_not_exist_is_reported_before_any_framework(tmp_path):
    src = tmp_path / "in.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(src)
    status, loaded, err = _run(["explain", str(src), "--out", str(tmp_path / "nowhere" / "o.png")])
    assert status == 2 and "does not exist" in err and loaded == []


def test_evaluate_checks_its_paths_before_any_framework(tmp_path):
    status, loaded, err = _run(["evaluate", "--dataset", f"voc:{tmp_path / 'nowhere'}", "--out",
                                str(tmp_path / "rows.jsonl")])
    assert status == 2 and "nowhere" in err and loaded == [], err
    (tmp_path / "map.json").write_text("{not json")
    status, loaded, err = _run(["evaluate", "--dataset", f"voc:{tmp_path}", "--class-map", str(tmp_path / "map.json"),
                                "--out", str(tmp_path / "rows.jsonl")])
    assert status == 2 and "map.json" in err and loaded == [], err


_PEAK = """
import json, resource, sys
from saliency_widgets.cli import main
status = main(json.loads(sys.argv[1]))
hwm = [line for line in open("/proc/self/status") if line.startswith("VmHWM:")][0]  # not ru_maxrss: it
# carries the forked parent's resident memory over on Linux
print(json.dumps({"status": status, "peak_mb": int(hwm.split()[1]) / 1024}))
"""


@pytest.mark.slow
def test_a_49_megapixel_png_under_the_limit_stays_under_1_gb(tmp_path):
    """Before: a one-colour 49-megapixel PNG of 19 KB peaked at 3.7 GB (full-size float copies of the overlay)."""
    src = tmp_path / "big.png"
    Image.new("RGB", (7000, 7000), (90, 140, 200)).save(src, optimize=True)
    out = tmp_path / "o.png"
    proc = subprocess.run([sys.executable, "-c", _PEAK, json.dumps(
        ["explain", str(src), "--model", "tests.toy_models:make_channel_model", "--input-size", "224,224",
         "--method", "rise", "--budget", "64", "--out", str(out)])], capture_output=True, text=True, timeout=900)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["status"] == 0, proc.stderr
    assert result["peak_mb"] < 1024, result
    with Image.open(out) as drawn:
        assert drawn.size == (7000, 7000)
