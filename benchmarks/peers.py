"""Peers benchmark: spopt (Skater, AZP, MaxP), GerryChain ReCom, the current PCN map and our engine.

Every method works on the SAME practice graph (``region.graph``; a hub is
contiguous when its practices induce a connected subgraph) and is judged by
the SAME scorecard (:func:`pcn_planner.scoring.scorecard.score_plan`) and the SAME
objective (:meth:`pcn_planner.model.instance.Instance.plan_cost`), at K=23 and
K=26 with hub bounds 30,000-70,000 patients (inclusive). A plan is feasible
when every hub is in band and contiguous; peers that miss the bounds are
reported as infeasible with their hubs out of band (DESIGN.md section 6).

Each method runs in its own forked process with a wall-clock budget, so one
that hangs is stopped and reported, and its peak RSS is its own. Seeds are
fixed: spopt's AZP seeds the global ``random`` module and MaxP the global
``numpy.random`` (their APIs take no generator), which is harmless here
because each runs in a throw-away child process. GerryChain 1.0 takes an
explicit ``random.Random``. ReCom runs a fixed number of steps (deterministic)
and a time cap that is recorded when it bites (``stopped_by: time``).

The adapters (``weights_from_graph``, ``practice_table``, ``skater_population``,
``azp_band``, ``maxp_regions``, ``feasible_seed``, ``recom_anneal``, ...) are
plain functions so notebooks and other benchmarks can reuse them.

Usage::

    python benchmarks/peers.py            # full run, ~4.5 min on 2 cores (engine rows ~1.5 min of it)
    python benchmarks/peers.py --quick    # smoke run, ~1 min (2,000 ReCom steps, short budgets)

Writes ``benchmarks/results/peers.txt`` and ``peers.json``; ``--quick`` only
prints, so it never overwrites the committed full run.
Needs the ``bench`` extra (spopt, gerrychain, libpysal; peak RSS comes from ``resource``).
"""

from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import random
import resource
import sys
import time
import traceback
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/_common.py
from _common import machine, write_results  # noqa: E402

from pcn_planner.model.instance import Instance, compile_problem  # noqa: E402
from pcn_planner.model.plan import Plan  # noqa: E402
from pcn_planner.model.problem import Problem  # noqa: E402
from pcn_planner.geography.region import Region, build_region  # noqa: E402
from pcn_planner.model.problem import Bounds
from pcn_planner.scoring.scorecard import score_plan  # noqa: E402

LOWER, UPPER = 30_000, 70_000
TRAVEL_ONLY = dict(travel=1, town=0, lad=0, catchment=0, risk=0, disruption=0, equity=0)
SEED = 0


# --------------------------------------------------------------------------------------------
# Shared inputs: the practice graph as a libpysal W, and per-practice attributes
# --------------------------------------------------------------------------------------------

def weights_from_graph(graph, codes: tuple[str, ...], positional: bool = False):
    """The practice graph as a binary libpysal ``W`` (ids = practice codes, in ``codes`` order).

    A fresh object on every call: spopt's Skater sets ``W.transform = "b"`` on
    the ``W`` it is given. ``positional=True`` uses ids ``0..n-1`` instead:
    spopt's max-p looks neighbours up as ``w.neighbors[row_number]`` and fails
    with ``KeyError`` on any other ids.
    """
    from libpysal.weights import W

    if positional:
        at = {c: i for i, c in enumerate(codes)}
        neighbours = {at[c]: sorted(at[v] for v in graph.neighbors(c)) for c in codes}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return W(neighbours, id_order=list(range(len(codes))), silence_warnings=True)
    neighbours = {c: sorted(graph.neighbors(c)) for c in codes}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # islands warning (there are none: the graph is connected)
        return W(neighbours, id_order=list(codes), silence_warnings=True)


def projected_km(region: Region) -> np.ndarray:
    """Practice sites on the British National Grid (EPSG:27700), km; rows in ``region.codes`` order."""
    from pyproj import Transformer

    p = region.atlas.practices.loc[list(region.codes)]
    to_bng = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    x, y = to_bng.transform(p["lon"].to_numpy(float), p["lat"].to_numpy(float))
    return np.column_stack([x, y]) / 1000.0


def travel_embedding(region: Region, dims: int = 3) -> np.ndarray:
    """Classical MDS of practice-to-practice travel, in minutes.

    ``m[p, b] = travel_cost[p, b] / patients placed at p`` is the mean car time
    from practice ``p``'s patients' homes to practice ``b``'s site. Its
    symmetric part is embedded so that Euclidean distances between practices
    approximate those minutes (eigenvector signs fixed for determinism).
    """
    placed = region.patients.sum(axis=1)
    m = region.travel_cost / np.maximum(placed, 1.0)[:, None]
    d = (m + m.T) / 2.0
    np.fill_diagonal(d, 0.0)
    n = len(d)
    j = np.eye(n) - np.ones((n, n)) / n
    b = -0.5 * j @ (d ** 2) @ j
    vals, vecs = np.linalg.eigh(b)
    order = np.argsort(vals)[::-1][:dims]
    vals, vecs = np.clip(vals[order], 0.0, None), vecs[:, order]
    signs = np.sign(vecs[np.argmax(np.abs(vecs), axis=0), range(dims)])
    return vecs * signs * np.sqrt(vals)


