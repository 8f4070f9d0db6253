"""Self-checks for the exercises in the tutorial notebooks.

Every ``check_*`` function takes a student's answer, returns ``True`` (and
prints a line starting with ✔) when it is right, and raises :class:`WrongAnswer`
(an ``AssertionError``, so a notebook run with its solutions fails loudly in CI)
with a message starting with ✘ and a hint when it is wrong.  Checks that can
recompute the answer with the package do so, so they follow the code rather
than a number copied from a run.

Multiple-choice questions live in :data:`QUESTIONS`; :func:`ask` prints one.
"""
from __future__ import annotations

import numpy as np

__all__ = ["WrongAnswer", "QUESTIONS", "ask", "check_choice", "check_absent_class", "check_mask_update_rule",
           "check_tolerance_in_cells", "check_pointing_tolerance", "check_deletion_substrate",
           "check_seed_agreement", "check_torch_predict", "check_cascading_by_hand"]


class WrongAnswer(AssertionError):
    """A self-check rejected an answer; the message says why and gives a hint."""


def _ok(text: str) -> bool:
    print("✔ " + text)
    return True


def _wrong(text: str, hint: str):
    raise WrongAnswer(f"✘ {text}\n  Hint: {hint}")


# ---------------------------------------------------------------------------------------------
# Multiple-choice questions: {key: (question, {choice: text}, right choice, {wrong choice: hint})}
# ---------------------------------------------------------------------------------------------

QUESTIONS = {
    "absent_class": (
        "You explained a class that is NOT in the image, and the map still has a bright spot. Why?",
        {"a": "The model sees a faint instance of that class at the bright spot.",
         "b": "The map is rescaled to its own maximum: some pixel is always the brightest, even when the "
              "evidence for the class is tiny everywhere. The spot marks where the class is least unlikely "
              "(or what resembles it most), not where it is.",
         "c": "The explainer ignores the target class and always explains the top-1 class."},
        "b",
        {"a": "Print the explanation's `score`: the model's probability for that class on the whole image. "
              "Is it the probability of a class the model sees?",
         "c": "Explain two different absent classes: are the two maps the same? The explainer does read the "
              "target."}),
    "self_convergence": (
        "A map's correlation with its OWN final map rises to 1 as the budget grows. What does that measure?",
        {"a": "Correctness: the map converges to the truth.",
         "b": "Stability of one run: the partial map shares its first passes with the final map, so the "
              "correlation reaches 1 by construction. It says nothing about whether the map is right, and "
              "overstates stability: two seeds are the honest test.",
         "c": "Speed: how many forward passes a second the method makes."},
        "b",
        {"a": "The final map is not the truth: a wrong map also correlates perfectly with itself. Which "
              "measure in this notebook compares a map with ground truth?",
         "c": "Correlation of two maps has no time in it."}),
    "deletion_substrate": (
        "On the demo scenes, with black (0) as the deletion substrate, a perfect map (the object's own mask) "
        "often has a WORSE deletion AUC than a random map. Why?",
        {"a": "The perfect map is not perfect: the object is not what the model uses.",
         "b": "Deleting the object to black leaves its silhouette, and the silhouette is exactly what the "
              "shape classes are; random deletion breaks the silhouette. The substrate, not the map, decides "
              "the ranking: a deletion metric needs a substrate that removes the evidence (mean colour, blur).",
         "c": "Deletion AUC is higher-is-better, so the perfect map wins after all."},
        "b",
        {"a": "Occlusion and the pointing game say the model uses the object. What does a black shape on a "
              "photo look like to a shape classifier?",
         "c": "Deletion removes the most salient pixels first; a good map makes the probability drop fast. "
              "Is a fast drop a low or a high area under the curve?"}),
    "gradcam_cells": (
        "Grad-CAM scores far higher at 15 px tolerance than strict (tolerance 0) on the demo scenes. Why?",
        {"a": "Grad-CAM is noisy.",
         "b": "Its map is upsampled from the last convolution's 6 x 6 feature map: each cell covers 16 x 16 "
              "pixels of the 96-pixel image, so its maximum lands somewhere in a 16-px cell: near the object "
              "(within 15 px) but often not on it.",
         "c": "The strict variant uses a different target class."},
        "b",
        {"a": "Grad-CAM is deterministic: it gives the same map every run. Look at the map's blocks.",
         "c": "Both variants explain the same class; only the tolerance changes."}),
    "sanity_baseline": (
        "Predict: under cascading randomisation, what is the centre baseline's similarity to its trained map "
        "at every step?",
        {"a": "It drops to about 0 once the output layer is randomised.",
         "b": "It falls slowly as more layers are randomised.",
         "c": "It stays exactly 1: the baseline never calls the model, so it cannot change."},
        "c",
        {"a": "Does CenterBaseline.explain ever call the model? Read saliency_widgets/explainers/center.py.",
         "b": "Does CenterBaseline.explain ever call the model? Read saliency_widgets/explainers/center.py."}),
}


