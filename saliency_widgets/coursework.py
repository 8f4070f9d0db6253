"""Self-checks for the exercises in the tutorial notebooks.

Every ``check_*`` function takes a student's answer and

* prints a line starting with ✔ and returns ``True`` when it is right;
* raises :class:`WrongAnswer` (an ``AssertionError``: a notebook run with its
  solutions fails loudly in CI, and nbgrader's autograder gives the cell no
  points) with a message starting with ✘ and a hint when it is wrong;
* prints "not answered yet" to standard error and returns ``False`` when the
  answer is still ``None`` (the value the exercise cell starts from), so that a
  student notebook runs top to bottom before it is filled in.  nbgrader gives an
  autograded cell that writes to standard error no points.

No check compares with a stored number.  Each recomputes the right answer with
the package from the student's own inputs (their model, image, explanation), or
from a case drawn for the student: :func:`case` derives each exercise's
parameters (a probability, image sizes, scenes, seeds) from the name or id the
student enters, so a neighbour's answer, or the value printed in the instructor's
notebook, is wrong for this student.  Multiple-choice questions
(:data:`QUESTIONS`) are shuffled per student by the same id.
"""
from __future__ import annotations

import hashlib
import sys

import numpy as np

__all__ = ["WrongAnswer", "PLACEHOLDER_ID", "QUESTIONS", "SUBSTRATES", "DEMO_GROUPS", "case", "student_seed", "ask", "letter_of",
           "check_choice", "check_absent_class", "check_mask_update_rule", "check_tolerance_in_cells",
           "check_pointing_tolerance", "check_deletion_substrate", "deletion_trial_maps", "check_seed_agreement",
           "check_torch_predict", "check_cascading_by_hand", "ND_METHODS", "check_nd_by_hand"]


#: the id a student version starts from (the instructor notebooks set their own id in a solution block, so
#: the released notebooks never carry the id whose answers the published solutions print); every check
#: treats it as "not answered yet" until the student enters their name or id
PLACEHOLDER_ID = "your-name-or-id"


class WrongAnswer(AssertionError):
    """A self-check rejected an answer; the message says why and gives a hint."""


def _ok(text: str) -> bool:
    print("✔ " + text)
    return True


def _wrong(text: str, hint: str):
    raise WrongAnswer(f"✘ {text}\n  Hint: {hint}")


def _not_answered(names: str) -> bool:
    # stderr, not an exception: the student notebook still runs on; nbgrader scores the cell 0
    print(f"… not answered yet: set {names} in the exercise cell above, then rerun this cell.", file=sys.stderr)
    return False


def _id_unset(student) -> bool:
    """True (after saying so) while ``student`` is still the placeholder of the student versions."""
    if isinstance(student, str) and student.strip().lower() == PLACEHOLDER_ID:
        _not_answered("`STUDENT` (your name or student id: your own numbers and choices come from it)")
        return True
    return False


def _unanswered(**values) -> bool:
    missing = [k for k, v in values.items() if v is None]
    return _not_answered(", ".join(f"`{k}`" for k in missing)) if missing else True


def _is_number(v) -> bool:
    try:
        return np.ndim(v) == 0 and np.isfinite(float(v))
    except (TypeError, ValueError):
        return False


#: the deterministic methods (floor 1) of notebook 07's ND exercise
ND_METHODS = ("gradient", "guided-backprop", "grad-cam", "occlusion")


# ---------------------------------------------------------------------------------------------
# The student's own case
# ---------------------------------------------------------------------------------------------

