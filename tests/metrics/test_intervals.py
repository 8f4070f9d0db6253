import numpy as np
import pytest

from saliency_widgets.metrics import bootstrap_ci, bootstrap_pointing_ci, pointing_accuracy, wilson_interval
from saliency_widgets.metrics.intervals import bootstrap_mean_ci


def test_wilson_never_collapses_at_the_ends():
    lo, hi = wilson_interval(20, 20)
    assert hi == 1.0 and lo == pytest.approx(0.8389, abs=1e-4)  # z^2 / (n + z^2) below 1
    lo, hi = wilson_interval(0, 20)
    assert lo == 0.0 and hi == pytest.approx(0.1611, abs=1e-4)


def test_wilson_bad_input():
    with pytest.raises(ValueError, match="k <= n"):
        wilson_interval(5, 3)


def test_wilson_coverage_on_a_known_bernoulli():
    rng = np.random.default_rng(0)
    p, n = 0.3, 40
    covered = [lo <= p <= hi for lo, hi in (wilson_interval(int(k), n) for k in rng.binomial(n, p, size=400))]
    assert 0.92 <= np.mean(covered) <= 0.98


def _rows(rng, n_images=40, p=0.8):
    return [{"image": i, "target": int(c), "hit": bool(rng.random() < p), "box_iou": float(rng.random())}
            for i in range(n_images) for c in rng.choice(4, size=rng.integers(1, 3), replace=False)]


def test_bootstrap_is_deterministic_for_a_seed():
    rows = _rows(np.random.default_rng(0))
    a = bootstrap_pointing_ci(rows, seed=3)
    assert a == bootstrap_pointing_ci(rows, seed=3) and a != bootstrap_pointing_ci(rows, seed=4)


def test_vectorised_bootstraps_equal_the_generic_one():
    rows = _rows(np.random.default_rng(1))
    assert bootstrap_pointing_ci(rows, n_resamples=300, seed=5) == pytest.approx(
        bootstrap_ci(rows, pointing_accuracy, n_resamples=300, seed=5))
    assert bootstrap_mean_ci(rows, "box_iou", n_resamples=300, seed=5) == pytest.approx(
        bootstrap_ci(rows, lambda rs: np.mean([r["box_iou"] for r in rs]), n_resamples=300, seed=5))


def test_bootstrap_interval_contains_the_estimate():
    rows = [{"image": i, "target": i % 2, "hit": i % 2 == 0 or i % 3 != 0} for i in range(60)]
    lo, hi = bootstrap_pointing_ci(rows)
    assert lo < pointing_accuracy(rows) < hi


def test_bootstrap_coverage_on_a_known_bernoulli():
    rng = np.random.default_rng(2)
    p, covered = 0.7, []
    for _ in range(100):
        rows = [{"image": i, "target": 0, "hit": bool(rng.random() < p)} for i in range(60)]
        lo, hi = bootstrap_pointing_ci(rows, n_resamples=400, seed=int(rng.integers(1 << 30)))
        covered.append(lo <= p <= hi)
    assert 0.85 <= np.mean(covered) <= 0.99


# --- cluster bootstrap: targets that share an image are resampled together --------------------------------

from saliency_widgets.metrics import cluster_bootstrap_ci  # noqa: E402


def test_cluster_bootstrap_with_one_target_per_image_is_the_image_bootstrap():
    rng = np.random.default_rng(3)
    values = rng.random(25)
    rows = [{"image": i, "v": float(v)} for i, v in enumerate(values)]
    assert cluster_bootstrap_ci(values, range(25)) == bootstrap_mean_ci(rows, "v")


def test_cluster_bootstrap_known_answer_for_fully_dependent_clusters():
    # 10 images of 10 targets each, every target of an image hit or missed together (5 images all hit):
    # the sample is 10 images, so the resampled accuracy is Binomial(10, 0.5) / 10, whose 2.5% and 97.5%
    # quantiles are 0.2 and 0.8.  Treating the 100 targets as independent gives about [0.40, 0.60].
    values = np.repeat([1.0] * 5 + [0.0] * 5, 10)
    clusters = np.repeat(np.arange(10), 10)
    lo, hi = cluster_bootstrap_ci(values, clusters)
    assert (lo, hi) == pytest.approx((0.2, 0.8))
    naive_lo, naive_hi = wilson_interval(50, 100)
    assert hi - lo > 2.5 * (naive_hi - naive_lo)


def test_cluster_bootstrap_duplicates_inside_a_cluster_do_not_narrow_it():
    values = [0, 1, 1, 0, 1, 1, 1, 0, 1, 1, 0, 1]
    once = cluster_bootstrap_ci(values, range(12))
    assert cluster_bootstrap_ci(values * 3, list(range(12)) * 3) == pytest.approx(once)
    assert bootstrap_mean_ci([{"image": i, "v": v} for i, v in enumerate(values * 3)], "v") != pytest.approx(once)


def test_cluster_bootstrap_bad_input():
    with pytest.raises(ValueError, match="same length"):
        cluster_bootstrap_ci([1.0, 0.0], [0])
    with pytest.raises(ValueError, match="at least one"):
        cluster_bootstrap_ci([], [])


def test_an_interval_shows_on_which_side_of_zero_each_bound_lies():
    """+0.009 printed at one decimal would read +0.0, as if the interval ended at 0: more digits are shown."""
    from saliency_widgets.metrics.intervals import format_bound, format_interval
    assert format_interval(-6.93, 0.009) == "[-6.9, +0.01]"
    assert format_interval(-0.00004, 2.5) == "[-0.00004, +2.5]"
    assert format_interval(0.0, 1.0) == "[+0.0, +1.0]"
    assert format_bound(0.25, 3, signed=False) == "0.250"
    for x in (-0.049, -0.0051, 0.0049, 0.012, -3.3):
        assert (float(format_bound(x)) > 0) == (x > 0) and float(format_bound(x)) != 0
