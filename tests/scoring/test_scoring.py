"""Every scorecard metric, fixed on a hand-made region (see tests/fixtures.py)."""

from __future__ import annotations

import numpy as np
import pytest

from pcn_planner.model.plan import Plan
from pcn_planner.scoring.scorecard import score_plan, weighted_quantile
from pcn_planner.model.problem import Bounds

from tests.fixtures import tiny_region


@pytest.fixture(scope="module")
def card():
    plan = Plan.from_mapping({"A": "H1", "B": "H1", "C": "H2", "D": "H2"}, name="two hubs")
    return score_plan(tiny_region(), plan, bounds=Bounds(30_000, 60_000))


def test_population_band_and_contiguity(card) -> None:
    h = card.hubs
    assert h.loc["H1", "patients"] == 35_000 and h.loc["H2", "patients"] == 65_000
    assert h.loc["H1", "band"] == "ok" and h.loc["H2", "band"] == "above max"
    assert card.problems == ["hub H2: 65,000 patients > max 60,000"]
    assert h["contiguous"].all() and (h["components"] == 1).all()
    assert card.summary["hubs_out_of_band"] == 1 and card.summary["non_contiguous_hubs"] == 0


def test_base_site_and_travel(card) -> None:
    h = card.hubs
    # H1 patients: L1 25,000, L2 10,000. Base A: 25k*2 + 10k*6 = 110k; base B: 25k*6 + 10k*2 = 170k.
    assert h.loc["H1", "base_practice"] == "A"
    assert h.loc["H1", "travel_mean_min"] == pytest.approx(110_000 / 35_000)
    assert h.loc["H1", "travel_p90_min"] == 6  # 10k of 35k (29 %) at 6 min
    # H2: L2 5k, L3 60k. Base C: 5k*6 + 60k*3 = 210k; base D: 5k*10 + 60k*4 = 290k.
    assert h.loc["H2", "base_practice"] == "C"
    assert h.loc["H2", "travel_mean_min"] == pytest.approx(210_000 / 65_000)
    assert h.loc["H2", "travel_p90_min"] == 3
    s = card.summary
    assert s["travel_mean_min"] == pytest.approx(320_000 / 100_000)
    assert s["travel_p90_min"] == 6  # pooled: 25k@2, 60k@3, 10k@6, 5k@6
    assert s["travel_mean_spread_min"] == pytest.approx(210_000 / 65_000 - 110_000 / 35_000)


def test_communities(card) -> None:
    h = card.hubs
    assert h.loc["H1", "dominant_town"] == "Alpha" and h.loc["H1", "town_share"] == 1.0
    assert h.loc["H2", "dominant_town"] == "Beta"
    assert h.loc["H2", "town_share"] == pytest.approx(60 / 65)
    assert h.loc["H2", "dominant_catchment"] == "Hospital Two"
    assert h.loc["H2", "catchment_share"] == pytest.approx(60 / 65)
    assert card.summary["town_outside_share"] == pytest.approx(5_000 / 100_000)
    assert card.summary["towns_split"] == 0
    assert card.summary["lad_crossings"] == 0 and card.summary["cut_edges"] == 1


def test_deprivation_and_risk(card) -> None:
    h = card.hubs
    assert h.loc["H1", "imd_mean_decile"] == pytest.approx((25 * 1 + 10 * 5) / 35)
    assert h.loc["H1", "imd_most_deprived_share"] == pytest.approx(25 / 35)
    assert h.loc["H1", "risk_mean"] == pytest.approx((20 * 0.5 + 15 * 0.1) / 35)
    assert h.loc["H1", "high_risk_share"] == pytest.approx(20 / 35)
    assert not h.loc["H1", "has_anchor"] and h.loc["H2", "anchors"] == 2
    assert card.summary["hubs_without_anchor"] == 1
    assert card.summary["imd_deprived_share_spread"] == pytest.approx(25 / 35 - 0)


def test_disruption_against_current(card) -> None:
    # current: P1 = {A, B, C}, P2 = {D}. C moved away from its PCN's matched hub; pairs A-C and B-C broken.
    assert card.summary["practices_moved"] == 1
    assert card.summary["pcn_pairs_broken"] == 2


def test_non_contiguous_hub_is_reported() -> None:
    plan = Plan.from_mapping({"A": "H1", "C": "H1", "B": "H2", "D": "H2"})
    card = score_plan(tiny_region(), plan, bounds=Bounds(30_000, 70_000))
    assert card.summary["non_contiguous_hubs"] == 2
    assert "hub H1: not one connected piece (2 pieces; cut off: C)" in card.problems


def test_plan_must_cover_the_region() -> None:
    with pytest.raises(ValueError, match="does not cover"):
        score_plan(tiny_region(), Plan.from_mapping({"A": "H1", "B": "H1", "C": "H2"}))


def test_weighted_quantile() -> None:
    values, weights = np.array([5.0, 1.0, 3.0]), np.array([1.0, 1.0, 2.0])
    assert weighted_quantile(values, weights, 0.25) == 1.0
    assert weighted_quantile(values, weights, 0.5) == 3.0
    assert weighted_quantile(values, weights, 0.9) == 5.0
