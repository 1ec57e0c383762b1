"""What changes between two plans, counted on tiny hand-made plans (no data needed).

A practice has moved when its hub in A is not the A-hub of its new hub's base
site (the one definition, :func:`pcn_planner.model.instance.moved_from`);
pairs broken are practices together in A and apart in B.
"""

from __future__ import annotations

import pytest

from pcn_planner.model.plan import Plan
from pcn_planner.scoring.differences import broken_pairs, moved_practices, pair_hubs


def _plan(groups: dict[str, list[str]], name: str = "plan") -> Plan:
    return Plan.from_mapping({p: h for h, members in groups.items() for p in members}, name=name)


def test_one_practice_moved_and_pairs_broken_by_hand() -> None:
    a = _plan({"X": ["p1", "p2", "p3"], "Y": ["p4", "p5"], "Z": ["p6"]})
    # New ids on purpose: hubs are matched by the practices they share, not by id.
    b = _plan({"1": ["p1", "p2"], "2": ["p3", "p4", "p5"], "3": ["p6"]})
    assert pair_hubs(a, b) == {"X": "1", "Y": "2", "Z": "3"}
    # Hub 2 is served from p4 (a Y practice), so p3 has left its hub X.
    moved = moved_practices(a, b, {"1": "p1", "2": "p4", "3": "p6"})
    assert moved.to_dict("records") == [{"practice_code": "p3", "hub_a_id": "X", "hub_b_id": "2", "change": "moved"}]
    # Served from p3 instead, it is p4 and p5 that have moved: the base defines who moved.
    assert list(moved_practices(a, b, {"1": "p1", "2": "p3", "3": "p6"})["practice_code"]) == ["p4", "p5"]
    # Together in A: X has (p1,p2) (p1,p3) (p2,p3), Y has (p4,p5). Apart in B: (p1,p3) and (p2,p3).
    pairs = broken_pairs(a, b)
    assert list(zip(pairs["practice_1"], pairs["practice_2"])) == [("p1", "p3"), ("p2", "p3")]
    assert set(pairs["hub_a_id"]) == {"X"}
    assert list(zip(pairs["hub_b_id_1"], pairs["hub_b_id_2"])) == [("1", "2"), ("1", "2")]
    # Nothing changes between a plan and itself, whatever its hubs are called.
    same = _plan({"q": ["p1", "p2", "p3"], "r": ["p4", "p5"], "s": ["p6"]})
    assert moved_practices(a, same, {"q": "p2", "r": "p5", "s": "p6"}).empty and broken_pairs(a, same).empty


def test_merge_moves_the_hub_without_the_base_and_breaks_no_pair() -> None:
    a = _plan({"X": ["p1", "p2", "p3"], "Y": ["p4", "p5"], "W": ["p6", "p7"]})
    b = _plan({"M": ["p1", "p2", "p3", "p4", "p5"], "W2": ["p6", "p7"]})
    assert pair_hubs(a, b) == {"X": "M", "W": "W2"}
    # The merged hub is served from p2 (an X practice): Y's practices have moved into it.
    moved = moved_practices(a, b, {"M": "p2", "W2": "p6"})
    assert list(moved["practice_code"]) == ["p4", "p5"]
    assert set(moved["change"]) == {"merged"}
    assert broken_pairs(a, b).empty


def test_split_moves_the_new_hub() -> None:
    a = _plan({"X": ["p1", "p2", "p3", "p4"]})
    b = _plan({"1": ["p1", "p2", "p3"], "2": ["p4"]})
    assert pair_hubs(a, b) == {"X": "1"}
    # Hub 2 (p4 alone) is served from p4, still an X practice: nobody has moved.
    assert moved_practices(a, b, {"1": "p1", "2": "p4"}).empty
    assert len(broken_pairs(a, b)) == 3  # p4 with each of p1, p2, p3


def test_plans_must_cover_the_same_practices() -> None:
    with pytest.raises(ValueError, match="cover different practices"):
        pair_hubs(_plan({"X": ["p1", "p2"]}), _plan({"X": ["p1", "p3"]}))
