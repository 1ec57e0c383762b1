"""Draw two plans side by side: both maps with synchronised pan and zoom, and a map of what changes.

The analysis (which hubs pair up, which practices move, the measures side by
side) is :func:`pcn_planner.scoring.differences.compare_plans`; this module
draws its :class:`~pcn_planner.scoring.differences.Comparison`.

:func:`comparison_map` draws both plans on one page with synchronised pan and
zoom (folium's ``DualMap``), paired hubs in the same colour, the practices that
move ringed in magenta, and a side panel with the counts, the measures table,
a key and the list of moves. :func:`difference_map` shows only what changes on
one map. :func:`write_comparison` writes the page(s) and the tables.

Stable hooks for tests and styling: hub polygons carry the CSS classes
``pcn-hub`` and ``pcn-side-a`` / ``pcn-side-b``; move rings ``pcn-move``; the
header is ``#pcn-cmp-header``, the side panel ``#pcn-cmp-panel`` with the
measures table ``#pcn-cmp-table`` and the key ``#pcn-cmp-legend``.
"""

from __future__ import annotations

import html
import itertools
import json
from collections.abc import Hashable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any, cast

import folium
import networkx as nx
import numpy as np
import pandas as pd
from branca.element import Figure
from folium.plugins import DualMap

from pcn_planner.core.files import atomic_write_text, staged_directory
from pcn_planner.model.plan import Plan
from pcn_planner.outputs.maps.offline import save_offline
from pcn_planner.outputs.maps.plan_map import (
    DECLUTTER_JS,
    FLAG_COLOUR,
    FONT,
    HUB_CLASS,
    LAYER_OSM,
    PALETTE,
    PRACTICE_COLOURS,
    PageElement,
    add_hub_outline_and_label,
    add_practice_layer,
    circle_svg,
    feature_collection,
    hub_adjacency,
    hub_colours,
    hub_popup_html,
    hub_shapes,
    hub_tooltip_html,
    label_points,
    label_ranks,
    member_rows,
    page_css,
    practice_radius,
    short_name,
    simplify_shapes,
    swatch_html,
)
from pcn_planner.scoring.differences import Comparison, summary_metric
from pcn_planner.scoring.metrics import gap_text
from pcn_planner.scoring.scorecard import Scorecard

__all__ = [
    "MOVE_COLOUR",
    "comparison_colours",
    "comparison_map",
    "difference_map",
    "write_comparison",
]

#: Ring round a practice that changes hub.
MOVE_COLOUR = "#E6007E"

_LAYER_HUBS = "Hubs"
_LAYER_MOVES = "Practices that change hub"
_LAYER_A_OUTLINES = "Hub boundaries in {a}"
_HEADER_PX = 62
_PANEL_PX = 390


# ---------------------------------------------------------------------------
# Words
# ---------------------------------------------------------------------------


# ---------------------------------------------------------------------------
# Colours
# ---------------------------------------------------------------------------


def comparison_colours(comparison: Comparison) -> tuple[dict[Hashable, str], dict[Hashable, str]]:
    """Fill colours of A's and B's hubs: paired hubs share one colour where possible.

    A paired couple of hubs is one node of a joint graph whose edges are the
    neighbours on either map, which :func:`hub_colours` colours; so
    neighbours differ on both maps and paired hubs match. If the palette
    cannot colour the joint graph, each side is coloured on its own.
    """
    card_a, card_b = comparison.scorecards
    node_a = {h: ("pair", h, comparison.pairing[h]) if h in comparison.pairing else ("a", h) for h in card_a.hubs.index}
    b_to_a = {b: a for a, b in comparison.pairing.items()}
    node_b = {h: ("pair", b_to_a[h], h) if h in b_to_a else ("b", h) for h in card_b.hubs.index}
    adj_a, adj_b = hub_adjacency(card_a), hub_adjacency(card_b)
    joint: nx.Graph = nx.Graph()
    joint.add_nodes_from(itertools.chain(node_a.values(), node_b.values()))
    joint.add_edges_from((node_a[u], node_a[v]) for u, v in adj_a.edges)
    joint.add_edges_from((node_b[u], node_b[v]) for u, v in adj_b.edges)
    try:
        colours = hub_colours(joint)
    except ValueError:
        return hub_colours(adj_a, card_a.hubs.index), hub_colours(adj_b, card_b.hubs.index)
    return ({h: colours[n] for h, n in node_a.items()}, {h: colours[n] for h, n in node_b.items()})