def student_seed(student: str, key: str = "") -> int:
    """A seed for ``student`` and exercise ``key`` (stable across machines and Python runs)."""
    if not isinstance(student, str) or not student.strip():
        raise ValueError(f"student must be your name or student id (a non-empty string), got {student!r}")
    digest = hashlib.sha256(f"{key}\x00{student.strip().lower()}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def case(key: str, student: str) -> dict:
    """The parameters of exercise ``key`` for ``student``: each student gets their own numbers.

    Keys: ``"mask_update"`` (p), ``"gradcam_cells"`` (image side, feature-map side, tolerance),
    ``"pointing"`` (scene seed and count), ``"deletion"`` (scene seed and count, map seed),
    ``"seeds"`` (two seeds), ``"cascade"`` (image index, layer group, seed), ``"nd"`` (a deterministic
    method of :data:`ND_METHODS`, a seed for the randomised top block and the chance level, and 8 image
    indices out of 30).
    """
    rng = np.random.default_rng(student_seed(student, key))
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
    if key == "cascade":
        return {"image": int(rng.integers(4)), "group": int(rng.integers(2)), "seed": int(rng.integers(1, 1000))}
    if key == "nd":
        return {"method": str(rng.choice(ND_METHODS)), "seed": int(rng.integers(1, 1000)),
                "images": sorted(int(i) for i in rng.choice(30, size=8, replace=False))}
    raise ValueError(f"no exercise {key!r}; choose one of mask_update, gradcam_cells, pointing, deletion, "
                     "seeds, cascade, nd")


# ---------------------------------------------------------------------------------------------
# Multiple-choice questions: {key: (question, {choice id: text}, right id, {wrong id: hint})}.
# The choices have about the same length and the same tone: the right one is not the longest.
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
                    "explained."},
        "rescaled",
        {"faint": "Print the explanation's `score`: the model's probability for that class on the whole image. "
                  "Is it the probability of a class the model sees?",
         "top1": "Explain two different absent classes: are the two maps the same? The explainer reads the target.",
         "clutter": "Compare with the map of a class that is present: does it go to the clutter too?"}),
    "self_convergence": (
        "A map's correlation with its OWN final map rises to 1 as the budget grows. What does that measure?",
        {"truth": "Correctness: the partial map approaches the true explanation, so a higher value means a more "
                  "faithful map.",
         "stability": "The stability of one run, inflated: the partial map shares its first passes with the final "
                      "one.",
         "speed": "Speed: how many forward passes per second the method makes on this model before it settles.",
         "noise": "The noise of the model itself: a noisy classifier never lets the correlation reach 1 at "
                  "all."},
        "stability",
        {"truth": "The final map is not the truth: a wrong map also correlates perfectly with itself. Which "
                  "measure in this notebook compares a map with ground truth?",
         "speed": "A correlation of two maps has no time in it.",
         "noise": "The demo model is deterministic; and the correlation does reach 1 at the full budget."}),
    "deletion_substrate": (
        "With black (0) as the deletion substrate, the object's own mask often has a WORSE deletion AUC than a "
        "random map on the demo scenes. Why?",
        {"wrong_mask": "The mask is not what the model uses: the model classifies by the background around the "
                       "object.",
         "silhouette": "Deleting the object to black leaves its silhouette, which is what the shape classes "
                       "are.",
         "higher": "Deletion AUC is higher-is-better, so the object's mask wins after all and nothing is wrong "
                   "here.",
         "step": "The deletion step is too coarse on 96-px images, so both curves are dominated by rounding."},
        "silhouette",
        {"wrong_mask": "Occlusion and the pointing game say the model uses the object. What does a black shape "
                       "look like to a shape classifier?",
         "higher": "Deletion removes the most salient pixels first; a good map makes the probability drop fast. "
                   "Is a fast drop a low or a high area under the curve?",
         "step": "Change `step`: does the perfect map start winning with black? The substrate is the cause."}),
    "gradcam_cells": (
        "Grad-CAM scores far higher at 15 px tolerance than strict (tolerance 0) on the demo scenes. Why?",
        {"noisy": "Grad-CAM's maps are noisy from run to run, and a tolerance averages that noise away.",
         "cells": "Its map is upsampled from coarse feature-map cells: its maximum lands near, not on, the "
                  "object.",
         "target": "The strict variant of the pointing game explains a different target class than the 15-px "
                   "variant does.",
         "centre": "Grad-CAM's maps are biased to the image centre, and the objects tend to be in the centre."},
        "cells",
        {"noisy": "Grad-CAM is deterministic: it gives the same map every run. Look at the map's blocks.",
         "target": "Both variants explain the same class; only the tolerance changes.",
         "centre": "Compare with the centre baseline's accuracy at both tolerances (exercise 2)."}),
    "sanity_baseline": (
        "Predict: under cascading randomisation, what is the centre baseline's similarity to its trained map "
        "at every step?",
        {"drops": "It drops to about 0 once the output layer is randomised, like every method that reads the "
                  "model.",
         "slow": "It falls slowly as more layers are randomised, because it depends on the early features "
                 "most.",
         "one": "It stays at 1: its map is a fixed Gaussian that never calls the model, so nothing changes "
                "it.",
         "negative": "It goes below 0: randomising the weights inverts every map, including the centre one."},
        "one",
        {k: "Does CenterBaseline.explain ever call the model? Read saliency_widgets/explainers/center.py."
         for k in ("drops", "slow", "negative")}),
}


