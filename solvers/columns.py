"""Candidate hubs (columns): what makes a hub valid, where candidates come from, and the pool.

A *column* is a set of practices that could be one hub of a plan. It must be

* contiguous (a connected induced subgraph of the practice graph);
* inside the population band ``[lower, upper]`` (inclusive);
* servable from a common base (``allowed[p, b]`` for every member ``p``; nesting);
* free of keep-apart pairs, and hold both or neither practice of each keep-together pair;
* equal to a locked hub, or disjoint from every locked practice;
* holding an anchor practice when every hub needs one.

Keep-together pairs are contracted into *units* (a practice, or a group of
practices that must share a hub): every generator grows, cuts and moves whole
units, so no column ever splits a pair. :class:`HubRules` holds the rules in
that unit form, precomputed once per instance.

Sources of columns, each seeded by an explicit :class:`numpy.random.Generator`:

* agglomerative clustering (Ward, with the practice graph as connectivity) on
  projected coordinates and on per-patient cost profiles, for several cluster
  counts around the target;
* k-means on coordinates, plain and patient-weighted;
* the current PCNs (as a labelling, and each PCN split or merged with a neighbour to fit the band);
* random spanning-tree partitions (recursive bipartition, as in ReCom);
* randomised region growing (cheapest neighbour first).

A clustering gives *labellings*; :func:`fit_to_band` turns each cluster into a
column on its own, and :mod:`solvers.local_search` repairs whole labellings
into feasible partitions. Everything valid goes into a :class:`ColumnPool`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import networkx as nx
import numpy as np
import scipy.sparse as sp
from sklearn.cluster import AgglomerativeClustering, KMeans
from threadpoolctl import threadpool_limits

from pcn_planner.core.pieces import is_connected
from pcn_planner.model.instance import Instance
from pcn_planner.model.rules import hub_breach

from .graphs import UnionFind, pieces

__all__ = [
    "ColumnPool",
    "HubRules",
    "clustering_labellings",
    "fit_to_band",
    "grow",
    "labelling_from_practices",
    "pcn_columns",
    "project",
    "random_growth",
    "spanning_tree",
    "tree_cuts",
    "tree_partition",
    "unit_components",
    "unit_coords",
]


class HubRules:
    """Every rule a single hub must satisfy, precomputed in unit form.

    Parameters
    ----------
    inst
        The compiled problem.

    Attributes
    ----------
    units
        Sorted member arrays of the units (keep-together groups), ordered by first member.
    unit_of
        Unit index of each practice.
    unit_pop, unit_risk, unit_anchor
        Patients, risk coefficient sum and "holds an anchor" per unit.
    unit_cost
        ``unit_cost[u, b]``: cost of all members of unit ``u`` in a hub based at practice ``b``.
    unit_allowed, unit_mask
        ``unit_allowed[u, b]``: every member may be served from ``b``; ``unit_mask[u, p]``: ``p`` is a member.
    unit_adj
        Sorted adjacency lists of the unit graph.
    unit_apart
        Units that must not share a hub with each unit.
    free_units
        Units with no locked member, sorted.
    zone
        Nesting zone of each practice: hubs never cross zones (a relaxation of ``allowed``, used to cut
        the search space; :meth:`check` is the authority).
    problems
        Contradictions found while building (e.g. a pair both kept together and apart).
    """

    def __init__(self, inst: Instance) -> None:
        self.inst = inst
        n = inst.n
        self.n = n
        self.codes = inst.codes
        self.pop = np.asarray(inst.population, dtype=float)
        self.lower = float(inst.lower)
        self.upper = float(inst.upper)
        self.require_anchor = bool(inst.require_anchor)
        self.risk_weight = float(inst.risk_weight)
        self.adj_sets = [set(a) for a in inst.adjacency]
        self.all_allowed = bool(np.all(inst.allowed))
        self.problems: list[str] = []

        self.locked_of = np.full(n, -1, dtype=int)
        for g, group in enumerate(inst.locked):
            self.locked_of[np.asarray(group, dtype=int)] = g

        together = UnionFind(range(n))
        for a, b in inst.keep_together:
            together.union(int(a), int(b))
        self.units = [np.array(g, dtype=int) for g in together.groups()]
        U = len(self.units)
        self.n_units = U
        self.unit_of = np.empty(n, dtype=int)
        for u, m in enumerate(self.units):
            self.unit_of[m] = u
        self.unit_pop = np.array([self.pop[m].sum() for m in self.units])
        self.unit_risk = np.array([float(np.asarray(inst.risk_coef)[m].sum()) for m in self.units])
        self.unit_anchor = np.array([bool(np.asarray(inst.anchors)[m].any()) for m in self.units])
        self.unit_cost = np.vstack([inst.cost[m].sum(axis=0) for m in self.units])
        self.unit_allowed = np.vstack([inst.allowed[m].all(axis=0) for m in self.units])
        self.unit_mask = np.zeros((U, n), dtype=bool)
        for u, m in enumerate(self.units):
            self.unit_mask[u, m] = True

        adj_sets: list[set[int]] = [set() for _ in range(U)]
        for a, b in inst.edges:
            ua, ub = self.unit_of[a], self.unit_of[b]
            if ua != ub:
                adj_sets[ua].add(int(ub))
                adj_sets[ub].add(int(ua))
        self.unit_adj = [sorted(s) for s in adj_sets]
        self.unit_adj_sets = adj_sets

        self.unit_apart: list[set[int]] = [set() for _ in range(U)]
        for a, b in inst.keep_apart:
            ua, ub = int(self.unit_of[a]), int(self.unit_of[b])
            if ua == ub:
                self.problems.append(f"{self.codes[a]} and {self.codes[b]} must both share and not share a hub")
            else:
                self.unit_apart[ua].add(ub)
                self.unit_apart[ub].add(ua)

        self.any_apart = any(self.unit_apart)
        # units whose members are not connected by themselves need a practice-level check
        self.split_unit = np.array([len(m) > 1 and not self.connected(m) for m in self.units])
        free = []
        for u, m in enumerate(self.units):
            groups_u = set(self.locked_of[m].tolist())
            if groups_u == {-1}:
                free.append(u)
            elif len(groups_u) > 1:
                names = ", ".join(self.codes[p] for p in m)
                self.problems.append(f"practices {names} must share a hub but not all are in the same locked hub")
        self.free_units = np.array(free, dtype=int)

        self.zone = _zones(inst)
        self.unit_zone = np.array([self.zone[m[0]] for m in self.units])
        for u, m in enumerate(self.units):
            if len(set(self.zone[m].tolist())) > 1 or not (self.unit_allowed[u] & self.unit_mask[u]).any():
                names = ", ".join(self.codes[p] for p in m)
                self.problems.append(f"practices {names} must share a hub but lie in different nesting areas")

    # ---------------------------------------------------------------- checks
    def connected(self, members: Iterable[int]) -> bool:
        """True if the practices induce a connected subgraph of the practice graph."""
        return is_connected(members, self.adj_sets)

    def units_connected(self, units: Iterable[int]) -> bool:
        """True if the units induce a connected subgraph of the unit graph."""
        return is_connected(units, self.unit_adj_sets)

    def check(self, members: Iterable[int]) -> str | None:
        """The first rule a hub breaks, in words, or ``None`` if it is a valid column.

        The verdict is :func:`pcn_planner.model.rules.hub_breach`'s; the unit
        form above only speeds up building and moving candidates.

        Parameters
        ----------
        members
            Practice positions.
        """
        breach = hub_breach(self.inst, np.fromiter(members, dtype=int))
        return None if breach is None else breach.text

    # ------------------------------------------------------------ evaluation
    def unit_members(self, units: Iterable[int]) -> np.ndarray:
        """Sorted practice positions of a set of units."""
        us = sorted(set(units))
        if not us:
            return np.zeros(0, dtype=int)
        return np.sort(np.concatenate([self.units[u] for u in us]))

    def evaluate(self, units: Sequence[int]) -> tuple[float, float, int]:
        """Patients, cost and best base of a set of units (cost ``inf`` if no base is allowed)."""
        us = list(units)
        colsum = self.unit_cost[us].sum(axis=0)
        mask = self.unit_mask[us].any(axis=0)
        valid = mask if self.all_allowed else mask & self.unit_allowed[us].all(axis=0)
        pop = float(self.unit_pop[us].sum())
        if not valid.any():
            return pop, math.inf, -1
        cs = np.where(valid, colsum, np.inf)
        b = int(np.argmin(cs))
        risk = float(self.unit_risk[us].sum())
        return pop, float(cs[b]) + self.risk_weight * max(0.0, risk), b

    def hard_violations(self, units: Sequence[int]) -> int:
        """Count of broken hard rules other than the band (base, anchor, keep-apart)."""
        us = list(units)
        bad = 0
        if not self.all_allowed:
            mask = self.unit_mask[us].any(axis=0) & self.unit_allowed[us].all(axis=0)
            bad += 0 if mask.any() else 1
        if self.require_anchor and not self.unit_anchor[us].any():
            bad += 1
        s = set(us)
        bad += sum(len(self.unit_apart[u] & s) for u in us) // 2
        return bad


def _zones(inst: Instance) -> np.ndarray:
    """Nesting zone per practice: the area label, or classes of mutually allowed practices."""
    if inst.area is not None:
        return np.unique(np.asarray(inst.area).astype(str), return_inverse=True)[1].astype(int)
    if np.all(inst.allowed):
        return np.zeros(inst.n, dtype=int)
    mutual = np.asarray(inst.allowed) & np.asarray(inst.allowed).T
    zone = np.empty(inst.n, dtype=int)
    for z, piece in enumerate(pieces(range(inst.n), [np.flatnonzero(row).tolist() for row in mutual])):
        zone[piece] = z
    return zone


def unit_components(rules: HubRules) -> list[np.ndarray]:
    """Connected pieces of the free unit graph, with edges only inside a nesting zone.

    Locked practices are taken out (their hubs are fixed), so each piece is an
    independent subproblem once its number of hubs is chosen.
    """
    zone = rules.unit_zone
    adj = [[v for v in nbrs if zone[v] == zone[u]] for u, nbrs in enumerate(rules.unit_adj)]
    return [np.array(piece, dtype=int) for piece in pieces(rules.free_units.tolist(), adj)]


# ---------------------------------------------------------------------- pool
class ColumnPool:
    """Deduplicated candidate hubs, reusable across scenarios of one region.

    Columns are keyed by their member set. :meth:`bind` attaches the pool to an
    instance; costs, bases, moved counts and validity are recomputed whenever
    the instance changes, so one pool can serve a sensitivity sweep.
    """

    def __init__(self) -> None:
        self._codes: tuple[str, ...] | None = None
        self._index: dict[frozenset[int], int] = {}
        self._members: list[np.ndarray] = []
        self._sources: list[str] = []
        self._inst: Instance | None = None
        self.rules: HubRules | None = None
        self._cost: list[float] = []
        self._base: list[int] = []
        self._moved: list[int] = []
        self._valid: list[bool] = []

    def __len__(self) -> int:
        return len(self._members)

    @property
    def n_valid(self) -> int:
        """Number of columns valid for the bound instance."""
        return int(sum(self._valid))

    def bind(self, inst: Instance, rules: HubRules | None = None) -> HubRules:
        """Attach to an instance, recomputing every stored column's cost and validity.

        Returns the :class:`HubRules` in use. Columns of a pool built on other
        practice codes are translated by code (columns naming unknown codes are dropped).
        """
        if self._inst is inst and self.rules is not None:
            return self.rules
        rules = rules if rules is not None and rules.inst is inst else HubRules(inst)
        if self._codes is not None and self._codes != tuple(inst.codes):
            index = {c: i for i, c in enumerate(inst.codes)}
            old = [[self._codes[p] for p in m] for m in self._members]
            sources = self._sources
            self._index, self._members, self._sources = {}, [], []
            for codes, src in zip(old, sources, strict=True):
                if all(c in index for c in codes):
                    self._store(np.array(sorted(index[c] for c in codes), dtype=int), src)
        self._codes = tuple(inst.codes)
        self._inst, self.rules = inst, rules
        self._cost, self._base, self._moved, self._valid = [], [], [], []
        for m in self._members:
            self._evaluate(m)
        return rules

    def snapshot(self) -> ColumnPool:
        """An unbound copy holding the same columns: a solve may grow it without touching this pool.

        It is re-costed when bound to an instance, like any pool, so the copy serves any problem
        on the same practices (columns naming a practice the instance lacks are dropped).
        """
        copy = ColumnPool()
        copy._codes = self._codes
        copy._members = list(self._members)
        copy._sources = list(self._sources)
        copy._index = dict(self._index)
        return copy

    def _store(self, members: np.ndarray, source: str) -> int:
        key = frozenset(members.tolist())
        self._index[key] = len(self._members)
        self._members.append(members)
        self._sources.append(source)
        return len(self._members) - 1

    def _evaluate(self, members: np.ndarray, checked: bool = False) -> None:
        assert self._inst is not None and self.rules is not None
        ok = checked or self.rules.check(members) is None
        cost, base = self._inst.hub_cost(members) if ok else (math.inf, -1)
        ok = ok and math.isfinite(cost)
        self._valid.append(ok)
        self._cost.append(cost)
        self._base.append(base)
        self._moved.append(int(self._inst.moved[members, base].sum()) if ok else 0)

    def add(self, members: Iterable[int], source: str = "") -> int | None:
        """Add a practice set; return its column index if it is valid for the bound instance.

        Duplicates are not stored twice. Invalid sets are not stored at all.
        """
        if self._inst is None:
            raise RuntimeError("bind the pool to an instance before adding columns")
        m = np.array(sorted({int(p) for p in members}), dtype=int)
        key = frozenset(m.tolist())
        i = self._index.get(key)
        if i is not None:
            return i if self._valid[i] else None
        if self.rules is not None and self.rules.check(m) is not None:
            return None
        i = self._store(m, source)
        self._evaluate(m, checked=self.rules is not None)
        if not self._valid[i]:
            return None
        return i

    def index_of(self, members: Iterable[int]) -> int | None:
        """Column index of a practice set, if stored."""
        return self._index.get(frozenset(int(p) for p in members))

    def valid_indices(self) -> np.ndarray:
        """Indices of the columns valid for the bound instance, in insertion order."""
        return np.flatnonzero(np.array(self._valid, dtype=bool))

    def members(self, i: int) -> np.ndarray:
        """Sorted member positions of column ``i``."""
        return self._members[i]

    def source(self, i: int) -> str:
        """Which generator first produced column ``i``."""
        return self._sources[i]

    def cost_of(self, i: int) -> float:
        """Cost of column ``i``."""
        return self._cost[i]

    def moved_of(self, i: int) -> int:
        """Moved practices of column ``i`` at its base."""
        return self._moved[i]

    @property
    def cost(self) -> np.ndarray:
        """Cost of every stored column (``inf`` if invalid)."""
        return np.array(self._cost, dtype=float)

    @property
    def base(self) -> np.ndarray:
        """Best base of every stored column (``-1`` if invalid)."""
        return np.array(self._base, dtype=int)

    @property
    def moved(self) -> np.ndarray:
        """Practices moved out of the base's baseline PCN, per column."""
        return np.array(self._moved, dtype=int)

    def source_counts(self) -> dict[str, int]:
        """Valid columns by generator."""
        out: dict[str, int] = {}
        for s, ok in zip(self._sources, self._valid, strict=True):
            if ok:
                out[s] = out.get(s, 0) + 1
        return dict(sorted(out.items()))


