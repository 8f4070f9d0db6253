"""Every self-check accepts the right answer and rejects gamed answers with a hint.

For each check: the right answer (recomputed here independently) is accepted; a constant, the value
printed in the instructor's notebook (or a neighbour's answer: another student's case), and a partial or
inverted answer are rejected with a hint; an unanswered exercise (``None``) says "not answered yet" on
standard error and returns False, without raising.
"""
from __future__ import annotations

import types

import numpy as np
import pytest

from saliency_widgets import coursework as cw
from saliency_widgets.coursework import WrongAnswer

ME, NEIGHBOUR = "ada.lovelace", "alan.turing"


def rejects(match="Hint"):
    return pytest.raises(WrongAnswer, match=match)


def not_answered(capsys, result):
    assert result is False
    assert "not answered yet" in capsys.readouterr().err


def other_student(key, differs):
    """A student for whom ``differs(student)`` holds (so a neighbour's answer is wrong for them)."""
    return next(s for s in (f"student{k}" for k in range(200)) if differs(s))


# ---- multiple choice ----------------------------------------------------------------------------

@pytest.mark.parametrize("key", sorted(cw.QUESTIONS))
def test_every_question_accepts_its_answer_and_rejects_every_other_with_a_hint(key, capsys):
    _, choices, right, hints = cw.QUESTIONS[key]
    letter = cw.letter_of(key, right, student=ME)
    assert cw.check_choice(key, letter, student=ME) is True
    assert "✔" in capsys.readouterr().out
    for wrong in "abcd":
        if wrong != letter:
            with rejects() as info:
                cw.check_choice(key, wrong, student=ME)
            assert str(info.value).startswith("✘")
    with rejects("not one of the choices"):
        cw.check_choice(key, "z", student=ME)
    not_answered(capsys, cw.check_choice(key, None, student=ME))
    assert set(hints) == set(choices) - {right}


@pytest.mark.parametrize("key", sorted(cw.QUESTIONS))
def test_choices_are_shuffled_per_student_so_a_copied_letter_is_wrong(key):
    right = cw.QUESTIONS[key][2]
    letters = {cw.letter_of(key, right, student=f"s{k}") for k in range(40)}
    assert len(letters) >= 3, letters                 # the right letter moves between students
    mine = cw.letter_of(key, right, student=ME)
    other = other_student(key, lambda s: cw.letter_of(key, right, student=s) != mine)
    with rejects():
        cw.check_choice(key, mine, student=other)


@pytest.mark.parametrize("key", sorted(cw.QUESTIONS))
def test_the_right_choice_is_not_recognisable_by_its_length(key):
    _, choices, right, _ = cw.QUESTIONS[key]
    lengths = {c: len(t) for c, t in choices.items()}
    assert len(choices) >= 4
    assert max(lengths.values()) / min(lengths.values()) < 1.25
    assert lengths[right] < max(lengths.values())       # never the longest option


def test_ask_prints_the_students_order_and_unknown_keys_are_named(capsys):
    cw.ask("absent_class", student=ME)
    out = capsys.readouterr().out
    right = cw.QUESTIONS["absent_class"][1]["rescaled"]
    assert f"({cw.letter_of('absent_class', 'rescaled', student=ME)}) {right}" in out
    with pytest.raises(ValueError, match="no question"):
        cw.ask("nope", student=ME)
    with pytest.raises(ValueError, match="name or student id"):
        cw.ask("absent_class", student="")


def test_cases_are_stable_and_differ_between_students():
    assert cw.case("seeds", ME) == cw.case("seeds", ME.upper())      # case and spaces do not matter
    assert any(cw.case("pointing", f"s{k}") != cw.case("pointing", ME) for k in range(5))
    with pytest.raises(ValueError, match="no exercise"):
        cw.case("nope", ME)


# ---- notebook 01 --------------------------------------------------------------------------------

PROBS = np.array([0.9, 0.08, 0.02])


def toy_classifier(batch):
    return np.tile(PROBS, (len(batch), 1))


def explanation(target, score=None, shape=(8, 8)):
    return types.SimpleNamespace(target=target, score=PROBS[target] if score is None else score,
                                 saliency=np.zeros(shape), raw=np.zeros(shape))


