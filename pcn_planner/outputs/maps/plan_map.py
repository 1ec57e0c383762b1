"""The map of one scored plan: hubs, practices, hospitals, deprivation and travel.

:func:`plan_map` draws a :class:`~pcn_planner.scoring.scorecard.Scorecard` as a folium map
that works offline once saved with :func:`pcn_planner.outputs.maps.offline.save_offline`:

* **Hubs** - each hub's territory, filled from a colour-blind-safe palette so
  that neighbouring hubs never share (or nearly share) a colour, labelled with
  its short name and patients, with a popup of its scorecard in plain English.
  A hub out of the population band or not contiguous has a thick red dashed
  outline and a ⚠ in its label, and is listed in the title block.
* **Practices** - a circle per practice, area proportional to list size;
  anchor (resilient) practices are filled black, high-risk ones vermillion.
* **Hospitals** - acute hospital sites within about 15 km of the hubs.
* **Deprivation (IMD decile)** and **Travel time to hub base** - choropleths of
  the LSOAs the plan's practices own (off when the page opens).

The page opens with no web tiles (so it needs no network); an OpenStreetMap
background can be switched on in the layer control when online.

Stable hooks for tests and styling: hub polygons carry the CSS class
:data:`HUB_CLASS` (``pcn-hub``), the legend is ``#pcn-legend`` and the title
block ``#pcn-title``.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Hashable, Iterable, Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, cast

import folium
import networkx as nx
import numpy as np
import pandas as pd
import shapely
import shapely.geometry
import shapely.ops
from branca.element import Figure, MacroElement, Template

from pcn_planner.geography.territories import METRIC_CRS  # British National Grid: areas, buffers, labels
from pcn_planner.model.problem import Bounds
from pcn_planner.outputs.maps.links import add_link_layer
from pcn_planner.outputs.maps.offline import OfflineMap
from pcn_planner.scoring.metrics import HUB, PLAN, format_value, gap_text

if TYPE_CHECKING:
    import geopandas as gpd

    from pcn_planner.scoring.scorecard import Scorecard

__all__ = [
    "DECLUTTER_JS",
    "FLAG_COLOUR",
    "FONT",
    "HOSPITAL_COLOUR",
    "HUB_CLASS",
    "IMD_COLOURS",
    "METRIC_CRS",
    "PALETTE",
    "PRACTICE_COLOURS",
    "TRAVEL_BANDS",
    "TRAVEL_COLOURS",
    "PageElement",
    "add_hub_outline_and_label",
    "add_practice_layer",
    "circle_svg",
    "feature_collection",
    "format_metric",
    "hub_adjacency",
    "hub_colours",
    "hub_popup_html",
    "hub_shapes",
    "hub_tooltip_html",
    "label_points",
    "label_ranks",
    "member_rows",
    "page_css",
    "plan_map",
    "practice_kind",
    "practice_radius",
    "short_name",
    "simplify_shapes",
    "swatch_html",
]

#: CSS class on every hub polygon (``path.pcn-hub``): one path per hub.
HUB_CLASS = "pcn-hub"

#: Hub fills: Okabe-Ito (without black, and without vermillion, which marks
#: high-risk practices) then Paul Tol's "muted" scheme. Colours too alike to
#: tell apart side by side are never given to neighbours (see hub_colours).
PALETTE: tuple[str, ...] = (
    "#56B4E9",  # Okabe-Ito sky blue
    "#E69F00",  # Okabe-Ito orange
    "#009E73",  # Okabe-Ito bluish green
    "#F0E442",  # Okabe-Ito yellow
    "#0072B2",  # Okabe-Ito blue
    "#CC79A7",  # Okabe-Ito reddish purple
    "#332288",  # Tol muted indigo
    "#DDCC77",  # Tol muted sand
    "#117733",  # Tol muted green
    "#88CCEE",  # Tol muted cyan
    "#882255",  # Tol muted wine
    "#44AA99",  # Tol muted teal
    "#999933",  # Tol muted olive
    "#AA4499",  # Tol muted purple
    "#CC6677",  # Tol muted rose
)
#: Colours closer than this (CIE76 delta E) count as "the same" for neighbours.
MIN_DELTA_E = 20.0

#: Outline of flagged hubs (out of band or not contiguous).
FLAG_COLOUR = "#C00000"
#: Fill of a practice circle by kind: ``practice``, ``anchor`` (resilient) or ``high risk``.
PRACTICE_COLOURS: dict[str, str] = {"practice": "#FFFFFF", "anchor": "#1A1A1A", "high risk": "#D55E00"}
#: Hospital marker colour (NHS blue).
HOSPITAL_COLOUR = "#005EB8"

#: IMD 2019 decile 1 (most deprived) .. 10 (least): viridis, dark = deprived.
IMD_COLOURS: tuple[str, ...] = (
    "#440154", "#482878", "#3E4A89", "#31688E", "#26828E",
    "#1F9E89", "#35B779", "#6DCD59", "#B4DE2C", "#FDE725",
)
#: Travel-time bands (minutes, lower inclusive) and their colours (ColorBrewer YlGnBu).
TRAVEL_BANDS: tuple[tuple[float, float], ...] = ((0, 5), (5, 10), (10, 15), (15, 20), (20, math.inf))
TRAVEL_COLOURS: tuple[str, ...] = ("#FFFFCC", "#A1DAB4", "#41B6C4", "#2C7FB8", "#253494")
_NO_DATA = "#BDBDBD"

#: Hospitals this far (km) outside the hubs' bounding box are left off.
HOSPITAL_MARGIN_KM = 15.0
#: Simplification (degrees, about 35-55 m) and coordinate rounding (5 dp, about 1 m).
SIMPLIFY_DEG = 0.0005
COORD_DECIMALS = 5

#: Font stack of every map page.
FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'

LAYER_HUBS = "Hubs"
LAYER_PRACTICES = "Practices"
LAYER_HOSPITALS = "Hospitals"
LAYER_IMD = "Deprivation (IMD decile)"
LAYER_TRAVEL = "Travel time to hub base"
LAYER_OSM = "OpenStreetMap (online only)"


# ---------------------------------------------------------------------------
# Colouring
# ---------------------------------------------------------------------------


def _lab(hex_colour: str) -> np.ndarray:
    """CIE L*a*b* (D65) of an sRGB hex colour."""
    rgb = np.array([int(hex_colour.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4)])
    rgb = np.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ rgb
    xyz /= np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 216 / 24389, np.cbrt(xyz), (24389 / 27 * xyz + 16) / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def hub_colours(
    adjacency: nx.Graph | Iterable[tuple[Hashable, Hashable]],
    nodes: Iterable[Hashable] = (),
    palette: Sequence[str] = PALETTE,
    *,
    min_delta_e: float = MIN_DELTA_E,
) -> dict[Hashable, str]:
    """Give each hub a fill colour that no neighbouring hub has.

    Greedy graph colouring in networkx's ``largest_first`` order (most
    neighbours first). Each hub takes, of the palette colours that are
    neither used by a neighbour nor within ``min_delta_e`` (CIE76) of a
    neighbour's colour, the one used least so far (ties: palette order), so
    the whole palette is spread over the map. If the palette runs out of
    clearly different colours, any colour no neighbour has exactly is taken.

    Parameters
    ----------
    adjacency
        A graph of hubs, or pairs of neighbouring hubs.
    nodes
        Hubs with no neighbours to colour as well.
    palette
        Hex colours.
    min_delta_e
        Colours closer than this are treated as the same for neighbours.

    Returns
    -------
    dict
        hub -> hex colour; neighbours always differ.

    Raises
    ------
    ValueError
        If a hub has at least as many neighbours as the palette has colours
        and they use them all, or the palette is empty.
    """
    if not palette:
        raise ValueError("palette is empty")
    graph = adjacency.copy() if isinstance(adjacency, nx.Graph) else nx.Graph(list(adjacency))
    graph.add_nodes_from(nodes)
    graph.remove_edges_from(nx.selfloop_edges(graph))
    # Stable order whatever the input order: sort nodes, then largest degree first.
    ordered: nx.Graph[Hashable] = nx.Graph()
    ordered.add_nodes_from(sorted(graph.nodes, key=str))
    ordered.add_edges_from(graph.edges)
    labs = [_lab(c) for c in palette]
    close = [[float(np.linalg.norm(a - b)) < min_delta_e for b in labs] for a in labs]
    used = [0] * len(palette)
    colour: dict[Hashable, int] = {}
    for node in nx.algorithms.coloring.strategy_largest_first(ordered, colour):
        taken = {colour[n] for n in ordered[node] if n in colour}
        clear = [i for i in range(len(palette)) if not any(close[i][t] for t in taken)]
        free = clear or [i for i in range(len(palette)) if i not in taken]
        if not free:
            raise ValueError(f"hub {node!r} has neighbours in all {len(palette)} palette colours")
        best = min(free, key=lambda i: (used[i], i))
        colour[node] = best
        used[best] += 1
    return {n: palette[i] for n, i in colour.items()}


def hub_adjacency(scorecard: Scorecard, *, tolerance_m: float = 50.0) -> nx.Graph:
    """Hubs that touch on the map (within ``tolerance_m``) or share a practice-graph edge."""
    geometry = scorecard.geometry
    graph: nx.Graph[Hashable] = nx.Graph()
    graph.add_nodes_from(geometry.index)
    metric = geometry.geometry.to_crs(METRIC_CRS).buffer(tolerance_m / 2).to_numpy()
    tree = shapely.STRtree(metric)
    left, right = tree.query(metric, predicate="intersects")
    ids = geometry.index.to_numpy()
    graph.add_edges_from((ids[i], ids[j]) for i, j in zip(left, right, strict=True) if i < j)
    assignment = scorecard.plan.assignment
    for u, v in scorecard.region.graph.edges:
        if u in assignment.index and v in assignment.index and assignment[u] != assignment[v]:
            graph.add_edge(assignment[u], assignment[v])
    return graph


# ---------------------------------------------------------------------------
# Words and numbers
# ---------------------------------------------------------------------------


def short_name(name: str) -> str:
    """A label-sized hub name: "STONE & ECCLESHALL PCN" -> "Stone & Eccleshall".

    Drops a trailing "PCN" (and "LIMITED"/"LTD"/"CIC"), drops a bracketed long
    form after an acronym ("HIPC (HOLISTIC ...)" -> "HIPC") or a bracketed
    acronym after a long form, and title-cases names written in capitals,
    keeping the acronym. Short ids such as "H07" are returned as they are.
    """
    text = re.sub(r"\s+PCN(\s+(LIMITED|LTD|CIC))?\.?\s*$", "", name.strip(), flags=re.IGNORECASE)
    acronym = None
    bracket = re.search(r"\(([^)]*)\)", text)
    if bracket:
        before = text[:bracket.start()].strip()
        inner = bracket.group(1).strip()
        if before and len(before.split()) == 1 and len(inner.split()) > 1:
            acronym, text = before, before
        else:
            text = (before + " " + text[bracket.end():].strip()).strip() or inner
    if text.isupper():
        text = " ".join(w if w == acronym or not w.strip(",.;:'-").isalpha() else w.capitalize()
                        for w in text.split())
    return text or name


def format_metric(column: str, value: Any, *, row: Mapping[str, Any] | None = None,
                  bounds: Bounds | None = None) -> str:
    """A hub metric as the map shows it: :meth:`Metric.format <pcn_planner.scoring.metrics.Metric.format>`
    (``52,431``, ``7.3 min``, ``85.6 %``, ``yes``), with more words where a popup needs them.

    The extra words: the band with its bounds (``above maximum 70,000``), the
    base site by name (``Gordon Street (M83010)``) and the scale of the IMD
    decile and of the risk index. A column that is not a registered hub
    metric is shown as it is; a missing value is ``–``.
    """
    m = HUB.get(column)
    text = m.format(value) if m is not None else format_value("text", value)
    if m is None or text == "–":
        return text
    if column == "band" and bounds is not None:
        return {"ok": f"within {bounds.min:,}–{bounds.max:,}", "below min": f"below minimum {bounds.min:,}",
                "above max": f"above maximum {bounds.max:,}"}.get(value, text)
    if column == "base_practice" and row is not None and row.get("base_name"):
        return f"{row['base_name']} ({value})"
    if m.kind == "decile":
        return f"{text} (1 = most deprived)"
    if m.kind == "index":
        return f"{text} (0 low – 1 high)"
    return text


def hub_popup_html(hub_id: str, row: Mapping[str, Any], bounds: Bounds, members: list[tuple[str, str, int]],
                   colour: str, breaches: Sequence[str] = ()) -> str:
    """A hub's popup: its name, any flags, every hub metric in plain English and its practices.

    Parameters
    ----------
    hub_id
        The hub's id.
    row
        The hub's row of :attr:`Scorecard.hubs <pcn_planner.scoring.scorecard.Scorecard.hubs>`.
    bounds
        Population bounds, for the band and flag wording.
    members
        ``(practice_code, name, list_size)`` of each member practice, in the order to list.
    colour
        The hub's fill colour, shown as a swatch.
    breaches
        The rules the hub breaks, in words (:meth:`Scorecard.hub_breaches`), shown as flags.

    Returns
    -------
    str
        HTML (``div.pcn-pop``); text is escaped.
    """
    esc = html.escape
    reasons = list(breaches)
    head = (f'<div class="pcn-pop-head"><span class="pcn-swatch" style="background:{colour}"></span>'
            f'<b>{esc(str(row["hub_name"]))}</b> <span class="pcn-muted">{esc(str(hub_id))}</span></div>')
    if reasons:
        head += "".join(f'<div class="pcn-flag">⚠ {esc(r)}</div>' for r in reasons)
    rows = []
    for column, m in HUB.items():
        if column not in row:
            continue
        text = format_metric(column, row[column], row=row, bounds=bounds)
        rows.append(f'<tr title="{esc(m.definition)}"><th>{esc(m.label)}</th><td>{esc(text)}</td></tr>')
    listed = ", ".join(f"{esc(name)} ({size:,})" for _code, name, size in members)
    return (f'<div class="pcn-pop">{head}<table class="pcn-table">{"".join(rows)}</table>'
            f'<div class="pcn-members"><b>Member practices</b> (list size): {listed}</div></div>')


# ---------------------------------------------------------------------------
# Geometry helpers
# ---------------------------------------------------------------------------


def simplify_shapes(geoms: np.ndarray, coverage: bool) -> np.ndarray:
    """Shapes made light enough for a web page: simplified and rounded, still valid.

    Parameters
    ----------
    geoms
        Shapely geometries in degrees (EPSG:4326).
    coverage
        ``True`` when the shapes tile (hub territories, LSOAs): shared edges are
        simplified once so that neighbours still meet without gaps or slivers.

    Returns
    -------
    numpy.ndarray
        Geometries simplified by :data:`SIMPLIFY_DEG` with coordinates rounded
        to :data:`COORD_DECIMALS` places; any made invalid are repaired.
    """
    geoms = np.asarray(geoms, dtype=object)
    if coverage:
        try:
            out = shapely.coverage_simplify(geoms, SIMPLIFY_DEG)
        except (AttributeError, shapely.errors.ShapelyError):  # shapely < 2.1, GEOS < 3.12 or not a coverage
            out = shapely.simplify(geoms, SIMPLIFY_DEG, preserve_topology=True)
    else:
        out = shapely.simplify(geoms, SIMPLIFY_DEG, preserve_topology=True)
    out = shapely.transform(out, lambda xy: np.round(xy, COORD_DECIMALS))
    bad = ~shapely.is_valid(out)
    if bad.any():
        out[bad] = shapely.make_valid(out[bad])
    return out


def feature_collection(geoms: np.ndarray, properties: list[dict]) -> dict:
    """A GeoJSON FeatureCollection of shapes and their properties, skipping empty shapes.

    Each feature's ``id`` is its properties' ``"id"`` (else its position).
    """
    features = []
    for i, (geom, props) in enumerate(zip(geoms, properties, strict=True)):
        if geom is None or geom.is_empty:
            continue
        features.append({"type": "Feature", "id": str(props.get("id", i)), "properties": props,
                         "geometry": shapely.geometry.mapping(geom)})
    return {"type": "FeatureCollection", "features": features}


def label_points(geometry: gpd.GeoSeries) -> dict[Hashable, tuple[float, float]]:
    """(lat, lon) inside each hub's largest piece, far from its edges."""
    metric = geometry.to_crs(METRIC_CRS)
    points = {}
    for hub, geom in metric.items():
        parts = list(getattr(geom, "geoms", [geom]))
        parts = [p for p in parts if p.geom_type == "Polygon"] or parts
        biggest = max(parts, key=lambda p: p.area)
        try:
            point = shapely.ops.polylabel(biggest, tolerance=50.0)
        except Exception:  # noqa: BLE001 - cosmetic; what polylabel raises differs by shapely version
            point = biggest.representative_point()
        points[hub] = point
    back = type(geometry)(list(points.values()), crs=METRIC_CRS).to_crs("EPSG:4326")
    return {hub: (p.y, p.x) for hub, p in zip(points, back, strict=True)}