def practice_table(region: Region) -> pd.DataFrame:
    """One row per practice (``region.codes`` order): ``x_km, y_km``, ``mds1..3`` (minutes), ``population``."""
    xy = projected_km(region)
    mds = travel_embedding(region)
    table = pd.DataFrame({"x_km": xy[:, 0], "y_km": xy[:, 1]}, index=pd.Index(region.codes, name="practice_code"))
    for i in range(mds.shape[1]):
        table[f"mds{i + 1}"] = mds[:, i]
    table["population"] = region.population
    return table


ATTRS = {"xy": ["x_km", "y_km"], "travel": ["mds1", "mds2", "mds3"]}


def labels_to_mapping(codes: tuple[str, ...], labels) -> dict[str, str]:
    """``{practice_code: hub_id}`` from a label array in ``codes`` order."""
    return {c: f"H{int(l):02d}" for c, l in zip(codes, np.asarray(labels).astype(int))}


# --------------------------------------------------------------------------------------------
# spopt adapters
# --------------------------------------------------------------------------------------------

def manhattan_with_floor(x, y=None):
    """Manhattan distances plus 1e-6 (a millimetre / a microsecond).

    spopt builds the Skater tree from ``W.multiply(dissimilarity)`` and then
    ``eliminate_zeros()``: practices sharing a site (12 graph edges here) have
    dissimilarity 0, their edge vanishes and the graph falls into "islands",
    after which ``fit`` raises "Islands must be larger than the quorum".
    """
    from sklearn.metrics.pairwise import manhattan_distances

    return manhattan_distances(x, y) + 1e-6


def skater_stock(table: pd.DataFrame, w, attrs: list[str], k: int) -> np.ndarray:
    """spopt ``Skater`` as shipped: ``floor`` counts *practices*, so no population floor (floor off)."""
    from spopt.region import Skater

    model = Skater(table, w, attrs, n_clusters=k, floor=-np.inf, islands="increase",
                   spanning_forest_kwds=dict(dissimilarity=manhattan_with_floor))
    model.solve()
    return np.asarray(model.labels_)


def skater_population(table: pd.DataFrame, w, attrs: list[str], k: int, floor: float,
                      population: np.ndarray) -> np.ndarray:
    """Skater with a *population* floor: spopt 0.7's quorum is a count of observations.

    ``SpanningForest.score`` checks ``np.unique(labels, return_counts=True)``
    against the quorum; this subclass checks the summed ``population`` of each
    subtree instead. Everything else (MST on attribute dissimilarity, greedy
    best cut, sum of within-cluster Manhattan spread) is spopt's.
    """
    from spopt.region.skater import SpanningForest

    class PopulationFloorForest(SpanningForest):
        def score(self, data, labels=None, quorum=-np.inf):
            if labels is None:
                labels = self.current_labels_
            sizes = np.bincount(labels, weights=population)
            if (sizes < quorum).any():
                return np.inf
            parts = [self.reduction(self.metric(data[labels == lab],
                                                self.center(data[labels == lab], axis=0).reshape(1, -1)))
                     for lab in range(len(sizes))]
            return self.reduction(parts).item()

    forest = PopulationFloorForest(dissimilarity=manhattan_with_floor)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        forest.fit(k, w, data=table[attrs].to_numpy(float), quorum=floor)
    return np.asarray(forest.current_labels_)


def azp_stock(table: pd.DataFrame, w, attrs: list[str], k: int, seed: int) -> np.ndarray:
    """spopt ``AZP`` as shipped: random initial regions, no population constraint.

    Note: ``AZPOrig.__init__`` calls ``random.seed(random_state)`` on the
    *global* ``random`` module.
    """
    from spopt.region import AZP

    model = AZP(table, w, attrs, n_clusters=k, random_state=seed)
    model.solve()
    return np.asarray(model.labels_)


def band_move_strategy(population: np.ndarray, lower: float, upper: float, inner=None):
    """An ``AllowMoveStrategy`` that keeps donor >= lower and recipient <= upper.

    spopt ships ``AllowMoveAZPMaxPRegions`` (a floor only); this adds the
    ceiling. ``inner`` decides on the objective (default plain AZP descent).
    """
    from spopt.region.azp_util import AllowMoveAZP, AllowMoveStrategy

    class BandMove(AllowMoveStrategy):
        def __init__(self):
            self.inner = inner or AllowMoveAZP()

        def start_new_component(self, initial_labels, attr, objective_func, comp_idx):
            self.pop = population[comp_idx]
            super().start_new_component(initial_labels, attr, objective_func, comp_idx)
            self.inner.start_new_component(initial_labels, attr, objective_func, comp_idx)

        def __call__(self, moving_area, new_region, labels):
            m = self.pop[moving_area]
            if self.pop[labels == labels[moving_area]].sum() - m < lower:
                return False
            if self.pop[labels == new_region].sum() + m > upper:
                return False
            return self.inner(moving_area, new_region, labels)

    return BandMove()


