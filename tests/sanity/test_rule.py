"""The randomisation rule (sanity.rule) on synthetic similarities whose answer is known.

ND = (floor - randomised) / (floor - chance) of the means over images; a pass needs the lower bound of
its 95% bootstrap interval at or above 0.5, a fail its upper bound below 0.5.  With the same value on
every image every bootstrap resample has the same means, so the interval is the point itself and the
verdict is known exactly.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from saliency_widgets.metrics.intervals import bootstrap_mean_ci
from saliency_widgets.sanity import rule
from saliency_widgets.sanity.rule import ND_PASS, decide

N = rule.MIN_IMAGES


def full(value, n=N):
    return np.full(n, float(value))


# ---- verdicts with analytic answers ----------------------------------------------------------------

def test_guided_backprop_numbers_fail_although_they_are_below_a_floor_of_one():
    """The audit's case: a deterministic method (floor 1) keeps Spearman 0.86 after randomisation, maps of
    different images agree at 0.2: ND = 0.14 / 0.8 = 0.175, far below 0.5 -- a failure.  (The rule this
    replaced passed it: 0.86 lies below the floor of 1.)"""
    d = decide(full(0.86), full(1.0), full(0.2))
    assert d["nd"] == pytest.approx(0.175) and d["nd_low"] == pytest.approx(0.175) == d["nd_high"]
    assert d["verdict"] == "fails" and not d["passes"]
    assert d["floor"] == 1.0 and d["chance"] == pytest.approx(0.2) and d["mean"] == pytest.approx(0.86)


@pytest.mark.parametrize("random, nd, verdict", [
    (1.0, 0.0, "fails"),        # unchanged: ND 0
    (0.5, 1.0, "passes"),       # as different as another image's map: ND 1
    (0.75, 0.5, "passes"),      # exactly on the line: a lower bound of 0.5 passes
    (0.0, 2.0, "passes"),       # less alike than two different images: ND above 1
    (0.875, 0.25, "fails"),
])
def test_nd_is_the_normalised_difference_of_the_means(random, nd, verdict):
    d = decide(full(random), full(1.0), full(0.5))   # multiples of 1/8, exact in binary: ND exact
    assert d["nd"] == nd and (d["nd_low"], d["nd_high"]) == (nd, nd)
    assert d["verdict"] == verdict and d["passes"] == (verdict == "passes")


def test_nd_just_below_the_line_fails():
    d = decide(full(0.75 + 1e-9), full(1.0), full(0.5))
    assert d["nd_high"] < ND_PASS and d["verdict"] == "fails"


def test_an_interval_across_the_line_is_undecided():
    """Per-image randomised similarities alternate 0.5 and 1.0: mean 0.75, ND 0.5, and resamples fall on
    both sides of the line."""
    d = decide(np.tile([0.5, 1.0], N // 2), full(1.0), full(0.5))
    assert d["nd"] == pytest.approx(0.5)
    assert d["nd_low"] < ND_PASS <= d["nd_high"] and d["verdict"] == "undecided" and not d["passes"]
    assert "more images" in d["reason"]


def test_a_map_that_does_not_depend_on_the_image_fails():
    """floor == chance (the centre baseline: one map for every image): ND is undefined and the method fails,
    whatever the randomised similarity."""
    for random in (1.0, 0.0, -1.0):
        d = decide(full(random), full(1.0), full(1.0))
        assert d["verdict"] == "fails" and np.isnan(d["nd"]) and np.isnan(d["nd_low"]) and np.isnan(d["nd_high"])
        assert d["gap"] == 0.0 and "does not depend on the image" in d["reason"]


def test_a_noisy_method_whose_floor_is_not_above_chance_fails():
    """A seeded method at a tiny budget: its own repeat agrees with it no more than another image's map."""
    rng = np.random.default_rng(0)
    d = decide(rng.uniform(-0.1, 0.1, N), rng.uniform(0.0, 0.1, N), rng.uniform(0.0, 0.1, N))
    assert d["gap_low"] <= 0 and d["verdict"] == "fails" and "larger budget" in d["reason"]


def test_chance_above_the_floor_fails():
    d = decide(full(0.0), full(0.2), full(0.3))
    assert d["gap"] < 0 and d["verdict"] == "fails" and np.isnan(d["nd"])


