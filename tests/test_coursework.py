"""Every self-check accepts the right answer and rejects a wrong one with a hint."""
from __future__ import annotations

import numpy as np
import pytest

from saliency_widgets import coursework as cw
from saliency_widgets.coursework import WrongAnswer


def rejects(match="Hint"):
    return pytest.raises(WrongAnswer, match=match)


@pytest.mark.parametrize("key", sorted(cw.QUESTIONS))
def test_every_question_accepts_its_answer_and_rejects_every_other_with_a_hint(key, capsys):
    _, choices, right, hints = cw.QUESTIONS[key]
    assert cw.check_choice(key, right) is True
    assert "✔" in capsys.readouterr().out
    for wrong in set(choices) - {right}:
        assert wrong in hints, f"{key}: choice {wrong} has no hint"
        with rejects() as info:
            cw.check_choice(key, wrong)
        assert str(info.value).startswith("✘")
    with rejects("not one of the choices"):
        cw.check_choice(key, "z")


def test_ask_prints_the_question_and_unknown_keys_are_named(capsys):
    cw.ask("absent_class")
    assert "(b)" in capsys.readouterr().out
    with pytest.raises(ValueError, match="no question"):
        cw.ask("nope")


def test_absent_class():
    assert cw.check_absent_class("b", score=0.001)
    with rejects("not absent"):
        cw.check_absent_class("b", score=0.9)
    with rejects():
        cw.check_absent_class("a", score=0.001)


def test_mask_update_rule():
    assert cw.check_mask_update_rule(p=0.1, on_stays=0.1, off_turns_on=0.9, max_change=0.02)
    with rejects("stay on"):
        cw.check_mask_update_rule(p=0.1, on_stays=0.9, off_turns_on=0.9, max_change=0.02)
    with rejects("inverted"):  # the hint names the inversion
        cw.check_mask_update_rule(p=0.1, on_stays=0.1, off_turns_on=0.1, max_change=0.02)
    with rejects("percentage"):
        cw.check_mask_update_rule(p=0.1, on_stays=0.1, off_turns_on=0.9, max_change=2)
    with rejects():
        cw.check_mask_update_rule(p=0.1, on_stays=0.1, off_turns_on=0.9, max_change=0.1)


def test_tolerance_in_cells():
    assert cw.check_tolerance_in_cells(cell_px=16, share_of_side=15 / 96)
    with rejects():
        cw.check_tolerance_in_cells(cell_px=6, share_of_side=15 / 96)
    with rejects("percentage"):
        cw.check_tolerance_in_cells(cell_px=16, share_of_side=100 * 15 / 96)
    with rejects():
        cw.check_tolerance_in_cells(cell_px=16, share_of_side=15 / 224)


def test_pointing_tolerance_is_recomputed_from_the_scenes():
    from saliency_widgets.demo import make_scenes
    from saliency_widgets.explainers import CenterBaseline
    from saliency_widgets.metrics import pointing_game

    scenes = make_scenes(12, seed=1)
    maps = [CenterBaseline().explain(img).saliency for img in scenes.images]
    right = {t: float(np.mean([pointing_game(m, o[0].mask, tolerance=t) for m, o in zip(maps, scenes.objects)]))
             for t in (0, 15, 30)}
    assert cw.check_pointing_tolerance(right, scenes)
    wrong = dict(right)
    wrong[15] = 1.0 - right[15] if right[15] != 0.5 else 0.0
    with rejects("at 15 px"):
        cw.check_pointing_tolerance(wrong, scenes)
    with rejects("dict"):
        cw.check_pointing_tolerance([0.5], scenes)


def test_deletion_substrate():
    assert cw.check_deletion_substrate(wins={"black": 0.1, "mean": 0.85, "blur": 0.8}, valid="mean")
    with rejects("another substrate"):
        cw.check_deletion_substrate(wins={"black": 0.1, "mean": 0.85}, valid="black")
    with rejects("no substrate"):
        cw.check_deletion_substrate(wins={"black": 0.1, "mean": 0.4}, valid="mean")
    with rejects("not one of"):
        cw.check_deletion_substrate(wins={"black": 0.1, "mean": 0.85}, valid="grey")


def test_seed_agreement():
    assert cw.check_seed_agreement(self_correlation=0.95, seed_correlation=0.6, answer="b")
    with rejects("should exceed"):
        cw.check_seed_agreement(self_correlation=0.5, seed_correlation=0.6, answer="b")
    with rejects():
        cw.check_seed_agreement(self_correlation=0.95, seed_correlation=0.6, answer="a")
    with rejects("correlation in"):
        cw.check_seed_agreement(self_correlation=1.5, seed_correlation=0.6, answer="b")


