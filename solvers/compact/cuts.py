"""Separation of the compact model's cuts: contiguity (separator and population) and rounded capacity.

Every cut holds for every contiguous in-band plan, so adding any of them keeps
the model a relaxation and its bounds valid.

* **Separator cuts** ``x[p, b] <= sum_{v in C} x[v, b]`` (Fischetti et al.
  2017; Validi and Buchanan 2022): if ``p`` is in the hub based at ``b``, the
  hub also holds a vertex of every ``p``-``b`` separator ``C``. Found exactly on
  integer solutions (a member cut off from its base) and by vertex max-flow on
  fractional ones.
* **Population cuts** ``x[b, b] <= sum_{v in N(S)} x[v, b]`` for sets ``S``
  around ``b`` holding fewer than ``lower`` patients: an open hub is connected
  and bigger than ``S``, so it reaches past ``S``.
* **Rounded capacity cuts**: enough hubs must reach every group of practices
  (:class:`CapacitySeparator`).

A separator or population cut is written ``(p, b, C)``; a population cut has ``p = b``.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import maximum_flow

from solvers.graphs import pieces

__all__ = ["CapacityCut", "CapacitySeparator", "ContiguitySeparator", "Cut", "CutPool"]

#: A separator or population cut ``x[p, b] <= sum_{v in C} x[v, b]`` as ``(p, b, C)``.
Cut = tuple[int, int, tuple[int, ...]]
#: A capacity cut: the ``(p, b)`` keys of the ``x`` variables summed on the left, and the right-hand side.
CapacityCut = tuple[tuple[tuple[int, int], ...], int]

#: Max-flow works on integers: LP values are scaled by this, and uncuttable arcs get the large capacity.
_FLOW_SCALE = 1_000_000
_FLOW_INF = 1_000_000_000
#: Widest-path widths must beat the cut threshold by this much to skip a max-flow (integer flow rounding).
_WIDTH_MARGIN = 1e-4

#: A set is checked once its population is past a multiple of ``upper`` by at most this share of ``upper``
#: (further past, the rounding gains little and the set is better found smaller).
ROUNDING_WINDOW = 0.6
#: Sets grow to at most this many times ``upper`` patients.
MAX_HUBS_SPANNED = 4
#: Least violation worth a capacity cut.
MIN_VIOLATION = 1e-3


@dataclass(frozen=True, eq=False)
class CutPool:
    """The cuts of a finished solve, named by practice code so a later solve can start from them.

    Attributes
    ----------
    codes
        Practice codes of the solve's instance, in position order.
    cuts
        Separator and population cuts ``(p, b, C)`` in those positions.
    capacity
        Rounded capacity cuts; see :meth:`for_instance` for when they hold elsewhere.
    mask, population, edges, upper
        The solve's candidate pairs ``x[p, b]``, list sizes, practice-graph edges (links
        included) and maximum hub size: what the capacity cuts' validity rests on.
    """

    codes: tuple[str, ...]
    cuts: tuple[Cut, ...]
    capacity: tuple[CapacityCut, ...]
    mask: np.ndarray
    population: np.ndarray
    edges: frozenset[tuple[int, int]]
    upper: float

    def for_instance(self, codes: Sequence[str], mask: np.ndarray, population: np.ndarray,
                     edges: frozenset[tuple[int, int]], upper: float) -> tuple[list[Cut], list[CapacityCut]]:
        """The cuts in another instance's positions (those naming a practice it lacks are dropped).

        The contiguity cuts still have to pass :meth:`ContiguitySeparator.holds` there. A
        capacity cut says that the hubs meeting a set ``U`` number at least
        ``ceil(pop(U) / upper)``, with one term per base of the model; it still holds when the
        practices, list sizes and graph are the same, ``upper`` is no larger (the right-hand side
        can only grow) and every ``x[p, b]`` of the new model was in the old one (so every new base
        has its term). Otherwise the capacity cuts are not passed on.
        """
        where = {c: i for i, c in enumerate(codes)}
        moved = {i: where.get(c) for i, c in enumerate(self.codes)}
        cuts: list[Cut] = []
        for p, b, sep in self.cuts:
            q, a, rest = moved[p], moved[b], [moved[v] for v in sep]
            if q is not None and a is not None:  # a closed separator member simply leaves the separator
                cuts.append((q, a, tuple(sorted(v for v in rest if v is not None))))
        same = (tuple(codes) == self.codes and np.array_equal(population, self.population)
                and edges == self.edges and upper <= self.upper and mask.shape == self.mask.shape
                and not (mask & ~self.mask).any())
        return cuts, (list(self.capacity) if same else [])


class ContiguitySeparator:
    """Finds separator and population cuts for the hubs of the compact model.

    Parameters
    ----------
    adj
        Adjacency lists of the practice graph.
    mask
        ``mask[p, b]``: ``x[p, b]`` exists (practice ``p`` may join the hub based at ``b``).
    rows
        The candidate members of each base, bases in ascending order.
    population
        Patients per practice.
    lower
        Minimum patients per hub.
    """

    def __init__(self, adj: Sequence[Sequence[int]], mask: np.ndarray, rows: Mapping[int, list[int]],
                 population: np.ndarray, lower: float) -> None:
        self.adj, self.mask, self.rows = adj, mask, rows
        self.n, self.pop, self.lower = len(adj), population, float(lower)

    def separator(self, piece: list[int], b: int) -> tuple[int, ...]:
        """Minimal separator between ``piece`` and base ``b`` in the graph of practices that may join ``b``.

        It is the neighbours of ``piece`` that can still reach ``b`` without entering
        ``piece``; vertices with no ``x[v, b]`` are left out, as they can never
        connect anything.
        """
        reach = self._reach(b, set(piece))
        return tuple(sorted({v for u in piece for v in self.adj[u] if v in reach}))

    def _reach(self, b: int, blocked: set[int]) -> set[int]:
        """Practices ``b`` reaches through practices that may join ``b``, avoiding ``blocked``."""
        usable = self.mask[:, b]
        reach, queue = {b}, deque([b])
        while queue:  # bounded: each vertex enters once
            u = queue.popleft()
            for v in self.adj[u]:
                if usable[v] and v not in blocked and v not in reach:
                    reach.add(v)
                    queue.append(v)
        return reach

    def holds(self, cut: Cut) -> bool:
        """Whether a cut found for another instance is valid for this one (an earlier solve's cut pool).

        This is the cut's own validity argument, checked on this graph and mask: a separator
        cut holds if ``C`` separates ``p`` from ``b`` among the practices that may join ``b``; a
        population cut (``p = b``) holds if what ``b`` reaches without ``C`` has fewer than
        ``lower`` patients. Weights never matter; bounds, links and nesting may.
        """
        p, b, sep = cut
        if not (self.mask[p, b] and self.mask[b, b]):
            return False
        blocked = set(sep)
        if b in blocked or p in blocked:
            return False
        reach = self._reach(b, blocked)
        if p != b:
            return p not in reach
        return float(self.pop[list(reach)].sum()) < self.lower

    def integral(self, hubs: Mapping[int, list[int]]) -> list[Cut]:
        """Violated separator cuts for every member of an integer solution (base -> members) cut off from its base."""
        found = []
        for b, members in hubs.items():
            for piece in pieces(members, self.adj):
                if b not in piece:
                    sep = self.separator(piece, b)
                    found += [(p, b, sep) for p in piece]
        return found

    def fractional(self, value: Mapping[tuple[int, int], float], eps: float = 1e-3) -> list[Cut]:
        """Separator cuts violated by an LP solution, by vertex max-flow (Validi-Buchanan).

        For each base ``b`` and member ``p`` with ``x[p, b] > eps``, the least-capacity
        ``p``-``b`` vertex cut with capacities ``x[v, b]`` is found; if it is below
        ``x[p, b] - eps``, the piece of ``p`` behind the cut gives a minimal separator.
        """
        n, found = self.n, []
        for b, members in self.rows.items():
            if value.get((b, b), 0.0) < 1e-6:
                continue
            usable = self.mask[:, b]
            heads, tails, caps = [], [], []
            for v in members:  # vertex v splits into 2v (in) -> 2v+1 (out)
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
            for p in members:
                xp = value.get((p, b), 0.0)
                if p == b or xp <= eps or b in self.adj[p] or width[p] >= xp - eps + _WIDTH_MARGIN:
                    continue  # (a single path already carries enough flow: no cut here)
                # scipy-stubs type the graph as csr_array only; scipy takes csr_matrix too
                flow = maximum_flow(cap, 2 * p + 1, 2 * b)  # type: ignore[arg-type]
                if flow.flow_value >= (xp - eps) * _FLOW_SCALE:
                    continue
                residual = dense - flow.flow.toarray()
                seen = np.zeros(2 * n, dtype=bool)
                seen[2 * p + 1] = True
                queue = deque([2 * p + 1])
                while queue:  # bounded: each split vertex enters once
                    u = queue.popleft()
                    for nxt in np.flatnonzero((residual[u] > 0) & ~seen).tolist():
                        seen[nxt] = True
                        queue.append(nxt)
                source_side = [v for v in members if seen[2 * v + 1] or v == p]
                piece = next(pc for pc in pieces(source_side, self.adj) if p in pc)
                found.append((p, b, self.separator(piece, b)))
        return found

    def _widest(self, b: int, value: Mapping[tuple[int, int], float]) -> dict[int, float]:
        """Widest-path capacity from ``b`` to each vertex, a path carrying the least ``x[v, b]`` of its inner vertices.

        A lower bound on the max-flow of :meth:`fractional`, found in one Dijkstra-like pass,
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

    def population(self, value: Mapping[tuple[int, int], float], eps: float = 1e-3) -> list[Cut]:
        """Population cuts violated by an LP solution.

        ``S`` grows greedily from each open base ``b`` by the neighbour with the
        largest ``x[v, b]`` while it stays below ``lower`` patients (a heuristic
        separation); the first ring ``N(S)`` whose ``x[., b]`` falls short of
        ``x[b, b]`` gives a cut.
        """
        pop, lower, found = self.pop, self.lower, []
        for b in self.rows:
            xb = value.get((b, b), 0.0)
            if xb < eps:
                continue
            usable = self.mask[:, b]
            inside, size = {b}, float(pop[b])
            for _ in range(self.n):  # S grows by one vertex a step, staying below the band
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


class CapacitySeparator:
    """Finds rounded capacity cuts violated by an LP solution of the compact model.

    The LP relaxation likes to open many bases part-way and load each
    fractional hub to exactly the maximum list size, which mimics more,
    smaller hubs than K. These cuts forbid that, area by area.

    For any set ``U`` of practices, each hub holds at most ``upper`` patients, so at
    least ``need(U) = ceil(pop(U) / upper)`` hubs have a member in ``U``. A hub
    based at ``b`` in ``U`` reaches ``U`` exactly when it is open (``x[b, b] = 1``).
    A hub based at ``b`` outside ``U`` that reaches ``U`` is connected, so its path
    from ``b`` into ``U`` enters through the inner boundary
    ``dU = {p in U : p has a neighbour outside U}``: it holds a practice of ``dU``.
    So, choosing for each outside base either term,

    .. math::

        \\sum_{b \\in U} x_{bb} + \\sum_{b \\notin U,\\ \\text{open}} x_{bb}
        + \\sum_{b \\notin U,\\ \\text{boundary}} \\sum_{p \\in \\partial U} x_{pb} \\ge \\lceil pop(U) / upper \\rceil

    holds for every contiguous in-band plan (each term is at least 1 for every hub
    that reaches ``U``, and 0 is never overstated). These are the rounded capacity
    inequalities of vehicle routing, written for hubs with bases. Each cut picks,
    per outside base, the smaller term at the current LP point, so it is as
    violated as the cut can be there; other choices for the same ``U`` come in
    later rounds if the LP moves.

    Separation is heuristic: from every practice, ``U`` grows greedily by the
    neighbour that adds least hub coverage per patient, and each ``U`` whose
    population has just passed a multiple of ``upper`` is checked.

    Parameters
    ----------
    adj
        Adjacency lists of the practice graph (the graph contiguity is checked on).
    population
        Patients per practice.
    upper
        Maximum patients per hub.
    keys
        The ``(p, b)`` pairs that have a variable ``x[p, b]``; a base ``b`` is a pair ``(b, b)``.
    """

    def __init__(self, adj: Sequence[Sequence[int]], population: np.ndarray, upper: float,
                 keys: Iterable[tuple[int, int]]) -> None:
        n = len(adj)
        self.n, self.pop, self.upper = n, np.asarray(population, dtype=float), float(upper)
        keys = list(keys)
        self.bases = np.array(sorted({b for p, b in keys if p == b}), dtype=int)
        self.column = {int(b): j for j, b in enumerate(self.bases)}
        self.exists = np.zeros((n, len(self.bases)), dtype=bool)  # exists[p, j]: x[p, bases[j]] is a variable
        for p, b in keys:
            if b in self.column:
                self.exists[p, self.column[b]] = True
        self.adj = [sorted({int(v) for v in nbrs}) for nbrs in adj]
        self.adjacent = np.zeros((n, n), dtype=bool)
        for u, nbrs in enumerate(self.adj):
            self.adjacent[u, nbrs] = True
        self.seen: set[tuple[tuple[int, int], ...]] = set()

    def _matrix(self, value: Mapping[tuple[int, int], float]) -> tuple[np.ndarray, np.ndarray]:
        """LP values as ``X[p, j]`` and the bases' openings ``y[j]``."""
        x = np.zeros((self.n, len(self.bases)))
        for (p, b), v in value.items():
            j = self.column.get(b)
            if j is not None:
                x[p, j] = v
        return x, x[self.bases, np.arange(len(self.bases))]

    def _terms(self, inside: np.ndarray, boundary: np.ndarray, open_active: np.ndarray, active: np.ndarray
               ) -> tuple[tuple[int, int], ...]:
        """The cut's ``(p, b)`` keys: the chosen term for every base, active or not."""
        open_term = inside[self.bases].copy()
        open_term[active] |= open_active
        boundary_term = ~open_term & self.exists[boundary].any(axis=0)
        terms = [(int(b), int(b)) for b in self.bases[open_term]]
        members, cols = np.nonzero(boundary[:, None] & self.exists & boundary_term[None, :])
        terms += [(int(p), int(b)) for p, b in zip(members, self.bases[cols], strict=True)]
        return tuple(sorted(terms))

    def separate(self, value: Mapping[tuple[int, int], float], limit: int = 30) -> list[CapacityCut]:
        """Up to ``limit`` new cuts violated by ``value`` (``x`` values by ``(p, b)``), most violated first."""
        x, y = self._matrix(value)
        # only bases open in the LP add to a cut's left-hand side: x[p, b] <= x[b, b]
        active = np.flatnonzero(y > 1e-9)
        x, y, active_bases = x[:, active], y[active], self.bases[active]
        pop, upper, n = self.pop, self.upper, self.n
        found: dict[bytes, tuple[float, int, tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}
        # every practice seeds one set; the sets grow in lockstep, one practice a step
        inside = np.eye(n, dtype=bool)
        ring = self.adjacent.copy()
        outside = self.adjacent.sum(axis=1) * np.eye(n, dtype=int)  # members' neighbours outside U
        reach, size = x.copy(), pop.copy()
        growing = np.ones(n, dtype=bool)
        owner, cols = np.nonzero(x)  # x's nonzeros; ``gather`` sums them per practice
        vals = x[owner, cols]
        gather = csr_matrix((np.ones(owner.size), (owner, np.arange(owner.size))), shape=(n, owner.size))
        while growing.any():
            rows = np.flatnonzero(growing & ring.any(axis=1))
            if rows.size == 0:
                break
            # hub coverage each U would have with each candidate, less the hubs its patients need;
            # a candidate changes only the bases it is assigned to (the nonzeros of its row of x)
            r = reach[rows][:, cols]
            gain = np.minimum(y[cols][None, :], r + vals[None, :]) - np.minimum(y[cols][None, :], r)
            cover = np.minimum(y[None, :], reach[rows]).sum(axis=1)[:, None] + (gather @ gain.T).T
            score = np.where(ring[rows], cover - (size[rows, None] + pop[None, :]) / upper, np.inf)
            v = score.argmin(axis=1)
            near = self.adjacent[v]
            outside[rows] -= near & inside[rows]
            inside[rows, v] = True
            ring[rows, v] = False
            outside[rows, v] = (near & ~inside[rows]).sum(axis=1)
            ring[rows] |= near & ~inside[rows]
            reach[rows] += x[v]
            size[rows] += pop[v]
            growing[rows] = size[rows] <= MAX_HUBS_SPANNED * upper
            check = rows[(size[rows] > upper) & ((size[rows] / upper) % 1 <= ROUNDING_WINDOW)]
            if check.size == 0:
                continue
            need = np.ceil(size[check] / upper - 1e-9)
            boundary = outside[check] > 0
            through = boundary.astype(float) @ x
            open_term = inside[check][:, active_bases] | (y[None, :] < through - 1e-9)
            lhs = np.where(open_term, y[None, :], through).sum(axis=1)
            for i in np.flatnonzero(lhs < need - MIN_VIOLATION):
                key = inside[check[i]].tobytes() + open_term[i].tobytes()
                if key not in found:
                    found[key] = (float(need[i] - lhs[i]), int(need[i]),
                                  (inside[check[i]].copy(), boundary[i], open_term[i]))
        cuts: list[CapacityCut] = []
        for key in sorted(found, key=lambda k: (-found[k][0], k)):
            _, rhs, (inside, boundary, open_term) = found[key]
            terms = self._terms(inside, boundary, open_term, active)
            if terms not in self.seen:
                self.seen.add(terms)
                cuts.append((terms, rhs))
                if len(cuts) == limit:
                    break
        return cuts
