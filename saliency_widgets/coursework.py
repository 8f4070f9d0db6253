"""The student's side of the tutorial notebooks' exercises: each student's own case, and recorded answers.

Nothing here says whether an answer is right.  An exercise's last cell calls :func:`record`, which checks
that the answers are well formed (a number where a number is asked, a letter among the choices, one AUC per
scene), raises :class:`MalformedAnswer` when they are not, and stores them in the cell's output, stamped
with the ``STUDENT`` id and the course.  The course's grader, :mod:`saliency_widgets.grading`, reads those
records after the hand-in, in its own process, and recomputes every answer from the submitter's case: the
student's kernel never runs a check it could replace.

Each student's case (a probability, image sizes, scenes, seeds, a network's weights) and the order of the
multiple-choice letters derive from the id the student enters and from the **course secret** the lecturer
sets where the students' kernels run (:data:`SECRET_ENV`, or a file named by :data:`SECRET_FILE_ENV`;
never in the repository).  Without it the notebooks run in *practice mode*: the cases are the public ones
that the published tutorials print, and the grader gives such a hand-in no points.
"""
from __future__ import annotations

import hashlib
import hmac
import html
import json
import os

import numpy as np

__all__ = ["MalformedAnswer", "PLACEHOLDER_ID", "QUESTIONS", "SUBSTRATES", "ND_METHODS", "EXERCISES", "RECORD_MIME",
           "SECRET_ENV", "SECRET_FILE_ENV", "course_secret", "course_fingerprint", "normalise_id", "case",
           "student_seed", "ask", "letter_of", "record", "make_record", "deletion_trial_maps", "trial_batch",
           "exercise_net"]

#: the id a student version starts from; nothing is recorded until the student enters their own
PLACEHOLDER_ID = "your-name-or-id"
#: the environment variable that holds the course secret (a lecturer's random string)
SECRET_ENV = "SALIENCY_WIDGETS_COURSE_SECRET"
#: or the environment variable that names a file holding it
SECRET_FILE_ENV = "SALIENCY_WIDGETS_COURSE_SECRET_FILE"
#: the MIME type of a recorded answer in a cell's output
RECORD_MIME = "application/vnd.saliency-widgets.answers+json"
#: what a record's ``course`` field says when no course secret was set
PRACTICE = "practice"
RECORD_FORMAT = 1

_FROM_ENVIRONMENT = object()


class MalformedAnswer(ValueError):
    """An answer is not of the form its exercise asks for (not whether it is right: that is graded later)."""


# ---------------------------------------------------------------------------------------------
# The course secret and the student's id
# ---------------------------------------------------------------------------------------------

def course_secret() -> str | None:
    """The course secret from :data:`SECRET_ENV`, or from the file :data:`SECRET_FILE_ENV` names; ``None``
    (practice mode) when neither is set."""
    value = os.environ.get(SECRET_ENV, "").strip()
    if value:
        return value
    path = os.environ.get(SECRET_FILE_ENV, "").strip()
    if not path:
        return None
    try:
        with open(os.path.expanduser(path), encoding="utf-8") as f:
            value = f.read().strip()
    except OSError as err:
        raise FileNotFoundError(f"{SECRET_FILE_ENV}={path!r}: cannot read the course secret there ({err})") from err
    if not value:
        raise ValueError(f"{SECRET_FILE_ENV}={path!r}: the file is empty; it must hold the course secret")
    return value


def _secret(secret):
    return course_secret() if secret is _FROM_ENVIRONMENT else secret


def course_fingerprint(secret=_FROM_ENVIRONMENT) -> str:
    """A short public tag of the course secret (``"practice"`` without one): a record carries it, so the
    grader can tell work done under another secret, or none, from work done for this course."""
    secret = _secret(secret)
    if secret is None:
        return PRACTICE
    return hmac.new(secret.encode(), b"fingerprint", hashlib.sha256).hexdigest()[:12]


def normalise_id(student) -> str:
    """The id as cases and the grader compare it: stripped, lower case."""
    if not isinstance(student, str) or not student.strip():
        raise ValueError(f"student must be your name or student id (a non-empty string), got {student!r}")
    return student.strip().lower()


def _is_placeholder(student) -> bool:
    return isinstance(student, str) and student.strip().lower() == PLACEHOLDER_ID