def _order(key: str, student: str) -> list:
    if key not in QUESTIONS:
        raise ValueError(f"no question {key!r}; choose one of {sorted(QUESTIONS)}")
    ids = list(QUESTIONS[key][1])
    return [ids[i] for i in np.random.default_rng(student_seed(student, "mc:" + key)).permutation(len(ids))]


def letter_of(key: str, choice: str, *, student: str) -> str:
    """The letter under which ``student`` sees choice ``choice`` (an id in :data:`QUESTIONS`) of ``key``."""
    order = _order(key, student)
    if choice not in order:
        raise ValueError(f"question {key!r} has no choice {choice!r}; its choices are {order}")
    return "abcdefgh"[order.index(choice)]


def ask(key: str, *, student: str) -> None:
    """Print the multiple-choice question ``key`` with its choices, in ``student``'s order."""
    order = _order(key, student)
    question, choices, _, _ = QUESTIONS[key]
    if isinstance(student, str) and student.strip().lower() == PLACEHOLDER_ID:
        print("(set STUDENT to your name or student id first: the order of the choices below is not yours yet)")
    print(question)
    for letter, c in zip("abcdefgh", order):
        print(f"  ({letter}) {choices[c]}")


def check_choice(key: str, answer, *, student: str) -> bool:
    """Check the letter ``answer`` to question ``key``, as :func:`ask` showed it to ``student``."""
    if _id_unset(student):
        return False
    order = _order(key, student)
    if answer is None:
        return _not_answered("`answer`")
    _, choices, right, hints = QUESTIONS[key]
    letters = "abcdefgh"[:len(order)]
    a = str(answer).strip().lower().strip("()")
    if a not in letters:
        _wrong(f"{answer!r} is not one of the choices {list(letters)}", "answer with a single letter, e.g. \"a\"")
    picked = order[letters.index(a)]
    if picked != right:
        _wrong(f"({a}) is not right.", hints.get(picked, "read the question again"))
    return _ok(f"({a}) is right: {choices[picked]}")


# ---------------------------------------------------------------------------------------------
# Notebook 01: a class absent from the image
# ---------------------------------------------------------------------------------------------

def check_absent_class(answer, explanation, *, model, image, student: str, threshold: float = 0.05) -> bool:
    """``explanation`` must explain a class that is absent from ``image`` (the model's probability, recomputed
    here, below ``threshold``); ``answer`` is the letter for ``QUESTIONS["absent_class"]``."""
    if _id_unset(student):
        return False
    if answer is None or explanation is None:
        return _unanswered(answer=answer, exp=explanation)
    target = getattr(explanation, "target", None)
    saliency = getattr(explanation, "saliency", None)
    if target is None or saliency is None:
        _wrong(f"{type(explanation).__name__} is not an explanation.", "pass what `explain(image, target)` returns.")
    x = np.asarray(image, np.float32)
    if np.shape(saliency) != x.shape[:2]:
        _wrong(f"the map has shape {np.shape(saliency)}, not the image's {x.shape[:2]}: it explains another image.",
               "explain the notebook's `image`.")
    p = float(np.asarray(model(x[None]))[0][int(target)])  # recomputed: the explanation's own score is not trusted
    if not p < threshold:
        _wrong(f"the model gives the class you explained ({target}) p = {p:.3f} on this image: it is not absent.",
               "pick a class whose shape is not in the scene (print the model's probabilities, "
               "`model(image[None])`, and take a class near 0).")
    if not np.isclose(float(getattr(explanation, "score", p)), p, atol=1e-3):
        _wrong("the explanation's score is not the model's probability of its target on this image.",
               "use the explanation returned by explain(); do not edit it.")
    return check_choice("absent_class", answer, student=student)


# ---------------------------------------------------------------------------------------------
# Notebook 02: one update of the mask-update chain
# ---------------------------------------------------------------------------------------------

