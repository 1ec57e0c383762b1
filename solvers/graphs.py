"""Graph helpers of the solvers: connected pieces in scan order, and a union-find.

The graph search itself is :func:`pcn_planner.core.pieces.connected_pieces`,
shared with the rules and the scorecard. Graphs are adjacency lists indexed
by vertex (practices or units).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pcn_planner.core.pieces import connected_pieces

__all__ = ["UnionFind", "pieces"]


def pieces(members: Iterable[int], adj: Sequence[Iterable[int]]) -> list[list[int]]:
    """Connected pieces of the subgraph induced by ``members``, each sorted, in order of their smallest vertex.

    The solvers scan pieces in vertex order rather than largest first, so the
    columns, cuts and moves built from them come out in the same order
    whatever the pieces' sizes.
    """
    return sorted(connected_pieces(members, adj), key=lambda piece: piece[0])


class UnionFind:
    """Disjoint sets of integers, with path halving.

    A set's root is its smallest member, so :meth:`groups` comes out in the
    same order whatever order the unions came in.

    Parameters
    ----------
    items
        The elements, each starting in a set of its own.
    """

    def __init__(self, items: Iterable[int]) -> None:
        self.parent = {int(x): int(x) for x in items}

    def find(self, x: int) -> int:
        """Root of the set holding ``x``."""
        parent = self.parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(self, a: int, b: int) -> bool:
        """Merge the sets of ``a`` and ``b``; ``False`` if they were one set already."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        self.parent[max(ra, rb)] = min(ra, rb)
        return True

    def groups(self) -> list[list[int]]:
        """Every set, sorted, ordered by smallest member."""
        out: dict[int, list[int]] = {}
        for x in sorted(self.parent):
            out.setdefault(self.find(x), []).append(x)
        return [out[root] for root in sorted(out)]
