"""The compact MIP: which assignments ``x[p, b]`` can occur, and the PuLP model over them.

The model is a capacitated p-median (Hess) whose base is a member practice::

    x[p, b] in {0, 1}    practice p is in the hub based at b; x[b, b] = "b is a base"
    sum_b x[p, b] = 1                          every practice in exactly one hub
    x[p, b] <= x[b, b]                         only open bases take members
    k_min <= sum_b x[b, b] <= k_max
    lower x[b, b] <= sum_p pop_p x[p, b] <= upper x[b, b]
    e_b >= sum_p risk_coef_p x[p, b],  e_b >= 0
    min  sum cost[p, b] x[p, b] + risk_weight sum_b e_b

plus the side rules (anchor, keep together / apart, locked hubs, moved
practices). Contiguity comes as cuts (:mod:`solvers.compact.cuts`). A locked
hub's members may be based only at each other, at any member allowed to serve
them all, and all at the same one (``x[p, b] = x[b, b]``): under the moved-practices
rule the plan's choice of that base (``Instance.bases``) is part of the optimum.

**Distance pruning** (:func:`candidate_pairs`): ``x[p, b]`` is dropped when every
``p``-``b`` path in the practice graph carries more than ``upper`` patients
(node-weighted shortest path, both ends counted). A contiguous hub holding
``p`` and ``b`` contains such a path, so no contiguous in-band plan uses the pair.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pulp

from pcn_planner.model.instance import Instance
from pcn_planner.model.rules import hub_breach

from .cuts import CapacityCut, CapacitySeparator, ContiguitySeparator, Cut

if TYPE_CHECKING:
    from .root import RootLP

__all__ = ["CompactModel", "candidate_pairs"]


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


def _check_rules(inst: Instance) -> str:
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
    for g, members in enumerate(inst.locked):  # a locked hub is a hub of every plan
        breach = hub_breach(inst, members)
        if breach is not None:
            return f"locked hub {g + 1} ({', '.join(names[m] for m in members)}): {breach.text}"
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
    reason = _check_rules(inst)
    if reason:
        return np.zeros((n, n), dtype=bool), reason
    mask = inst.allowed.copy()
    for members in inst.locked:
        # a locked hub is served from any member allowed to serve all of it: which one is the plan's
        # choice (Instance.bases), not always the hub's own cheapest when the moved-practices rule binds
        bases = inst.base_options(members)[0]
        mask[members, :] = False
        mask[:, members] = False
        mask[np.ix_(members, bases)] = True
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


class CompactModel:
    """The PuLP model plus the bookkeeping to read, start and cut its solutions.

    Parameters
    ----------
    inst
        The compiled problem.
    mask
        From :func:`candidate_pairs`: the ``x[p, b]`` to create.

    Attributes
    ----------
    x, e
        Assignment variables by ``(p, b)`` and risk-excess variables by base.
    bases, rows
        Bases with a variable ``x[b, b]`` (ascending), and each base's candidate members.
    prob
        The PuLP problem, cuts included.
    cuts, capacity_cuts
        Separator and population cuts added (as ``(p, b, C)``), and the count of capacity cuts.
    capacity
        The capacity-cut separator, which remembers the cuts it returned.
    live
        Once set, the root LP that each HiGHS MIP copies; new rows go to it too.
    """

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
            self._hub_rows(prob, b)
        opened = _expr([(x[b, b], 1.0) for b in self.bases])
        prob += opened >= inst.k_min, "k_min"
        prob += opened <= inst.k_max, "k_max"
        if inst.max_moved is not None:
            moved = [(x[p, b], 1.0) for (p, b) in x if inst.moved[p, b]]
            prob += _expr(moved) <= inst.max_moved, "max_moved"
        self.prob = prob
        self.cuts: set[Cut] = set()
        self.contiguity = ContiguitySeparator(self.adj, mask, self.rows, pop, inst.lower)
        self.capacity = CapacitySeparator(self.adj, pop, inst.upper, x.keys())
        self.capacity_cuts = 0
        self.capacity_pool: list[CapacityCut] = []  # in the order added, for a later solve to start from
        self.live: RootLP | None = None

    def _hub_rows(self, prob: pulp.LpProblem, b: int) -> None:
        """The rows of the hub based at ``b``: opening, band, risk excess, anchor, keep apart / together."""
        inst, x, members = self.inst, self.x, self.rows[b]
        for p in members:
            if p != b:
                prob += x[p, b] - x[b, b] <= 0, f"open_{p}_{b}"
        size = [(x[p, b], float(inst.population[p])) for p in members]
        prob += _expr([*size, (x[b, b], -inst.upper)]) <= 0, f"max_{b}"
        prob += _expr([*size, (x[b, b], -inst.lower)]) >= 0, f"min_{b}"
        if b in self.e:
            risk = [(x[p, b], float(inst.risk_coef[p])) for p in members]
            prob += _expr([*risk, (self.e[b], -1.0)]) <= 0, f"risk_{b}"
        if inst.require_anchor:
            held = [(x[p, b], 1.0) for p in members if inst.anchors[p]]
            prob += _expr([*held, (x[b, b], -1.0)]) >= 0, f"anchor_{b}"
        for i, (p, q) in enumerate(inst.keep_apart):
            pair = [(x[v, b], 1.0) for v in (p, q) if (v, b) in x]
            if len(pair) == 2:
                prob += _expr([*pair, (x[b, b], -1.0)]) <= 0, f"apart_{i}_{b}"
        for i, (p, q) in enumerate(inst.keep_together):
            if (p, b) in x:  # the mask gives partners the same bases
                prob += x[p, b] - x[q, b] == 0, f"together_{i}_{b}"
        for g, group in enumerate(inst.locked):  # a locked hub based at b holds all of its members
            if b in group:
                for p in group.tolist():
                    if p != b:
                        prob += (x[p, b] - x[b, b] == 0 if (p, b) in x else x[b, b] == 0), f"locked_{g}_{p}_{b}"

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

        Each hub takes the plan's base if its columns are all still in the model
        (not pruned, not fixed at 0), else its cheapest base whose columns are, so the
        start is feasible for the model as it stands. The plan's base differs from the
        cheapest only when the moved-practice limit binds (``Instance.bases``).
        """
        values: dict[tuple[int, int], float] = {}
        chosen = self.inst.bases(hubs) if self.inst.max_moved is not None else [-1] * len(hubs)
        for members, planned in zip(hubs, chosen, strict=True):
            members = np.asarray(members, dtype=int)
            options = [b for b in members.tolist()
                       if all((p, b) in self.x and self.x[p, b].upBound != 0 for p in members.tolist())]
            if not options:
                return False
            base = planned if planned in options else min(
                options, key=lambda b: (float(self.inst.cost[members, b].sum()), b))
            values.update({(int(p), base): 1.0 for p in members})
        for key, var in self.x.items():
            var.setInitialValue(values.get(key, 0.0))
        for b, var in self.e.items():
            held = [p for p in self.rows[b] if values.get((p, b), 0.0) > 0.5]
            var.setInitialValue(max(0.0, float(self.inst.risk_coef[held].sum())) if held else 0.0)
        return True

    # -- cuts --------------------------------------------------------------

    def separators(self, hubs: dict[int, list[int]]) -> list[Cut]:
        """Violated separator cuts for every member of an integer solution cut off from its base."""
        return self.contiguity.integral(hubs)

    def fractional_cuts(self, value: dict[tuple[int, int], float]) -> list[Cut]:
        """Separator cuts violated by an LP solution (:meth:`ContiguitySeparator.fractional`)."""
        return self.contiguity.fractional(value)

    def population_cuts(self, value: dict[tuple[int, int], float]) -> list[Cut]:
        """Population cuts violated by an LP solution (:meth:`ContiguitySeparator.population`)."""
        return self.contiguity.population(value)

    def add_cuts(self, cuts: list[Cut]) -> int:
        """Add new separator and population cuts; returns how many were new."""
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

    def preload(self, cuts: Sequence[Cut], capacity: Sequence[CapacityCut]) -> tuple[int, int]:
        """Start from an earlier solve's cuts: those that still hold here (:meth:`ContiguitySeparator.holds`).

        Capacity cuts are passed only when they hold here (:meth:`~solvers.compact.cuts.CutPool.for_instance`).
        Returns the counts kept.
        """
        # a separator member that may not join the base adds nothing (its x is not in the model)
        kept = sorted({(p, b, tuple(v for v in sep if (v, b) in self.x)) for p, b, sep in cuts
                       if self.contiguity.holds((p, b, sep))})
        self.add_cuts(kept)
        # a term whose x[p, b] is not in this model is 0 in every plan it allows, so it is left out
        usable = [(tuple(key for key in terms if key in self.x), need) for terms, need in capacity]
        self.capacity.seen.update(terms for terms, _ in usable)
        self.add_capacity_cuts(usable)
        return len(kept), len(usable)

    def add_capacity_cuts(self, cuts: list[CapacityCut]) -> None:
        """Add rounded capacity cuts; the separator never returns one twice."""
        for terms, need in cuts:
            self.capacity_cuts += 1
            self.capacity_pool.append((terms, need))
            self.prob += _expr([(self.x[key], 1.0) for key in terms]) >= need, f"capacity_{self.capacity_cuts}"
