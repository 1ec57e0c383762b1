"""SCIP back end of the compact model: contiguity separated inside the branch and bound.

The HiGHS and CBC back ends can only cut a MIP's *final* solution and solve the
MIP again (:mod:`solvers.compact.driver`). SCIP (through PySCIPOpt) lets a
constraint handler take part in the search, so one solve does it all:

* **Integer solutions** (``conscheck``, ``consenfolp``, ``consenfops``): a solution
  is accepted only if every hub is connected; otherwise the exact separator cuts
  of every member cut off from its base
  (:meth:`~solvers.compact.cuts.ContiguitySeparator.integral`) are added
  (enforcement) or the solution is rejected (check: every solution SCIP's own
  heuristics find passes through it).
* **Fractional LP solutions** (``conssepalp``): separator cuts by vertex max-flow,
  population cuts and rounded capacity cuts, at the root and down to
  :data:`SEPARATE_DEPTH`, where they pay for their cost.

The model is the driver's :class:`~solvers.compact.model.CompactModel` as it
stands after the root cut rounds: its PuLP problem is copied row by row
(objective, assignment, band, side rules, every separator, population and
capacity cut found so far), with the reduced-cost fixings as column bounds. The
incumbent is handed over as a SCIP solution.

Why the bound is valid over all contiguous in-band plans
--------------------------------------------------------
* Every row of the copied model and every cut added during the search holds for
  every contiguous in-band plan (:mod:`solvers.compact.cuts`), and the only
  columns missing are pruned or fixed by reduced cost against the incumbent
  (:mod:`solvers.compact`), which keeps every plan that beats it. So the set of
  contiguous plans that beat the incumbent is inside SCIP's feasible set.
* The handler *locks* every ``x`` column both ways, so SCIP's presolve and
  propagation never use dual arguments (fixing a column because the visible rows
  prefer it) that the hidden contiguity constraint could break.
* SCIP accepts a solution only after every constraint handler's check, ours
  included, so its incumbent is always a contiguous plan and its dual bound
  ``L`` bounds every contiguous plan of the restricted model. The driver reports
  ``min(L, incumbent)`` when columns were fixed, which is then valid over all
  contiguous plans.

Runs are repeatable: SCIP's seeds are fixed, it runs on one thread, and the
handler iterates in sorted order, so a run that ends on a proof or the gap target
repeats exactly (one stopped by the time limit may differ).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pulp

from .backends import SEED, Solve
from .cuts import CapacityCut, Cut

if TYPE_CHECKING:
    from .model import CompactModel

__all__ = ["SEPARATE_DEPTH", "scip_available", "scip_version", "solve_scip"]

logger = logging.getLogger(__name__)

#: Fractional separation (max-flow, population, capacity) runs at nodes no deeper than this;
#: deeper down the LP moves little and the separators cost more than they lift the bound.
SEPARATE_DEPTH = 0
#: Most capacity cuts per separation call.
CAPACITY_CUTS = 30
#: Handler priorities: after integrality (0) and the linear rows (-1e6), so it sees integral points.
_PRIORITY = -2_000_000
#: SCIP parameters away from its defaults, measured on SSOT K=23 (benchmarks/backends.py): the hub band
#: rows are knapsacks, and SCIP's cover separation on ~600 of them took 10 of the first 27 s at the root
#: for little bound; probing in presolve took another 5 s. The column heuristic's plan is the start,
#: so the time goes to the dual bound.
SETTINGS: dict[str, Any] = {"constraints/knapsack/sepafreq": -1, "presolving/maxrounds": 3,
                            "propagating/probing/maxprerounds": 0, "separating/maxstallroundsroot": 3}
_MISSING = "the 'scip' solver needs PySCIPOpt: pip install 'pcn-planner[scip]' (or choose highs or cbc)"


def scip_available() -> bool:
    """PySCIPOpt can be imported (checked without importing it)."""
    from importlib.util import find_spec

    return find_spec("pyscipopt") is not None


def _pyscipopt() -> Any:
    """The pyscipopt module, or a one-line error in the planner's words."""
    try:
        import pyscipopt
    except ImportError as exc:  # an optional extra: say how to get it
        raise RuntimeError(_MISSING) from exc
    return pyscipopt


def scip_version() -> str:
    """SCIP's version (and PySCIPOpt's)."""
    ps = _pyscipopt()
    return f"SCIP {ps.Model().version()} (PySCIPOpt {ps.__version__})"