def tiny_net():
    torch = pytest.importorskip("torch", reason="PyTorch is an optional dependency (not in binder/requirements.txt)")

    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
                               torch.nn.Linear(4, 5)).eval()


def test_torch_predict_accepts_channels_last_and_rejects_a_reshape():
    net = tiny_net()
    import torch


    def right(batch):
        with torch.no_grad():
            return net(torch.from_numpy(batch).permute(0, 3, 1, 2)).numpy()

    def reshaped(batch):  # same shape, wrong pixels: the classic mistake
        with torch.no_grad():
            return net(torch.from_numpy(batch).reshape(len(batch), 3, *batch.shape[1:3])).numpy()

    def unpermuted(batch):
        with torch.no_grad():
            return net(torch.from_numpy(batch)).numpy()

    assert cw.check_torch_predict(right, net)
    with rejects("differ"):
        cw.check_torch_predict(reshaped, net)
    with rejects("raised"):
        cw.check_torch_predict(unpermuted, net)


def test_cascading_by_hand():
    from saliency_widgets.registry import build
    from saliency_widgets.sanity import randomise_layers, spearman_similarity
    from tests.sanity.test_methods import half_model

    model = half_model("left")
    image = np.random.default_rng(0).uniform(0.3, 1.0, size=(12, 12, 1)).astype(np.float32)
    a = build("occlusion", model).explain(image, 0).raw
    b = build("occlusion", randomise_layers(model, ["decide"], seed=0)).explain(image, 0).raw
    right = spearman_similarity(a, b)
    assert cw.check_cascading_by_hand(right, model, image, 0, layers=["decide"])
    with rejects("not"):
        cw.check_cascading_by_hand(1.0, model, image, 0, layers=["decide"])


# ---- the notebooks' exercises --------------------------------------------------------------------

def _notebooks():
    import glob
    import os
    root = os.path.join(os.path.dirname(__file__), "..", "notebooks")
    return sorted(glob.glob(os.path.join(root, "0[2-7]_*.ipynb")))


def _strip_module():
    import importlib.util
    import os
    path = os.path.join(os.path.dirname(__file__), "..", "notebooks", "solutions", "make_student_versions.py")
    spec = importlib.util.spec_from_file_location("make_student_versions", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: p.rsplit("/", 1)[-1])
def test_every_notebook_has_an_exercise_whose_solution_is_followed_by_a_self_check(path):
    import nbformat
    cells = nbformat.read(path, as_version=4).cells
    solutions = [i for i, c in enumerate(cells) if c.get("metadata", {}).get("nbgrader", {}).get("solution")]
    assert solutions, f"{path} has no exercise"
    checked = [i for i in solutions
               if "coursework.check" in cells[i + 1].source and cells[i + 1].metadata["nbgrader"]["locked"]]
    assert checked, f"{path}: no solution is followed by a locked self-check cell"
    for i in solutions:
        assert "### BEGIN SOLUTION" in cells[i].source and "### END SOLUTION" in cells[i].source


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: p.rsplit("/", 1)[-1])
def test_student_versions_have_no_solution_and_no_output(path):
    import nbformat
    mod = _strip_module()
    nb = mod.strip_notebook(nbformat.read(path, as_version=4))
    text = nbformat.writes(nb)
    assert "BEGIN SOLUTION" not in text
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == []
        if mod.is_solution(cell):
            assert "raise NotImplementedError()" in cell.source


def test_a_solution_cell_without_markers_is_refused():
    import nbformat
    mod = _strip_module()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "x = 1", metadata={"nbgrader": {"solution": True, "grade_id": "q1"}})])
    with pytest.raises(ValueError, match="markers"):
        mod.strip_notebook(nb)


def test_the_notebook_01_exercise_cells_are_valid_nbformat():
    import json
    import os
    import nbformat
    path = os.path.join(os.path.dirname(__file__), "..", "notebooks", "solutions", "01_exercise.cells.json")
    cells = [nbformat.from_dict(c) for c in json.load(open(path, encoding="utf-8"))]
    nb = nbformat.v4.new_notebook(cells=cells)
    nbformat.validate(nb)
    assert cells[1].metadata["nbgrader"]["solution"] and "coursework.check_absent_class" in cells[2].source
