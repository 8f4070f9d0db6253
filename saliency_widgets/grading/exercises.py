"""Each exercise's grader: the parts of its answer, each recomputed with the package from the student's case.

Every function here takes the decoded answers of one record and a :class:`Who` (the recorded id, under the
course secret) and returns the exercise's :class:`~saliency_widgets.grading.result.Part` list.  Nothing is
compared with a stored number: the right answer is recomputed for the id's own case.  The feedback gives
hints, never the right value.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from .. import coursework as cw
from .key import KEY
from .result import NotAnswered, Part, WrongAnswer


@dataclass(frozen=True)
class Who:
    """The id a record was answered under, the course secret, and the generator of the grader's spot checks."""

    student: str
    secret: str
    rng: object = None

    def case(self, key):
        return cw.case(key, self.student, secret=self.secret)


def _given(answers, *names):
    missing = [n for n in names if answers.get(n) is None]
    if missing:
        raise NotAnswered(", ".join(f"`{n}`" for n in missing))
    return [answers[n] for n in names]


def choice_part(question: str, answers: dict, who: Who, *, name="answer", points=1.0) -> Part:
    """The multiple-choice part: the letter must name the right choice in ``who``'s own order."""
    def check():
        (letter,) = _given(answers, name)
        picked = cw.choice_of(question, letter, student=who.student, secret=who.secret)
        right, hints = KEY[question]
        if picked != right:
            raise WrongAnswer(f"({letter}) is not right. Hint: {hints.get(picked, 'read the question again')}")
        return f"({letter}) is right"
    return Part("multiple choice", points, check)


@functools.lru_cache(maxsize=1)
def demo_model():
    from ..demo import load_model

    return load_model()


# ---- notebook 01 ------------------------------------------------------------------------------------

def notebook01_image():
    """Notebook 01's scene: the image its exercise explains."""
    from ..demo import make_scenes

    return make_scenes(1, objects=(2, 2), seed=11).images[0].astype(np.float32)


def ex01_absent(answers, who, *, threshold=0.05):
    def absent():
        (exp,) = _given(answers, "exp")
        x = notebook01_image()
        if list(exp["shape"]) != list(x.shape[:2]):
            raise WrongAnswer("the map does not have the image's shape: it explains another image. Hint: "
                              "explain the notebook's `image`.")
        probs = np.asarray(demo_model()(x[None]))[0]
        if not 0 <= exp["target"] < len(probs):
            raise WrongAnswer(f"class {exp['target']} is not one of the model's {len(probs)} classes.")
        p = float(probs[exp["target"]])
        if not p < threshold:
            raise WrongAnswer("the class you explained is not absent from the image. Hint: print the model's "
                              "probabilities, `model(image[None])`, and take a class near 0.")
        if abs(exp["score"] - p) > 1e-3:
            raise WrongAnswer("the explanation's score is not the model's probability of its target on this "
                              "image. Hint: store the explanation that explain() returns; do not edit it.")
        return "an absent class, explained on the notebook's image"
    return [Part("an absent class explained", 1.0, absent), choice_part("absent_class", answers, who)]


# ---- notebook 02 ------------------------------------------------------------------------------------

def ex02_rule(answers, who):
    c = who.case("mask_update")
    p, lr = c["p"], c["learning_rate"]

    def shares():
        on, off = _given(answers, "on_stays", "off_turns_on")
        if np.isclose(on, 1 - p) and np.isclose(off, p) and not np.isclose(p, 0.5):
            raise WrongAnswer("you swapped the two shares. Hint: a high p keeps the mask.")
        if not np.isclose(on, p, atol=1e-9):
            raise WrongAnswer("on_stays is not right for your p. Hint: an on cell stays on with probability p.")
        if not np.isclose(off, 1 - p, atol=1e-9):
            raise WrongAnswer("off_turns_on is not right for your p. Hint: what happens to an off cell at low p?")
        return "both shares right for your p"

    def change():
        (m,) = _given(answers, "max_change")
        if np.isclose(m, 100 * lr):
            raise WrongAnswer("max_change is a percentage; give a fraction of 1.")
        if not np.isclose(m, lr, atol=1e-9):
            raise WrongAnswer("max_change is not right at your learning rate. Hint: a newly-on cell gets "
                              "1 - learning_rate * |d| with |d| <= 1; use the learning rate printed for you.")
        return "the regulariser's largest change at your learning rate"
    return [Part("on_stays and off_turns_on", 1.0, shares), Part("max_change", 1.0, change)]


