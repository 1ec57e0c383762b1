"""Set-partitioning master over a column pool, in PuLP (HiGHS by default, CBC selectable).

Binary ``z_c`` per valid column; every practice covered exactly once;
``k_min <= sum z <= k_max``; with a disruption limit,
``sum_c moved_c z_c <= max_moved`` where ``moved_c`` counts the column's
practices that leave the PCN of the column's base. Keep-together, keep-apart,
locked hubs, anchors and nesting are already inside the columns. Minimise
``sum_c cost_c z_c``.

:func:`solve_master_lp` solves the LP relaxation (``z >= 0``, no upper
bound, so that the covering duals alone price a column) and returns the duals
for pricing. Its value is the optimum over the *generated* columns only: it is
**not** a lower bound on the problem and must never be reported as one.
"""

from __future__ import annotations

import logging
import time
import warnings
from dataclasses import dataclass

import numpy as np
import pulp

from pcn_planner.model.instance import Instance
from pcn_planner.model.problem import COLUMN_SOLVERS

from .columns import ColumnPool
from .highs import quiet_banner

__all__ = ["LPResult", "MasterResult", "make_solver", "reduced_cost_filter", "reduced_costs", "run_solver",
           "solve_master", "solve_master_lp"]

_log = logging.getLogger(__name__)



@dataclass(frozen=True)
class MasterResult:
    """Outcome of one integer master solve.

    Attributes
    ----------
    status
        ``"optimal"`` (over these columns), ``"feasible"`` (stopped by the time limit),
        ``"infeasible"`` or ``"no solution"``.
    columns
        Pool indices of the chosen columns, or ``None``.
    objective
        Cost of the chosen columns.
    message
        The status in words.
    """

    status: str
    columns: list[int] | None
    objective: float | None
    seconds: float
    solver: str
    n_columns: int
    message: str


@dataclass(frozen=True)
class LPResult:
    """Restricted master LP: value and duals for pricing (the value is not a bound).

    Attributes
    ----------
    duals
        Covering dual per practice.
    mu
        Sum of the duals of the hub-count rows.
    lam
        Dual of the moved-practices row (<= 0; 0 without the rule).
    """

    status: str
    objective: float | None
    duals: np.ndarray | None
    mu: float
    lam: float
    seconds: float
    solver: str
    message: str


class _WarmHiGHS(pulp.HiGHS):
    """PuLP's highspy solver, handing HiGHS the variables' initial values as a MIP start.

    PuLP's ``HiGHS`` class has no warm start; without one, HiGHS can spend
    its whole time limit looking for any exact cover of a sparse pool.
    """

    def callSolver(self, lp: pulp.LpProblem) -> None:
        variables = lp.variables()
        start = [(v.index, float(v.varValue)) for v in variables if v.varValue is not None]
        if start and len(start) == len(variables):
            idx = np.array([i for i, _ in start], dtype=np.int32)
            val = np.array([x for _, x in start], dtype=np.float64)
            lp.solverModel.setSolution(len(idx), idx, val)
        lp.solverModel.run()


def make_solver(solver: str, time_limit: float, mip: bool = True, gap: float | None = None,
                warm: bool = False) -> pulp.LpSolver:
    """A quiet PuLP solver: ``"highs"`` (highspy API) or ``"cbc"``; ``warm`` passes initial values as a start."""
    kwargs: dict = {"msg": False, "mip": mip, "timeLimit": max(0.05, float(time_limit))}
    if gap is not None:
        kwargs["gapRel"] = gap
    if solver == "highs":
        quiet_banner()
        return _WarmHiGHS(**kwargs) if warm else pulp.HiGHS(**kwargs)
    if solver == "cbc":
        with warnings.catch_warnings():  # PuLP 3 flags its bundled CBC as deprecated; it is still the one shipped
            warnings.simplefilter("ignore", DeprecationWarning)
            return pulp.PULP_CBC_CMD(warmStart=warm, **kwargs)
    raise ValueError(f"solver must be one of {', '.join(COLUMN_SOLVERS)}, got {solver!r}")


def run_solver(prob: pulp.LpProblem, solver: str, time_limit: float, mip: bool = True, gap: float | None = None,
               warm: bool = False) -> bool:
    """Solve ``prob`` with :func:`make_solver`; False when the solver ran but left no answer to read.

    CBC runs as a separate program; on a loaded machine it can end (or be ended) before it
    writes a solution file, and PuLP then raises. That is "no solution in this phase", the same
    as running out of time, and the caller's own fallback applies.
    """
    try:
        prob.solve(make_solver(solver, time_limit, mip=mip, gap=gap, warm=warm))
    except pulp.PulpSolverError as exc:
        _log.warning("%s left no solution to read (%s); treated as no solution", solver, str(exc).splitlines()[0])
        return False
    return True


