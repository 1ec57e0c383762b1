"""MIP back ends of the compact model: HiGHS (highspy) and CBC (through PuLP), in solver-neutral terms.

The HiGHS MIP runs on a copy of the root LP's highspy model with the ``x``
columns made binary (:meth:`solvers.compact.root.RootLP.mip`): rebuilding it
through PuLP would cost about 2 s on SSOT. The MIP start is set with
``setSolution``, and a :class:`Watch` follows the solve through callbacks.
CBC runs as a command-line program; its dual bound is parsed from its log
lines, which carry 8 digits (its closing "Lower bound:" line has 3 decimals
and may round up). Both run with fixed seeds, so a solve that ends on a proof
or the gap target repeats exactly; one stopped by the time limit may differ.
"""

from __future__ import annotations

import logging
import math
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pulp

from solvers.highs import new_highs

if TYPE_CHECKING:
    from .model import CompactModel

__all__ = ["QUIET_HEURISTICS", "SEED", "Solve", "Watch", "cbc_bound", "cbc_version", "highs_version",
           "option_value", "solve_cbc", "solve_highs"]

logger = logging.getLogger(__name__)

#: HiGHS and CBC random seed, fixed so runs that end on a proof or a gap are repeatable.
SEED = 0
#: HiGHS options for a MIP that starts from a plan: no primal heuristics. The plan comes from the
#: column heuristic, which beats HiGHS's sub-MIPs here; they took most of the root node's time
#: while the dual bound (the certificate) waited.
QUIET_HEURISTICS = {"mip_heuristic_effort": 0.0, "mip_heuristic_run_rins": False, "mip_heuristic_run_rens": False,
                    "mip_heuristic_run_root_reduced_cost": False, "mip_heuristic_run_feasibility_jump": False}


@dataclass
class Solve:
    """One MIP solve's outcome, in the solver-neutral terms the driver needs.

    Attributes
    ----------
    status
        ``optimal``, ``feasible``, ``infeasible``, ``none`` (no solution in time) or ``error``.
    objective, bound
        The solver's objective and dual bound, or ``None``.
    nodes
        Branch-and-bound nodes, or ``None`` if unknown.
    seconds
        Wall-clock time of the solve.
    """

    status: str
    objective: float | None
    bound: float | None
    nodes: int | None
    seconds: float


class Watch:
    """Follows a HiGHS MIP solve through its callbacks.

    Every improving solution HiGHS finds goes to ``on_solution`` (which makes it
    contiguous and keeps it if it beats the incumbent), and the solve is
    interrupted as soon as ``stop_at(dual_bound)`` says the incumbent is close
    enough. HiGHS alone cannot know that: its own incumbent may not be contiguous.
    Python errors inside a callback are kept and raised after the solve, since
    they must not unwind through the solver.
    """

    def __init__(self, model: CompactModel, on_solution: Callable[[dict[int, list[int]]], None],
                 stop_at: Callable[[float], bool]) -> None:
        self.model, self.on_solution, self.stop_at = model, on_solution, stop_at
        self.error: BaseException | None = None
        self.index: list[tuple[tuple[int, int], int]] = []
        self.attached: Any = None

    def attach(self, h: Any) -> None:
        """Subscribe to a highspy model's callbacks (once per model)."""
        if self.attached is h:
            return
        self.attached = h
        self.index = [(key, var.index) for key, var in self.model.x.items()]
        h.cbMipImprovingSolution.subscribe(self._improving)
        h.cbMipInterrupt.subscribe(self._interrupt)

    def _improving(self, event: Any) -> None:
        try:
            sol = event.data_out.mip_solution
            hubs: dict[int, list[int]] = {}
            for (p, b), i in self.index:
                if sol[i] > 0.5:
                    hubs.setdefault(b, []).append(p)
            self.on_solution({b: sorted(m) for b, m in sorted(hubs.items())})
        except Exception as exc:  # noqa: BLE001 (re-raised after the solve)
            self.error = self.error or exc
            event.interrupt()

    def _interrupt(self, event: Any) -> None:
        try:
            if self.stop_at(float(event.data_out.mip_dual_bound)):
                event.interrupt()
        except Exception as exc:  # noqa: BLE001 (re-raised after the solve)
            self.error = self.error or exc
            event.interrupt()


def highs_version() -> str:
    """Version of the installed HiGHS, as ``major.minor.patch``."""
    h = new_highs()
    return f"{h.versionMajor()}.{h.versionMinor()}.{h.versionPatch()}"


def cbc_version() -> str:
    """CBC has no version call through PuLP: the PuLP version that bundles it."""
    return "CBC (PuLP " + pulp.__version__ + ")"


def option_value(h: Any, name: str) -> Any:
    """A HiGHS option's value (highspy returns ``(status, value)`` in some versions, the value in others)."""
    value = h.getOptionValue(name)
    return value[1] if isinstance(value, tuple) else value