def test_absent_class(capsys):
    image = np.zeros((8, 8, 3))
    letter = cw.letter_of("absent_class", "rescaled", student=ME)
    kw = dict(model=toy_classifier, image=image, student=ME)
    assert cw.check_absent_class(letter, explanation(2), **kw)
    with rejects("not absent"):                                  # a constant score: the check recomputes p
        cw.check_absent_class(letter, explanation(0, score=0.0), **kw)
    with rejects("not absent"):                                  # a present class
        cw.check_absent_class(letter, explanation(1), **kw)
    other = other_student("absent_class", lambda s: cw.letter_of("absent_class", "rescaled", student=s) != letter)
    with rejects():                                              # the letter printed for another student
        cw.check_absent_class(letter, explanation(2), model=toy_classifier, image=image, student=other)
    with rejects("another image"):
        cw.check_absent_class(letter, explanation(2, shape=(4, 4)), **kw)
    not_answered(capsys, cw.check_absent_class(letter, None, **kw))


# ---- notebook 02 --------------------------------------------------------------------------------

def test_mask_update_rule(capsys):
    p, lr = cw.case("mask_update", ME)["p"], cw.case("mask_update", ME)["learning_rate"]
    assert cw.check_mask_update_rule(student=ME, on_stays=p, off_turns_on=1 - p, max_change=lr)
    with rejects():                                              # a constant
        cw.check_mask_update_rule(student=ME, on_stays=0.5, off_turns_on=0.5, max_change=lr)
    with rejects("learning rate"):                               # the prototype's learning rate, read off the notebook
        cw.check_mask_update_rule(student=ME, on_stays=p, off_turns_on=1 - p, max_change=0.02)
    other_lr = other_student("mask_update", lambda s: cw.case("mask_update", s)["learning_rate"] != lr)
    with rejects("learning rate"):                               # a neighbour's learning rate
        cw.check_mask_update_rule(student=ME, on_stays=p, off_turns_on=1 - p,
                                  max_change=cw.case("mask_update", other_lr)["learning_rate"])
    other = other_student("mask_update", lambda s: cw.case("mask_update", s)["p"] != p)
    with rejects("your p"):                                      # the numbers printed for another p
        cw.check_mask_update_rule(student=other, on_stays=p, off_turns_on=1 - p,
                                  max_change=cw.case("mask_update", other)["learning_rate"])
    with rejects("swapped"):                                     # inverted
        cw.check_mask_update_rule(student=ME, on_stays=1 - p, off_turns_on=p, max_change=lr)
    with rejects("percentage"):
        cw.check_mask_update_rule(student=ME, on_stays=p, off_turns_on=1 - p, max_change=100 * lr)
    with rejects("not a number"):
        cw.check_mask_update_rule(student=ME, on_stays=p, off_turns_on=1 - p, max_change=[lr])
    not_answered(capsys, cw.check_mask_update_rule(student=ME, on_stays=None, off_turns_on=None, max_change=None))


# ---- notebook 03 --------------------------------------------------------------------------------

def test_tolerance_in_cells(capsys):
    c = cw.case("gradcam_cells", ME)
    cell, share = c["image_size"] / c["feature_size"], c["tolerance"] / c["image_size"]
    assert cw.check_tolerance_in_cells(student=ME, cell_px=cell, share_of_side=share)
    with rejects("demo model's cell"):                           # the value printed in the notebook (96 / 6)
        cw.check_tolerance_in_cells(student=ME, cell_px=16, share_of_side=15 / 96)
    with rejects("number of cells"):                             # partial: the feature map's side
        cw.check_tolerance_in_cells(student=ME, cell_px=c["feature_size"], share_of_side=share)
    with rejects("percentage"):
        cw.check_tolerance_in_cells(student=ME, cell_px=cell, share_of_side=100 * share)
    with rejects():                                              # a constant
        cw.check_tolerance_in_cells(student=ME, cell_px=cell, share_of_side=0.5)
    not_answered(capsys, cw.check_tolerance_in_cells(student=ME, cell_px=None, share_of_side=None))