def instance_objective(inst: Instance):
    """Our objective (``Instance.plan_cost``) as a spopt ``ObjectiveFunction``.

    Labels index practices in ``inst.codes`` order (one connected component,
    which holds: the practice graph is connected). ``attr`` is ignored.
    """
    from spopt.region.objective_function import ObjectiveFunction

    class InstanceObjective(ObjectiveFunction):
        def __init__(self):
            super().__init__(None)

        def __call__(self, labels, attr):
            if len(labels) != inst.n:
                raise ValueError("instance objective needs all practices in one component")
            return sum(inst.hub_cost(np.flatnonzero(labels == r))[0] for r in np.unique(labels))

        def update(self, moving_area, recipient_region, labels, attr):
            donor = np.flatnonzero(labels == labels[moving_area])
            recipient = np.flatnonzero(labels == recipient_region)
            before = inst.hub_cost(donor)[0] + inst.hub_cost(recipient)[0]
            after = (inst.hub_cost(donor[donor != moving_area])[0]
                     + inst.hub_cost(np.sort(np.append(recipient, moving_area)))[0])
            return after - before

    return InstanceObjective()


def azp_band(table: pd.DataFrame, w, attrs: list[str], k: int, seed: int, initial_labels: np.ndarray,
             lower: float = LOWER, upper: float = UPPER, inst: Instance | None = None) -> np.ndarray:
    """AZP local search from a feasible seed, moves restricted to the band.

    With ``inst``, AZP minimises our objective instead of attribute spread.
    AZP keeps donors contiguous itself; the seed must be feasible (contiguous,
    k regions) or spopt's ``assert_feasible`` raises.
    """
    from spopt.region.azp import AZPOrig
    from spopt.region.objective_function import ObjectiveFunctionPairwise

    model = AZPOrig(band_move_strategy(table["population"].to_numpy(float), lower, upper), random_state=seed)
    objective = instance_objective(inst) if inst is not None else ObjectiveFunctionPairwise()
    model.fit_from_w(w, table[attrs].to_numpy(float), k, initial_labels=np.asarray(initial_labels),
                     objective_func=objective)
    return np.asarray(model.labels_)


def maxp_regions(table: pd.DataFrame, w, attrs: list[str], threshold: float, seed: int,
                 max_iterations_construction: int = 99, max_iterations_sa: int = 10) -> np.ndarray:
    """spopt ``MaxPHeuristic``: as many regions as possible, each with population >= threshold.

    It picks its own number of regions (no K, no ceiling). Randomness comes
    from the global ``numpy.random`` only, so it is seeded here.
    """
    from spopt.region import MaxPHeuristic

    np.random.seed(seed)  # spopt's max-p has no rng argument; we run in a child process
    model = MaxPHeuristic(table, w, attrs, "population", threshold, top_n=2,
                          max_iterations_construction=max_iterations_construction,
                          max_iterations_sa=max_iterations_sa, policy="single")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.solve()
    return np.asarray(model.labels_)


# --------------------------------------------------------------------------------------------
# GerryChain adapters
# --------------------------------------------------------------------------------------------

def gerrychain_graph(region: Region):
    """The practice graph for GerryChain: nodes are practice codes with ``population`` and ``pos``.

    Nodes and edges are added in sorted order (GerryChain PR #450: node order
    changed seeded runs).
    """
    import networkx as nx
    from gerrychain import Graph

    g = nx.Graph()
    for i, code in enumerate(region.codes):
        g.add_node(code, population=int(region.population[i]), pos=i)
    g.add_edges_from(sorted(tuple(sorted(e)) for e in region.graph.edges))
    return Graph.from_networkx(g)


def seed_epsilon(total: float, k: int, lower: float = LOWER, upper: float = UPPER) -> float:
    """Largest symmetric epsilon around the mean ``total / k`` that stays inside ``[lower, upper]``."""
    mean = total / k
    return min(upper / mean - 1.0, 1.0 - lower / mean)


def feasible_seed(region: Region, k: int, seed: int, lower: float = LOWER, upper: float = UPPER,
                  tries: int = 20) -> dict[str, int]:
    """A contiguous in-band plan from ``gerrychain.partition.recursive_tree_part``.

    Target: the mean list size per hub with the symmetric epsilon of
    :func:`seed_epsilon` (30k-70k around a mean of 52.6k at K=23 allows
    +/-33 %). Each attempt is capped (2,000 spanning trees per cut); after
    ``tries`` failed seeds it raises, saying what to change.
    """
    from gerrychain.partition import recursive_tree_part
    from gerrychain.tree import bipartition_tree

    graph = gerrychain_graph(region)
    total = float(region.population.sum())
    eps = seed_epsilon(total, k, lower, upper)
    if eps <= 0:
        raise ValueError(f"K={k}: the mean hub ({total / k:,.0f}) is outside {lower:,}-{upper:,}")
    cut = partial(bipartition_tree, max_attempts=2000, warn_attempts=10 ** 9)
    rng = random.Random(seed)
    last: Exception | None = None
    for _ in range(tries):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                flips = recursive_tree_part(graph, list(range(k)), total / k, "population", eps,
                                            bipartition_tree_fn=cut, rng=rng)
        except Exception as exc:  # noqa: BLE001 - GerryChain raises several kinds; retry with the stream
            last = exc
            continue
        return {str(node): int(part) for node, part in sorted(flips.items())}
    raise RuntimeError(f"no balanced seed plan in {tries} tries at K={k} ({last!r}); "
                       "widen the bounds or raise `tries`")