# ---------------------------------------------------------------------------
# Page furniture
# ---------------------------------------------------------------------------


_CSS = """
<style>
  html body .leaflet-container { background: #F2F2EE; font: 13px/1.35 FONT; }
  .leaflet-control-layers, .leaflet-control-scale-line, .leaflet-tooltip, .leaflet-popup-content {
    font: 13px/1.35 FONT; color: #1d1d1d; }
  .leaflet-control-layers-expanded { padding: 6px 10px 6px 8px; border-radius: 6px; }
  .leaflet-control-layers-overlays label { margin: 1px 0; }
  .pcn-box { background: rgba(255,255,255,0.95); border-radius: 6px; box-shadow: 0 1px 5px rgba(0,0,0,0.35);
    font: 13px/1.4 FONT; color: #1d1d1d; }
  #pcn-title { position: fixed; top: 10px; left: 10px; z-index: 1000; padding: 9px 13px 9px 13px;
    width: 350px; max-width: calc(100% - 40px); box-sizing: border-box; }
  #pcn-title h1 { font: 600 18px/1.25 FONT; margin: 0 0 3px 0; }
  #pcn-title .pcn-sub { font-size: 13px; color: #3a3a3a; }
  #pcn-title .pcn-stats { margin-top: 5px; font-size: 13px; }
  #pcn-title .pcn-stats div { margin: 1px 0; }
  #pcn-title .pcn-flags { margin-top: 6px; font-size: 12.5px; color: #1d1d1d; border-top: 1px solid #e3e3e3;
    padding-top: 5px; max-height: 30vh; overflow-y: auto; }
  #pcn-title .pcn-flags ul { margin: 2px 0 0 0; padding-left: 16px; }
  #pcn-title .pcn-flags li { margin: 1px 0; }
  #pcn-title .pcn-flags b.pcn-warn, .pcn-flag { color: FLAG; }
  #pcn-title .pcn-ok { color: #1B7837; font-weight: 600; }
  #pcn-legend { position: fixed; bottom: 50px; left: 10px; z-index: 1000; padding: 8px 13px;
    width: 350px; max-width: calc(100% - 40px); box-sizing: border-box;
    overflow-y: auto; font-size: 12.5px; }
  .pcn-label.pcn-compact .pcn-n, .pcn-label.pcn-compact br { display: none; }
  #pcn-legend h2 { font: 600 13px/1.3 FONT; margin: 6px 0 3px 0; }
  #pcn-legend h2:first-child { margin-top: 0; }
  #pcn-legend .pcn-row { display: flex; align-items: center; gap: 7px; margin: 2px 0; }
  #pcn-legend .pcn-key { flex: 0 0 26px; display: flex; justify-content: center; align-items: center; }
  #pcn-legend .pcn-note { color: #555; font-size: 12px; margin-top: 5px; }
  #pcn-legend .pcn-ramp { display: flex; margin: 2px 0 1px 0; }
  #pcn-legend .pcn-ramp span { flex: 1; height: 12px; }
  #pcn-legend .pcn-ramp-labels { display: flex; justify-content: space-between; color: #444; font-size: 12px; }
  .pcn-label { pointer-events: none; white-space: nowrap; text-align: center; transform: translate(-50%, -50%);
    display: inline-block; font: 600 12px/1.15 FONT; color: #111;
    text-shadow: 0 0 3px #fff, 0 0 3px #fff, 0 0 2px #fff, 0 0 2px #fff, 0 0 1px #fff; }
  .pcn-label .pcn-n { font-weight: 400; font-size: 11.5px; }
  .pcn-label.pcn-flagged { color: FLAG; }
  .pcn-hosp { width: 16px; height: 16px; background: HOSP; color: #fff; border: 1.5px solid #fff; border-radius: 3px;
    font: 700 11px/13px Arial, sans-serif; text-align: center; box-shadow: 0 0 2px rgba(0,0,0,0.6); }
  .pcn-pop { min-width: 300px; }
  .pcn-pop-head { font-size: 14px; margin-bottom: 4px; }
  .pcn-swatch { display: inline-block; width: 12px; height: 12px; border: 1px solid #555; vertical-align: -1px;
    margin-right: 4px; }
  .pcn-muted { color: #666; font-weight: 400; font-size: 12px; }
  .pcn-flag { font-weight: 600; }
  table.pcn-table { border-collapse: collapse; margin-top: 4px; width: 100%; }
  table.pcn-table th { text-align: left; font-weight: 400; color: #444; padding: 1px 10px 1px 0; vertical-align: top; }
  table.pcn-table td { text-align: right; padding: 1px 0; font-variant-numeric: tabular-nums; }
  table.pcn-table tr + tr { border-top: 1px solid #eee; }
  .pcn-members { margin-top: 6px; font-size: 12px; color: #333; max-height: 90px; overflow-y: auto; }
</style>
"""