class _Search:
    """State shared by the handler and the event handler: variables, cuts found, progress."""

    def __init__(self, model: CompactModel, xvars: dict[tuple[int, int], Any],
                 on_solution: Callable[[dict[int, list[int]]], None] | None,
                 stop_at: Callable[[float], bool] | None) -> None:
        self.model, self.xvars = model, xvars
        self.keys = sorted(xvars)
        self.on_solution, self.stop_at = on_solution, stop_at
        self.cuts: list[Cut] = []
        self.capacity: list[CapacityCut] = []
        self.seen: set[Cut] = set(model.cuts)
        self.pending: list[Cut] = []  # cuts from rejected solutions, added at the next LP
        self.error: BaseException | None = None

    def hubs(self, scip: Any, sol: Any) -> dict[int, list[int]]:
        """Base -> sorted members of a (near-)integral solution (``sol=None``: the LP's)."""
        hubs: dict[int, list[int]] = {}
        for key in self.keys:
            if scip.getSolVal(sol, self.xvars[key]) > 0.5:
                hubs.setdefault(key[1], []).append(key[0])
        return {b: sorted(m) for b, m in sorted(hubs.items())}

    def values(self, scip: Any) -> dict[tuple[int, int], float]:
        """The LP's non-zero ``x`` values."""
        out = {}
        for key in self.keys:
            v = scip.getSolVal(None, self.xvars[key])
            if v > 1e-9:
                out[key] = float(v)
        return out

    def new(self, cuts: list[Cut]) -> list[Cut]:
        """The cuts not added before (each cut once, in the order found)."""
        fresh = []
        for cut in cuts:
            if cut not in self.seen:
                self.seen.add(cut)
                fresh.append(cut)
        return fresh

    def add_separators(self, scip: Any, cuts: list[Cut]) -> int:
        """Add separator / population cuts as global linear constraints; how many were added."""
        ps = _pyscipopt()
        for p, b, sep in cuts:
            coef = {(p, b): 1.0}
            for v in sep:
                coef[v, b] = coef.get((v, b), 0.0) - 1.0
            # a column fixed at 0 (left out of SCIP) is 0 in every solution: its term drops
            live = [(key, c) for key, c in coef.items() if key in self.xvars]
            if (p, b) not in self.xvars:
                continue  # x[p, b] = 0: the cut holds anyway
            expr = ps.quicksum(c * self.xvars[key] for key, c in live)
            # global (valid for every contiguous plan), removable from the LP once slack for long
            scip.addCons(expr <= 0, name=f"sep_{len(self.cuts)}", removable=True)
            self.cuts.append((p, b, sep))
        return len(cuts)

    def add_capacity(self, scip: Any, cuts: list[CapacityCut]) -> None:
        """Add rounded capacity cuts as global linear constraints."""
        ps = _pyscipopt()
        for terms, need in cuts:
            live = [key for key in terms if key in self.xvars]
            if not live:
                continue  # cannot hold in the restricted model; leaving a valid cut out keeps a relaxation
            expr = ps.quicksum(self.xvars[key] for key in live)
            scip.addCons(expr >= need, name=f"cap_{len(self.capacity)}", removable=True)
            self.capacity.append((terms, need))


def _handler_class(ps: Any) -> type:
    """The constraint handler class (defined late: its base class comes from the optional pyscipopt)."""
    R = ps.SCIP_RESULT

    class Contiguity(ps.Conshdlr):
        """Contiguity of every hub: checked on integer points, separated on fractional ones."""

        def __init__(self, search: _Search) -> None:
            self.search = search

        def _guard(self, work: Callable[[], dict[str, Any]], fallback: Any) -> dict[str, Any]:
            """Run a callback; a Python error is kept, the solve interrupted, and raised after it."""
            try:
                return work()
            except Exception as exc:  # noqa: BLE001 (re-raised after the solve)
                self.search.error = self.search.error or exc
                self.model.interruptSolve()
                return {"result": fallback}

        def _enforce(self) -> dict[str, Any]:
            cuts = self.search.model.contiguity.integral(self.search.hubs(self.model, None))
            if not cuts:
                return {"result": R.FEASIBLE}
            # a cut seen before is a constraint already (the linear handler enforces it first), so
            # the fresh ones should always be there; add them all again rather than accept the point
            self.search.add_separators(self.model, self.search.new(cuts) or cuts)
            return {"result": R.CONSADDED}

        def consenfolp(self, constraints: Any, nusefulconss: int, solinfeasible: bool) -> dict[str, Any]:
            return self._guard(self._enforce, R.INFEASIBLE)

        def consenfops(self, constraints: Any, nusefulconss: int, solinfeasible: bool,
                       objinfeasible: bool) -> dict[str, Any]:
            return self._guard(self._enforce, R.INFEASIBLE)

        def conscheck(self, constraints: Any, solution: Any, checkintegrality: bool, checklprows: bool,
                      printreason: bool, completely: bool) -> dict[str, Any]:
            def check() -> dict[str, Any]:
                hubs = self.search.hubs(self.model, solution)
                cuts = self.search.model.contiguity.integral(hubs)
                if not cuts:
                    return {"result": R.FEASIBLE}
                self.search.pending += [c for c in cuts if c not in self.search.seen]
                return {"result": R.INFEASIBLE}
            return self._guard(check, R.INFEASIBLE)

        def conssepalp(self, constraints: Any, nusefulconss: int) -> dict[str, Any]:
            def separate() -> dict[str, Any]:
                search, compact = self.search, self.search.model
                found = search.new(search.pending)
                search.pending = []
                if self.model.getDepth() <= SEPARATE_DEPTH:
                    value = search.values(self.model)
                    found += search.new(compact.contiguity.fractional(value) + compact.contiguity.population(value))
                    capacity = compact.capacity.separate(value, CAPACITY_CUTS)
                    search.add_capacity(self.model, capacity)
                else:
                    capacity = []
                search.add_separators(self.model, found)
                return {"result": R.CONSADDED if found or capacity else R.DIDNOTFIND}
            return self._guard(separate, R.DIDNOTRUN)

        def conslock(self, constraint: Any, locktype: Any, nlockspos: int, nlocksneg: int) -> None:
            # contiguity can break by raising or by lowering any x: lock both ways
            both = nlockspos + nlocksneg
            for key in self.search.keys:
                self.model.addVarLocks(self.search.xvars[key], both, both)

    return Contiguity