@dataclass
class AnnealReport:
    """What :func:`recom_anneal` did."""

    steps: int
    accepted: int
    improved: int
    t_start: float
    t_end: float
    start_objective: float
    best_objective: float
    best_step: int
    stopped_by: str
    seconds: float
    trace: list[tuple[int, float]] = field(default_factory=list)


def recom_anneal(region: Region, inst: Instance, start: Mapping[str, int], *, steps: int, seed: int,
                 time_limit: float, lower: float = LOWER, upper: float = UPPER,
                 t_ratio: float = 1e-3) -> tuple[dict[str, int], AnnealReport]:
    """GerryChain ReCom with Metropolis acceptance on ``inst.plan_cost``; returns the best plan seen.

    * Proposal: ``recom`` with ``pop_target = (lower + upper) / 2`` and
      ``epsilon = (upper - lower) / (lower + upper)``, so each re-split hub lies
      in exactly ``[lower, upper]``; pair reselection is on and each split is
      capped at 200 spanning trees (no hangs, GerryChain #389).
    * Constraint: every hub within ``[lower, upper]`` (inclusive), checked again.
    * Acceptance: ``exp(-delta / T)``; ``T`` falls geometrically from ``T0``
      (median uphill delta of 200 trial proposals / ln 2, i.e. ~50 % acceptance)
      to ``T0 * t_ratio``.
    * Costs: per-hub ``inst.hub_cost``, memoised by member set; only the two
      re-split hubs are recosted per step.
    """
    from gerrychain import MarkovChain, Partition
    from gerrychain.constraints import Bounds as GBounds
    from gerrychain.proposals import recom
    from gerrychain.tree import bipartition_tree
    from gerrychain.updaters import Tally

    t0 = time.perf_counter()
    graph = gerrychain_graph(region)
    memo: dict[frozenset, float] = {}

    def pos_of(part_nodes) -> np.ndarray:
        return np.array(sorted(graph.node_data(v)["pos"] for v in part_nodes), dtype=int)

    def cost_of(nodes: frozenset) -> float:
        c = memo.get(nodes)
        if c is None:
            if len(memo) > 500_000:
                memo.clear()
            c = memo[nodes] = inst.hub_cost(pos_of(nodes))[0]
        return c

    def hub_costs(partition) -> dict:
        parent = partition.parent
        if parent is None or partition.flips is None:
            return {p: cost_of(nodes) for p, nodes in partition.parts.items()}
        out = dict(parent["hub_costs"])
        changed = set(partition.flips.values()) | {parent.assignment[v] for v in partition.flips}
        for p in changed:
            out[p] = cost_of(partition.parts[p])
        return out

    initial = Partition(graph, dict(sorted(start.items())),
                        updaters={"population": Tally("population", alias="population"), "hub_costs": hub_costs})
    # the Partition converted the graph to rustworkx; read practice positions from its node data
    graph = initial.graph

    def total(partition) -> float:
        return float(sum(partition["hub_costs"].values()))

    cut = partial(bipartition_tree, max_attempts=200, allow_pair_reselection=True, warn_attempts=10 ** 9)
    proposal = partial(recom, pop_col="population", pop_target=(lower + upper) / 2,
                       epsilon=(upper - lower) / (lower + upper), bipartition_tree_fn=cut)
    in_band = GBounds(lambda p: p["population"].values(), (lower, upper))
    rng = random.Random(seed)

    # temperature from trial proposals around the start (not accepted)
    base = total(initial)
    ups = []
    for _ in range(200):
        d = total(proposal(initial, rng=rng)) - base
        if d > 0:
            ups.append(d)
    t_start = (float(np.median(ups)) if ups else 1e-3) / math.log(2)
    t_end = t_start * t_ratio
    step = 0

    def metropolis(partition, *, rng: random.Random) -> bool:
        temp = t_start * (t_end / t_start) ** min(1.0, step / max(1, steps - 1))
        delta = total(partition) - total(partition.parent)
        return delta <= 0 or rng.random() < math.exp(-delta / temp)

    def to_codes(partition) -> dict[str, int]:
        return {region.codes[graph.node_data(v)["pos"]]: int(part) for v, part in partition.assignment.items()}

    best, best_value, best_step, accepted, improved = to_codes(initial), base, 0, 0, 0
    trace = [(0, base)]
    stopped_by = "steps"
    chain = MarkovChain(proposal, [in_band], metropolis, initial, total_steps=steps, rng=rng)
    previous = initial
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for state in chain:
            if state is not previous:
                accepted += 1
                previous = state
                value = total(state)
                if value < best_value - 1e-12:
                    best, best_value, best_step = to_codes(state), value, step
                    improved += 1
            if step % 1000 == 0 and step:
                trace.append((step, total(state)))
            step += 1
            if time.perf_counter() - t0 > time_limit:
                stopped_by = "time"
                break
    report = AnnealReport(steps=step, accepted=accepted, improved=improved, t_start=t_start, t_end=t_end,
                          start_objective=base, best_objective=best_value, best_step=best_step,
                          stopped_by=stopped_by, seconds=time.perf_counter() - t0, trace=trace)
    return best, report