def page_css() -> str:
    """The ``<style>`` element shared by the plan and comparison maps (boxes, labels, popups, legend)."""
    return _CSS.replace("FONT", FONT).replace("FLAG", FLAG_COLOUR).replace("HOSP", HOSPITAL_COLOUR)


#: The hub-label declutter of every map page, as a JavaScript function ``declutter(root)`` to paste into a
#: page script: it hides the labels (``.pcn-label``) inside ``root`` that would overlap a more important
#: one (lower ``data-rank``: flagged hubs, then larger ones), first dropping the patients line, and keeps
#: clear of a ``.pcn-caption`` inside ``root``. The comparison page runs it once per map, hence ``root``.
DECLUTTER_JS = """\
    function declutter(root) {
        var labels = Array.prototype.slice.call(root.querySelectorAll(".pcn-label"));
        labels.sort(function (a, b) { return a.dataset.rank - b.dataset.rank; });
        var placed = [];
        var cap = root.querySelector(".pcn-caption");
        if (cap) { placed.push(cap.getBoundingClientRect()); }
        function clear(r) {
            return !placed.some(function (p) {
                return !(r.right < p.left || r.left > p.right || r.bottom < p.top || r.top > p.bottom);
            });
        }
        // A nudged label must still be centred on its own hub.
        function inside(el, r) {
            var hits = document.elementsFromPoint((r.left + r.right) / 2, (r.top + r.bottom) / 2);
            return hits.some(function (h) { return h.classList && h.classList.contains(el.dataset.hub); });
        }
        // Where to try a label: in place, then nudged a little up, down, left or right.
        var nudges = [[0, 0], [0, 0.9], [0, -0.9], [-0.3, 0], [0.3, 0]];
        function place(el) {
            for (var i = 0; i < nudges.length; i++) {
                el.style.marginLeft = el.style.marginTop = "0px";
                var r0 = el.getBoundingClientRect();
                if (r0.width === 0) { return true; }
                var dx = nudges[i][0] * r0.width, dy = nudges[i][1] * r0.height;
                el.style.marginLeft = dx + "px";
                el.style.marginTop = dy + "px";
                var r = el.getBoundingClientRect();
                if (clear(r) && (i === 0 || inside(el, r))) { placed.push(r); return true; }
            }
            el.style.marginLeft = el.style.marginTop = "0px";
            return false;
        }
        labels.forEach(function (el) {
            el.classList.remove("pcn-compact");
            el.style.visibility = "visible";
            if (place(el)) { return; }
            el.classList.add("pcn-compact");
            if (!place(el)) { el.style.visibility = "hidden"; }
        });
    }
"""