# ---------------------------------------------------------------------------
# Page furniture
# ---------------------------------------------------------------------------

_CMP_CSS = """
<style>
  body { background: #F2F2EE; }
  .leaflet-container path.leaflet-interactive:focus { outline: none; }
  #pcn-cmp-header { position: fixed; top: 0; left: 0; right: PANELpx; height: HEADpx; z-index: 1001;
    box-sizing: border-box; padding: 8px 16px 0 14px; background: #fff; border-bottom: 1px solid #d4d4cf;
    font: 13px/1.35 FONT; color: #1d1d1d; overflow: hidden; white-space: nowrap; text-overflow: ellipsis; }
  #pcn-cmp-header h1 { font: 600 18px/1.3 FONT; margin: 0 0 2px 0; overflow: hidden; text-overflow: ellipsis; }
  #pcn-cmp-header .pcn-vs { color: #777; font-weight: 400; margin: 0 6px; }
  #pcn-cmp-header .pcn-sub { color: #555; font-size: 12.5px; overflow: hidden; text-overflow: ellipsis; }
  .pcn-side { display: inline-block; min-width: 18px; padding: 0 5px; margin-right: 5px; border-radius: 3px;
    background: #2B2B2B; color: #fff; font: 700 12px/18px FONT; text-align: center; vertical-align: 2px; }
  #pcn-cmp-panel { position: fixed; top: 0; right: 0; bottom: 0; width: PANELpx; z-index: 1001;
    box-sizing: border-box; overflow-y: auto; background: #fff; border-left: 1px solid #d4d4cf;
    padding: 12px 16px 16px 16px; font: 13px/1.4 FONT; color: #1d1d1d; }
  #pcn-cmp-panel h2 { font: 600 12px/1.3 FONT; text-transform: uppercase; letter-spacing: 0.04em; color: #555;
    margin: 16px 0 6px 0; }
  #pcn-cmp-panel h2:first-child { margin-top: 2px; }
  .pcn-chips { display: flex; gap: 8px; }
  .pcn-chip { flex: 1; border: 1px solid #e0e0dc; border-radius: 6px; padding: 7px 10px 6px 10px;
    background: #FAFAF8; }
  .pcn-chip b { display: block; font: 700 24px/1.1 FONT; font-variant-numeric: tabular-nums; }
  .pcn-chip.pcn-move b { color: MOVE; }
  .pcn-chip span { font-size: 12px; color: #444; }
  table#pcn-cmp-table { border-collapse: collapse; width: 100%; font-size: 12.5px; }
  #pcn-cmp-table th, #pcn-cmp-table td { padding: 3px 4px; border-bottom: 1px solid #ececea; }
  #pcn-cmp-table thead th { font-weight: 600; color: #444; text-align: right; border-bottom: 1.5px solid #bdbdb8;
    vertical-align: bottom; }
  #pcn-cmp-table thead th:first-child { text-align: left; }
  #pcn-cmp-table tbody th { text-align: left; font-weight: 400; color: #222; }
  #pcn-cmp-table td { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
  #pcn-cmp-table td.pcn-better { color: #1B7837; font-weight: 600; }
  #pcn-cmp-table td.pcn-worse { color: #B2182B; font-weight: 600; }
  #pcn-cmp-table td.pcn-same { color: #777; }
  #pcn-cmp-panel .pcn-note { color: #666; font-size: 11.5px; margin-top: 5px; }
  #pcn-cmp-legend .pcn-row { display: flex; align-items: center; gap: 8px; margin: 3px 0; font-size: 12.5px; }
  #pcn-cmp-legend .pcn-key { flex: 0 0 26px; display: flex; justify-content: center; align-items: center; }
  ol#pcn-cmp-moves { list-style: none; margin: 0; padding: 0; font-size: 12.5px; }
  #pcn-cmp-moves li { padding: 4px 4px 4px 6px; border-left: 3px solid transparent; border-bottom: 1px solid #f0f0ee;
    cursor: pointer; }
  #pcn-cmp-moves li:hover { background: #FDF0F7; border-left-color: MOVE; }
  #pcn-cmp-moves .pcn-what { color: #555; font-size: 12px; }
  #pcn-cmp-moves .pcn-arrow { color: MOVE; font-weight: 700; }
  .pcn-tag { display: inline-block; font-size: 10.5px; padding: 0 4px; border-radius: 3px; background: #eee;
    color: #444; margin-left: 3px; vertical-align: 1px; }
  .pcn-caption { background: rgba(255,255,255,0.95); border-radius: 6px; box-shadow: 0 1px 5px rgba(0,0,0,0.3);
    padding: 6px 10px 6px 9px; font: 12.5px/1.4 FONT; color: #1d1d1d; max-width: 300px; }
  .pcn-caption .pcn-cap-title { font: 600 14.5px/1.3 FONT; }
  .pcn-caption .pcn-cap-stats { color: #333; }
  .pcn-caption .pcn-cap-stats .pcn-warn { color: FLAG; font-weight: 600; white-space: nowrap; }
  .pcn-tip { white-space: normal; width: 260px; }
  .pcn-tip .pcn-move-line { margin-top: 3px; padding-top: 3px; border-top: 1px solid #eee; }
  .pcn-dot { display: inline-block; width: 10px; height: 10px; border-radius: 50%; vertical-align: -1px;
    margin-right: 3px; border: 1px solid #999; box-sizing: border-box; }
</style>
"""