# --------------------------------------------------------------------------------------------
# Running each method in a child process, with a budget and its own peak RSS
# --------------------------------------------------------------------------------------------

def _child(conn, fn: Callable[[], dict]) -> None:
    try:
        t = time.perf_counter()
        out = fn()
        out["wall_seconds"] = time.perf_counter() - t
        out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        conn.send(("ok", out))
    except BaseException as exc:  # noqa: BLE001 - report every failure as a row
        conn.send(("error", f"{type(exc).__name__}: {exc}", traceback.format_exc(limit=3)))
    finally:
        conn.close()


def run_isolated(fn: Callable[[], dict], budget: float) -> tuple[str, Any]:
    """Run ``fn`` in a forked child; ``("ok", dict)``, ``("error", msg)`` or ``("timeout", budget)``."""
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, fn), daemon=True)
    proc.start()
    child.close()
    deadline = time.perf_counter() + budget
    result: tuple[str, Any] | None = None
    while time.perf_counter() < deadline:
        if parent.poll(0.2):
            try:
                msg = parent.recv()
            except EOFError:
                msg = ("error", "child exited without a result (crashed?)")
            result = (msg[0], msg[1])
            break
        if not proc.is_alive() and not parent.poll(0):
            result = ("error", f"child exited with code {proc.exitcode} without a result")
            break
    if result is None:
        proc.terminate()
        result = ("timeout", budget)
    proc.join(5)
    if proc.is_alive():
        proc.kill()
        proc.join()
    return result


# --------------------------------------------------------------------------------------------
# Scoring: one row per method
# --------------------------------------------------------------------------------------------

def score_row(region: Region, insts: dict[str, Instance], method: str, variant: str, k: int,
              mapping: Mapping[str, object], extra: dict) -> dict:
    """Scorecard and both objectives of a plan, as one table row."""
    plan = Plan.from_mapping({c: str(h) for c, h in mapping.items()}, name=f"{method} {variant}".strip())
    card = score_plan(region, plan, bounds=Bounds(LOWER, UPPER))
    s = card.summary
    default = insts["default"]
    hubs = default.hubs_of(plan)
    row = {
        "method": method, "variant": variant, "k_requested": k, "k": s["hubs"],
        "feasible": bool(card.feasible and s["hubs"] == k) if k else bool(card.feasible),
        "hubs_out_of_band": s["hubs_out_of_band"], "non_contiguous_hubs": s["non_contiguous_hubs"],
        "smallest_hub": s["smallest_hub"], "largest_hub": s["largest_hub"],
        "objective": default.plan_cost(hubs), "objective_travel_only": insts["travel"].plan_cost(hubs),
        "travel_mean_min": s["travel_mean_min"], "travel_p90_min": s["travel_p90_min"],
        "town_outside_share": s["town_outside_share"], "lad_outside_share": s["lad_outside_share"],
        "catchment_outside_share": s["catchment_outside_share"], "towns_split": s["towns_split"],
        "problems": card.problems[:6] + ([f"... and {len(card.problems) - 6} more"] if len(card.problems) > 6 else []),
        "hubs": [" ".join(m) for m in plan.members().values()],
    }
    row.update(extra)
    return row


def failed_row(method: str, variant: str, k: int, status: str, note: str, wall: float | None = None) -> dict:
    return {"method": method, "variant": variant, "k_requested": k, "k": None, "feasible": False,
            "status": status, "note": note, "wall_seconds": wall}


# --------------------------------------------------------------------------------------------
# The benchmark
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Settings:
    ks: tuple[int, ...] = (23, 26)
    budget: float = 60.0          # wall-clock budget per spopt peer (s)
    recom_steps: int = 40_000     # 25-55 s on one core; the best plan stops improving after ~25-38k
    recom_time: float = 90.0      # safety cap inside the chain (recorded if it bites); budget +20 s
    engine_time: float = 30.0     # Problem.time_limit for the engine
    maxp_construction: int = 99
    maxp_sa: int = 10


FULL = Settings()
QUICK = Settings(budget=20.0, recom_steps=2_000, recom_time=15.0, engine_time=5.0,
                 maxp_construction=10, maxp_sa=2)


def engine_fn(region: Region, problem: Problem) -> Callable[[], dict]:
    """Child job: ``pcn_planner.optimise``; raises ``ImportError`` when the engine is not there yet."""
    def job() -> dict:
        import pcn_planner

        optimise = getattr(pcn_planner, "optimise", None)
        if optimise is None:
            raise ImportError("pcn_planner.optimise does not exist yet")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = optimise(problem, region)
        return {"mapping": dict(result.plan.assignment), "engine_objective": result.objective,
                "gap": result.gap, "bound": getattr(result, "bound", None),
                "status": getattr(result, "status", None), "stopped_by": getattr(result, "stopped_by", None)}
    return job


