"""The student's side of the exercises (saliency_widgets.coursework): cases, shuffled choices, recorded answers.

What the student's kernel does must never grade: a record's note is the same whatever the answer's value, its
plain-text form is ``0`` (what an autograder that ignores the record would give), and only the form of an
answer is checked (``MalformedAnswer``).  Cases and letter orders depend on the course secret.
"""
from __future__ import annotations

import types

import numpy as np
import pytest

from saliency_widgets import coursework as cw
from saliency_widgets.coursework import MalformedAnswer

ME = "ada.lovelace"


@pytest.fixture
def secret(monkeypatch):
    monkeypatch.delenv(cw.SECRET_FILE_ENV, raising=False)
    monkeypatch.setenv(cw.SECRET_ENV, "course-secret-for-tests")
    return "course-secret-for-tests"


@pytest.fixture
def practice(monkeypatch):
    monkeypatch.delenv(cw.SECRET_ENV, raising=False)
    monkeypatch.delenv(cw.SECRET_FILE_ENV, raising=False)


def bundle(recorded):
    return recorded._repr_mimebundle_()


# ---- the course secret ----------------------------------------------------------------------------

def test_cases_and_letter_orders_depend_on_the_secret(practice):
    keys = ["mask_update", "gradcam_cells", "pointing", "deletion", "seeds", "torch_predict", "nd"]
    public = {k: cw.case(k, ME) for k in keys}
    for other in ("secret-one", "secret-two"):
        keyed = {k: cw.case(k, ME, secret=other) for k in keys}
        assert sum(keyed[k] != public[k] for k in keys) >= 5, (other, keyed, public)   # few coincide by chance
    orders = {tuple(cw.letter_of("absent_class", c, student=ME, secret=f"s{k}") for c in cw.QUESTIONS["absent_class"][1])
              for k in range(12)}
    assert len(orders) >= 4                           # the letters move with the secret
    assert cw.case("seeds", ME) == cw.case("seeds", "  ADA.Lovelace ")   # case and spaces do not matter


def test_the_secret_comes_from_the_environment_or_a_file(monkeypatch, tmp_path, practice):
    assert cw.course_secret() is None and cw.course_fingerprint() == cw.PRACTICE
    path = tmp_path / "secret"
    path.write_text("from-a-file\n")
    monkeypatch.setenv(cw.SECRET_FILE_ENV, str(path))
    assert cw.course_secret() == "from-a-file"
    assert cw.case("pointing", ME) == cw.case("pointing", ME, secret="from-a-file")
    monkeypatch.setenv(cw.SECRET_ENV, "from-the-variable")         # the variable wins
    assert cw.course_secret() == "from-the-variable"
    assert cw.course_fingerprint() == cw.course_fingerprint("from-the-variable") != cw.course_fingerprint("x")
    monkeypatch.delenv(cw.SECRET_ENV)
    monkeypatch.setenv(cw.SECRET_FILE_ENV, str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match="cannot read the course secret"):
        cw.course_secret()
    (tmp_path / "empty").write_text("\n")
    monkeypatch.setenv(cw.SECRET_FILE_ENV, str(tmp_path / "empty"))
    with pytest.raises(ValueError, match="empty"):
        cw.course_secret()


def test_the_fingerprint_does_not_reveal_the_secret():
    fp = cw.course_fingerprint("a-long-course-secret")
    assert len(fp) == 12 and "secret" not in fp
    assert cw.course_fingerprint("a-long-course-secreT") != fp


# ---- multiple choice: shown in the student's order, never judged ----------------------------------

@pytest.mark.parametrize("key", sorted(cw.QUESTIONS))
def test_choices_are_shuffled_per_student(key, secret):
    choice = next(iter(cw.QUESTIONS[key][1]))
    letters = {cw.letter_of(key, choice, student=f"s{k}") for k in range(40)}
    assert len(letters) >= 3, letters
    for letter in "abcd":
        assert cw.letter_of(key, cw.choice_of(key, letter, student=ME), student=ME) == letter


@pytest.mark.parametrize("key", sorted(cw.QUESTIONS))
def test_the_choices_are_about_equally_long(key):
    _, choices = cw.QUESTIONS[key]
    lengths = [len(t) for t in choices.values()]
    assert len(choices) >= 4 and max(lengths) / min(lengths) < 1.25


def test_ask_prints_the_students_order(capsys, secret):
    cw.ask("absent_class", student=ME)
    out = capsys.readouterr().out
    text = cw.QUESTIONS["absent_class"][1]["rescaled"]
    assert f"({cw.letter_of('absent_class', 'rescaled', student=ME)}) {text}" in out
    with pytest.raises(ValueError, match="no question"):
        cw.ask("nope", student=ME)
    with pytest.raises(ValueError, match="name or student id"):
        cw.ask("absent_class", student="")


def test_the_kernel_does_not_know_which_choice_is_right():
    """The key lives with the grader: the questions the kernel shows carry choices only."""
    for question, choices in cw.QUESTIONS.values():
        assert isinstance(question, str) and isinstance(choices, dict)
    assert not any(name.startswith("check") for name in dir(cw))


# ---- recording: the same note whatever the value --------------------------------------------------

def test_a_record_says_the_same_for_every_letter_and_every_number(secret):
    notes = set()
    for letter in "abcd":
        rec = bundle(cw.record("ex07-predict", student=ME, answer=letter))
        assert rec["text/plain"] == "0"
        assert rec[cw.RECORD_MIME]["answers"] == {"answer": letter}
        notes.add(rec["text/html"])
    for value in (0.0, 0.5, 1.0, -3.25):
        notes_n = bundle(cw.record("ex07-by-hand", student=ME, nd=value))["text/html"]
        assert str(value) not in notes_n
    assert len(notes) == 1, notes                      # no oracle: brute-forcing letters learns nothing


