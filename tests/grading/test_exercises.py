"""Every exercise's grader accepts the right answer and scores gamed answers 0 on the parts they got wrong.

Answers go through the student's ``coursework.record`` (as the notebook records them) and the grader's
``grade_cell`` (as nbgrader's autograder calls it).  For each exercise: the right answer, recomputed here
independently, gets full points; a constant, the value printed in the published (practice-mode) notebook, a
neighbour's answer, a partial and an inverted answer lose exactly the parts they got wrong, with a hint and
never the right value.  The recomputation runs on toy models where the notebooks use the demo model.
"""
from __future__ import annotations

import types

import numpy as np
import pytest

from saliency_widgets import coursework as cw
from saliency_widgets.grading import Course, exercises, grade_cell
from saliency_widgets.grading.key import KEY

ME, NEIGHBOUR = "ada.lovelace", "alan.turing"
SECRET = "grader-tests-secret"
COURSE = Course(SECRET)
POINTS = {"ex01-absent": 2, "ex02-rule": 2, "ex03-cells": 2, "ex03-tolerance": 3, "ex04-substrate": 3,
          "ex05-seeds": 3, "ex06-predict": 2, "ex07-predict": 1, "ex07-by-hand": 2}


@pytest.fixture(autouse=True)
def course_secret(monkeypatch):
    monkeypatch.delenv(cw.SECRET_FILE_ENV, raising=False)
    monkeypatch.setenv(cw.SECRET_ENV, SECRET)


def graded(exercise, *, student=ME, **answers):
    rec = cw.record(exercise, student=student, **answers)
    outputs = [{"output_type": "execute_result", "data": rec._repr_mimebundle_()}]
    return grade_cell(f"{exercise}-check", outputs, points=POINTS[exercise], submitter=student, course=COURSE,
                      rng=np.random.default_rng(0))


def parts(result):
    return {p.name: p.earned for p in result.parts}


def feedback_of(result, part):
    return next(p.feedback for p in result.parts if p.name == part)


def right_letter(question, student=ME):
    return cw.letter_of(question, KEY[question][0], student=student)


def wrong_letter(question, student=ME):
    return next(letter for letter in "abcd" if letter != right_letter(question, student))


def other_student(differs):
    return next(s for s in (f"student{k}" for k in range(300)) if differs(s))


# ---- multiple choice --------------------------------------------------------------------------------

@pytest.mark.parametrize("question", sorted(KEY))
def test_every_question_has_a_key_and_a_hint_for_every_wrong_choice(question):
    right, hints = KEY[question]
    assert set(hints) | {right} == set(cw.QUESTIONS[question][1]) and right not in hints
    lengths = {c: len(t) for c, t in cw.QUESTIONS[question][1].items()}
    assert lengths[right] < max(lengths.values())             # never the longest option


def test_a_letter_is_right_only_in_the_students_own_order():
    result = graded("ex07-predict", answer=right_letter("sanity_baseline"))
    assert result.earned == 1
    for letter in "abcd":
        if letter != right_letter("sanity_baseline"):
            result = graded("ex07-predict", answer=letter)
            assert result.earned == 0 and "Hint" in result.feedback()
    other = other_student(lambda s: right_letter("sanity_baseline", s) != right_letter("sanity_baseline"))
    assert graded("ex07-predict", student=other, answer=right_letter("sanity_baseline")).earned == 0


# ---- notebook 01 ------------------------------------------------------------------------------------

PROBS = np.array([0.9, 0.08, 0.02, 0.0, 0.0, 0.0])


@pytest.fixture
def toy_classifier(monkeypatch):
    monkeypatch.setattr(exercises, "demo_model", lambda: (lambda batch: np.tile(PROBS, (len(batch), 1))))


def explanation(target, score=None, shape=(96, 96)):
    return types.SimpleNamespace(target=target, score=PROBS[target] if score is None else score,
                                 saliency=np.zeros(shape))