def _build(inst: Instance, pool: ColumnPool, relax: bool,
           columns: np.ndarray | None = None) -> tuple[pulp.LpProblem, list[pulp.LpVariable], np.ndarray, str | None]:
    """The master over the pool's valid columns (or a subset); the last item names an uncovered practice."""
    idx = pool.valid_indices() if columns is None else np.asarray(columns, dtype=int)
    cost = pool.cost
    moved = pool.moved
    prob = pulp.LpProblem("master", pulp.LpMinimize)
    cat = pulp.LpContinuous if relax else pulp.LpBinary
    # PuLP 3 wants variables made through the problem; older PuLP only has the constructor
    make = getattr(prob, "add_variable", None) or (lambda name, lo, up, cat: pulp.LpVariable(name, lo, up, cat))
    z = [make(f"z_{i}", 0, None if relax else 1, cat=cat) for i in idx]
    prob.setObjective(pulp.LpAffineExpression([(z[j], float(cost[i])) for j, i in enumerate(idx)]))
    rows: list[list[int]] = [[] for _ in range(inst.n)]
    for j, i in enumerate(idx):
        for p in pool.members(int(i)):
            rows[p].append(j)
    uncovered = next((inst.codes[p] for p in range(inst.n) if not rows[p]), None)
    for p in range(inst.n):
        expr = pulp.LpAffineExpression([(z[j], 1.0) for j in rows[p]])
        prob.addConstraint(pulp.LpConstraint(expr, pulp.LpConstraintEQ, f"cover_{p}", 1.0))
    count = pulp.LpAffineExpression([(v, 1.0) for v in z])
    if inst.k_min == inst.k_max:
        prob.addConstraint(pulp.LpConstraint(count, pulp.LpConstraintEQ, "k_eq", float(inst.k_min)))
    else:
        prob.addConstraint(pulp.LpConstraint(count, pulp.LpConstraintGE, "k_min", float(inst.k_min)))
        prob.addConstraint(pulp.LpConstraint(count.copy(), pulp.LpConstraintLE, "k_max", float(inst.k_max)))
    if inst.max_moved is not None:
        expr = pulp.LpAffineExpression([(z[j], float(moved[i])) for j, i in enumerate(idx) if moved[i]])
        prob.addConstraint(pulp.LpConstraint(expr, pulp.LpConstraintLE, "max_moved", float(inst.max_moved)))
    return prob, z, idx, uncovered


def solve_master(inst: Instance, pool: ColumnPool, *, solver: str = "highs", time_limit: float = 10.0,
                 gap: float | None = None, start: list[int] | None = None,
                 columns: np.ndarray | None = None) -> MasterResult:
    """Pick the cheapest exact cover of the practices by pool columns.

    Parameters
    ----------
    solver
        ``"highs"`` or ``"cbc"``.
    time_limit
        Seconds for the MIP solver.
    gap
        Relative MIP gap at which the solver may stop (default: the solver's).
    start
        Pool indices of a known feasible plan, passed to the solver as a MIP start.
    columns
        Only these pool columns (e.g. from :func:`reduced_cost_filter`); default all valid ones.
    """
    t0 = time.perf_counter()
    pool.bind(inst)
    prob, z, idx, uncovered = _build(inst, pool, relax=False, columns=columns)
    n_cols = len(idx)
    if uncovered is not None:
        return MasterResult("infeasible", None, None, time.perf_counter() - t0, solver, n_cols,
                            f"practice {uncovered} is in no candidate hub")
    warm = False
    if start:
        wanted = {int(i) for i in start}
        if wanted <= {int(i) for i in idx}:
            for v, i in zip(z, idx, strict=True):
                v.setInitialValue(1.0 if int(i) in wanted else 0.0)
            warm = True
    ran = run_solver(prob, solver, time_limit, mip=True, gap=gap, warm=warm)
    seconds = time.perf_counter() - t0
    sol = prob.sol_status if ran else pulp.LpSolutionNoSolutionFound
    if sol in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible):
        chosen = [int(i) for v, i in zip(z, idx, strict=True) if v.varValue is not None and v.varValue > 0.5]
        cover = np.zeros(inst.n, dtype=int)
        for i in chosen:
            cover[pool.members(i)] += 1
        if (cover != 1).any() or not inst.k_min <= len(chosen) <= inst.k_max:
            return MasterResult("no solution", None, None, seconds, solver, n_cols,
                                "solver returned a selection that is not an exact cover (numerical trouble)")
        status = "optimal" if sol == pulp.LpSolutionOptimal else "feasible"
        message = ("optimal over the candidate hubs" if status == "optimal"
                   else "feasible; stopped by the time limit before proving optimality over the candidate hubs")
        return MasterResult(status, sorted(chosen), float(sum(pool.cost_of(i) for i in chosen)), seconds,
                            solver, n_cols, message)
    if sol == pulp.LpSolutionInfeasible:
        return MasterResult("infeasible", None, None, seconds, solver, n_cols,
                            "no combination of the candidate hubs covers every practice exactly once "
                            "within the hub count and side rules")
    return MasterResult("no solution", None, None, seconds, solver, n_cols,
                        f"no plan found from the candidate hubs within {time_limit:.1f} s "
                        f"(solver status {pulp.LpStatus.get(prob.status, prob.status)})")


