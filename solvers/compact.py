"""Exact compact MIP for contiguous hubs: a true lower bound and, in time, a certified plan.

The model is a capacitated p-median (Hess) whose base is a member practice::

    x[p, b] in {0, 1}    practice p is in the hub based at b; x[b, b] = "b is a base"
    sum_b x[p, b] = 1                          every practice in exactly one hub
    x[p, b] <= x[b, b]                         only open bases take members
    k_min <= sum_b x[b, b] <= k_max
    lower x[b, b] <= sum_p pop_p x[p, b] <= upper x[b, b]
    e_b >= sum_p risk_coef_p x[p, b],  e_b >= 0
    min  sum cost[p, b] x[p, b] + risk_weight sum_b e_b

plus the side rules (anchor, keep together / apart, locked hubs, moved
practices) and contiguity. Contiguity is added lazily: solve, find every member
``p`` cut off from its base ``b`` in the hub's induced subgraph, add the
minimal ``p``-``b`` separator inequality ``x[p, b] <= sum_{v in C} x[v, b]``
(Fischetti et al. 2017; Validi and Buchanan 2022) and re-solve, warm-started
from the best contiguous plan known. Before the first MIP the LP relaxation is
tightened for a few rounds with separator inequalities violated by the
fractional solution (vertex max-flow) and with *population cuts*
``x[b, b] <= sum_{v in N(S)} x[v, b]`` for sets ``S`` around ``b`` holding fewer
than ``lower`` patients (an open hub is connected and bigger than ``S``, so it
reaches past ``S``), and with rounded *capacity cuts* (:mod:`solvers.capacity`:
every set of practices is reached by at least ``ceil(patients / upper)`` hubs),
until three rounds together raise the bound by under ``STALL_GAIN``. Each
non-contiguous MIP solution is also repaired into a contiguous plan
(:func:`repair_plan`), which can only improve the incumbent.

Why the bound is valid over *all* contiguous in-band plans
----------------------------------------------------------
* **Distance pruning.** ``x[p, b]`` is dropped when every ``p``-``b`` path in
  the practice graph carries more than ``upper`` patients (node-weighted
  shortest path, both ends counted). A contiguous hub holding ``p`` and ``b``
  contains such a path, so no contiguous in-band plan uses the pair.
* **Cuts.** Separator, population and capacity inequalities hold for every
  contiguous in-band plan, and the model holds only some of them, so it is a
  relaxation: its LP value and its MIP dual bound are lower bounds on the
  contiguous optimum.
* **Moved practices.** A plan counts moved practices at each hub's own best base
  (``Instance.hub_cost``); the MIP may pick another base. That is a relaxation
  too. When it returns a hub whose count only works at a non-best base, that
  exact hub-and-base pairing is forbidden (it represents no feasible plan) and
  the MIP runs again.
* **Reduced-cost fixing.** Given a feasible contiguous plan of value ``UB``
  (the caller's incumbent, or one found here), take the root LP (value ``z``,
  reduced costs ``d``). Any solution with ``x_j = 1`` for a column at its lower
  bound costs at least ``z + d_j``. Where ``z + d_j > UB`` every such solution is
  worse than the incumbent, so fixing ``x_j = 0`` keeps every plan that beats
  ``UB``. The restricted model's dual bound ``L`` bounds the restricted optimum,
  and the full optimum is at least ``min(L, UB)``; the reported bound is capped at
  ``UB`` for that reason. If the restricted model turns out infeasible, no plan
  beats ``UB`` and the incumbent is optimal. Fixing also runs between root cut
  rounds, against each round's LP: a later LP only adds cuts and fixings, so every
  fixing keeps every plan that beats ``UB``.

The restricted master LP of a column generator is never used here: every bound
comes from an LP or MIP relaxation of the full problem.

The model is written in PuLP. The root LP and its cut rounds always use HiGHS
(PuLP builds the highspy model, which is kept alive so rounds re-solve warm); the
MIP solves use HiGHS on a copy of that highspy model with the ``x`` columns made
binary (rebuilding it through PuLP would cost about 2 s on SSOT; the MIP start is
set with ``setSolution``; rows added later go to both models) or
CBC (command line; the dual bound is parsed from its log lines with 8 digits,
since its closing "Lower bound:" line has 3 decimals and may round up).
Determinism: HiGHS and CBC run with fixed seeds and every loop iterates in
sorted order, so runs that end on a proof or the gap target repeat exactly; a run
stopped by the time limit may differ.
"""

from __future__ import annotations

import heapq
import math
import re
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pulp
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import maximum_flow

from pcn_planner.model.instance import Instance

from .capacity import CapacityCut, CapacitySeparator

#: Safety limit on solve-separate rounds (the time limit usually ends the loop first).
MAX_ITERATIONS = 200
#: Relative slack on reduced-cost fixing, so solver round-off never fixes a variable the incumbent uses.
FIX_TOLERANCE = 1e-6
#: HiGHS random seed, fixed so runs that end on a proof or a gap are repeatable.
SEED = 0

#: Max-flow works on integers: LP values are scaled by this, and uncuttable arcs get the large capacity.
_FLOW_SCALE = 1_000_000
_FLOW_INF = 1_000_000_000
#: Widest-path widths must beat the cut threshold by this much to skip a max-flow (integer flow rounding).
_WIDTH_MARGIN = 1e-4
#: Root cut rounds on the LP relaxation, and the share of the time limit they may use.
ROOT_ROUNDS = 40
ROOT_SHARE = 0.75
#: Root rounds stop once the last ``STALL_ROUNDS`` rounds together raised the bound by at most this share.
STALL_ROUNDS = 3
STALL_GAIN = 2e-4
#: Most capacity cuts (:mod:`solvers.capacity`) added per root round.
CAPACITY_CUTS_PER_ROUND = 30
#: HiGHS options for a MIP that starts from a plan: no primal heuristics. The plan comes from the
#: column heuristic, which beats HiGHS's sub-MIPs here; they took most of the root node's time
#: while the dual bound (the certificate) waited.
QUIET_HEURISTICS = dict(mip_heuristic_effort=0.0, mip_heuristic_run_rins=False, mip_heuristic_run_rens=False,
                        mip_heuristic_run_root_reduced_cost=False, mip_heuristic_run_feasibility_jump=False)
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


# ---------------------------------------------------------------------------
# graph helpers


def _components(members: list[int], adj: list[list[int]]) -> list[list[int]]:
    """Connected pieces of the subgraph induced by ``members``, in sorted order."""
    inside = set(members)
    seen: set[int] = set()
    pieces: list[list[int]] = []
    for start in sorted(members):
        if start in seen:
            continue
        piece, queue = [], deque([start])
        seen.add(start)
        while queue:  # bounded: each member enters the queue once
            u = queue.popleft()
            piece.append(u)
            for v in adj[u]:
                if v in inside and v not in seen:
                    seen.add(v)
                    queue.append(v)
        pieces.append(sorted(piece))
    return pieces


def _path_population(b: int, usable: np.ndarray, pop: np.ndarray, adj: list[list[int]]) -> np.ndarray:
    """Least population on a path from ``b`` to each vertex through ``usable`` vertices (ends counted)."""
    dist = np.full(len(pop), np.inf)
    dist[b] = pop[b]
    heap = [(float(pop[b]), b)]
    while heap:  # Dijkstra: each vertex is settled once
        d, u = heapq.heappop(heap)
        if d > dist[u]:
            continue
        for v in adj[u]:
            if usable[v] and d + pop[v] < dist[v]:
                dist[v] = d + pop[v]
                heapq.heappush(heap, (float(dist[v]), v))
    return dist


