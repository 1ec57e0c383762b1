"""Rounded capacity cuts: violated where found, and never violated by a contiguous plan.

The separator is fed arbitrary fractional points, so it returns cuts of many shapes. Each is
checked against every partition of a small random graph into connected hubs under the
maximum, with each hub at the base that gives the cut the least (a hub's share of the
left-hand side depends only on the hub and its base), so every way the model can write the
plan is covered.
"""

from __future__ import annotations

import math
from itertools import combinations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solvers.compact.cuts import CapacitySeparator

from tests.solvers.test_compact import connected, small_instances


@st.composite
def graphs_and_points(draw):
    inst = draw(small_instances())
    n, pop = inst.n, inst.population
    upper = draw(st.floats(0.2, 0.6)) * pop.sum()
    keys = [(p, b) for b in range(n) for p in range(n) if p == b or draw(st.booleans())]
    # an LP-like point: open bases part-way, members at most their base's opening
    y = {b: draw(st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0])) for b in range(n)}
    value = {(p, b): (y[b] if p == b else y[b] * draw(st.sampled_from([0.0, 0.5, 1.0]))) for p, b in keys}
    return inst, upper, keys, {k: v for k, v in value.items() if v > 0}


def _plans(inst, upper):
    """Partitions of the practices into connected hubs of at most ``upper`` patients."""
    n, pop = inst.n, inst.population

    def rec(left: frozenset, hubs: list):
        if not left:
            yield list(hubs)
            return
        first = min(left)
        rest = sorted(left - {first})
        for size in range(0, len(rest) + 1):
            for extra in combinations(rest, size):
                hub = {first, *extra}
                if pop[list(hub)].sum() <= upper and connected(sorted(hub), inst):
                    yield from rec(left - hub, hubs + [hub])

    yield from rec(frozenset(range(n)), [])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs_and_points())
def test_cuts_are_violated_where_found_and_hold_for_every_contiguous_plan(case):
    inst, upper, keys, value = case
    have = set(keys)
    cuts = CapacitySeparator(inst.neighbours(), inst.population, upper, keys).separate(value, limit=50)
    for terms, need in cuts:
        assert need >= 2
        assert set(terms) <= have
        assert sum(value.get(t, 0.0) for t in terms) < need
    for plan in _plans(inst, upper):
        for terms, need in cuts:
            in_cut = set(terms)
            lhs = 0
            for hub in plan:
                bases = [b for b in hub if all((p, b) in have for p in hub)]
                if not bases:
                    break  # this plan cannot be written with the variables that exist
                lhs += min(sum((p, b) in in_cut for p in hub) for b in bases)
            else:
                assert lhs >= need, (plan, terms, need)


def test_a_fractional_hub_filled_to_the_maximum_is_cut_off():
    # a path 0-1-2-3 of 4 x 10 patients, hubs of at most 25: the two ends need separate hubs.
    # The LP point opens bases 1 and 2 at 0.8 each, every member at the base's level:
    # 1.6 hubs' worth of coverage for 40 patients, where 40 / 25 rounds up to 2.
    adj = [[1], [0, 2], [1, 3], [2]]
    pop = np.full(4, 10.0)
    keys = [(p, b) for b in range(4) for p in range(4)]
    value = {(p, b): 0.8 for b in (1, 2) for p in range(4) if abs(p - b) <= 1}
    value.update({(3, 1): 0.4, (0, 2): 0.4})
    cuts = CapacitySeparator(adj, pop, 25.0, keys).separate(value)
    assert cuts
    terms, need = cuts[0]
    assert need == math.ceil(40 / 25)
    assert sum(value.get(t, 0.0) for t in terms) < need