def centre_accuracy(student, tolerances):
    from saliency_widgets.demo import make_scenes
    from saliency_widgets.explainers import CenterBaseline
    from saliency_widgets.metrics import pointing_game

    c = cw.case("pointing", student)
    scenes = make_scenes(c["n"], seed=c["seed"])
    maps = [CenterBaseline().explain(img).saliency for img in scenes.images]
    return {t: float(np.mean([pointing_game(m, o[0].mask, tolerance=t) for m, o in zip(maps, scenes.objects)]))
            for t in tolerances}


def test_pointing_tolerance_is_recomputed_on_the_students_scenes(capsys):
    tols = (0, 5, 10, 15, 20, 30)
    right = centre_accuracy(ME, tols)
    assert cw.check_pointing_tolerance(right, student=ME)
    with rejects("no accuracy for"):                             # partial: a subset of the tolerances
        cw.check_pointing_tolerance({t: right[t] for t in (0, 15)}, student=ME)
    with rejects():                                              # a constant
        cw.check_pointing_tolerance({t: 0.5 for t in tols}, student=ME)
    other = other_student("pointing", lambda s: centre_accuracy(s, tols) != right)
    with rejects("your scenes"):                                 # another student's (or the printed) numbers
        cw.check_pointing_tolerance(right, student=other)
    with rejects("misses"):                                      # inverted
        cw.check_pointing_tolerance({t: 1 - right[t] for t in tols}, student=ME)
    with rejects("dict"):
        cw.check_pointing_tolerance([0.5], student=ME)
    not_answered(capsys, cw.check_pointing_tolerance(None, student=ME))


# ---- notebook 04 --------------------------------------------------------------------------------

def contrast_model(batch):
    """Every demo class's probability rises with the image's contrast (a 7th output takes the rest): a fast
    stand-in for a shape classifier; deleting to black leaves a contrasted silhouette, the mean colour does not."""
    x = np.asarray(batch, np.float32)
    c = (x / max(1.0, float(x.max()))).std(axis=(1, 2, 3))
    z = np.concatenate([np.repeat((40 * (c - 0.1))[:, None], 6, 1), np.zeros((len(c), 1))], 1)
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def flat_model(batch):
    return np.full((len(batch), 6), 1 / 6)


def deletion_answer(model, student):
    from saliency_widgets.demo import make_scenes
    from saliency_widgets.metrics import deletion

    c = cw.case("deletion", student)
    scenes = make_scenes(c["n"], seed=c["seed"])
    aucs = {}
    for name, occluder in cw.SUBSTRATES.items():
        per = [[], []]
        for i, (img, objs) in enumerate(zip(scenes.images.astype(np.float32), scenes.objects)):
            for k, m in enumerate(cw.deletion_trial_maps(objs[0], i, seed=c["seed"])):
                per[k].append(deletion(model, img, m, objs[0].label, occluder=occluder).auc)
        aucs[name] = per
    wins = {k: float(np.mean(np.asarray(p) < np.asarray(r))) for k, (p, r) in aucs.items()}
    return aucs, wins


@pytest.fixture(scope="module")
def substrate_case():
    return deletion_answer(contrast_model, ME)


def test_deletion_substrate(substrate_case, capsys):
    aucs, wins = substrate_case
    kw = dict(model=contrast_model, student=ME, rng=np.random.default_rng(0))
    good = [k for k, v in wins.items() if v > 0.5]
    assert "mean" in good, wins                                  # the default substrate, valid on this toy model
    for valid in good:                                          # any substrate that prefers the truth is accepted
        assert cw.check_deletion_substrate(aucs=aucs, wins=wins, valid=valid, **kw)
    flat_aucs, flat_wins = deletion_answer(flat_model, ME)      # a model that ignores the image: no valid substrate
    assert max(flat_wins.values()) <= 0.5
    with rejects("cannot rank"):
        cw.check_deletion_substrate(aucs=flat_aucs, wins=flat_wins, valid="mean", **{**kw, "model": flat_model})
    with rejects("lower-is-better"):                             # inverted win counts
        cw.check_deletion_substrate(aucs=aucs, wins={k: 1 - v for k, v in wins.items()}, valid=good[0], **kw)
    with rejects():                                              # a constant
        cw.check_deletion_substrate(aucs=aucs, wins={k: 0.9 for k in wins}, valid=good[0], **kw)
    with rejects("one per scene"):                               # partial: fewer scenes
        cw.check_deletion_substrate(aucs={k: (p[:3], r[:3]) for k, (p, r) in aucs.items()}, wins=wins,
                                    valid=good[0], **kw)
    made_up = {k: (list(np.array(p) - 0.01), r) for k, (p, r) in aucs.items()}   # consistent, but not measured
    with rejects("not the deletion AUCs"):
        cw.check_deletion_substrate(aucs=made_up, wins=wins, valid=good[0], **kw)
    not_answered(capsys, cw.check_deletion_substrate(aucs=None, wins=None, valid=None, **kw))


