"""The practice graph that hubs must be connected in.

- :func:`practice_graph` builds the networkx graph the solvers work on:
  practices are nodes; they are adjacent when their territories share a
  border (queen contiguity), when they share a site postcode, or, for a
  practice with no territory or an island, through a recorded nearest-site link.

Whether a hub *is* contiguous is a rule, judged on this graph plus any links
a problem adds: :class:`pcn_planner.model.rules.Contiguity`.

Territories themselves are in :mod:`pcn_planner.geography.territories`, hub
polygons in :mod:`pcn_planner.geography.shapes`. See ``docs/geography.md``.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely

from pcn_planner.core.errors import InputError
from pcn_planner.geography.territories import MIN_SHARE, TOLERANCE_M, _metric, _touching_pairs, site_xy, territories

__all__ = ["EDGE_KINDS", "ISLAND_POLICIES", "GeographyError", "practice_graph"]

log = logging.getLogger(__name__)

#: Edge kinds, strongest fact first. An edge's ``edge_kind`` is the first of
#: its ``kinds``.
EDGE_KINDS = ("border", "colocated", "nearest")

#: Island policies accepted by :func:`practice_graph`.
ISLAND_POLICIES = ("nearest", "raise")

#: Node attributes copied from ``atlas.practices``.
_NODE_COLUMNS = ("name", "postcode", "pcn_code", "sub_icb", "lad", "town")


class GeographyError(InputError):
    """The practice graph is not connected and the island policy is ``"raise"``.

    Attributes
    ----------
    islands
        One sorted list of practice codes per island (component other than the main one).
    """

    def __init__(self, message: str, islands: list[list[str]]) -> None:
        super().__init__(message)
        self.islands = islands


# ---------------------------------------------------------------------------
# The practice graph
# ---------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A node attribute as a plain Python value (None for missing)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def _postcode_key(value: Any) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    key = "".join(str(value).split()).upper()
    return key or None


class _Edges:
    """Edge facts keyed by sorted practice pair, so each pair keeps one edge."""

    def __init__(self) -> None:
        self.facts: dict[tuple[str, str], dict[str, Any]] = {}

    def add(self, u: str, v: str, kind: str, **attrs: Any) -> None:
        key = (u, v) if u < v else (v, u)
        data = self.facts.setdefault(key, {"kinds": ()})
        if kind not in data["kinds"]:
            data["kinds"] = tuple(k for k in EDGE_KINDS if k in (*data["kinds"], kind))
        data.update(attrs)


def practice_graph(
    atlas: Any,
    *,
    min_share: float = MIN_SHARE,
    island_policy: str = "nearest",
    colocated: bool = True,
    tolerance_m: float = TOLERANCE_M,
) -> nx.Graph:
    """The practice adjacency graph that hubs must be connected in.

    Nodes are all practices (inserted in sorted code order) with attributes
    ``population`` (list size), ``lat``, ``lon``, ``name``, ``postcode``,
    ``pcn_code``, ``sub_icb``, ``lad``, ``town`` and ``n_lsoas`` (territory size).

    Edges, one per pair, built in this order:

    1. ``border``: the practices' territories (see :func:`territories`)
       touch, queen style, within ``tolerance_m``. Attributes
       ``shared_length_m`` (total shared boundary; 0 for corner-only contact)
       and ``lsoa_pairs`` (touching LSOA pairs).
    2. ``colocated``: same site postcode (if ``colocated``).
    3. ``nearest`` (policy ``"nearest"`` only): a practice with no territory
       and no co-located partner that owns territory is linked to the nearest
       practice that owns territory; then every remaining component
       ("island") is linked to the growing main component by its shortest
       site-to-site link, the shortest island first. Attribute ``reason``.

    Every edge has ``kinds`` (all facts, strongest first, e.g.
    ``("border", "colocated")``), ``edge_kind`` (``kinds[0]``) and
    ``distance_km`` (site to site).

    ``G.graph["report"]`` records ``min_share``, ``tolerance_m``,
    ``island_policy``, ``owned_lsoas``, ``missing_residents`` (LSOAs with
    no resident count), ``territoryless`` (codes), ``territoryless_colocated``
    (tied in by a co-located partner with territory), ``territoryless_nearest``
    (linked by nearest site), ``islands`` (one dict per island joined:
    ``practices``, ``link``, ``distance_km``), ``edges_by_kind`` (by
    ``edge_kind``), ``border_and_colocated`` and ``border_edges_over_20km``.
    If any practice has no territory or any island was joined (policy
    ``"nearest"``), one INFO record on the ``pcn_planner.geography.graph``
    logger summarises the counts (a note, not a problem: the CLI shows it with
    ``-v``; ``G.graph["report"]`` has the details).

    Parameters
    ----------
    atlas
        An :class:`~pcn_planner.data.atlas.Atlas`.
    min_share
        Territory threshold, see :func:`territories`.
    island_policy
        ``"nearest"`` joins territory-less practices and islands by
        nearest-site links; ``"raise"`` adds no such links and raises
        :class:`GeographyError` listing the islands if the graph is not connected.
    colocated
        Add ``colocated`` edges between practices with the same postcode.
    tolerance_m
        Gap in metres still counted as touching (see :func:`lsoa_adjacency`).

    Returns
    -------
    networkx.Graph
        Connected (unless it has no nodes), deterministic: the same inputs
        give the same nodes, edges, attributes and insertion order.

    Raises
    ------
    InputError
        For an unknown ``island_policy`` or a bad ``min_share``.
    GeographyError
        With ``island_policy="raise"`` when the graph is not connected.
    """
    if island_policy not in ISLAND_POLICIES:
        raise InputError(f"island_policy must be one of {', '.join(ISLAND_POLICIES)}, not {island_policy!r}",
                         field="island_policy")
    if not (isinstance(tolerance_m, (int, float)) and math.isfinite(tolerance_m) and tolerance_m >= 0):
        raise InputError(f"tolerance_m must be a number of metres >= 0, not {tolerance_m!r}", field="tolerance_m")
    territory = territories(atlas, min_share=min_share)
    practices = atlas.practices.sort_index()
    codes = [str(c) for c in practices.index]
    position = {code: k for k, code in enumerate(codes)}
    xy = site_xy(practices)

    def km(u: str, v: str) -> float:
        a, b = xy[position[u]], xy[position[v]]
        return round(float(np.hypot(*(a - b))) / 1000.0, 3)

    owned = territory[territory["owned"]]
    n_lsoas = owned["practice_code"].value_counts()
    edges = _Edges()
    _add_border_edges(edges, atlas.lsoas.loc[owned.index], owned["practice_code"], float(tolerance_m))
    if colocated:
        _add_colocated_edges(edges, practices)

    graph: nx.Graph[str] = nx.Graph()
    for code in codes:
        row = practices.loc[code]
        graph.add_node(code, population=int(row["list_size"]), lat=float(row["lat"]), lon=float(row["lon"]),
                       **{c: _plain(row[c]) if c in practices.columns else None for c in _NODE_COLUMNS},
                       n_lsoas=int(n_lsoas.get(code, 0)))
    graph.add_edges_from(edges.facts)

    territoryless = [c for c in codes if graph.nodes[c]["n_lsoas"] == 0]
    # A co-located partner ties a practice into the map only if the partner
    # owns territory; two territory-less practices sharing a site each get a
    # nearest link, rather than one of them by code order through an island link.
    lonely = [c for c in territoryless if not any(graph.nodes[n]["n_lsoas"] > 0 for n in graph[c])]
    islands: list[dict[str, Any]] = []
    if island_policy == "nearest":
        _link_territoryless(edges, graph, lonely, xy, position)
        graph.add_edges_from(edges.facts)
        islands = _join_islands(edges, graph, xy, position)
    else:
        _raise_for_islands(graph, territoryless)

    # Rebuild with edges in sorted order so insertion order never depends on the steps above.
    final: nx.Graph[str] = nx.Graph()
    final.add_nodes_from(graph.nodes(data=True))
    for (u, v), data in sorted(edges.facts.items()):
        final.add_edge(u, v, edge_kind=data["kinds"][0], **data, distance_km=km(u, v))

    kinds = pd.Series([d["edge_kind"] for _, _, d in final.edges(data=True)], dtype=object)
    border_km = [d["distance_km"] for _, _, d in final.edges(data=True) if "border" in d["kinds"]]
    report = {
        "min_share": territory.attrs["min_share"],
        "tolerance_m": float(tolerance_m),
        "island_policy": island_policy,
        "owned_lsoas": len(owned),
        "missing_residents": territory.attrs["missing_residents"],
        "territoryless": territoryless,
        "territoryless_colocated": [c for c in territoryless if c not in lonely],
        "territoryless_nearest": lonely if island_policy == "nearest" else [],
        "islands": islands,
        "edges_by_kind": {k: int((kinds == k).sum()) for k in EDGE_KINDS},
        "border_and_colocated": sum(1 for *_, d in final.edges(data=True) if d["kinds"] == ("border", "colocated")),
        "border_edges_over_20km": sum(1 for d in border_km if d > 20.0),
    }
    final.graph["report"] = report
    if island_policy == "nearest" and (territoryless or islands):
        log.info("%d practices have no territory (%d joined by co-location, %d by nearest-site links); "
                 "%d islands joined by nearest-site links (min_share=%g)", len(territoryless),
                 len(report["territoryless_colocated"]), len(lonely), len(islands), report["min_share"])
    return final


def _add_border_edges(edges: _Edges, owned_lsoas: gpd.GeoDataFrame, owner: pd.Series, tolerance_m: float) -> None:
    """Border edges between owners of touching LSOAs, with their shared boundary length."""
    geometry = _metric(owned_lsoas)
    owners = owner.reindex(geometry.index).astype(str).to_numpy()
    left, right = _touching_pairs(geometry.values, tolerance_m)
    differ = owners[left] != owners[right]
    left, right = left[differ], right[differ]
    geoms = geometry.values
    # Shared boundary = intersection of the two outlines (a point or nothing for a corner or gap).
    lengths = shapely.length(shapely.intersection(shapely.boundary(geoms[left]), shapely.boundary(geoms[right])))
    totals: dict[tuple[str, str], list[float]] = {}
    for i, j, length in zip(left, right, lengths, strict=True):
        u, v = sorted((owners[i], owners[j]))
        entry = totals.setdefault((u, v), [0.0, 0])
        entry[0] += float(length)
        entry[1] += 1
    for (u, v), (length, pairs) in sorted(totals.items()):
        edges.add(u, v, "border", shared_length_m=round(length, 1), lsoa_pairs=int(pairs))


def _add_colocated_edges(edges: _Edges, practices: pd.DataFrame) -> None:
    """Edges between every two practices at the same site postcode."""
    if "postcode" not in practices.columns:
        return
    sites: dict[str, list[str]] = {}
    for code, postcode in zip(practices.index, practices["postcode"], strict=True):
        key = _postcode_key(postcode)
        if key is not None:
            sites.setdefault(key, []).append(str(code))
    for key in sorted(sites):
        members = sorted(sites[key])
        for a in range(len(members)):
            for b in range(a + 1, len(members)):
                edges.add(members[a], members[b], "colocated")


def _link_territoryless(edges: _Edges, graph: nx.Graph, lonely: list[str], xy: np.ndarray,
                        position: dict[str, int]) -> None:
    """Link each practice with no territory and no partner to the nearest practice with territory."""
    with_territory = [c for c in graph.nodes if graph.nodes[c]["n_lsoas"] > 0]
    for code in lonely:
        # Prefer a practice that owns territory: the patients of a practice
        # with none live in its neighbours' territory. Fall back to any other.
        candidates = with_territory or [c for c in graph.nodes if c != code]
        if not candidates:
            continue
        best = min(candidates, key=lambda c: (_distance(xy, position, code, c), c))
        edges.add(code, best, "nearest", reason="no territory: nearest practice with territory"
                  if with_territory else "no territory: nearest practice")


def _distance(xy: np.ndarray, position: dict[str, int], u: str, v: str) -> float:
    return float(np.hypot(*(xy[position[u]] - xy[position[v]])))


def _components(graph: nx.Graph) -> list[list[str]]:
    """Components, main first: most practices, then most patients, then smallest code."""
    comps = [sorted(c) for c in nx.connected_components(graph)]
    population = nx.get_node_attributes(graph, "population")
    return sorted(comps, key=lambda c: (-len(c), -sum(population.get(n, 0) for n in c), c[0]))


def _join_islands(edges: _Edges, graph: nx.Graph, xy: np.ndarray, position: dict[str, int]) -> list[dict[str, Any]]:
    """Join every island to the growing main component by its shortest site-to-site link.

    Prim-style: the island closest to the main component joins first and
    then counts as main, so two neighbouring islands far from the rest link
    to each other rather than both making a long link.
    """
    comps = _components(graph)
    if len(comps) <= 1:
        return []
    main = list(comps[0])
    rest = comps[1:]
    joined = []
    # Bounded: each pass joins one island.
    for _ in range(len(rest)):
        main_xy = xy[[position[c] for c in main]]
        best: tuple[float, str, str, int] | None = None
        for k, island in enumerate(rest):
            for code in island:
                d = np.hypot(*(main_xy - xy[position[code]]).T)
                j = int(np.argmin(d))  # main is sorted, so ties go to the smallest code
                candidate = (float(d[j]), code, main[j], k)
                if best is None or candidate[:3] < best[:3]:
                    best = candidate
        assert best is not None  # rest and every island are non-empty
        distance, code, target, k = best
        island = rest.pop(k)
        reason = f"island of {len(island)} practice(s) joined by the shortest site-to-site link"
        edges.add(code, target, "nearest", reason=reason)
        joined.append({"practices": island, "link": tuple(sorted((code, target))),
                       "distance_km": round(distance / 1000.0, 3)})
        main = sorted(main + island)
    return joined


def _raise_for_islands(graph: nx.Graph, territoryless: list[str]) -> None:
    comps = _components(graph)
    if len(comps) <= 1:
        return
    islands = comps[1:]
    no_land = set(territoryless)
    listed = "; ".join(
        ", ".join(f"{c} (no territory)" if c in no_land else c for c in island) for island in islands
    )
    raise GeographyError(
        f"the practice graph has {len(islands)} island(s) cut off from the main component of "
        f"{len(comps[0])} practices: {listed}. Use island_policy='nearest' to join them by "
        f"nearest-site links, or lower min_share.",
        islands,
    )
