"""Sanity checks, named for what they check.

* :mod:`.methods`: does a saliency *method* explain the model? Model- and data-randomisation
  (Adebayo et al. 2018): :func:`model_randomisation`, :func:`data_randomisation_check`, judged by
  :data:`RANDOMISATION_RULE` (:mod:`.rule`: the normalised difference ND with a bootstrap interval),
  the maps compared by :mod:`.similarity`, the results in :mod:`.results`.
* :mod:`.metrics`: can a *metric* rank maps on the data at hand? The ground truth as a map
  against a random map: :func:`sanity_check`.
"""
from . import methods, metrics
from .methods import *  # noqa: F401,F403 - the method checks' public names
from .metrics import SANITY_METRICS, SANITY_THRESHOLD, SanityResult, sanity_check

__all__ = list(methods.__all__) + ["sanity_check", "SanityResult", "SANITY_METRICS", "SANITY_THRESHOLD"]