def test_absent_class(toy_classifier):
    letter = right_letter("absent_class")
    assert graded("ex01-absent", answer=letter, exp=explanation(2)).earned == 2
    r = graded("ex01-absent", answer=letter, exp=explanation(0, score=0.0))   # a constant score: p is recomputed
    assert parts(r) == {"an absent class explained": 0, "multiple choice": 1} and "not absent" in r.feedback()
    assert graded("ex01-absent", answer=letter, exp=explanation(1)).earned == 1        # a present class
    assert "another image" in graded("ex01-absent", answer=letter, exp=explanation(2, shape=(4, 4))).feedback()
    r = graded("ex01-absent", answer=wrong_letter("absent_class"), exp=explanation(2))
    assert parts(r) == {"an absent class explained": 1, "multiple choice": 0}
    r = graded("ex01-absent", answer=letter, exp=None)                                  # partial
    assert parts(r) == {"an absent class explained": 0, "multiple choice": 1} and "not answered" in r.feedback()


# ---- notebook 02 ------------------------------------------------------------------------------------

def test_mask_update_rule():
    c = cw.case("mask_update", ME)
    p, lr = c["p"], c["learning_rate"]
    assert graded("ex02-rule", on_stays=p, off_turns_on=1 - p, max_change=lr).earned == 2
    assert graded("ex02-rule", on_stays=0.5, off_turns_on=0.5, max_change=0.5).earned == 0        # constants
    r = graded("ex02-rule", on_stays=p, off_turns_on=1 - p, max_change=0.02)   # the prototype's rate, printed
    assert parts(r) == {"on_stays and off_turns_on": 1, "max_change": 0} and "learning rate" in r.feedback()
    practice = cw.case("mask_update", ME, secret=None)                          # the published (practice) case
    if practice != c:
        r = graded("ex02-rule", on_stays=practice["p"], off_turns_on=1 - practice["p"],
                   max_change=practice["learning_rate"])
        assert r.earned < 2
    other = other_student(lambda s: cw.case("mask_update", s)["p"] != p)        # a neighbour's numbers
    q = cw.case("mask_update", other)["p"]
    assert parts(graded("ex02-rule", on_stays=q, off_turns_on=1 - q, max_change=lr))["on_stays and off_turns_on"] == 0
    r = graded("ex02-rule", on_stays=1 - p, off_turns_on=p, max_change=lr)      # inverted
    assert "swapped" in feedback_of(r, "on_stays and off_turns_on") and r.earned == 1
    assert "percentage" in graded("ex02-rule", on_stays=p, off_turns_on=1 - p, max_change=100 * lr).feedback()
    for fb in (r.feedback(),):                                                 # a hint, never the right value
        assert f"{p:g}" not in fb.replace(f"{1 - p:g}", "")


# ---- notebook 03 ------------------------------------------------------------------------------------

def test_tolerance_in_cells():
    c = cw.case("gradcam_cells", ME)
    cell, share = c["image_size"] / c["feature_size"], c["tolerance"] / c["image_size"]
    letter = right_letter("gradcam_cells")
    assert graded("ex03-cells", cell_px=cell, share_of_side=share, answer=letter).earned == 2
    r = graded("ex03-cells", cell_px=16, share_of_side=15 / 96, answer=letter)      # the demo's numbers, printed
    assert parts(r) == {"cell_px and share_of_side": 0, "multiple choice": 1}
    assert "number of cells" in graded("ex03-cells", cell_px=c["feature_size"], share_of_side=share,
                                       answer=letter).feedback()
    assert "percentage" in graded("ex03-cells", cell_px=cell, share_of_side=100 * share, answer=letter).feedback()
    assert graded("ex03-cells", cell_px=cell, share_of_side=share, answer=wrong_letter("gradcam_cells")).earned == 1


def centre_accuracy(student, secret=SECRET):
    c = cw.case("pointing", student, secret=secret)
    return exercises.centre_accuracy(c["seed"], c["n"])


def test_pointing_tolerance_is_recomputed_on_the_students_scenes():
    right = centre_accuracy(ME)
    assert graded("ex03-tolerance", baseline=right).earned == 3
    r = graded("ex03-tolerance", baseline={t: right[t] for t in (0, 15)})             # partial
    assert r.earned == pytest.approx(1.0) and "not answered" in r.feedback()
    assert graded("ex03-tolerance", baseline={t: 0.5 for t in right}).earned < 1        # a constant
    other = other_student(lambda s: centre_accuracy(s) != right)
    assert graded("ex03-tolerance", student=other, baseline=right).earned < 3          # a neighbour's numbers
    inverted = graded("ex03-tolerance", baseline={t: 1 - v for t, v in right.items()})
    assert "misses" in inverted.feedback() and inverted.earned < 1
    assert graded("ex03-tolerance", baseline={str(t): v for t, v in right.items()}).earned == 3  # keys as text