# ---------------------------------------------------------------------------
# preparation: which x[p, b] can be non-zero in some contiguous in-band plan


def _check_rules(inst: Instance, adj: list[list[int]]) -> str:
    """Plain-words reason the rules cannot all hold, or ``""``. Only cheap, certain checks."""
    pop, names = inst.population, inst.codes
    over = np.flatnonzero(pop > inst.upper)
    if over.size:
        p = int(over[0])
        return f"practice {names[p]} alone has {pop[p]:,.0f} patients > max {inst.upper:,.0f}"
    total = float(pop.sum())
    if total < inst.k_min * inst.lower:
        return (f"{total:,.0f} patients cannot fill {inst.k_min} hubs of at least {inst.lower:,.0f}; "
                f"use fewer hubs or a lower minimum")
    if total > inst.k_max * inst.upper:
        return (f"{total:,.0f} patients do not fit in {inst.k_max} hubs of at most {inst.upper:,.0f}; "
                f"use more hubs or a higher maximum")
    if inst.area is not None:  # nesting: every area needs a whole number of in-band hubs
        areas = sorted(set(map(str, inst.area)))
        sizes = {a: float(pop[np.asarray(inst.area).astype(str) == a].sum()) for a in areas}
        fewest = {a: math.ceil(sizes[a] / inst.upper) for a in areas}
        most = {a: math.floor(sizes[a] / inst.lower) for a in areas}
        for a in areas:
            if most[a] < fewest[a]:
                return (f"nesting: {a} has {sizes[a]:,.0f} patients, which no whole number of hubs of "
                        f"{inst.lower:,.0f}-{inst.upper:,.0f} can hold")
        low, high = sum(fewest.values()), sum(most.values())
        detail = ", ".join(f"{a} {fewest[a]}-{most[a]}" for a in areas)
        if low > inst.k_max or high < inst.k_min:
            return (f"nesting needs {low}-{high} hubs in all ({detail}), but K is "
                    f"{inst.k_min}-{inst.k_max}" if inst.k_min != inst.k_max else
                    f"nesting needs {low}-{high} hubs in all ({detail}), but K is {inst.k_min}")
    owner = np.full(inst.n, -1)
    for g, members in enumerate(inst.locked):
        label = f"locked hub {g + 1} ({', '.join(names[m] for m in members)})"
        if (owner[members] >= 0).any():
            return f"{label} overlaps another locked hub"
        owner[members] = g
        size = float(pop[members].sum())
        if not inst.lower <= size <= inst.upper:
            return f"{label} has {size:,.0f} patients, outside {inst.lower:,.0f}-{inst.upper:,.0f}"
        if len(_components(list(map(int, members)), adj)) > 1:
            return f"{label} is not contiguous in the practice graph"
        if inst.hub_cost(members)[1] < 0:
            return f"{label} spans more than one nesting area"
        if inst.require_anchor and not inst.anchors[members].any():
            return f"{label} has no anchor practice"
    for p, q in inst.keep_apart:
        if owner[p] >= 0 and owner[p] == owner[q]:
            return f"{names[p]} and {names[q]} must be kept apart but are locked in one hub"
    for p, q in inst.keep_together:
        if owner[p] != owner[q]:
            return f"{names[p]} and {names[q]} must be kept together but only one is in a locked hub"
    return ""


def candidate_pairs(inst: Instance) -> tuple[np.ndarray, str]:
    """Mask of the ``x[p, b]`` that some contiguous in-band plan may use, and an infeasibility reason.

    Returns
    -------
    mask
        ``mask[p, b]``: practice ``p`` may be in the hub based at ``b``.
    reason
        Plain words if the mask already proves the instance infeasible, else ``""``.
    """
    n, pop, adj = inst.n, inst.population, inst.neighbours()
    reason = _check_rules(inst, adj)
    if reason:
        return np.zeros((n, n), dtype=bool), reason
    mask = inst.allowed.copy()
    for members in inst.locked:
        base = inst.hub_cost(members)[1]
        mask[members, :] = False
        mask[:, members] = False
        mask[:, base] = False
        mask[members, base] = True
    # a base serves itself; pruning rounds until nothing changes (each round removes a pair or stops)
    for _ in range(n * n):
        before = int(mask.sum())
        for b in range(n):
            if not mask[b, b]:
                mask[:, b] = False
                continue
            dist = _path_population(b, mask[:, b], pop, adj)
            mask[:, b] &= dist <= inst.upper
            if pop[mask[:, b]].sum() < inst.lower:  # cannot gather enough patients
                mask[:, b] = False
        for p, q in inst.keep_together:  # partners share every base
            both = mask[p] & mask[q]
            mask[p], mask[q] = both, both
        if int(mask.sum()) == before:
            break
    homeless = np.flatnonzero(~mask.any(axis=1))
    if homeless.size:
        p = int(homeless[0])
        return mask, (f"practice {inst.codes[p]} cannot join any contiguous hub of "
                      f"{inst.lower:,.0f}-{inst.upper:,.0f} patients under the rules")
    return mask, ""


# ---------------------------------------------------------------------------
# the model


def _expr(terms: list[tuple[pulp.LpVariable, float]]) -> pulp.LpAffineExpression:
    """A linear expression that adds repeated variables (PuLP keeps only the last coefficient)."""
    coef: dict[pulp.LpVariable, float] = {}
    for var, c in terms:
        coef[var] = coef.get(var, 0.0) + c
    return pulp.LpAffineExpression(list(coef.items()))


def _variable(prob: pulp.LpProblem, name: str, low: float | None, up: float | None, cat: str) -> pulp.LpVariable:
    """A variable owned by ``prob`` (PuLP >= 3.3 asks for ``add_variable``; older PuLP has only ``LpVariable``)."""
    make = getattr(prob, "add_variable", None)
    return make(name, low, up, cat) if make else pulp.LpVariable(name, low, up, cat)


