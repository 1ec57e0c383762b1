"""Rounded capacity cuts: enough hubs must reach every group of practices.

The LP relaxation of the compact model likes to open many bases part-way and
load each fractional hub to exactly the maximum list size, which mimics more,
smaller hubs than K. The cuts here forbid that, area by area.

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
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from scipy.sparse import csr_matrix

#: A cut: the ``(p, b)`` keys of the ``x`` variables summed on the left, and the right-hand side.
CapacityCut = tuple[tuple[tuple[int, int], ...], int]

#: A set is checked once its population is past a multiple of ``upper`` by at most this share of ``upper``
#: (further past, the rounding gains little and the set is better found smaller).
ROUNDING_WINDOW = 0.6
#: Sets grow to at most this many times ``upper`` patients.
MAX_HUBS_SPANNED = 4
#: Least violation worth a cut.
MIN_VIOLATION = 1e-3


class CapacitySeparator:
    """Finds rounded capacity cuts violated by an LP solution of the compact model.

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
        self.adj = [sorted(set(int(v) for v in nbrs)) for nbrs in adj]
        self.adjacent = np.zeros((n, n), dtype=bool)
        for u, nbrs in enumerate(self.adj):
            self.adjacent[u, nbrs] = True
        self.seen: set[tuple[tuple[int, int], ...]] = set()

    def _matrix(self, value: dict[tuple[int, int], float]) -> tuple[np.ndarray, np.ndarray]:
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
        terms += [(int(p), int(b)) for p, b in zip(members, self.bases[cols])]
        return tuple(sorted(terms))

    def separate(self, value: dict[tuple[int, int], float], limit: int = 30) -> list[CapacityCut]:
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
            _, need, (inside, boundary, open_term) = found[key]
            terms = self._terms(inside, boundary, open_term, active)
            if terms not in self.seen:
                self.seen.add(terms)
                cuts.append((terms, need))
                if len(cuts) == limit:
                    break
        return cuts
