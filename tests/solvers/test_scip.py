"""The SCIP back end of the compact model (optional: skipped without PySCIPOpt).

SCIP's plan must be contiguous and in band, equal the HiGHS loop's proven
optimum (or the brute-force one), and its bound must never pass the optimum,
including when SCIP starts from the bare model and has to separate every
contiguity cut itself.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

pytest.importorskip("pyscipopt")

from pcn_planner.core.errors import InputError  # noqa: E402
from pcn_planner.model import problem as problem_module  # noqa: E402
from solvers.compact import candidate_pairs, solve_compact  # noqa: E402
from solvers.compact.model import CompactModel  # noqa: E402
from solvers.compact.scip import solve_scip  # noqa: E402
from tests.solvers.test_compact import (  # noqa: E402
    GRID_2x4,
    PATH_7,
    RING_8,
    TIGHT,
    broken_rule,
    brute_force,
    check_result,
)
from tests.solvers.test_compact import make_instance as compact_instance  # noqa: E402
from tests.solvers.test_heuristic import grid_instance  # noqa: E402


def grids():
    """Small grids with uneven lists and a band around the mean hub size."""
    rng = np.random.default_rng(11)
    for rows, cols, k in [(3, 4, 3), (4, 4, 4), (3, 5, 4), (4, 5, 4), (4, 5, 5)]:
        pop = rng.integers(5, 20, rows * cols).astype(float)
        mean = pop.sum() / k
        inst, _ = grid_instance(rows, cols, pop=list(pop), k=k, lower=float(np.floor(0.7 * mean)),
                                upper=float(np.ceil(1.3 * mean)))
        yield inst


@pytest.mark.parametrize("index", range(5))
def test_scip_matches_the_highs_optimum_on_grids(index):
    inst = list(grids())[index]
    highs = solve_compact(inst, gap=TIGHT, time_limit=30, solver="highs")
    assert highs.stopped_by in ("proof", "gap"), highs.status  # a proven optimum to compare with
    scip = solve_compact(inst, gap=TIGHT, time_limit=30, solver="scip")
    assert scip.solver == "scip" and scip.solver_version.startswith("SCIP")
    assert scip.hubs is not None and broken_rule(inst, scip.hubs) == ""  # contiguous, in band, every rule
    assert scip.objective == pytest.approx(highs.objective, rel=1e-7)
    assert scip.bound is not None and scip.bound <= highs.objective + 1e-7


def _bare(inst):
    """The compact model with no root cuts, so SCIP alone must enforce contiguity."""
    mask, reason = candidate_pairs(inst)
    assert not reason
    return CompactModel(inst, mask)


def _plan(model: CompactModel) -> list[np.ndarray]:
    return [np.array(m, dtype=int) for m in model.assignment().values()]


def test_contiguity_is_enforced_in_the_search():
    # the cheapest split puts the two ends of the path together; only the handler forbids it
    pop = [10, 5, 5, 5, 5, 5, 10]
    cost = compact_instance(PATH_7, pop, k=2, lower=15, upper=30, seed=4).cost.copy()
    cost[:, 0] = cost[:, 6] = 0.0
    cost[[1, 2, 3, 4, 5], 0] = cost[[1, 2, 3, 4, 5], 6] = 1.0
    cost[6, 0] = cost[0, 6] = 0.0
    inst = compact_instance(PATH_7, pop, k=2, lower=15, upper=30, seed=4, cost=cost)
    optimum = brute_force(inst)
    model = _bare(inst)
    out = solve_scip(model, time_limit=30, gap=0.0, threads=None, start=False)
    assert out.status == "optimal"
    assert out.objective == pytest.approx(optimum, rel=1e-7)
    assert out.bound is not None and out.bound <= optimum + 1e-7
    assert broken_rule(inst, _plan(model)) == ""
    assert model.cuts  # the cuts found in the search are handed back to the model


@pytest.mark.parametrize("edges,pop,k,lower,upper,seed", [
    (GRID_2x4, [10, 12, 9, 11, 8, 13, 10, 7], 3, 20, 40, 0),
    (PATH_7, [5, 9, 4, 8, 6, 7, 5], 3, 10, 20, 2),
    (RING_8, [6, 6, 7, 5, 8, 6, 7, 5], 3, 12, 22, 3),
])
def test_bare_model_reaches_the_brute_force_optimum(edges, pop, k, lower, upper, seed):
    inst = compact_instance(edges, pop, k=k, lower=lower, upper=upper, seed=seed)
    optimum = brute_force(inst)
    model = _bare(inst)
    out = solve_scip(model, time_limit=30, gap=0.0, threads=None, start=False)
    assert out.objective == pytest.approx(optimum, rel=1e-7)
    assert out.bound is not None and out.bound <= optimum + 1e-7
    assert broken_rule(inst, _plan(model)) == ""


def test_through_the_driver_with_an_incumbent():
    inst = compact_instance(RING_8, [6, 6, 7, 5, 8, 6, 7, 5], k=3, lower=12, upper=22, seed=7)
    optimum = brute_force(inst)
    start = solve_compact(inst, gap=0.5, time_limit=20)
    res = solve_compact(inst, incumbent=start.hubs, gap=TIGHT, time_limit=20, solver="scip")
    check_result(inst, res, optimum)
    assert res.objective == pytest.approx(optimum, rel=1e-7)


def test_same_result_twice():
    inst = list(grids())[3]
    first, second = (solve_compact(inst, gap=TIGHT, time_limit=30, solver="scip") for _ in range(2))
    assert first.objective == second.objective and first.bound == second.bound
    assert [h.tolist() for h in first.hubs] == [h.tolist() for h in second.hubs]


def test_problem_accepts_scip():
    assert "scip" in problem_module.SOLVERS
    assert problem_module.Problem(solver="scip").solver == "scip"


def test_missing_pyscipopt_is_one_planner_line(monkeypatch):
    monkeypatch.setattr(problem_module, "SOLVERS", problem_module.COLUMN_SOLVERS)
    with pytest.raises(InputError, match="needs PySCIPOpt: pip install"):
        problem_module.Problem(solver="scip")
    monkeypatch.setitem(sys.modules, "pyscipopt", None)  # import fails as if not installed
    inst = compact_instance(GRID_2x4, [10, 12, 9, 11, 8, 13, 10, 7], k=3, lower=20, upper=40, seed=0)
    with pytest.raises(RuntimeError, match="needs PySCIPOpt") as err:
        solve_compact(inst, solver="scip", time_limit=5)
    assert "\n" not in str(err.value)