def student_seed(student: str, key: str = "", *, secret=_FROM_ENVIRONMENT) -> int:
    """A seed for ``student`` and exercise ``key``: a keyed hash (HMAC-SHA256) with the course secret, or a
    plain hash in practice mode (stable across machines and Python runs)."""
    message = f"{key}\x00{normalise_id(student)}".encode()
    secret = _secret(secret)
    if secret is None:
        digest = hashlib.sha256(message).digest()
    else:
        digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return int.from_bytes(digest[:4], "little")


def case(key: str, student: str, *, secret=_FROM_ENVIRONMENT) -> dict:
    """The parameters of exercise ``key`` for ``student`` under the course secret (each student gets their own).

    Keys: ``"mask_update"`` (p, learning rate), ``"gradcam_cells"`` (image side, feature-map side,
    tolerance), ``"pointing"`` (scene seed and count), ``"deletion"`` (scene seed and count), ``"seeds"`` (two
    seeds), ``"torch_predict"`` (a network's weights and a test batch), ``"nd"`` (a deterministic method of
    :data:`ND_METHODS`, a seed for the randomised top block and the chance level, and 8 image indices out of
    30).
    """
    rng = np.random.default_rng(student_seed(student, key, secret=secret))
    if key == "mask_update":
        p = float(rng.choice([0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.7, 0.75, 0.8, 0.85, 0.9]))
        # the student's own learning rate: never the prototype's 0.02, so reading it off the notebook is wrong
        return {"p": p, "learning_rate": float(rng.choice([0.01, 0.03, 0.04, 0.05, 0.08, 0.1]))}
    if key == "gradcam_cells":
        size, feature = [(128, 8), (224, 7), (224, 14), (160, 10), (192, 12), (256, 8), (112, 7)][rng.integers(7)]
        return {"image_size": size, "feature_size": feature, "tolerance": int(rng.choice([8, 10, 12, 20, 25]))}
    if key == "pointing":
        return {"seed": int(rng.integers(1000, 10 ** 6)), "n": 60}
    if key == "deletion":
        return {"seed": int(rng.integers(1000, 10 ** 6)), "n": 10}
    if key == "seeds":
        a, b = rng.choice(np.arange(2, 1000), size=2, replace=False)
        return {"seeds": (int(a), int(b))}
    if key == "torch_predict":
        h, w = (int(v) for v in rng.choice(np.arange(12, 40), size=2, replace=False))
        return {"seed": int(rng.integers(1, 10 ** 6)), "batch": (int(rng.integers(2, 5)), h, w)}
    if key == "nd":
        return {"method": str(rng.choice(ND_METHODS)), "seed": int(rng.integers(1, 1000)),
                "images": sorted(int(i) for i in rng.choice(30, size=8, replace=False))}
    raise ValueError(f"no exercise {key!r}; choose one of mask_update, gradcam_cells, pointing, deletion, "
                     "seeds, torch_predict, nd")


# ---------------------------------------------------------------------------------------------
# Multiple-choice questions: {key: (question, {choice id: text})}.  The choices have about the same length
# and the same tone; which one is right is the grader's (saliency_widgets.grading.key), not the kernel's.
# ---------------------------------------------------------------------------------------------

QUESTIONS = {
    "absent_class": (
        "You explained a class that is NOT in the image, and the map still has a bright spot. Why?",
        {"faint": "The model sees a faint, partial instance of that class exactly where the bright spot is, "
                  "so the map shows it.",
         "rescaled": "Each map is scaled to its own maximum, so some pixel is brightest even when the evidence "
                     "is tiny everywhere.",
         "top1": "The explainer silently falls back to the top-1 class when the requested target has a low "
                 "probability.",
         "clutter": "The clutter shapes in the scene always attract the map, whichever class is being "
                    "explained."}),
    "self_convergence": (
        "A map's correlation with its OWN final map rises to 1 as the budget grows. What does that measure?",
        {"truth": "Correctness: the partial map approaches the true explanation, so a higher value means a more "
                  "faithful map.",
         "stability": "The stability of one run, inflated: the partial map shares its first passes with the final "
                      "one.",
         "speed": "Speed: how many forward passes per second the method makes on this model before it settles.",
         "noise": "The noise of the model itself: a noisy classifier never lets the correlation reach 1 at "
                  "all."}),
    "deletion_substrate": (
        "With black (0) as the deletion substrate, the object's own mask often has a WORSE deletion AUC than a "
        "random map on the demo scenes. Why?",
        {"wrong_mask": "The mask is not what the model uses: the model classifies by the background around the "
                       "object.",
         "silhouette": "Deleting the object to black leaves its silhouette, which is what the shape classes "
                       "are.",
         "higher": "Deletion AUC is higher-is-better, so the object's mask wins after all and nothing is wrong "
                   "here.",
         "step": "The deletion step is too coarse on 96-px images, so both curves are dominated by rounding."}),
    "gradcam_cells": (
        "Grad-CAM scores far higher at 15 px tolerance than strict (tolerance 0) on the demo scenes. Why?",
        {"noisy": "Grad-CAM's maps are noisy from run to run, and a tolerance averages that noise away.",
         "cells": "Its map is upsampled from coarse feature-map cells: its maximum lands near, not on, the "
                  "object.",
         "target": "The strict variant of the pointing game explains a different target class than the 15-px "
                   "variant does.",
         "centre": "Grad-CAM's maps are biased to the image centre, and the objects tend to be in the centre."}),
    "sanity_baseline": (
        "Predict: under cascading randomisation, what is the centre baseline's similarity to its trained map "
        "at every step?",
        {"drops": "It drops to about 0 once the output layer is randomised, like every method that reads the "
                  "model.",
         "slow": "It falls slowly as more layers are randomised, because it depends on the early features "
                 "most.",
         "one": "It stays at 1: its map is a fixed Gaussian that never calls the model, so nothing changes "
                "it.",
         "negative": "It goes below 0: randomising the weights inverts every map, including the centre one."}),
}