def check_mask_update_rule(*, student: str, on_stays, off_turns_on, max_change) -> bool:
    """Predicted effect of one update at the probability ``p`` and learning rate of
    ``case("mask_update", student)``: the share of on cells that stay on, of off cells that turn on, and the
    largest change the regulariser makes to a newly-on cell (a fraction of 1)."""
    if _id_unset(student):
        return False
    if on_stays is None or off_turns_on is None or max_change is None:
        return _unanswered(on_stays=on_stays, off_turns_on=off_turns_on, max_change=max_change)
    p, learning_rate = case("mask_update", student)["p"], case("mask_update", student)["learning_rate"]
    for name, v in (("on_stays", on_stays), ("off_turns_on", off_turns_on), ("max_change", max_change)):
        if not _is_number(v):
            _wrong(f"{name} = {v!r} is not a number.", "give each answer as one number.")
    if np.isclose(on_stays, 1 - p) and np.isclose(off_turns_on, p) and not np.isclose(p, 0.5):
        _wrong(f"at p = {p:g} you swapped the two shares.",
               "a high p keeps the mask: on cells stay on with probability p.")
    if not np.isclose(on_stays, p, atol=1e-9):
        _wrong(f"on cells that stay on: {on_stays} is not right for your p = {p:g}.",
               "an on cell stays on with probability p (the rule keeps a confident mask).")
    if not np.isclose(off_turns_on, 1 - p, atol=1e-9):
        _wrong(f"off cells that turn on: {off_turns_on} is not right for your p = {p:g}.",
               "an off cell turns on with probability 1 - p: at low p most off cells switch ON, so the mask "
               "is inverted, not just moved.")
    if np.isclose(max_change, 100 * learning_rate):
        _wrong(f"{max_change} is a percentage; give the change as a fraction of 1.",
               f"{100 * learning_rate:g}% is {learning_rate:g}.")
    if not np.isclose(max_change, learning_rate, atol=1e-9):
        _wrong(f"the regulariser's largest change is not {max_change} at your learning rate.",
               "a newly-on cell gets 1 - learning_rate * |d| with d the change of probability, |d| <= 1; "
               "use the learning rate printed for you, not the prototype's.")
    flips = "inverted: most on cells switch off and most off cells switch on" if p < 0.5 else "mostly kept"
    return _ok(f"at p = {p:g}, {on_stays:g} of on cells stay on and {off_turns_on:g} of off cells turn on "
               f"(the mask is {flips}); the regulariser changes a cell by at most {learning_rate:g}.")


# ---------------------------------------------------------------------------------------------
# Notebook 03: the pointing game's tolerance
# ---------------------------------------------------------------------------------------------

def check_tolerance_in_cells(*, student: str, cell_px, share_of_side) -> bool:
    """Grad-CAM's cell size in pixels (image side / feature-map side) and the tolerance as a share of the
    side, for the sizes ``case("gradcam_cells", student)`` gives."""
    if _id_unset(student):
        return False
    if cell_px is None or share_of_side is None:
        return _unanswered(cell_px=cell_px, share_of_side=share_of_side)
    c = case("gradcam_cells", student)
    size, feature, tol = c["image_size"], c["feature_size"], c["tolerance"]
    for name, v in (("cell_px", cell_px), ("share_of_side", share_of_side)):
        if not _is_number(v):
            _wrong(f"{name} = {v!r} is not a number.", "give each answer as one number.")
    cell, share = size / feature, tol / size
    if np.isclose(cell_px, 96 / 6) and not np.isclose(cell, 96 / 6):
        _wrong(f"{cell_px:g} px is the demo model's cell, not your case's.",
               f"your case: a {feature} x {feature} feature map on a {size}-px image.")
    if np.isclose(cell_px, feature):
        _wrong(f"{cell_px:g} is the number of cells on a side, not their size in pixels.",
               "divide the image's side by the feature map's side.")
    if not np.isclose(cell_px, cell):
        _wrong(f"a {feature} x {feature} feature map on a {size}-px image does not give {cell_px:g}-px cells.",
               "divide the image's side by the feature map's side.")
    if np.isclose(share_of_side, 100 * share, rtol=1e-2):
        _wrong(f"{share_of_side:g} is a percentage; give a fraction of 1.", "divide the tolerance by the side.")
    if not np.isclose(share_of_side, share, rtol=1e-2):
        _wrong(f"{tol} px is not {share_of_side:g} of a {size}-px side.", "divide the tolerance by the side.")
    return _ok(f"a {feature} x {feature} map on {size} px has {cell:g}-px cells; {tol} px is {share:.0%} of the "
               f"side (on the demo's 96-px images, 15 px is {15 / 96:.0%}).")


def _pointing_truth(scenes, maps, tolerances):
    from .metrics import pointing_game

    return {t: float(np.mean([pointing_game(m, objs[0].mask, tolerance=t) for m, objs in zip(maps, scenes.objects)]))
            for t in tolerances}


