"""The pictures of README and the documentation (tools/figures.py, ``python -m tools.figures``).

Quick: the committed pictures exist, are small enough for a README, and say (in the JSON beside each) what
the current code would label them.  Slow: the command, rerun into a temporary folder, makes pictures of the
same shape with the same labels (and the verdict with the same values) as the committed ones.
"""
import json
import os

import pytest
from PIL import Image

from tools import figures as F

IMAGES = F.IMAGES
NAMES = ("gallery", "verdict")


def _shown(folder, name):
    with open(os.path.join(folder, f"{name}.json"), encoding="utf-8") as f:
        return json.load(f)


@pytest.mark.parametrize("name", NAMES)
def test_committed_picture_is_small_and_described(name):
    png = os.path.join(IMAGES, f"{name}.png")
    assert os.path.getsize(png) <= F.MAX_BYTES, f"{png}: over {F.MAX_BYTES} bytes"
    with Image.open(png) as img:
        assert _shown(IMAGES, name)["image"] == {"width": img.width, "height": img.height}


def test_gallery_labels_are_what_the_registry_labels_at_the_gallery_budgets():
    """A label template or a widget budget that changed makes the committed gallery stale: rerun the command."""
    from saliency_widgets.registry import METHODS
    shown = _shown(IMAGES, "gallery")
    assert len(shown["keys"]) == len(shown["rows"]) == len(shown["cells"])
    for key, label in zip(shown["keys"], shown["rows"]):
        spec = METHODS[key]
        budget = F.gallery_budget(spec)
        expected = spec.label_for({spec.budget_arg: budget} if budget is not None else None, budget=True)
        assert label == expected, f"{key}: the gallery says {label!r}, the code {expected!r}: python -m tools.figures"
    assert [c.split(": ")[0] for c in shown["columns"]] == [*F.GALLERY_PHOTOS, "demo scene"]


def test_gallery_budgets_are_in_range_and_capped():
    from saliency_widgets.registry import METHODS
    for spec in METHODS.values():
        b = F.gallery_budget(spec)
        if spec.budget is None:
            assert b is None
            continue
        assert spec.budget.low <= b <= min(spec.budget.high, spec.ui_budget), (spec.key, b)
        assert b <= F.GALLERY_PASSES or b == spec.budget.low, (spec.key, b)


@pytest.mark.slow
def test_verdict_values_are_the_shipped_results():
    assert F.verdict_values() == {k: v for k, v in _shown(IMAGES, "verdict").items() if k != "image"}


@pytest.mark.slow
def test_the_command_regenerates_the_committed_pictures(tmp_path):
    """``python -m tools.figures`` on the current code: same image shapes, same labels, same verdict values."""
    assert F.main(["--out", str(tmp_path)]) == 0
    for name in NAMES:
        new, old = _shown(tmp_path, name), _shown(IMAGES, name)
        assert new == old, f"{name}: regenerate with `python -m tools.figures` ({new} != {old})"
        with Image.open(tmp_path / f"{name}.png") as a, Image.open(os.path.join(IMAGES, f"{name}.png")) as b:
            assert a.size == b.size
