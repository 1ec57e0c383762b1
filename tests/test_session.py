"""A solver session: related solves start from an earlier state, stay certified, and never depend on order."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import pcn_planner as pp
from pcn_planner.data.synthetic import synthetic_atlas
from solvers.compact import solve_compact
from tests.solvers.test_heuristic import grid_instance


@pytest.fixture(scope="module")
def small() -> pp.Region:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pp.build_region(synthetic_atlas(40, rng=3))


@pytest.fixture(scope="module")
def session(small: pp.Region) -> tuple[pp.Solver, pp.Result]:
    solver = pp.Solver(small)
    return solver, solver.solve(pp.Problem(k=7, time_limit=60, seed=3))


def test_resolve_changes_the_problem_and_starts_from_the_state(session) -> None:
    solver, first = session
    assert first.state is not None and first.state.cuts is not None
    again = solver.resolve(start_from=first, weights={"town": 1.0})
    assert again.problem.weights.town == 1.0 and again.problem.k == 7
    assert again.details["warm_starts"] == 1  # the earlier plan was offered
    assert again.scorecard.feasible and again.gap is not None and again.gap <= again.problem.gap
    # certified as any solve: a fresh solve of the same problem is no better than the bound says
    fresh = pp.optimise(again.problem, solver.region)
    assert fresh.objective >= again.bound - 1e-9 and again.objective >= fresh.bound - 1e-9


def test_solves_from_one_state_do_not_depend_on_order(session) -> None:
    solver, first = session
    a = {"weights": {"town": 1.0}}
    b = {"bounds": {"max": 65000}}
    ab = [solver.resolve(start_from=first, **a), solver.resolve(start_from=first, **b)]
    ba = [solver.resolve(start_from=first, **b), solver.resolve(start_from=first, **a)]
    assert ab[0].plan == ba[1].plan and ab[1].plan == ba[0].plan
    assert ab[0].objective == ba[1].objective and ab[1].objective == ba[0].objective


def test_resolve_needs_a_first_solve(small) -> None:
    with pytest.raises(ValueError, match="solve"):
        pp.Solver(small).resolve(k=8)


@pytest.mark.parametrize("first, then", [((0.8, 1.2), (0.7, 1.3)), ((0.7, 1.3), (0.8, 1.2)),
                                         ((0.7, 1.3), (0.75, 1.25))])
def test_cuts_from_other_bounds_keep_the_optimum(first, then) -> None:
    """Cuts found under one band start a solve under another: re-verified (or, for capacity cuts,
    passed on only when the band is tighter), they never cut off its optimum."""
    pop = np.random.default_rng(13).integers(5, 30, 25).astype(float).tolist()  # uneven: contiguity needs cuts
    mean = sum(pop) / 5
    narrow, _ = grid_instance(5, 5, pop=pop, k=5, lower=first[0] * mean, upper=first[1] * mean)
    wide, _ = grid_instance(5, 5, pop=pop, k=5, lower=then[0] * mean, upper=then[1] * mean)
    earlier = solve_compact(narrow, gap=0.0, time_limit=30)
    assert earlier.cut_pool is not None and earlier.cut_pool.cuts
    cold = solve_compact(wide, gap=0.0, time_limit=30)
    warm = solve_compact(wide, gap=0.0, time_limit=30, cut_pool=earlier.cut_pool)
    assert cold.stopped_by in ("proof", "gap") and warm.stopped_by in ("proof", "gap")  # gap 0: both proofs
    assert warm.objective == pytest.approx(cold.objective, abs=1e-9)
    assert warm.bound <= cold.objective + 1e-9


def test_a_cut_that_no_longer_separates_is_dropped() -> None:
    """A wider band lets more practices join a base; a separator that they bypass does not hold."""
    narrow, _ = grid_instance(3, 3, k=3, lower=20, upper=30)
    wide, _ = grid_instance(3, 3, k=1, lower=10, upper=90)
    from solvers.compact.model import CompactModel, candidate_pairs

    mask_n, _ = candidate_pairs(narrow)
    mask_w, _ = candidate_pairs(wide)
    before, after = CompactModel(narrow, mask_n), CompactModel(wide, mask_w)
    # practice 0 to base 2 in a 3x3 grid: {1} separates them on the top row only
    cut = (0, 2, (1,))
    assert not after.contiguity.holds(cut)  # 0-3-4-5-2 goes round it
    assert after.contiguity.holds((0, 2, (1, 3)))
    assert isinstance(before.contiguity.holds(cut), bool)
    assert np.asarray(mask_w).all()