def test_a_record_carries_the_id_the_course_and_the_answers(secret):
    c = cw.case("mask_update", ME)
    rec = cw.make_record("ex02-rule", ME, dict(on_stays=c["p"], off_turns_on=1 - c["p"], max_change=0.5))
    assert rec == {"format": cw.RECORD_FORMAT, "exercise": "ex02-rule", "student": ME,
                   "course": cw.course_fingerprint(secret),
                   "answers": {"on_stays": c["p"], "off_turns_on": 1 - c["p"], "max_change": 0.5}}
    outputs = [{"output_type": "execute_result", "data": bundle(cw.record("ex02-rule", student=ME, **{
        "on_stays": 1, "off_turns_on": 0, "max_change": 0}))}]
    assert cw.records_in(outputs)[0]["answers"]["on_stays"] == 1.0


def test_nothing_is_recorded_while_unanswered_or_under_the_placeholder(secret):
    for rec in (cw.record("ex02-rule", student=cw.PLACEHOLDER_ID, on_stays=0.5, off_turns_on=0.5, max_change=0.1),
                cw.record("ex02-rule", student=ME, on_stays=None, off_turns_on=None, max_change=None)):
        b = bundle(rec)
        assert cw.RECORD_MIME not in b and b["text/plain"] == "0" and "not answered yet" in b["text/html"]
    partial = bundle(cw.record("ex02-rule", student=ME, on_stays=0.5, off_turns_on=None, max_change=None))
    assert partial[cw.RECORD_MIME]["answers"]["off_turns_on"] is None
    assert "not answered yet: off_turns_on, max_change" in partial["text/html"]


def test_practice_mode_says_it_gives_no_points(practice):
    rec = bundle(cw.record("ex07-predict", student=ME, answer="a"))
    assert rec[cw.RECORD_MIME]["course"] == cw.PRACTICE
    assert "practice mode" in rec["text/html"] and cw.SECRET_ENV in rec["text/html"]


@pytest.mark.parametrize("exercise,answers,match", [
    ("ex02-rule", dict(on_stays="0.5", off_turns_on=0.5, max_change=[0.1]), "not a number"),
    ("ex02-rule", dict(on_stays=float("nan"), off_turns_on=0.5, max_change=0.1), "not a number"),
    ("ex07-predict", dict(answer="e"), "not one of the letters"),
    ("ex07-predict", dict(answer=2), "not one of the letters"),
    ("ex03-tolerance", dict(baseline=[0.5]), "dict"),
    ("ex04-substrate", dict(aucs={"black": ([0.1], [0.2])}, wins=None, valid=None, answer=None), "substrate"),
    ("ex04-substrate", dict(aucs={k: ([0.1] * 3, [0.2] * 3) for k in cw.SUBSTRATES}, wins=None, valid=None,
                            answer=None), "10 AUCs"),
    ("ex04-substrate", dict(aucs=None, wins=None, valid="white", answer=None), "not one of the substrates"),
    ("ex01-absent", dict(answer="a", exp=object()), "not an explanation"),
    ("ex06-predict", dict(predict2="not a function"), "must be a function"),
    ("ex06-predict", dict(predict2=lambda b: b.reshape(3, 1)), "raised ValueError"),
])
def test_a_malformed_answer_raises_and_names_what_is_expected(exercise, answers, match, secret):
    with pytest.raises(MalformedAnswer, match=match):
        cw.record(exercise, student=ME, **answers)


def test_the_recorded_names_are_the_exercises(secret):
    with pytest.raises(TypeError, match="records exactly"):
        cw.record("ex02-rule", student=ME, on_stays=0.5)
    with pytest.raises(ValueError, match="no exercise"):
        cw.record("ex99", student=ME, answer="a")


def test_an_explanation_is_recorded_by_its_class_score_and_shape(secret):
    exp = types.SimpleNamespace(target=np.int64(3), score=np.float32(0.01), saliency=np.zeros((5, 7)))
    rec = cw.make_record("ex01-absent", ME, dict(answer="(B)", exp=exp))
    assert rec["answers"] == {"answer": "b", "exp": {"target": 3, "score": pytest.approx(0.01), "shape": [5, 7]}}


def test_a_function_is_recorded_by_its_scores_on_the_students_own_batch(secret):
    seen = []
    rec = cw.make_record("ex06-predict", ME, dict(predict2=lambda b: seen.append(b) or b.mean(axis=(1, 2))))
    batch = cw.trial_batch(ME)
    assert np.array_equal(seen[0], batch) and batch.shape[1] != batch.shape[2] and batch.shape[-1] == 3
    assert rec["answers"]["predict2"]["shape"] == [len(batch), 3]
    assert np.allclose(rec["answers"]["predict2"]["values"], batch.mean(axis=(1, 2)).ravel())
    other = next(s for s in (f"s{k}" for k in range(50)) if cw.trial_batch(s).shape != batch.shape)
    assert cw.trial_batch(other).shape != batch.shape


def test_the_exercise_net_is_the_students_own(secret):
    torch = pytest.importorskip("torch", reason="PyTorch is an optional dependency")
    x = torch.from_numpy(cw.trial_batch(ME)).permute(0, 3, 1, 2)
    with torch.no_grad():
        mine, again = cw.exercise_net(ME)(x).numpy(), cw.exercise_net(ME)(x).numpy()
        other = cw.exercise_net("alan.turing")(x).numpy()
    assert mine.shape == (len(x), 5) and np.array_equal(mine, again) and not np.allclose(mine, other)
