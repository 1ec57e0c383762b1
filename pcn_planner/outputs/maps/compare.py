"""Compare two plans side by side: what changes, what it costs, and where.

:func:`compare_plans` scores two plans of the same region and works out what
changes between them:

* **Hub pairing** - hub ids differ between plans, so each hub of plan A is
  paired one-to-one with a hub of plan B to maximise the practices they share
  (an assignment problem, exactly as :meth:`pcn_planner.model.plan.Plan.moved_from`
  does it). Paired hubs are "the same hub" in both plans.
* **Practices moved** - a practice moved if its hub in B is not the one paired
  with its hub in A. When one plan has more hubs, the hubs left unpaired count
  all their practices as moved: merging PCNs X and Y moves the practices of
  the one that shares fewer practices with the merged hub (``change`` is
  ``"merged"`` when a whole hub of A went into one hub of B, ``"split"`` when a
  new hub of B is carved out of one hub of A, ``"moved"`` otherwise).
* **Pairs broken** - two practices in the same hub in A and in different hubs in B.
* **Summary** - the key measures of both plans side by side with the difference.

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
import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import folium
import networkx as nx
import numpy as np
import pandas as pd
from folium.plugins import DualMap

from pcn_planner.core.files import atomic_write_text, staged_directory
from pcn_planner.model.plan import Plan
from pcn_planner.model.problem import Bounds
from pcn_planner.scoring.scorecard import Scorecard, score_plan
from pcn_planner.outputs.maps.offline import save_offline
from pcn_planner.outputs.maps.plan_map import FLAG_COLOUR, FONT, HUB_CLASS, LAYER_OSM, METRIC_CRS, PALETTE, PRACTICE_COLOURS, PageElement, add_hub_outline_and_label, add_practice_layer, circle_svg, feature_collection, gap_text, hub_adjacency, hub_colours, hub_popup_html, label_points, page_css, practice_radius, short_name, simplify_shapes, swatch_html

if TYPE_CHECKING:
    from pcn_planner.geography.region import Region

__all__ = [
    "MOVE_COLOUR",
    "SUMMARY_MEASURES",
    "Comparison",
    "broken_pairs",
    "compare_plans",
    "comparison_colours",
    "comparison_map",
    "difference_map",
    "moved_practices",
    "pair_hubs",
    "write_comparison",
]

#: Ring round a practice that changes hub.
MOVE_COLOUR = "#E6007E"

#: Measures in the side-by-side summary: key -> (label, unit, which way is better).
#: ``better`` is "higher", "lower" or "" (neither).
SUMMARY_MEASURES: dict[str, tuple[str, str, str]] = {
    "hubs": ("Hubs (K)", "count", ""),
    "hubs_in_band": ("Hubs in band", "count", "higher"),
    "contiguous_hubs": ("Contiguous hubs", "count", "higher"),
    "travel_mean_min": ("Mean travel", "minutes", "lower"),
    "travel_p90_min": ("90th percentile travel", "minutes", "lower"),
    "town_outside_share": ("Outside main town", "%", "lower"),
    "towns_split": ("Towns split", "count", "lower"),
    "practices_moved": ("Practices moved", "count", "lower"),
    "pcn_pairs_broken": ("Pairs broken", "count", "lower"),
}

_LAYER_HUBS = "Hubs"
_LAYER_PRACTICES = "Practices"
_LAYER_MOVES = "Practices that change hub"
_LAYER_A_OUTLINES = "Hub boundaries in {a}"
_HEADER_PX = 62
_PANEL_PX = 390


# ---------------------------------------------------------------------------
# What changes (pure functions on two plans)
# ---------------------------------------------------------------------------


def _aligned(plan_a: Plan, plan_b: Plan) -> tuple[pd.Series, pd.Series]:
    a, b = plan_a.assignment, plan_b.assignment
    if set(a.index) != set(b.index):
        only_a = sorted(set(a.index) - set(b.index))[:5]
        only_b = sorted(set(b.index) - set(a.index))[:5]
        raise ValueError(f"plans {plan_a.name!r} and {plan_b.name!r} cover different practices: "
                         f"only in the first {only_a}, only in the second {only_b}")
    return a, b.reindex(a.index)


def pair_hubs(plan_a: Plan, plan_b: Plan) -> dict[str, str]:
    """Pair hubs of A one-to-one with hubs of B to maximise the practices they share.

    The same assignment as :meth:`Plan.moved_from` (``plan_b.moved_from(plan_a)``),
    so the practices it calls moved are the ones :func:`moved_practices` lists.
    Pairs that share no practice are left out.

    Returns
    -------
    dict
        hub of A -> hub of B. Hubs of the plan with more hubs are left unpaired.
    """
    from scipy.optimize import linear_sum_assignment

    a, b = _aligned(plan_a, plan_b)
    # Rows B, columns A: the orientation of Plan.moved_from, so ties break the same way.
    joint = pd.crosstab(b, a)
    rows, cols = linear_sum_assignment(-joint.to_numpy())
    return {str(joint.columns[c]): str(joint.index[r]) for r, c in zip(rows, cols) if joint.iat[r, c] > 0}


def moved_practices(plan_a: Plan, plan_b: Plan, pairing: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Practices whose hub in B is not the one paired with their hub in A.

    Returns
    -------
    DataFrame
        ``practice_code``, ``hub_a_id``, ``hub_b_id`` and ``change``: ``"merged"``
        (its whole hub of A, left unpaired, went into one hub of B),
        ``"split"`` (its hub of B, left unpaired, is carved out of one hub of A)
        or ``"moved"``. Sorted by practice code.
    """
    a, b = _aligned(plan_a, plan_b)
    pairing = pair_hubs(plan_a, plan_b) if pairing is None else pairing
    paired_b = set(pairing.values())
    hubs_b_of_a = b.groupby(a).nunique()
    hubs_a_of_b = a.groupby(b).nunique()
    rows = []
    for code in a.index:
        ha, hb = a[code], b[code]
        if pairing.get(ha) == hb:
            continue
        if ha not in pairing and hubs_b_of_a[ha] == 1:
            change = "merged"
        elif hb not in paired_b and hubs_a_of_b[hb] == 1:
            change = "split"
        else:
            change = "moved"
        rows.append((code, ha, hb, change))
    return pd.DataFrame(rows, columns=["practice_code", "hub_a_id", "hub_b_id", "change"])