def solve_master_lp(inst: Instance, pool: ColumnPool, *, solver: str = "highs",
                    time_limit: float = 10.0) -> LPResult:
    """Solve the restricted master LP and return covering duals for pricing.

    The duals are checked (dual feasibility on every column and equal primal
    and dual values); if the HiGHS API solver's duals fail the check, CBC is
    tried instead. The LP value is over the generated columns only and is
    **not** a lower bound.
    """
    t0 = time.perf_counter()
    pool.bind(inst)
    order = [solver] + [s for s in COLUMN_SOLVERS if s != solver]
    message = ""
    for name in order:
        prob, _z, idx, uncovered = _build(inst, pool, relax=True)
        if uncovered is not None:
            return LPResult("infeasible", None, None, 0.0, 0.0, time.perf_counter() - t0, name,
                            f"practice {uncovered} is in no candidate hub")
        if not run_solver(prob, name, time_limit, mip=False) or prob.sol_status != pulp.LpSolutionOptimal:
            message = f"{name}: LP status {pulp.LpStatus.get(prob.status, prob.status)}"
            continue
        cons = _constraints(prob)
        duals = np.array([float(cons[f"cover_{p}"].pi or 0.0) for p in range(inst.n)])
        mu = sum(float(cons[c].pi or 0.0) for c in ("k_eq", "k_min", "k_max") if c in cons)
        lam = float(cons["max_moved"].pi or 0.0) if "max_moved" in cons else 0.0
        value = float(pulp.value(prob.objective) or 0.0)
        if _duals_ok(inst, pool, idx, duals, cons, lam, value):
            return LPResult("optimal", value, duals, mu, lam, time.perf_counter() - t0, name,
                            "restricted master LP (not a bound)")
        message = f"{name}: duals failed the check"
    return LPResult("no solution", None, None, 0.0, 0.0, time.perf_counter() - t0, order[-1], message)


def _constraints(prob: pulp.LpProblem) -> dict[str, pulp.LpConstraint]:
    """Constraints by name (PuLP 3 deprecates using ``prob.constraints`` as a mapping)."""
    items = prob.constraints() if callable(prob.constraints) else prob.constraints.values()
    return {c.name: c for c in items}


def reduced_costs(pool: ColumnPool, lp: LPResult, columns: np.ndarray | None = None) -> np.ndarray:
    """Reduced cost ``cost_c - sum pi - mu - lam * moved_c`` of pool columns under the LP duals."""
    assert lp.duals is not None
    idx = pool.valid_indices() if columns is None else np.asarray(columns, dtype=int)
    cover = np.array([lp.duals[pool.members(int(i))].sum() for i in idx])
    return pool.cost[idx] - cover - lp.mu - lp.lam * pool.moved[idx]


def reduced_cost_filter(pool: ColumnPool, lp: LPResult, incumbent: float, keep: list[int] | None = None,
                        tol: float = 1e-7, cap: int | None = None) -> np.ndarray:
    """Columns that can appear in a cover cheaper than ``incumbent`` (reduced-cost fixing).

    With optimal duals of the restricted LP over the same pool, every cover
    ``x`` costs ``LP + sum_c rc_c x_c`` or more, with all ``rc_c >= 0``; so a
    column with ``rc_c >= incumbent - LP`` cannot be in a cheaper cover. This
    is exact for the pool the LP was solved on (columns added after it are not
    covered by the argument: solve the LP again first). ``keep`` columns
    (the incumbent) are always included. With ``cap``, only the ``cap``
    columns of lowest reduced cost are kept besides ``keep``: a heuristic
    restriction (a faster MIP that may miss a better cover).
    """
    assert lp.objective is not None
    idx = pool.valid_indices()
    rc = reduced_costs(pool, lp, idx)
    slack = incumbent - lp.objective
    mask = rc < slack + tol * max(1.0, abs(incumbent))
    if cap is not None and int(mask.sum()) > cap:
        order = np.argsort(rc, kind="stable")[:cap]
        mask = np.zeros(len(idx), dtype=bool)
        mask[order] = True
    chosen = set(idx[mask].tolist()) | {int(i) for i in (keep or [])}
    return np.array(sorted(chosen), dtype=int)


def _duals_ok(inst: Instance, pool: ColumnPool, idx: np.ndarray, duals: np.ndarray, cons: dict, lam: float,
              value: float) -> bool:
    """Dual feasibility of every column and strong duality, to a tolerance."""
    scale = max(1.0, abs(value))
    cover = np.zeros(len(idx))
    for j, i in enumerate(idx):
        cover[j] = duals[pool.members(int(i))].sum()
    k_dual = {c: float(cons[c].pi or 0.0) for c in ("k_eq", "k_min", "k_max") if c in cons}
    mu = sum(k_dual.values())
    rc = pool.cost[idx] - cover - mu - lam * pool.moved[idx]
    if rc.size and rc.min() < -1e-6 * scale:
        return False
    rhs = {"k_eq": inst.k_min, "k_min": inst.k_min, "k_max": inst.k_max}
    dual_value = float(duals.sum()) + sum(v * rhs[c] for c, v in k_dual.items())
    if inst.max_moved is not None:
        dual_value += lam * inst.max_moved
    return abs(dual_value - value) <= 1e-6 * scale
