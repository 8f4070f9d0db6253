"""Evaluation metrics: plain functions on arrays (pointing game, box IoU, insertion/deletion, convergence).

Every metric ranks pixels by the map it is given with one rule (:mod:`.ranking`):
pass ``Explanation.raw``; ties are broken by a seeded random order.
"""
from .causal import PROTOCOL, PROTOCOLS, Curve, blur, deletion, insertion, protocol_text
from .convergence import ConvergenceResult, convergence
from . import intervals, localization, ranking
from .intervals import bootstrap_ci, bootstrap_pointing_ci, cluster_bootstrap_ci, wilson_interval
from .localization import box_iou, iou, threshold_map
from .grid_pointing import grid_energy, grid_pointing
from .pointing import pointing_accuracy, pointing_game
from .ranking import max_point, minmax, rank_order
from .scores import localization_scores
from .names import ALL_METRICS, ENERGY_METRICS, LOCALIZATION_METRICS, METRICS, MODEL_METRICS

__all__ = ["pointing_game", "pointing_accuracy", "max_point", "box_iou", "threshold_map", "iou",
           "insertion", "deletion", "Curve", "blur", "PROTOCOL", "PROTOCOLS", "protocol_text", "convergence", "ConvergenceResult",
           "rank_order", "minmax", "wilson_interval", "bootstrap_ci", "bootstrap_pointing_ci", "cluster_bootstrap_ci",
           "localization_scores", "grid_pointing", "grid_energy",
           "METRICS", "ALL_METRICS", "LOCALIZATION_METRICS", "MODEL_METRICS", "ENERGY_METRICS"]