LETTERS = "abcdefgh"


def _order(key: str, student: str, secret=_FROM_ENVIRONMENT) -> list:
    if key not in QUESTIONS:
        raise ValueError(f"no question {key!r}; choose one of {sorted(QUESTIONS)}")
    ids = list(QUESTIONS[key][1])
    rng = np.random.default_rng(student_seed(student, "mc:" + key, secret=secret))
    return [ids[i] for i in rng.permutation(len(ids))]


def letter_of(key: str, choice: str, *, student: str, secret=_FROM_ENVIRONMENT) -> str:
    """The letter under which ``student`` sees choice ``choice`` (an id in :data:`QUESTIONS`) of ``key``."""
    order = _order(key, student, secret)
    if choice not in order:
        raise ValueError(f"question {key!r} has no choice {choice!r}; its choices are {order}")
    return LETTERS[order.index(choice)]


def choice_of(key: str, letter: str, *, student: str, secret=_FROM_ENVIRONMENT) -> str:
    """The choice id that ``student`` sees under ``letter`` (the inverse of :func:`letter_of`)."""
    order = _order(key, student, secret)
    return order[LETTERS.index(letter)]


def ask(key: str, *, student: str) -> None:
    """Print the multiple-choice question ``key`` with its choices, in ``student``'s order."""
    if _is_placeholder(student):
        print("(set STUDENT to your name or student id first: the order of the choices below is not yours yet)")
    order = _order(key, student)
    question, choices = QUESTIONS[key]
    print(question)
    for letter, c in zip(LETTERS, order):
        print(f"  ({letter}) {choices[c]}")


# ---------------------------------------------------------------------------------------------
# Inputs some exercises share with the grader
# ---------------------------------------------------------------------------------------------

#: the deletion substrates of notebook 04's exercise: name -> occluder of saliency_widgets.metrics.deletion
SUBSTRATES = {"black": "zero", "mean": "mean", "blur": "blur"}
#: the deterministic methods (floor 1) of notebook 07's ND exercise
ND_METHODS = ("gradient", "guided-backprop", "grad-cam", "occlusion")


def deletion_trial_maps(obj, index: int, *, seed: int):
    """The two maps of the substrate exercise for scene ``index``: the object's own mask (the perfect map;
    :func:`saliency_widgets.metrics.deletion` breaks its ties in a seeded order) and a uniform random map
    drawn from ``np.random.default_rng([seed, index])``."""
    return obj.mask.astype(float), np.random.default_rng([seed, index]).random(obj.mask.shape)


def trial_batch(student: str, *, secret=_FROM_ENVIRONMENT) -> np.ndarray:
    """The test batch of notebook 06's exercise for ``student``: (B, H, W, 3) float32 in [0, 255], H != W."""
    c = case("torch_predict", student, secret=secret)
    rng = np.random.default_rng([c["seed"], 1])
    return rng.uniform(0, 255, size=(*c["batch"], 3)).astype(np.float32)