# ---------------------------------------------------------------- geometry
def project(coords: np.ndarray) -> np.ndarray:
    """Latitude/longitude in degrees to local kilometres (equirectangular; fine at county scale)."""
    coords = np.asarray(coords, dtype=float)
    lat0 = float(np.mean(coords[:, 0]))
    y = (coords[:, 0] - lat0) * 110.57
    x = (coords[:, 1] - float(np.mean(coords[:, 1]))) * 111.32 * math.cos(math.radians(lat0))
    return np.column_stack([x, y])


def unit_coords(rules: HubRules, xy: np.ndarray) -> np.ndarray:
    """Patient-weighted mean position of each unit."""
    out = np.empty((rules.n_units, 2))
    for u, m in enumerate(rules.units):
        w = rules.pop[m]
        out[u] = (xy[m] * w[:, None]).sum(axis=0) / max(w.sum(), 1e-12)
    return out


# --------------------------------------------------------- spanning trees
def spanning_tree(rules: HubRules, units: Sequence[int],
                  rng: np.random.Generator | None = None) -> dict[int, list[int]]:
    """A spanning tree of the unit graph on ``units`` (random if ``rng`` given, else BFS).

    Returns adjacency lists of the tree. The unit set must be connected.
    """
    us = sorted(units)
    inside = set(us)
    tree: dict[int, list[int]] = {u: [] for u in us}
    if rng is None:
        seen = {us[0]}
        queue = [us[0]]
        for u in queue:
            for v in rules.unit_adj[u]:
                if v in inside and v not in seen:
                    seen.add(v)
                    tree[u].append(v)
                    tree[v].append(u)
                    queue.append(v)
        return tree
    edges = [(u, v) for u in us for v in rules.unit_adj[u] if v in inside and u < v]
    order = np.argsort(rng.random(len(edges)), kind="stable")  # Kruskal on random weights
    joined = UnionFind(us)
    for i in order:
        u, v = edges[i]
        if joined.union(u, v):
            tree[u].append(v)
            tree[v].append(u)
    return tree