class _Model:
    """The PuLP model plus the bookkeeping to read and cut its solutions."""

    def __init__(self, inst: Instance, mask: np.ndarray) -> None:
        self.inst, self.mask = inst, mask
        self.adj = inst.neighbours()
        n, pop = inst.n, inst.population
        self.bases = [b for b in range(n) if mask[b, b]]
        self.cols = {p: [b for b in self.bases if mask[p, b]] for p in range(n)}
        self.rows = {b: [p for p in range(n) if mask[p, b]] for b in self.bases}
        prob = pulp.LpProblem("compact_hubs", pulp.LpMinimize)
        x = {(p, b): _variable(prob, f"x_{p}_{b}", 0, 1, pulp.LpBinary)
             for b in self.bases for p in self.rows[b]}
        self.x = x
        # a risk excess variable only where the members could pile risk above zero
        self.e = {b: _variable(prob, f"e_{b}", 0, None, pulp.LpContinuous) for b in self.bases
                  if inst.risk_weight > 0 and inst.risk_coef[self.rows[b]].clip(min=0).sum() > 0}
        terms = [(x[p, b], float(inst.cost[p, b])) for (p, b) in x]
        terms += [(v, float(inst.risk_weight)) for v in self.e.values()]
        prob += _expr(terms)
        for p in range(n):
            prob += _expr([(x[p, b], 1.0) for b in self.cols[p]]) == 1, f"assign_{p}"
        for b in self.bases:
            members = self.rows[b]
            for p in members:
                if p != b:
                    prob += x[p, b] - x[b, b] <= 0, f"open_{p}_{b}"
            size = [(x[p, b], float(pop[p])) for p in members]
            prob += _expr(size + [(x[b, b], -inst.upper)]) <= 0, f"max_{b}"
            prob += _expr(size + [(x[b, b], -inst.lower)]) >= 0, f"min_{b}"
            if b in self.e:
                risk = [(x[p, b], float(inst.risk_coef[p])) for p in members]
                prob += _expr(risk + [(self.e[b], -1.0)]) <= 0, f"risk_{b}"
            if inst.require_anchor:
                held = [(x[p, b], 1.0) for p in members if inst.anchors[p]]
                prob += _expr(held + [(x[b, b], -1.0)]) >= 0, f"anchor_{b}"
            for i, (p, q) in enumerate(inst.keep_apart):
                pair = [(x[v, b], 1.0) for v in (p, q) if (v, b) in x]
                if len(pair) == 2:
                    prob += _expr(pair + [(x[b, b], -1.0)]) <= 0, f"apart_{i}_{b}"
            for i, (p, q) in enumerate(inst.keep_together):
                if (p, b) in x:  # the mask gives partners the same bases
                    prob += x[p, b] - x[q, b] == 0, f"together_{i}_{b}"
        opened = _expr([(x[b, b], 1.0) for b in self.bases])
        prob += opened >= inst.k_min, "k_min"
        prob += opened <= inst.k_max, "k_max"
        if inst.max_moved is not None:
            moved = [(x[p, b], 1.0) for (p, b) in x if inst.moved[p, b]]
            prob += _expr(moved) <= inst.max_moved, "max_moved"
        self.prob = prob
        self.cuts: set[tuple[int, int, tuple[int, ...]]] = set()
        self.capacity = CapacitySeparator(self.adj, pop, inst.upper, x.keys())
        self.capacity_cuts = 0
        #: The root LP that each MIP solve copies (:func:`_solve_highs`); once set, new rows go to it too.
        self.live: _RootLP | None = None
        self.exclusions: set[tuple[tuple[int, ...], int]] = set()

    # -- solutions ---------------------------------------------------------

    def assignment(self) -> dict[int, list[int]]:
        """Hubs of the current solution: base -> sorted members."""
        hubs: dict[int, list[int]] = {}
        for (p, b), var in self.x.items():
            if (var.varValue or 0.0) > 0.5:
                hubs.setdefault(b, []).append(p)
        return {b: sorted(m) for b, m in sorted(hubs.items())}

    def set_start(self, hubs: list[np.ndarray]) -> bool:
        """Load a plan as initial values; ``False`` if the model cannot represent it.

        Each hub takes its cheapest base whose columns are all still in the model
        (not pruned, not fixed at 0), so the start is feasible for the model as it stands.
        """
        values: dict[tuple[int, int], float] = {}
        for members in hubs:
            members = np.asarray(members, dtype=int)
            options = [b for b in members.tolist()
                       if all((p, b) in self.x and self.x[p, b].upBound != 0 for p in members.tolist())]
            if not options:
                return False
            base = min(options, key=lambda b: (float(self.inst.cost[members, b].sum()), b))
            values.update({(int(p), base): 1.0 for p in members})
        for key, var in self.x.items():
            var.setInitialValue(values.get(key, 0.0))
        for b, var in self.e.items():
            members = [p for p in self.rows[b] if values.get((p, b), 0.0) > 0.5]
            var.setInitialValue(max(0.0, float(self.inst.risk_coef[members].sum())) if members else 0.0)
        return True

    # -- contiguity ----------------------------------------------------------

    def separator(self, piece: list[int], b: int) -> tuple[int, ...]:
        """Minimal separator between ``piece`` and base ``b`` in the graph of practices that may join ``b``.

        It is the neighbours of ``piece`` that can still reach ``b`` without entering
        ``piece``; vertices with ``x[v, b]`` fixed at 0 are left out, as they can never
        connect anything.
        """
        inside, usable = set(piece), self.mask[:, b]
        reach, queue = {b}, deque([b])
        while queue:  # bounded: each vertex enters once
            u = queue.popleft()
            for v in self.adj[u]:
                if usable[v] and v not in inside and v not in reach:
                    reach.add(v)
                    queue.append(v)
        return tuple(sorted({v for u in piece for v in self.adj[u] if v in reach}))

    def separators(self, hubs: dict[int, list[int]]) -> list[tuple[int, int, tuple[int, ...]]]:
        """Violated separator inequalities ``(p, b, C)`` for every member cut off from its base."""
        found = []
        for b, members in hubs.items():
            pieces = _components(members, self.adj)
            for piece in pieces:
                if b not in piece:
                    sep = self.separator(piece, b)
                    found += [(p, b, sep) for p in piece]
        return found

    def fractional_cuts(self, value: dict[tuple[int, int], float], eps: float = 1e-3
                        ) -> list[tuple[int, int, tuple[int, ...]]]:
        """Separator inequalities violated by an LP solution, by vertex max-flow (Validi-Buchanan).

        For each base ``b`` and member ``p`` with ``x[p, b] > eps``, the least-capacity
        ``p``-``b`` vertex cut with capacities ``x[v, b]`` is found; if it is below
        ``x[p, b] - eps``, the piece of ``p`` behind the cut gives a minimal separator.
        """
        n, found = self.inst.n, []
        for b in self.bases:
            if value.get((b, b), 0.0) < 1e-6:
                continue
            usable = self.mask[:, b]
            heads, tails, caps = [], [], []
            for v in self.rows[b]:  # vertex v splits into 2v (in) -> 2v+1 (out)
                heads.append(2 * v)
                tails.append(2 * v + 1)
                caps.append(int(value.get((v, b), 0.0) * _FLOW_SCALE))
                for w in self.adj[v]:
                    if usable[w]:
                        heads.append(2 * v + 1)
                        tails.append(2 * w)
                        caps.append(_FLOW_INF)
            cap = csr_matrix((np.array(caps, dtype=np.int32), (heads, tails)), shape=(2 * n, 2 * n))
            cap.sum_duplicates()
            dense = cap.toarray()
            width = self._widest(b, value)
            for p in self.rows[b]:
                xp = value.get((p, b), 0.0)
                if p == b or xp <= eps or b in self.adj[p] or width[p] >= xp - eps + _WIDTH_MARGIN:
                    continue  # (a single path already carries enough flow: no cut here)
                flow = maximum_flow(cap, 2 * p + 1, 2 * b)
                if flow.flow_value >= (xp - eps) * _FLOW_SCALE:
                    continue
                residual = dense - flow.flow.toarray()
                seen = np.zeros(2 * n, dtype=bool)
                seen[2 * p + 1] = True
                queue = deque([2 * p + 1])
                while queue:  # bounded: each split vertex enters once
                    u = queue.popleft()
                    for w in np.flatnonzero((residual[u] > 0) & ~seen):
                        seen[w] = True
                        queue.append(int(w))
                source_side = [v for v in self.rows[b] if seen[2 * v + 1] or v == p]
                piece = next(pc for pc in _components(source_side, self.adj) if p in pc)
                found.append((p, b, self.separator(piece, b)))
        return found

    def _widest(self, b: int, value: dict[tuple[int, int], float]) -> dict[int, float]:
        """Widest-path capacity from ``b`` to each vertex, a path carrying the least ``x[v, b]`` of its inner vertices.

        A lower bound on the max-flow of :meth:`fractional_cuts`, found in one Dijkstra-like pass,
        so only the members it cannot clear need a max-flow.
        """
        usable = self.mask[:, b]
        width = {b: math.inf}
        heap = [(-math.inf, b)]
        while heap:  # each vertex settles once, at its widest
            w, u = heapq.heappop(heap)
            if -w < width.get(u, -1.0):
                continue
            through = -w if u == b else min(-w, value.get((u, b), 0.0))
            for v in self.adj[u]:
                if usable[v] and through > width.get(v, -1.0):
                    width[v] = through
                    heapq.heappush(heap, (-through, v))
        return {v: width.get(v, 0.0) for v in self.rows[b]}

    def population_cuts(self, value: dict[tuple[int, int], float], eps: float = 1e-3
                        ) -> list[tuple[int, int, tuple[int, ...]]]:
        """Population cuts ``x[b, b] <= sum_{v in N(S)} x[v, b]`` violated by an LP solution.

        For any set ``S`` holding base ``b`` with fewer than ``lower`` patients, an
        open hub at ``b`` is connected and bigger than ``S``, so it holds a
        neighbour of ``S``. ``S`` grows greedily from ``b`` by the neighbour with the
        largest ``x[v, b]`` (a heuristic separation); cuts use the ``(p, b, C)`` form with ``p = b``.
        """
        pop, lower, found = self.inst.population, self.inst.lower, []
        for b in self.bases:
            xb = value.get((b, b), 0.0)
            if xb < eps:
                continue
            usable = self.mask[:, b]
            inside, size = {b}, float(pop[b])
            for _ in range(self.inst.n):  # S grows by one vertex a step, staying below the band
                if size >= lower:
                    break
                ring = sorted({w for u in inside for w in self.adj[u] if usable[w] and w not in inside})
                if sum(value.get((w, b), 0.0) for w in ring) < xb - eps:
                    found.append((b, b, tuple(ring)))
                    break
                grow = [w for w in ring if size + pop[w] < lower]
                if not grow:
                    break
                w = min(grow, key=lambda v: (-value.get((v, b), 0.0), v))
                inside.add(w)
                size += float(pop[w])
        return found

    def exclude_hub(self, members: list[int], b: int) -> bool:
        """Forbid exactly hub ``members`` based at ``b``; ``False`` if already forbidden.

        Used only when ``b`` is not the hub's own best base (``Instance.hub_cost``):
        a plan's moved practices are counted at its best bases, so that pairing is
        never how a feasible plan is represented, and cutting it off keeps every
        feasible plan (and so the bound) intact.
        """
        key = (tuple(members), b)
        if key in self.exclusions:
            return False
        self.exclusions.add(key)
        inside = set(members)
        terms = [(self.x[p, b], 1.0) for p in members] + [(self.x[q, b], -1.0) for q in self.rows[b]
                                                           if q not in inside]
        self.prob += _expr(terms) <= len(members) - 1, f"exclude_{len(self.exclusions)}"
        if self.live is not None:
            keys = [(p, b) for p in members] + [(q, b) for q in self.rows[b] if q not in inside]
            coefs = [1.0] * len(members) + [-1.0] * (len(keys) - len(members))
            self.live.add_row(keys, coefs, -self.live.inf, float(len(members) - 1))
        return True

    def add_cuts(self, cuts: list[tuple[int, int, tuple[int, ...]]]) -> int:
        """Add new separator inequalities; returns how many were new."""
        added = 0
        for p, b, sep in cuts:
            if (p, b, sep) in self.cuts:
                continue
            self.cuts.add((p, b, sep))
            expr = _expr([(self.x[p, b], 1.0)] + [(self.x[v, b], -1.0) for v in sep])
            self.prob += expr <= 0, f"cut_{len(self.cuts)}"
            if self.live is not None:
                self.live.add_separator(p, b, sep)
            added += 1
        return added

    def add_capacity_cuts(self, cuts: list[CapacityCut]) -> None:
        """Add rounded capacity cuts (:mod:`solvers.capacity`); the separator never returns one twice."""
        for terms, need in cuts:
            self.capacity_cuts += 1
            self.prob += _expr([(self.x[key], 1.0) for key in terms]) >= need, f"capacity_{self.capacity_cuts}"