def broken_pairs(plan_a: Plan, plan_b: Plan) -> pd.DataFrame:
    """Pairs of practices in the same hub in A and in different hubs in B.

    Returns
    -------
    DataFrame
        ``practice_1``, ``practice_2`` (``practice_1 < practice_2``), ``hub_a_id``,
        ``hub_b_id_1``, ``hub_b_id_2``; sorted by hub of A, then codes. Its length
        is the plan's ``pcn_pairs_broken`` when A is the scorecard's baseline.
    """
    a, b = _aligned(plan_a, plan_b)
    rows = []
    for hub, members in a.groupby(a, sort=True):
        codes = sorted(members.index)
        for p, q in itertools.combinations(codes, 2):
            if b[p] != b[q]:
                rows.append((p, q, hub, b[p], b[q]))
    return pd.DataFrame(rows, columns=["practice_1", "practice_2", "hub_a_id", "hub_b_id_1", "hub_b_id_2"])


# ---------------------------------------------------------------------------
# The comparison
# ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Comparison:
    """Two scored plans of one region and what changes between them.

    Attributes
    ----------
    names
        Short names of the two sides (column headings, map captions).
    scorecard_a, scorecard_b
        Each plan scored against the current PCNs (as ``evaluate`` does).
    pairing
        Hub of A -> its paired hub of B (see :func:`pair_hubs`).
    moved
        Practices that change hub: ``practice_code``, ``name``, ``list_size``,
        ``hub_a_id``, ``hub_a`` (label), ``hub_b_id``, ``hub_b`` (label),
        ``change`` (``moved``, ``merged`` or ``split``; see :func:`moved_practices`).
    pairs_broken
        Practice pairs together in A and apart in B: ``practice_1``, ``name_1``,
        ``practice_2``, ``name_2``, ``hub_a_id``, ``hub_a``, ``hub_b_1``, ``hub_b_2``.
    summary
        Key measures side by side, indexed by measure key: ``measure``, ``unit``,
        one column per side (named by ``names``), ``difference`` (B - A) and
        ``better`` (``higher``/``lower``/empty).
    a_is_current
        Whether plan A is the current PCN map (then "pairs broken" are current
        PCN pairs broken).
    """

    names: tuple[str, str]
    scorecard_a: Scorecard
    scorecard_b: Scorecard
    pairing: dict[str, str]
    moved: pd.DataFrame
    pairs_broken: pd.DataFrame
    summary: pd.DataFrame
    a_is_current: bool

    @property
    def plan_a(self) -> Plan:
        return self.scorecard_a.plan

    @property
    def plan_b(self) -> Plan:
        return self.scorecard_b.plan

    @property
    def scorecards(self) -> tuple[Scorecard, Scorecard]:
        return self.scorecard_a, self.scorecard_b

    @property
    def titles(self) -> tuple[str, str]:
        """Each side's name, with the plan's own name when it says more."""
        return tuple(_side_title(n, c.plan) for n, c in zip(self.names, self.scorecards))  # type: ignore[return-value]

    @property
    def pairs_broken_label(self) -> str:
        """What the pairs-broken count means, in words."""
        if self.a_is_current:
            return "current PCN pairs broken"
        return f"pairs together in {self.names[0]} split in {self.names[1]}"

    def summary_table(self) -> pd.DataFrame:
        """The summary with values formatted for reading (strings, signed differences)."""
        rows = []
        for key, r in self.summary.iterrows():
            a, b = r[self.names[0]], r[self.names[1]]
            rows.append({"measure": r["measure"], self.names[0]: _fmt(r["unit"], a),
                         self.names[1]: _fmt(r["unit"], b), "difference": _fmt_diff(r["unit"], r["difference"])})
        return pd.DataFrame(rows, index=self.summary.index)

    def __repr__(self) -> str:
        return (f"<Comparison {self.names[0]} ({self.plan_a.k} hubs) vs {self.names[1]} ({self.plan_b.k} hubs): "
                f"{len(self.moved)} practices moved, {len(self.pairs_broken)} pairs broken>")