def _event_class(ps: Any) -> type:
    """The event handler class: new incumbents to the driver, and its stop test on the dual bound."""
    E = ps.SCIP_EVENTTYPE

    class Progress(ps.Eventhdlr):
        """Passes every new best solution on and asks the driver whether to stop."""

        def __init__(self, search: _Search) -> None:
            self.search = search

        def eventinit(self) -> None:
            self.model.catchEvent(E.BESTSOLFOUND | E.NODESOLVED, self)

        def eventexit(self) -> None:
            self.model.dropEvent(E.BESTSOLFOUND | E.NODESOLVED, self)

        def eventexec(self, event: Any) -> None:
            search = self.search
            try:
                if event.getType() == E.BESTSOLFOUND and search.on_solution is not None:
                    search.on_solution(search.hubs(self.model, self.model.getBestSol()))
                if search.stop_at is not None and search.stop_at(float(self.model.getDualbound())):
                    self.model.interruptSolve()
            except Exception as exc:  # noqa: BLE001 (re-raised after the solve)
                search.error = search.error or exc
                self.model.interruptSolve()

    return Progress


def _expression(ps: Any, items: Any, columns: dict[Any, Any]) -> Any:
    """A PySCIPOpt linear expression from PuLP ``(variable, coefficient)`` items; columns left out are 0."""
    return ps.quicksum(c * columns[var.name] for var, c in items if c != 0 and var.name in columns)


def build(model: CompactModel) -> tuple[Any, dict[tuple[int, int], Any], dict[str, Any]]:
    """Copy the compact model's PuLP problem (cuts and fixings included) into a SCIP model.

    Returns the SCIP model, its ``x`` variables by ``(p, b)`` and every variable by PuLP name.
    """
    ps = _pyscipopt()
    prob = model.prob
    scip = ps.Model("compact_hubs")
    columns: dict[str, Any] = {}
    for var in prob.variables():
        if var.upBound == 0 and (var.lowBound or 0) == 0:
            continue  # fixed at 0 (by reduced cost): it adds nothing to any row, and SoPlex's LP is a third the size
        vtype = "B" if var.cat == pulp.LpBinary or (var.cat == pulp.LpInteger and (var.lowBound, var.upBound)
                                                     == (0, 1)) else ("I" if var.cat == pulp.LpInteger else "C")
        columns[var.name] = scip.addVar(var.name, vtype=vtype, lb=var.lowBound, ub=var.upBound)
    for name, row in prob.constraints.items():
        if not any(c != 0 and var.name in columns for var, c in row.items()):
            # only columns fixed at 0: the incumbent (which every fixing keeps) shows the row holds at 0
            continue
        expr, rhs = _expression(ps, row.items(), columns), -float(row.constant)
        if row.sense == pulp.LpConstraintEQ:
            scip.addCons(expr == rhs, name=name)
        elif row.sense == pulp.LpConstraintLE:
            scip.addCons(expr <= rhs, name=name)
        else:
            scip.addCons(expr >= rhs, name=name)
    scip.setObjective(_expression(ps, prob.objective.items(), columns), "minimize")
    if prob.objective.constant:
        scip.addObjoffset(float(prob.objective.constant))
    xvars = {key: columns[var.name] for key, var in model.x.items() if var.name in columns}
    return scip, xvars, columns


