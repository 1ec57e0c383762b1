"""The heuristic engine: seed partitions, candidate hubs, master, local search, pricing.

:func:`solve_heuristic` runs within a budget of work, not of time: rounds, stalled
rounds (``patience``), growth runs, spanning-tree starts and allocations, with every
master solved to optimality over its columns. The time limit is only a safety net;
when it cuts a stage short the result says so (``stopped_by="time"``), because only
then may the plan depend on the machine's speed. The stages:

1. *Checks.* Rule contradictions and the feasible range of K (from
   :func:`pcn_planner.model.feasibility.check_feasibility`, plus the pieces left
   when locked hubs are taken out). A failed check returns ``hubs=None`` with
   the reason in words.
2. *Seeds.* The free practices fall into independent pieces (connected parts
   of each nesting zone once locked hubs are removed). The free hubs are
   allocated to pieces, and each piece is partitioned from clusterings
   (Ward, k-means), the current PCNs and random spanning trees, each repaired
   into band by :func:`solvers.local_search.repair`. Every cluster and every
   PCN (split or merged to fit the band) also becomes a column on its own, and
   randomised region growing adds more.
3. *Rounds.* Restricted master LP (duals), then the set-partitioning master
   MIP (:mod:`solvers.master`) warm-started from the incumbent over the
   columns that reduced-cost fixing keeps, capped to the cheapest
   ``master_columns`` by reduced cost (one uncapped solve follows a stalled
   round); local search (moves, swaps, ReCom pair recombination) from the best
   plan, whose hubs join the pool; pricing from the LP duals. A stalled round
   also polishes one more repaired seed plan and a few random ReCom kicks of
   the incumbent (iterated local search). The run ends after ``patience``
   stalled rounds, the round limit or the time limit.

Every returned plan is checked rule by rule (each practice once, K in range,
each hub contiguous, in band, nested, anchored, keep-together/apart, locked
hubs, moved-practice limit). The master LP value is never reported as a bound:
this engine reports no bound at all.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from pcn_planner.model.instance import Instance
from pcn_planner.model.rules import check_plan

from .columns import (
    ColumnPool,
    HubRules,
    clustering_labellings,
    fit_to_band,
    labelling_from_practices,
    pcn_columns,
    project,
    random_growth,
    tree_partition,
    unit_components,
    unit_coords,
)
from .graphs import pieces
from .local_search import Partition, count_fix, improve, perturb, price, recombine, repair
from .master import reduced_cost_filter, solve_master, solve_master_lp

__all__ = ["HeuristicResult", "allocate", "solve_heuristic", "verify_plan"]

logger = logging.getLogger(__name__)

#: Random spanning trees per hub pair in recombination (plus one BFS tree).
RECOM_TREES = 3
#: Randomised pricing growths per seed and base, besides the greedy one.
PRICE_RANDOM_RUNS = 2


@dataclass(frozen=True)
class HeuristicResult:
    """Outcome of :func:`solve_heuristic`.

    Attributes
    ----------
    hubs
        Sorted practice-position arrays, one per hub (sorted by first member), or ``None``.
    objective
        Plan cost (:meth:`Instance.plan_cost`), or ``None``.
    pool
        The column pool, reusable for the next scenario or as warm start.
    rounds
        Master/local-search rounds run.
    wall_seconds
        Elapsed time.
    log
        One dict per step: ``stage, round, seconds, columns, objective, detail``.
    reason
        Why there is no plan (``None`` when there is one).
    stopped_by
        ``"converged"`` (rounds stopped improving), ``"rounds"`` (round limit), ``"time"`` (the time
        limit ended the run or cut a stage short, so the result may differ across machines) or
        ``"infeasible"`` (a check failed; see ``reason``).
    """

    hubs: list[np.ndarray] | None
    objective: float | None
    pool: ColumnPool
    rounds: int
    wall_seconds: float
    log: tuple[dict, ...] = field(repr=False)
    reason: str | None = None
    stopped_by: str = "converged"


def allocate(pops: Sequence[float], lo: Sequence[int], hi: Sequence[int], total: int) -> list[int] | None:
    """Share ``total`` hubs among pieces within ``[lo, hi]`` each, most patients per hub first.

    Starts from the minimum counts and gives each further hub to the piece
    whose hubs would otherwise be largest (a D'Hondt-style rule). ``None`` if
    ``total`` is outside ``[sum lo, sum hi]``.
    """
    k = [int(v) for v in lo]
    if sum(k) > total or sum(hi) < total:
        return None
    while sum(k) < total:
        open_ = [r for r in range(len(k)) if k[r] < hi[r]]
        r = max(open_, key=lambda r: (pops[r] / max(k[r], 1e-9), -r))
        k[r] += 1
    return k


def _perturb(k: list[int], lo: Sequence[int], hi: Sequence[int], rng: np.random.Generator) -> list[int]:
    """Move one hub between two pieces, within their limits (a different allocation to try)."""
    give = [r for r in range(len(k)) if k[r] > lo[r]]
    take = [r for r in range(len(k)) if k[r] < hi[r]]
    if not give or not take:
        return list(k)
    a, b = int(give[int(rng.integers(len(give)))]), int(take[int(rng.integers(len(take)))])
    out = list(k)
    if a != b:
        out[a] -= 1
        out[b] += 1
    return out


def verify_plan(inst: Instance, hubs: Sequence[np.ndarray]) -> list[str]:
    """Every rule a plan breaks, in words (empty if it is feasible): :func:`pcn_planner.model.rules.check_plan`."""
    return [v.text for v in check_plan(inst, hubs)]


class _Run:
    """Mutable state of one heuristic run (kept out of the public API)."""

    def __init__(self, inst: Instance, pool: ColumnPool, rules: HubRules, t0: float, deadline: float,
                 sink: Callable[[str], None] | None) -> None:
        self.inst, self.pool, self.rules = inst, pool, rules
        self.t0, self.deadline, self.sink = t0, deadline, sink
        self.rows: list[dict] = []
        self.best: list[np.ndarray] | None = None
        self.best_cost = math.inf
        self.round = 0
        self.rejected: list[str] = []  # first broken rule of each plan turned down
        self.fewest_moved = math.inf  # fewest moved practices among plans turned down for max_moved
        self.time_hit = False  # some stage was cut short by a time limit: the result may vary by machine
        # other repaired seed plans, cheapest first: restarts for local search once rounds stall
        self.starts: list[tuple[float, list[np.ndarray]]] = []
        self._start_keys: set[frozenset[frozenset[int]]] = set()

    def add_starts(self, per_piece: list[list[tuple[float, list[list[int]]]]], locked: list[np.ndarray]) -> None:
        """Record full plans: the best partition of every piece, varied one piece at a time."""
        best = [min(found, key=lambda t: t[0]) for found in per_piece]
        for r, found in enumerate(per_piece):
            for cost, parts in found:
                chosen = [parts if i == r else best[i][1] for i in range(len(per_piece))]
                hubs = locked + [self.rules.unit_members(p) for ps in chosen for p in ps]
                key = frozenset(frozenset(h.tolist()) for h in hubs)
                if key not in self._start_keys:
                    self._start_keys.add(key)
                    total = cost + sum(best[i][0] for i in range(len(per_piece)) if i != r)
                    self.starts.append((total, hubs))
        self.starts.sort(key=lambda t: t[0])

    def left(self) -> float:
        return self.deadline - time.perf_counter()

    def out_of_time(self) -> bool:
        """The safety-net time limit has passed; the run is then marked as cut by the clock."""
        if self.left() <= 0:
            self.time_hit = True
            return True
        return False

    def note(self, stage: str, detail: str = "") -> None:
        row = {"stage": stage, "round": self.round, "seconds": round(time.perf_counter() - self.t0, 3),
               "columns": self.pool.n_valid, "objective": None if self.best is None else self.best_cost,
               "detail": detail}
        self.rows.append(row)
        objective = "-" if row["objective"] is None else f"{row['objective']:.6f}"
        line = (f"[{row['seconds']:6.2f}s] heuristic {stage} (round {row['round']}, {row['columns']} columns, "
                f"objective {objective}) {detail}").rstrip()
        logger.debug(line)
        if self.sink is not None:  # a progress callback takes one line of text (e.g. print, tqdm.write)
            self.sink(line)

    def offer(self, hubs: list[np.ndarray]) -> bool:
        """Take a plan as incumbent if it is feasible and cheaper (else remember why not)."""
        broken = check_plan(self.inst, hubs)
        if broken:
            self.rejected.append(broken[0].text)
            if broken[0].rule == "max_moved":
                self.fewest_moved = min(self.fewest_moved, self.inst.moved_count(hubs, self.inst.bases(hubs)))
            return False
        cost = self.inst.plan_cost(hubs)
        for h in hubs:  # a plan's hubs are columns too: the master can then start from it
            self.pool.add(h, "plan")
        if cost < self.best_cost - 1e-12:
            self.best = sorted((np.sort(np.asarray(h, dtype=int)) for h in hubs), key=lambda h: int(h[0]))
            self.best_cost = cost
            return True
        return False


def solve_heuristic(inst: Instance, coords: np.ndarray, current_labels: Sequence[object] | None, *,
                    rng: np.random.Generator, time_limit: float = 10.0, pool: ColumnPool | None = None,
                    solver: str = "highs", log: Callable[[str], None] | None = None,
                    max_rounds: int = 12, growth_runs: int | None = None, tree_starts: int = 4,
                    allocations: int = 3, pricing: bool = True, master_columns: int | None = 2000,
                    restarts_per_round: int = 3, kick_steps: int = 3, patience: int = 3,
                    starts: Sequence[Sequence[np.ndarray]] = (), seeds: bool = True) -> HeuristicResult:
    """Find a good feasible plan: contiguous, in-band hubs that respect every side rule.

    Parameters
    ----------
    inst
        The compiled problem.
    coords
        ``(n, 2)`` latitude/longitude of the practice sites (any planar coordinates also work).
    current_labels
        Current PCN of each practice (a seed partition), or ``None``.
    rng
        The only source of randomness. Same seed and limits that are not hit by time give the same plan.
    time_limit
        Safety net in wall-clock seconds: the budget is the work limits below. A stage cut
        short by it marks the result ``stopped_by="time"``.
    pool
        A pool from an earlier scenario to reuse (its columns are re-costed for this instance).
    solver
        ``"highs"`` or ``"cbc"`` for the master.
    log
        Progress callback, called with one line of text per step (e.g. ``print``); the
        same steps are in ``HeuristicResult.log`` as dicts.
    max_rounds
        Master/local-search/pricing rounds at most.
    growth_runs
        Randomised region-growing runs (default ``8 *`` free units).
    tree_starts
        Random spanning-tree partitions per piece and allocation.
    allocations
        Allocations of hubs to pieces to try (the first is deterministic).
    pricing
        Run the LP-dual pricing step each round.
    master_columns
        Once a plan is known, the master MIP sees only this many columns of lowest
        reduced cost (plus the plan's own); ``None`` keeps every column that
        reduced-cost fixing allows (exact over the pool, slower).
    restarts_per_round
        When a round improves nothing, local search is run this many more times
        before the next round: once from the next repaired seed plan (cheapest
        first), then from random ReCom kicks of the incumbent.
    kick_steps
        Re-cut hub pairs per kick (0: no kicks; the run then converges when no
        seed plan is left and pricing finds nothing).
    patience
        Stop (``stopped_by="converged"``) after this many rounds in a row without improvement.
    starts
        Warm starts: plans (lists of member position arrays) from related runs,
        e.g. the previous scenario of a batch. A feasible one becomes the first
        incumbent; one that breaks only the band or contiguity under this
        problem's rules is repaired first. Either way its hubs join the pool.
    seeds
        Build seed partitions and grow random columns. ``False`` skips both when a warm
        start gave a plan (a related solve's columns are in ``pool``); with no plan the
        seeds run anyway.
    """
    t0 = time.perf_counter()
    deadline = t0 + float(time_limit)
    pool = pool if pool is not None else ColumnPool()
    rules = pool.bind(inst)
    run = _Run(inst, pool, rules, t0, deadline, log)

    def result(stopped_by: str, reason: str | None = None) -> HeuristicResult:
        return HeuristicResult(hubs=run.best, objective=None if run.best is None else run.best_cost, pool=pool,
                               rounds=run.round, wall_seconds=time.perf_counter() - t0, log=tuple(run.rows),
                               reason=reason, stopped_by=stopped_by)

    # 1. checks ------------------------------------------------------------
    reason = _precheck(inst, rules)
    comps = unit_components(rules)
    plan_k = None
    if reason is None:
        plan_k, reason = _piece_counts(inst, rules, comps)
    if reason is not None:
        run.note("check", reason)
        return result("infeasible", reason)
    assert plan_k is not None
    lo_k, hi_k, free_targets = plan_k
    locked_hubs = [np.sort(np.asarray(g, dtype=int)) for g in inst.locked]
    for g in locked_hubs:
        pool.add(g, "locked")
    locked_moved = sum(int(inst.moved[g, inst.hub_cost(g)[1]].sum()) for g in locked_hubs)
    run.note("check", f"{len(comps)} piece(s), free hubs {free_targets}")
    for i, hubs in enumerate(starts, start=1):
        started = _warm_start(run, [np.asarray(h, dtype=int) for h in hubs], locked_hubs, rng)
        run.note("warm start", f"plan {i}: {started}")

    # 2. seeds -------------------------------------------------------------
    xy = project(np.asarray(coords, dtype=float))
    uxy = unit_coords(rules, xy)
    pops = [float(rules.unit_pop[c].sum()) for c in comps]
    allocs: list[list[int]] = []
    for kf in free_targets:
        first = allocate(pops, lo_k, hi_k, kf)
        if first is not None and first not in allocs:
            allocs.append(first)
    while len(allocs) < max(1, allocations) * len(free_targets) and len(allocs) < 4 * allocations:
        cand = _perturb(allocs[int(rng.integers(len(allocs)))], lo_k, hi_k, rng)
        if cand in allocs:
            if all(lo == hi for lo, hi in zip(lo_k, hi_k, strict=True)):
                break
            cand = _perturb(cand, lo_k, hi_k, rng)
            if cand in allocs:
                break
        allocs.append(cand)

    cluster_cache: dict[tuple[int, int], list[tuple[str, np.ndarray]]] = {}
    failures: list[str] = []
    warm_only = not seeds and run.best is not None  # a related plan and its columns are start enough
    if warm_only:
        allocs = []
    for a_i, alloc in enumerate(allocs):
        if run.best is not None and run.out_of_time():
            break
        per_piece: list[list[tuple[float, list[list[int]]]]] = []
        for r, comp in enumerate(comps):
            found = _seed_piece(run, comp, alloc[r], r, uxy, current_labels, rng, cluster_cache, tree_starts,
                                first=a_i == 0, failures=failures)
            per_piece.append(found)
        if all(per_piece):
            run.add_starts(per_piece, locked_hubs)
            chosen = [min(found, key=lambda t: t[0])[1] for found in per_piece]
            hubs = locked_hubs + [rules.unit_members(p) for parts in chosen for p in parts]
            if run.offer(hubs):
                run.note("seed", f"allocation {a_i}: repaired plan")
    run.note("seeds", "skipped: started from a related plan" if warm_only else f"{len(allocs)} allocation(s) tried")

    runs = growth_runs if growth_runs is not None else 8 * int(rules.free_units.size)
    runs = 0 if warm_only else runs
    added, done = random_growth(rules, pool, comps, rng, runs, deadline=deadline)
    run.time_hit |= done < runs
    run.note("grow", f"{added} new columns from {done} of {runs} runs")

    # 3. rounds ------------------------------------------------------------
    stopped = "rounds"
    max_free_moved = None if inst.max_moved is None else inst.max_moved - locked_moved
    exact_next = exact_tried = capped = False
    stalls = 0
    for rnd in range(1, max_rounds + 1):
        run.round = rnd
        if run.out_of_time():
            stopped = "time"
            break
        before = run.best_cost
        ids = None if run.best is None else [pool.index_of(h) for h in run.best]
        start = None if ids is None or None in ids else [int(i) for i in ids if i is not None]
        lp = None
        if pricing or start is not None:
            lp = solve_master_lp(inst, pool, solver=solver, time_limit=max(0.05, run.left()))
        columns = None
        if lp is not None and lp.duals is not None and start is not None:
            # reduced-cost fixing: exact over this pool, and it makes the MIP far smaller
            columns = reduced_cost_filter(pool, lp, run.best_cost, keep=start,
                                          cap=None if exact_next else master_columns)
            capped = not exact_next and master_columns is not None and len(columns) > master_columns
            exact_next = False
        master = solve_master(inst, pool, solver=solver, time_limit=max(0.05, run.left()),
                              start=start, columns=columns)
        run.time_hit |= master.status in ("feasible", "no solution")
        if master.columns is not None:
            run.offer([pool.members(i) for i in master.columns])
        run.note("master", f"{master.status}: {master.message} ({master.n_columns} of {pool.n_valid} columns, "
                           f"{master.seconds:.2f} s)")
        if run.best is not None and not run.out_of_time():
            _polish(run, locked_hubs, max_free_moved, rng)
        new_cols = 0
        if pricing and lp is not None and not run.out_of_time():
            if lp.duals is not None:
                new_cols = price(rules, pool, comps, lp.duals, lp.mu, lp.lam, deadline=deadline, rng=rng,
                                 random_runs=PRICE_RANDOM_RUNS)
            run.note("price", f"{new_cols} columns of negative reduced cost ({lp.solver}: {lp.message})")
        if run.best is None:
            more = _fallback(run, comps, lo_k, hi_k, free_targets, pops, uxy, current_labels, rng, cluster_cache,
                             tree_starts, failures)
            if not more and new_cols == 0:
                stopped = "converged"
                break
            continue
        if run.best_cost < before - 1e-9:
            exact_tried = False
            stalls = 0
        else:
            stalls += 1
            if stalls > patience:
                stopped = "converged"
                break
            if capped and not exact_tried:
                # stalled with a capped master: next round solves the master over every column
                # that reduced-cost fixing keeps (exact over the pool)
                exact_next = exact_tried = True
                continue
            # stalled: one restart from the next repaired seed plan (diversity), then random ReCom
            # kicks of the incumbent, each polished (iterated local search); their hubs feed the master
            restarted = 0
            if run.starts and not run.out_of_time():
                _, hubs = run.starts.pop(0)
                restarted += 1
                _polish(run, locked_hubs, max_free_moved, rng, hubs=hubs, label="restart")
            while kick_steps and restarted < restarts_per_round and not run.out_of_time():
                restarted += 1
                _polish(run, locked_hubs, max_free_moved, rng, kick=kick_steps, label="kick")
            if not restarted and new_cols == 0:
                stopped = "converged"
                break
        if run.out_of_time():
            stopped = "time"
            break
    if run.best is None:
        why = "no feasible plan found"
        why += " within the time limit" if stopped == "time" or run.left() <= 0 else f" in {run.round} round(s)"
        if math.isfinite(run.fewest_moved):
            why += (f"; every plan found moved too many practices out of their baseline PCN (fewest: "
                    f"{run.fewest_moved:.0f} > max_moved={inst.max_moved}): raise max_moved or change K")
        elif run.rejected:
            common = max(set(run.rejected), key=lambda f: (run.rejected.count(f), f))
            why += f"; {len(run.rejected)} plan(s) found broke a rule, most often: {common}"
        if failures:
            common = max(set(failures), key=lambda f: (failures.count(f), f))
            why += f"; most frequent problem while repairing seed partitions: {common}"
        why += " (not proven infeasible: try more time, a wider band or a different K)"
        run.note("done", why)
        return result("time" if run.time_hit else stopped, why)
    run.note("done", f"objective {run.best_cost:.6f}")
    return result("time" if run.time_hit else stopped)


def _precheck(inst: Instance, rules: HubRules) -> str | None:
    """Contradictions and K-range problems in words, or ``None``."""
    from pcn_planner.model.feasibility import check_feasibility

    problems = list(rules.problems)
    try:
        problems += check_feasibility(inst).problems
    except Exception as exc:  # noqa: BLE001 - the domain check is advisory; the solver still verifies every plan
        problems.append(f"feasibility check failed: {exc}")
    for g, group in enumerate(inst.locked, start=1):
        why = rules.check(group)
        if why is not None:
            text = f"locked hub {g}: {why}"
            if not any(text in p or why in p for p in problems):
                problems.append(text)
    # drop duplicates, keep order
    seen: list[str] = []
    for p in problems:
        if p not in seen:
            seen.append(p)
    return "; ".join(seen) if seen else None


def _piece_counts(inst: Instance, rules: HubRules,
                  comps: list[np.ndarray]) -> tuple[tuple[list[int], list[int], list[int]] | None, str | None]:
    """Hub-count limits per piece and the free hub totals to try, or a reason."""
    n_locked = len(inst.locked)
    lo, hi = [], []
    for comp in comps:
        pop = float(rules.unit_pop[comp].sum())
        a, b = math.ceil(pop / rules.upper - 1e-9), math.floor(pop / rules.lower + 1e-9)
        if rules.require_anchor:
            b = min(b, int(rules.unit_anchor[comp].sum()))
        if a > b:
            first = rules.codes[int(rules.units[int(comp[0])][0])]
            return None, (f"the practices around {first} ({pop:,.0f} patients, {len(comp)} unit(s)) are cut off by "
                          f"locked hubs or nesting and cannot form hubs of {rules.lower:,.0f}-{rules.upper:,.0f}"
                          + (" each with an anchor" if rules.require_anchor else ""))
        lo.append(a)
        hi.append(b)
    k_lo = max(sum(lo), inst.k_min - n_locked)
    k_hi = min(sum(hi), inst.k_max - n_locked)
    if k_lo > k_hi:
        return None, (f"K={inst.k_min}-{inst.k_max} is impossible once locked hubs are fixed: the other practices "
                      f"need {sum(lo) + n_locked}-{sum(hi) + n_locked} hubs in total")
    if not comps:
        return ([], [], [0]), None
    span = list(range(k_lo, k_hi + 1))
    mid = span[len(span) // 2]
    targets = sorted({mid, k_lo, k_hi}, key=lambda k: (abs(k - mid), k))
    return (lo, hi, targets), None


def _seed_piece(run: _Run, comp: np.ndarray, k: int, r: int, uxy: np.ndarray,
                current_labels: Sequence[object] | None, rng: np.random.Generator,
                cache: dict[tuple[int, int], list[tuple[str, np.ndarray]]], tree_starts: int, first: bool,
                failures: list[str]) -> list[tuple[float, list[list[int]]]]:
    """Repaired partitions of one piece into ``k`` hubs, as ``(cost, unit lists)``; adds columns on the way."""
    rules, pool = run.rules, run.pool
    within = np.zeros(rules.n_units, dtype=bool)
    within[comp] = True
    labellings: list[tuple[str, np.ndarray]] = []
    if first and current_labels is not None:
        pcn = labelling_from_practices(rules, comp, current_labels)
        labellings.append(("pcn", pcn))
        pcn_columns(rules, pool, comp, pcn, rng)
    for kk in range(max(1, k - 2), k + 3):
        key = (r, kk)
        if key not in cache:
            cache[key] = clustering_labellings(rules, comp, uxy, [kk], rng)
            for name, labels in cache[key]:
                _cluster_columns(rules, pool, comp, labels, within, name)
        labellings += cache[key]
    for _ in range(tree_starts):
        tree_parts = tree_partition(rules, comp, k, rng)
        if tree_parts is not None:
            labels = np.empty(len(comp), dtype=int)
            pos = {int(u): i for i, u in enumerate(comp)}
            for j, p in enumerate(tree_parts):
                labels[[pos[u] for u in p]] = j
            labellings.append(("tree", labels))
    found: list[tuple[float, list[list[int]]]] = []
    seen: set[frozenset[frozenset[int]]] = set()
    for name, labels in labellings:
        if found and run.out_of_time():
            break
        parts = count_fix(rules, comp, labels, k, rng)
        if parts is None:
            failures.append(f"could not make {k} connected parts")
            continue
        fixed, why = repair(rules, parts, rng, deadline=run.deadline)
        if fixed is None:
            failures.append(why.split(":", 1)[-1].strip() if why else "repair failed")
            continue
        signature = frozenset(frozenset(p) for p in fixed)
        if signature in seen:
            continue
        seen.add(signature)
        for p in fixed:
            pool.add(rules.unit_members(p), name)
        found.append((sum(rules.evaluate(p)[1] for p in fixed), fixed))
    return found


def _cluster_columns(rules: HubRules, pool: ColumnPool, comp: np.ndarray, labels: np.ndarray,
                     within: np.ndarray, name: str) -> None:
    """Each cluster (each connected part of it), pushed into band, as a column."""
    for lab in np.unique(labels):
        for part in pieces(comp[labels == lab].tolist(), rules.unit_adj):
            fitted = fit_to_band(rules, part, within)
            if fitted is not None:
                pool.add(rules.unit_members(fitted), name)


def _polish(run: _Run, locked_hubs: list[np.ndarray], max_free_moved: int | None,
            rng: np.random.Generator, hubs: list[np.ndarray] | None = None, label: str = "local",
            kick: int = 0) -> bool:
    """Local search (moves, swaps, pair recombination) from a plan (default the incumbent).

    Offers the result as incumbent and logs it; returns whether it improved the incumbent.
    """
    rules = run.rules
    hubs = run.best if hubs is None else hubs
    assert hubs is not None
    locked = {frozenset(g.tolist()) for g in locked_hubs}
    free = [h for h in hubs if frozenset(h.tolist()) not in locked]
    parts = [sorted(set(rules.unit_of[h].tolist())) for h in free]
    part = Partition(rules, parts)
    if kick:
        perturb(part, rng, steps=kick)
    before = run.best_cost
    moves = pairs = 0
    for _ in range(20):  # alternate the two neighbourhoods until neither helps
        moves += improve(part, run.pool, max_moved=max_free_moved, deadline=run.deadline)
        gained = recombine(part, run.pool, rng=rng, trees=RECOM_TREES, max_moved=max_free_moved, deadline=run.deadline)
        pairs += gained
        if not gained or run.out_of_time():
            break
    result = locked_hubs + part.members()
    for h in result:
        run.pool.add(h, "local")
    improved = run.offer(result)
    run.note(label, f"{moves} moves, {pairs} pair recombinations -> {rules.inst.plan_cost(result):.6f}; "
                    f"{'improved' if improved else 'no gain'} ({before:.6f} -> {run.best_cost:.6f})")
    return improved


def _warm_start(run: _Run, hubs: list[np.ndarray], locked_hubs: list[np.ndarray],
                rng: np.random.Generator) -> str:
    """Offer a plan from a related run as incumbent, repairing it into band when it needs it."""
    inst, rules = run.inst, run.rules
    for h in hubs:
        run.pool.add(h, "warm")
    broken = verify_plan(inst, hubs)
    if not broken:
        run.offer(hubs)
        return f"feasible, objective {inst.plan_cost(hubs):.6f}"
    if not inst.k_min <= len(hubs) <= inst.k_max:
        return f"not used as a plan ({broken[0]}); its hubs join the pool"
    locked = {frozenset(g.tolist()) for g in locked_hubs}
    free = [h for h in hubs if frozenset(h.tolist()) not in locked]
    parts = [set(rules.unit_of[h].tolist()) for h in free]
    fixed, why = repair(rules, parts, rng, deadline=run.deadline)
    if fixed is None:
        return f"could not be repaired ({broken[0]}; {why}); its hubs join the pool"
    repaired = locked_hubs + [rules.unit_members(p) for p in fixed]
    if run.offer(repaired):
        return f"repaired ({broken[0]}), objective {inst.plan_cost(repaired):.6f}"
    return f"repaired plan still breaks a rule ({run.rejected[-1]}); its hubs join the pool"


def _fallback(run: _Run, comps: list[np.ndarray], lo_k: list[int], hi_k: list[int], targets: list[int],
              pops: list[float], uxy: np.ndarray, current_labels: Sequence[object] | None,
              rng: np.random.Generator, cache: dict, tree_starts: int, failures: list[str]) -> bool:
    """More seed attempts (new allocations, more trees) when no plan is known; True if any piece got one."""
    got = False
    for kf in targets:
        alloc = allocate(pops, lo_k, hi_k, kf)
        if alloc is None:
            continue
        alloc = _perturb(alloc, lo_k, hi_k, rng)
        per_piece = []
        for r, comp in enumerate(comps):
            if run.out_of_time():
                return got
            found = _seed_piece(run, comp, alloc[r], r, uxy, current_labels, rng, cache, 2 * tree_starts,
                                first=False, failures=failures)
            got = got or bool(found)
            per_piece.append(found)
        if per_piece and all(per_piece):
            chosen = [min(f, key=lambda t: t[0])[1] for f in per_piece]
            locked = [np.sort(np.asarray(g, dtype=int)) for g in run.inst.locked]
            run.add_starts(per_piece, locked)
            run.offer(locked + [run.rules.unit_members(p) for parts in chosen for p in parts])
    return got