# ---------------------------------------------------------------------------
# primal heuristic: make a plan contiguous and in band, then improve it locally

#: Penalty per unit of relative band violation in the repair search; dwarfs any cost change.
BAND_PENALTY = 1e3
#: Limit on improvement passes over all practices.
MAX_PASSES = 60


class _Plan:
    """Hub labels with cached costs, for single-practice moves that keep every hub contiguous."""

    def __init__(self, inst: Instance, adj: list[list[int]], labels: np.ndarray) -> None:
        self.inst, self.adj = inst, adj
        self.labels = labels.copy()
        self.members: dict[int, set[int]] = {}
        for p, h in enumerate(self.labels):
            self.members.setdefault(int(h), set()).add(p)
        self.locked = np.zeros(inst.n, dtype=bool)
        for g in inst.locked:
            self.locked[g] = True
        self.partners: dict[int, list[int]] = {}
        for p, q in inst.keep_apart:
            self.partners.setdefault(p, []).append(q)
            self.partners.setdefault(q, []).append(p)
        self.tied = np.zeros(inst.n, dtype=bool)  # keep-together practices move only with their partner
        for p, q in inst.keep_together:
            self.tied[[p, q]] = True
        self.cost = {h: self._cost(m) for h, m in self.members.items()}

    def _cost(self, members: set[int]) -> float:
        arr = np.fromiter(sorted(members), dtype=int)
        cost, base = self.inst.hub_cost(arr)
        viol = max(0.0, self.inst.lower - self.inst.population[arr].sum(),
                   self.inst.population[arr].sum() - self.inst.upper) / self.inst.lower
        return cost + BAND_PENALTY * viol

    def moved_total(self, extra: dict[int, set[int]] | None = None) -> int:
        total = 0
        for h, m in self.members.items():
            m = (extra or {}).get(h, m)
            arr = np.fromiter(sorted(m), dtype=int)
            total += int(self.inst.moved[arr, self.inst.hub_cost(arr)[1]].sum())
        return total

    def try_move(self, group: list[int], target: int, *, check_source: bool = True) -> float | None:
        """Cost change of moving ``group`` (one piece of one hub) to hub ``target``; ``None`` if not allowed.

        ``check_source=False`` skips the source hub's contiguity check, for pieces cut off already.
        """
        inst = self.inst
        source = int(self.labels[group[0]])
        if source == target or self.locked[group].any():
            return None
        if any(set(self.partners.get(p, ())) & self.members[target] for p in group):
            return None
        rest = self.members[source] - set(group)
        if not rest or (check_source and len(_components(sorted(rest), self.adj)) > 1):
            return None
        if inst.require_anchor and not inst.anchors[sorted(rest)].any():
            return None
        new_target = self.members[target] | set(group)
        c_source, c_target = self._cost(rest), self._cost(new_target)
        if not (math.isfinite(c_source) and math.isfinite(c_target)):
            return None
        if inst.max_moved is not None and self.moved_total({source: rest, target: new_target}) > inst.max_moved:
            return None
        return c_source + c_target - self.cost[source] - self.cost[target]

    def move(self, group: list[int], target: int) -> None:
        source = int(self.labels[group[0]])
        self.members[source] -= set(group)
        self.members[target] |= set(group)
        self.labels[group] = target
        self.cost[source] = self._cost(self.members[source])
        self.cost[target] = self._cost(self.members[target])

    def improve(self, deadline: float) -> None:
        """First-improvement single-practice moves, in sorted order, until none helps."""
        for _ in range(MAX_PASSES):
            improved = False
            for p in range(self.inst.n):
                if time.perf_counter() > deadline:
                    return
                if self.tied[p]:
                    continue
                targets = sorted({int(self.labels[v]) for v in self.adj[p]} - {int(self.labels[p])})
                for h in targets:
                    delta = self.try_move([p], h)
                    if delta is not None and delta < -1e-12:
                        self.move([p], h)
                        improved = True
                        break
            if not improved:
                return

    def hubs(self) -> list[np.ndarray]:
        return [np.fromiter(sorted(m), dtype=int) for _, m in sorted(self.members.items()) if m]


