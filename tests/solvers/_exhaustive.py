"""Exhaustive search over every plan of a tiny instance, for checking the engines' bounds and proofs.

Written independently of the solvers: the only engine code used to judge a plan
is the one rule checker, :func:`pcn_planner.model.rules.check_plan`, and the one
objective, :meth:`Instance.plan_cost`. Partitions are enumerated block by block
(the block holding the lowest unplaced practice first), and only blocks that are
connected in the practice graph (its edges plus any added links) are grown, so
the search visits every partition into connected hubs exactly once and nothing
else. :func:`all_partitions` enumerates every set partition with no pruning, so
the pruning itself can be checked against networkx.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache

import networkx as nx
import numpy as np

from pcn_planner.model.instance import Instance
from pcn_planner.model.problem import Bounds, Problem
from pcn_planner.model.rules import check_plan

Plan = list[np.ndarray]


# -- instances built by hand ---------------------------------------------------------------------


def build_instance(edges: Sequence[tuple[int, int]], population: Sequence[float], *, k: int | tuple[int, int],
                   lower: float, upper: float, seed: int = 0, coords: np.ndarray | None = None,
                   area: Sequence[str] | None = None, links: Sequence[tuple[int, int]] = (),
                   anchors: Sequence[int] = (), require_anchor: bool = False,
                   keep_together: Sequence[tuple[int, int]] = (), keep_apart: Sequence[tuple[int, int]] = (),
                   locked: Sequence[Sequence[int]] = (), max_moved: int | None = None,
                   baseline: Sequence[int] | None = None, risk: Sequence[float] | None = None,
                   risk_weight: float = 0.0, hub_charge: float = 0.0) -> Instance:
    """A frozen :class:`Instance` filled in by hand, as ``compile_problem`` would lay it out.

    The linear cost is patients x (distance + 0.1) to the base with a random
    +-20 % factor per pair (seeded), plus ``hub_charge`` on the diagonal (the
    per-hub charge of a K range: the base serves itself). ``links`` are added
    links (as nesting adds); like ``compile_problem`` they go into ``edges`` as
    well as ``nesting_links``. ``baseline`` is each practice's baseline hub
    (default: every practice its own), which defines ``moved``.
    """
    n = len(population)
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 10, size=(n, 2))  # drawn either way, so the cost factors depend on the seed alone
    xy = xy if coords is None else np.asarray(coords, dtype=float)
    pop = np.asarray(population, dtype=float)
    dist = np.linalg.norm(xy[:, None, :] - xy[None, :, :], axis=2)
    cost = pop[:, None] * (dist + 0.1) / pop.sum() * rng.uniform(0.8, 1.2, size=(n, n))
    cost = cost + hub_charge * np.eye(n)
    k_min, k_max = (k, k) if isinstance(k, int) else k
    area_a = None if area is None else np.asarray(area, dtype=object)
    allowed = np.ones((n, n), dtype=bool) if area_a is None else area_a[:, None] == area_a[None, :]
    base = np.asarray(baseline if baseline is not None else range(n))
    anchor_a = np.zeros(n, dtype=bool)
    anchor_a[list(anchors)] = True
    risk_a = np.zeros(n) if risk is None else np.asarray(risk, dtype=float)
    pairs = {(min(u, v), max(u, v)) for u, v in [*edges, *links] if u != v}
    problem = Problem(k=k if isinstance(k, int) else tuple(k),
                      bounds=Bounds(min=max(1, int(lower)), max=max(1, int(lower), int(upper))),
                      nest="sub_icb" if area is not None else None, require_anchor=require_anchor,
                      max_moved=max_moved)
    return Instance(
        problem=problem, codes=tuple(f"P{i:02d}" for i in range(n)), population=pop, cost=cost,
        risk_coef=risk_a, risk_weight=float(risk_weight), allowed=allowed, anchors=anchor_a,
        edges=np.array(sorted(pairs), dtype=int).reshape(-1, 2), k_min=k_min, k_max=k_max,
        lower=float(lower), upper=float(upper),
        keep_together=tuple(sorted({(min(p, q), max(p, q)) for p, q in keep_together})),
        keep_apart=tuple(sorted({(min(p, q), max(p, q)) for p, q in keep_apart})),
        locked=tuple(np.array(sorted(g), dtype=int) for g in locked), max_moved=max_moved,
        moved=base[:, None] != base[None, :], require_anchor=require_anchor,
        terms={"travel": cost}, norms={"travel": 1.0, "risk": 1.0},
        weights={"travel": 1.0, "risk": float(risk_weight)}, risk_raw=risk_a, area=area_a,
        nesting_links=tuple((min(u, v), max(u, v), "added link") for u, v in links),
        baseline_hub=base.astype(object),
    )


def grid_edges(rows: int, cols: int) -> list[tuple[int, int]]:
    """Rook-adjacency edges of a ``rows`` x ``cols`` grid, numbered row by row."""
    out = []
    for r in range(rows):
        for c in range(cols):
            i = r * cols + c
            if c + 1 < cols:
                out.append((i, i + 1))
            if r + 1 < rows:
                out.append((i, i + cols))
    return out


# -- enumeration ---------------------------------------------------------------------------------


def practice_graph(inst: Instance) -> nx.Graph:
    """The graph contiguity is judged on: the instance's edges plus its added links."""
    g = nx.Graph()
    g.add_nodes_from(range(inst.n))
    g.add_edges_from((int(u), int(v)) for u, v in inst.edges)
    g.add_edges_from((int(u), int(v)) for u, v, _ in inst.nesting_links)
    return g