def _side_title(name: str, plan: Plan) -> str:
    own = str(plan.name or "").strip()
    if not own or own.lower() in {"plan", name.lower()}:
        return name
    return f"{name}: {own}"


def compare_plans(
    region: Region,
    plan_a: Plan,
    plan_b: Plan,
    *,
    names: Sequence[str] = ("A", "B"),
    bounds: Bounds = Bounds(),
) -> Comparison:
    """Score two plans of a region and work out what changes from A to B.

    Parameters
    ----------
    region
        From :func:`pcn_planner.geography.region.build_region`.
    plan_a, plan_b
        Plans of every practice of the region (A is the reference, e.g. today's PCNs).
    names
        Two different short names for the sides, e.g. the run folders' names.
    bounds
        Population bounds for the band checks.

    Raises
    ------
    ValueError
        If the plans do not cover the region's practices, or the names are not
        two different non-empty strings.
    """
    names = tuple(str(n).strip() for n in names)
    if len(names) != 2 or not all(names) or names[0] == names[1]:
        raise ValueError(f"names must be two different non-empty names, got {names!r}")
    _aligned(plan_a, plan_b)
    card_a = score_plan(region, plan_a, bounds=bounds)
    card_b = score_plan(region, plan_b, bounds=bounds)
    practices = region.atlas.practices
    current = Plan.current(practices)
    a_is_current = plan_a == current

    pairing = pair_hubs(plan_a, plan_b)
    moved = moved_practices(plan_a, plan_b, pairing)
    moved.insert(1, "name", moved["practice_code"].map(practices["name"]).astype(str))
    moved.insert(2, "list_size", moved["practice_code"].map(practices["list_size"]).astype(int))
    moved.insert(4, "hub_a", moved["hub_a_id"].map(plan_a.label))
    moved.insert(6, "hub_b", moved["hub_b_id"].map(plan_b.label))
    moved = moved.sort_values(["hub_a", "list_size", "practice_code"], ascending=[True, False, True],
                              ignore_index=True)

    pairs = broken_pairs(plan_a, plan_b)
    pairs.insert(1, "name_1", pairs["practice_1"].map(practices["name"]).astype(str))
    pairs.insert(3, "name_2", pairs["practice_2"].map(practices["name"]).astype(str))
    pairs.insert(5, "hub_a", pairs["hub_a_id"].map(plan_a.label))
    pairs["hub_b_1"] = pairs.pop("hub_b_id_1").map(plan_b.label)
    pairs["hub_b_2"] = pairs.pop("hub_b_id_2").map(plan_b.label)

    summary = _summary(card_a, card_b, names, a_is_current, len(moved), len(pairs))
    return Comparison(names=names, scorecard_a=card_a, scorecard_b=card_b, pairing=pairing, moved=moved,
                      pairs_broken=pairs, summary=summary, a_is_current=a_is_current)