# ---- notebook 05 --------------------------------------------------------------------------------

def seed_answer(model, image, target, student):
    from saliency_widgets.explainers import Rise
    from saliency_widgets.metrics import convergence

    s0, s1 = cw.case("seeds", student)["seeds"]
    own = float(convergence(Rise(model, masks=500, seed=s0), image, target, checkpoints=[250]).correlation[0])
    a = Rise(model, masks=500, seed=s0).explain(image, target).raw
    b = Rise(model, masks=500, seed=s1).explain(image, target).raw
    return own, float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def test_seed_agreement(capsys):
    image = np.random.default_rng(0).uniform(0, 1, (16, 16, 3)).astype(np.float32)
    own, seeds = seed_answer(contrast_model, image, 0, ME)
    letter = cw.letter_of("self_convergence", "stability", student=ME)
    kw = dict(model=contrast_model, image=image, target=0, student=ME)
    assert cw.check_seed_agreement(self_correlation=own, seed_correlation=seeds, answer=letter, **kw)
    with rejects():                                              # constants (any tuple with self > seeds)
        cw.check_seed_agreement(self_correlation=0.95, seed_correlation=0.6, answer=letter, **kw)
    with rejects():                                              # the values printed in the notebook
        cw.check_seed_agreement(self_correlation=0.94, seed_correlation=0.88, answer=letter, **kw)
    with rejects("swapped"):                                     # inverted
        cw.check_seed_agreement(self_correlation=seeds, seed_correlation=own, answer=letter, **kw)
    other = other_student("seeds", lambda s: cw.case("seeds", s)["seeds"][0] != cw.case("seeds", ME)["seeds"][0])
    with rejects("your seed"):                                   # a neighbour's numbers
        cw.check_seed_agreement(self_correlation=own, seed_correlation=seeds, answer=letter,
                                **{**kw, "student": other})
    with rejects("correlation in"):
        cw.check_seed_agreement(self_correlation=1.5, seed_correlation=seeds, answer=letter, **kw)
    not_answered(capsys, cw.check_seed_agreement(self_correlation=None, seed_correlation=None, answer=None, **kw))


# ---- notebook 06 --------------------------------------------------------------------------------

def tiny_net():
    torch = pytest.importorskip("torch", reason="PyTorch is an optional dependency (not in binder/requirements.txt)")

    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
                               torch.nn.Linear(4, 5)).eval()


def test_torch_predict_accepts_channels_last_and_rejects_gamed_functions(capsys):
    net = tiny_net()
    import torch

    def right(batch):
        with torch.no_grad():
            return net(torch.from_numpy(batch).permute(0, 3, 1, 2)).numpy()

    def reshaped(batch):  # same shape, wrong pixels: the classic mistake
        with torch.no_grad():
            return net(torch.from_numpy(batch).reshape(len(batch), 3, *batch.shape[1:3])).numpy()

    def transposed(batch):  # height and width swapped: right on square images only
        with torch.no_grad():
            return net(torch.from_numpy(batch).permute(0, 3, 2, 1)).numpy()

    def unpermuted(batch):
        with torch.no_grad():
            return net(torch.from_numpy(batch)).numpy()

    fixed = right(np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype(np.float32))

    def printed(batch):  # the scores of the notebook's seeded batch, returned whatever the input
        return fixed

    rng = np.random.default_rng(1)
    assert cw.check_torch_predict(right, net, rng=rng)
    with rejects("differ"):
        cw.check_torch_predict(reshaped, net, rng=rng)
    with rejects("differ"):
        cw.check_torch_predict(transposed, net, rng=rng)
    with rejects("raised"):
        cw.check_torch_predict(unpermuted, net, rng=rng)
    with rejects():
        cw.check_torch_predict(printed, net, rng=rng)
    with rejects():
        cw.check_torch_predict(lambda batch: np.zeros((len(batch), 5)), net, rng=rng)   # a constant
    not_answered(capsys, cw.check_torch_predict(None, net))