# Page behaviour: show a choropleth's key only while it is on; fit the hubs into
# the part of the window the title block and legend leave free; and hide hub
# labels that would overlap a more important one (flagged first, then larger
# hubs), first dropping the patients line, so labels stay readable at any zoom.
_LEGEND_JS = """
(function () {
    var map = MAP;
    var parts = PARTS;
    function fit() {
        var w = map.getSize().x;
        var panel = document.getElementById("pcn-title");
        var left = panel && w > 900 ? panel.offsetWidth + 25 : 10;
        var right = w > 900 ? 60 : 10;
        map.stop();
        map.fitBounds(BOX, {paddingTopLeft: [left, 10], paddingBottomRight: [right, 10], animate: false});
    }
    function layout() {
        var title = document.getElementById("pcn-title"), legend = document.getElementById("pcn-legend");
        if (title && legend) {
            var free = window.innerHeight - title.getBoundingClientRect().bottom - 10 - 50;
            legend.style.maxHeight = Math.max(free, 120) + "px";
        }
    }
""" + DECLUTTER_JS + """    map.on("overlayadd", function (e) {
        var id = parts[e.name];
        if (id) { document.getElementById(id).style.display = "block"; }
        layout();
        declutter(document);
    });
    map.on("overlayremove", function (e) {
        var id = parts[e.name];
        if (id) { document.getElementById(id).style.display = "none"; }
    });
    map.on("zoomend", function () { declutter(document); });
    window.addEventListener("resize", layout);
    layout();
    fit();
    declutter(document);
    window.addEventListener("load", function () { layout(); declutter(document); });
})();
"""


