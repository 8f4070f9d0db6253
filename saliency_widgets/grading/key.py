"""The multiple-choice key and the hints the grader's feedback gives for each wrong choice.

The key is public, as the worked solutions of the public tutorials are: what stops a copied letter is that
each student sees the choices in their own order (drawn from the course secret and their id), and that
nothing in the student's kernel says which letter is right before the hand-in is graded.
"""
from __future__ import annotations

#: question -> (the right choice id, {wrong choice id: hint})
KEY = {
    "absent_class": (
        "rescaled",
        {"faint": "Print the explanation's `score`: the model's probability for that class on the whole image. "
                  "Is it the probability of a class the model sees?",
         "top1": "Explain two different absent classes: are the two maps the same? The explainer reads the target.",
         "clutter": "Compare with the map of a class that is present: does it go to the clutter too?"}),
    "self_convergence": (
        "stability",
        {"truth": "The final map is not the truth: a wrong map also correlates perfectly with itself. Which "
                  "measure in this notebook compares a map with ground truth?",
         "speed": "A correlation of two maps has no time in it.",
         "noise": "The demo model is deterministic; and the correlation does reach 1 at the full budget."}),
    "deletion_substrate": (
        "silhouette",
        {"wrong_mask": "Occlusion and the pointing game say the model uses the object. What does a black shape "
                       "look like to a shape classifier?",
         "higher": "Deletion removes the most salient pixels first; a good map makes the probability drop fast. "
                   "Is a fast drop a low or a high area under the curve?",
         "step": "Change `step`: does the perfect map start winning with black? The substrate is the cause."}),
    "gradcam_cells": (
        "cells",
        {"noisy": "Grad-CAM is deterministic: it gives the same map every run. Look at the map's blocks.",
         "target": "Both variants explain the same class; only the tolerance changes.",
         "centre": "Compare with the centre baseline's accuracy at both tolerances (exercise 2)."}),
    "sanity_baseline": (
        "one",
        {k: "Does CenterBaseline.explain ever call the model? Read saliency_widgets/explainers/center.py."
         for k in ("drops", "slow", "negative")}),
}