def check_pointing_tolerance(answer, *, student: str, tolerances=(0, 5, 10, 15, 20, 30)) -> bool:
    """``answer`` = {tolerance: pointing accuracy of the centre baseline on the first object of each scene of
    ``make_scenes(n, seed=seed)`` with ``case("pointing", student)``}, for every tolerance in ``tolerances``.
    The check rebuilds the scenes and recomputes every accuracy."""
    if _id_unset(student):
        return False
    from .demo import make_scenes
    from .explainers import CenterBaseline

    if answer is None:
        return _not_answered("`baseline`")
    if not isinstance(answer, dict) or not answer:
        _wrong(f"answer must be a dict {{tolerance: accuracy}}, got {type(answer).__name__}", "e.g. {0: 0.25, 15: 0.6}")
    missing = sorted(set(tolerances) - set(answer))
    if missing:
        _wrong(f"no accuracy for the tolerance(s) {missing}.", f"answer every tolerance in {list(tolerances)}.")
    c = case("pointing", student)
    scenes = make_scenes(c["n"], seed=c["seed"])
    truth = _pointing_truth(scenes, [CenterBaseline().explain(img).saliency for img in scenes.images], tolerances)
    for tol in tolerances:
        acc = answer[tol]
        if not _is_number(acc) or not 0 <= float(acc) <= 1:
            _wrong(f"accuracy {acc!r} at {tol} px is not a share in [0, 1]", "divide hits by the number of scenes")
        if np.isclose(acc, 1 - truth[tol], atol=1e-9) and not np.isclose(truth[tol], 0.5):
            _wrong(f"at {tol} px you gave the share of misses.", "count a hit when pointing_game(...) is True.")
        if not np.isclose(acc, truth[tol], atol=1e-9):
            _wrong(f"at {tol} px the accuracy on your scenes is not {float(acc):.3f}.",
                   f"use make_scenes({c['n']}, seed={c['seed']}); one hit per scene when pointing_game(map, first "
                   "object's mask, tolerance=tol) is True; average over the scenes.")
    return _ok("pointing accuracy " + ", ".join(f"{truth[t]:.0%} at {t:g} px" for t in tolerances)
               + " - a map that ignores the image scores this much; a method must beat it at the same tolerance.")


# ---------------------------------------------------------------------------------------------
# Notebook 04: the deletion substrate
# ---------------------------------------------------------------------------------------------

SUBSTRATES = {"black": "zero", "mean": "mean", "blur": "blur"}


def deletion_trial_maps(obj, index: int, *, seed: int):
    """The two maps of the substrate exercise for scene ``index``: the object's own mask (the perfect map;
    :func:`saliency_widgets.metrics.deletion` breaks its ties in a seeded order) and a uniform random map
    drawn from ``np.random.default_rng([seed, index])``."""
    return obj.mask.astype(float), np.random.default_rng([seed, index]).random(obj.mask.shape)


def _deletion_pair(model, img, obj, index, seed, occluder):
    from .metrics import deletion

    perfect, random_map = deletion_trial_maps(obj, index, seed=seed)
    return (deletion(model, img, perfect, obj.label, occluder=occluder).auc,
            deletion(model, img, random_map, obj.label, occluder=occluder).auc)


def _check_aucs(aucs, n):
    if not isinstance(aucs, dict) or sorted(aucs) != sorted(SUBSTRATES):
        _wrong(f"aucs must map each substrate {sorted(SUBSTRATES)} to (perfect AUCs, random AUCs)",
               "e.g. {\"black\": ([...], [...]), \"mean\": ..., \"blur\": ...}")
    for name, pair in aucs.items():
        if len(pair) != 2 or any(np.shape(a) != (n,) for a in pair):
            _wrong(f"aucs[{name!r}] must be two lists of {n} AUCs (perfect map, random map), one per scene",
                   "append one AUC per scene to each list")