# Page behaviour: captions on each map; fit the hubs below the captions; hide
# hub labels that would overlap a more important one (scoped to each map);
# show where the pointer is on the other map; clicking a move in the panel
# zooms to that practice (both maps follow).
_CMP_JS = """
(function () {
    var maps = MAPS;
    var box = BOX;
    var captions = CAPTIONS;
    maps.forEach(function (map, i) {
        if (!captions[i]) { return; }
        var control = L.control({position: "topleft"});
        control.onAdd = function () {
            var div = L.DomUtil.create("div", "pcn-caption");
            div.innerHTML = captions[i];
            L.DomEvent.disableClickPropagation(div);
            L.DomEvent.disableScrollPropagation(div);
            return div;
        };
        control.addTo(map);
    });
    function fit() {
        var top = 10;
        maps.forEach(function (map) {
            var cap = map.getContainer().querySelector(".pcn-caption");
            if (cap) { top = Math.max(top, cap.offsetTop + cap.offsetHeight + 8); }
        });
        maps.forEach(function (map) {
            map.stop();
            map.fitBounds(box, {paddingTopLeft: [12, top], paddingBottomRight: [12, 12], animate: false});
        });
    }
""" + DECLUTTER_JS + """    function declutterMap(map) { declutter(map.getContainer()); }
    maps.forEach(function (map) {
        map.on("zoomend overlayadd", function () { declutterMap(map); });
    });
    if (maps.length === 2 && maps[0].sync) {
        // A marker on the other map where the pointer is (DualMap syncs the views).
        var cursor = {radius: 7, color: "#1d1d1d", weight: 1.5, fillColor: "#ffffff", fillOpacity: 0.5,
                      interactive: false};
        maps[0].sync(maps[1], {syncCursor: true, syncCursorMarkerOptions: cursor});
        maps[1].sync(maps[0], {syncCursor: true, syncCursorMarkerOptions: cursor});
    }
    Array.prototype.forEach.call(document.querySelectorAll("#pcn-cmp-moves li[data-lat]"), function (li) {
        li.addEventListener("click", function () {
            var target = maps[maps.length - 1];
            target.setView([+li.dataset.lat, +li.dataset.lon], Math.max(target.getZoom(), 13));
        });
    });
    fit();
    maps.forEach(declutterMap);
    window.addEventListener("resize", function () { maps.forEach(declutterMap); });
    window.addEventListener("load", function () { maps.forEach(declutterMap); });
})();
"""


def _header(comparison: Comparison, sub_extra: str = "") -> str:
    esc = html.escape
    (na, nb), (ta, tb) = comparison.names, comparison.titles
    bounds = comparison.scorecard_a.bounds
    today = date.today()

    def side(name: str, title: str) -> str:
        rest = title[len(name) + 2:] if title != name else ""
        rest = rest[:1].upper() + rest[1:]
        return f'<span class="pcn-side">{esc(name)}</span>{esc(rest)}'

    ka, kb = comparison.plan_a.k, comparison.plan_b.k
    sub = (f"{ka} hubs → {kb} hubs · bounds {bounds.min:,}–{bounds.max:,} patients per hub · "
           f"{today.day} {today:%B %Y}")
    if sub_extra:
        sub += f" · {sub_extra}"
    return (f'<div id="pcn-cmp-header"><h1>{side(na, ta)}<span class="pcn-vs">compared with</span>{side(nb, tb)}</h1>'
            f'<div class="pcn-sub">{esc(sub)}</div></div>')


