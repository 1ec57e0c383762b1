"""Optimise: the whole engine behind one call, returning a scored, certified plan.

``optimise(problem, atlas)`` compiles the problem, checks it can be solved
(and explains why not), runs the heuristic column engine for a strong
incumbent, then the exact compact model for a true lower bound (and often a
better plan), and scores the best plan found. The solvers are imported here,
lazily, so that ``solvers`` may import the domain without a cycle.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pcn_planner.core.errors import InfeasibleError, InputError
from pcn_planner.data.atlas import Atlas
from pcn_planner.geography.region import Region, build_region
from pcn_planner.model.feasibility import explain_or_raise
from pcn_planner.model.instance import Instance, compile_problem, moved_from
from pcn_planner.model.plan import Plan
from pcn_planner.model.problem import COLUMN_SOLVERS, Problem
from pcn_planner.model.rules import check_plan
from pcn_planner.scoring.metrics import gap_text, gap_words
from pcn_planner.scoring.scorecard import Scorecard, score_instance

if TYPE_CHECKING:
    from solvers.columns import ColumnPool
    from solvers.state import EngineState

Log = Callable[[str], None]

#: Share of the time limit kept for alternatives when some are asked for.
ALTERNATIVES_SHARE = 0.25


def default_differ_by(practices: int) -> int:
    """Practices that must have moved between two options by default: one in fourteen, at least 2.

    For SSOT's 141 practices that is 10: change in two or three hubs, enough
    that options are real choices for a board rather than one practice
    swapped, and small enough that the next option is still nearly as good.
    """
    return max(2, round(practices / 14))

#: The heuristic's budget of work from nothing: rounds at most, and stalled rounds before it stops.
#: On SSOT at K=23 it converges in about 10 rounds (~11 s on 2 cores; benchmarks/results/ssot.txt).
COLD_BUDGET: dict[str, Any] = {"max_rounds": 12, "patience": 3}
#: The budget when it starts from related plans (``warm_start``): the plans are good starts, and the
#: exact model, which makes the bound, gets the time saved.
WARM_BUDGET: dict[str, Any] = {"max_rounds": 4, "patience": 1}
#: The budget when it starts from an earlier solve's state (``start_from``) whose plan keeps every
#: rule of this problem: no new seeds or grown columns (that solve's columns are in the pool), at
#: most 2 master rounds and none after a round without gain. A plan that breaks a new rule gets
#: ``WARM_BUDGET``.
STATE_BUDGET: dict[str, Any] = {"max_rounds": 2, "patience": 0, "seeds": False}
#: Safety net only: the share of the time limit after which the heuristic is cut short by the clock
#: (the run then says its plan may depend on the machine's speed: ``Result.reproducible``).
HEURISTIC_SAFETY = 0.6


@dataclass(frozen=True, eq=False)
class Alternative:
    """A further distinct plan, with its scorecard and its difference from the best.

    Attributes
    ----------
    plan, scorecard
        The plan and its scorecard.
    objective
        Its objective value (never below the best plan's).
    gap
        Measured against the best plan's bound: how far this plan could be from the optimum.
        For the best plan of another K of a K range, that K's own certified gap.
    practices_moved_from_best
        Practices that have moved from the best plan (their best-plan hub is not the
        best-plan hub of their new hub's base: :func:`~pcn_planner.model.instance.moved_from`).
    """

    plan: Plan
    scorecard: Scorecard
    objective: float
    gap: float | None
    practices_moved_from_best: int

    def __repr__(self) -> str:
        gap = gap_words(self.gap)
        return (f"<Alternative {self.plan.name!r}: objective {self.objective:.4f} (gap {gap}), "
                f"{self.practices_moved_from_best} practices differ from the best>")


@dataclass(frozen=True, eq=False)
class Result:
    """What :func:`optimise` found.

    Attributes
    ----------
    plan, scorecard
        The best plan and its scorecard.
    objective
        Its objective value (weighted sum of normalised per-hub terms).
    bound
        A true lower bound over all contiguous in-band plans, or ``None``.
    gap
        ``(objective - bound) / |objective|``, or ``None`` without a bound.
    objective_terms
        Each term's raw value, normalised value, weight and contribution.
    status, stopped_by
        Plain-words status and what ended the search (``gap``, ``proof`` or ``time``).
    solver, solver_version
        Backend of the exact model.
    wall_seconds
        Total time.
    alternatives
        Further distinct plans, best first.
    log
        One row per solver call (status, objective, bound, seconds).
    details
        Engine facts for the manifest: warm starts, columns, cuts, ``clock_cut`` (phases the
        time limit cut short) and ``trajectory`` (``[seconds, objective, bound]`` each time
        the incumbent or the bound moved).
    state
        What a related solve can start from (:class:`solvers.state.EngineState`; see
        :class:`~pcn_planner.session.Solver`).
    """

    plan: Plan
    scorecard: Scorecard
    problem: Problem
    objective: float
    bound: float | None
    gap: float | None
    objective_terms: dict
    status: str
    stopped_by: str
    solver: str
    solver_version: str
    wall_seconds: float
    alternatives: list[Alternative] = field(default_factory=list)
    log: list[dict] = field(default_factory=list, repr=False)
    details: dict = field(default_factory=dict, repr=False)
    state: EngineState | None = field(default=None, repr=False)

    @property
    def reproducible(self) -> bool:
        """The search ended by the gap target or a proof and no phase was cut by the clock.

        Then the same inputs and seed give this same plan on any machine, busy or idle:
        every phase is budgeted in work (rounds, cut rounds, nodes), not in seconds.
        """
        return self.stopped_by in ("gap", "proof") and not self.details.get("clock_cut")

    def solve_info(self) -> dict:
        """The solver facts a run manifest records."""
        return {
            "solver": self.solver, "solver_version": self.solver_version, "status": self.status,
            "stopped_by": self.stopped_by, "objective": self.objective, "bound": self.bound, "gap": self.gap,
            "objective_terms": self.objective_terms, "seed": self.problem.seed,
            **{k: v for k, v in self.details.items() if k != "trajectory"}, "reproducible": self.reproducible,
        }

    def write(self, out: str | Path, *, command: str = "optimise") -> Path:
        """Write the run directory (and one per alternative under ``alternatives/``)."""
        from pcn_planner.outputs.run import run_manifest, write_run

        out = Path(out)
        write_run(out, self.scorecard, run_manifest(self.scorecard, command=command, solve=self.solve_info(),
                                                    wall_seconds=self.wall_seconds))
        for i, alt in enumerate(self.alternatives, start=1):
            info = {**self.solve_info(), "objective": alt.objective, "gap": alt.gap, "objective_terms": None,
                    "alternative": i}
            write_run(out / "alternatives" / f"alt{i}", alt.scorecard,
                      run_manifest(alt.scorecard, command=command, solve=info))
        return out

    def _repr_html_(self) -> str:
        """Jupyter: a header line, the plan's offline map (with its gap) and the scorecard table."""
        from html import escape

        from pcn_planner.outputs.maps.plan_map import plan_map

        gap = gap_text(self.gap)
        head = (f"<p><b>{escape(self.plan.name)}</b>: objective {self.objective:.4f}, {gap}, "
                f"{escape(self.status)}, {self.wall_seconds:.1f} s</p>")
        return head + plan_map(self.scorecard, gap=self.gap, lsoa_layers=False)._repr_html_() + \
            self.scorecard._repr_html_()

    def __repr__(self) -> str:
        gap = gap_words(self.gap)
        return (f"<Result {self.plan.name!r}: K={self.plan.k}, objective {self.objective:.4f}, gap {gap}, "
                f"{self.status} in {self.wall_seconds:.1f} s>")


def name_hubs(region: Region, hubs: list[np.ndarray], inst: Instance, name: str) -> Plan:
    """Number hubs north to south (by base site) and label them by base town and base practice.

    The base is the plan's :meth:`Instance.bases`, the same site the
    scorecard, the map's popups and the report show.
    """
    practices = region.atlas.practices
    bases = inst.bases(hubs)
    order = sorted(range(len(hubs)), key=lambda j: (-float(practices.at[inst.codes[bases[j]], "lat"]),
                                                    inst.codes[bases[j]]))
    width = max(2, len(str(len(hubs))))
    mapping, labels = {}, {}
    for rank, j in enumerate(order, start=1):
        hub_id = f"H{rank:0{width}d}"
        base = inst.codes[bases[j]]
        town = region.practice_comm.at[base, "town"]
        labels[hub_id] = f"{town} ({practices.at[base, 'name']})"
        for i in hubs[j]:
            mapping[inst.codes[int(i)]] = hub_id
    # The plan knows its region and bounds, so that it shows as a map in Jupyter.
    return Plan.from_mapping(mapping, name=name, labels=labels).on(region, bounds=inst.problem.bounds)


def _warm_hubs(inst: Instance, plans: Plan | Sequence[Plan]) -> list[list[np.ndarray]]:
    """Member positions of each warm-start plan that covers exactly this instance's practices."""
    plans = [plans] if isinstance(plans, Plan) else list(plans)
    codes = set(inst.codes)
    return [inst.hubs_of(p) for p in plans if set(p.assignment.index) == codes]


def _plan_hash(inst: Instance, hubs: list[np.ndarray]) -> str:
    """SHA-256 of a plan's grouping (sorted practice codes per hub), whatever its hub ids."""
    groups = sorted(",".join(sorted(inst.codes[int(i)] for i in h)) for h in hubs)
    return hashlib.sha256("\n".join(groups).encode()).hexdigest()


def _region(atlas: Atlas | Region | str | Path | None) -> Region:
    if isinstance(atlas, Region):
        return atlas
    return build_region(atlas)


def optimise(
    problem: Problem | None = None,
    atlas: Atlas | Region | str | Path | None = None,
    *,
    baseline: Plan | None = None,
    alternatives: int = 0,
    differ_by: int | None = None,
    log: Log | None = None,
    pool: ColumnPool | None = None,
    warm_start: Plan | Sequence[Plan] = (),
    start_from: EngineState | None = None,
    _retried: bool = False,
) -> Result:
    """Group practices into K contiguous hubs within the bounds, as well as provably possible.

    Parameters
    ----------
    problem
        Rules, weights and solver settings (default: ``Problem()``, K=23, 30k-70k).
    atlas
        An :class:`Atlas`, a prepared :class:`Region`, an atlas folder, or ``None``
        for the embedded SSOT data. Pass a Region to reuse it across calls.
    baseline
        Plan for the disruption term and the max-moved rule (default: current PCNs).
    alternatives
        How many further options to return. They are found within the same
        time limit (the search gets ``1 - ALTERNATIVES_SHARE`` of it); the best
        of all the options found is returned as the plan.
    differ_by
        Practices that must have moved between each option and every earlier
        one, in both directions (default :func:`default_differ_by`: 10 for
        SSOT; "moved" as :func:`~pcn_planner.model.instance.moved_from` defines it).
    log
        Receives progress lines (e.g. ``print``).
    pool
        A column pool from an earlier run, to reuse its candidate hubs.
    warm_start
        Plans from related runs (e.g. the last scenario of a batch with the same
        K) to start from. A plan that is feasible under this problem becomes the
        first incumbent; one that breaks the band (after growth, say) is
        repaired first; plans over other practices are ignored. Warm starts
        change where the search begins, never the bound's validity.
    start_from
        A related solve's state (``Result.state``): its plan as a warm start,
        a copy of its columns, and every cut that still holds here. The run
        then gets the smaller :data:`STATE_BUDGET` of heuristic work.

    Returns
    -------
    Result

    Raises
    ------
    InfeasibleError
        When the rules cannot all hold (with the reasons in words), or no plan
        was found within the time limit.

    Examples
    --------
    >>> import pcn_planner as pp
    >>> region = pp.build_region()
    >>> result = pp.optimise(pp.Problem(k=23, time_limit=30), region)
    >>> result.plan.k, result.scorecard.feasible
    (23, True)
    >>> result.gap is not None          # a certified gap against a true lower bound
    True
    >>> result                          # doctest: +SKIP
    >>> # in a notebook: the header, the plan's map and the scorecard
    """
    from solvers.compact import solve_compact
    from solvers.heuristic import solve_heuristic
    from solvers.state import EngineState

    if isinstance(alternatives, bool) or not isinstance(alternatives, int) or alternatives < 0:
        raise InputError(f"alternatives must be a whole number >= 0, got {alternatives!r}", field="alternatives")
    if differ_by is not None and (isinstance(differ_by, bool) or not isinstance(differ_by, int) or differ_by < 1):
        raise InputError(f"differ_by must be a whole number of practices >= 1, got {differ_by!r}", field="differ_by")
    start = time.perf_counter()
    problem = problem or Problem()
    say = log or (lambda _m: None)
    region = _region(atlas)
    inst = compile_problem(problem, region, baseline)
    names = dict(zip(region.atlas.practices.index, region.atlas.practices["name"], strict=True))
    feasibility = explain_or_raise(inst, names)
    for u, v, reason in inst.nesting_links:
        say(f"note: {inst.codes[u]}-{inst.codes[v]} linked for nesting: {reason}")
    if inst.k_min < inst.k_max:
        return _each_k(problem, region, inst, (feasibility.k_low, feasibility.k_high), baseline=baseline,
                       alternatives=alternatives, differ_by=differ_by, log=log, warm_start=warm_start, start=start)

    rng = np.random.default_rng(problem.seed)
    coords = region.atlas.practices.loc[list(inst.codes), ["lat", "lon"]].to_numpy(float)
    labels = region.atlas.practices.loc[list(inst.codes), "pcn_code"].to_numpy()
    starts = _warm_hubs(inst, warm_start)
    if start_from is not None:
        earlier = start_from.plan_for(inst.codes)
        starts = ([earlier] if earlier is not None else []) + starts
        pool = pool if pool is not None else start_from.columns()
    search_limit = problem.time_limit * (1 - ALTERNATIVES_SHARE if alternatives else 1.0)
    # an earlier plan that still keeps every rule (a weight changed, say) needs no new seeds; one that
    # breaks the new band or rules is only a start, and the search around it is wider
    kept = start_from is not None and bool(starts) and not check_plan(inst, starts[0])
    budget = STATE_BUDGET if kept else (WARM_BUDGET if starts else COLD_BUDGET)
    # SCIP solves the exact compact model only; the heuristic's master problems run on HiGHS
    columns_solver = problem.solver if problem.solver in COLUMN_SOLVERS else "highs"
    heur = solve_heuristic(inst, coords, labels, rng=rng, time_limit=HEURISTIC_SAFETY * search_limit, pool=pool,
                           solver=columns_solver, log=say, starts=starts, **budget)
    say(f"[{time.perf_counter() - start:5.1f}s] heuristic: objective "
        f"{'none' if heur.hubs is None else f'{heur.objective:.4f}'}")
    remaining = max(1.0, search_limit - (time.perf_counter() - start))
    t_exact = time.perf_counter() - start
    exact = solve_compact(inst, incumbent=heur.hubs, time_limit=remaining, gap=problem.gap,
                          solver=problem.solver, log=say,
                          cut_pool=start_from.cuts if start_from is not None else None)
    say(f"[{time.perf_counter() - start:5.1f}s] exact model: {exact.status}")
    clock_cut = [phase for phase, cut in (("heuristic", heur.stopped_by == "time"), ("exact", exact.clock_cut))
                 if cut]

    candidates = [(h, inst.plan_cost(h)) for h in (heur.hubs, exact.hubs) if h is not None]
    if not candidates:
        if problem.max_moved is not None and not _retried:
            found = fewest_moved(problem, region, baseline, log=say)
            if found is not None and found.fewest > problem.max_moved:
                raise InfeasibleError(found.refusal(problem.max_moved))
            if found is not None:  # a plan within the limit exists: search again from it
                warm = [found.plan] + ([warm_start] if isinstance(warm_start, Plan) else list(warm_start))
                return optimise(problem, region, baseline=baseline, alternatives=alternatives, differ_by=differ_by,
                                log=log, pool=heur.pool, warm_start=warm, start_from=start_from, _retried=True)
        if exact.status == "infeasible":
            raise InfeasibleError(
                "no plan satisfies every rule: the solver proved it. "
                f"{exact.message or 'Relax a rule (bounds, K, nesting, anchors, max moved) and try again.'}")
        raise InfeasibleError(
            f"no plan satisfying every rule was found in {problem.time_limit:g} s; "
            "give it more time (--time-limit) or relax a rule")
    hubs, objective = min(candidates, key=lambda c: c[1])
    others: list[list[np.ndarray]] = []
    if alternatives:
        from solvers.alternatives import next_best_plans

        left = max(0.5, problem.time_limit - (time.perf_counter() - start))
        others = next_best_plans(inst, heur.pool, hubs, alternatives, solver=columns_solver, time_limit=left,
                                 differ_by=default_differ_by(inst.n) if differ_by is None else differ_by,
                                 log=say)
        # the best of all the options is the plan: an alternative that beats it takes its place
        ranked = sorted([hubs, *others], key=inst.plan_cost)
        hubs, others = ranked[0], ranked[1:]
        objective = inst.plan_cost(hubs)
    bound = exact.bound
    if bound is not None:
        bound = min(bound, objective)
    gap = None if bound is None else (objective - bound) / abs(objective)
    stopped_by = "time" if exact.stopped_by == "time" and (gap is None or gap > problem.gap) else (
        "proof" if gap is not None and gap <= 1e-9 else ("gap" if gap is not None and gap <= problem.gap
                                                          else exact.stopped_by))

    plan = name_hubs(region, hubs, inst, name=f"K={len(hubs)} optimised")
    card = score_instance(region, inst, plan)
    if not card.feasible:  # never ship a plan that breaks a rule silently
        raise RuntimeError(f"internal error: optimised plan breaks rules: {card.problems}")

    alts: list[Alternative] = []
    best_hub = plan.assignment.reindex(list(inst.codes)).to_numpy()
    for k, alt_hubs in enumerate(others, 1):
        alt_plan = name_hubs(region, alt_hubs, inst, name=f"K={len(alt_hubs)} alternative {k}")
        alt_card = score_instance(region, inst, alt_plan)
        alt_obj = inst.plan_cost(alt_hubs)
        alt_gap = None if bound is None else (alt_obj - bound) / abs(alt_obj)
        differ = moved_from(best_hub, alt_hubs, inst.bases(alt_hubs))
        alts.append(Alternative(alt_plan, alt_card, alt_obj, alt_gap, len(differ)))

    return Result(
        plan=plan, scorecard=card, problem=problem, objective=objective, bound=bound, gap=gap,
        objective_terms=inst.decompose(hubs), status=exact.status if exact.hubs is not None else "heuristic",
        stopped_by=stopped_by, solver=exact.solver, solver_version=exact.solver_version,
        wall_seconds=time.perf_counter() - start, alternatives=alts,
        log=[{"stage": "heuristic", "objective": heur.objective, "seconds": heur.wall_seconds},
             *[{"stage": "exact", **row} for row in exact.log]],
        details={"warm_starts": len(starts), "warm_start_sha256": [_plan_hash(inst, h) for h in starts],
                 "columns": len(heur.pool) if heur.pool is not None else None, "cuts_added": exact.cuts_added,
                 "fixed_by_reduced_cost": exact.fixed_by_reduced_cost, "nodes": exact.nodes,
                 "heuristic_rounds": heur.rounds, "clock_cut": clock_cut,
                 "trajectory": [[round(t_exact + t, 3), obj, low] for t, obj, low in exact.trajectory]},
        state=EngineState.capture(inst.codes, hubs, heur.pool, exact.cut_pool),
    )


def _each_k(problem: Problem, region: Region, inst: Instance, feasible: tuple[int, int], *,
            baseline: Plan | None, alternatives: int, differ_by: int | None, log: Log | None,
            warm_start: Plan | Sequence[Plan], start: float) -> Result:
    """A K range: the best plan of every K (each with the whole time limit), and the best of them.

    Each K is solved on its own, so each option carries its own K's certified
    gap. They are compared on the range's objective, which adds the per-hub
    charge (``weights.hubs`` per hub, normalised by today's number of PCNs).
    The range's bound is the least over K of each K's bound plus its charge,
    so the gap of the pick is certified over every K of the range.
    """
    say = log or (lambda _m: None)
    results: dict[int, Result] = {}
    for k in range(max(inst.k_min, feasible[0]), min(inst.k_max, feasible[1]) + 1):
        say(f"K={k}: solving")
        try:
            results[k] = optimise(problem.with_(k=k), region, baseline=baseline, log=log, warm_start=warm_start)
        except InfeasibleError as exc:
            say(f"K={k}: {exc}")
    if not results:
        raise InfeasibleError(f"no K in {inst.k_min}-{inst.k_max} has a plan satisfying every rule; "
                              f"the bounds allow K={feasible[0]}-{feasible[1]}")
    cost = {k: inst.plan_cost(inst.hubs_of(r.plan)) for k, r in results.items()}
    charge = {k: inst.weights["hubs"] / inst.norms["hubs"] * k for k in results}
    best_k = min(cost, key=lambda k: (cost[k], k))
    best = results[best_k]
    if alternatives:
        best = optimise(problem.with_(k=best_k), region, baseline=baseline, alternatives=alternatives,
                        differ_by=differ_by, log=log, warm_start=[best.plan])
    objective = inst.plan_cost(inst.hubs_of(best.plan))
    unresolved = [k for k in range(max(inst.k_min, feasible[0]), min(inst.k_max, feasible[1]) + 1)
                  if k not in results or results[k].bound is None]
    bound = None if unresolved else min(min(objective, r.bound + charge[k]) for k, r in results.items()
                                        if r.bound is not None)
    gap = None if bound is None else (objective - bound) / abs(objective)
    resolved = gap is not None and gap <= problem.gap
    plan = replace(best.plan, name=f"K={best_k} optimised (best of K={inst.k_min}-{inst.k_max})")
    card = score_instance(region, inst, plan)
    best_hub = plan.assignment.reindex(list(inst.codes)).to_numpy()
    options = []
    for a in best.alternatives:  # options of the chosen K, on the range's objective and bound
        obj = inst.plan_cost(inst.hubs_of(a.plan))
        options.append(replace(a, objective=obj, gap=None if bound is None else (obj - bound) / abs(obj)))
    for k, r in sorted(results.items()):
        if k == best_k:
            continue
        hubs = inst.hubs_of(r.plan)
        other = replace(r.plan, name=f"K={k} option")
        options.append(Alternative(other, score_instance(region, inst, other), cost[k], r.gap,
                                   len(moved_from(best_hub, hubs, inst.bases(hubs)))))
    return Result(
        plan=plan, scorecard=card, problem=problem, objective=objective, bound=bound, gap=gap,
        objective_terms=inst.decompose(inst.hubs_of(plan)), status=best.status,
        stopped_by=("proof" if gap is not None and gap <= 1e-9 else "gap") if resolved else "time",
        solver=best.solver, solver_version=best.solver_version, wall_seconds=time.perf_counter() - start,
        alternatives=options, log=best.log,
        details={**best.details, "by_k": {str(k): {"objective": cost[k], "hub_charge": charge[k],
                                                   "bound": r.bound, "gap": r.gap, "stopped_by": r.stopped_by}
                                          for k, r in sorted(results.items())}},
    )


@dataclass(frozen=True)
class FewestMoved:
    """The fewest practices any plan keeping the other rules must move, and a plan that moves them.

    Attributes
    ----------
    fewest
        Practices moved by :attr:`plan` (the count :meth:`Instance.moved_positions` defines).
    at_least
        A proven lower bound on that minimum (equal to ``fewest`` when proven).
    plan
        A plan keeping every rule but the moved-practices limit, moving ``fewest``.
    """

    fewest: int
    at_least: int
    plan: Plan

    @property
    def proven(self) -> bool:
        """Whether ``fewest`` is proven to be the minimum."""
        return self.at_least >= self.fewest

    def refusal(self, limit: int) -> str:
        """Why a limit below :attr:`fewest` cannot be met, naming the rule and the smallest limit that works."""
        rule = "the moved-practices rule (--max-moved, rules.max_moved)"
        if self.proven:
            return (f"{rule} cannot hold: at most {limit} practices may leave their baseline PCN, but every plan "
                    f"that keeps the other rules moves at least {self.fewest}. The smallest limit that works is "
                    f"{self.fewest} (--max-moved {self.fewest}).")
        return (f"{rule} could not be met: at most {limit} practices may leave their baseline PCN; the best plan "
                f"found keeping the other rules moves {self.fewest}, and no plan moves fewer than "
                f"{max(limit + 1, self.at_least)}. A limit of {self.fewest} works (--max-moved {self.fewest}); "
                "give it more time to find the exact smallest.")


def fewest_moved(problem: Problem, region: Region, baseline: Plan | None = None, *,
                 log: Log | None = None) -> FewestMoved | None:
    """Solve for the fewest moved practices under every rule of ``problem`` but its moved limit.

    The objective keeps only the disruption term, whose per-hub cost is the
    number of practices moved from the base's baseline PCN, so its optimum is
    the minimum. ``None`` if no plan keeps the other rules either (then
    another rule is to blame).
    """
    only_moves = dict.fromkeys(problem.weights.as_dict(), 0.0) | {"disruption": 1.0}
    relaxed = problem.with_(max_moved=None, weights=only_moves, gap=0.0)
    try:
        result = optimise(relaxed, region, baseline=baseline, log=log)
    except InfeasibleError:
        return None
    inst = compile_problem(relaxed, region, baseline)
    fewest = len(inst.moved_positions(inst.hubs_of(result.plan)))
    low = 0 if result.bound is None else math.ceil(result.bound * inst.norms["disruption"] - 1e-6)
    return FewestMoved(fewest=fewest, at_least=min(fewest, low), plan=result.plan)