def solve_highs(model: CompactModel, *, time_limit: float, gap: float, threads: int | None, start: bool,
                watch: Watch | None = None) -> Solve:
    """One HiGHS MIP solve on the live model: the root LP with every cut and fixing in it.

    Copying the root's highspy model spares rebuilding it through PuLP (about 2 s on SSOT,
    most of it PuLP collecting 16,000 variables from 17,000 rows). The start plan is
    read from the variables' initial values (:meth:`CompactModel.set_start`) and the solution is
    written back to them, so the caller reads it as from any PuLP solve.
    """
    import highspy

    S = highspy.HighsModelStatus
    lp = model.live
    if lp is None:
        raise RuntimeError("internal error: the MIP needs the root LP model")
    t0 = time.perf_counter()
    variables = list(model.x.values()) + list(model.e.values())
    index = np.array([var.index for var in variables], dtype=np.int32)
    for presolve in ("choose", "off"):
        # HiGHS 1.16 presolve sometimes fails on a model it can solve: "Solve error" (a postsolved
        # point breaks a row), or, from a MIP start, the start returned as "optimal" with an
        # objective that leaves out presolved columns. Without presolve both solve; retry once.
        h = lp.mip()
        if start:
            h.setSolution(len(index), index, np.array([var.varValue or 0.0 for var in variables]))
        if watch is not None:
            watch.attach(h)
        options: dict[str, Any] = dict(QUIET_HEURISTICS if start else lp.heuristic_defaults, mip_rel_gap=gap,
                                       random_seed=SEED, presolve=presolve,
                                       time_limit=max(time_limit - (time.perf_counter() - t0), 0.01))
        if threads is not None:
            options["threads"] = threads
        for name, value in options.items():
            h.setOptionValue(name, value)
        h.run()
        if watch is not None and watch.error is not None:
            raise watch.error
        status, info = h.getModelStatus(), h.getInfo()
        has_solution = info.primal_solution_status == 2  # kSolutionStatusFeasible
        col = np.asarray(h.getSolution().col_value) if has_solution else None
        consistent = col is None or math.isclose(float(np.dot(h.getLp().col_cost_, col)),
                                                 info.objective_function_value, rel_tol=1e-7, abs_tol=1e-9)
        if status not in (S.kSolveError, S.kPresolveError, S.kPostsolveError) and consistent:
            break
        logger.debug("HiGHS MIP with presolve=%s ended %s (objective consistent: %s)", presolve, status, consistent)
    seconds = time.perf_counter() - t0
    if col is not None:
        for var, value in zip(variables, col[index], strict=True):
            var.varValue = float(value)
    if not consistent:
        return Solve("error", None, None, None, seconds)
    if status in (S.kInfeasible, S.kUnboundedOrInfeasible):  # the model is bounded: e >= 0 costs >= 0
        return Solve("infeasible", None, None, None, seconds)
    nodes = int(info.mip_node_count)
    if status == S.kOptimal:
        return Solve("optimal", float(info.objective_function_value), float(info.mip_dual_bound), nodes, seconds)
    if status in (S.kSolveError, S.kPresolveError, S.kPostsolveError, S.kModelError, S.kLoadError):
        return Solve("error", None, None, None, seconds)
    obj = float(info.objective_function_value) if has_solution else None
    bound = float(info.mip_dual_bound) if math.isfinite(info.mip_dual_bound) else None
    return Solve("feasible" if has_solution else "none", obj, bound, nodes, seconds)


# CBC prints its final "Lower bound:" to 3 decimals only, which may round up; these lines carry 8 digits
_CBC_PARTIAL = re.compile(r"Cbc0005I Partial search - best objective \S+ \(best possible (\S+)\)")
_CBC_GAP_EXIT = re.compile(r"Cbc0011I Exiting as integer gap of (\S+)")
_CBC_PROGRESS = re.compile(r"best possible (-?[\d.eE+-]+)")
# a finished search: the tree was exhausted, or preprocessing proved nothing beats the start
_CBC_COMPLETED = re.compile(r"Cbc0001I Search completed|^Result - Optimal solution found\s*$", re.M)
_CBC_NODES = re.compile(r"^Enumerated nodes:\s*(\d+)", re.M)


def cbc_bound(text: str, objective: float | None) -> float | None:
    """CBC's dual bound from its log, lowered by the print precision (8 significant digits)."""
    value: float | None = None
    if m := _CBC_PARTIAL.search(text):
        value = float(m.group(1))
    elif (m := _CBC_GAP_EXIT.search(text)) and objective is not None:
        value = objective - float(m.group(1))  # CBC's "integer gap" is best objective minus best possible
    elif _CBC_COMPLETED.search(text) and objective is not None:
        value = objective  # the search finished: a proof
    elif found := _CBC_PROGRESS.findall(text):
        value = float(found[-1])  # the last progress line; bounds only rise
    return None if value is None else value - 1e-8 * max(1.0, abs(value))


def solve_cbc(prob: pulp.LpProblem, *, time_limit: float, gap: float, threads: int | None, start: bool) -> Solve:
    """One CBC MIP solve of the PuLP model, starting from the variables' initial values if ``start``.

    PuLP runs CBC as a separate program, so there are no callbacks to watch it
    with: the bound and node count come from its log file.
    """
    with tempfile.TemporaryDirectory(prefix="pcn_cbc_") as tmp:
        log_path = Path(tmp) / "cbc.log"
        solver = pulp.PULP_CBC_CMD(mip=True, msg=False, timeLimit=max(time_limit, 0.01), gapRel=gap,
                                   threads=threads, warmStart=start, logPath=str(log_path),
                                   options=[f"randomCbcSeed {SEED + 1}"])
        t0 = time.perf_counter()
        try:
            prob.solve(solver)
        except pulp.PulpSolverError:  # CBC did not run or wrote no solution
            return Solve("error", None, None, None, time.perf_counter() - t0)
        seconds = time.perf_counter() - t0
        text = log_path.read_text(errors="replace") if log_path.exists() else ""
    nodes_match = _CBC_NODES.search(text)
    nodes = int(nodes_match.group(1)) if nodes_match else None
    if prob.status == pulp.LpStatusInfeasible:
        return Solve("infeasible", None, None, nodes, seconds)
    has_solution = prob.sol_status in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible)
    obj = float(pulp.value(prob.objective)) if has_solution else None
    bound = cbc_bound(text, obj)
    proved = bool(_CBC_COMPLETED.search(text)) or bool(_CBC_GAP_EXIT.search(text))
    status = "optimal" if proved and has_solution else ("feasible" if has_solution else "none")
    return Solve(status, obj, bound, nodes, seconds)