def test_too_few_images_and_vanished_maps():
    assert decide(full(0.5, 29), full(1.0, 29), full(0.5, 29))["verdict"] == "too few images to tell"
    assert decide(full(0.5, 5), full(1.0, 5), full(0.5, 5), min_images=5)["verdict"] == "passes"
    gone = np.r_[np.full(N // 2, np.nan), full(0.5, N - N // 2)]
    d = decide(gone, full(1.0), full(0.5))
    assert d["verdict"] == "map vanished" and d["vanished"] == N // 2 and not d["passes"]
    some = np.r_[np.full(3, np.nan), full(0.5, N + 4)]          # a few vanished: left out
    d = decide(some, full(1.0, N + 7), full(0.5, N + 7))
    assert d["verdict"] == "passes" and d["n"] == N + 4 and d["vanished"] == 3
    chance = full(0.5, N + 7)
    chance[:3] = np.nan                                           # no partner to compare with: left out too
    d = decide(full(0.5, N + 7), full(1.0, N + 7), chance)
    assert d["n"] == N + 4 and d["vanished"] == 3
    flags = np.zeros(N + 7, bool)
    flags[-2:] = True                                             # flagged vanished although a number is given
    assert decide(full(0.5, N + 7), full(1.0, N + 7), full(0.5, N + 7), random_vanished=flags)["n"] == N + 5


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="one value per image"):
        decide(full(0.5), full(1.0), full(0.5, N - 1))
    with pytest.raises(ValueError, match="level"):
        decide(full(0.5), full(1.0), full(0.5), level=1.5)


def test_the_rule_text_states_the_line_and_every_verdict():
    text = rule.RANDOMISATION_RULE
    assert "ND = (floor - randomised) / (floor - chance)" in text and f"at least {ND_PASS}" in text
    for v in rule.VERDICTS:
        assert v.upper() in text, v
    assert "seed s + 2i + 1" in text and str(rule.MIN_IMAGES) in text
    assert rule.VERDICTS == ("passes", "fails", "undecided", "too few images to tell", "map vanished")


def test_the_verdict_text_prints_nd_its_interval_and_what_was_randomised():
    d = decide(full(0.84), full(1.0), full(0.2))
    text = rule.verdict_text("GB", {**d, "deterministic": True}, "spearman", "with the top block randomised")
    assert text.startswith("GB: FAILS - with the top block randomised: ND = 0.20 [0.20, 0.20] on spearman")
    assert "floor 1.00 [1.00, 1.00] (deterministic" in text and "chance 0.20 [0.20, 0.20]" in text
    undefined = rule.verdict_text("centre", decide(full(1.0), full(1.0), full(1.0)), "ssim", "x")
    assert "ND = undefined" in undefined and "FAILS" in undefined


# ---- the bootstrap ---------------------------------------------------------------------------------

def test_the_interval_is_a_seeded_bootstrap_over_images_by_hand():
    """The vectorised interval equals a loop over resamples (same draws), and the printed similarity
    intervals are bootstrap_mean_ci's (the tables' interval, same seed)."""
    rng = np.random.default_rng(3)
    random, floor, chance = rng.uniform(0.3, 0.8, N), rng.uniform(0.8, 1.0, N), rng.uniform(0.0, 0.3, N)
    d = decide(random, floor, chance, seed=7, n_boot=500)
    picks = np.random.default_rng(7).integers(0, N, size=(500, N))
    nds = [(floor[p].mean() - random[p].mean()) / (floor[p].mean() - chance[p].mean()) for p in picks]
    lo, hi = np.quantile(nds, [0.025, 0.975], method="inverted_cdf")
    assert (d["nd_low"], d["nd_high"]) == pytest.approx((lo, hi), abs=1e-12)
    rows = [{"image": i, "v": x} for i, x in enumerate(random)]
    assert (d["low"], d["high"]) == bootstrap_mean_ci(rows, "v", n_resamples=500, seed=7)
    assert decide(random, floor, chance, seed=7, n_boot=500) == d          # seeded
    assert decide(random, floor, chance, seed=8, n_boot=500)["nd_low"] != d["nd_low"]


# ---- properties -----------------------------------------------------------------------------------

similarities = st.lists(st.floats(-1, 1, allow_nan=False), min_size=N, max_size=N).map(np.array)


@settings(max_examples=30, deadline=None)
@given(similarities, st.floats(0.2, 0.9), st.floats(0.1, 5), st.floats(-2, 2))
def test_nd_and_the_verdict_do_not_change_under_a_positive_affine_rescaling(random, gap, scale, shift):
    """ND is a ratio of differences: rescaling every similarity (scale > 0, shift) changes no ND, no verdict."""
    floor, chance = full(1.0), full(1.0 - gap)
    a = decide(random, floor, chance, n_boot=200)
    b = decide(scale * random + shift, scale * floor + shift, scale * chance + shift, n_boot=200)
    assert b["verdict"] == a["verdict"]
    for key in ("nd", "nd_low", "nd_high"):
        assert b[key] == pytest.approx(a[key], rel=1e-9, abs=1e-9)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0.5, 1.0), min_size=N, max_size=N).map(np.array),
       st.lists(st.floats(-0.5, 0.3), min_size=N, max_size=N).map(np.array))