def tree_cuts(rules: HubRules, tree: dict[int, list[int]]) -> list[tuple[list[int], float]]:
    """Every subtree hanging below a tree edge, with its patients.

    Cutting that edge splits the tree's units into the subtree and the rest,
    both connected.
    """
    root = min(tree)
    parent = {root: -1}
    order = [root]
    for u in order:
        for v in tree[u]:
            if v not in parent:
                parent[v] = u
                order.append(v)
    below: dict[int, list[int]] = {u: [u] for u in order}
    pops = {u: float(rules.unit_pop[u]) for u in order}
    for u in reversed(order[1:]):
        p = parent[u]
        below[p] = below[p] + below[u]
        pops[p] += pops[u]
    return [(sorted(below[u]), pops[u]) for u in order[1:]]


def tree_partition(rules: HubRules, units: Iterable[int], k: int, rng: np.random.Generator,
                   attempts: int = 20) -> list[list[int]] | None:
    """Cut a connected unit set into ``k`` connected parts in band by recursive tree bipartition.

    Each step draws a random spanning tree of what is left and cuts off a
    subtree whose patients are in band while the rest can still hold
    ``k - 1`` hubs; parts with hard-rule breaks are avoided when possible.
    Returns ``None`` if no such cut is found within ``attempts`` trees per step.
    """
    lo, hi = rules.lower, rules.upper
    rest = sorted(units)
    parts: list[list[int]] = []
    for left in range(k, 1, -1):
        rest_pop = float(rules.unit_pop[rest].sum())
        chosen = None
        for _ in range(attempts):
            tree = spanning_tree(rules, rest, rng)
            ok = [side for side, pop in tree_cuts(rules, tree)
                  if lo <= pop <= hi and (left - 1) * lo <= rest_pop - pop <= (left - 1) * hi]
            clean = [s for s in ok if rules.hard_violations(s) == 0]
            pick = clean or ok
            if pick:
                chosen = pick[int(rng.integers(len(pick)))]
                break
        if chosen is None:
            return None
        parts.append(chosen)
        taken = set(chosen)
        rest = [u for u in rest if u not in taken]
    parts.append(rest)
    return parts