def _caption(name: str, title: str, card: Scorecard, gap: float | None) -> str:
    esc = html.escape
    hubs, k = card.hubs, card.plan.k
    rest = title[len(name) + 2:] if title != name else ""
    rest = rest[:1].upper() + rest[1:]
    in_band = int((hubs["band"] == "ok").sum())
    contiguous = int(hubs["contiguous"].astype(bool).sum())
    flagged = len(card.flagged_hubs)
    warn = (f' · <span class="pcn-warn">⚠ {flagged} flagged</span>' if flagged else "")
    return (f'<div class="pcn-cap-title"><span class="pcn-side">{esc(name)}</span>{esc(rest)}</div>'
            f'<div class="pcn-cap-stats">{k} hubs · {in_band} in band · {contiguous} contiguous{warn}</div>'
            f'<div class="pcn-cap-stats">mean travel {card.summary["travel_mean_min"]:.1f} min · '
            f'{esc(gap_text(gap))}</div>')


def _summary_html(comparison: Comparison) -> str:
    esc = html.escape
    na, nb = comparison.names
    head = (f'<thead><tr><th>Measure</th><th><span class="pcn-side">{esc(na)}</span></th>'
            f'<th><span class="pcn-side">{esc(nb)}</span></th><th>Change</th></tr></thead>')
    shown = comparison.summary_table()  # the words for each value, so the page and the notebook agree
    body = []
    for key, r in comparison.summary.iterrows():
        verdict = summary_metric(str(key)).verdict(float(r["difference"]))
        verdict = "same" if verdict == "neutral" else verdict  # no colour where a change is neither
        text = shown.loc[key]
        body.append(f'<tr><th>{esc(str(r["measure"]))}</th><td>{esc(text[na])}</td>'
                    f'<td>{esc(text[nb])}</td>'
                    f'<td class="pcn-{verdict}">{esc(text["difference"])}</td></tr>')
    return (f'<table id="pcn-cmp-table">{head}<tbody>{"".join(body)}</tbody></table>'
            f'<div class="pcn-note">Change is {esc(nb)} minus {esc(na)}; green is better, red worse. '
            'Travel is by car from home to the hub base site.</div>')


def _legend_html(comparison: Comparison, mode: str) -> str:
    na, nb = comparison.names
    rows = []

    def row(key: str, text: str) -> None:
        rows.append(f'<div class="pcn-row"><span class="pcn-key">{key}</span><span>{text}</span></div>')

    ring = (f'<svg width="24" height="24" viewBox="0 0 24 24"><circle cx="12" cy="12" r="8.5" fill="none" '
            f'stroke="#fff" stroke-width="6"/><circle cx="12" cy="12" r="8.5" fill="none" stroke="{MOVE_COLOUR}" '
            f'stroke-width="3.5"/><circle cx="12" cy="12" r="4" fill="#fff" stroke="#333" stroke-width="1.5"/></svg>')
    if mode == "dual":
        row(swatch_html(PALETTE[0] + "80", border="#2B2B2B", weight=1.3),
            f"Hub territory. A hub of {html.escape(nb)} takes the colour of its matching hub in "
            f"{html.escape(na)} (the one it shares most practices with)")
        row(ring, f"Practice that changes hub (ringed on {html.escape(nb)}; dashed on {html.escape(na)})")
    else:
        row(swatch_html(PALETTE[0] + "40", border="#2B2B2B", weight=1.3), f"Hub of {html.escape(nb)}")
        row(swatch_html("#FFFFFF", border="#555", dash=True, weight=2), f"Hub boundary in {html.escape(na)}")
        row(ring, "Practice that changes hub, filled with its new hub's colour")
    row(swatch_html("#FFFFFF", border=FLAG_COLOUR, dash=True, weight=3),
        "⚠ Hub outside the population band, or not contiguous")
    if mode == "dual":
        row(circle_svg(6, PRACTICE_COLOURS["practice"], "#333333"), "Practice (circle area ∝ list size)")
        row(circle_svg(6, PRACTICE_COLOURS["anchor"], "#FFFFFF"), "Anchor practice (resilient)")
        row(circle_svg(6, PRACTICE_COLOURS["high risk"], "#FFFFFF"), "High-risk practice (sustainability)")
    note = ("Pan or zoom either map and the other follows; a circle marks the pointer's place on the other map. "
            "Click a hub for its scorecard." if mode == "dual" else "Hover a ringed practice for its move.")
    return f'<div id="pcn-cmp-legend">{"".join(rows)}<div class="pcn-note">{note}</div></div>'


