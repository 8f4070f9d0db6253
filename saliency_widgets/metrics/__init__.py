"""Evaluation metrics: plain functions on arrays (pointing game, box IoU, insertion/deletion, convergence)."""
from .causal import Curve, blur, deletion, insertion
from .convergence import ConvergenceResult, convergence
from . import localization
from .localization import box_iou, iou, threshold_map
from .pointing import max_point, pointing_accuracy, pointing_game

__all__ = ["pointing_game", "pointing_accuracy", "max_point", "box_iou", "threshold_map", "iou",
           "insertion", "deletion", "Curve", "blur", "convergence", "ConvergenceResult"]