# ------------------------------------------------------------- labellings
def labelling_from_practices(rules: HubRules, comp: np.ndarray, labels: Sequence[object]) -> np.ndarray:
    """Unit labels on a piece from per-practice labels (a unit takes its first member's label)."""
    names = [str(labels[rules.units[u][0]]) for u in comp]
    lookup = {name: i for i, name in enumerate(sorted(set(names)))}
    return np.array([lookup[name] for name in names], dtype=int)


def clustering_labellings(rules: HubRules, comp: np.ndarray, uxy: np.ndarray, k_values: Iterable[int],
                          rng: np.random.Generator, kmeans_init: int = 3) -> list[tuple[str, np.ndarray]]:
    """Clusterings of one piece's units, as ``(source, labels aligned with comp)``.

    Ward agglomeration with the unit graph as connectivity keeps clusters
    contiguous; it runs on projected coordinates and on per-patient cost
    profiles (rows of the cost matrix restricted to the piece). K-means runs on
    coordinates, plain and patient-weighted; its clusters may be split by the
    graph, which the repair step handles.
    """
    m = len(comp)
    out: list[tuple[str, np.ndarray]] = []
    if m == 0:
        return out
    pos = {int(u): i for i, u in enumerate(comp)}
    rows, cols = [], []
    for u in comp:
        for v in rules.unit_adj[u]:
            if v in pos:
                rows.append(pos[int(u)])
                cols.append(pos[v])
    conn = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(m, m))
    xy = uxy[comp]
    practices = rules.unit_members(comp)
    profile = rules.unit_cost[np.ix_(comp, practices)] / np.maximum(rules.unit_pop[comp], 1.0)[:, None]
    profile = profile / max(float(profile.std()), 1e-12)
    for k in sorted({int(k) for k in k_values}):
        if not 1 <= k <= m:
            continue
        if k == 1 or k == m:
            out.append(("singletons", np.arange(m)) if k == m else ("whole", np.zeros(m, dtype=int)))
            continue
        for name, feats in (("ward_xy", xy), ("ward_cost", profile)):
            model = AgglomerativeClustering(n_clusters=k, connectivity=conn, linkage="ward")
            out.append((name, model.fit_predict(feats).astype(int)))
        for name, weight in (("kmeans", None), ("kmeans_pop", rules.unit_pop[comp])):
            model = KMeans(n_clusters=k, n_init=kmeans_init, random_state=int(rng.integers(2**31 - 1)))
            # one thread: on ~100 points OpenMP start-up costs several times the work
            with threadpool_limits(1):
                out.append((name, model.fit(xy, sample_weight=weight).labels_.astype(int)))
    return out


