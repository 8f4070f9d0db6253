"""The metrics' names, declared once: what ``evaluate()``, the sanity check, the CLI and the tables take.

Every front end reads these tuples; none spells a metric list of its own.
"""
__all__ = ["LOCALIZATION_METRICS", "MODEL_METRICS", "ENERGY_METRICS", "METRICS", "ALL_METRICS", "ROW_KEY"]

#: scored from the map and the truth alone: the pointing game (15 px, TorchRay's) and its strict variant, box IoU
LOCALIZATION_METRICS = ("pointing", "pointing_strict", "box_iou")
#: the causal metrics, which query the model (RISE's insertion and deletion)
MODEL_METRICS = ("insertion", "deletion")
#: the grid pointing game's attribution shares in the target cell: asked for by name, never by default
ENERGY_METRICS = ("energy", "energy_centred")
#: ``evaluate()``'s default, and what the metric sanity check checks
METRICS = LOCALIZATION_METRICS + MODEL_METRICS
#: every metric ``evaluate()`` accepts
ALL_METRICS = METRICS + ENERGY_METRICS
#: what a results row calls a metric whose value is a hit (bool)
ROW_KEY = {"pointing": "hit", "pointing_strict": "hit_strict"}