def _moves_html(comparison: Comparison) -> str:
    esc = html.escape
    moved = comparison.moved
    if moved.empty:
        return '<div class="pcn-note">No practice changes hub.</div>'
    practices = comparison.scorecard_a.region.atlas.practices
    tags = {"merged": "hub merged"}
    items = []
    for r in moved.itertuples(index=False):
        lat, lon = float(practices.at[r.practice_code, "lat"]), float(practices.at[r.practice_code, "lon"])
        tag = f'<span class="pcn-tag">{tags[r.change]}</span>' if r.change in tags else ""
        items.append(
            f'<li data-lat="{lat:.5f}" data-lon="{lon:.5f}" title="Click to zoom to this practice">'
            f'<b>{esc(r.name)}</b> <span class="pcn-what">{esc(r.practice_code)} · {r.list_size:,} patients</span>'
            f'<br><span class="pcn-what">{esc(short_name(r.hub_a))} <span class="pcn-arrow">→</span> '
            f'{esc(short_name(r.hub_b))}</span>{tag}</li>')
    return f'<ol id="pcn-cmp-moves">{"".join(items)}</ol>'


def _panel(comparison: Comparison, mode: str) -> str:
    esc = html.escape
    n_moved, n_pairs = len(comparison.moved), len(comparison.pairs_broken)
    patients = int(comparison.moved["list_size"].sum()) if n_moved else 0
    chips = (f'<div class="pcn-chips"><div class="pcn-chip pcn-move" id="pcn-cmp-moved"><b>{n_moved:,}</b>'
             f'<span>practice{"s" if n_moved != 1 else ""} change{"s" if n_moved == 1 else ""} hub'
             f'{f" ({patients:,} patients)" if n_moved else ""}</span></div>'
             f'<div class="pcn-chip" id="pcn-cmp-pairs"><b>{n_pairs:,}</b>'
             f'<span>{esc(comparison.pairs_broken_label)}</span></div></div>')
    return (f'<div id="pcn-cmp-panel"><h2>What changes</h2>{chips}'
            f'<h2>Key measures</h2>{_summary_html(comparison)}'
            f'<h2>Key</h2>{_legend_html(comparison, mode)}'
            f'<h2>Practices that change hub ({n_moved:,})</h2>{_moves_html(comparison)}</div>')


def _page_css() -> str:
    own = (_CMP_CSS.replace("FONT", FONT).replace("FLAG", FLAG_COLOUR).replace("MOVE", MOVE_COLOUR)
           .replace("HEADpx", f"{_HEADER_PX}px").replace("PANELpx", f"{_PANEL_PX}px"))
    return page_css() + own


def _box(*cards: Scorecard) -> list[list[float]]:
    bounds = np.array([c.geometry.total_bounds for c in cards])
    west, south = bounds[:, 0].min(), bounds[:, 1].min()
    east, north = bounds[:, 2].max(), bounds[:, 3].max()
    return [[float(south), float(west)], [float(north), float(east)]]


def _page_script(maps: Sequence[folium.Map], box: list[list[float]], captions: Sequence[str]) -> str:
    return (_CMP_JS.replace("MAPS", "[" + ", ".join(m.get_name() for m in maps) + "]")
            .replace("BOX", json.dumps(box)).replace("CAPTIONS", json.dumps(list(captions))))


def _position_css(m: folium.Map, left: str, width: str, *, divider: bool = False) -> str:
    """Place a map below the header and left of the panel (by id, so Leaflet sizes it right at start)."""
    line = " border-left: 2px solid #fff; box-shadow: inset 1px 0 0 #b9b9b4;" if divider else ""
    return (f"<style>html body #{m.get_name()} {{ position: absolute; top: {_HEADER_PX}px; left: {left}; "
            f"width: {width}; height: calc(100% - {_HEADER_PX}px); box-sizing: border-box;{line} }}</style>")


def _add_panes(m: folium.Map) -> None:
    for name, z in (("pcnBorders", 420), ("pcnPoints", 450), ("pcnMoves", 460)):
        folium.map.CustomPane(name, z_index=z, pointer_events=name != "pcnBorders").add_to(m)


# ---------------------------------------------------------------------------
# Map layers
# ---------------------------------------------------------------------------