# ---- notebook 03 ------------------------------------------------------------------------------------

def ex03_cells(answers, who):
    c = who.case("gradcam_cells")
    size, feature, tol = c["image_size"], c["feature_size"], c["tolerance"]

    def cells():
        cell_px, share = _given(answers, "cell_px", "share_of_side")
        if np.isclose(cell_px, feature):
            raise WrongAnswer("cell_px is the number of cells on a side, not their size in pixels.")
        if not np.isclose(cell_px, size / feature):
            raise WrongAnswer("cell_px is not right for your case. Hint: divide the image's side by the feature "
                              "map's side (your case, not the demo's 96 / 6).")
        if np.isclose(share, 100 * tol / size, rtol=1e-2):
            raise WrongAnswer("share_of_side is a percentage; give a fraction of 1.")
        if not np.isclose(share, tol / size, rtol=1e-2):
            raise WrongAnswer("share_of_side is not right for your case. Hint: divide the tolerance by the side.")
        return "cell size and tolerance share right for your case"
    return [Part("cell_px and share_of_side", 1.0, cells), choice_part("gradcam_cells", answers, who)]


TOLERANCES = (0, 5, 10, 15, 20, 30)


def centre_accuracy(seed: int, n: int, tolerances=TOLERANCES) -> dict:
    """The centre baseline's pointing accuracy on the first object of each of ``make_scenes(n, seed=seed)``."""
    from ..demo import make_scenes
    from ..explainers import CenterBaseline
    from ..metrics import pointing_game

    scenes = make_scenes(n, seed=seed)
    maps = [CenterBaseline().explain(img).saliency for img in scenes.images]
    return {t: float(np.mean([pointing_game(m, objs[0].mask, tolerance=t) for m, objs in zip(maps, scenes.objects)]))
            for t in tolerances}


def ex03_tolerance(answers, who):
    c = who.case("pointing")
    truth = functools.lru_cache(maxsize=1)(lambda: centre_accuracy(c["seed"], c["n"]))
    given = {float(k): v for k, v in answers.get("baseline") or []}

    def at(tol):
        def check():
            if answers.get("baseline") is None:
                raise NotAnswered("`baseline`")
            if float(tol) not in given:
                raise NotAnswered(f"no accuracy at {tol} px")
            acc, right = given[float(tol)], truth()[tol]
            if np.isclose(acc, 1 - right, atol=1e-9) and not np.isclose(right, 0.5):
                raise WrongAnswer("this is the share of misses. Hint: count a hit when pointing_game(...) is True.")
            if not np.isclose(acc, right, atol=1e-9):
                raise WrongAnswer(f"not the accuracy on your scenes. Hint: make_scenes({c['n']}, "
                                  f"seed={c['seed']}), one hit per scene when pointing_game(map, first object's "
                                  "mask, tolerance=tol) is True, averaged over the scenes.")
            return "right on your scenes"
        return check
    return [Part(f"accuracy at {t} px", 3.0 / len(TOLERANCES), at(t)) for t in TOLERANCES]


# ---- notebook 04 ------------------------------------------------------------------------------------

def deletion_pair(img, obj, index, seed, occluder):
    """Deletion AUCs (perfect map, random map) of scene ``index`` with ``occluder``, on the demo model."""
    from ..metrics import deletion

    perfect, random_map = cw.deletion_trial_maps(obj, index, seed=seed)
    return (deletion(demo_model(), img, perfect, obj.label, occluder=occluder).auc,
            deletion(demo_model(), img, random_map, obj.label, occluder=occluder).auc)