def _summary(card_a: Scorecard, card_b: Scorecard, names: tuple[str, str], a_is_current: bool,
             n_moved: int, n_broken: int) -> pd.DataFrame:
    def values(card: Scorecard) -> dict[str, float]:
        s = dict(card.summary)
        s["contiguous_hubs"] = s["hubs"] - s["non_contiguous_hubs"]
        return s

    va, vb = values(card_a), values(card_b)
    baseline = card_a.baseline_name
    rows = []
    for key, (label, unit, better) in SUMMARY_MEASURES.items():
        if key == "practices_moved":
            label = f"Practices moved from {baseline}"
        elif key == "pcn_pairs_broken":
            label = f"{baseline[:1].upper()}{baseline[1:]} pairs broken"
            label = label.replace("PCNs pairs", "PCN pairs")
        rows.append((key, label, unit, va[key], vb[key], better))
    if not a_is_current:
        # The scorecards measure disruption from today's PCNs; add A -> B itself.
        rows.append(("moved_a_to_b", f"Practices moving {names[0]} → {names[1]}", "count", 0, n_moved, "lower"))
        rows.append(("pairs_broken_a_to_b", f"{names[0]} pairs broken in {names[1]}", "count", 0, n_broken, "lower"))
    frame = pd.DataFrame(rows, columns=["key", "measure", "unit", names[0], names[1], "better"]).set_index("key")
    frame.index.name = None
    frame.insert(4, "difference", frame[names[1]].astype(float) - frame[names[0]].astype(float))
    for col in (names[0], names[1], "difference"):
        # Counts stay integers (object column), so summary.csv says 25, not 25.0.
        frame[col] = pd.Series([int(v) if u == "count" else float(v) for v, u in zip(frame[col], frame["unit"])],
                               index=frame.index, dtype=object)
    return frame[["measure", "unit", names[0], names[1], "difference", "better"]]


# ---------------------------------------------------------------------------
# Words and numbers
# ---------------------------------------------------------------------------


