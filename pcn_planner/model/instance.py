"""The objective, compiled: per-hub costs as arrays the solvers can use.

Every objective term is a per-hub cost, so a plan's cost is the sum over its
hubs. For a hub ``S`` with base site ``b`` (a member practice):

===========  ====================================================================
term         hub cost (before weighting and normalising)
===========  ====================================================================
travel       ``sum_{p in S} sum_l n[p,l] * t[l,b]``: patient-minutes, home to base
town         ``sum_{p in S} (placed_p - n_town[p, town(b)])``: patients living outside the base's town
lad          the same with the base's local authority district
catchment    the same with the base's acute-hospital catchment
equity       ``sum_{p in S} sum_l n[p,l] * [t[l,b] > tau]``: patients with a long trip
disruption   ``sum_{p in S} [pcn(p) != pcn(b)]``: practices taken out of the base's baseline PCN
risk         ``max(0, sum_{p in S} pop_p * (risk_p - rho * rbar))``: risk piled above the tolerated level
hubs         ``1``: a charge per hub (normalised by today's number of PCNs); only when K is a range
===========  ====================================================================

All terms but risk are linear in the assignment of practice ``p`` to base
``b``, so they fold into one matrix ``cost[p, b]``; risk adds one
non-negative excess per hub.

Two domain words are defined here and nowhere else:

* A hub's **base** (base site) is the member practice that the hub is served
  from: among the members allowed to serve all of it (nesting), the one that
  minimises the hub's cost, ties going to the first practice code. When the
  moved-practices rule is set and those per-hub choices together move too many
  practices, the plan's bases are chosen jointly to minimise the plan's cost
  within the rule, exactly as the engine does (:meth:`Instance.bases`).
* A practice has **moved** when its baseline hub (today's PCN by default) is
  not the baseline hub of its new hub's base (:meth:`Instance.moved_positions`).
  The scorecard counts it, the ``max_moved`` rule limits it and the maps list it.
  Each term is divided by its value on the current PCN map (each hub with
its own best base), so weights are comparable and the current map scores about
the sum of the weights. A term worth 0 on the current map (disruption always
is) is divided by a documented fallback scale instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from pcn_planner.core.errors import InputError
from pcn_planner.core.pieces import connected_pieces
from pcn_planner.geography.region import Region
from pcn_planner.model.plan import Plan
from pcn_planner.model.problem import WEIGHT_TERMS, Problem

#: The terms linear in "practice p in the hub based at b": every weight term but risk (a per-hub excess).
LINEAR_TERMS = tuple(t for t in WEIGHT_TERMS if t != "risk")


@dataclass(frozen=True, eq=False)
class Instance:
    """A problem compiled against a region: arrays indexed by practice position.

    Attributes
    ----------
    codes
        Practice codes; position ``i`` in every array is ``codes[i]``.
    population
        List sizes after growth factors.
    cost
        ``cost[p, b]``: weighted, normalised linear cost of practice ``p`` in a hub based at ``b``.
    risk_coef, risk_weight
        Risk excess per hub is ``max(0, risk_coef[S].sum())``, costed at ``risk_weight``.
    allowed
        ``allowed[p, b]``: practice ``p`` may be in a hub based at ``b`` (nesting).
    anchors
        Anchor (resilient) practices.
    edges
        Practice-graph edges as position pairs.
    k_min, k_max, lower, upper
        Number of hubs and inclusive population bounds.
    keep_together, keep_apart
        Position pairs.
    locked
        Position arrays of locked hubs.
    max_moved, moved
        Limit and ``moved[p, b]`` indicator of the disruption rule.
    require_anchor
        Every hub needs an anchor.
    terms, norms, weights
        Raw per-term matrices (``terms[t][p, b]``), the normalising values and weights.
    risk_raw
        Unweighted risk coefficient per practice.
    area
        Nesting area of each practice (``None`` without nesting).
    nesting_links
        Edges added so that each nesting area is connected: ``(u, v, reason)``.
    baseline_hub, baseline_name
        Baseline hub id of each practice (today's PCN by default) and the baseline plan's name.
    """

    problem: Problem
    codes: tuple[str, ...]
    population: np.ndarray
    cost: np.ndarray
    risk_coef: np.ndarray
    risk_weight: float
    allowed: np.ndarray
    anchors: np.ndarray
    edges: np.ndarray
    k_min: int
    k_max: int
    lower: float
    upper: float
    keep_together: tuple[tuple[int, int], ...]
    keep_apart: tuple[tuple[int, int], ...]
    locked: tuple[np.ndarray, ...]
    max_moved: int | None
    moved: np.ndarray
    require_anchor: bool
    terms: dict[str, np.ndarray] = field(repr=False)
    norms: dict[str, float] = field(repr=False)
    weights: dict[str, float] = field(repr=False)
    risk_raw: np.ndarray = field(repr=False)
    area: np.ndarray | None = field(default=None, repr=False)
    nesting_links: tuple[tuple[int, int, str], ...] = field(default=(), repr=False)
    baseline_hub: np.ndarray | None = field(default=None, repr=False)
    baseline_name: str = "current PCNs"

    @property
    def n(self) -> int:
        """Number of practices."""
        return len(self.codes)

    def neighbours(self) -> list[list[int]]:
        """Adjacency lists of the practice graph (with any added links), sorted."""
        return [list(a) for a in self.adjacency]

    @cached_property
    def adjacency(self) -> tuple[tuple[int, ...], ...]:
        """Adjacency of the practice graph the rules judge contiguity on: its edges plus added links."""
        adj: list[set[int]] = [set() for _ in range(self.n)]
        for u, v in self.edges:
            adj[int(u)].add(int(v))
            adj[int(v)].add(int(u))
        return tuple(tuple(sorted(a)) for a in adj)

    def base_options(self, members: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The members allowed to serve the whole hub, and the hub's linear cost at each of them."""
        members = np.asarray(members, dtype=int)
        bases = members[self.allowed[np.ix_(members, members)].all(axis=0)]
        return bases, self.cost[np.ix_(members, bases)].sum(axis=0)

    def hub_cost(self, members: np.ndarray) -> tuple[float, int]:
        """Cost of a hub and its own best base (position). ``inf`` and ``-1`` if no base is allowed.

        This is the hub on its own; :meth:`bases` is the plan-level definition,
        which differs only when the moved-practices rule binds.
        """
        bases, totals = self.base_options(members)
        if bases.size == 0:
            return float("inf"), -1
        j = int(np.argmin(totals))  # first minimum: ties go to the first practice code
        excess = max(0.0, float(self.risk_coef[np.asarray(members, dtype=int)].sum()))
        return float(totals[j]) + self.risk_weight * excess, int(bases[j])

    def bases(self, hubs: list[np.ndarray]) -> list[int]:
        """The base (position) of every hub of a plan: the one definition of a hub's base.

        Each hub takes its own best base (:meth:`hub_cost`). If the
        moved-practices rule is set and those choices move more practices
        than it allows, the bases are chosen together to minimise the plan's
        cost within the limit (a small multiple-choice knapsack, solved exactly
        by dynamic programming over the number moved), as the exact model
        does. A hub with no allowed base gets ``-1``.
        """
        own = [self.hub_cost(h)[1] for h in hubs]
        if self.max_moved is None or any(b < 0 for b in own):
            return own
        if self.moved_count(hubs, own) <= self.max_moved:
            return own
        return self._bases_within_moved(hubs) or own

    def _bases_within_moved(self, hubs: list[np.ndarray]) -> list[int] | None:
        limit = int(self.max_moved or 0)
        best = np.full(limit + 1, np.inf)  # best[m]: least cost of the hubs so far, moving exactly m
        best[0] = 0.0
        picks: list[tuple[np.ndarray, np.ndarray]] = []  # per hub, per m: (base chosen, practices it moves)
        for h in hubs:
            h = np.asarray(h, dtype=int)
            bases, totals = self.base_options(h)
            moved = self.moved[np.ix_(h, bases)].sum(axis=0).astype(int)
            nxt = np.full(limit + 1, np.inf)
            base_at = np.full(limit + 1, -1, dtype=int)
            moved_at = np.zeros(limit + 1, dtype=int)
            for j in range(bases.size):  # practice-code order, and strict '<': ties keep the first base
                m = int(moved[j])
                if m > limit:
                    continue
                cand = np.full(limit + 1, np.inf)
                cand[m:] = best[: limit + 1 - m] + float(totals[j])
                better = cand < nxt
                nxt[better], base_at[better], moved_at[better] = cand[better], bases[j], m
            picks.append((base_at, moved_at))
            best = nxt
        if not np.isfinite(best).any():
            return None
        m = int(np.argmin(best))
        out = [0] * len(hubs)
        for i in range(len(hubs) - 1, -1, -1):
            out[i] = int(picks[i][0][m])
            m -= int(picks[i][1][m])
        return out

    def moved_count(self, hubs: list[np.ndarray], bases: list[int]) -> int:
        """Practices moved (see the module docstring) by a plan with the given bases."""
        return sum(int(self.moved[np.asarray(h, dtype=int), b].sum())
                   for h, b in zip(hubs, bases, strict=True) if b >= 0)

    def moved_positions(self, hubs: list[np.ndarray], bases: list[int] | None = None) -> list[int]:
        """Positions of the practices a plan moves from their baseline hub, sorted."""
        bases = self.bases(hubs) if bases is None else bases
        if self.baseline_hub is not None:
            return moved_from(self.baseline_hub, hubs, bases)
        return sorted(int(p) for h, b in zip(hubs, bases, strict=True) if b >= 0
                      for p in np.asarray(h, dtype=int)[self.moved[np.asarray(h, dtype=int), b]])

    def plan_cost(self, hubs: list[np.ndarray]) -> float:
        """Objective of a partition (list of member position arrays), at the plan's :meth:`bases`."""
        bases = self.bases(hubs)
        if any(b < 0 for b in bases):
            return float("inf")
        total = 0.0
        for h, b in zip(hubs, bases, strict=True):
            h = np.asarray(h, dtype=int)
            total += float(self.cost[h, b].sum()) + self.risk_weight * max(0.0, float(self.risk_coef[h].sum()))
        return total

    def decompose(self, hubs: list[np.ndarray]) -> dict[str, dict[str, float]]:
        """Each term's raw value, normalised value and weighted contribution."""
        out: dict[str, dict[str, float]] = {}
        bases = self.bases(hubs)
        for t in LINEAR_TERMS:
            raw = float(sum(self.terms[t][h, b].sum() for h, b in zip(hubs, bases, strict=True)))
            out[t] = self._entry(t, raw)
        raw_risk = float(sum(max(0.0, self.risk_raw[h].sum()) for h in hubs))
        out["risk"] = self._entry("risk", raw_risk)
        return out

    def _entry(self, term: str, raw: float) -> dict[str, float]:
        norm = self.norms[term]
        return {"raw": raw, "normalised": raw / norm, "weight": self.weights[term],
                "contribution": self.weights[term] * raw / norm}

    def hubs_of(self, plan: Plan) -> list[np.ndarray]:
        """Member positions of each hub of a plan."""
        index = {c: i for i, c in enumerate(self.codes)}
        return [np.array(sorted(index[m] for m in members), dtype=int) for members in plan.members().values()]


def moved_from(reference: Sequence[object] | np.ndarray, hubs: list[np.ndarray], bases: list[int]) -> list[int]:
    """Positions of the practices that have moved from a reference plan, sorted.

    A practice has moved when its hub in the reference plan is not the
    reference hub of its new hub's base. With today's PCNs as the reference
    this is the count the ``max_moved`` rule limits; between two options it
    is what the comparison lists.

    Parameters
    ----------
    reference
        Reference hub id of each practice position.
    hubs, bases
        The new plan's member positions and the base position of each hub.
    """
    ref = np.asarray(reference, dtype=object)
    out: list[int] = []
    for h, b in zip(hubs, bases, strict=True):
        h = np.asarray(h, dtype=int)
        if b >= 0:
            out += [int(p) for p in h[ref[h] != ref[b]]]
    return sorted(out)


def growth_factors(region: Region, growth: dict[str, float]) -> np.ndarray:
    """Per-practice factor: practice code beats ``pcn:``, ``lad:``, ``sub_icb:``, ``all``."""
    p = region.atlas.practices.loc[list(region.codes)]
    factors = np.ones(len(region.codes))
    known_prefix = {"pcn": "pcn_code", "lad": "lad", "sub_icb": "sub_icb"}
    rank = np.zeros(len(region.codes))
    for key, factor in growth.items():
        if key == "all":
            hit, level = np.ones(len(p), bool), 1
        elif ":" in key:
            prefix, name = key.split(":", 1)
            if prefix not in known_prefix:
                raise InputError(f"growth key {key!r}: use all, lad:NAME, sub_icb:NAME, pcn:CODE or a practice code",
                                 field=f"growth.{key}")
            hit = (p[known_prefix[prefix]].astype(str).str.lower() == name.lower()).to_numpy()
            if not hit.any():
                raise InputError(f"growth key {key!r} matches no practice", field=f"growth.{key}")
            level = 2
        else:
            if key not in region.index:
                raise InputError(f"growth key {key!r} is not a practice code of this region", field=f"growth.{key}")
            hit, level = (np.array(region.codes) == key), 3
        take = hit & (rank <= level)
        factors[take] = factor
        rank[take] = level
    return factors


def nesting_links(n: int, edges: list[tuple[int, int]], area: np.ndarray,
                  coords: np.ndarray) -> list[tuple[int, int, str]]:
    """Join the pieces of each nesting area that the practice graph leaves apart.

    Nesting asks every hub to stay inside one area, and contiguity asks it to
    be connected; an area whose practices fall into several graph pieces (a
    village practice whose territory touches only a neighbouring area's, say)
    would make nesting impossible. Following the island policy of the
    practice graph, each smaller piece is joined to the rest of its area by
    the shortest site-to-site link between them, and the link is recorded.
    """
    from pcn_planner.geography.travel import haversine_km

    adjacency: list[list[int]] = [[] for _ in range(n)]
    for u, v in edges:
        adjacency[u].append(v)
        adjacency[v].append(u)
    links = []
    for name in sorted(set(area)):
        members = [i for i in range(n) if area[i] == name]
        pieces = connected_pieces(members, adjacency)  # largest first, then by first member
        main = list(pieces[0])
        for piece in pieces[1:]:
            km = haversine_km(coords[piece, 0][:, None], coords[piece, 1][:, None],
                              coords[main, 0][None, :], coords[main, 1][None, :])
            i, j = np.unravel_index(int(np.argmin(km)), km.shape)
            u, v = sorted((piece[i], main[j]))
            links.append((u, v, f"joins a piece of {name} cut off in the practice graph "
                                f"({km[i, j]:.1f} km, site to site)"))
            main += piece
    return links


def _positions(region: Region, codes: tuple[str, ...], what: str) -> list[int]:
    index = region.index
    unknown = [c for c in codes if c not in index]
    if unknown:
        raise InputError(f"{what} names unknown practice code(s) {', '.join(unknown)}", field=f"rules.{what}")
    return [index[c] for c in codes]


def _pair(region: Region, pair: tuple[str, str], what: str) -> tuple[int, int]:
    a, b = _positions(region, pair, what)
    return a, b


def _current_norm(term: np.ndarray, hubs: list[np.ndarray]) -> float:
    return float(sum(term[np.ix_(h, h)].sum(axis=0).min() for h in hubs))


def compile_problem(problem: Problem, region: Region, baseline: Plan | None = None) -> Instance:
    """Turn a :class:`Problem` into an :class:`Instance` for the solvers.

    Parameters
    ----------
    problem
        The rules and weights.
    region
        From :func:`pcn_planner.geography.region.build_region`.
    baseline
        Plan for the disruption term and rule (default: the current PCNs).
    """
    n = len(region.codes)
    practices = region.atlas.practices.loc[list(region.codes)]
    current = Plan.current(practices)
    baseline = baseline or current
    grow = growth_factors(region, problem.growth)
    population = region.population * grow

    # raw per-term matrices, rows scaled by growth (patients grow with lists)
    comm = region.practice_comm.loc[list(region.codes)]
    terms: dict[str, np.ndarray] = {"travel": region.travel_cost * grow[:, None]}
    placed = region.patients.sum(axis=1)
    for kind in ("town", "lad", "catchment"):
        names = {c: j for j, c in enumerate(region.community_names[kind])}
        cols = np.array([names.get(v, -1) for v in comm[kind]])
        table = region.community[kind]
        inside = np.where(cols[None, :] >= 0, table[:, np.maximum(cols, 0)], 0.0)
        terms[kind] = (placed[:, None] - inside) * grow[:, None]
    long_trip = (region.travel.to_numpy() > problem.long_trip_minutes).astype(float)
    terms["equity"] = (region.patients @ long_trip) * grow[:, None]
    base_pcn = baseline.assignment.reindex(list(region.codes)).to_numpy()
    moved = (base_pcn[:, None] != base_pcn[None, :])
    terms["disruption"] = moved.astype(float)

    risk = region.risk.table["risk"].reindex(list(region.codes)).to_numpy(float)
    rbar = float(np.average(risk, weights=population))
    risk_raw = population * (risk - problem.risk_tolerance * rbar)

    hubs_now = [np.array(sorted(region.positions(m)), dtype=int) for m in current.members().values()]
    terms["hubs"] = np.eye(n)  # one per hub: the base serves itself
    fallback = {"travel": float(terms["travel"].sum()) / n, "town": float(population.sum()) / 100,
                "lad": float(population.sum()) / 100, "catchment": float(population.sum()) / 100,
                "equity": float(population.sum()) / 100, "disruption": float(n), "hubs": 1.0}
    norms = {}
    for t in LINEAR_TERMS:
        value = _current_norm(terms[t], hubs_now)
        norms[t] = value if value > 0 else fallback[t]
    risk_now = float(sum(max(0.0, risk_raw[h].sum()) for h in hubs_now))
    norms["risk"] = risk_now if risk_now > 0 else float((population * risk).sum()) / 100
    weights = problem.weights.as_dict()
    if problem.k_range[0] == problem.k_range[1]:
        weights["hubs"] = 0.0  # the same for every plan of one K: left out, so gaps stay comparable
    cost = np.asarray(sum(weights[t] / norms[t] * terms[t] for t in LINEAR_TERMS), dtype=float)

    allowed = np.ones((n, n), dtype=bool)
    area = None
    if problem.nest:
        area = comm[problem.nest].astype(str).to_numpy()
        allowed = area[:, None] == area[None, :]

    index = region.index
    together = [_pair(region, pair, "keep_together") for pair in problem.keep_together]
    if problem.colocated_together:
        for _, group in practices.groupby(practices["postcode"].str.replace(" ", "").str.upper()):
            codes = sorted(group.index)
            together += [(index[codes[0]], index[c]) for c in codes[1:]]
    apart = [_pair(region, pair, "keep_apart") for pair in problem.keep_apart]
    locked = tuple(np.array(sorted(_positions(region, g, "locked_hubs")), dtype=int) for g in problem.locked_hubs)

    edge_list = sorted((index[u], index[v]) if index[u] < index[v] else (index[v], index[u])
                       for u, v in region.graph.edges)
    links: list[tuple[int, int, str]] = []
    if area is not None:
        coords = practices[["lat", "lon"]].to_numpy(float)
        links = nesting_links(n, edge_list, area, coords)
        edge_list = sorted(set(edge_list) | {(u, v) for u, v, _ in links})
    edges = np.array(edge_list, dtype=int).reshape(-1, 2)
    anchors = region.risk.table["anchor"].reindex(list(region.codes)).to_numpy(bool)
    k_min, k_max = problem.k_range
    return Instance(
        problem=problem, codes=region.codes, population=population, cost=cost,
        risk_coef=risk_raw, risk_weight=weights["risk"] / norms["risk"], allowed=allowed, anchors=anchors,
        edges=edges, k_min=k_min, k_max=k_max, lower=float(problem.bounds.min), upper=float(problem.bounds.max),
        keep_together=tuple(sorted(set(together))), keep_apart=tuple(sorted(set(apart))), locked=locked,
        max_moved=problem.max_moved, moved=moved, require_anchor=problem.require_anchor,
        terms=terms, norms=norms, weights=weights, risk_raw=risk_raw, area=area,
        nesting_links=tuple(links), baseline_hub=base_pcn, baseline_name=baseline.name,
    )


def decomposition_frame(instance: Instance, hubs: list[np.ndarray]) -> pd.DataFrame:
    """The objective split by term, as a table.

    One row per term, columns ``raw``, ``normalised``, ``weight`` and ``contribution``
    (:meth:`Instance.decompose`; a result's ``objective_terms`` holds the same numbers).
    """
    return pd.DataFrame(instance.decompose(hubs)).T
