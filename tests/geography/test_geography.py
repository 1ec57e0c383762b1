"""Territories, the practice graph and contiguity, on hand-made grids and the real atlas."""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import networkx as nx
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pcn_planner as pp
from pcn_planner.data.atlas import Atlas
from pcn_planner.core.errors import InputError
from pcn_planner.core.pieces import is_connected
from pcn_planner.geography.graph import GeographyError, practice_graph
from pcn_planner.geography.shapes import hub_geometry
from pcn_planner.geography.territories import lsoa_adjacency, territories

#: South-west corner of the test grids, EPSG:27700 metres (central Staffordshire).
X0, Y0 = 390_000.0, 310_000.0
CELL = 1_000.0


# ---------------------------------------------------------------------------
# A tiny fake atlas: a grid of square LSOAs "Lrc" (row r from the south, column c)
# ---------------------------------------------------------------------------


def cell(r: int, c: int) -> str:
    return f"L{r}{c}"


def square(r: int, c: int, gap: float = 0.0) -> shapely.Polygon:
    x, y = X0 + c * CELL + c * gap, Y0 + r * CELL
    return shapely.box(x, y, x + CELL, y + CELL)


def grid_lsoas(rows: int, cols: int, residents: dict[str, int | None] | None = None) -> gpd.GeoDataFrame:
    codes = [cell(r, c) for r in range(rows) for c in range(cols)]
    shapes = [square(r, c) for r in range(rows) for c in range(cols)]
    pops = [(residents or {}).get(code, 100) for code in codes]
    frame = gpd.GeoDataFrame(
        {"lsoa11cd": codes, "residents_2021": pd.array(pops, dtype="Int64")}, geometry=shapes, crs="EPSG:27700"
    ).to_crs("EPSG:4326")
    return frame.set_index("lsoa11cd", drop=False)


def practices_frame(sites: dict[str, tuple[float, float]], postcodes: dict[str, str] | None = None,
                    sizes: dict[str, int] | None = None, pcns: dict[str, str] | None = None) -> gpd.GeoDataFrame:
    """Practices at (row, col) positions in cell units (0.5, 0.5 is the centre of L00)."""
    codes = sorted(sites)
    pts = gpd.GeoSeries([shapely.Point(X0 + sites[c][1] * CELL, Y0 + sites[c][0] * CELL) for c in codes],
                        crs="EPSG:27700").to_crs("EPSG:4326")
    frame = gpd.GeoDataFrame({
        "practice_code": codes,
        "name": [f"Practice {c}" for c in codes],
        "postcode": [(postcodes or {}).get(c, f"ZZ{k} 0ZZ") for k, c in enumerate(codes)],
        "lat": pts.y.to_numpy(), "lon": pts.x.to_numpy(),
        "list_size": [(sizes or {}).get(c, 10_000) for c in codes],
        "pcn_code": [(pcns or {}).get(c, "P1") for c in codes],
        "sub_icb": "Test", "lad": "Test", "town": "Test",
    }, geometry=pts.to_numpy(), crs="EPSG:4326")
    return frame.set_index("practice_code", drop=False)


def fake_atlas(lsoas: gpd.GeoDataFrame, practices: gpd.GeoDataFrame,
               patients: list[tuple[str, str, int]]) -> Atlas:
    matrix = pd.DataFrame(patients, columns=["practice_code", "lsoa11cd", "patients"])
    return Atlas(practices=practices, lsoas=lsoas, patients=matrix,
                 hospitals=gpd.GeoDataFrame(geometry=[], crs="EPSG:4326"),
                 hospital_travel=pd.DataFrame(), path=Path("."), manifest={})


def owned_by(owners: dict[str, str], n: int = 90) -> list[tuple[str, str, int]]:
    """Patient rows giving each listed LSOA a clear owner (90 of 100 residents)."""
    return [(practice, lsoa, n) for lsoa, practice in sorted(owners.items())]


