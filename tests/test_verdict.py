"""The verdict on the paper's method printed by notebooks 03 and 05, from the shipped results."""
import pytest

from saliency_widgets import verdict as V
from saliency_widgets.reproduce import shipped_results


def test_paired_difference_known_answer():
    # method a hits every target, b misses image 0's two targets of class 0: a - b = 100 * (1 - 3/5) on class 0
    rows = [{"image": i, "target": t, "method": m, "hit": m == "a" or i > 0}
            for i in range(5) for t in (0,) for m in ("a", "b")]
    d, lo, hi = V.paired_difference(rows, "a", "b")
    assert d == pytest.approx(20.0) and lo <= d <= hi and lo == 0.0
    with pytest.raises(ValueError, match="rows of both"):
        V.paired_difference(rows, "a", "c")


def test_verdict_words_follow_the_interval():
    assert "trails RISE by 15.9 points" in V._compare_words("paper", "RISE", -15.9, -21.6, -10.5)
    assert "cannot tell them apart" in V._compare_words("paper", "RISE", -3.3, -6.9, 0.0)
    assert "leads RISE" in V._compare_words("paper", "RISE", 2.0, 0.5, 3.5)


def test_verdict_prints_the_paired_differences_of_the_shipped_rows():
    shipped = shipped_results()
    text = V.verdict(shipped)
    from saliency_widgets.metrics.intervals import format_interval
    from saliency_widgets.registry import get_method
    for scope in ("single", "multi"):
        d, lo, hi = V.paired_difference(shipped[f"rows_{scope}"], get_method("mask-update-paper").label,
                                        get_method("rise").label)
        assert format_interval(lo, hi) in text  # each bound with the digits that show its side of 0
    assert text.count("pointing accuracy (15 px)") == 2


def test_convergence_intervals_use_the_stored_image_ids():
    import numpy as np
    from saliency_widgets.reproduce import convergence_ci
    shipped = shipped_results()
    cfg = dict(shipped["config"], conv_single=4, conv_multi=4)
    hits = [[True, False, True, True]]
    results = {"config": cfg,
               "convergence_single": {"a": {"hits": hits, "images": [0, 0, 1, 1]}},
               "convergence_multi": {"a": {"hits": hits, "images": [0, 1, 2, 3]}}}

    class Top1Is5:  # a model whose top-1 class (5) is never a target: every object is a "not top-1" target
        def predict(self, x):
            p = np.zeros((len(x), 6), np.float32)
            p[:, 5] = 1
            return p
    from saliency_widgets.models import as_model
    out = V.convergence_intervals(results, as_model(Top1Is5().predict))
    assert out["convergence_single"]["a"] == [tuple(convergence_ci(hits[0], [0, 0, 1, 1]))]
    assert out["convergence_multi"]["a"] == [tuple(convergence_ci(hits[0], [0, 1, 2, 3]))]
    results["convergence_multi"]["a"]["images"] = [0, 1]
    with pytest.raises(ValueError, match="2 image ids for 4 targets"):
        V.convergence_intervals(results, as_model(Top1Is5().predict))


def test_convergence_ci_does_not_collapse_when_every_target_hit():
    from saliency_widgets.metrics import wilson_interval
    from saliency_widgets.reproduce import convergence_ci
    lo, hi = convergence_ci([True] * 20, [i // 2 for i in range(20)])
    assert (lo, hi) == pytest.approx(wilson_interval(20, 20)) and lo < 1.0
    lo, hi = convergence_ci([True] * 19 + [False], [i // 2 for i in range(20)])
    assert lo < 0.95 < hi