def test_nd_is_zero_when_nothing_changed_and_one_when_the_map_is_another_images(floor, chance):
    unchanged, swapped = decide(floor, floor, chance, n_boot=200), decide(chance, floor, chance, n_boot=200)
    assert unchanged["nd"] == pytest.approx(0, abs=1e-12) and unchanged["verdict"] == "fails"
    assert unchanged["nd_high"] == pytest.approx(0, abs=1e-12)
    assert swapped["nd"] == pytest.approx(1) and swapped["nd_low"] == pytest.approx(1) and swapped["passes"]


@settings(max_examples=30, deadline=None)
@given(similarities, st.floats(0, 1))
def test_more_change_never_lowers_nd_or_turns_a_pass_into_a_fail(random, drop):
    floor, chance = full(1.0), full(0.1)
    before, after = decide(random, floor, chance, n_boot=200), decide(random - drop, floor, chance, n_boot=200)
    assert after["nd"] >= before["nd"] - 1e-12 and after["nd_low"] >= before["nd_low"] - 1e-12
    order = {"fails": 0, "undecided": 1, "passes": 2}
    assert order[after["verdict"]] >= order[before["verdict"]]


# ---- the chance level --------------------------------------------------------------------------------

@pytest.mark.parametrize("n", [1, 2, 3, 5, 7, 8, 30])
def test_chance_partners_pair_different_images_seeded(n):
    pairs = rule.chance_partners(n, seed=0)
    assert all(i < j for i, j in pairs) and len(set(pairs)) == len(pairs)
    per_image = np.bincount(np.array(pairs, int).ravel(), minlength=n) if pairs else np.zeros(n)
    assert np.all(per_image == min(2 * rule.CHANCE_SHIFTS, n - 1))  # every image has its share of partners
    assert rule.chance_partners(n, seed=0) == pairs
    if n >= 8:
        assert rule.chance_partners(n, seed=1) != pairs             # a seeded shuffle, not neighbours by index


def test_chance_similarities_of_known_maps():
    rng = np.random.default_rng(0)
    base = rng.random((16, 16))
    same = np.stack([base ** (1 + k) for k in range(8)])          # one ranking: Spearman 1 between any two
    c = rule.chance_similarities(same, seed=0)
    assert np.allclose(c["spearman"], 1.0) and np.allclose(c["abs_spearman"], 1.0)
    noise = rng.random((40, 16, 16))                                # unrelated maps: chance near 0
    c = rule.chance_similarities(noise, seed=0)
    assert abs(np.mean(c["spearman"])) < 0.05 and c["spearman"].shape == (40,)
    flipped = np.stack([base if k % 2 else -base for k in range(8)])
    c = rule.chance_similarities(flipped, seed=0)                   # |Spearman| ignores the sign
    assert np.allclose(c["abs_spearman"], 1.0) and np.all(c["spearman"] < 1)
    with_constant = np.concatenate([noise[:6], np.ones((1, 16, 16))])
    c = rule.chance_similarities(with_constant, seed=0)
    assert np.isnan(c["spearman"][6]) and not np.isnan(c["spearman"][:6]).any()   # a vanished map is left out
    assert np.isnan(rule.chance_similarities(noise[:1], seed=0)["ssim"]).all()    # one image: no partner
    with pytest.raises(ValueError, match=r"\(N, H, W\)"):
        rule.chance_similarities(base, seed=0)