def check_deletion_substrate(*, aucs, wins, valid, model, student: str, spot_checks: int = 2, rng=None) -> bool:
    """Perfect against random map by deletion AUC on the scenes of ``case("deletion", student)``.

    ``aucs`` = {substrate: (perfect AUCs, random AUCs)}, one per scene, the maps from
    :func:`deletion_trial_maps`; ``wins`` = {substrate: share of scenes where the perfect map has the lower
    AUC}; ``valid`` = a substrate on which deletion can rank maps here (the perfect map wins on more than
    half of the scenes).  ``spot_checks`` scenes, drawn from ``rng`` (fresh entropy by default: the student
    cannot know which), are recomputed with the package; the shares are recomputed from ``aucs``.
    """
    if _id_unset(student):
        return False
    from .demo import make_scenes

    if aucs is None or wins is None or valid is None:
        return _unanswered(aucs=aucs, wins=wins, valid=valid)
    c = case("deletion", student)
    scenes = make_scenes(c["n"], seed=c["seed"])
    _check_aucs(aucs, c["n"])
    rng = np.random.default_rng() if rng is None else rng
    for i in rng.choice(c["n"], size=min(spot_checks, c["n"]), replace=False):
        img, obj = scenes.images[i].astype(np.float32), scenes.objects[i][0]
        for name, occluder in SUBSTRATES.items():
            want = _deletion_pair(model, img, obj, int(i), c["seed"], occluder)
            got = (aucs[name][0][i], aucs[name][1][i])
            if not np.allclose(got, want, atol=1e-4):
                _wrong(f"scene {i}, {name}: your AUCs {np.round(got, 4)} are not the deletion AUCs of its maps "
                       f"{np.round(want, 4)}.", f"use make_scenes({c['n']}, seed={c['seed']}), each scene's first "
                       f"object, deletion_trial_maps(obj, i, seed={c['seed']}) and occluder={occluder!r}.")
    truth = {k: float(np.mean(np.asarray(p) < np.asarray(r))) for k, (p, r) in aucs.items()}
    if not isinstance(wins, dict) or sorted(wins) != sorted(SUBSTRATES):
        _wrong(f"wins must map each substrate {sorted(SUBSTRATES)} to a share", "e.g. {\"black\": 0.1, ...}")
    for k, share in truth.items():
        if not _is_number(wins[k]):
            _wrong(f"wins[{k!r}] = {wins[k]!r} is not a number", "divide the wins by the number of scenes")
        if np.isclose(wins[k], 1 - share) and not np.isclose(share, 0.5):
            _wrong(f"wins[{k!r}] counts the random map's wins.", "deletion AUC is lower-is-better: the perfect map "
                   "wins when its AUC is the LOWER one.")
        if not np.isclose(wins[k], share, atol=1e-9):
            _wrong(f"wins[{k!r}] = {wins[k]} is not the share of your scenes where the perfect AUC is lower "
                   f"({share:.2f}).", "count the scenes with perfect AUC < random AUC, divide by their number.")
    if valid not in truth:
        _wrong(f"{valid!r} is not one of the substrates {sorted(truth)}", "name one of them")
    if truth[valid] <= 0.5:
        _wrong(f"on {valid!r} the perfect map beats a random one on only {truth[valid]:.0%} of your scenes: a metric "
               "that does not prefer the truth to noise cannot rank maps.", "choose a substrate where it wins on most.")
    return _ok(f"{valid!r} can rank maps here: the perfect map wins on {truth[valid]:.0%} of your scenes; "
               + ", ".join(f"{k}: {v:.0%}" for k, v in truth.items() if k != valid) + ".")


# ---------------------------------------------------------------------------------------------
# Notebook 05: two seeds against self-convergence
# ---------------------------------------------------------------------------------------------

def check_seed_agreement(*, self_correlation, seed_correlation, answer, model, image, target, student: str,
                         masks: int = 500, checkpoint: int = 250) -> bool:
    """RISE with ``masks`` masks and the two seeds of ``case("seeds", student)`` on ``image``, ``target``:
    ``self_correlation`` = the first seed's map after ``checkpoint`` masks against its own final map
    (:func:`saliency_widgets.metrics.convergence`), ``seed_correlation`` = the two final ``raw`` maps
    against each other.  Both are recomputed; ``answer`` is the letter for ``QUESTIONS["self_convergence"]``."""
    if _id_unset(student):
        return False
    from .explainers import Rise
    from .metrics import convergence

    if self_correlation is None or seed_correlation is None or answer is None:
        return _unanswered(self_correlation=self_correlation, seed_correlation=seed_correlation, answer=answer)
    for name, v in (("self_correlation", self_correlation), ("seed_correlation", seed_correlation)):
        if not _is_number(v) or not -1 <= float(v) <= 1:
            _wrong(f"{name} = {v!r} is not a correlation in [-1, 1]", "use np.corrcoef(a.ravel(), b.ravel())[0, 1]")
    s0, s1 = case("seeds", student)["seeds"]
    x = np.asarray(image, np.float32)
    own = float(convergence(Rise(model, masks=masks, seed=s0), x, target, checkpoints=[checkpoint]).correlation[0])
    a = Rise(model, masks=masks, seed=s0).explain(x, target).raw
    b = Rise(model, masks=masks, seed=s1).explain(x, target).raw
    seeds = float(np.corrcoef(a.ravel(), b.ravel())[0, 1])
    if np.isclose(self_correlation, seeds, atol=1e-4) and np.isclose(seed_correlation, own, atol=1e-4):
        _wrong("you swapped the two correlations.", "self: partial against the SAME run's final map; seeds: two runs.")
    if not np.isclose(self_correlation, own, atol=1e-4):
        _wrong(f"self_correlation is not {float(self_correlation):.3f} with your seed {s0}.",
               f"metrics.convergence(Rise(model, masks={masks}, seed={s0}), x, target, "
               f"checkpoints=[{checkpoint}]).correlation[0]")
    if not np.isclose(seed_correlation, seeds, atol=1e-4):
        _wrong(f"seed_correlation is not {float(seed_correlation):.3f} with your seeds {s0} and {s1}.",
               "correlate the `raw` maps of two full runs, np.corrcoef(a.ravel(), b.ravel())[0, 1].")
    print(f"self-convergence {own:.2f} against two seeds {seeds:.2f}")
    return check_choice("self_convergence", answer, student=student)