def ask(key: str) -> None:
    """Print the multiple-choice question ``key`` of :data:`QUESTIONS` with its choices."""
    if key not in QUESTIONS:
        raise ValueError(f"no question {key!r}; choose one of {sorted(QUESTIONS)}")
    question, choices, _, _ = QUESTIONS[key]
    print(question)
    for c, text in choices.items():
        print(f"  ({c}) {text}")


def check_choice(key: str, answer: str) -> bool:
    """Check the answer (a letter) to multiple-choice question ``key``."""
    if key not in QUESTIONS:
        raise ValueError(f"no question {key!r}; choose one of {sorted(QUESTIONS)}")
    _, choices, right, hints = QUESTIONS[key]
    a = str(answer).strip().lower().strip("()")
    if a not in choices:
        _wrong(f"{answer!r} is not one of the choices {sorted(choices)}", "answer with a single letter, e.g. \"a\"")
    if a != right:
        _wrong(f"({a}) is not right.", hints.get(a, "read the question again"))
    return _ok(f"({a}) is right: {choices[a]}")


# ---------------------------------------------------------------------------------------------
# Notebook 01: a class absent from the image
# ---------------------------------------------------------------------------------------------

def check_absent_class(answer: str, *, score: float, threshold: float = 0.05) -> bool:
    """The class explained must be absent (the model's probability ``score`` below ``threshold``) and the
    answer to ``QUESTIONS["absent_class"]`` right."""
    score = float(score)
    if not score < threshold:
        _wrong(f"the model gives the class you explained p = {score:.3f}: it is not absent from the image.",
               "pick a class whose shape is not in the scene (print the model's probabilities, "
               "`model(image[None])`, and take a class near 0).")
    return check_choice("absent_class", answer)


# ---------------------------------------------------------------------------------------------
# Notebook 02: one update of the mask-update chain
# ---------------------------------------------------------------------------------------------

def check_mask_update_rule(*, p: float, on_stays: float, off_turns_on: float, max_change: float,
                           learning_rate: float = 0.02) -> bool:
    """Predicted effect of one update at probability ``p``: the share of on cells that stay on, of off cells
    that turn on, and the largest change the regulariser makes to a newly-on cell (a fraction of 1)."""
    p = float(p)
    if not 0 <= p <= 1:
        raise ValueError(f"p must be a probability in [0, 1], got {p}")
    if not np.isclose(on_stays, p, atol=1e-9):
        _wrong(f"on cells that stay on: {on_stays} is not right for p = {p}.",
               "an on cell stays on with probability p (the rule keeps a confident mask).")
    if not np.isclose(off_turns_on, 1 - p, atol=1e-9):
        _wrong(f"off cells that turn on: {off_turns_on} is not right for p = {p}.",
               "an off cell turns on with probability 1 - p: at low p most off cells switch ON, so the mask "
               "is inverted, not just moved.")
    if np.isclose(max_change, 100 * learning_rate):
        _wrong(f"{max_change} is a percentage; give the change as a fraction of 1.",
               f"{100 * learning_rate:g}% is {learning_rate:g}.")
    if not np.isclose(max_change, learning_rate, atol=1e-9):
        _wrong(f"the regulariser's largest change is not {max_change}.",
               "a newly-on cell gets 1 - learning_rate * |d| with d the change of probability, |d| <= 1.")
    flips = "inverted: most on cells switch off and most off cells switch on" if p < 0.5 else "mostly kept"
    return _ok(f"at p = {p:g}, {on_stays:g} of on cells stay on and {off_turns_on:g} of off cells turn on "
               f"(the mask is {flips}); the regulariser changes a cell by at most {learning_rate:g} "
               f"({100 * learning_rate:g}%).")


# ---------------------------------------------------------------------------------------------
# Notebook 03: the pointing game's tolerance
# ---------------------------------------------------------------------------------------------

