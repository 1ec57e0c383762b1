"""Alternatives: the next best distinct plans, by no-good cuts on the column pool.

After the best plan is found, planners want options rather than one answer.
Each alternative is the cheapest exact cover of the practices by candidate
hubs of the pool that re-uses at most ``K - min_changed`` hubs of every plan
found so far (a no-good cut), so consecutive options differ by at least
``min_changed`` hubs, not by one practice. Alternatives are the best over the
pool, not certified over all plans; their gap is measured against the true
bound of the best plan.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import numpy as np
import pulp

from pcn_planner.model.instance import Instance

from .columns import ColumnPool
from .master import make_solver

logger = logging.getLogger(__name__)


def next_best_plans(
    inst: Instance,
    pool: ColumnPool | None,
    best: list[np.ndarray],
    count: int,
    *,
    min_changed: int = 2,
    solver: str = "highs",
    time_limit: float = 10.0,
    log: Callable[[str], None] | None = None,
) -> list[list[np.ndarray]]:
    """Up to ``count`` further plans, each differing from all earlier ones by ``min_changed`` hubs.

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
    min_changed
        Hubs of each earlier plan that an alternative must not re-use.
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
    found_ids: list[list[int]] = [[i for i in best_ids if i is not None]]
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

    plans: list[list[np.ndarray]] = []
    for n in range(count):
        plan_ids = found_ids[-1]
        prob += pulp.lpSum(z[i] for i in plan_ids) <= len(plan_ids) - min_changed, f"nogood{n}"
        left = time_limit - (time.perf_counter() - start)
        if left <= 0.5:
            say(f"alternatives: time limit reached after {len(plans)}")
            break
        prob.solve(make_solver(solver, left, mip=True))
        if prob.sol_status not in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible):
            say(f"alternatives: no further distinct plan in the pool after {len(plans)}")
            break
        chosen = sorted(i for i in idx if z[i].varValue is not None and z[i].varValue > 0.5)
        plans.append([pool.members(i) for i in chosen])
        found_ids.append(chosen)
        say(f"alternatives: option {n + 1} objective {sum(cost[i] for i in chosen):.4f}")
    return plans