# ---------------------------------------------------------------------------------------------
# Notebook 06: a PyTorch model behind a function
# ---------------------------------------------------------------------------------------------

def check_torch_predict(predict, net, *, rng=None) -> bool:
    """``predict(batch)`` must turn (B, H, W, 3) float32 channels-last images into ``net``'s (B, classes)
    scores, i.e. ``net(batch.permute(0, 3, 1, 2))`` as NumPy.  The batch is drawn afresh from ``rng``
    (fresh entropy by default) with a random size and a non-square shape."""
    import torch

    if predict is None:
        return _not_answered("`predict2`")
    if not callable(predict):
        _wrong(f"predict must be a function, got {type(predict).__name__}", "def predict2(batch): ...")
    rng = np.random.default_rng() if rng is None else rng
    h, w = (int(v) for v in rng.choice(np.arange(12, 40), size=2, replace=False))
    batch = rng.uniform(0, 255, size=(int(rng.integers(2, 5)), h, w, 3)).astype(np.float32)
    try:
        out = np.asarray(predict(batch.copy()))
    except Exception as exc:  # the student's function failed: say how
        _wrong(f"predict raised {type(exc).__name__}: {exc}",
               "the explainers pass (B, H, W, 3) channels-last NumPy arrays; torch models want (B, 3, H, W) "
               "tensors: torch.from_numpy(batch).permute(0, 3, 1, 2)")
    with torch.no_grad():
        want = net(torch.from_numpy(batch).permute(0, 3, 1, 2)).numpy()
    if out.shape != want.shape:
        _wrong(f"predict returned shape {out.shape}, the model's scores have shape {want.shape}",
               "return one row of class scores per image, for any batch size and image size")
    if not np.allclose(out, want, atol=1e-5):
        _wrong("predict's scores differ from the model's on the same images",
               "did you permute the axes (0, 3, 1, 2) rather than reshape, and call the model under torch.no_grad()?")
    return _ok(f"predict gives the model's scores on a fresh batch of shape {batch.shape}.")


# ---------------------------------------------------------------------------------------------
# Notebook 07: a cascading randomisation by hand
# ---------------------------------------------------------------------------------------------

DEMO_GROUPS = (("probabilities",), ("probabilities", "conv4", "bn4", "conv3", "bn3"))


def check_cascading_by_hand(similarity, model, images, targets, *, student: str, method: str = "occlusion",
                            groups=DEMO_GROUPS) -> bool:
    """``similarity``: Spearman correlation between ``method``'s raw map of ``images[i]`` (class
    ``targets[i]``) on ``model`` and on ``randomise_layers(model, groups[g], seed=s)``, with ``i``, ``g``,
    ``s`` from ``case("cascade", student)``.  Recomputed here."""
    if _id_unset(student):
        return False
    from .registry import build, get_method
    from .sanity import randomise_layers, spearman_similarity

    if similarity is None:
        return _not_answered("`similarity`")
    if not _is_number(similarity) or not -1 <= float(similarity) <= 1:
        _wrong(f"similarity = {similarity!r} is not a correlation in [-1, 1]", "use sanity.spearman_similarity(a, b)")
    c = case("cascade", student)
    i, layers, seed = c["image"] % len(images), list(groups[c["group"] % len(groups)]), c["seed"]
    spec = get_method(method)
    kw = {"seed": seed} if spec.seeded else {}
    image, target = images[i], int(targets[i])
    trained = build(method, model, **kw).explain(image, target).raw
    random = build(method, randomise_layers(model, layers, seed=seed), **kw).explain(image, target).raw
    truth = spearman_similarity(trained, random)
    if not np.isclose(similarity, truth, atol=1e-4):
        _wrong(f"the similarity is not {float(similarity):.3f} for your case (image {i}, layers {layers}, seed {seed}).",
               "use the `raw` maps of the same target on the trained model and on randomise_layers(model, layers, "
               "seed=seed), and sanity.spearman_similarity(a, b).")
    return _ok(f"{spec.label} on image {i} with {', '.join(layers)} re-initialised (seed {seed}): Spearman "
               f"{truth:.2f} to the trained map.")