def ex04_substrate(answers, who, *, spot_checks=2):
    from ..demo import make_scenes

    c = who.case("deletion")

    def aucs():
        (given,) = _given(answers, "aucs")
        scenes = make_scenes(c["n"], seed=c["seed"])
        rng = who.rng if who.rng is not None else np.random.default_rng()
        for i in rng.choice(c["n"], size=min(spot_checks, c["n"]), replace=False):
            img, obj = scenes.images[i].astype(np.float32), scenes.objects[i][0]
            for name, occluder in cw.SUBSTRATES.items():
                want = deletion_pair(img, obj, int(i), c["seed"], occluder)
                if not np.allclose((given[name][0][i], given[name][1][i]), want, atol=1e-4):
                    raise WrongAnswer(f"scene {i}, {name}: your AUCs are not the deletion AUCs of its two maps. "
                                      f"Hint: make_scenes({c['n']}, seed={c['seed']}), each scene's first object, "
                                      f"deletion_trial_maps(obj, i, seed={c['seed']}), occluder={occluder!r}.")
        return f"{spot_checks} scenes drawn at random recomputed"

    def shares():
        given, wins, valid = _given(answers, "aucs", "wins", "valid")
        truth = {k: float(np.mean(np.less(p, r))) for k, (p, r) in given.items()}
        for k, share in truth.items():
            if np.isclose(wins[k], 1 - share) and not np.isclose(share, 0.5):
                raise WrongAnswer(f"wins[{k!r}] counts the random map's wins. Hint: deletion AUC is "
                                  "lower-is-better.")
            if not np.isclose(wins[k], share, atol=1e-9):
                raise WrongAnswer(f"wins[{k!r}] is not the share of your scenes where the perfect AUC is lower.")
        if truth[valid] <= 0.5:
            raise WrongAnswer(f"on {valid!r} the perfect map does not beat a random one on most of your scenes: "
                              "a metric that does not prefer the truth to noise cannot rank maps.")
        return "shares recomputed from your AUCs; the substrate you chose ranks maps"
    return [Part("AUCs", 1.0, aucs), Part("wins and valid", 1.0, shares, needs=("AUCs",)),
            choice_part("deletion_substrate", answers, who)]


# ---- notebook 05 ------------------------------------------------------------------------------------

def notebook05_case():
    """Notebook 05's scene, image and target (the object that is not the model's top-1)."""
    from ..demo import make_scenes

    scene = make_scenes(1, objects=(2, 2), seed=3)
    x = scene.images[0].astype(np.float32)
    top1 = int(np.argmax(np.asarray(demo_model()(x[None]))[0]))
    obj = next((o for o in scene.objects[0] if o.label != top1), scene.objects[0][0])
    return x, obj.label


def seed_correlations(x, target, s0, s1, *, masks=500, checkpoint=250):
    """(self-convergence of seed ``s0`` at ``checkpoint``, correlation of the ``raw`` maps of two seeds)."""
    from ..explainers import Rise
    from ..metrics import convergence

    model = demo_model()
    own = float(convergence(Rise(model, masks=masks, seed=s0), x, target, checkpoints=[checkpoint]).correlation[0])
    a = Rise(model, masks=masks, seed=s0).explain(x, target).raw
    b = Rise(model, masks=masks, seed=s1).explain(x, target).raw
    return own, float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def ex05_seeds(answers, who):
    s0, s1 = who.case("seeds")["seeds"]
    truth = functools.lru_cache(maxsize=1)(lambda: seed_correlations(*notebook05_case(), s0, s1))

    def one(name, index, hint):
        def check():
            (v,) = _given(answers, name)
            own, seeds = truth()
            other = answers.get("seed_correlation" if index == 0 else "self_correlation")
            if other is not None and np.isclose(v, (seeds, own)[index], atol=1e-4) \
                    and np.isclose(other, (own, seeds)[index], atol=1e-4):
                raise WrongAnswer("you swapped the two correlations.")
            if not np.isclose(v, (own, seeds)[index], atol=1e-4):
                raise WrongAnswer(f"{name} is not right with your seeds. Hint: {hint}")
            return "recomputed with your seeds"
        return check
    return [Part("self_correlation", 1.0, one("self_correlation", 0, "metrics.convergence(Rise(model, masks=500, "
                                                "seed=s0), x, target, checkpoints=[250]).correlation[0]")),
            Part("seed_correlation", 1.0, one("seed_correlation", 1, "correlate the `raw` maps of two full "
                                                "runs, np.corrcoef(a.ravel(), b.ravel())[0, 1].")),
            choice_part("self_convergence", answers, who)]


# ---- notebook 06 ------------------------------------------------------------------------------------

def ex06_predict(answers, who):
    def check():
        (got,) = _given(answers, "predict2")
        import torch

        batch = cw.trial_batch(who.student, secret=who.secret)
        with torch.no_grad():
            want = cw.exercise_net(who.student, secret=who.secret)(torch.from_numpy(batch).permute(0, 3, 1, 2)).numpy()
        if list(got["shape"]) != list(want.shape):
            raise WrongAnswer("predict2 does not return one row of class scores per image. Hint: the explainers "
                              "pass (B, H, W, 3) channels-last batches of any size.")
        if not np.allclose(np.reshape(got["values"], want.shape), want, atol=1e-4):
            raise WrongAnswer("predict2's scores are not net2's on the same images. Hint: permute the axes "
                              "(0, 3, 1, 2) rather than reshape; use the notebook's own net2.")
        return "net2's scores on your test batch"
    return [Part("predict2", 2.0, check)]