class PageElement(MacroElement):
    """Raw HTML (a title block, legend or panel) plus optional CSS and script, added to a page.

    Parameters
    ----------
    body
        HTML placed in the page body.
    css
        HTML placed in the page head (e.g. a ``<style>`` element).
    js
        JavaScript run with the map's other scripts (after the map exists).
    """

    _template = Template("""
        {% macro header(this, kwargs) %}{{ this.css }}{% endmacro %}
        {% macro html(this, kwargs) %}{{ this.body }}{% endmacro %}
        {% macro script(this, kwargs) %}{{ this.js }}{% endmacro %}
    """)

    def __init__(self, body: str, css: str = "", js: str = "") -> None:
        super().__init__()
        self._name = "PcnPageElement"
        self.body, self.css, self.js = body, css, js


def swatch_html(colour: str, *, border: str = "#555", dash: bool = False, width: int = 22, height: int = 13,
                weight: float = 1) -> str:
    """A legend key: a filled rectangle with a solid or dashed border, as inline HTML."""
    style = "dashed" if dash else "solid"
    return (f'<span style="display:inline-block;width:{width}px;height:{height}px;background:{colour};'
            f'border:{weight}px {style} {border};box-sizing:border-box"></span>')


def circle_svg(radius: float, fill: str, stroke: str, weight: float = 1.5) -> str:
    """A legend key: a circle like a practice marker, as an inline SVG."""
    d = 2 * radius + weight
    return (f'<svg width="{d:.0f}" height="{d:.0f}" viewBox="0 0 {d:.1f} {d:.1f}">'
            f'<circle cx="{d / 2:.1f}" cy="{d / 2:.1f}" r="{radius:.1f}" fill="{fill}" stroke="{stroke}" '
            f'stroke-width="{weight}"/></svg>')


def practice_radius(list_size: float) -> float:
    """Circle radius in pixels: area proportional to list size."""
    return 1.5 + math.sqrt(max(float(list_size), 0.0)) / 22.0


# ---------------------------------------------------------------------------
# The map
# ---------------------------------------------------------------------------


def plan_map(scorecard: Scorecard, *, gap: float | None = None, title: str | None = None,
             lsoa_layers: bool = True) -> OfflineMap:
    """Draw a scored plan as an offline folium map.

    Parameters
    ----------
    scorecard
        From :func:`pcn_planner.scoring.scorecard.score_plan`.
    gap
        Relative optimality gap certified by the solver (``0.0042`` is shown
        as "gap 0.42%"); ``None`` shows "gap: not certified".
    title
        Heading of the title block; default the plan's name.
    lsoa_layers
        Include the "Deprivation (IMD decile)" and "Travel time to hub base"
        choropleths (about 0.8 MB for the SSOT region). The notebook view of a
        plan leaves them out.

    Returns
    -------
    OfflineMap
        A ``folium.Map`` that shows itself in Jupyter, and saves (``.save`` or
        :func:`pcn_planner.outputs.maps.offline.save_offline`), with every asset
        inlined. Layers: "Hubs", "Practices", "Hospitals" (on), the two
        choropleths and an OpenStreetMap background (off).

    Examples
    --------
    >>> import pcn_planner as pp
    >>> from pcn_planner.outputs.maps.plan_map import plan_map
    >>> region = pp.build_region()
    >>> card = pp.score_plan(region, pp.Plan.current(region.atlas.practices))
    >>> plan_map(card).save("current.html")   # one self-contained page
    """
    region = scorecard.region
    atlas = region.atlas
    bounds = scorecard.bounds
    hubs = scorecard.hubs
    geometry = scorecard.geometry
    risk = region.risk.table

    flagged = scorecard.flagged_hubs
    colours = hub_colours(hub_adjacency(scorecard), hubs.index)

    west, south, east, north = (float(v) for v in geometry.total_bounds)
    m = OfflineMap(location=[(south + north) / 2, (west + east) / 2], tiles=None, zoom_start=10,
                   control_scale=True, zoom_snap=0.25, zoom_delta=0.5, zoom_control="bottomright")
    cast("Figure", m.get_root()).header.add_child(folium.Element(page_css()))
    for name, z in (("pcnLsoa", 410), ("pcnBorders", 420), ("pcnPoints", 450)):
        folium.map.CustomPane(name, z_index=z, pointer_events=name != "pcnBorders").add_to(m)

    # Layer control lists layers in the order added; panes (not order) set what draws on top.
    _add_hub_layer(m, scorecard, geometry, colours, flagged)
    add_link_layer(m, scorecard)  # links the problem added: hubs are contiguous with them, so show them
    add_practice_layer(m, scorecard, risk)
    _add_hospital_layer(m, atlas, (west, south, east, north))
    if lsoa_layers:
        owned = region.territory[region.territory["owned"]]
        lsoa_geoms = simplify_shapes(atlas.lsoas.geometry.reindex(owned.index).to_numpy(), coverage=True)
        _add_imd_layer(m, atlas, owned, lsoa_geoms)
        _add_travel_layer(m, scorecard, owned, lsoa_geoms)
    folium.TileLayer("OpenStreetMap", name=LAYER_OSM, overlay=True, show=False, control=True,
                     opacity=0.6).add_to(m)

    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    m.add_child(_title_block(scorecard, gap, title, flagged))
    # The page script fits the hubs into the space the panels leave (folium's
    # fit_bounds would animate and then undo that fit).
    m.add_child(_legend(m, bounds, [[south, west], [north, east]], lsoa_layers=lsoa_layers))
    return m


