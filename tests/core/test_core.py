"""The bottom layer: connected pieces, JSON conversion and atomic files."""

from __future__ import annotations

import json
import math
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pcn_planner.core.files import atomic_write_text, staged_directory
from pcn_planner.core.jsonio import dump_json, to_jsonable
from pcn_planner.core.pieces import connected_pieces, is_connected


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 12).flatmap(lambda n: st.tuples(
    st.just(n), st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=3 * n),
    st.sets(st.integers(0, n - 1), min_size=1))))
def test_connected_pieces_agree_with_networkx(case) -> None:
    n, edges, members = case
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from((u, v) for u, v in edges if u != v)
    adjacency = [sorted(graph.neighbors(u)) for u in range(n)]
    pieces = connected_pieces(members, adjacency)
    expected = sorted((sorted(c) for c in nx.connected_components(graph.subgraph(members))),
                      key=lambda c: (-len(c), c[0]))
    assert pieces == expected
    assert sorted(p for piece in pieces for p in piece) == sorted(members)
    assert is_connected(members, adjacency) == nx.is_connected(graph.subgraph(members))


def test_json_is_plain_and_stable() -> None:
    data = {"b": np.float64(1.5), "a": [np.int64(2), float("nan"), math.inf], "c": (1, 2)}
    assert to_jsonable(data) == {"b": 1.5, "a": [2, None, None], "c": [1, 2]}
    text = dump_json(data)
    assert text.endswith("\n") and list(json.loads(text)) == ["a", "b", "c"]


def test_a_failed_stage_leaves_the_target_as_it_was(tmp_path: Path) -> None:
    target = tmp_path / "run"
    with staged_directory(target) as stage:
        atomic_write_text(stage / "a.txt", "first\n")
    assert (target / "a.txt").read_text() == "first\n"
    with pytest.raises(RuntimeError), staged_directory(target) as stage:
        atomic_write_text(stage / "a.txt", "second\n")
        raise RuntimeError("interrupted")
    assert (target / "a.txt").read_text() == "first\n"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".run.")]  # no stage left behind