# ---- notebook 07 ------------------------------------------------------------------------------------

def ex07_predict(answers, who):
    return [choice_part("sanity_baseline", answers, who)]


#: notebook 07's settings of the ND exercise's methods (its PARAMS)
NOTEBOOK07_PARAMS = {"guided-backprop": {"differentiate": "logit"}, "gradient": {"differentiate": "logit"},
                     "occlusion": {"window": 12, "stride": 12}}


def notebook07_inputs():
    """Notebook 07's model, images, targets, method settings and the layers its ND exercise re-initialises."""
    from ..demo import make_scenes

    scenes = make_scenes(30, seed=11)
    return demo_model(), scenes.images.astype(np.float32), scenes.labels, NOTEBOOK07_PARAMS, ("probabilities",)


def nd_parts(model, images, targets, case, params, layers):
    """(floor, randomised, chance) per image of the case's method on signed Spearman, ``layers`` re-initialised
    with the case's seed; the chance level pairs the case's images by :func:`sanity.chance_partners`."""
    from ..registry import build
    from ..sanity import chance_partners, randomise_layers, spearman_similarity

    idx = [i % len(images) for i in case["images"]]
    kw = dict((params or {}).get(case["method"], {}))
    clone = randomise_layers(model, list(layers), seed=case["seed"])
    on_trained, on_random = build(case["method"], model, **kw), build(case["method"], clone, **kw)
    trained = [on_trained.explain(images[i], int(targets[i])).raw for i in idx]
    random = [on_random.explain(images[i], int(targets[i])).raw for i in idx]
    randomised = np.array([spearman_similarity(a, b) for a, b in zip(trained, random)])
    sums, counts = np.zeros(len(idx)), np.zeros(len(idx))
    for i, j in chance_partners(len(idx), seed=case["seed"]):
        sim = spearman_similarity(trained[i], trained[j])
        sums[[i, j]] += sim
        counts[[i, j]] += 1
    return np.ones(len(idx)), randomised, sums / counts


def _nd_slips(floor, randomised, chance):
    """The wrong readings of ND the feedback names: (value, what it is, hint)."""
    f, r, c = floor.mean(), randomised.mean(), chance.mean()
    return [((f - c) / (f - r), "you divided the other way round.",
             "ND = (floor - randomised) / (floor - chance): 0 when nothing changed."),
            ((f - r) / f, "that is ND without the chance level.", "subtract the chance level from the floor below."),
            (np.mean((floor - randomised) / (floor - chance)), "that is the mean of the per-image ratios.",
             "take the ratio of the three means over your images."),
            (r, "that is the randomised similarity R, not ND.", "ND = (F - R) / (F - C).")]


def ex07_by_hand(answers, who):
    c = who.case("nd")

    def check():
        (v,) = _given(answers, "nd")
        model, images, targets, params, layers = notebook07_inputs()
        floor, randomised, chance = nd_parts(model, images, targets, c, params, layers)
        truth = (floor.mean() - randomised.mean()) / (floor.mean() - chance.mean())
        for value, what, hint in _nd_slips(floor, randomised, chance):
            if np.isclose(v, value, atol=1e-4) and not np.isclose(v, truth, atol=1e-4):
                raise WrongAnswer(f"{what} Hint: {hint}")
        if not np.isclose(v, truth, atol=1e-4):
            raise WrongAnswer("ND is not right for your case. Hint: your own case's floor, randomised and chance "
                              "similarities (the cell above prints them), their means over your images, and "
                              "ND = (F - R) / (F - C).")
        return "recomputed for your method, scenes and seed"
    return [Part("nd", 2.0, check)]


#: exercise id (a record's ``exercise``; its graded cell is ``<id>-check``) -> grader
GRADERS = {"ex01-absent": ex01_absent, "ex02-rule": ex02_rule, "ex03-cells": ex03_cells,
           "ex03-tolerance": ex03_tolerance, "ex04-substrate": ex04_substrate, "ex05-seeds": ex05_seeds,
           "ex06-predict": ex06_predict, "ex07-predict": ex07_predict, "ex07-by-hand": ex07_by_hand}