def _add_hubs(m: folium.Map, card: Scorecard, colours: Mapping[Hashable, str], side: str, *,
              partner: Mapping[str, str], partner_plan: Plan, partner_name: str,
              fill_opacity: float = 0.5, interactive: bool = True) -> None:
    """Hub polygons, outlines and labels of one side (CSS classes ``pcn-hub pcn-side-<side>``)."""
    region, bounds, hubs, plan = card.region, card.bounds, card.hubs, card.plan
    practices = region.atlas.practices
    geometry = card.geometry
    flagged = card.flagged_hubs
    layer = folium.FeatureGroup(name=_LAYER_HUBS, show=True).add_to(m)
    geoms, _has_territory = hub_shapes(geometry)
    members = plan.members()
    partner_members = partner_plan.members()
    labels = label_points(geometry.geometry)
    rank = label_ranks(geometry, flagged)
    for i, hub in enumerate(geometry.index):
        row = hubs.loc[hub].to_dict()
        colour = colours.get(hub, PALETTE[0])
        is_flagged = hub in flagged
        css = f"{HUB_CLASS}-{side}{i}"
        feature = feature_collection(np.array([geoms[i]], dtype=object), [{"id": str(hub)}])
        other = partner.get(hub)
        if other is not None:
            shared = len(set(members.get(hub, [])) & set(partner_members.get(other, [])))
            pairing = (f"Same hub as <b>{html.escape(partner_plan.label(other))}</b> in {html.escape(partner_name)} "
                       f"({shared} of {len(members.get(hub, []))} practices shared)")
        else:
            pairing = f"No matching hub in {html.escape(partner_name)}"
        if interactive:
            listed = member_rows(practices, members.get(hub, []))
            popup_html = hub_popup_html(hub, row, bounds, listed, colour, card.hub_breaches(hub)).replace(
                '<table class="pcn-table">', f'<div class="pcn-muted" style="margin:2px 0">{pairing}</div>'
                '<table class="pcn-table">', 1)
        fill = folium.GeoJson(
            feature,
            style_function=lambda _f, colour=colour, css=css: {
                "fillColor": colour, "fillOpacity": fill_opacity, "color": "#FFFFFF", "weight": 0.5,
                "opacity": 0.6, "className": f"{HUB_CLASS} pcn-side-{side} {css}",
            },
            highlight_function=(lambda _f: {"fillOpacity": min(fill_opacity + 0.2, 0.9)}) if interactive else None,
            interactive=interactive, control=False, name=f"hub {hub}",
        )
        patients = f"{int(row['patients']):,}"
        if interactive:
            folium.Tooltip(hub_tooltip_html(row, pairing, flagged=is_flagged), sticky=True).add_to(fill)
            folium.Popup(popup_html, max_width=340, parse_html=False, maxHeight=420,
                         autoPanPaddingTopLeft=[10, 95], autoPanPaddingBottomRight=[10, 10]).add_to(fill)
        fill.add_to(layer)
        add_hub_outline_and_label(layer, feature, hub=hub, flagged=is_flagged, position=labels[hub],
                                  rank=rank[hub], data_hub=css, name=str(row["hub_name"]), patients=patients,
                                  weight=3.5, dash="9 6")


def _move_text(comparison: Comparison, r: Any) -> str:
    esc = html.escape
    na, nb = comparison.names
    text = (f"<span style='color:{MOVE_COLOUR}'>●</span> Moves from <b>{esc(r.hub_a)}</b> ({esc(na)}) "
            f"to <b>{esc(r.hub_b)}</b> ({esc(nb)})")
    if r.change == "merged":
        text += f"<br><span class='pcn-muted'>all of {esc(r.hub_a)} joins this hub</span>"
    return text


