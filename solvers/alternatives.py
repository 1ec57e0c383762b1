"""Alternatives: the next best plans that really differ, over the column pool.

After the best plan is found, planners want options rather than one answer.
Each alternative is the cheapest exact cover of the practices by candidate
hubs of the pool in which at least ``differ_by`` practices have moved from
every plan found so far, *and* every earlier plan has at least ``differ_by``
practices moved from it. "Moved" is the one definition of the model
(:func:`pcn_planner.model.instance.moved_from`: a practice's hub in the
reference plan is not the reference hub of its new hub's base), so the count
a planner sees in ``compare`` is the count enforced here. Both directions are
linear in the column choices ``z``, for an earlier plan ``P`` with hubs ``H``
and bases ``b(H)``, and columns ``C`` with bases ``b(C)``:

* moved from ``P``: ``sum_C |{p in C : P(p) != P(b(C))}| z_C >= differ_by``;
* ``P`` seen from the new plan: ``n - sum_C sum_{H : b(H) in C} |H cap C| z_C >= differ_by``.

Alternatives are the best over the pool, not certified over all plans; their
gap is measured against the true bound of the best plan.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import numpy as np
import pulp

from pcn_planner.model.instance import Instance

from .columns import ColumnPool
from .master import run_solver

logger = logging.getLogger(__name__)


def next_best_plans(
    inst: Instance,
    pool: ColumnPool | None,
    best: list[np.ndarray],
    count: int,
    *,
    differ_by: int = 10,
    solver: str = "highs",
    time_limit: float = 10.0,
    log: Callable[[str], None] | None = None,
) -> list[list[np.ndarray]]:
    """Up to ``count`` further plans, each at least ``differ_by`` moved practices from every earlier one.

    Parameters
    ----------
    inst
        The compiled problem.
    pool
        Candidate hubs (the heuristic's pool); the best plan's hubs are added to it.
    best
        The best plan (member position arrays).
    count
        How many alternatives to look for.
    differ_by
        Practices that must have moved, in both directions, between an
        alternative and every plan found before it (the best included).
    solver, time_limit
        Backend and wall-clock seconds for all alternatives together.
    log
        Progress lines.

    Returns
    -------
    list of plans, best first; shorter than ``count`` when the pool holds no more.
    """
    def say(text: str) -> None:
        logger.info(text)
        if log is not None:
            log(text)

    if count <= 0 or pool is None:
        return []
    start = time.perf_counter()
    pool.bind(inst)
    best_ids = [pool.add(h, source="best") for h in best]
    if any(i is None for i in best_ids):
        say("alternatives: the best plan's hubs are not valid pool columns; none searched")
        return []
    idx = [int(i) for i in pool.valid_indices()]
    cost = pool.cost
    covers: dict[int, list[int]] = {p: [] for p in range(inst.n)}
    for i in idx:
        for p in pool.members(i):
            covers[int(p)].append(i)

    prob = pulp.LpProblem("alternatives", pulp.LpMinimize)
    z = {i: pulp.LpVariable(f"z{i}", cat="Binary") for i in idx}
    prob += pulp.lpSum(float(cost[i]) * z[i] for i in idx)
    for p in range(inst.n):
        prob += pulp.lpSum(z[i] for i in covers[p]) == 1, f"cover{p}"
    prob += pulp.lpSum(z.values()) >= inst.k_min, "kmin"
    prob += pulp.lpSum(z.values()) <= inst.k_max, "kmax"
    if inst.max_moved is not None:
        prob += pulp.lpSum(int(pool.moved_of(i)) * z[i] for i in idx) <= inst.max_moved, "moved"

    bases = pool.base
    plans: list[list[np.ndarray]] = []
    earlier: list[list[np.ndarray]] = [list(best)]
    for n in range(count):
        forward, backward = _differ_rows(inst, pool, idx, bases, earlier[-1])
        prob += pulp.lpSum(forward[i] * z[i] for i in idx if forward[i]) >= differ_by, f"moved_from{n}"
        prob += pulp.lpSum(backward[i] * z[i] for i in idx if backward[i]) <= inst.n - differ_by, f"moved_to{n}"
        left = time_limit - (time.perf_counter() - start)
        if left <= 0.5:
            say(f"alternatives: time limit reached after {len(plans)}")
            break
        solved = run_solver(prob, solver, left, mip=True)
        if not solved or prob.sol_status not in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible):
            say(f"alternatives: no further distinct plan in the pool after {len(plans)}")
            break
        chosen = sorted(i for i in idx if z[i].varValue is not None and z[i].varValue > 0.5)
        plans.append([pool.members(i) for i in chosen])
        earlier.append(plans[-1])
        say(f"alternatives: option {n + 1} objective {sum(cost[i] for i in chosen):.4f}")
    return plans


def _differ_rows(inst: Instance, pool: ColumnPool, idx: list[int], bases: np.ndarray,
                 plan: list[np.ndarray]) -> tuple[dict[int, float], dict[int, float]]:
    """Per column: practices it moves from ``plan``, and practices of ``plan`` it keeps with their base.

    See the module docstring for the two constraints they make.
    """
    label = np.empty(inst.n, dtype=int)
    for h, members in enumerate(plan):
        label[np.asarray(members, dtype=int)] = h
    plan_bases = inst.bases([np.asarray(m, dtype=int) for m in plan])
    hub_of_base = {int(b): h for h, b in enumerate(plan_bases)}
    forward: dict[int, float] = {}
    backward: dict[int, float] = {}
    for i in idx:
        members = pool.members(i)
        forward[i] = float((label[members] != label[int(bases[i])]).sum())
        inside = set(members.tolist())
        backward[i] = float(sum(int((label[members] == h).sum()) for b, h in hub_of_base.items() if b in inside))
    return forward, backward