@contextmanager
def graph_notes() -> Iterator[list[str]]:
    """The messages the practice graph logs while the block runs (its logger set to INFO meanwhile).

    The handler sits on the graph's own logger, so the records are caught whatever the
    ``pcn_planner`` logger's propagation; and no warning may be raised meanwhile.
    """
    logger = logging.getLogger("pcn_planner.geography.graph")
    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            assert record.levelno == logging.INFO, "a geography note is INFO, not a problem"
            messages.append(record.getMessage())

    handler, level = Collect(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            yield messages
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def edges_with_data(graph: nx.Graph) -> list:
    return [(u, v, dict(d)) for u, v, d in graph.edges(data=True)]


# ---------------------------------------------------------------------------
# Territories
# ---------------------------------------------------------------------------


def test_owner_is_the_practice_with_most_patients_above_the_threshold() -> None:
    lsoas = grid_lsoas(1, 5, residents={"L04": None})
    practices = practices_frame({"A": (0.5, 0.5), "B": (0.5, 1.5)})
    atlas = fake_atlas(lsoas, practices, [
        ("A", "L00", 60), ("B", "L00", 30),   # A clearly
        ("A", "L01", 10), ("B", "L01", 5),    # 15% of residents: below 20%
        ("A", "L02", 20), ("B", "L02", 20),   # tie: smaller code wins
        ("A", "L03", 20), ("B", "L03", 21),   # B by one patient
        ("A", "L04", 50),                     # no resident count: not owned
    ])
    t = territories(atlas)
    assert list(t.index) == ["L00", "L01", "L02", "L03", "L04"]
    assert t.loc["L00", "practice_code"] == "A" and t.loc["L00", "owner_patients"] == 60
    assert t.loc["L00", "area_patients"] == 90 and t.loc["L00", "share"] == pytest.approx(0.9)
    assert not t.loc["L01", "owned"] and pd.isna(t.loc["L01", "practice_code"])
    assert t.loc["L01", "leader"] == "A" and t.loc["L01", "share"] == pytest.approx(0.15)
    assert t.loc["L02", "practice_code"] == "A"
    assert t.loc["L03", "practice_code"] == "B"
    assert not t.loc["L04", "owned"] and pd.isna(t.loc["L04", "share"])
    assert t.attrs["missing_residents"] == 1
    # Lowering the threshold hands L01 to its leader.
    assert territories(atlas, min_share=0.1).loc["L01", "practice_code"] == "A"
    assert territories(atlas, min_share=0.0)["owned"].sum() == 4


def test_lsoa_with_no_patients_is_not_owned_and_min_share_is_checked() -> None:
    atlas = fake_atlas(grid_lsoas(1, 2), practices_frame({"A": (0.5, 0.5)}), [("A", "L00", 50)])
    t = territories(atlas, min_share=0)
    assert t["owned"].tolist() == [True, False]
    assert t.loc["L01", "area_patients"] == 0
    for bad in (-0.1, float("nan"), "lots"):
        with pytest.raises(InputError, match="min_share"):
            territories(atlas, min_share=bad)


# ---------------------------------------------------------------------------
# Queen adjacency
# ---------------------------------------------------------------------------


def test_queen_adjacency_counts_corner_contact() -> None:
    pairs = lsoa_adjacency(grid_lsoas(3, 3))
    assert len(pairs) == 12 + 8  # 12 shared edges, 8 corner-only contacts
    assert ("L00", "L11") in pairs and ("L02", "L11") in pairs  # corners
    assert ("L00", "L02") not in pairs
    assert pairs == sorted(pairs) and all(a < b for a, b in pairs)


def test_adjacency_tolerance_bridges_slivers_but_not_gaps() -> None:
    def two(gap: float) -> gpd.GeoDataFrame:
        return gpd.GeoDataFrame({"lsoa11cd": ["A", "B"]}, geometry=[square(0, 0), square(0, 1, gap)],
                                crs="EPSG:27700").to_crs("EPSG:4326").set_index("lsoa11cd")

    assert lsoa_adjacency(two(2.0)) == [("A", "B")]                # a 2 m sliver: still neighbours
    assert lsoa_adjacency(two(2.0), tolerance_m=0) == []           # exact touching only
    assert lsoa_adjacency(two(50.0)) == []                         # a real gap


# ---------------------------------------------------------------------------
# The practice graph
# ---------------------------------------------------------------------------


def column_atlas() -> Atlas:
    """A, B, C own the three columns of a 3x3 grid; D shares A's site; E owns nothing, near C."""
    owners = {cell(r, c): "ABC"[c] for r in range(3) for c in range(3)}
    practices = practices_frame(
        {"A": (1.5, 0.5), "B": (1.5, 1.5), "C": (1.5, 2.5), "D": (1.5, 0.5), "E": (0.5, 2.6)},
        postcodes={"A": "ST1 1AA", "D": "st11aa"},  # same postcode, written differently
        sizes={"A": 20_000, "B": 15_000, "C": 12_000, "D": 3_000, "E": 2_000},
    )
    return fake_atlas(grid_lsoas(3, 3), practices, owned_by(owners))


def test_border_colocated_and_nearest_edges() -> None:
    atlas = column_atlas()
    with graph_notes() as notes:
        graph = practice_graph(atlas)
    assert len(notes) == 1 and notes[0].startswith("2 practices have no territory (1 joined by co-location, 1 by")
    assert list(graph.nodes) == ["A", "B", "C", "D", "E"]
    assert graph.nodes["A"]["n_lsoas"] == 3 and graph.nodes["D"]["n_lsoas"] == 0
    assert graph.nodes["A"]["population"] == 20_000 and graph.nodes["A"]["pcn_code"] == "P1"
    kinds = {(u, v): d["edge_kind"] for u, v, d in graph.edges(data=True)}
    assert kinds == {("A", "B"): "border", ("B", "C"): "border", ("A", "D"): "colocated", ("C", "E"): "nearest"}
    ab = graph.edges["A", "B"]
    assert ab["shared_length_m"] == pytest.approx(3_000, rel=1e-3)  # three cell edges
    assert ab["lsoa_pairs"] == 3 + 4  # 3 shared edges, 4 corner contacts
    assert graph.edges["A", "D"]["distance_km"] == 0
    ce = graph.edges["C", "E"]
    assert ce["distance_km"] == pytest.approx(math.hypot(1.0, 0.1), abs=1e-3)
    assert "no territory" in ce["reason"]
    report = graph.graph["report"]
    assert report["territoryless"] == ["D", "E"]
    assert report["territoryless_colocated"] == ["D"] and report["territoryless_nearest"] == ["E"]
    assert report["edges_by_kind"] == {"border": 2, "colocated": 1, "nearest": 1}
    assert report["islands"] == [] and report["min_share"] == 0.2


def test_without_colocation_a_site_partner_is_joined_as_nearest() -> None:
    graph = practice_graph(column_atlas(), colocated=False)
    assert graph.edges["A", "D"]["edge_kind"] == "nearest"
    assert graph.edges["A", "D"]["distance_km"] == 0


def test_border_and_colocated_pair_keeps_both_facts() -> None:
    owners = {"L00": "A", "L01": "B"}
    practices = practices_frame({"A": (0.5, 0.5), "B": (0.5, 1.5)}, postcodes={"A": "ST1 1AA", "B": "ST1 1AA"})
    graph = practice_graph(fake_atlas(grid_lsoas(1, 2), practices, owned_by(owners)))
    assert graph.number_of_edges() == 1
    data = graph.edges["A", "B"]
    assert data["edge_kind"] == "border" and data["kinds"] == ("border", "colocated")
    assert graph.graph["report"]["border_and_colocated"] == 1


def island_atlas() -> Atlas:
    """A and B touch in the bottom row; C owns the far corner, an island."""
    practices = practices_frame({"A": (0.5, 0.5), "B": (0.5, 1.5), "C": (2.5, 2.5)})
    return fake_atlas(grid_lsoas(3, 3), practices, owned_by({"L00": "A", "L01": "B", "L22": "C"}))


def test_islands_are_joined_by_the_shortest_site_link() -> None:
    with graph_notes() as notes:
        graph = practice_graph(island_atlas())
    assert len(notes) == 1 and "0 practices have no territory" in notes[0] and "1 islands joined" in notes[0]
    assert nx.is_connected(graph)
    link = graph.edges["B", "C"]  # B (1.5 km east) is nearer to C than A
    assert link["edge_kind"] == "nearest" and "island" in link["reason"]
    assert link["distance_km"] == pytest.approx(math.hypot(1, 2), abs=1e-3)
    assert graph.graph["report"]["islands"] == [
        {"practices": ["C"], "link": ("B", "C"), "distance_km": pytest.approx(math.hypot(1, 2), abs=1e-3)}
    ]


def test_raise_policy_lists_the_islands() -> None:
    with pytest.raises(GeographyError, match="1 island.*C") as info:
        practice_graph(island_atlas(), island_policy="raise")
    assert info.value.islands == [["C"]]
    with pytest.raises(InputError, match="island_policy"):
        practice_graph(island_atlas(), island_policy="ignore")


def test_raise_policy_passes_a_connected_graph_without_warning() -> None:
    owners = {cell(r, c): "ABC"[c] for r in range(3) for c in range(3)}
    atlas = fake_atlas(grid_lsoas(3, 3), practices_frame({p: (1.5, k + 0.5) for k, p in enumerate("ABC")}),
                       owned_by(owners))
    with graph_notes() as notes:
        graph = practice_graph(atlas, island_policy="raise")
    assert sorted(graph.edges) == [("A", "B"), ("B", "C")]
    assert notes == []


def test_territoryless_practices_sharing_a_site_each_get_a_nearest_link() -> None:
    practices = practices_frame({"A": (0.5, 0.5), "B": (0.5, 1.5), "X": (0.5, 2.5), "Y": (0.5, 2.5)},
                                postcodes={"X": "ST9 9ZZ", "Y": "ST9 9ZZ"})
    graph = practice_graph(fake_atlas(grid_lsoas(1, 3), practices, owned_by({"L00": "A", "L01": "B"})))
    assert graph.edges["X", "Y"]["edge_kind"] == "colocated"
    assert graph.edges["B", "X"]["edge_kind"] == graph.edges["B", "Y"]["edge_kind"] == "nearest"
    assert graph.graph["report"]["islands"] == []


def test_graph_is_deterministic_whatever_the_row_order() -> None:
    atlas = column_atlas()
    first, second = practice_graph(atlas), practice_graph(atlas)
    shuffled = Atlas(practices=atlas.practices.iloc[::-1], lsoas=atlas.lsoas.iloc[::-1],
                     patients=atlas.patients.iloc[::-1], hospitals=atlas.hospitals,
                     hospital_travel=atlas.hospital_travel, path=atlas.path)
    third = practice_graph(shuffled)
    assert edges_with_data(first) == edges_with_data(second) == edges_with_data(third)
    assert list(first.nodes(data=True)) == list(second.nodes(data=True)) == list(third.nodes(data=True))
    assert first.graph == second.graph == third.graph


# ---------------------------------------------------------------------------
# Contiguity and hub geometry
# ---------------------------------------------------------------------------


def test_hub_geometry_dissolves_territories_and_falls_back_to_sites() -> None:
    atlas = column_atlas()
    territory = territories(atlas)
    hubs = hub_geometry(atlas, territory, {"A": "west", "D": "west", "B": "east", "C": "east", "E": "site"})
    assert list(hubs.index) == ["east", "site", "west"] and hubs.crs == "EPSG:4326"
    metric = hubs.to_crs("EPSG:27700")
    lsoa_area = atlas.lsoas.to_crs("EPSG:27700").area
    for hub, lsoas in (("west", ["L00", "L10", "L20"]), ("east", [cell(r, c) for r in range(3) for c in (1, 2)])):
        assert metric.area[hub] == pytest.approx(lsoa_area[lsoas].sum(), rel=1e-6)
        assert hubs.loc[hub, "n_lsoas"] == len(lsoas) and hubs.loc[hub, "has_territory"]
    assert metric.geometry["east"].geom_type == "Polygon"  # dissolved, not six squares
    assert not hubs.loc["site", "has_territory"]
    assert hubs.loc["site", "area_km2"] == pytest.approx(math.pi * 0.25, rel=0.01)  # a 500 m disc
    assert hubs.loc["west", "practice_codes"] == "A D"


# ---------------------------------------------------------------------------
# Property: random grids
# ---------------------------------------------------------------------------


@st.composite
def random_grid(draw: st.DrawFn) -> tuple[Atlas, dict[str, int]]:
    rows, cols = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    n = draw(st.integers(1, 6))
    codes = [f"P{k}" for k in range(n)]
    owners = {}
    for r in range(rows):
        for c in range(cols):
            owner = draw(st.sampled_from([None, *codes]))
            if owner is not None:
                owners[cell(r, c)] = owner
    coord = st.floats(0, 4, allow_nan=False)
    sites = {code: (draw(coord), draw(coord)) for code in codes}
    postcodes = {code: draw(st.sampled_from(["ST1 1AA", "ST2 2BB", f"WS{k} 9ZZ"])) for k, code in enumerate(codes)}
    atlas = fake_atlas(grid_lsoas(rows, cols), practices_frame(sites, postcodes), owned_by(owners))
    hubs = {code: draw(st.integers(0, 2)) for code in codes}
    return atlas, hubs


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_grid())
def test_random_grids_give_a_connected_graph_and_consistent_contiguity(case: tuple[Atlas, dict[str, int]]) -> None:
    atlas, hubs = case
    graph = practice_graph(atlas)
    assert sorted(graph.nodes) == sorted(atlas.practices.index)
    assert nx.is_connected(graph)
    assert {d["edge_kind"] for *_, d in graph.edges(data=True)} <= {"border", "colocated", "nearest"}
    # the rules' one search (core.pieces) agrees with networkx on every random hub
    codes = sorted(graph.nodes)
    index = {c: i for i, c in enumerate(codes)}
    adjacency = [[index[v] for v in graph.neighbors(c)] for c in codes]
    for _hub, frame in pd.Series(hubs).groupby(pd.Series(hubs)):
        members = [index[c] for c in frame.index]
        assert is_connected(members, adjacency) == nx.is_connected(graph.subgraph(frame.index))
    assert edges_with_data(graph) == edges_with_data(practice_graph(atlas))