def exercise_net(student: str, *, secret=_FROM_ENVIRONMENT):
    """Notebook 06's tiny PyTorch classifier with ``student``'s own weights: channels-first (B, 3, H, W)
    float tensors in, (B, 5) scores out (conv 3x3 -> 4 channels, global average pool, linear -> 5).  The
    weights are drawn with NumPy from the student's case, so they are the same under any PyTorch version."""
    import torch

    rng = np.random.default_rng([case("torch_predict", student, secret=secret)["seed"], 0])
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
                              torch.nn.Linear(4, 5)).eval()
    with torch.no_grad():
        for p in net.parameters():
            bound = 1 / np.sqrt(p.shape[1] * int(np.prod(p.shape[2:]))) if p.ndim > 1 else 0.1
            p.copy_(torch.from_numpy(rng.uniform(-bound, bound, size=tuple(p.shape)).astype(np.float32)))
    return net


# ---------------------------------------------------------------------------------------------
# Recording answers
# ---------------------------------------------------------------------------------------------

#: exercise -> {answer name: kind}; the grader (saliency_widgets.grading) knows how to grade each
EXERCISES = {
    "ex01-absent": {"answer": "letter:absent_class", "exp": "explanation"},
    "ex02-rule": {"on_stays": "number", "off_turns_on": "number", "max_change": "number"},
    "ex03-cells": {"cell_px": "number", "share_of_side": "number", "answer": "letter:gradcam_cells"},
    "ex03-tolerance": {"baseline": "tolerances"},
    "ex04-substrate": {"aucs": "aucs", "wins": "shares", "valid": "substrate", "answer": "letter:deletion_substrate"},
    "ex05-seeds": {"self_correlation": "number", "seed_correlation": "number", "answer": "letter:self_convergence"},
    "ex06-predict": {"predict2": "scores"},
    "ex07-predict": {"answer": "letter:sanity_baseline"},
    "ex07-by-hand": {"nd": "number"},
}


def _number(name, v):
    try:
        ok = np.ndim(v) == 0 and np.isfinite(float(v))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise MalformedAnswer(f"{name} = {v!r} is not a number: give one finite number.")
    return float(v)


def _letter(name, v, question):
    n = len(QUESTIONS[question][1])
    a = str(v).strip().lower().strip("()") if isinstance(v, str) else None
    if a is None or len(a) != 1 or a not in LETTERS[:n]:
        raise MalformedAnswer(f"{name} = {v!r} is not one of the letters {list(LETTERS[:n])}: answer with one "
                              "letter, e.g. \"a\".")
    return a


def _tolerances(name, v):
    if not isinstance(v, dict) or not v:
        raise MalformedAnswer(f"{name} must be a dict {{tolerance in px: accuracy}}, got {type(v).__name__}.")
    return [[_number(f"{name} key", k), _number(f"{name}[{k!r}]", a)] for k, a in v.items()]


def _aucs(name, v, n):
    if not isinstance(v, dict) or sorted(v) != sorted(SUBSTRATES):
        raise MalformedAnswer(f"{name} must map each substrate {sorted(SUBSTRATES)} to (perfect AUCs, random "
                              "AUCs), e.g. {\"black\": ([...], [...]), \"mean\": ..., \"blur\": ...}.")
    out = {}
    for k, pair in v.items():
        if len(pair) != 2 or any(np.shape(a) != (n,) for a in pair):
            raise MalformedAnswer(f"{name}[{k!r}] must be two lists of {n} AUCs (perfect map, random map), one "
                                  "per scene of your case.")
        out[k] = [[_number(f"{name}[{k!r}]", x) for x in a] for a in pair]
    return out


def _shares(name, v):
    if not isinstance(v, dict) or sorted(v) != sorted(SUBSTRATES):
        raise MalformedAnswer(f"{name} must map each substrate {sorted(SUBSTRATES)} to a share, e.g. "
                              "{\"black\": 0.1, ...}.")
    return {k: _number(f"{name}[{k!r}]", x) for k, x in v.items()}


def _explanation(name, v):
    target, score, saliency = (getattr(v, a, None) for a in ("target", "score", "saliency"))
    if target is None or score is None or saliency is None:
        raise MalformedAnswer(f"{name} is a {type(v).__name__}, not an explanation: store what "
                              "`explain(image, target)` returns.")
    return {"target": int(target), "score": _number(f"{name}.score", score), "shape": list(np.shape(saliency))}