def _add_moves(m: folium.Map, comparison: Comparison, *, dashed: bool,
               fill: Mapping[Hashable, str] | None = None) -> None:
    """Rings round the practices that change hub, with a tooltip saying where from and to."""
    practices = comparison.scorecard_a.region.atlas.practices
    layer = folium.FeatureGroup(name=_LAYER_MOVES, show=True).add_to(m)
    moved = comparison.moved.sort_values("list_size", ascending=False)
    for r in moved.itertuples(index=False):
        lat, lon = float(practices.at[r.practice_code, "lat"]), float(practices.at[r.practice_code, "lon"])
        radius = round(practice_radius(r.list_size) + (4 if fill is None else 0.5), 1)
        tip = (f"<div class='pcn-tip'><b>{html.escape(r.name)}</b> "
               f"<span class='pcn-muted'>{html.escape(r.practice_code)}</span><br>"
               f"List size: {r.list_size:,} patients<div class='pcn-move-line'>{_move_text(comparison, r)}</div></div>")
        if fill is not None:
            # Difference map: the practice itself, filled with its new hub's colour.
            folium.CircleMarker([lat, lon], radius=radius + 3, color="#FFFFFF", weight=6, opacity=0.9,
                                fill=False, interactive=False, pane="pcnMoves").add_to(layer)
            folium.CircleMarker(
                [lat, lon], radius=radius + 3, color=MOVE_COLOUR, weight=3.5, opacity=1, fill=True,
                fill_color=fill.get(r.hub_b_id, "#FFFFFF"), fill_opacity=1.0, pane="pcnMoves",
                class_name="pcn-move", tooltip=folium.Tooltip(tip)).add_to(layer)
            continue
        if not dashed:
            folium.CircleMarker([lat, lon], radius=radius, color="#FFFFFF", weight=6.5, opacity=0.9,
                                fill=False, interactive=False, pane="pcnMoves").add_to(layer)
        folium.CircleMarker(
            [lat, lon], radius=radius, color=MOVE_COLOUR, weight=2.2 if dashed else 3.5, opacity=1,
            dash_array="4 3" if dashed else None,
            # An invisible fill catches the pointer over the whole practice, for the tooltip.
            fill=True, fill_color=MOVE_COLOUR, fill_opacity=0.0, pane="pcnMoves",
            class_name="pcn-move" + (" pcn-move-from" if dashed else ""), tooltip=folium.Tooltip(tip),
        ).add_to(layer)


# ---------------------------------------------------------------------------
# Pages
# ---------------------------------------------------------------------------


def comparison_map(comparison: Comparison, *, gap_a: float | None = None,
                   gap_b: float | None = None) -> folium.Figure:
    """Both plans side by side with synchronised pan and zoom, and what changes.

    Parameters
    ----------
    comparison
        From :func:`compare_plans`.
    gap_a, gap_b
        Certified optimality gaps of the two plans (``None``: not certified).

    Returns
    -------
    folium.Figure
        The page: plan A on the left, plan B on the right (both folium maps,
        synchronised by ``folium.plugins.DualMap``; their JavaScript variables
        are the ids of the two ``.leaflet-container`` elements), a header, and a
        side panel with the counts, the measures table, the key and the moves.
        Save it with :func:`pcn_planner.outputs.maps.offline.save_offline`.
    """
    card_a, card_b = comparison.scorecards
    na, nb = comparison.names
    ta, tb = comparison.titles
    colours_a, colours_b = comparison_colours(comparison)
    box = _box(card_a, card_b)
    centre = [(box[0][0] + box[1][0]) / 2, (box[0][1] + box[1][1]) / 2]
    dual = DualMap(location=centre, tiles=None, zoom_start=10, control_scale=True, zoom_snap=0.25,
                   zoom_delta=0.5, zoom_control="bottomright")
    m_a, m_b = dual.m1, dual.m2
    b_to_a = {b: a for a, b in comparison.pairing.items()}
    for m, card, colours, side, partner, other, other_name in (
            (m_a, card_a, colours_a, "a", comparison.pairing, comparison.plan_b, nb),
            (m_b, card_b, colours_b, "b", b_to_a, comparison.plan_a, na)):
        half = f"calc((100% - {_PANEL_PX}px) / 2)"
        m._parent.header.add_child(folium.Element(_position_css(m, "0px" if side == "a" else half, half,
                                                                divider=side == "b")), name=f"pcn-pos-{side}")
        _add_panes(m)
        _add_hubs(m, card, colours, side, partner=partner, partner_plan=other, partner_name=other_name)
        add_practice_layer(m, card, card.region.risk.table)
        _add_moves(m, comparison, dashed=side == "a")
        folium.TileLayer("OpenStreetMap", name=LAYER_OSM, overlay=True, show=False, control=True,
                         opacity=0.6).add_to(m)
        folium.LayerControl(collapsed=True, position="topright").add_to(m)
    figure = m_a._parent
    figure.header.add_child(folium.Element(_page_css()), name="pcn-cmp-css")
    figure.header.add_child(folium.Element(f"<title>{html.escape(ta)} compared with {html.escape(tb)}</title>"),
                            name="pcn-cmp-title")
    captions = [_caption(na, ta, card_a, gap_a), _caption(nb, tb, card_b, gap_b)]
    # On the second map, so that both map variables exist when the script runs.
    m_b.add_child(PageElement(_header(comparison) + _panel(comparison, "dual"),
                               js=_page_script((m_a, m_b), box, captions)))
    return figure


