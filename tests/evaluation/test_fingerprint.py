"""Stored numbers are keyed to what the code computes (saliency_widgets.evaluation.fingerprint), not to its bytes."""
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from saliency_widgets.evaluation import fingerprint as F
from saliency_widgets.explainers import Rise

RISE = {"RISE": ("rise", {"masks": 1000, "grid": 8, "keep": 0.5, "occluder": "auto", "seed": 0})}


@pytest.fixture(autouse=True)
def fresh_probes():
    """Every test computes its probes anew (the probes are cached per process)."""
    F._method_probe.cache_clear()
    F._metric_probe.cache_clear()
    yield
    F._method_probe.cache_clear()
    F._metric_probe.cache_clear()


def test_the_same_code_gives_the_same_fingerprint():
    a = F.table_fingerprint(RISE, ("pointing", "insertion"), {"tolerance": 15}, {"single": (2024, (1, 1))})
    F._method_probe.cache_clear()
    F._metric_probe.cache_clear()
    b = F.table_fingerprint(RISE, ("pointing", "insertion"), {"tolerance": 15}, {"single": (2024, (1, 1))})
    assert F.differences(a, b) == []
    assert len(a["methods"]["RISE"]["probe"]["map"]) == 64 and a["methods"]["RISE"]["probe"]["n_forward"] == 64


def test_a_docstring_change_moves_nothing(monkeypatch):
    before = F.table_fingerprint(RISE)
    monkeypatch.setattr(Rise, "__doc__", "RISE, documented differently.")
    monkeypatch.setattr(Rise.draw, "__doc__", "Draws, documented differently.")
    F._method_probe.cache_clear()
    assert F.differences(before, F.table_fingerprint(RISE)) == []


def test_another_mask_probability_inside_rise_is_named(monkeypatch):
    """A change in RISE's code that moves its maps (cells on with probability 0.4 x keep) names RISE."""
    before = F.table_fingerprint(RISE)
    real = Rise.draw

    def draw(self, shape):
        up, grids, offsets = real(self, shape)
        rng = np.random.default_rng(self.seed)
        return up, rng.random(grids.shape) < 0.8 * self.keep, offsets
    monkeypatch.setattr(Rise, "draw", draw)
    F._method_probe.cache_clear()
    moved = F.differences(before, F.table_fingerprint(RISE), table="single")
    assert moved and all(line.startswith("single: method 'RISE' (rise)") for line in moved), moved
    assert any("computes another map on the probe" in line for line in moved)


def test_another_default_setting_is_named():
    stored = F.table_fingerprint(RISE)
    now = F.table_fingerprint({"RISE": ("rise", dict(RISE["RISE"][1], keep=0.4))})
    (line,) = F.differences(stored, now, table="single")
    assert "method 'RISE' (rise) now has other settings" in line and "'keep': 0.4" in line


def test_a_metric_that_computes_otherwise_is_named(monkeypatch):
    from saliency_widgets import metrics as M
    before = F.table_fingerprint({}, ("pointing", "insertion", "deletion"))
    real = M.insertion

    def shifted(*a, **k):
        curve = real(*a, **k)
        curve.auc = curve.auc + 0.01
        return curve
    monkeypatch.setattr(M, "insertion", shifted)
    F._metric_probe.cache_clear()
    moved = F.differences(before, F.table_fingerprint({}, ("pointing", "insertion", "deletion")), table="single")
    assert len(moved) == 1 and "metric 'insertion'" in moved[0], moved


def test_a_change_below_the_tolerance_is_not_a_change():
    a = F.table_fingerprint(RISE)
    b = {"methods": {"RISE": dict(a["methods"]["RISE"], probe=dict(a["methods"]["RISE"]["probe"]))},
         "aggregate": a["aggregate"]}
    b["methods"]["RISE"]["probe"]["map"] = [v + F.TOLERANCE / 2 for v in a["methods"]["RISE"]["probe"]["map"]]
    assert F.differences(a, b) == []
    b["methods"]["RISE"]["probe"]["map"][5] += F.TOLERANCE
    assert len(F.differences(a, b)) == 1


def test_other_scenes_are_named():
    a = F.table_fingerprint({}, data={"single": (2024, (1, 1))})
    b = F.table_fingerprint({}, data={"single": (2025, (1, 1))})
    assert F.differences(a, b, table="single") == ["single: the single scenes are drawn differently (data hash changed)"]


def _check_copy(tmp_path, edit):
    """Run the shipped-results check in a fresh interpreter on a copy of the package with ``edit`` applied to
    explainers/rise.py; returns (exit status, output)."""
    import saliency_widgets
    src = os.path.dirname(saliency_widgets.__file__)
    dst = tmp_path / "saliency_widgets"
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__"))
    rise = dst / "explainers" / "rise.py"
    text = rise.read_text()
    edited = edit(text)
    assert edited != text
    rise.write_text(edited)
    env = dict(os.environ, PYTHONPATH=str(tmp_path), TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run([sys.executable, "-m", "saliency_widgets", "reproduce", "--check"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=900)
    assert f"{tmp_path}" in proc.stdout, proc.stdout + proc.stderr  # the copy ran, not the installed package
    return proc.returncode, proc.stdout + proc.stderr


@pytest.mark.slow
def test_editing_the_source_of_rise_keeps_the_shipped_results_unless_its_maps_move(tmp_path):
    """As a maintainer edits explainers/rise.py: a docstring keeps the shipped tables valid, a change to RISE's
    mask probability makes the check fail and name RISE (in a fresh interpreter on an edited copy)."""
    status, out = _check_copy(tmp_path / "doc", lambda t: t.replace('"""Randomized', '"""Edited: randomized', 1)
                              if '"""Randomized' in t else t.replace('"""', '"""Edited. ', 1))
    assert status == 0, out
    status, out = _check_copy(tmp_path / "keep", lambda t: t.replace("< self.keep", "< 0.8 * self.keep"))
    assert status == 1 and "method 'RISE' (rise) computes another map" in out, out