def _scores(name, fn, student):
    if not callable(fn):
        raise MalformedAnswer(f"{name} must be a function batch -> scores, got {type(fn).__name__}.")
    batch = trial_batch(student)
    try:
        out = np.asarray(fn(batch.copy()), dtype=np.float64)
    except Exception as exc:   # the student's function failed: say how, loudly
        raise MalformedAnswer(f"{name} raised {type(exc).__name__} on a batch of shape {batch.shape}: {exc}") from exc
    if not np.all(np.isfinite(out)):
        raise MalformedAnswer(f"{name} returned values that are not finite numbers.")
    return {"shape": list(out.shape), "values": out.ravel().tolist()}


def _encode(kind: str, name: str, value, student: str):
    if kind == "number":
        return _number(name, value)
    if kind.startswith("letter:"):
        return _letter(name, value, kind.split(":", 1)[1])
    if kind == "tolerances":
        return _tolerances(name, value)
    if kind == "aucs":
        return _aucs(name, value, case("deletion", student)["n"])
    if kind == "shares":
        return _shares(name, value)
    if kind == "substrate":
        if value not in SUBSTRATES:
            raise MalformedAnswer(f"{name} = {value!r} is not one of the substrates {sorted(SUBSTRATES)}.")
        return value
    if kind == "explanation":
        return _explanation(name, value)
    if kind == "scores":
        return _scores(name, value, student)
    raise ValueError(f"unknown answer kind {kind!r}")


def make_record(exercise: str, student: str, answers: dict) -> dict | None:
    """The record of ``answers`` to ``exercise`` by ``student`` (what :func:`record` stores), ``None`` while
    nothing is answered; raises :class:`MalformedAnswer` for an answer of the wrong form."""
    if exercise not in EXERCISES:
        raise ValueError(f"no exercise {exercise!r}; choose one of {sorted(EXERCISES)}")
    kinds = EXERCISES[exercise]
    if sorted(answers) != sorted(kinds):
        raise TypeError(f"{exercise} records exactly {sorted(kinds)}, got {sorted(answers)}")
    if _is_placeholder(student) or all(v is None for v in answers.values()):
        return None
    student = student.strip()
    normalise_id(student)
    encoded = {k: None if v is None else _encode(kinds[k], k, v, student) for k, v in answers.items()}
    return {"format": RECORD_FORMAT, "exercise": exercise, "student": student, "course": course_fingerprint(),
            "answers": encoded}


class Recorded:
    """What :func:`record` returns: shown as a short note; its plain-text form is ``0`` (the points an
    autograder that ignores the record would give: only the course's grader scores it)."""

    def __init__(self, payload: dict | None, note: str):
        self.payload, self.note = payload, note

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = {"text/plain": "0", "text/html": f"<pre>{html.escape(self.note)}</pre>"}
        if self.payload is not None:
            bundle[RECORD_MIME] = self.payload
        return bundle

    def __repr__(self):
        return "0"


def _note(payload, exercise, answers) -> str:
    missing = [k for k, v in answers.items() if v is None]
    if payload is None:
        what = "`STUDENT` (your name or student id)" if not missing else ", ".join(f"`{k}`" for k in missing)
        return f"… {exercise}: not answered yet: set {what} above, then rerun this cell. Nothing recorded."
    text = f"recorded for {payload['student']!r}: {', '.join(k for k in answers if k not in missing)}"
    if missing:
        text += f"; not answered yet: {', '.join(missing)}"
    if payload["course"] == PRACTICE:
        text += (f"\n(practice mode: no course secret is set ({SECRET_ENV}); a graded lab gives no points for "
                 "answers recorded without it)")
    return text + "\nGraded after you hand in the notebook: this cell does not say whether it is right."


def record(exercise: str, *, student: str, **answers) -> Recorded:
    """Record ``answers`` to ``exercise`` for ``student`` in this cell's output, after checking their form.

    Returns an object the notebook shows as a note ("recorded ...", or "not answered yet" while an answer is
    still ``None`` or ``STUDENT`` the placeholder); raises :class:`MalformedAnswer` for an answer of the
    wrong form.  It never says whether an answer is right: the grader does, after the hand-in.
    """
    if _is_placeholder(student):
        return Recorded(None, _note(None, exercise, {"STUDENT": None}))
    payload = make_record(exercise, student, answers)
    return Recorded(payload, _note(payload, exercise, answers))


def records_in(outputs) -> list[dict]:
    """The records in a cell's outputs (nbformat output dicts), in order."""
    found = []
    for out in outputs or []:
        data = out.get("data", {}) if hasattr(out, "get") else {}
        if RECORD_MIME in data:
            payload = data[RECORD_MIME]
            found.append(json.loads(payload) if isinstance(payload, str) else dict(payload))
    return found