def check_tolerance_in_cells(*, cell_px: float, share_of_side: float, image_size: int = 96,
                             feature_size: int = 6, tolerance: float = 15) -> bool:
    """Grad-CAM's cell size in pixels (image side / feature-map side) and the tolerance as a share of the side."""
    cell = image_size / feature_size
    if not np.isclose(cell_px, cell):
        _wrong(f"a {feature_size} x {feature_size} feature map on a {image_size}-px image does not give "
               f"{cell_px}-px cells.", "divide the image's side by the feature map's side.")
    share = tolerance / image_size
    if np.isclose(share_of_side, 100 * share, rtol=1e-2):
        _wrong(f"{share_of_side} is a percentage; give a fraction of 1.", f"{100 * share:.1f}% is {share:.3f}.")
    if not np.isclose(share_of_side, share, rtol=1e-2):
        _wrong(f"{tolerance:g} px is not {share_of_side} of a {image_size}-px side.",
               "divide the tolerance by the side.")
    return _ok(f"Grad-CAM's cells are {cell:g} px; {tolerance:g} px is {share:.0%} of a {image_size}-px side "
               f"(on a 224-px ImageNet image it is {tolerance / 224:.0%}).")


def check_pointing_tolerance(answer: dict, scenes, *, method: str = "center", maps=None) -> bool:
    """``answer`` = {tolerance: pointing accuracy of ``method``'s maps on ``scenes`` (first object each)}.

    The check recomputes it with :func:`saliency_widgets.metrics.pointing_game`
    (``maps`` given, or the centre baseline's maps, which need no model).
    """
    from .explainers import CenterBaseline
    from .metrics import pointing_game

    if not isinstance(answer, dict) or not answer:
        _wrong(f"answer must be a dict {{tolerance: accuracy}}, got {type(answer).__name__}",
               "e.g. {0: 0.25, 15: 0.6}")
    if maps is None:
        if method != "center":
            raise ValueError("give the maps of a method other than the centre baseline")
        maps = [CenterBaseline().explain(img).saliency for img in scenes.images]
    for tol, acc in sorted(answer.items()):
        truth = np.mean([pointing_game(m, objs[0].mask, tolerance=tol) for m, objs in zip(maps, scenes.objects)])
        if not 0 <= float(acc) <= 1:
            _wrong(f"accuracy {acc} at {tol} px is not a share in [0, 1]", "divide hits by the number of scenes")
        if not np.isclose(acc, truth, atol=1e-9):
            _wrong(f"at {tol} px the accuracy is not {acc:.3f}.",
                   "one hit per scene when pointing_game(map, first object's mask, tolerance=tol) is True; "
                   "average over the scenes.")
    tols = sorted(answer)
    return _ok("pointing accuracy " + ", ".join(f"{answer[t]:.0%} at {t:g} px" for t in tols)
               + " - a map that ignores the image scores this much; a method must beat it at the same tolerance.")


# ---------------------------------------------------------------------------------------------
# Notebook 04: the deletion substrate
# ---------------------------------------------------------------------------------------------

def check_deletion_substrate(*, wins: dict, valid: str) -> bool:
    """``wins`` = {substrate name: share of images where the perfect map beats the random one (lower
    deletion AUC)}; ``valid`` = the substrate on which deletion can be trusted on these data.

    Right when ``valid`` is a substrate where the perfect map wins most often, and
    that share is above one half (a metric that prefers a random map to the truth
    cannot rank methods).
    """
    if not isinstance(wins, dict) or len(wins) < 2:
        _wrong("wins must map at least two substrates to the share of images the perfect map wins",
               "e.g. {\"black\": ..., \"mean\": ...}")
    for k, v in wins.items():
        if not 0 <= float(v) <= 1:
            _wrong(f"wins[{k!r}] = {v} is not a share in [0, 1]", "count the wins and divide by the images")
    if valid not in wins:
        _wrong(f"{valid!r} is not one of the substrates you measured {sorted(wins)}", "name one of them")
    best = max(wins.values())
    if wins[valid] < best:
        _wrong(f"on {valid!r} the perfect map wins only {wins[valid]:.0%} of the images; another substrate does "
               "better.", "choose the substrate on which the truth beats a random map most often.")
    if wins[valid] <= 0.5:
        _wrong(f"even on {valid!r} the perfect map wins only {wins[valid]:.0%}: no substrate you measured is "
               "valid here.", "try the image's mean colour or a blurred copy as substrate.")
    return _ok(f"on {valid!r} the perfect map beats a random one on {wins[valid]:.0%} of the images; "
               + ", ".join(f"{k}: {v:.0%}" for k, v in wins.items() if k != valid) + ".")