def difference_map(comparison: Comparison) -> folium.Map:
    """One map of what changes: B's hubs, A's hub boundaries, and only the practices that move.

    Each moving practice is filled with its new hub's colour and ringed in
    magenta; its tooltip says where it moves from and to.
    """
    card_a, card_b = comparison.scorecards
    na, nb = comparison.names
    _colours_a, colours_b = comparison_colours(comparison)
    box = _box(card_a, card_b)
    centre = [(box[0][0] + box[1][0]) / 2, (box[0][1] + box[1][1]) / 2]
    m = folium.Map(location=centre, tiles=None, zoom_start=10, control_scale=True, zoom_snap=0.25,
                   zoom_delta=0.5, zoom_control="bottomright", position="absolute", top="0%", left="0%")
    cast("Figure", m.get_root()).header.add_child(folium.Element(
        _page_css() + _position_css(m, "0px", f"calc(100% - {_PANEL_PX}px)")))
    _add_panes(m)
    b_to_a = {b: a for a, b in comparison.pairing.items()}
    _add_hubs(m, card_b, colours_b, "b", partner=b_to_a, partner_plan=comparison.plan_a, partner_name=na,
              fill_opacity=0.3)
    # A's hub boundaries, dashed, for where the lines moved.
    outlines = folium.FeatureGroup(name=_LAYER_A_OUTLINES.format(a=na), show=True).add_to(m)
    geometry = card_a.geometry
    geoms = simplify_shapes(geometry.geometry.boundary.to_numpy(), coverage=False)
    folium.GeoJson(
        feature_collection(geoms, [{"id": str(h)} for h in geometry.index]),
        style_function=lambda _f: {"fill": False, "color": "#1d1d1d", "weight": 2.2, "opacity": 0.9,
                                   "dashArray": "6 5", "className": "pcn-hub-a-outline"},
        interactive=False, pane="pcnBorders", control=False,
    ).add_to(outlines)
    _add_moves(m, comparison, dashed=False, fill=colours_b)
    folium.TileLayer("OpenStreetMap", name=LAYER_OSM, overlay=True, show=False, control=True, opacity=0.6).add_to(m)
    folium.LayerControl(collapsed=True, position="topright").add_to(m)
    caption = (f'<div class="pcn-cap-title">Changes from <span class="pcn-side">{html.escape(na)}</span>'
               f' to <span class="pcn-side">{html.escape(nb)}</span></div>'
               f'<div class="pcn-cap-stats">{html.escape(nb)} hubs filled · {html.escape(na)} hub boundaries dashed'
               f'<br>{len(comparison.moved):,} practices change hub (ringed)</div>')
    m.add_child(PageElement(_header(comparison) + _panel(comparison, "difference"),
                             js=_page_script((m,), box, [caption])))
    return m


def write_comparison(comparison: Comparison, out_dir: str | Path, *, gap_a: float | None = None,
                     gap_b: float | None = None, difference: bool = True) -> Path:
    """Write ``compare.html``, ``moved.csv``, ``pairs_broken.csv`` and ``summary.csv`` to ``out_dir``.

    With ``difference`` (default) also ``difference.html`` (:func:`difference_map`).
    Every file is written to a stage first and moved into place only when all
    are done, so a failure leaves ``out_dir`` as it was. Returns ``out_dir``.
    """
    out = Path(out_dir)
    with staged_directory(out) as stage:
        save_offline(comparison_map(comparison, gap_a=gap_a, gap_b=gap_b), stage / "compare.html")
        if difference:
            save_offline(difference_map(comparison), stage / "difference.html")
        atomic_write_text(stage / "moved.csv", comparison.moved.to_csv(index=False, lineterminator="\n"))
        atomic_write_text(stage / "pairs_broken.csv",
                          comparison.pairs_broken.to_csv(index=False, lineterminator="\n"))
        summary = comparison.summary.drop(columns="better").rename_axis("key")
        for col in (*comparison.names, "difference"):
            summary[col] = pd.Series([round(v, 6) if isinstance(v, float) else v for v in summary[col]],
                                     index=summary.index, dtype=object)
        atomic_write_text(stage / "summary.csv", summary.to_csv(lineterminator="\n"))
    return out
