"""Connected pieces of a subgraph: the one graph search that contiguity checks share.

The rules (``pcn_planner.model.rules``), the feasibility checks and the solvers
all ask the same question of a set of practices: into how many connected
pieces does the practice graph cut it? This module answers it once, on
adjacency lists of integer positions, with no dependency on networkx so that
the solvers' inner loops can call it cheaply.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence


def connected_pieces(members: Iterable[int], adjacency: Sequence[Iterable[int]]) -> list[list[int]]:
    """The connected pieces of the subgraph induced by ``members``.

    Parameters
    ----------
    members
        Node positions (duplicates are ignored).
    adjacency
        ``adjacency[u]``: the neighbours of node ``u``.

    Returns
    -------
    list of list of int
        Each piece sorted; pieces ordered largest first, then by their
        smallest member, so the first piece is the "main" one.

    Examples
    --------
    >>> connected_pieces([0, 1, 3], [[1], [0, 2], [1, 3], [2]])
    [[0, 1], [3]]
    """
    inside = {int(m) for m in members}
    seen: set[int] = set()
    pieces: list[list[int]] = []
    for start in sorted(inside):
        if start in seen:
            continue
        piece, queue = [], deque([start])
        seen.add(start)
        while queue:  # each member enters the queue once
            u = queue.popleft()
            piece.append(u)
            for v in adjacency[u]:
                if v in inside and v not in seen:
                    seen.add(v)
                    queue.append(v)
        pieces.append(sorted(piece))
    return sorted(pieces, key=lambda p: (-len(p), p[0]))


def is_connected(members: Iterable[int], adjacency: Sequence[Iterable[int]]) -> bool:
    """True if ``members`` is non-empty and induces one connected piece."""
    return len(connected_pieces(members, adjacency)) == 1