def _add_hub_layer(m: folium.Map, scorecard: Scorecard, geometry: gpd.GeoDataFrame,
                   colours: Mapping[Hashable, str], flagged: Sequence[Hashable]) -> None:
    region, bounds, hubs = scorecard.region, scorecard.bounds, scorecard.hubs
    practices = region.atlas.practices
    layer = folium.FeatureGroup(name=LAYER_HUBS, show=True).add_to(m)
    geoms, has_territory = hub_shapes(geometry)
    members = scorecard.plan.members()
    labels = label_points(geometry.geometry)
    rank = label_ranks(geometry, flagged)
    for i, hub in enumerate(geometry.index):
        row = hubs.loc[hub].to_dict()
        colour = colours.get(hub, PALETTE[0])
        is_flagged = hub in flagged
        feature = feature_collection(np.array([geoms[i]], dtype=object), [{"id": str(hub)}])
        popup_html = hub_popup_html(hub, row, bounds, member_rows(practices, members.get(hub, [])), colour,
                                    scorecard.hub_breaches(hub))
        if not bool(has_territory.get(hub, True)):
            popup_html = popup_html.replace(
                "</table>", "</table><div class='pcn-muted'>No territory: drawn as discs round its sites.</div>", 1)
        fill = folium.GeoJson(
            feature,
            style_function=lambda _f, colour=colour, i=i: {
                "fillColor": colour, "fillOpacity": 0.5, "color": "#FFFFFF", "weight": 0.5,
                "opacity": 0.6, "className": f"{HUB_CLASS} {HUB_CLASS}-{i}",
            },
            highlight_function=lambda _f: {"fillOpacity": 0.7},
            control=False,
            name=f"hub {hub}",
        )
        patients = HUB["patients"].format(row["patients"])
        folium.Tooltip(hub_tooltip_html(row, "click for the scorecard", flagged=is_flagged), sticky=True).add_to(fill)
        # Pan an opened popup clear of the title block/legend (left) and the layer control (right).
        folium.Popup(popup_html, max_width=380, parse_html=False, maxHeight=520,
                     autoPanPaddingTopLeft=[375, 10], autoPanPaddingBottomRight=[270, 10]).add_to(fill)
        fill.add_to(layer)
        add_hub_outline_and_label(layer, feature, hub=hub, flagged=is_flagged, position=labels[hub],
                                  rank=rank[hub], data_hub=f"{HUB_CLASS}-{i}", name=str(row["hub_name"]),
                                  patients=patients)


def hub_tooltip_html(row: Mapping[str, Any], note: str, *, flagged: bool) -> str:
    """A hub's hover text (HTML): its name (with ⚠ when flagged), patients and practices, and a grey ``note``."""
    warn = "⚠ " if flagged else ""
    return (f"<b>{warn}{html.escape(str(row['hub_name']))}</b><br>"
            f"{HUB['patients'].format(row['patients'])} patients · "
            f"{HUB['practices'].format(row['practices'])} practices<br><span class='pcn-muted'>{note}</span>")


def hub_shapes(geometry: gpd.GeoDataFrame) -> tuple[np.ndarray, pd.Series]:
    """Each hub's shape made light for the page (in ``geometry``'s order), and whether it is a real territory.

    Territories tile the region, so they are simplified together and still
    meet; the stand-in discs of hubs without territory do not, so they are
    simplified one by one (see :func:`simplify_shapes`).
    """
    has_territory = geometry["has_territory"] if "has_territory" in geometry else pd.Series(True, geometry.index)
    tiles = has_territory.to_numpy(bool)
    geoms = np.empty(len(geometry), dtype=object)
    geoms[tiles] = simplify_shapes(geometry.geometry.to_numpy()[tiles], coverage=True)
    geoms[~tiles] = simplify_shapes(geometry.geometry.to_numpy()[~tiles], coverage=False)
    return geoms, has_territory


def label_ranks(geometry: gpd.GeoDataFrame, flagged: Iterable[Hashable]) -> dict[Hashable, int]:
    """Hub -> label priority for the declutter script (0 first): flagged hubs, then bigger areas."""
    flagged = set(flagged)
    area = geometry.geometry.to_crs(METRIC_CRS).area
    return {h: r for r, h in enumerate(sorted(geometry.index, key=lambda h: (h not in flagged, -area[h])))}


def member_rows(practices: pd.DataFrame, codes: Iterable[str]) -> list[tuple[str, str, int]]:
    """``(code, name, list_size)`` of a hub's practices, largest first: the list in a hub's popup."""
    return [(c, str(practices.at[c, "name"]), int(practices.at[c, "list_size"]))
            for c in sorted(codes, key=lambda c: -practices.at[c, "list_size"])]


def add_hub_outline_and_label(layer, feature: dict, *, hub: str, flagged: bool, position: tuple[float, float],
                              rank: int, data_hub: str, name: str, patients: str, weight: float = 4.0,
                              dash: str = "10 7") -> None:
    """Draw a hub's outline (red dashed when flagged) and its label marker on ``layer``.

    Shared by the plan map and the comparison map so a flagged hub looks the same on both.
    """
    folium.GeoJson(
        feature,
        style_function=lambda _f, f=flagged: (
            {"fill": False, "color": FLAG_COLOUR, "weight": weight, "opacity": 0.95, "dashArray": dash,
             "className": "pcn-hub-outline pcn-hub-flagged"}
            if f else
            {"fill": False, "color": "#2B2B2B", "weight": 1.3, "opacity": 0.85, "className": "pcn-hub-outline"}),
        interactive=False, pane="pcnBorders", control=False, name=f"hub {hub} outline",
    ).add_to(layer)
    warn = "⚠ " if flagged else ""
    cls = "pcn-label pcn-flagged" if flagged else "pcn-label"
    label = (f'<div class="{cls}" data-rank="{rank}" data-hub="{data_hub}">'
             f'{warn}{html.escape(short_name(name))}<br>'
             f'<span class="pcn-n">{patients}</span></div>')
    folium.Marker(list(position), icon=folium.DivIcon(html=label, icon_size=(0, 0), icon_anchor=(0, 0),
                                                      class_name="pcn-label-icon"),
                  interactive=False, keyboard=False).add_to(layer)


