"""The hard rules: each breach in a planner's words, and the one definition of a hub's base.

Each rule is checked on a small hand-made instance where the breach is
known; the plan-level base choice under ``max_moved`` is checked against an
exhaustive search over every combination of bases on small random instances.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pcn_planner.model import rules
from pcn_planner.model.instance import Instance, moved_from
from pcn_planner.model.problem import Problem
from pcn_planner.model.rules import check_plan, hub_breach


def instance(pop, edges, *, k=2, lower=30.0, upper=70.0, baseline=None, cost=None, max_moved=None,
             anchors=(), require_anchor=False, keep_together=(), keep_apart=(), locked=(), area=None,
             links=()) -> Instance:
    n = len(pop)
    pop = np.asarray(pop, dtype=float)
    base = np.asarray(baseline if baseline is not None else range(n))
    cost = np.asarray(cost, dtype=float) if cost is not None else np.abs(np.subtract.outer(range(n), range(n)))
    allowed = np.ones((n, n), bool) if area is None else np.equal.outer(area, area)
    an = np.zeros(n, bool)
    an[list(anchors)] = True
    k_min, k_max = (k, k) if isinstance(k, int) else k
    return Instance(
        problem=Problem(k=k, nest="sub_icb" if area is not None else None), codes=tuple(f"P{i}" for i in range(n)),
        population=pop, cost=cost.astype(float), risk_coef=np.zeros(n), risk_weight=0.0, allowed=allowed,
        anchors=an, edges=np.array(sorted({tuple(sorted(e)) for e in [*edges, *[(u, v) for u, v, _ in links]]}),
                                   dtype=int).reshape(-1, 2),
        k_min=k_min, k_max=k_max, lower=lower, upper=upper, keep_together=tuple(keep_together),
        keep_apart=tuple(keep_apart), locked=tuple(np.array(g) for g in locked), max_moved=max_moved,
        moved=base[:, None] != base[None, :], require_anchor=require_anchor, terms={}, norms={}, weights={},
        risk_raw=np.zeros(n), area=None if area is None else np.asarray(area), nesting_links=tuple(links),
        baseline_hub=base,
    )


PATH4 = [(0, 1), (1, 2), (2, 3)]


def texts(inst, hubs):
    return [v.text for v in check_plan(inst, [np.array(h) for h in hubs])]


def test_a_plan_keeping_every_rule_has_no_breach() -> None:
    inst = instance([20, 20, 30, 30], PATH4)
    assert texts(inst, [[0, 1], [2, 3]]) == []


def test_band_breaches_say_the_hub_the_patients_and_the_limit() -> None:
    inst = instance([20, 20, 30, 20], PATH4)
    assert texts(inst, [[0, 1, 2], [3]]) == ["hub 2: 20 patients < min 30"]
    inst = instance([40, 40, 30, 30], PATH4, upper=70)
    assert texts(inst, [[0, 1], [2, 3]]) == ["hub 1: 80 patients > max 70"]


def test_contiguity_names_the_cut_off_practices_and_counts_added_links() -> None:
    inst = instance([20, 20, 30, 30], PATH4)
    assert texts(inst, [[0, 2], [1, 3]]) == [
        "hub 1: not one connected piece (2 pieces; cut off: P2)",
        "hub 2: not one connected piece (2 pieces; cut off: P3)"]
    linked = instance([20, 20, 30, 30], PATH4, links=[(0, 2, "joins a cut-off part"), (1, 3, "another")])
    assert texts(linked, [[0, 2], [1, 3]]) == []


def test_hub_count_nesting_anchor_and_pair_rules() -> None:
    inst = instance([20, 20, 30, 30], PATH4, k=3)
    assert texts(inst, [[0, 1], [2, 3]]) == ["2 hubs, but K=3 was asked for"]
    nest = instance([20, 20, 30, 30], PATH4, area=["A", "A", "B", "B"])
    assert texts(nest, [[0, 1, 2], [3]])[-1] == "hub 1: spans more than one sub-ICB location (A, B)"
    anchor = instance([20, 20, 30, 30], PATH4, anchors=[0], require_anchor=True)
    assert texts(anchor, [[0, 1], [2, 3]]) == ["hub 2: has no anchor (resilient) practice"]
    together = instance([20, 20, 30, 30], PATH4, keep_together=[(1, 2)])
    assert texts(together, [[0, 1], [2, 3]]) == ["P1 and P2 must share a hub but are in hub 1 and hub 2"]
    apart = instance([20, 20, 30, 30], PATH4, keep_apart=[(0, 1)])
    assert texts(apart, [[0, 1], [2, 3]]) == ["hub 1: holds both P0 and P1, which must be apart"]
    locked = instance([20, 20, 30, 30], PATH4, locked=[[1, 2]])
    assert texts(locked, [[0, 1], [2, 3]]) == ["locked hub 1 (P1, P2) is not kept as one hub as given"]


def test_every_breach_names_its_rule() -> None:
    inst = instance([40, 40, 30, 30], PATH4, k=3, keep_apart=[(0, 1)])
    found = check_plan(inst, [np.array([0, 1]), np.array([2, 3])])
    assert {v.rule for v in found} == {"hub_count", "band", "keep_apart"}
    assert all(r in rules.BY_NAME for r in (v.rule for v in found))
    assert [v.hub for v in found if v.rule == "band"] == [0]


def test_hub_breach_vets_one_candidate_hub() -> None:
    inst = instance([20, 20, 30, 30], PATH4)
    assert hub_breach(inst, np.array([0, 1])) is None
    assert hub_breach(inst, np.array([0, 2])).rule == "contiguity"
    assert hub_breach(inst, np.array([0, 1, 2, 3])).rule == "band"


def test_max_moved_counts_practices_outside_their_bases_pcn() -> None:
    # baseline PCNs: {0, 1} and {2, 3}; a hub {1, 2} served from 1 moves practice 2
    inst = instance([15, 30, 30, 25], PATH4, k=3, lower=10, baseline=[0, 0, 1, 1], max_moved=0)
    hubs = [np.array([0]), np.array([1, 2]), np.array([3])]
    bases = inst.bases(hubs)
    assert inst.moved_positions(hubs, bases) == moved_from(inst.baseline_hub, hubs, bases)
    assert len(inst.moved_positions(hubs)) == 1
    assert texts(inst, hubs) == ["1 practices moved out of their baseline PCN > max 0 (the moved-practices rule)"]


@settings(max_examples=60, deadline=None)
@given(st.integers(4, 7).flatmap(lambda n: st.tuples(
    st.lists(st.integers(0, 2), min_size=n, max_size=n),          # baseline PCN per practice
    st.lists(st.integers(1, 9), min_size=n * n, max_size=n * n),  # cost matrix
    st.lists(st.integers(0, 2), min_size=n, max_size=n),          # hub of each practice
    st.integers(0, n))))
def test_the_plans_bases_are_the_cheapest_within_the_moved_limit(case) -> None:
    baseline, flat_cost, hub_of, limit = case
    n = len(baseline)
    labels = sorted(set(hub_of))
    hubs = [np.array([p for p in range(n) if hub_of[p] == h]) for h in labels]
    cost = np.array(flat_cost, dtype=float).reshape(n, n)
    inst = instance([10] * n, [(i, i + 1) for i in range(n - 1)], k=len(hubs), baseline=baseline, cost=cost,
                    max_moved=limit, lower=1, upper=1000)
    best = None
    for combo in itertools.product(*[list(h) for h in hubs]):  # every choice of bases, exhaustively
        moved = sum(int(inst.moved[h, b].sum()) for h, b in zip(hubs, combo))
        if moved > limit:
            continue
        total = sum(float(cost[h, b].sum()) for h, b in zip(hubs, combo))
        if best is None or total < best - 1e-9:
            best = total
    bases = inst.bases(hubs)
    own = [inst.hub_cost(h)[1] for h in hubs]
    if best is None:  # no choice keeps the limit: the bases stay each hub's own, and the rule reports it
        assert bases == own and check_plan(inst, hubs, rules=[rules.MAX_MOVED])
        return
    assert inst.moved_count(hubs, bases) <= limit
    assert inst.plan_cost(hubs) == pytest.approx(best)
    if inst.moved_count(hubs, own) <= limit:
        assert bases == own  # the limit does not bind: each hub keeps its own base