# ---- notebook 04 ------------------------------------------------------------------------------------

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
    return aucs, {k: float(np.mean(np.asarray(p) < np.asarray(r))) for k, (p, r) in aucs.items()}


@pytest.fixture
def substrate_case(monkeypatch):
    monkeypatch.setattr(exercises, "demo_model", lambda: contrast_model)
    return deletion_answer(contrast_model, ME)


def test_deletion_substrate(substrate_case):
    aucs, wins = substrate_case
    letter = right_letter("deletion_substrate")
    good = [k for k, v in wins.items() if v > 0.5]
    assert "mean" in good, wins
    for valid in good:
        assert graded("ex04-substrate", aucs=aucs, wins=wins, valid=valid, answer=letter).earned == 3
    flat_aucs, flat_wins = deletion_answer(flat_model, ME)          # a model that ignores the image
    assert max(flat_wins.values()) <= 0.5
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(exercises, "demo_model", lambda: flat_model)
        r = graded("ex04-substrate", aucs=flat_aucs, wins=flat_wins, valid="mean", answer=letter)
    assert parts(r) == {"AUCs": 1, "wins and valid": 0, "multiple choice": 1} and "cannot rank" in r.feedback()
    r = graded("ex04-substrate", aucs=aucs, wins={k: 1 - v for k, v in wins.items()}, valid=good[0], answer=letter)
    assert "lower-is-better" in r.feedback() and r.earned == 2
    assert graded("ex04-substrate", aucs=aucs, wins={k: 0.9 for k in wins}, valid=good[0], answer=letter).earned == 2
    made_up = {k: (list(np.array(p) - 0.01), r) for k, (p, r) in aucs.items()}       # consistent, not measured
    made_up_wins = {k: float(np.mean(np.less(p, r))) for k, (p, r) in made_up.items()}
    r = graded("ex04-substrate", aucs=made_up, wins=made_up_wins, valid=good[0], answer=letter)
    assert parts(r) == {"AUCs": 0, "wins and valid": 0, "multiple choice": 1}
    assert "not the deletion AUCs" in r.feedback() and "builds on AUCs" in r.feedback()
    for k, (p, q) in aucs.items():                                                     # no right value printed
        assert f"{p[0]:.4f}" not in r.feedback()


# ---- notebook 05 ------------------------------------------------------------------------------------

@pytest.fixture
def seed_case(monkeypatch):
    monkeypatch.setattr(exercises, "demo_model", lambda: contrast_model)
    image = np.random.default_rng(0).uniform(0, 1, (16, 16, 3)).astype(np.float32)
    monkeypatch.setattr(exercises, "notebook05_case", lambda: (image, 0))
    s0, s1 = cw.case("seeds", ME)["seeds"]
    return exercises.seed_correlations(image, 0, s0, s1)


def test_seed_agreement(seed_case):
    own, seeds = seed_case
    letter = right_letter("self_convergence")
    assert graded("ex05-seeds", self_correlation=own, seed_correlation=seeds, answer=letter).earned == 3
    assert graded("ex05-seeds", self_correlation=0.95, seed_correlation=0.6, answer=letter).earned == 1   # constants
    r = graded("ex05-seeds", self_correlation=seeds, seed_correlation=own, answer=letter)                 # inverted
    assert "swapped" in r.feedback() and r.earned == 1
    other = other_student(lambda s: cw.case("seeds", s)["seeds"][0] != cw.case("seeds", ME)["seeds"][0])
    assert graded("ex05-seeds", student=other, self_correlation=own, seed_correlation=seeds,
                  answer=right_letter("self_convergence", other)).earned == 1       # a neighbour's numbers
    r = graded("ex05-seeds", self_correlation=own, seed_correlation=None, answer=None)
    assert parts(r) == {"self_correlation": 1, "seed_correlation": 0, "multiple choice": 0}


# ---- notebook 06 ------------------------------------------------------------------------------------