# ---- notebook 07 --------------------------------------------------------------------------------

def test_cascading_by_hand(capsys):
    from saliency_widgets.registry import build
    from saliency_widgets.sanity import randomise_layers, spearman_similarity
    from tests.sanity.test_methods import half_model

    model = half_model("left")
    images = np.random.default_rng(0).uniform(0.3, 1.0, size=(2, 12, 12, 1)).astype(np.float32)
    targets = [0, 1]
    groups = [("decide",)]

    def truth(student):
        c = cw.case("cascade", student)
        i = c["image"] % 2
        a = build("occlusion", model).explain(images[i], targets[i]).raw
        b = build("occlusion", randomise_layers(model, ["decide"], seed=c["seed"])).explain(images[i], targets[i]).raw
        return spearman_similarity(a, b)

    right = truth(ME)
    kw = dict(student=ME, groups=groups)
    assert cw.check_cascading_by_hand(right, model, images, targets, **kw)
    with rejects():                                              # a constant
        cw.check_cascading_by_hand(1.0, model, images, targets, **kw)
    with rejects():                                              # inverted
        cw.check_cascading_by_hand(-right, model, images, targets, **kw)
    with rejects("your case"):                                   # the cascade's printed value (seed 0, image 0)
        other = other_student("cascade", lambda s: not np.isclose(truth(s), right, atol=1e-3))
        cw.check_cascading_by_hand(right, model, images, targets, student=other, groups=groups)
    not_answered(capsys, cw.check_cascading_by_hand(None, model, images, targets, **kw))


def _small_cnn():
    """A seeded random CNN with ReLUs and a dense top block named like the demo model's ("probabilities")."""
    import keras
    from keras import layers

    init = lambda k: keras.initializers.GlorotUniform(seed=k)  # noqa: E731
    inputs = keras.Input((16, 16, 3))
    x = layers.Conv2D(6, 3, padding="same", activation="relu", kernel_initializer=init(1), name="conv0")(inputs)
    x = layers.Conv2D(6, 3, padding="same", activation="relu", kernel_initializer=init(2), name="conv1")(x)
    out = layers.Dense(4, activation="softmax", kernel_initializer=init(3), name="probabilities")(layers.Flatten()(x))
    return keras.Model(inputs, out, name="small")


def test_nd_by_hand(capsys):
    """The answer computed the notebook's way (sanity.model_randomisation on the student's images, the top
    block randomised with their seed; ND from the result's floor, randomised and chance arrays) is accepted;
    a constant, the formula turned round, ND without the chance level, the mean of per-image ratios, the
    similarity itself and a neighbour's answer are rejected."""
    from saliency_widgets import sanity

    model = _small_cnn()
    images = np.random.default_rng(0).uniform(0, 1, size=(30, 16, 16, 3)).astype(np.float32)
    targets = np.arange(30) % 4

    def parts(student):
        c = cw.case("nd", student)
        res = sanity.model_randomisation(model, images[c["images"]], c["method"], targets=targets[c["images"]],
                                         layers=[("probabilities",)], seed=c["seed"], progress=False)
        m = res.methods[0]
        return res.floor[m]["spearman"], res.spearman[m][0], res.chance[m]["spearman"]

    floor, random, chance = parts(ME)
    f, r, c = floor.mean(), random.mean(), chance.mean()
    right = (f - r) / (f - c)
    kw = dict(student=ME)
    assert cw.check_nd_by_hand(right, model, images, targets, **kw)
    assert "ND = " in capsys.readouterr().out
    for gamed, match in [(0.5, "not 0.500"), ((f - c) / (f - r), "other way round"), ((f - r) / f, "chance level"),
                         (np.mean((floor - random) / (floor - chance)), "per-image ratios"), (r, "randomised similarity")]:
        with rejects(match):
            cw.check_nd_by_hand(gamed, model, images, targets, **kw)
    with rejects("not a number"):
        cw.check_nd_by_hand([right, right], model, images, targets, **kw)
    other = other_student("nd", lambda s: cw.case("nd", s) != cw.case("nd", ME))
    fo, ro, co = (a.mean() for a in parts(other))
    if not np.isclose((fo - ro) / (fo - co), right, atol=1e-3):
        with rejects("your case"):
            cw.check_nd_by_hand(right, model, images, targets, student=other)
    not_answered(capsys, cw.check_nd_by_hand(None, model, images, targets, **kw))