def practice_kind(code: str, risk: pd.DataFrame) -> str:
    """``"high risk"``, ``"anchor"`` or ``"practice"``: how a practice is drawn (:data:`PRACTICE_COLOURS`)."""
    if code in risk.index and bool(risk.at[code, "high_risk"]):
        return "high risk"
    if code in risk.index and bool(risk.at[code, "anchor"]):
        return "anchor"
    return "practice"


def add_practice_layer(m: folium.Map, scorecard: Scorecard, risk: pd.DataFrame) -> None:
    """Add the "Practices" layer: a circle per practice (area ∝ list size) with its details on hover.

    Anchor practices are filled black and high-risk ones vermillion
    (:data:`PRACTICE_COLOURS`); the tooltip names the practice's hub in
    ``scorecard.plan`` and whether it is the hub's base site.
    """
    practices = scorecard.region.atlas.practices
    plan, hubs = scorecard.plan, scorecard.hubs
    bases = set(hubs["base_practice"])
    layer = folium.FeatureGroup(name=LAYER_PRACTICES, show=True).add_to(m)
    # Big circles first, so small ones stay on top and clickable.
    for code in practices.sort_values("list_size", ascending=False).index:
        p = practices.loc[code]
        kind = practice_kind(code, risk)
        hub = plan.assignment.get(code)
        lines = [f"<b>{html.escape(str(p['name']))}</b> <span class='pcn-muted'>{html.escape(code)}</span>",
                 f"List size: {int(p['list_size']):,} patients"]
        if hub is not None:
            lines.append(f"Hub: {html.escape(plan.label(hub))}" + (" (base site)" if code in bases else ""))
        if code in risk.index and pd.notna(risk.at[code, "risk"]):
            note = {"high risk": " – <b>high risk</b>", "anchor": " – anchor (resilient)"}.get(kind, "")
            lines.append(f"Sustainability risk: {float(risk.at[code, 'risk']):.2f} (0 low – 1 high){note}")
        stroke = "#333333" if kind == "practice" else "#FFFFFF"
        folium.CircleMarker(
            [float(p["lat"]), float(p["lon"])], radius=round(practice_radius(p["list_size"]), 1),
            color=stroke, weight=1.5, fill=True, fill_color=PRACTICE_COLOURS[kind], fill_opacity=1.0,
            pane="pcnPoints", class_name=f"pcn-practice pcn-practice-{kind.replace(' ', '-')}",
            tooltip=folium.Tooltip("<br>".join(lines)),
        ).add_to(layer)


def _add_hospital_layer(m: folium.Map, atlas: Any, box: tuple[float, float, float, float]) -> None:
    west, south, east, north = box
    dlat = HOSPITAL_MARGIN_KM / 111.0
    dlon = HOSPITAL_MARGIN_KM / (111.32 * math.cos(math.radians((south + north) / 2)))
    sites = atlas.hospitals
    near = sites[sites["lat"].between(south - dlat, north + dlat) & sites["lon"].between(west - dlon, east + dlon)]
    layer = folium.FeatureGroup(name=LAYER_HOSPITALS, show=True).add_to(m)
    for _code, s in near.iterrows():
        folium.Marker(
            [float(s["lat"]), float(s["lon"])],
            icon=folium.DivIcon(html='<div class="pcn-hosp">H</div>', icon_size=(16, 16), icon_anchor=(8, 8),
                                class_name="pcn-hosp-icon"),
            tooltip=folium.Tooltip(f"<b>{html.escape(str(s['name']))}</b><br>Acute hospital site"),
        ).add_to(layer)


def _lsoa_layer(m: folium.Map, name: str, geoms: np.ndarray, props: list[dict], colours: list[str],
                css_class: str) -> None:
    data = feature_collection(geoms, props)
    by_id = {p["id"]: c for p, c in zip(props, colours, strict=True)}
    folium.GeoJson(
        data, name=name, show=False, pane="pcnLsoa",
        style_function=lambda f: {"fillColor": by_id.get(f["id"], _NO_DATA), "fillOpacity": 0.85,
                                  "color": "#FFFFFF", "weight": 0.4, "opacity": 0.7, "className": css_class},
        highlight_function=lambda _f: {"weight": 2, "color": "#000000", "opacity": 1},
        tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False, sticky=True),
    ).add_to(m)


def _add_imd_layer(m: folium.Map, atlas: Any, owned: pd.DataFrame, geoms: np.ndarray) -> None:
    lsoas = atlas.lsoas.reindex(owned.index)
    props, colours = [], []
    for code, nm, decile in zip(owned.index, lsoas["lsoa11nm"], lsoas["imd_decile"], strict=True):
        d = int(decile) if pd.notna(decile) else None
        what = f"IMD 2019 decile {d} (1 = most deprived 10%)" if d is not None else "IMD decile not known"
        props.append({"id": code, "tip": f"<b>{html.escape(str(nm))}</b> {code}<br>{what}"})
        colours.append(IMD_COLOURS[d - 1] if d is not None and 1 <= d <= 10 else _NO_DATA)
    _lsoa_layer(m, LAYER_IMD, geoms, props, colours, "pcn-imd")


def travel_band(minutes: float) -> int | None:
    """Index into :data:`TRAVEL_BANDS` of a number of minutes (None if unknown)."""
    if minutes is None or not np.isfinite(minutes):
        return None
    for i, (lo, hi) in enumerate(TRAVEL_BANDS):
        if lo <= minutes < hi:
            return i
    return 0 if minutes < 0 else len(TRAVEL_BANDS) - 1


def _add_travel_layer(m: folium.Map, scorecard: Scorecard, owned: pd.DataFrame, geoms: np.ndarray) -> None:
    region, plan, hubs = scorecard.region, scorecard.plan, scorecard.hubs
    names = region.atlas.lsoas["lsoa11nm"].reindex(owned.index)
    props, colours = [], []
    for code, owner in zip(owned.index, owned["practice_code"], strict=True):
        hub = plan.assignment.get(owner)
        base = hubs.at[hub, "base_practice"] if hub in hubs.index else None
        minutes = (float(region.travel.at[code, base])
                   if base is not None and code in region.travel.index and base in region.travel.columns
                   else float("nan"))
        band = travel_band(minutes)
        if band is None:
            what = "travel time not known"
        else:
            what = (f"{minutes:.1f} min by car to the base of {html.escape(plan.label(hub))} "
                    f"({html.escape(str(hubs.at[hub, 'base_name']))})")
        props.append({"id": code, "tip": f"<b>{html.escape(str(names[code]))}</b> {code}<br>{what}"})
        colours.append(TRAVEL_COLOURS[band] if band is not None else _NO_DATA)
    _lsoa_layer(m, LAYER_TRAVEL, geoms, props, colours, "pcn-travel")