# ----------------------------------------------------------------- growth
def grow(rules: HubRules, seed: int, within: np.ndarray, *, score: np.ndarray | None = None,
         base: int | None = None, rng: np.random.Generator | None = None, choice: int = 1,
         max_steps: int | None = None) -> list[list[int]]:
    """Grow a connected unit set from ``seed``, one neighbouring unit at a time.

    Each step adds a frontier unit that keeps the set within the upper bound
    and free of keep-apart and nesting breaks, picking the cheapest: by
    default the per-patient cost of joining the current best base; with
    ``score`` (per unit and base, e.g. reduced costs) ``score[u, b]``. With
    ``rng`` and ``choice > 1`` it picks uniformly among the ``choice`` cheapest,
    so many runs give different shapes. Every valid in-band set met on the way
    is returned (sorted unit lists).

    Parameters
    ----------
    within
        Boolean mask over units that may be used (e.g. the seed's piece).
    base
        Fix the base practice (else the current cheapest allowed member).
    """
    n_units = rules.n_units
    max_steps = max_steps or n_units
    chosen = [seed]
    in_set = np.zeros(n_units, dtype=bool)
    in_set[seed] = True
    pop = float(rules.unit_pop[seed])
    colsum = rules.unit_cost[seed].copy()
    allowed = rules.unit_allowed[seed].copy()
    mask = rules.unit_mask[seed].copy()
    apart = set(rules.unit_apart[seed])
    frontier = {v for v in rules.unit_adj[seed] if within[v]}
    out: list[list[int]] = []
    for _ in range(max_steps):
        if pop >= rules.lower and rules.hard_violations(chosen) == 0:
            out.append(sorted(chosen))
        valid = mask & allowed
        if not valid.any():
            break
        b = base if base is not None else int(np.argmin(np.where(valid, colsum, np.inf)))
        cand = [v for v in sorted(frontier)
                if pop + rules.unit_pop[v] <= rules.upper and v not in apart
                and (allowed & rules.unit_allowed[v] & (mask | rules.unit_mask[v])).any()
                and (base is None or rules.unit_allowed[v, base])]
        if not cand:
            break
        s = rules.unit_cost[cand, b] / np.maximum(rules.unit_pop[cand], 1.0) if score is None else score[cand, b]
        order = np.argsort(s, kind="stable")
        pick = int(order[0]) if rng is None or choice <= 1 else int(order[int(rng.integers(min(choice, len(cand))))])
        v = cand[pick]
        chosen.append(v)
        in_set[v] = True
        pop += float(rules.unit_pop[v])
        colsum += rules.unit_cost[v]
        allowed &= rules.unit_allowed[v]
        mask |= rules.unit_mask[v]
        apart |= rules.unit_apart[v]
        frontier.discard(v)
        frontier.update(w for w in rules.unit_adj[v] if within[w] and not in_set[w])
    if pop >= rules.lower and rules.hard_violations(chosen) == 0 and sorted(chosen) not in out:
        out.append(sorted(chosen))
    return out