def connected_partitions(graph: nx.Graph) -> list[tuple[tuple[int, ...], ...]]:
    """Every partition of the graph's nodes ``0..n-1`` into connected blocks, each exactly once."""
    n = graph.number_of_nodes()
    nbr = [0] * n
    for u, v in graph.edges:
        nbr[u] |= 1 << v
        nbr[v] |= 1 << u

    def blocks_from(v: int, free: int) -> list[int]:
        """Connected subsets of ``free`` (a bitmask) that contain ``v``."""
        seen, stack = {1 << v}, [1 << v]
        while stack:
            s = stack.pop()
            reach = 0
            rest = s
            while rest:
                low = rest & -rest
                reach |= nbr[low.bit_length() - 1]
                rest ^= low
            grow = reach & free & ~s
            while grow:
                low = grow & -grow
                t = s | low
                if t not in seen:
                    seen.add(t)
                    stack.append(t)
                grow ^= low
        return sorted(seen)

    @cache
    def parts(free: int) -> tuple[tuple[int, ...], ...]:
        if not free:
            return ((),)
        v = (free & -free).bit_length() - 1
        out = []
        for block in blocks_from(v, free):
            for rest in parts(free & ~block):
                out.append((block, *rest))
        return tuple(out)

    def members(mask: int) -> tuple[int, ...]:
        return tuple(i for i in range(n) if mask >> i & 1)

    return [tuple(members(b) for b in p) for p in parts((1 << n) - 1)]


def all_partitions(items: list[int]) -> Iterator[list[list[int]]]:
    """Every set partition of ``items``, with no pruning (Bell(n) of them)."""
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for part in all_partitions(rest):
        yield [[first], *part]
        for i in range(len(part)):
            yield [*part[:i], [first, *part[i]], *part[i + 1:]]


@dataclass(frozen=True)
class Exhaustive:
    """What exhaustive search found.

    Attributes
    ----------
    optimum
        Least ``plan_cost`` over every plan ``check_plan`` accepts, or ``None`` if none is feasible.
    best
        One plan at the optimum (``None`` without one).
    plans
        Every feasible plan with its cost, cheapest first.
    searched
        Partitions into connected hubs examined.
    """

    optimum: float | None
    best: Plan | None
    plans: list[tuple[float, Plan]]
    searched: int


def exhaustive(inst: Instance) -> Exhaustive:
    """Examine every partition into connected hubs; keep those every hard rule accepts."""
    graph = practice_graph(inst)
    plans: list[tuple[float, Plan]] = []
    parts = connected_partitions(graph)
    for part in parts:
        hubs = [np.array(b, dtype=int) for b in part]
        if check_plan(inst, hubs):
            continue
        plans.append((inst.plan_cost(hubs), hubs))
    plans.sort(key=lambda c: c[0])
    if not plans:
        return Exhaustive(None, None, [], len(parts))
    return Exhaustive(plans[0][0], plans[0][1], plans, len(parts))