def test_torch_predict_is_graded_on_the_students_own_net_and_batch():
    torch = pytest.importorskip("torch", reason="PyTorch is an optional dependency")
    net = cw.exercise_net(ME)

    def right(batch):
        with torch.no_grad():
            return net(torch.from_numpy(batch).permute(0, 3, 1, 2)).numpy()

    def reshaped(batch):   # same shape, wrong pixels: the classic mistake
        with torch.no_grad():
            return net(torch.from_numpy(batch).reshape(len(batch), 3, *batch.shape[1:3])).numpy()

    def transposed(batch):   # height and width swapped
        with torch.no_grad():
            return net(torch.from_numpy(batch).permute(0, 3, 2, 1)).numpy()

    assert graded("ex06-predict", predict2=right).earned == 2
    assert graded("ex06-predict", predict2=reshaped).earned == 0
    assert graded("ex06-predict", predict2=transposed).earned == 0
    assert graded("ex06-predict", predict2=lambda b: np.zeros((len(b), 5))).earned == 0          # a constant
    fake = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.LazyLinear(5))

    def rebound(batch):   # another net2 bound in the answer cell: its scores are not the student's net's
        with torch.no_grad():
            return fake(torch.from_numpy(batch).permute(0, 3, 1, 2)).numpy()
    assert graded("ex06-predict", predict2=rebound).earned == 0
    neighbour_net = cw.exercise_net(NEIGHBOUR)

    def neighbours(batch):   # the neighbour's working function, copied with their net
        with torch.no_grad():
            return neighbour_net(torch.from_numpy(batch).permute(0, 3, 1, 2)).numpy()
    assert graded("ex06-predict", predict2=neighbours).earned == 0


# ---- notebook 07 ------------------------------------------------------------------------------------

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


@pytest.mark.slow
def test_nd_by_hand(monkeypatch):
    """ND computed the notebook's way (sanity.model_randomisation on the student's images, the top block
    re-initialised with their seed; ND from the result's floor, randomised and chance arrays) gets the points;
    a constant, the formula turned round, ND without the chance level, the mean of per-image ratios, the
    randomised similarity itself and a neighbour's answer get 0, each with what it is."""
    from saliency_widgets import sanity

    model = _small_cnn()
    images = np.random.default_rng(0).uniform(0, 1, size=(30, 16, 16, 3)).astype(np.float32)
    targets = np.arange(30) % 4
    monkeypatch.setattr(exercises, "notebook07_inputs", lambda: (model, images, targets, {}, ("probabilities",)))

    def arrays(student):
        c = cw.case("nd", student)
        res = sanity.model_randomisation(model, images[c["images"]], c["method"], targets=targets[c["images"]],
                                         layers=[("probabilities",)], seed=c["seed"], progress=False)
        m = res.methods[0]
        return res.floor[m]["spearman"], res.spearman[m][0], res.chance[m]["spearman"]

    floor, random, chance = arrays(ME)
    f, r, c = floor.mean(), random.mean(), chance.mean()
    right = (f - r) / (f - c)
    assert graded("ex07-by-hand", nd=right).earned == 2
    for gamed, match in [(0.5, "not right for your case"), ((f - c) / (f - r), "other way round"),
                         ((f - r) / f, "chance level"), (np.mean((floor - random) / (floor - chance)), "per-image"),
                         (r, "randomised similarity")]:
        result = graded("ex07-by-hand", nd=gamed)
        assert result.earned == 0 and match in result.feedback(), (gamed, result.feedback())
        assert f"{right:.3f}" not in result.feedback()
    other = other_student(lambda s: cw.case("nd", s) != cw.case("nd", ME))
    fo, ro, co = (a.mean() for a in arrays(other))
    if not np.isclose((fo - ro) / (fo - co), right, atol=1e-3):
        assert graded("ex07-by-hand", student=other, nd=right).earned == 0          # a neighbour's number


@pytest.mark.slow
def test_every_nd_method_runs_on_a_model_with_relus_and_a_convolution():
    from saliency_widgets.registry import build
    model = _small_cnn()
    image = np.random.default_rng(1).uniform(0, 1, size=(16, 16, 3)).astype(np.float32)
    for method in cw.ND_METHODS:
        assert build(method, model).explain(image, 0).raw.shape == (16, 16)
    assert {cw.case("nd", f"s{k}")["method"] for k in range(40)} == set(cw.ND_METHODS)