def repair_plan(inst: Instance, hubs: list[np.ndarray], *, time_limit: float = 2.0) -> list[np.ndarray] | None:
    """Turn a partition (maybe not contiguous or in band) into a feasible contiguous plan, then improve it.

    Each hub keeps the piece holding its best base; every other piece joins the
    neighbouring hub where it costs least; then single practices move between
    neighbouring hubs (keeping every hub contiguous) while the cost plus a large
    band-violation penalty falls.

    Parameters
    ----------
    inst
        The compiled problem.
    hubs
        Member position arrays covering every practice once.
    time_limit
        Seconds for the whole repair.

    Returns
    -------
    list of numpy.ndarray or None
        A plan that passes every rule, or ``None`` if the repair did not get there.
    """
    deadline = time.perf_counter() + time_limit
    adj = inst.neighbours()
    labels = np.full(inst.n, -1)
    for i, h in enumerate(hubs):
        labels[np.asarray(h, dtype=int)] = i
    if (labels < 0).any():
        return None
    orphans: list[list[int]] = []
    for i, h in enumerate(hubs):
        pieces = _components(list(map(int, h)), adj)
        if len(pieces) > 1:
            base = inst.hub_cost(np.asarray(h, dtype=int))[1]
            keep = next((pc for pc in pieces if base in pc), max(pieces, key=len))
            orphans += [pc for pc in pieces if pc is not keep]
    plan = _Plan(inst, adj, labels)
    for _ in range(inst.n):  # each round attaches at least one piece or stops
        if not orphans:
            break
        left = []
        for piece in orphans:
            targets = sorted({int(plan.labels[v]) for u in piece for v in adj[u]} - {int(plan.labels[piece[0]])})
            moves = [(d, h) for h in targets if (d := plan.try_move(piece, h, check_source=False)) is not None]
            if moves:
                plan.move(piece, min(moves)[1])
            else:
                left.append(piece)
        if len(left) == len(orphans):
            return None
        orphans = left
    plan.improve(deadline)
    result = plan.hubs()
    return result if not _valid_plan(inst, result, adj) else None


# ---------------------------------------------------------------------------
# solver back ends


class _Watch:
    """Follows a HiGHS MIP solve through its callbacks.

    Every improving solution HiGHS finds goes to ``on_solution`` (which makes it
    contiguous and keeps it if it beats the incumbent), and the solve is
    interrupted as soon as ``stop_at(dual_bound)`` says the incumbent is close
    enough. HiGHS alone cannot know that: its own incumbent may not be contiguous.
    Python errors inside a callback are kept and raised after the solve, since
    they must not unwind through the solver.
    """

    def __init__(self, model: _Model, on_solution: Callable[[dict[int, list[int]]], None],
                 stop_at: Callable[[float], bool]) -> None:
        self.model, self.on_solution, self.stop_at = model, on_solution, stop_at
        self.error: BaseException | None = None
        self.index: list[tuple[tuple[int, int], int]] = []
        self.attached: Any = None

    def attach(self, h: Any) -> None:
        if self.attached is h:  # subscribe once per model
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


@dataclass
class _Solve:
    """One solve's outcome, in the solver-neutral terms the loop needs."""

    status: str  # optimal | feasible | infeasible | none | error
    objective: float | None
    bound: float | None
    nodes: int | None
    seconds: float


def _highs_version() -> str:
    import highspy

    h = highspy.Highs()
    return f"{h.versionMajor()}.{h.versionMinor()}.{h.versionPatch()}"


def _cbc_version() -> str:
    return "CBC (PuLP " + pulp.__version__ + ")"


