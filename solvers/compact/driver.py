"""The solve driver: root cut rounds, reduced-cost fixing, and the MIP / separate / repair loop.

:class:`CompactSolve` holds one call's state (model, incumbent, bound, log
rows) and runs it in short steps; :func:`solve_compact` is the public entry.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pcn_planner.model.instance import Instance
from pcn_planner.model.problem import COLUMN_SOLVERS
from pcn_planner.model.rules import check_plan
from solvers.columns import HubRules
from solvers.local_search import repair_plan

from .backends import Solve, Watch, cbc_version, highs_version, solve_cbc, solve_highs
from .cuts import Cut, CutPool
from .model import CompactModel, candidate_pairs
from .root import RootLP, lp_rounding

__all__ = ["CompactResult", "CompactSolve", "solve_compact"]

logger = logging.getLogger(__name__)

#: Safety limit on solve-separate rounds (the time limit usually ends the loop first).
MAX_ITERATIONS = 200
#: Relative slack on reduced-cost fixing, so solver round-off never fixes a variable the incumbent uses.
FIX_TOLERANCE = 1e-6
#: Root cut rounds on the LP relaxation, and the share of the time limit they may use.
ROOT_ROUNDS = 40
ROOT_SHARE = 0.75
#: Root rounds stop once the last ``STALL_ROUNDS`` rounds together raised the bound by at most this share.
STALL_ROUNDS = 3
STALL_GAIN = 2e-4
#: Most capacity cuts added per root round.
CAPACITY_CUTS_PER_ROUND = 30
#: Seconds between progress lines while a MIP solve runs.
PROGRESS_SECONDS = 5.0
#: Seconds kept back from the MIP solves for repairing their last solution.
RESERVE_SECONDS = 0.5

Log = Callable[[str], None]


@dataclass(frozen=True)
class CompactResult:
    """Outcome of :func:`solve_compact`.

    Attributes
    ----------
    hubs
        Member positions of each hub (sorted arrays, hubs sorted by first member), or
        ``None`` when no feasible contiguous plan was found.
    objective
        Objective of ``hubs`` (``Instance.plan_cost``), or ``None``.
    bound
        A lower bound valid over all contiguous in-band plans, or ``None``.
    gap
        ``(objective - bound) / |objective|``, or ``None`` without both.
    status
        Plain words: ``optimal``, ``gap reached``, ``time limit``, ``infeasible``,
        ``no solution in time``, ``solver error``.
    stopped_by
        ``proof``, ``gap``, ``time``, ``infeasible`` or ``error`` (the solver failed;
        ``message`` says where, and the best plan so far is still returned).
    solver, solver_version
        Backend used and its version.
    wall_seconds
        Wall-clock time of the whole call.
    cuts_added
        Cuts added: separator, population and capacity inequalities.
    iterations
        MIP solves in the cut loop.
    fixed_by_reduced_cost
        Variables fixed at 0 by reduced cost against the incumbent.
    nodes
        Branch-and-bound nodes summed over the MIP solves (``None`` if unknown).
    variables
        Assignment variables ``x[p, b]`` left after nesting, locking and distance pruning.
    message
        Why the instance is infeasible, or other notes for the user; empty if none.
    log
        One row per solve (LP and each MIP): iteration, kind, status, objective,
        bound, seconds, cuts (cumulative), nodes.
    clock_cut
        The time limit (a safety net) cut a phase short, so the plan may depend on the
        machine's speed; otherwise the same inputs give the same plan.
    trajectory
        ``(seconds, objective, bound)`` each time the incumbent or the bound moved.
    cut_pool
        Every cut of the final model, for a later solve to start from (:class:`CutPool`).
    """

    hubs: list[np.ndarray] | None
    objective: float | None
    bound: float | None
    gap: float | None
    status: str
    stopped_by: str
    solver: str
    solver_version: str
    wall_seconds: float
    cuts_added: int
    iterations: int
    fixed_by_reduced_cost: int
    nodes: int | None
    variables: int
    message: str = ""
    log: tuple[dict[str, Any], ...] = field(default=(), repr=False)
    clock_cut: bool = False
    trajectory: tuple[tuple[float, float, float], ...] = field(default=(), repr=False)
    cut_pool: CutPool | None = field(default=None, repr=False)


#: Gaps this small are round-off (objective and bound agree to ~15 digits): a target of 0 means a proof.
GAP_FLOOR = 1e-9


def rel_gap(objective: float, bound: float) -> float:
    """``(objective - bound) / |objective|``, never below 0."""
    return max(0.0, (objective - bound) / max(abs(objective), 1e-12))


def stalled(history: list[float]) -> bool:
    """The last ``STALL_ROUNDS`` root rounds together raised the bound (``history``) by at most ``STALL_GAIN``."""
    gain = history[-1] - history[-1 - STALL_ROUNDS] if len(history) > STALL_ROUNDS else math.inf
    return gain <= STALL_GAIN * abs(history[-1])


class CompactSolve:
    """One run of the compact solver; :meth:`run` returns its :class:`CompactResult`.

    Parameters are those of :func:`solve_compact`. The state between steps is
    explicit: the incumbent (``best``, ``upper``), the best bound (``bound``),
    the root LP and its reduced costs, the log rows and the counters that end
    up in the result.
    """

    def __init__(self, inst: Instance, *, incumbent: list[np.ndarray] | None, time_limit: float, gap: float,
                 solver: str, threads: int | None, log: Log | None, cut_pool: CutPool | None = None) -> None:
        self.t_start = time.perf_counter()
        if solver not in (*COLUMN_SOLVERS, "scip"):
            raise ValueError(f"solver must be 'highs', 'cbc' or 'scip', got {solver!r}")
        self.inst, self.incumbent, self.time_limit, self.gap = inst, incumbent, time_limit, gap
        self.solver, self.threads, self.log = solver, threads, log
        if solver == "scip":  # optional: imported only when asked for
            from .scip import scip_version
            self.version = scip_version()
        else:
            self.version = highs_version() if solver == "highs" else cbc_version()
        self.rows: list[dict[str, Any]] = []
        self.best: list[np.ndarray] | None = None
        self.upper = math.inf
        self.bound: float | None = None
        self.cuts_added = self.iterations = self.fixed = self.variables = 0
        self.nodes: int | None = None
        self.model: CompactModel | None = None
        self.root: RootLP | None = None
        self.rules = HubRules(inst)
        # the root LP's final solution: reduced-cost fixing is valid against it for any incumbent
        self.lp_x: np.ndarray | None = None
        self.lp_dj: np.ndarray | None = None
        self.lp_bound: float | None = None
        self.fixed_against = math.inf
        self.next_progress = 0.0
        # how the MIP loop ended, and a note for the user if it stopped early
        self.stopped_by, self.status = "time", "time limit"
        self.note = ""
        self.resynced = False  # the live model was rebuilt after the last MIP
        self.cut_pool = cut_pool
        self.clock_cut = False
        self.points: list[tuple[float, float, float]] = []
        self.mask: np.ndarray | None = None

    # -- bookkeeping -----------------------------------------------------------

    def say(self, text: str, level: int = logging.INFO) -> None:
        """One progress line, to the module logger and the caller's ``log``."""
        logger.log(level, text)
        if self.log is not None:
            self.log(text)

    def remaining(self) -> float:
        """Seconds left of the time limit."""
        return self.time_limit - (time.perf_counter() - self.t_start)

    def mark(self, bound: float | None = None) -> None:
        """A trajectory point when the incumbent or the best bound (or ``bound``, a solver's) moved."""
        low = max(b for b in (bound, self.bound, -math.inf) if b is not None)
        if self.best is None or not math.isfinite(low):
            return
        point = (round(time.perf_counter() - self.t_start, 3), self.upper, min(low, self.upper))
        if not self.points or self.points[-1][1:] != point[1:]:
            self.points.append(point)

    def _edges(self) -> frozenset[tuple[int, int]]:
        """The practice graph the cuts were separated on (links included), as sorted pairs."""
        return frozenset((min(u, v), max(u, v)) for u, nbrs in enumerate(self.inst.neighbours()) for v in nbrs)

    def within_gap(self) -> bool:
        """The incumbent is within the target gap of the bound."""
        if self.best is None or self.bound is None:
            return False
        return rel_gap(self.upper, self.bound) <= max(self.gap, GAP_FLOOR)

    def finish(self, hubs: list[np.ndarray] | None, objective: float | None, bound: float | None, status: str,
               stopped_by: str, message: str = "") -> CompactResult:
        """The result, with the bound capped at the objective (``min(L, UB)`` is the valid bound)."""
        if objective is not None and bound is not None:
            bound = min(bound, objective)
        value = rel_gap(objective, bound) if objective is not None and bound is not None else None
        if hubs is not None:
            hubs = sorted((np.asarray(sorted(map(int, h)), dtype=int) for h in hubs), key=lambda h: int(h[0]))
        self.say(f"compact: {status}, objective {objective}, bound {bound}, gap {value}")
        self.mark()
        pool = None
        if self.model is not None and self.mask is not None:
            pool = CutPool(codes=tuple(self.inst.codes), cuts=tuple(sorted(self.model.cuts)),
                           capacity=tuple(self.model.capacity_pool), mask=self.mask,
                           population=self.inst.population.copy(), edges=self._edges(), upper=self.inst.upper)
        return CompactResult(hubs=hubs, objective=objective, bound=bound, gap=value, status=status,
                             stopped_by=stopped_by, solver=self.solver, solver_version=self.version,
                             wall_seconds=time.perf_counter() - self.t_start, cuts_added=self.cuts_added,
                             iterations=self.iterations, fixed_by_reduced_cost=self.fixed, nodes=self.nodes,
                             variables=self.variables, message=message, log=tuple(self.rows),
                             clock_cut=self.clock_cut or stopped_by == "time", trajectory=tuple(self.points),
                             cut_pool=pool)

    def offer(self, plan: list[np.ndarray] | None, source: str) -> bool:
        """Take a feasible plan as the incumbent if it is cheaper."""
        if plan is None:
            return False
        value = self.inst.plan_cost(plan)
        if value < self.upper - 1e-12:
            self.best, self.upper = plan, value
            self.say(f"compact: new incumbent {value:.6f} from {source}")
            self.mark()
            return True
        return False

    def broken(self, plan: list[np.ndarray]) -> str:
        """The first rule a plan breaks, or ``""``."""
        problems = check_plan(self.inst, plan)
        return problems[0].text if problems else ""

    # -- the run -----------------------------------------------------------------

    def run(self) -> CompactResult:
        """Prune, build, solve the root LP with cut rounds, then run the MIP loop."""
        mask, reason = candidate_pairs(self.inst)
        self.variables = int(mask.sum())
        if reason:
            self.say(f"compact: infeasible: {reason}")
            return self.finish(None, None, None, "infeasible", "infeasible", message=reason)
        self.model, self.mask = CompactModel(self.inst, mask), mask
        self.say(f"compact: {len(self.model.x)} assignment variables of {self.inst.n * self.inst.n} "
                 f"after nesting and distance pruning")
        if self.cut_pool is not None:
            cuts, capacity = self.cut_pool.for_instance(self.inst.codes, mask, self.inst.population, self._edges(),
                                                        self.inst.upper)
            kept, kept_capacity = self.model.preload(cuts, capacity)
            self.say(f"compact: started from an earlier solve's cuts: {kept} of {len(self.cut_pool.cuts)} "
                     f"contiguity and {kept_capacity} of {len(self.cut_pool.capacity)} capacity cuts still hold")
        self.take_incumbent()
        early = self.solve_root()
        if early is not None:
            return early
        if self.within_gap():
            return self.finish(self.best, self.upper, self.bound, "gap reached", "gap")
        self.fix_by_reduced_cost()
        return self.mip_loop()

    def take_incumbent(self) -> None:
        """Start from the caller's plan if it keeps every rule."""
        if self.incumbent is None:
            return
        why = self.broken(self.incumbent)
        if why:
            self.say(f"compact: incumbent ignored: {why}")
            return
        self.best, self.upper = [np.asarray(h, dtype=int) for h in self.incumbent], self.inst.plan_cost(self.incumbent)
        self.say(f"compact: incumbent objective {self.upper:.6f}")

    # -- the root LP ---------------------------------------------------------------

    def solve_root(self) -> CompactResult | None:
        """Solve the LP relaxation and tighten it in cut rounds; a result if that settles the run."""
        model = self.model
        assert model is not None
        t_lp = time.perf_counter()
        self.root = root = RootLP(model, self.threads)
        lp_status = root.status()
        if lp_status == "infeasible":
            self.rows.append({"iteration": 0, "kind": "lp", "status": "infeasible", "objective": None,
                              "bound": None, "seconds": round(time.perf_counter() - t_lp, 3), "cuts": 0,
                              "nodes": None})
            msg = "the LP relaxation is infeasible: no assignment meets the hub count, band and rules"
            return self.finish(None, None, None, "infeasible", "infeasible", message=msg)
        self.bound = root.objective() if lp_status == "optimal" else None
        self.rows.append({"iteration": 0, "kind": "lp", "status": lp_status, "objective": self.bound,
                          "bound": self.bound, "seconds": round(time.perf_counter() - t_lp, 3), "cuts": 0,
                          "nodes": None})
        deadline = self.t_start + ROOT_SHARE * self.time_limit
        history = [self.bound if self.bound is not None else -math.inf]
        for rnd in range(1, ROOT_ROUNDS + 1):
            if lp_status != "optimal" or self.within_gap():
                break
            if time.perf_counter() > deadline:  # the safety net, not the budget: rounds and stalls are
                self.clock_cut = True
                break
            if stalled(history):
                break  # the MIP makes better use of the time
            status = self.cut_round(rnd)
            if status is None:
                break
            lp_status = status
            history.append(self.bound if self.bound is not None else -math.inf)
            self.mark()
        self.cuts_added = len(model.cuts) + model.capacity_cuts
        if lp_status == "infeasible" and self.best is not None and self.fixed:
            # the cuts hold for every contiguous plan and the fixings for every plan beating the incumbent
            return self.finish(self.best, self.upper, self.upper, "optimal", "proof")
        if lp_status == "infeasible":  # separator and capacity cuts hold for every contiguous plan
            msg = "no contiguous assignment meets the hub count, band and rules (LP with contiguity cuts)"
            return self.finish(None, None, None, "infeasible", "infeasible", message=msg)
        if self.bound is not None:
            self.say(f"compact: root LP bound {self.bound:.6f} with {len(model.cuts)} separator and "
                     f"{model.capacity_cuts} capacity cuts in {time.perf_counter() - t_lp:.2f}s")
        if lp_status == "optimal":
            if self.best is None:
                rounded = lp_rounding(self.inst, model, root.values())
                self.offer(repair_plan(self.inst, rounded, rules=self.rules), "rounded LP")
            self.lp_x, self.lp_dj = root.reduced_costs()
            self.lp_bound = root.objective()
        return None

    def cut_round(self, rnd: int) -> str | None:
        """Add the cuts the LP breaks and re-solve; the new LP status, or ``None`` if no cut was found."""
        model, root = self.model, self.root
        assert model is not None and root is not None
        t_round = time.perf_counter()
        value = root.values()
        cuts = [c for c in model.fractional_cuts(value) + model.population_cuts(value) if c not in model.cuts]
        capacity = model.capacity.separate(value, CAPACITY_CUTS_PER_ROUND)
        if not cuts and not capacity:
            return None
        if self.best is not None:  # a smaller LP re-solves faster (read before any change voids the solution)
            root.fix(self.fix_columns(root.objective(), *root.reduced_costs()))
        model.add_cuts(cuts)
        model.add_capacity_cuts(capacity)
        root.add(cuts, capacity, self.remaining())
        lp_status = root.status()
        if lp_status == "optimal":
            self.bound = max(self.bound or -math.inf, root.objective())
        self.rows.append({"iteration": 0, "kind": f"lp cuts {rnd}", "status": lp_status,
                          "objective": root.objective(), "bound": self.bound,
                          "seconds": round(time.perf_counter() - t_round, 3), "cuts": len(model.cuts),
                          "nodes": None})
        logger.debug("compact: root round %d: %s, bound %s, %d contiguity and %d capacity cuts", rnd, lp_status,
                     self.bound, len(cuts), len(capacity))
        return lp_status

    # -- reduced-cost fixing ---------------------------------------------------------

    def fix_columns(self, z: float, xs: np.ndarray, djs: np.ndarray) -> np.ndarray:
        """Fix at 0 every column whose reduced cost lifts the LP value ``z`` above the incumbent."""
        assert self.model is not None
        variables = list(self.model.x.values())
        slack = FIX_TOLERANCE * max(1.0, abs(self.upper))
        free = np.array([var.upBound != 0 for var in variables])
        hit = np.flatnonzero(free & (xs < 1e-9) & (djs > 0) & (z + djs > self.upper + slack))
        for i in hit:
            variables[i].upBound = 0
        self.fixed = int((~free).sum() + hit.size)
        return hit

    def fix_by_reduced_cost(self) -> None:
        """Fix against the root LP once more if the incumbent improved since the last time."""
        if self.lp_x is None or self.lp_dj is None or self.lp_bound is None or self.best is None \
                or self.upper >= self.fixed_against:
            return
        assert self.root is not None
        self.fixed_against = self.upper
        self.root.fix(self.fix_columns(self.lp_bound, self.lp_x, self.lp_dj))
        self.say(f"compact: {self.fixed} variables fixed at 0 by reduced cost (incumbent {self.upper:.6f})")

    # -- HiGHS callbacks ---------------------------------------------------------------

    def on_solution(self, hubs: dict[int, list[int]]) -> None:
        """An improving HiGHS or SCIP solution: keep it if contiguous and feasible, else its repair."""
        assert self.model is not None
        plan = [np.array(m, dtype=int) for m in hubs.values()]
        if not self.model.separators(hubs) and not self.broken(plan):
            self.offer(plan, f"a {self.solver} solution")
        else:
            self.offer(repair_plan(self.inst, plan, rules=self.rules), f"a repaired {self.solver} solution")

    def stop_at(self, dual: float) -> bool:
        """Stop the running MIP: the incumbent is within the gap of its dual bound (and the root's)."""
        if self.best is None or not math.isfinite(dual):
            return False
        restricted = min(dual, self.upper) if self.fixed else dual
        current = max(restricted, self.bound if self.bound is not None else -math.inf)
        self.mark(current)
        if time.perf_counter() >= self.next_progress:  # long runs show where the bound stands
            self.next_progress = time.perf_counter() + PROGRESS_SECONDS
            self.say(f"compact: MIP running, {time.perf_counter() - self.t_start:.0f}s, objective {self.upper:.6f}, "
                     f"bound {current:.6f}, gap {rel_gap(self.upper, current):.2%}", logging.DEBUG)
        return rel_gap(self.upper, current) <= max(self.gap, GAP_FLOOR)

    # -- the MIP loop ----------------------------------------------------------------------

    def mip_loop(self) -> CompactResult:
        """Solve, cut, repair and repeat until a proof, the gap, the time limit or a stop."""
        model = self.model
        assert model is not None
        watch = Watch(model, self.on_solution, self.stop_at) if self.solver == "highs" else None
        if self.solver == "highs":
            model.live = self.root  # from here on, new rows go to the live model too
        self.next_progress = time.perf_counter() + PROGRESS_SECONDS
        self.nodes = 0
        for it in range(1, MAX_ITERATIONS + 1):
            if self.remaining() <= RESERVE_SECONDS + 0.05:
                break
            if self.mip_step(it, watch):
                break
        if self.status == "infeasible":
            msg = "no contiguous plan meets the hub count, band and rules"
            return self.finish(None, None, None, self.status, self.stopped_by, message=msg)
        if self.best is None:
            status = "no solution in time" if self.stopped_by == "time" else self.status
            return self.finish(None, None, self.bound, status, self.stopped_by, message=self.note)
        return self.finish(self.best, self.upper, self.bound, self.status, self.stopped_by, message=self.note)

    def solve_mip(self, watch: Watch | None) -> Solve:
        """One MIP solve from the incumbent, in the time left less the repair reserve."""
        assert self.model is not None
        started = self.best is not None and self.model.set_start(self.best)
        left = self.remaining() - RESERVE_SECONDS
        if self.solver == "highs":
            return solve_highs(self.model, time_limit=left, gap=self.gap, threads=self.threads, start=started,
                               watch=watch)
        if self.solver == "scip":  # contiguity is separated inside SCIP's search: one solve, no outer loop
            from .scip import solve_scip

            out = solve_scip(self.model, time_limit=left, gap=self.gap, threads=self.threads,
                             start=started, on_solution=self.on_solution,
                             stop_at=self.stop_at)
            self.cuts_added = len(self.model.cuts) + self.model.capacity_cuts
            return out
        return solve_cbc(self.model.prob, time_limit=left, gap=self.gap, threads=self.threads, start=started)

    def mip_step(self, it: int, watch: Watch | None) -> bool:
        """MIP solve ``it`` and what follows from it; ``True`` ends the loop."""
        model = self.model
        assert model is not None and self.nodes is not None
        out = self.solve_mip(watch)
        self.iterations = it
        self.nodes += out.nodes or 0
        if out.bound is not None:
            restricted = min(out.bound, self.upper) if self.fixed else out.bound
            self.bound = restricted if self.bound is None else max(self.bound, restricted)
            self.mark()
        row = {"iteration": it, "kind": "mip", "status": out.status, "objective": out.objective,
               "bound": out.bound, "seconds": round(out.seconds, 3), "cuts": len(model.cuts), "nodes": out.nodes}
        self.rows.append(row)
        self.say(f"compact: MIP {it}: {out.status}, objective {out.objective}, bound {out.bound}, "
                 f"{out.seconds:.2f}s", logging.DEBUG)
        if out.status == "infeasible":
            if self.best is not None:  # nothing beats the incumbent inside the fixed model
                self.bound = self.upper
                self.stopped_by, self.status = "proof", "optimal"
            else:
                self.stopped_by, self.status = "infeasible", "infeasible"
            return True
        if out.status == "error":
            self.note = f"the {self.solver} solver failed on MIP {it} (solver error)"
            self.say(f"compact: {self.note}")
            self.stopped_by, self.status = "error", "solver error"
            return True
        if out.status == "none":
            return True
        hubs = model.assignment()
        cuts = model.separators(hubs)
        plan = [np.array(m, dtype=int) for m in hubs.values()]
        broken = "" if cuts else self.broken(plan)
        if broken:  # cannot happen if the model matches the rules; stop rather than loop
            self.note = f"stopped: the MIP solution breaks a rule the model should enforce ({broken})"
            self.say(f"compact: {self.note}")
            return True
        if not cuts:
            self.offer(plan, f"MIP {it}")
        elif self.cut_solution(it, cuts, plan, row):
            return True
        self.fix_by_reduced_cost()  # only acts if the incumbent improved, here or in a callback
        row["incumbent"] = self.upper if self.best is not None else None
        settled = out.status == "optimal" and not cuts and self.bound is not None
        if settled or self.within_gap():
            # An optimal MIP solution that needs no cut settles the run even outside the gap target:
            # re-solving the same model cannot raise its bound. That happens at gap 0, where the plan's
            # recomputed cost and the solver's bound may differ in the last bit, and where the solver
            # stops at its own tolerance (HiGHS's absolute gap; CBC's bound is lowered by its print
            # precision). The proof is judged on the gap alone.
            assert self.bound is not None
            proved = settled and rel_gap(self.upper, self.bound) <= GAP_FLOOR
            self.stopped_by, self.status = ("proof", "optimal") if proved else ("gap", "gap reached")
            return True
        return not cuts and out.status != "optimal"  # time ran out inside the solver

    def cut_solution(self, it: int, cuts: list[Cut], plan: list[np.ndarray], row: dict[str, Any]) -> bool:
        """Add the separator cuts a non-contiguous MIP solution breaks and repair it; ``True`` ends the loop."""
        model = self.model
        assert model is not None
        row["cuts_new"] = model.add_cuts(cuts)
        self.cuts_added = len(model.cuts) + model.capacity_cuts
        self.offer(repair_plan(self.inst, plan, rules=self.rules), f"repaired MIP {it}")
        if row["cuts_new"]:
            self.resynced = False
            return False
        if self.resynced:  # cannot happen if the model holds its cuts; stop rather than loop
            self.note = "stopped: the MIP keeps returning a solution its own cuts forbid"
            self.say(f"compact: {self.note}")
            return True
        # the solution breaks cuts the model already has: rebuild the live model from PuLP's
        self.say("compact: MIP solution breaks known cuts; rebuilding the solver model")
        model.live = self.root = RootLP(model, self.threads)
        self.resynced = True
        return False