# The optimality gap is not a plan metric (it describes a solve, not a plan), so it is not in the
# registry; its words are here, once, for the maps, the report and the batch summary.


def _title_block(scorecard: Scorecard, gap: float | None, title: str | None,
                 flagged: Sequence[Hashable]) -> MacroElement:
    esc = html.escape
    s, hubs, bounds = scorecard.summary, scorecard.hubs, scorecard.bounds
    k = scorecard.plan.k
    today = date.today()
    name = scorecard.plan.name
    heading = title or (name[:1].upper() + name[1:])
    sub = (f"K = {k} hubs · bounds {bounds.min:,}–{bounds.max:,} patients per hub<br>"
           f"{esc(gap_text(gap))} · {today.day} {today:%B %Y}")
    in_band = int((hubs["band"] == "ok").sum())
    contiguous = int(hubs["contiguous"].astype(bool).sum())
    stats = (f"<div><b>{in_band} of {k}</b> hubs in band · <b>{contiguous} of {k}</b> contiguous</div>"
             f"<div>{PLAN['patients'].format(s['patients'])} patients · travel to hub base: "
             f"mean {PLAN['travel_mean_min'].format(s['travel_mean_min'])}, "
             f"90th percentile {PLAN['travel_p90_min'].format(s['travel_p90_min'])}</div>")
    if flagged:
        order = sorted(flagged, key=lambda h: (hubs.at[h, "band"] == "ok", str(hubs.at[h, "hub_name"])))
        items = "".join(
            f"<li><b>{esc(str(hubs.at[h, 'hub_name']))}</b> – "
            f"{esc('; '.join(scorecard.hub_breaches(h)))}</li>"
            for h in order)
        flags = (f'<div class="pcn-flags"><b class="pcn-warn">⚠ {len(flagged)} hub'
                 f'{"s" if len(flagged) != 1 else ""} flagged</b><ul>{items}</ul></div>')
    else:
        flags = '<div class="pcn-flags"><span class="pcn-ok">✓ Every hub in band and contiguous</span></div>'
    body = (f'<div id="pcn-title" class="pcn-box"><h1>{esc(heading)}</h1><div class="pcn-sub">{sub}</div>'
            f'<div class="pcn-stats">{stats}</div>{flags}</div>')
    return PageElement(body)


def _legend(m: folium.Map, bounds: Bounds, box: list[list[float]], *, lsoa_layers: bool = True) -> MacroElement:
    rows = []

    def row(key: str, text: str) -> None:
        rows.append(f'<div class="pcn-row"><span class="pcn-key">{key}</span><span>{text}</span></div>')

    rows.append("<h2>Hubs</h2>")
    row(swatch_html(PALETTE[0] + "80", border="#2B2B2B", weight=1.3),
        "Hub territory: LSOAs where its practices have the most patients (colours only tell neighbours apart)")
    row(swatch_html("#FFFFFF", border=FLAG_COLOUR, dash=True, weight=3),
        f"⚠ Flagged: outside {bounds.min:,}–{bounds.max:,} patients, or not contiguous")
    rows.append("<h2>Practices</h2>")
    sizes = "".join(
        f'<span style="display:inline-flex;flex-direction:column;align-items:center;margin-right:8px">'
        f'{circle_svg(practice_radius(n), "#FFFFFF", "#333333")}<span>{n:,}</span></span>'
        for n in (3_000, 10_000, 30_000))
    rows.append(f'<div style="display:flex;align-items:flex-end;margin:2px 0 2px 2px">{sizes}</div>'
                '<div class="pcn-note" style="margin-top:0">Circle area ∝ list size (patients)</div>')
    row(circle_svg(6, PRACTICE_COLOURS["practice"], "#333333"), "Practice")
    row(circle_svg(6, PRACTICE_COLOURS["anchor"], "#FFFFFF"), "Anchor practice (resilient)")
    row(circle_svg(6, PRACTICE_COLOURS["high risk"], "#FFFFFF"), "High-risk practice (sustainability)")
    rows.append("<h2>Hospitals</h2>")
    row('<div class="pcn-hosp">H</div>', "Acute hospital site")
    if lsoa_layers:
        imd = "".join(f'<span style="background:{c}"></span>' for c in IMD_COLOURS)
        rows.append(f'<div id="pcn-legend-imd" style="display:none"><h2>Deprivation (IMD 2019 decile)</h2>'
                    f'<div class="pcn-ramp">{imd}</div><div class="pcn-ramp-labels"><span>1 most deprived</span>'
                    f'<span>10 least</span></div></div>')
        travel = "".join(
            f'<div class="pcn-row"><span class="pcn-key">{swatch_html(c)}</span><span>'
            f'{f"{lo:.0f}–{hi:.0f} min" if math.isfinite(hi) else f"{lo:.0f} min or more"}</span></div>'
            for (lo, hi), c in zip(TRAVEL_BANDS, TRAVEL_COLOURS, strict=True))
        rows.append(f'<div id="pcn-legend-travel" style="display:none"><h2>Car travel, home LSOA to hub base</h2>'
                    f'{travel}</div>')
    extra = "deprivation, travel times and a web background" if lsoa_layers else "a web background"
    rows.append('<div class="pcn-note">Click a hub for its scorecard; hover a practice for details. '
                f'Zoom in for every hub label. Layers (top right) add {extra}.</div>')
    body = f'<div id="pcn-legend" class="pcn-box">{"".join(rows)}</div>'
    js = _LEGEND_JS.replace("MAP", m.get_name()).replace("BOX", json.dumps(box)).replace(
        "PARTS", json.dumps({LAYER_IMD: "pcn-legend-imd", LAYER_TRAVEL: "pcn-legend-travel", LAYER_HUBS: ""}))
    return PageElement(body, js=js)