def _solve_highs(model: _Model, *, time_limit: float, gap: float, threads: int | None, start: bool,
                 watch: _Watch | None = None) -> _Solve:
    """One HiGHS MIP solve on the live model: the root LP with every cut, fixing and exclusion in it.

    Copying the root's highspy model spares rebuilding it through PuLP (about 2 s on SSOT,
    most of it PuLP collecting 16,000 variables from 17,000 rows). The start plan is
    read from the variables' initial values (:meth:`_Model.set_start`) and the solution is
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
    seconds = time.perf_counter() - t0
    if col is not None:
        for var, value in zip(variables, col[index]):
            var.varValue = float(value)
    if not consistent:
        return _Solve("error", None, None, None, seconds)
    if status in (S.kInfeasible, S.kUnboundedOrInfeasible):  # the model is bounded: e >= 0 costs >= 0
        return _Solve("infeasible", None, None, None, seconds)
    nodes = int(info.mip_node_count)
    if status == S.kOptimal:
        return _Solve("optimal", float(info.objective_function_value), float(info.mip_dual_bound), nodes, seconds)
    if status in (S.kSolveError, S.kPresolveError, S.kPostsolveError, S.kModelError, S.kLoadError):
        return _Solve("error", None, None, None, seconds)
    obj = float(info.objective_function_value) if has_solution else None
    bound = float(info.mip_dual_bound) if math.isfinite(info.mip_dual_bound) else None
    return _Solve("feasible" if has_solution else "none", obj, bound, nodes, seconds)


# CBC prints its final "Lower bound:" to 3 decimals only, which may round up; these lines carry 8 digits
_CBC_PARTIAL = re.compile(r"Cbc0005I Partial search - best objective \S+ \(best possible (\S+)\)")
_CBC_GAP_EXIT = re.compile(r"Cbc0011I Exiting as integer gap of (\S+)")
_CBC_PROGRESS = re.compile(r"best possible (-?[\d.eE+-]+)")
# a finished search: the tree was exhausted, or preprocessing proved nothing beats the start
_CBC_COMPLETED = re.compile(r"Cbc0001I Search completed|^Result - Optimal solution found\s*$", re.M)
_CBC_NODES = re.compile(r"^Enumerated nodes:\s*(\d+)", re.M)


def _cbc_bound(text: str, objective: float | None) -> float | None:
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


def _solve_cbc(prob: pulp.LpProblem, *, mip: bool, time_limit: float, gap: float,
               threads: int | None, start: bool, watch: _Watch | None = None) -> _Solve:
    # PuLP runs CBC as a separate program, so there are no callbacks to watch it with
    with tempfile.TemporaryDirectory(prefix="pcn_cbc_") as tmp:
        log_path = Path(tmp) / "cbc.log"
        solver = pulp.PULP_CBC_CMD(mip=mip, msg=False, timeLimit=max(time_limit, 0.01), gapRel=gap,
                                   threads=threads, warmStart=start and mip, logPath=str(log_path),
                                   options=[f"randomCbcSeed {SEED + 1}"])
        t0 = time.perf_counter()
        try:
            prob.solve(solver)
        except pulp.PulpSolverError:  # CBC did not run or wrote no solution
            return _Solve("error", None, None, None, time.perf_counter() - t0)
        seconds = time.perf_counter() - t0
        text = log_path.read_text(errors="replace") if log_path.exists() else ""
    nodes_match = _CBC_NODES.search(text)
    nodes = int(nodes_match.group(1)) if nodes_match else None
    if prob.status == pulp.LpStatusInfeasible:
        return _Solve("infeasible", None, None, nodes, seconds)
    has_solution = prob.sol_status in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible)
    obj = float(pulp.value(prob.objective)) if has_solution else None
    if not mip:
        return _Solve("optimal" if prob.status == pulp.LpStatusOptimal else "none", obj,
                      obj if prob.status == pulp.LpStatusOptimal else None, None, seconds)
    bound = _cbc_bound(text, obj)
    proved = bool(_CBC_COMPLETED.search(text)) or bool(_CBC_GAP_EXIT.search(text))
    status = "optimal" if proved and has_solution else ("feasible" if has_solution else "none")
    return _Solve(status, obj, bound, nodes, seconds)


# ---------------------------------------------------------------------------
# the driver


def _valid_plan(inst: Instance, hubs: list[np.ndarray], adj: list[list[int]]) -> str:
    """Plain-words reason a plan breaks a rule, or ``""`` if it is feasible."""
    seen = np.zeros(inst.n, dtype=int)
    for h in hubs:
        seen[np.asarray(h, dtype=int)] += 1
    if (seen != 1).any():
        return "not a partition of the practices"
    if not inst.k_min <= len(hubs) <= inst.k_max:
        return f"{len(hubs)} hubs, outside {inst.k_min}-{inst.k_max}"
    hub_of = np.empty(inst.n, dtype=int)
    bases = []
    for i, h in enumerate(hubs):
        h = np.asarray(h, dtype=int)
        hub_of[h] = i
        size = float(inst.population[h].sum())
        if not inst.lower <= size <= inst.upper:
            return f"hub {i + 1}: {size:,.0f} patients outside {inst.lower:,.0f}-{inst.upper:,.0f}"
        if len(_components(list(map(int, h)), adj)) > 1:
            return f"hub {i + 1} is not contiguous"
        cost, base = inst.hub_cost(h)
        if base < 0:
            return f"hub {i + 1} has no allowed base"
        if inst.require_anchor and not inst.anchors[h].any():
            return f"hub {i + 1} has no anchor"
        bases.append(base)
    for p, q in inst.keep_together:
        if hub_of[p] != hub_of[q]:
            return f"{inst.codes[p]} and {inst.codes[q]} must share a hub"
    for p, q in inst.keep_apart:
        if hub_of[p] == hub_of[q]:
            return f"{inst.codes[p]} and {inst.codes[q]} must not share a hub"
    for g in inst.locked:
        if not any(np.array_equal(np.sort(g), np.sort(np.asarray(h))) for h in hubs):
            return "a locked hub is not kept as given"
    if inst.max_moved is not None:
        moved = sum(int(inst.moved[np.asarray(h), b].sum()) for h, b in zip(hubs, bases))
        if moved > inst.max_moved:
            return f"{moved} practices moved > max {inst.max_moved}"
    return ""


def _rel_gap(objective: float, bound: float) -> float:
    return max(0.0, (objective - bound) / max(abs(objective), 1e-12))


class _RootLP:
    """The LP relaxation kept alive in highspy, so cut rounds re-solve warm instead of rebuilding."""

    def __init__(self, model: _Model, threads: int | None) -> None:
        import highspy

        self.model = model
        kwargs: dict[str, Any] = {"random_seed": SEED}
        if threads is not None:
            kwargs["threads"] = threads
        model.prob.solve(pulp.HiGHS(mip=False, msg=False, **kwargs))  # builds prob.solverModel
        self.h = model.prob.solverModel
        self.inf = highspy.kHighsInf
        self.optimal_status = highspy.HighsModelStatus.kOptimal
        self.infeasible_status = (highspy.HighsModelStatus.kInfeasible,
                                  highspy.HighsModelStatus.kUnboundedOrInfeasible)
        self.index = {key: var.index for key, var in model.x.items()}
        self.columns = np.fromiter(self.index.values(), dtype=np.int32, count=len(self.index))
        self.heuristic_defaults = {name: _option(self.h, name) for name in QUIET_HEURISTICS}

    def mip(self) -> Any:
        """A fresh highspy model holding the LP with every row and fixing so far, ``x`` binary.

        A copy, not the LP itself: HiGHS 1.16 can lose the objective offset of presolved-away
        columns when a model solved as an LP is re-run as a MIP from a start (it then stops
        at once claiming an optimum below the LP bound), and the root LP stays valid as is.
        """
        import highspy

        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.passModel(self.h.getLp())
        kind = np.full(self.columns.size, highspy.HighsVarType.kInteger)
        h.changeColsIntegrality(self.columns.size, self.columns, kind)
        return h

    def status(self) -> str:
        status = self.h.getModelStatus()
        if status == self.optimal_status:
            return "optimal"
        return "infeasible" if status in self.infeasible_status else "none"

    def objective(self) -> float:
        return float(self.h.getInfo().objective_function_value)

    def values(self) -> dict[tuple[int, int], float]:
        col = np.asarray(self.h.getSolution().col_value)
        return {key: float(col[i]) for key, i in self.index.items() if col[i] > 1e-9}

    def reduced_costs(self) -> tuple[np.ndarray, np.ndarray]:
        sol = self.h.getSolution()
        return np.asarray(sol.col_value)[self.columns], np.asarray(sol.col_dual)[self.columns]

    def fix(self, positions: np.ndarray) -> None:
        """Fix the ``x`` columns at these positions (in ``model.x`` order) at 0."""
        if positions.size:
            cols = self.columns[positions]
            zeros = np.zeros(cols.size)
            self.h.changeColsBounds(cols.size, cols, zeros, zeros)

    def add(self, cuts: list[tuple[int, int, tuple[int, ...]]], capacity: list[CapacityCut],
            time_limit: float) -> None:
        """Add separator and capacity cuts as rows and re-solve from the current basis."""
        for p, b, sep in cuts:
            self.add_separator(p, b, sep)
        for terms, need in capacity:
            self.add_row(list(terms), [1.0] * len(terms), float(need), self.inf)
        self.h.setOptionValue("time_limit", max(time_limit, 0.01))
        self.h.run()

    def add_separator(self, p: int, b: int, sep: tuple[int, ...]) -> None:
        """Add the separator inequality ``x[p, b] <= sum_{v in sep} x[v, b]``."""
        self.add_row([(p, b)] + [(v, b) for v in sep], [1.0] + [-1.0] * len(sep), -self.inf, 0.0)

    def add_row(self, keys: list[tuple[int, int]], coefs: list[float], low: float, up: float) -> None:
        """Add ``low <= sum coefs * x[keys] <= up`` (repeated keys add up)."""
        row: dict[int, float] = {}
        for key, c in zip(keys, coefs):
            row[self.index[key]] = row.get(self.index[key], 0.0) + c
        self.h.addRow(low, up, len(row), np.fromiter(row, dtype=np.int32), np.fromiter(row.values(), dtype=float))


def _option(h: Any, name: str) -> Any:
    """A HiGHS option's value (highspy returns ``(status, value)`` in some versions, the value in others)."""
    value = h.getOptionValue(name)
    return value[1] if isinstance(value, tuple) else value