def solve_compact(inst: Instance, *, incumbent: list[np.ndarray] | None = None, time_limit: float = 30.0,
                  gap: float = 0.01, solver: str = "highs", threads: int | None = None,
                  log: Log | None = None, cut_pool: CutPool | None = None) -> CompactResult:
    """Solve the compact MIP with lazy contiguity cuts; return a plan, a true bound and the gap.

    Steps: prune pairs by path population; solve the LP relaxation and add
    separator, population and capacity cuts in rounds (HiGHS, whatever ``solver``
    says); take the caller's incumbent or round the LP and repair it; fix
    variables by reduced cost against the incumbent; then solve the MIP, add
    separator cuts for every member cut off from its base, repair the solution
    into a contiguous plan, and repeat until the gap target, a proof or the time
    limit. With HiGHS, every improving solution is repaired during the solve and
    the solve stops as soon as the best contiguous plan is within ``gap`` of
    HiGHS's dual bound.

    Parameters
    ----------
    inst
        The compiled problem.
    incumbent
        A feasible contiguous plan (member position arrays). Used as the upper bound for
        reduced-cost fixing and as the MIP start. Ignored (with a log line) if it breaks a rule.
    time_limit
        Wall-clock seconds for the whole call (preparation, LP and every MIP solve).
    gap
        Target relative gap; the loop stops once ``(objective - bound) / |objective| <= gap``.
    solver
        ``"highs"`` or ``"cbc"`` for the MIP solves, or ``"scip"`` (optional extra) for one SCIP solve
        that separates contiguity in its search (:mod:`solvers.compact.scip`).
    threads
        Solver threads (``None``: the solver's default).
    log
        Receives one line per step (the same lines go to this module's logger).
    cut_pool
        An earlier solve's cuts (``CompactResult.cut_pool``) on the same practices: every
        contiguity cut that still holds here (:meth:`~solvers.compact.cuts.ContiguitySeparator.holds`) starts in the
        model, and the capacity cuts too when the variables are the same.

    Returns
    -------
    CompactResult
        Never raises on infeasible or timed-out input: the status says what happened.
    """
    return CompactSolve(inst, incumbent=incumbent, time_limit=time_limit, gap=gap, solver=solver, threads=threads,
                        log=log, cut_pool=cut_pool).run()