def run_benchmark(settings: Settings, log: Callable[[str], None] = print) -> tuple[list[dict], dict]:
    t_all = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        region = build_region()
        # import the peers once, here, so that no child's wall time includes importing them
        import gerrychain  # noqa: F401
        import libpysal  # noqa: F401
        import spopt.region  # noqa: F401
    table = practice_table(region)
    codes = region.codes
    pop = region.population
    rows: list[dict] = []
    meta: dict[str, Any] = {"machine": machine(), "bounds": [LOWER, UPPER], "seed": SEED,
                            "settings": settings.__dict__.copy(), "practices": len(codes),
                            "graph_edges": region.graph.number_of_edges(),
                            "patients": int(pop.sum()), "versions": versions(),
                            "parent_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}

    def record(method: str, variant: str, k: int, status: tuple[str, Any], insts: dict[str, Instance],
               budget: float) -> None:
        kind, payload = status
        if kind == "timeout":
            row = failed_row(method, variant, k, "timeout", f"stopped at its {budget:g} s budget", budget)
        elif kind == "error":
            skipped = "ImportError" in str(payload) or "ModuleNotFoundError" in str(payload)
            row = failed_row(method, variant, k, "skipped" if skipped else "error", str(payload))
        else:
            out = dict(payload)
            mapping = out.pop("mapping")
            row = score_row(region, insts, method, variant, k, mapping,
                            {"status": out.pop("status", "ok") or "ok", **out})
        rows.append(row)
        log(one_line(row))

    def insts_for(k: int) -> dict[str, Instance]:
        problem = Problem(k=k)
        return {"default": compile_problem(problem, region),
                "travel": compile_problem(problem.with_(weights=TRAVEL_ONLY), region)}

    # current PCN map (K=25), no solve
    insts23 = insts_for(min(settings.ks))
    current = Plan.current(region.atlas.practices)
    rows.append(score_row(region, insts23, "current PCNs", "", 0, dict(current.assignment),
                          {"status": "as is", "wall_seconds": 0.0, "peak_rss_mb": None}))
    log(one_line(rows[-1]))

    for k in settings.ks:
        insts = insts_for(k)
        seed_plan = feasible_seed(region, k, SEED)
        seed_labels = np.array([seed_plan[c] for c in codes])
        rows.append(score_row(region, insts, "gerrychain seed", "recursive_tree_part", k, seed_plan,
                              {"status": "seed", "wall_seconds": None, "peak_rss_mb": None}))
        log(one_line(rows[-1]))

        def spopt(fn: Callable[[], np.ndarray]) -> Callable[[], dict]:
            return lambda: {"mapping": labels_to_mapping(codes, fn())}

        jobs: list[tuple[str, str, Callable[[], dict], float]] = []
        for variant, attrs in ATTRS.items():
            jobs.append(("skater (pop floor)", variant,
                         spopt(partial(lambda a: skater_population(table, weights_from_graph(region.graph, codes),
                                                                   a, k, LOWER, pop), attrs)), settings.budget))
        jobs.append(("skater (stock)", "xy",
                     spopt(lambda: skater_stock(table, weights_from_graph(region.graph, codes), ATTRS["xy"], k)),
                     settings.budget))
        jobs.append(("azp (stock)", "xy",
                     spopt(lambda: azp_stock(table, weights_from_graph(region.graph, codes), ATTRS["xy"], k, SEED)),
                     settings.budget))
        for variant, attrs in ATTRS.items():
            jobs.append(("azp (band, seed)", variant,
                         spopt(partial(lambda a: azp_band(table, weights_from_graph(region.graph, codes), a, k,
                                                          SEED, seed_labels), attrs)), settings.budget))
        jobs.append(("azp (band, seed)", "our objective",
                     spopt(lambda: azp_band(table, weights_from_graph(region.graph, codes), ATTRS["xy"], k, SEED,
                                            seed_labels, inst=insts["default"])), settings.budget))
        for variant, inst in (("default weights", insts["default"]), ("travel only", insts["travel"])):
            def job(inst=inst) -> dict:
                best, rep = recom_anneal(region, inst, seed_plan, steps=settings.recom_steps, seed=SEED,
                                         time_limit=settings.recom_time)
                return {"mapping": best, "status": f"{rep.steps} steps", "stopped_by": rep.stopped_by,
                        "anneal": {k_: v for k_, v in rep.__dict__.items()}}
            jobs.append(("recom anneal", variant, job, settings.recom_time + 20))
        for variant, problem in (("default weights", Problem(k=k)),
                                 ("travel only", Problem(k=k).with_(weights=TRAVEL_ONLY))):
            problem = problem.with_(time_limit=settings.engine_time, seed=SEED)
            jobs.append(("engine", variant, engine_fn(region, problem), settings.engine_time + 30))

        for method, variant, fn, budget in jobs:
            record(method, variant, k, run_isolated(fn, budget), insts, budget)

    # max-p picks its own number of regions: once per attribute set, scored with the K=23 instance
    for variant, attrs in ATTRS.items():
        fn = partial(lambda a: {"mapping": labels_to_mapping(codes, maxp_regions(
            table.reset_index(drop=True), weights_from_graph(region.graph, codes, positional=True), a, LOWER, SEED,
            settings.maxp_construction, settings.maxp_sa))}, attrs)
        record("maxp", variant, 0, run_isolated(fn, settings.budget * 2), insts23, settings.budget * 2)

    meta["total_seconds"] = time.perf_counter() - t_all
    return rows, meta


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("pcn-planner", "spopt", "gerrychain", "libpysal", "numpy", "networkx", "rustworkx", "highspy"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "missing"
    return out


# --------------------------------------------------------------------------------------------
# Text output
# --------------------------------------------------------------------------------------------

def _f(v, fmt: str, empty: str = "-") -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return empty
    return format(v, fmt)


def one_line(r: dict) -> str:
    name = f"{r['method']} [{r['variant']}]" if r.get("variant") else r["method"]
    if r.get("k") is None:
        return f"K={r['k_requested']:>2} {name:<40} {r['status'].upper()}: {r.get('note', '')}"
    return (f"K={r['k_requested'] or r['k']:>2} {name:<40} feasible={r['feasible']!s:<5} "
            f"obj {r['objective']:.4f} travel-obj {r['objective_travel_only']:.4f} "
            f"mean {r['travel_mean_min']:.2f} p90 {r['travel_p90_min']:.1f} "
            f"{_f(r.get('wall_seconds'), '.1f')} s")


HEADER = (f"{'method':<22} {'variant':<16} {'K':>3} {'feas':>4} {'OOB':>3} {'NC':>3} {'obj':>7} "
          f"{'obj-T':>7} {'mean':>5} {'p90':>5} {'town%':>5} {'lad%':>5} {'acut%':>5} {'split':>5} "
          f"{'sec':>6} {'RSS MB':>6}  status")


def table_line(r: dict) -> str:
    if r.get("k") is None:
        return (f"{r['method']:<22} {r['variant']:<16} {r['k_requested']:>3} "
                f"{r['status'].upper()}: {r.get('note', '')[:90]}")
    return (f"{r['method']:<22} {r['variant'][:16]:<16} {r['k']:>3} {'yes' if r['feasible'] else 'NO':>4} "
            f"{r['hubs_out_of_band']:>3} {r['non_contiguous_hubs']:>3} {r['objective']:>7.4f} "
            f"{r['objective_travel_only']:>7.4f} {r['travel_mean_min']:>5.2f} {r['travel_p90_min']:>5.1f} "
            f"{100 * r['town_outside_share']:>5.1f} {100 * r['lad_outside_share']:>5.1f} "
            f"{100 * r['catchment_outside_share']:>5.1f} {r['towns_split']:>5} "
            f"{_f(r.get('wall_seconds'), '6.1f'):>6} {_f(r.get('peak_rss_mb'), '6.0f'):>6}  {status_note(r)}")


def status_note(r: dict) -> str:
    """Short status: the engine's gap, the chain's steps, what stopped a run."""
    parts = [str(r.get("status") or "")]
    if r["method"] == "engine":
        parts = [f"gap {'none' if r.get('gap') is None else format(r['gap'], '.2%')}", str(r.get("status"))]
    if r.get("stopped_by"):
        parts.append(f"stopped by {r['stopped_by']}")
    return ", ".join(p for p in parts if p)


NOTES = """\
Columns: feas = every hub in 30,000-70,000 (inclusive) AND contiguous in the practice graph AND K hubs;
OOB = hubs out of band; NC = non-contiguous hubs; obj = objective with default weights
(Instance.plan_cost, each term normalised by the current PCN map, so today's map scores about the sum
of the weights); obj-T = travel-only objective (1.0 = today's travel); mean/p90 = patient travel to the hub
base, minutes; town%/lad%/acut% = patients outside their hub's main town / district / acute catchment;
split = towns small enough for one hub that are split; sec = wall seconds of the method alone (region
built once, outside); RSS MB = peak resident memory of the forked child that ran the method (its own
high-water mark, starting from the pages it shares with the parent: region, imported peers). Wall times
are from a shared 2-core machine; other work running at the same time inflates them.

Adapters and choices (same practice graph, same scorecard, seed 0 everywhere):
- W: libpysal W built from the networkx practice graph (ids = practice codes, binary, fresh per run).
- Attributes: xy = practice sites on the British National Grid, km; travel = 3-D classical MDS of the
  symmetric practice-to-practice mean patient travel minutes (rows of travel_cost / patients placed).
- skater (stock): spopt Skater as shipped. Its `floor` counts observations (practices), not people, and
  there is no floor_variable, so no population floor is possible; run with floor off.
- skater (pop floor): spopt SpanningForest subclass whose quorum check sums list sizes (floor 30,000).
  Skater has no ceiling, so hubs above 70,000 can remain.
- azp (stock): spopt AZP as shipped (random initial regions, no population constraint).
- azp (band, seed): spopt AZP local search started from the GerryChain feasible seed, with an
  AllowMoveStrategy that keeps donors >= 30,000 and recipients <= 70,000 (spopt only ships the floor);
  minimising attribute spread (xy / travel) or, as "our objective", Instance.plan_cost via a custom
  spopt ObjectiveFunction. AZP keeps donor regions contiguous itself.
- maxp: spopt MaxPHeuristic, threshold 30,000 on list size; it chooses its own number of regions and
  has no ceiling, so it is shown once (K = what it found), scored like the others.
- gerrychain seed: recursive_tree_part at the mean hub size with the largest symmetric epsilon inside
  the band (K=23: +/-33.0 %, K=26: +/-35.6 %); the start of every ReCom and AZP (band) run.
- recom anneal: GerryChain ReCom (pop_target 50,000, epsilon 0.4 = exactly 30k-70k per re-split hub,
  pair reselection on, 200 spanning trees per split), Bounds constraint 30k-70k, Metropolis acceptance
  on Instance.plan_cost (default weights, or travel only) with a geometric temperature schedule
  (T0 = median uphill delta of 200 trial proposals / ln 2, T_end = T0/1000), a fixed number of steps,
  random.Random(0), best plan seen kept.
- engine: pcn_planner.optimise(Problem(k=K, time_limit, seed=0), region); its gap is its own claim.
"""


def render(rows: list[dict], meta: dict, quick: bool) -> str:
    lines = [f"Peers benchmark{' (QUICK smoke run)' if quick else ''}: SSOT, {meta['practices']} practices, "
             f"{meta['patients']:,} patients, {meta['graph_edges']} graph edges, bounds "
             f"{LOWER:,}-{UPPER:,}", f"{meta['machine']}",
             "versions: " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()),
             f"total {meta['total_seconds']:.0f} s; parent process after building the region and importing "
             f"the peers: {meta['parent_rss_mb']:.0f} MB peak RSS", ""]
    groups: dict[str, list[dict]] = {}
    for r in rows:
        key = (f"K={r['k_requested']}" if r["k_requested"]
               else ("current PCN map" if r["method"] == "current PCNs" else "max-p (own K)"))
        groups.setdefault(key, []).append(r)
    order = ["current PCN map"] + [f"K={k}" for k in meta["settings"]["ks"]] + ["max-p (own K)"]
    for key in order:
        if key not in groups:
            continue
        lines += [f"== {key} ==", HEADER]
        lines += [table_line(r) for r in groups[key]]
        lines.append("")
    lines.append("Best per K (objective with default weights; travel-only objective):")
    for k in meta["settings"]["ks"]:
        ok = [r for r in rows if r["k_requested"] == k and r.get("k") is not None and r["feasible"]]
        peers = [r for r in ok if r["method"] not in ("engine", "gerrychain seed")]
        eng = [r for r in ok if r["method"] == "engine"]
        bounds = {r["variant"]: r.get("bound") for r in eng}

        def vs_bound(value: float, variant: str) -> str:
            b = bounds.get(variant)
            return "" if b is None else f", {(value - b) / abs(value):.2%} above the engine's bound {b:.4f}"

        if peers:
            bp = min(peers, key=lambda r: r["objective"])
            bt = min(peers, key=lambda r: r["objective_travel_only"])
            lines.append(f"  K={k}: best feasible peer, default weights: {bp['method']} [{bp['variant']}] "
                         f"obj {bp['objective']:.4f}{vs_bound(bp['objective'], 'default weights')}")
            lines.append(f"  K={k}: best feasible peer, travel only:     {bt['method']} [{bt['variant']}] "
                         f"obj-T {bt['objective_travel_only']:.4f}"
                         f"{vs_bound(bt['objective_travel_only'], 'travel only')}")
        for r in eng:
            gap = "none" if r.get("gap") is None else f"{r['gap']:.2%}"
            value = r["objective"] if r["variant"] == "default weights" else r["objective_travel_only"]
            lines.append(f"  K={k}: engine [{r['variant']}] {'obj' if r['variant'] == 'default weights' else 'obj-T'} "
                         f"{value:.4f} (its gap {gap}, {r.get('status')}, {r['wall_seconds']:.1f} s)")
        if not eng:
            lines.append(f"  K={k}: engine rows missing (see the table) - re-run when pcn_planner.optimise works")
    lines.append("")
    anneal = [r for r in rows if r.get("anneal")]
    if anneal:
        lines.append("ReCom anneal runs:")
        for r in anneal:
            a = r["anneal"]
            lines.append(f"  K={r['k_requested']} [{r['variant']}]: {a['steps']} steps ({a['stopped_by']}), "
                         f"{a['accepted']} accepted, T {a['t_start']:.2e} -> {a['t_end']:.2e}, objective "
                         f"{a['start_objective']:.4f} -> {a['best_objective']:.4f} (best at step {a['best_step']})")
        lines.append("")
    broken = [r for r in rows if r.get("k") is not None and r.get("problems")]
    if broken:
        lines.append("Rules broken (first few per plan):")
        for r in broken:
            name = f"{r['method']} [{r['variant']}]" if r["variant"] else r["method"]
            lines.append(f"  K={r['k_requested'] or r['k']} {name}: "
                         + "; ".join(r["problems"][:3]))
        lines.append("")
    lines.append(NOTES)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: short budgets, 2,000 ReCom steps")
    parser.add_argument("--k", type=int, nargs="+", help="hub counts (default 23 26)")
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else FULL
    if args.k:
        settings = Settings(**{**settings.__dict__, "ks": tuple(args.k)})
    rows, meta = run_benchmark(settings)
    text = render(rows, meta, args.quick)
    if args.quick:
        print(text)  # a smoke run never overwrites the committed results
    else:
        write_results("peers", text + "\n", {**meta, "rows": rows})


if __name__ == "__main__":
    main()