def _lp_rounding(inst: Instance, model: _Model, value: dict[tuple[int, int], float]) -> list[np.ndarray]:
    """A partition from the LP: open the bases with the largest ``x[b, b]``, give each practice its likeliest one."""
    k = int(np.clip(round(sum(value.get((b, b), 0.0) for b in model.bases)), inst.k_min, inst.k_max))
    opened = sorted(model.bases, key=lambda b: (-value.get((b, b), 0.0), b))[:k]
    hubs: dict[int, list[int]] = {b: [b] for b in opened}
    for p in range(inst.n):
        if p in hubs:
            continue
        choices = [b for b in opened if model.mask[p, b]] or opened
        best = min(choices, key=lambda b: (-value.get((p, b), 0.0), inst.cost[p, b], b))
        hubs[best].append(p)
    return [np.array(sorted(m), dtype=int) for m in hubs.values()]


def solve_compact(inst: Instance, *, incumbent: list[np.ndarray] | None = None, time_limit: float = 30.0,
                  gap: float = 0.01, solver: str = "highs", threads: int | None = None,
                  log: Log | None = None) -> CompactResult:
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
        ``"highs"`` or ``"cbc"`` for the MIP solves.
    threads
        Solver threads (``None``: the solver's default).
    log
        Receives one line per step.

    Returns
    -------
    CompactResult
        Never raises on infeasible or timed-out input: the status says what happened.
    """
    t_start = time.perf_counter()
    say = log or (lambda _msg: None)
    if solver not in ("highs", "cbc"):
        raise ValueError(f"solver must be 'highs' or 'cbc', got {solver!r}")
    version = _highs_version() if solver == "highs" else _cbc_version()
    rows: list[dict[str, Any]] = []

    def remaining() -> float:
        return time_limit - (time.perf_counter() - t_start)

    def finish(hubs: list[np.ndarray] | None, objective: float | None, bound: float | None, status: str,
               stopped_by: str, **extra: Any) -> CompactResult:
        if objective is not None and bound is not None:
            bound = min(bound, objective)  # see the module docstring: min(L, UB) is the valid bound
        value = _rel_gap(objective, bound) if objective is not None and bound is not None else None
        if hubs is not None:
            hubs = sorted((np.asarray(sorted(map(int, h)), dtype=int) for h in hubs), key=lambda h: int(h[0]))
        say(f"compact: {status}, objective {objective}, bound {bound}, gap {value}")
        return CompactResult(hubs=hubs, objective=objective, bound=bound, gap=value, status=status,
                             stopped_by=stopped_by, solver=solver, solver_version=version,
                             wall_seconds=time.perf_counter() - t_start, log=tuple(rows), **extra)

    mask, reason = candidate_pairs(inst)
    stats: dict[str, Any] = dict(cuts_added=0, iterations=0, fixed_by_reduced_cost=0, nodes=None,
                                 variables=int(mask.sum()))
    if reason:
        say(f"compact: infeasible: {reason}")
        return finish(None, None, None, "infeasible", "infeasible", message=reason, **stats)
    model = _Model(inst, mask)
    say(f"compact: {len(model.x)} assignment variables of {inst.n * inst.n} after nesting and distance pruning")

    best: list[np.ndarray] | None = None
    upper = math.inf
    if incumbent is not None:
        why = _valid_plan(inst, incumbent, model.adj)
        if why:
            say(f"compact: incumbent ignored: {why}")
        else:
            best, upper = [np.asarray(h, dtype=int) for h in incumbent], inst.plan_cost(incumbent)
            say(f"compact: incumbent objective {upper:.6f}")

    def offer(plan: list[np.ndarray] | None, source: str) -> bool:
        nonlocal best, upper
        if plan is None:
            return False
        value = inst.plan_cost(plan)
        if value < upper - 1e-12:
            best, upper = plan, value
            say(f"compact: new incumbent {value:.6f} from {source}")
            return True
        return False

    variables = list(model.x.values())

    def fix_columns(z: float, xs: np.ndarray, djs: np.ndarray) -> np.ndarray:
        """Fix at 0 every column whose reduced cost lifts the LP value ``z`` above the incumbent."""
        slack = FIX_TOLERANCE * max(1.0, abs(upper))
        free = np.array([var.upBound != 0 for var in variables])
        hit = np.flatnonzero(free & (xs < 1e-9) & (djs > 0) & (z + djs > upper + slack))
        for i in hit:
            variables[i].upBound = 0
        stats["fixed_by_reduced_cost"] = int((~free).sum() + hit.size)
        return hit

    # root LP with fractional separator cuts: a valid bound, and reduced costs for fixing
    t_lp = time.perf_counter()
    root = _RootLP(model, threads)
    lp_status = root.status()
    if lp_status == "infeasible":
        rows.append(dict(iteration=0, kind="lp", status="infeasible", objective=None, bound=None,
                         seconds=round(time.perf_counter() - t_lp, 3), cuts=0, nodes=None))
        msg = "the LP relaxation is infeasible: no assignment meets the hub count, band and rules"
        return finish(None, None, None, "infeasible", "infeasible", message=msg, **stats)
    bound = root.objective() if lp_status == "optimal" else None
    rows.append(dict(iteration=0, kind="lp", status=lp_status, objective=bound, bound=bound,
                     seconds=round(time.perf_counter() - t_lp, 3), cuts=0, nodes=None))
    root_deadline = t_start + ROOT_SHARE * time_limit
    history = [bound if bound is not None else -math.inf]
    for rnd in range(1, ROOT_ROUNDS + 1):
        if lp_status != "optimal" or time.perf_counter() > root_deadline:
            break
        if best is not None and bound is not None and _rel_gap(upper, bound) <= gap:
            break
        if len(history) > STALL_ROUNDS and history[-1] - history[-1 - STALL_ROUNDS] <= STALL_GAIN * abs(history[-1]):
            break  # the last rounds barely moved the bound: the MIP makes better use of the time
        t_round = time.perf_counter()
        value = root.values()
        cuts = [c for c in model.fractional_cuts(value) + model.population_cuts(value) if c not in model.cuts]
        capacity = model.capacity.separate(value, CAPACITY_CUTS_PER_ROUND)
        if not cuts and not capacity:
            break
        if best is not None:  # a smaller LP re-solves faster (read before any change voids the solution)
            root.fix(fix_columns(root.objective(), *root.reduced_costs()))
        model.add_cuts(cuts)
        model.add_capacity_cuts(capacity)
        root.add(cuts, capacity, remaining())
        lp_status = root.status()
        if lp_status == "optimal":
            bound = max(bound or -math.inf, root.objective())
        history.append(bound if bound is not None else -math.inf)
        rows.append(dict(iteration=0, kind=f"lp cuts {rnd}", status=lp_status, objective=root.objective(),
                         bound=bound, seconds=round(time.perf_counter() - t_round, 3), cuts=len(model.cuts),
                         nodes=None))
    stats["cuts_added"] = len(model.cuts) + model.capacity_cuts
    if lp_status == "infeasible" and best is not None and stats["fixed_by_reduced_cost"]:
        # the cuts hold for every contiguous plan and the fixings for every plan beating the incumbent
        return finish(best, upper, upper, "optimal", "proof", **stats)
    if lp_status == "infeasible":  # separator and capacity cuts hold for every contiguous plan
        msg = "no contiguous assignment meets the hub count, band and rules (LP with contiguity cuts)"
        return finish(None, None, None, "infeasible", "infeasible", message=msg, **stats)
    if bound is not None:
        say(f"compact: root LP bound {bound:.6f} with {len(model.cuts)} separator and {model.capacity_cuts} "
            f"capacity cuts in {time.perf_counter() - t_lp:.2f}s")
    if lp_status == "optimal" and best is None:
        offer(repair_plan(inst, _lp_rounding(inst, model, root.values())), "rounded LP")
    lp_x, lp_dj = root.reduced_costs() if lp_status == "optimal" else (None, None)
    lp_bound = root.objective() if lp_status == "optimal" else None

    fixed_against = [math.inf]

    def fix_by_reduced_cost() -> None:
        # valid against the root LP (with its cuts) for any incumbent value; see the module docstring
        if lp_x is None or best is None or upper >= fixed_against[0]:
            return
        fixed_against[0] = upper
        root.fix(fix_columns(lp_bound, lp_x, lp_dj))
        say(f"compact: {stats['fixed_by_reduced_cost']} variables fixed at 0 by reduced cost "
            f"(incumbent {upper:.6f})")

    if best is not None and bound is not None and _rel_gap(upper, bound) <= gap:
        return finish(best, upper, bound, "gap reached", "gap", **stats)
    fix_by_reduced_cost()

    def on_solution(hubs: dict[int, list[int]]) -> None:
        plan = [np.array(m, dtype=int) for m in hubs.values()]
        if not model.separators(hubs) and not _valid_plan(inst, plan, model.adj):
            offer(plan, "a HiGHS solution")
        else:
            offer(repair_plan(inst, plan), "a repaired HiGHS solution")

    progress = {"next": time.perf_counter() + PROGRESS_SECONDS}

    def stop_at(dual: float) -> bool:
        if best is None or not math.isfinite(dual):
            return False
        restricted = min(dual, upper) if stats["fixed_by_reduced_cost"] else dual
        current = max(restricted, bound if bound is not None else -math.inf)
        if time.perf_counter() >= progress["next"]:  # long runs show where the bound stands
            progress["next"] = time.perf_counter() + PROGRESS_SECONDS
            say(f"compact: MIP running, {time.perf_counter() - t_start:.0f}s, objective {upper:.6f}, "
                f"bound {current:.6f}, gap {_rel_gap(upper, current):.2%}")
        return _rel_gap(upper, current) <= gap

    watch = _Watch(model, on_solution, stop_at) if solver == "highs" else None
    if solver == "highs":
        model.live = root  # from here on, new rows go to the live model too
    nodes = 0
    note = ""
    resynced = False
    stopped_by, status = "time", "time limit"
    for it in range(1, MAX_ITERATIONS + 1):
        if remaining() <= RESERVE_SECONDS + 0.05:
            break
        started = best is not None and model.set_start(best)
        if solver == "highs":
            out = _solve_highs(model, time_limit=remaining() - RESERVE_SECONDS, gap=gap, threads=threads,
                               start=started, watch=watch)
        else:
            out = _solve_cbc(model.prob, mip=True, time_limit=remaining() - RESERVE_SECONDS, gap=gap,
                             threads=threads, start=started)
        stats["iterations"] = it
        nodes += out.nodes or 0
        if out.bound is not None:
            restricted = min(out.bound, upper) if stats["fixed_by_reduced_cost"] else out.bound
            bound = restricted if bound is None else max(bound, restricted)
        row = dict(iteration=it, kind="mip", status=out.status, objective=out.objective, bound=out.bound,
                   seconds=round(out.seconds, 3), cuts=len(model.cuts), nodes=out.nodes)
        rows.append(row)
        say(f"compact: MIP {it}: {out.status}, objective {out.objective}, bound {out.bound}, {out.seconds:.2f}s")
        if out.status == "infeasible":
            if best is not None:  # nothing beats the incumbent inside the fixed model
                bound = upper
                stopped_by, status = "proof", "optimal"
            else:
                stopped_by, status = "infeasible", "infeasible"
            break
        if out.status == "error":
            note = f"the {solver} solver failed on MIP {it} (solver error)"
            say(f"compact: {note}")
            stopped_by, status = "error", "solver error"
            break
        if out.status == "none":
            break
        hubs = model.assignment()
        cuts = model.separators(hubs)
        plan = [np.array(m, dtype=int) for m in hubs.values()]
        broken = "" if cuts else _valid_plan(inst, plan, model.adj)
        if broken:
            # only the moved-practice rule can fail here: the MIP counted moves at a base that is not
            # the hub's best one; forbid those hub-base pairings and solve again
            odd = [(m, b) for b, m in hubs.items() if inst.hub_cost(np.array(m))[1] != b]
            row["excluded"] = sum(model.exclude_hub(m, b) for m, b in odd)
            if not row["excluded"]:  # cannot happen if the model matches the rules; stop rather than loop
                note = f"stopped: the MIP solution breaks a rule the model should enforce ({broken})"
                say(f"compact: {note}")
                break
            offer(repair_plan(inst, plan), f"repaired MIP {it}")
        elif not cuts:
            offer(plan, f"MIP {it}")
        else:
            row["cuts_new"] = model.add_cuts(cuts)
            stats["cuts_added"] = len(model.cuts) + model.capacity_cuts
            offer(repair_plan(inst, plan), f"repaired MIP {it}")
            if not row["cuts_new"]:
                if resynced:  # cannot happen if the model holds its cuts; stop rather than loop
                    note = "stopped: the MIP keeps returning a solution its own cuts forbid"
                    say(f"compact: {note}")
                    break
                # the solution breaks cuts the model already has: rebuild the live model from PuLP's
                say("compact: MIP solution breaks known cuts; rebuilding the solver model")
                model.live = root = _RootLP(model, threads)
                resynced = True
            else:
                resynced = False
        fix_by_reduced_cost()  # only acts if the incumbent improved, here or in a callback
        row["incumbent"] = upper if best is not None else None
        if best is not None and bound is not None and _rel_gap(upper, bound) <= gap:
            proved = out.status == "optimal" and not cuts and not broken and _rel_gap(upper, bound) <= 1e-9
            stopped_by, status = ("proof", "optimal") if proved else ("gap", "gap reached")
            break
        if not cuts and not broken and out.status != "optimal":
            break  # time ran out inside the solver with a contiguous plan
    stats["nodes"] = nodes
    if status == "infeasible":
        msg = "no contiguous plan meets the hub count, band and rules"
        return finish(None, None, None, status, stopped_by, message=msg, **stats)
    if best is None:
        return finish(None, None, bound, "no solution in time" if stopped_by == "time" else status, stopped_by,
                      message=note, **stats)
    return finish(best, upper, bound, status, stopped_by, message=note, **stats)