def test_every_nd_method_runs_on_a_model_with_relus_and_a_convolution():
    from saliency_widgets.registry import build
    model = _small_cnn()
    image = np.random.default_rng(1).uniform(0, 1, size=(16, 16, 3)).astype(np.float32)
    for method in cw.ND_METHODS:
        assert build(method, model).explain(image, 0).raw.shape == (16, 16)
    assert {cw.case("nd", f"s{k}")["method"] for k in range(40)} == set(cw.ND_METHODS)


# ---- the notebooks' exercises --------------------------------------------------------------------

def _notebooks():
    import glob
    import os
    root = os.path.join(os.path.dirname(__file__), "..", "notebooks")
    return sorted(glob.glob(os.path.join(root, "0[1-7]_*.ipynb")))


def _strip_module():
    import importlib.util
    import os
    path = os.path.join(os.path.dirname(__file__), "..", "notebooks", "solutions", "make_student_versions.py")
    spec = importlib.util.spec_from_file_location("make_student_versions", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _ng(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def test_notebook_06_check_without_pytorch_writes_to_stderr_so_it_scores_zero(capsys):
    """nbgrader gives an autograded cell with output on stderr no points: without PyTorch the check says so there."""
    import nbformat
    path = next(p for p in _notebooks() if "06_" in p)
    cell = next(c for c in nbformat.read(path, as_version=4).cells if _ng(c).get("grade_id") == "ex06-predict-check")
    assert _ng(cell).get("grade") and _ng(cell).get("points", 0) > 0
    exec(compile(cell.source, "ex06-predict-check", "exec"), {"torch": None, "predict2": lambda b: b, "net2": None})
    out = capsys.readouterr()
    assert "PyTorch is not installed" in out.err and "✔" not in out.out


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: p.rsplit("/", 1)[-1])
def test_every_exercise_is_graded_automatically_and_by_hand(path):
    import nbformat
    cells = nbformat.read(path, as_version=4).cells
    solutions = [i for i, c in enumerate(cells) if _ng(c).get("solution") and c.cell_type == "code"
                 and not _ng(c)["grade_id"].endswith("-student")]   # the id cell: an answer, checked by every check
    assert solutions, f"{path} has no exercise"
    for i in solutions:
        assert "BEGIN SOLUTION" in cells[i].source and "END SOLUTION" in cells[i].source
        check = cells[i + 1]
        assert "coursework.check" in check.source, f"{path}: answer cell {i} is not followed by a self-check"
        assert _ng(check).get("locked") and _ng(check).get("grade") and _ng(check).get("points", 0) > 0, \
            f"{path}: the self-check after cell {i} is not an autograded nbgrader cell with points"
    written = [c for c in cells if c.cell_type == "markdown" and _ng(c).get("solution") and _ng(c).get("grade")]
    assert written and all(_ng(c).get("points", 0) > 0 for c in written), f"{path}: no manually graded answer"


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: p.rsplit("/", 1)[-1])
def test_student_versions_have_no_solution_no_output_and_no_widget_state(path):
    import nbformat
    mod = _strip_module()
    nb = mod.strip_notebook(nbformat.read(path, as_version=4))
    text = nbformat.writes(nb)
    assert "BEGIN SOLUTION" not in text and "widgets" not in nb.metadata
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == []
        if mod.is_solution(cell):
            assert "YOUR CODE HERE" in cell.source or "YOUR ANSWER HERE" in cell.source
            assert "raise NotImplementedError" not in cell.source     # the student version runs on