def random_growth(rules: HubRules, pool: ColumnPool, comps: Sequence[np.ndarray], rng: np.random.Generator,
                  runs: int, choice: int = 3, deadline: float | None = None) -> tuple[int, int]:
    """Randomised region growing from seeds drawn with ``rng``.

    Returns the number of new columns and of runs done (fewer than ``runs`` if the deadline came first).
    """
    import time

    free = np.concatenate(comps) if comps else np.zeros(0, dtype=int)
    if free.size == 0:
        return 0, 0
    piece = np.full(rules.n_units, -1)
    for i, c in enumerate(comps):
        piece[c] = i
    before = len(pool)
    done = 0
    for _ in range(runs):
        if deadline is not None and done % 25 == 0 and time.perf_counter() > deadline:
            break
        seed = int(free[int(rng.integers(free.size))])
        within = piece == piece[seed]
        for units in grow(rules, seed, within, rng=rng, choice=choice):
            pool.add(rules.unit_members(units), "grow")
        done += 1
    return len(pool) - before, done


def pcn_columns(rules: HubRules, pool: ColumnPool, comp: np.ndarray, labels: np.ndarray, rng: np.random.Generator,
                tries: int = 3) -> int:
    """Columns from the current PCNs of one piece: as they are, split into band, or merged with a neighbour.

    Each PCN (each connected part of it) in band is a column; a PCN above the
    band is cut into every feasible number of in-band parts along random
    spanning trees; each pair of adjacent PCNs is merged, and cut the same way
    if the union is above the band. These columns move few practices, which is
    what a tight ``max_moved`` rule needs. Returns the number of new columns.
    """
    before = len(pool)
    groups: dict[int, set[int]] = {}
    for u, lab in zip(comp.tolist(), labels.tolist(), strict=True):
        groups.setdefault(int(lab), set()).add(int(u))
    parts: list[set[int]] = []
    for lab in sorted(groups):
        parts += [set(piece) for piece in pieces(groups[lab], rules.unit_adj)]
    owner = {u: i for i, p in enumerate(parts) for u in p}

    def emit(units: set[int]) -> None:
        pop = float(rules.unit_pop[sorted(units)].sum())
        if rules.lower <= pop <= rules.upper:
            pool.add(rules.unit_members(units), "pcn")
            return
        if pop < rules.lower:
            return
        for kk in range(math.ceil(pop / rules.upper - 1e-9), math.floor(pop / rules.lower + 1e-9) + 1):
            for _ in range(tries):
                cut = tree_partition(rules, sorted(units), kk, rng, attempts=5)
                for piece in cut or []:
                    pool.add(rules.unit_members(piece), "pcn")

    for i, part in enumerate(parts):
        emit(part)
        for j in sorted({owner[v] for u in part for v in rules.unit_adj[u] if v in owner and owner[v] > i}):
            emit(part | parts[j])
    return len(pool) - before


