"""Written answers that repeat the published model answer are flagged; the student's own words are not."""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from saliency_widgets.grading.written import FLAG_AT, copied_share, copy_flag, model_answer

ROOT = Path(__file__).resolve().parents[2]
MODELS = [model_answer(c.source) for p in sorted((ROOT / "notebooks").glob("0[1-7]_*.ipynb"))
          for c in nbformat.read(p, as_version=4).cells if c.cell_type == "markdown" and "BEGIN SOLUTION" in c.source]

OWN = ("I would report the agreement between the two seeds, because a map compared with its own final version "
       "shares half of its masks with it and looks more stable than it is.")


def test_every_notebook_has_a_model_answer_to_compare_with():
    assert len(MODELS) >= 7 and all(len(m.split()) > 20 for m in MODELS)


@pytest.mark.parametrize("model", MODELS, ids=range(len(MODELS)))
def test_a_pasted_or_lightly_edited_model_answer_is_flagged(model):
    assert copied_share(model, model) == 1.0 and copy_flag(model, model)
    words = model.split()
    edited = " ".join(w.upper() if k % 9 == 0 else w for k, w in enumerate(words))   # case changes
    assert copy_flag(edited, model)
    half = " ".join(words[: len(words) // 2]) + " and that is what I think about it."
    assert copied_share(half, model) >= FLAG_AT


def test_an_own_answer_and_the_empty_stub_are_not_flagged():
    assert all(copy_flag(OWN, m) is None for m in MODELS)
    assert all(copy_flag("YOUR ANSWER HERE", m) is None for m in MODELS)
    assert copied_share("", MODELS[0]) == 0.0


def test_the_model_answer_is_read_between_the_markers():
    src = "**Your answer**: why?\n\n<!-- BEGIN SOLUTION -->\nBecause of this.\n<!-- END SOLUTION -->\n"
    assert model_answer(src) == "Because of this." and model_answer("no markers") == ""