def test_an_answer_the_solution_defines_is_declared_before_the_block():
    import nbformat
    mod = _strip_module()
    cell = nbformat.v4.new_code_cell("x = None\n### BEGIN SOLUTION\ndef f(b):\n    return b\nx, y = 1, 2\n"
                                     "### END SOLUTION", metadata={"nbgrader": {"solution": True, "grade_id": "q"}})
    nb = mod.strip_notebook(nbformat.v4.new_notebook(cells=[cell]))
    assert nb.cells[0].source.splitlines() == ["x = None", "f = None   # your answer: see the exercise above",
                                               "y = None   # your answer: see the exercise above", "# YOUR CODE HERE"]


def test_a_solution_cell_without_markers_is_refused():
    import nbformat
    mod = _strip_module()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "x = 1", metadata={"nbgrader": {"solution": True, "grade_id": "q1"}})])
    with pytest.raises(ValueError, match="markers"):
        mod.strip_notebook(nb)


def test_the_course_source_drops_the_saved_widget_state_and_declares_the_answers():
    import nbformat
    mod = _strip_module()
    path = next(p for p in _notebooks() if "01_" in p)
    nb = nbformat.read(path, as_version=4)
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {"m": {}}}}   # as saved by a run
    src = mod.course_source(nb)
    assert "widgets" not in src.metadata                     # what nbgrader's release would otherwise carry
    assert [c.source for c in src.cells if not mod.is_solution(c)] == [c.source for c in nb.cells
                                                                       if not mod.is_solution(c)]


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: p.rsplit("/", 1)[-1])
def test_the_student_versions_start_from_the_placeholder_id_not_the_instructors(path):
    """The released notebooks must not carry the id whose answers the published solutions print: left as it
    is, a student's checks would accept the instructor's printed letters and numbers."""
    import nbformat
    from saliency_widgets.coursework import PLACEHOLDER_ID
    instructor = nbformat.read(path, as_version=4)
    if not any("STUDENT =" in c.source for c in instructor.cells if c.cell_type == "code"):
        pytest.skip("no per-student exercise in this notebook")
    ids = [c for c in instructor.cells if _ng(c).get("grade_id", "").endswith("-student")]
    assert len(ids) == 1 and _ng(ids[0])["solution"], f"{path}: the STUDENT cell is not an nbgrader answer cell"
    student = _strip_module().strip_notebook(instructor)
    code = "\n".join(c.source for c in student.cells if c.cell_type == "code")
    assert '"instructor"' not in code
    assert f'STUDENT = "{PLACEHOLDER_ID}"' in code


def test_every_check_says_not_answered_while_the_id_is_the_placeholder(capsys):
    from saliency_widgets.coursework import PLACEHOLDER_ID as ph
    calls = [
        lambda: cw.check_choice("absent_class", "a", student=ph),
        lambda: cw.check_absent_class("a", object(), model=None, image=None, student=ph),
        lambda: cw.check_mask_update_rule(student=ph, on_stays=0.5, off_turns_on=0.5, max_change=0.02),
        lambda: cw.check_tolerance_in_cells(student=ph, cell_px=16.0, share_of_side=0.1),
        lambda: cw.check_pointing_tolerance({0: 0.5}, student=ph),
        lambda: cw.check_deletion_substrate(aucs=[[0.1, 0.2]], wins=1, valid=1, model=None, student=ph),
        lambda: cw.check_seed_agreement(self_correlation=0.9, seed_correlation=0.5, answer="a", model=None,
                                                image=None, target=0, student=ph),
        lambda: cw.check_cascading_by_hand(0.5, None, None, None, student=ph),
        lambda: cw.check_nd_by_hand(0.5, None, None, None, student=ph),
    ]
    for call in calls:
        assert call() is False
        err = capsys.readouterr().err
        assert "not answered yet" in err and "STUDENT" in err
    # an id of the student's own is checked as before (here: a wrong letter is wrong, not "not answered")
    with pytest.raises(WrongAnswer):
        for letter in "abcd":
            cw.check_choice("absent_class", letter, student="ada")