def fit_to_band(rules: HubRules, units: Iterable[int], within: np.ndarray) -> list[int] | None:
    """Push one connected unit set into the band: grow by cheapest neighbours, or shed costly boundary units.

    Returns the fitted set if it ends valid, else ``None``. Shedding removes
    only non-cut units, so the set stays connected.
    """
    s = set(units)
    if not s or not rules.units_connected(s):
        return None
    for _ in range(2 * rules.n_units):
        pop, _, b = rules.evaluate(sorted(s))
        if pop > rules.upper:
            sub: nx.Graph[int] = nx.Graph()
            sub.add_nodes_from(s)
            sub.add_edges_from((u, v) for u in s for v in rules.unit_adj[u] if v in s)
            cut = set(nx.articulation_points(sub))
            removable = sorted(u for u in s if u not in cut)
            if not removable or len(s) == 1:
                return None
            ref = b if b >= 0 else int(rules.unit_members(s)[0])
            per = rules.unit_cost[removable, ref] / np.maximum(rules.unit_pop[removable], 1.0)
            s.discard(removable[int(np.argmax(per))])
        elif pop < rules.lower:
            frontier = sorted({v for u in s for v in rules.unit_adj[u] if within[v] and v not in s})
            if not frontier or b < 0:
                return None
            ok = [v for v in frontier if pop + rules.unit_pop[v] <= rules.upper and not rules.unit_apart[v] & s]
            if not ok:
                return None
            per = rules.unit_cost[ok, b] / np.maximum(rules.unit_pop[ok], 1.0)
            s.add(ok[int(np.argmin(per))])
        else:
            break
    members = rules.unit_members(s)
    return sorted(s) if rules.check(members) is None else None