# ---------------------------------------------------------------------------
# The real atlas
# ---------------------------------------------------------------------------


def test_real_practice_graph(atlas: pp.Atlas) -> None:
    with graph_notes() as notes:
        graph = practice_graph(atlas)
    assert len(notes) == 1 and "practices have no territory" in notes[0]
    assert graph.number_of_nodes() == 141 and nx.is_connected(graph)
    assert {d["edge_kind"] for *_, d in graph.edges(data=True)} <= {"border", "colocated", "nearest"}
    report = graph.graph["report"]
    territoryless = [c for c in graph.nodes if graph.nodes[c]["n_lsoas"] == 0]
    assert report["territoryless"] == territoryless and len(territoryless) > 0
    assert report["border_edges_over_20km"] == 0  # the threshold removes the long chains
    colocated = sum("colocated" in d["kinds"] for *_, d in graph.edges(data=True))
    assert colocated >= 8  # 18 practices at 8 postcodes: at least one pair per postcode
    pcns = atlas.practices.groupby("pcn_code").groups
    contiguous = sum(nx.is_connected(graph.subgraph(list(m))) for m in pcns.values())
    print(f"\ncurrent PCNs contiguous: {contiguous} of {len(pcns)}; "
          f"edges by kind {report['edges_by_kind']}; no territory {len(territoryless)}")
    assert 1 <= contiguous <= 25 and len(pcns) == 25