# ---------------------------------------------------------------------------------------------
# Notebook 07: the normalised difference ND, by hand
# ---------------------------------------------------------------------------------------------

def _near(a, b) -> bool:
    return bool(np.isclose(a, b, atol=1e-4))


def _nd_case(model, images, targets, case_, params, layers):
    """(floor, randomised, chance) Spearman per image of the case's method, ``layers`` randomised; recomputed."""
    from .registry import build
    from .sanity import chance_partners, randomise_layers, spearman_similarity

    idx = [i % len(images) for i in case_["images"]]
    kw = dict((params or {}).get(case_["method"], {}))
    clone = randomise_layers(model, list(layers), seed=case_["seed"])
    on_trained, on_random = build(case_["method"], model, **kw), build(case_["method"], clone, **kw)
    trained = [on_trained.explain(images[i], int(targets[i])).raw for i in idx]
    random = [on_random.explain(images[i], int(targets[i])).raw for i in idx]
    randomised = np.array([spearman_similarity(a, b) for a, b in zip(trained, random)])
    sums, counts = np.zeros(len(idx)), np.zeros(len(idx))
    for i, j in chance_partners(len(idx), seed=case_["seed"]):
        sim = spearman_similarity(trained[i], trained[j])
        sums[[i, j]] += sim
        counts[[i, j]] += 1
    return np.ones(len(idx)), randomised, sums / counts


def check_nd_by_hand(nd, model, images, targets, *, student: str, params=None, layers=("probabilities",)) -> bool:
    """``nd``: the normalised difference ND = (F - R) / (F - C) of the means over the images of
    ``case("nd", student)`` (its method, on ``images[i]`` for class ``targets[i]``), on signed Spearman, with
    ``layers`` (the demo model's top block) re-initialised with the case's seed: F the floor (1: the
    methods are deterministic), R the similarity of each trained map to its map on the randomised model, C
    each map's mean similarity to the maps of the other images :func:`saliency_widgets.sanity.chance_partners`
    pairs it with (same seed).  ``params``: the method's settings (the notebook's ``PARAMS``).  Recomputed
    here from the model."""
    if _id_unset(student):
        return False
    if nd is None:
        return _not_answered("`nd`")
    if not _is_number(nd):
        _wrong(f"nd = {nd!r} is not a number", "ND is one number: (F - R) / (F - C), each a mean over your images.")
    nd = float(nd)
    c = case("nd", student)
    floor, randomised, chance = _nd_case(model, images, targets, c, params, layers)
    f, r, ch = floor.mean(), randomised.mean(), chance.mean()
    truth = (f - r) / (f - ch)
    gamed = [((f - ch) / (f - r), "you divided the other way round.",
              "ND = (floor - randomised) / (floor - chance): 0 when nothing changed."),
             ((f - r) / f, "ND without the chance level.", "subtract the chance level C from the floor in the denominator."),
             (np.mean((floor - randomised) / (floor - chance)), "that is the mean of the per-image ratios.",
              "take the ratio of the three means over your images."),
             (r, "that is the randomised similarity R, not ND.", "ND = (F - R) / (F - C).")]
    for value, text, hint in gamed:
        if _near(nd, value) and not _near(nd, truth):
            _wrong(text, hint)
    if not _near(nd, truth):
        _wrong(f"ND is not {float(nd):.3f} for your case ({c['method']}, images {c['images']}, seed {c['seed']}).",
               "use your own case's floor, randomised and chance similarities (the cell above prints them), "
               "the means over your images, and ND = (F - R) / (F - C).")
    reading = "barely changed" if truth < 0.5 else "changed clearly"
    return _ok(f"{c['method']} with {', '.join(layers)} re-initialised (seed {c['seed']}): F = {f:.2f}, R = {r:.2f}, "
               f"C = {ch:.2f}, ND = {truth:.2f} on your {len(floor)} images: its map {reading} (line 0.5; 8 images "
               "give a wide interval: the notebook's 30 decide).")
