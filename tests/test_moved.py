"""Modules that moved keep their old import paths for one release, with a DeprecationWarning."""
import importlib
import sys

import pytest

import saliency_widgets
import saliency_widgets.sanity
from saliency_widgets import metrics
from saliency_widgets.moved import MOVED


@pytest.mark.parametrize("old", sorted(MOVED))
def test_an_old_module_path_warns_and_is_the_new_module(old):
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=f"{old} moved to {MOVED[old]}"):
        module = importlib.import_module(old)
    new = importlib.import_module(MOVED[old])
    assert module is new and new.__spec__.name == MOVED[old]  # an alias: the new module keeps its own name


def test_from_import_of_an_old_path_gives_the_new_names():
    sys.modules.pop("saliency_widgets.distributed", None)
    with pytest.warns(DeprecationWarning, match="saliency_widgets.evaluation.cluster"):
        from saliency_widgets.distributed import recipes_of
    from saliency_widgets.evaluation.cluster import recipes_of as new
    assert recipes_of is new


@pytest.mark.parametrize("name", ["sanity_check", "SanityResult"])
def test_the_metric_sanity_check_is_still_reachable_from_metrics(name):
    with pytest.warns(DeprecationWarning, match=f"saliency_widgets.metrics.{name} moved"):
        old = getattr(metrics, name)
    assert old is getattr(saliency_widgets.sanity, name)


def test_the_public_api_is_where_it_was():
    from saliency_widgets.evaluation import ArraySource, Results, as_source, evaluate, score_image  # noqa: F401
    from saliency_widgets.sanity import data_randomisation_check, model_randomisation  # noqa: F401
    assert saliency_widgets.evaluate is evaluate and saliency_widgets.Results is Results
    with pytest.raises(AttributeError):
        metrics.no_such_metric  # noqa: B018