def _fmt(unit: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if unit == "minutes":
        return f"{value:.1f} min"
    if unit == "%":
        return f"{value:.1%}"
    return f"{int(value):,}"


def _fmt_diff(unit: str, value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if unit == "minutes":
        text, zero = f"{abs(value):.1f} min", abs(value) < 0.05
    elif unit == "%":
        text, zero = f"{abs(value) * 100:.1f} pts", abs(value) < 0.0005
    else:
        text, zero = f"{abs(int(value)):,}", int(value) == 0
    if zero:
        return "no change"
    return ("+" if value > 0 else "−") + text


def _verdict(better: str, value: float, unit: str) -> str:
    """``better``, ``worse`` or ``same`` for a difference B - A."""
    small = {"minutes": 0.05, "%": 0.0005}.get(unit, 0.5)
    if not better or abs(value) < small:
        return "same"
    return "better" if (value > 0) == (better == "higher") else "worse"


# ---------------------------------------------------------------------------
# Colours
# ---------------------------------------------------------------------------


def comparison_colours(comparison: Comparison) -> tuple[dict[str, str], dict[str, str]]:
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
    joint = nx.Graph()
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
    function declutter(map) {
        var root = map.getContainer();
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
        function inside(el, r) {
            var hits = document.elementsFromPoint((r.left + r.right) / 2, (r.top + r.bottom) / 2);
            return hits.some(function (h) { return h.classList && h.classList.contains(el.dataset.hub); });
        }
        var nudges = [[0, 0], [0, 0.9], [0, -0.9], [-0.3, 0], [0.3, 0]];
        function place(el) {
            for (var i = 0; i < nudges.length; i++) {
                el.style.marginLeft = el.style.marginTop = "0px";
                var r0 = el.getBoundingClientRect();
                if (r0.width === 0) { return true; }
                el.style.marginLeft = nudges[i][0] * r0.width + "px";
                el.style.marginTop = nudges[i][1] * r0.height + "px";
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
    maps.forEach(function (map) {
        map.on("zoomend overlayadd", function () { declutter(map); });
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
    maps.forEach(declutter);
    window.addEventListener("resize", function () { maps.forEach(declutter); });
    window.addEventListener("load", function () { maps.forEach(declutter); });
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
    flagged = int(((hubs["band"] != "ok") | ~hubs["contiguous"].astype(bool)).sum())
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
    body = []
    for _key, r in comparison.summary.iterrows():
        verdict = _verdict(r["better"], float(r["difference"]), r["unit"])
        body.append(f'<tr><th>{esc(str(r["measure"]))}</th><td>{esc(_fmt(r["unit"], r[na]))}</td>'
                    f'<td>{esc(_fmt(r["unit"], r[nb]))}</td>'
                    f'<td class="pcn-{verdict}">{esc(_fmt_diff(r["unit"], float(r["difference"])))}</td></tr>')
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
    practices = comparison.scorecard_a._region.atlas.practices
    tags = {"merged": "hub merged", "split": "new hub"}
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


def _flagged(card: Scorecard) -> list[Hashable]:
    return [h for h, r in card.hubs.iterrows() if r["band"] != "ok" or not bool(r["contiguous"])]


def _add_hubs(m: folium.Map, card: Scorecard, colours: Mapping[Hashable, str], side: str, *,
              partner: Mapping[str, str], partner_plan: Plan, partner_name: str,
              fill_opacity: float = 0.5, interactive: bool = True) -> None:
    """Hub polygons, outlines and labels of one side (CSS classes ``pcn-hub pcn-side-<side>``)."""
    region, bounds, hubs, plan = card._region, card.bounds, card.hubs, card.plan
    practices = region.atlas.practices
    geometry = card.geometry
    flagged = _flagged(card)
    layer = folium.FeatureGroup(name=_LAYER_HUBS, show=True).add_to(m)
    has_territory = geometry["has_territory"] if "has_territory" in geometry else pd.Series(True, geometry.index)
    tiles = has_territory.to_numpy(bool)
    geoms = np.empty(len(geometry), dtype=object)
    geoms[tiles] = simplify_shapes(geometry.geometry.to_numpy()[tiles], coverage=True)
    geoms[~tiles] = simplify_shapes(geometry.geometry.to_numpy()[~tiles], coverage=False)
    members = plan.members()
    partner_members = partner_plan.members()
    labels = label_points(geometry.geometry)
    area = geometry.geometry.to_crs(METRIC_CRS).area
    rank = {h: r for r, h in enumerate(sorted(geometry.index, key=lambda h: (h not in flagged, -area[h])))}
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
            member_rows = [(c, str(practices.at[c, "name"]), int(practices.at[c, "list_size"]))
                           for c in sorted(members.get(hub, []), key=lambda c: -practices.at[c, "list_size"])]
            popup_html = hub_popup_html(hub, row, bounds, member_rows, colour).replace(
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
        warn = "⚠ " if is_flagged else ""
        if interactive:
            folium.Tooltip(f"<b>{warn}{html.escape(str(row['hub_name']))}</b><br>{patients} patients · "
                           f"{int(row['practices'])} practices<br><span class='pcn-muted'>{pairing}</span>",
                           sticky=True).add_to(fill)
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
    elif r.change == "split":
        text += f"<br><span class='pcn-muted'>a new hub carved out of {esc(r.hub_a)}</span>"
    return text


def _add_moves(m: folium.Map, comparison: Comparison, *, dashed: bool, fill: Mapping[str, str] | None = None) -> None:
    """Rings round the practices that change hub, with a tooltip saying where from and to."""
    practices = comparison.scorecard_a._region.atlas.practices
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
        add_practice_layer(m, card, card._region.risk.table)
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
    m.get_root().header.add_child(folium.Element(
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