def _settings(scip: Any, *, time_limit: float, gap: float, threads: int | None) -> None:
    """Quiet, single-threaded, fixed seeds, wall-clock time limit and the target gap."""
    scip.hideOutput()
    scip.setParam("randomization/randomseedshift", SEED)
    scip.setParam("randomization/permutationseed", SEED)
    scip.setParam("randomization/lpseed", SEED)
    scip.setParam("timing/clocktype", 2)  # wall clock, as the driver's time limit
    scip.setParam("limits/time", max(time_limit, 0.01))
    scip.setParam("limits/gap", gap)
    scip.setParam("lp/threads", 1)  # SCIP's default; set so a changed default cannot reorder the search
    for name, value in SETTINGS.items():
        scip.setParam(name, value)
    del threads  # the branch and bound itself is single-threaded


def solve_scip(model: CompactModel, *, time_limit: float, gap: float, threads: int | None,
               start: bool,
               on_solution: Callable[[dict[int, list[int]]], None] | None = None,
               stop_at: Callable[[float], bool] | None = None) -> Solve:
    """Solve the compact model with SCIP, contiguity separated in the search; one call, no outer loop.

    Parameters
    ----------
    model
        The compact model after the root rounds; its PuLP problem (cuts and fixings
        included) is copied. Cuts found in the search are added to it afterwards.
    time_limit, gap
        Wall-clock seconds (building the model included) and SCIP's relative gap target.
    threads
        Ignored: SCIP's search is single-threaded.
    start
        Start from the variables' initial values (:meth:`CompactModel.set_start`, a contiguous plan).
    on_solution
        Receives every new best solution (base -> members); each is contiguous.
    stop_at
        Asked with SCIP's dual bound after each node and new solution; ``True`` stops the solve.

    Returns
    -------
    Solve
        As the other back ends; the best solution is written to the PuLP variables' values.
    """
    ps = _pyscipopt()
    t0 = time.perf_counter()
    scip, xvars, columns = build(model)
    search = _Search(model, xvars, on_solution, stop_at)
    handler = _handler_class(ps)(search)
    scip.includeConshdlr(handler, "contiguity", "every hub is connected", sepapriority=0,
                         enfopriority=_PRIORITY, chckpriority=_PRIORITY, sepafreq=1, eagerfreq=-1,
                         needscons=True)
    scip.addPyCons(scip.createCons(handler, "contiguity", initial=True, separate=True, enforce=True,
                                   check=True, propagate=False, local=False, modifiable=False, dynamic=False,
                                   removable=False, stickingatnode=False))
    scip.includeEventhdlr(_event_class(ps)(search), "progress", "incumbents and the stop test")
    _settings(scip, time_limit=time_limit - (time.perf_counter() - t0), gap=gap, threads=threads)
    if start:
        # as for HiGHS (QUIET_HEURISTICS): the start comes from the column heuristic, which beats SCIP's
        # own heuristics here; they took ~10 s of the root (diving, feasibility pump, RENS) for nothing
        scip.setHeuristics(ps.SCIP_PARAMSETTING.OFF)
        sol = scip.createSol()
        for var in model.prob.variables():
            if var.name in columns:
                scip.setSolVal(sol, columns[var.name], float(var.varValue or 0.0))
        accepted = scip.addSol(sol, free=True)
        logger.debug("SCIP start accepted: %s", accepted)
    scip.optimize()
    seconds = time.perf_counter() - t0
    if search.error is not None:
        raise search.error
    status = scip.getStatus()
    nodes = int(scip.getNTotalNodes())
    model.add_cuts(search.cuts)  # the driver counts them; the model stays a valid relaxation
    model.add_capacity_cuts(search.capacity)
    logger.debug("SCIP: %s after %.2fs, %d nodes, %d separator and %d capacity cuts", status, seconds, nodes,
                 len(search.cuts), len(search.capacity))
    if status == "infeasible":
        return Solve("infeasible", None, None, nodes, seconds)
    has_solution = scip.getNSols() > 0
    bound = float(scip.getDualbound())
    bound_or_none = bound if math.isfinite(bound) and abs(bound) < 1e19 else None
    if has_solution:
        best = scip.getBestSol()
        for var in model.prob.variables():
            var.varValue = float(scip.getSolVal(best, columns[var.name])) if var.name in columns else 0.0
        objective = float(scip.getObjVal())
    if status == "optimal" and has_solution:
        return Solve("optimal", objective, bound_or_none, nodes, seconds)
    if status in ("timelimit", "gaplimit", "userinterrupt", "nodelimit", "memlimit", "sollimit",
                  "bestsollimit", "stallnodelimit", "totalnodelimit", "restartlimit"):
        return Solve("feasible" if has_solution else "none", objective if has_solution else None,
                     bound_or_none, nodes, seconds)
    logger.debug("SCIP ended with status %s", status)
    return Solve("error", None, None, nodes, seconds)
