"""The grid pointing game's scores: the maximum in the tile, and the positive mass share."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from saliency_widgets.metrics import grid_energy, grid_pointing, localization_scores

TILES = [(0, 0, 4, 4), (4, 0, 8, 4), (0, 4, 4, 8), (4, 4, 8, 8)]


def test_pointing_hits_only_the_tile_holding_the_maximum():
    sal = np.zeros((8, 8))
    sal[5, 6] = 1.0  # row 5, column 6: the bottom-right tile
    assert [grid_pointing(sal, t) for t in TILES] == [False, False, False, True]


def test_energy_of_a_map_inside_one_tile_is_one_there_and_zero_elsewhere():
    sal = np.zeros((8, 8))
    sal[:4, 4:] = 2.0
    assert [grid_energy(sal, t) for t in TILES] == [0.0, 1.0, 0.0, 0.0]


def test_energy_ignores_negative_attribution():
    sal = np.full((8, 8), -5.0)
    sal[0, 0], sal[7, 7] = 3.0, 1.0
    assert grid_energy(sal, TILES[0]) == pytest.approx(0.75)


def test_centring_removes_a_constant_offset():
    rng = np.random.default_rng(0)
    sal = rng.random((8, 8))
    assert grid_energy(sal + 100, TILES[1], centre=True) == pytest.approx(grid_energy(sal, TILES[1], centre=True))
    # uncentred, the offset drags every tile's share towards its area (1/4)
    assert abs(grid_energy(sal + 100, TILES[1]) - 0.25) < abs(grid_energy(sal, TILES[1]) - 0.25) + 1e-12


@settings(max_examples=50, deadline=None)
@given(arrays(np.float64, (8, 8), elements=st.floats(-10, 10)), st.booleans())
def test_energy_shares_of_the_four_tiles_sum_to_one(sal, centre):
    shares = [grid_energy(sal, t, centre=centre) for t in TILES]
    assert all(0.0 <= s <= 1.0 for s in shares)
    assert sum(shares) == pytest.approx(1.0)


def test_localization_scores_names_the_energy_metrics_only_when_asked():
    sal = np.zeros((8, 8))
    sal[1, 1] = 1.0
    mask = np.zeros((8, 8), bool)
    mask[:4, :4] = True
    out = localization_scores(sal, mask, [TILES[0]], metrics=("energy", "energy_centred"))
    assert out == {"energy": 1.0, "energy_centred": pytest.approx(1.0)}
    assert "energy" not in localization_scores(sal, mask, [TILES[0]])
    with pytest.raises(ValueError, match="energy"):
        localization_scores(sal, mask, [TILES[0]], metrics=("energie",))


def test_the_three_gridpg_scores_of_an_offset_map_by_hand():
    """A map of 1 everywhere and 4 in the target tile (16 of 64 pixels): the published share is
    16*4 / (16*4 + 48*1) = 4/7; centred (mean 1.75) only the tile stays positive: 1; the maximum is in it."""
    sal = np.ones((8, 8))
    sal[:4, 4:] = 4.0
    assert grid_energy(sal, TILES[1]) == pytest.approx(4 / 7)
    assert grid_energy(sal, TILES[1], centre=True) == pytest.approx(1.0)
    assert grid_pointing(sal, TILES[1]) and not grid_pointing(sal, TILES[0])


@pytest.mark.parametrize("offset", [0.0, 1.0, 10.0, 1000.0])
def test_the_published_score_of_a_positive_map_tends_to_the_tiles_area_as_its_offset_grows(offset):
    """share = (16 (offset + 1)) / (64 offset + 16): 1 without offset, -> 1/4 as the offset grows."""
    sal = np.full((8, 8), offset)
    sal[4:, :4] += 1.0
    assert grid_energy(sal, TILES[2]) == pytest.approx(16 * (offset + 1) / (64 * offset + 16))
    assert grid_energy(sal, TILES[2], centre=True) == pytest.approx(1.0)


def test_a_signed_map_by_hand():
    """-1 everywhere, 2 in the target tile: only the tile is positive, both shares are 1 (centred: mean -0.25,
    the rest stays negative).  With 0.5 in the opposite tile: published 32 / (32 + 8) = 0.8; centred (mean
    0.125) 16 * 1.875 / (16 * 1.875 + 16 * 0.375) = 5/6."""
    sal = np.full((8, 8), -1.0)
    sal[:4, :4] = 2.0
    assert grid_energy(sal, TILES[0]) == 1.0 and grid_energy(sal, TILES[0], centre=True) == 1.0
    sal[4:, 4:] = 0.5
    assert grid_energy(sal, TILES[0]) == pytest.approx(0.8)
    assert grid_energy(sal, TILES[0], centre=True) == pytest.approx(5 / 6)