# ---------------------------------------------------------------------------------------------
# Notebook 05: two seeds against self-convergence
# ---------------------------------------------------------------------------------------------

def check_seed_agreement(*, self_correlation: float, seed_correlation: float, answer: str) -> bool:
    """Correlation of a partial map with its own final map (``self_correlation``), of two full runs with
    different seeds (``seed_correlation``), and the answer to ``QUESTIONS["self_convergence"]``."""
    for name, v in (("self_correlation", self_correlation), ("seed_correlation", seed_correlation)):
        if not -1 <= float(v) <= 1:
            _wrong(f"{name} = {v} is not a correlation in [-1, 1]", "use np.corrcoef(a.ravel(), b.ravel())[0, 1]")
    if not self_correlation > seed_correlation:
        _wrong(f"self-convergence ({self_correlation:.2f}) should exceed the agreement of two seeds "
               f"({seed_correlation:.2f}) at the same budget.",
               "compare the partial map at n passes with the SAME run's final map (self), and two complete "
               "runs with seeds 0 and 1 (seeds).")
    return check_choice("self_convergence", answer)


# ---------------------------------------------------------------------------------------------
# Notebook 06: a PyTorch model behind a function
# ---------------------------------------------------------------------------------------------

def check_torch_predict(predict, net, *, size: int = 32, seed: int = 0) -> bool:
    """``predict(batch)`` must turn (B, H, W, 3) float32 channels-last images into ``net``'s (B, classes)
    scores, i.e. ``net(batch.permute(0, 3, 1, 2))`` as NumPy."""
    import torch

    batch = np.random.default_rng(seed).uniform(0, 255, size=(2, size, size, 3)).astype(np.float32)
    try:
        out = np.asarray(predict(batch))
    except Exception as exc:  # the student's function failed: say how
        _wrong(f"predict raised {type(exc).__name__}: {exc}",
               "the explainers pass (B, H, W, 3) channels-last NumPy arrays; torch models want (B, 3, H, W) "
               "tensors: torch.from_numpy(batch).permute(0, 3, 1, 2)")
    with torch.no_grad():
        want = net(torch.from_numpy(batch).permute(0, 3, 1, 2)).numpy()
    if out.shape != want.shape:
        _wrong(f"predict returned shape {out.shape}, the model's scores have shape {want.shape}",
               "return one row of class scores per image")
    if not np.allclose(out, want, atol=1e-5):
        _wrong("predict's scores differ from the model's on the same images",
               "did you permute the axes (0, 3, 1, 2) rather than reshape, and call the model under torch.no_grad()?")
    return _ok(f"predict gives the model's scores, shape {out.shape}.")


# ---------------------------------------------------------------------------------------------
# Notebook 07: a cascading randomisation by hand
# ---------------------------------------------------------------------------------------------

def check_cascading_by_hand(similarity: float, model, image, target: int, *, layers, method: str = "occlusion",
                            seed: int = 0) -> bool:
    """``similarity``: Spearman correlation between ``method``'s raw map of ``image`` on ``model`` and on the
    clone with ``layers`` re-initialised (:func:`saliency_widgets.sanity.randomise_layers`, ``seed``)."""
    from .registry import build, get_method
    from .sanity import randomise_layers, spearman_similarity

    spec = get_method(method)
    kw = {"seed": seed} if spec.seeded else {}
    explainer = build(method, model, **kw)
    trained = explainer.explain(image, int(target)).raw
    clone = randomise_layers(model, list(layers), seed=seed)
    random = build(method, clone, **kw).explain(image, int(target)).raw
    truth = spearman_similarity(trained, random)
    if not np.isclose(similarity, truth, atol=1e-4):
        _wrong(f"the similarity is not {similarity:.3f}.",
               "use the `raw` maps of the same target on the trained model and on "
               "randomise_layers(model, layers, seed=seed), and sanity.spearman_similarity(a, b).")
    return _ok(f"{explainer.label} with {', '.join(layers)} re-initialised: Spearman {truth:.2f} to the trained map.")
