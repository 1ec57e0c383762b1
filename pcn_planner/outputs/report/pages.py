"""The options report's HTML pages, and :func:`write_report`, which writes the whole report folder.

:func:`write_report` reads run directories (``evaluate`` / ``optimise``
output, see :mod:`pcn_planner.outputs.run`) and writes one folder::

    index.html              sortable table of the options, map thumbnails, glossary
    option-<slug>.html      per option: key figures, broken rules, map, charts, hub table
    map-<slug>.html         the interactive plan map (offline folium page), framed by the option page
    map-<slug>.png          a static map for slides (also :func:`plan_png`)
    plan-<slug>.csv         the plan file (practice_code,hub_id,hub_name)
    plan-<slug>.gpkg        hub polygons + practice points (GeoPackage)
    plan-<slug>.geojson     hub polygons with the hub table (GeoJSON)
    options.xlsx            "Options", one sheet per option, "Glossary"

Every page works straight from disk with no network: the styles, the sort
script and the charts (inline SVG from matplotlib) are in the page, and the
map is an offline page of its own. Every metric's name, unit, definition,
format and "which way is better" come from the registry,
:mod:`pcn_planner.scoring.metrics`, so the report, the maps, the workbook and
``docs/metrics.md`` use the same words; the report's own measures (broken
rules, the objective, the gap) are defined once, in :mod:`.words`.

Each plan is scored again in its own run's context (:class:`~pcn_planner.outputs.run.Run`:
the atlas, user files, threshold, problem and baseline the run recorded), so
the report's verdicts are the ones the command that wrote the run printed; a
run whose recorded inputs are missing or changed is refused, naming the input. Files go to a staging
folder and are moved into ``out`` only when all of them are complete; each file is written atomically.

The parts live beside this module: :mod:`.options` reads the run folders,
:mod:`.charts` draws the charts, :mod:`.static_map` the PNG map, :mod:`.excel`
the workbook, and :mod:`.words` holds the words and colours they share.
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from pcn_planner.core.files import atomic_write_bytes, atomic_write_text, staged_directory
from pcn_planner.core.version import __version__
from pcn_planner.outputs.report.charts import population_chart, travel_chart, travel_histogram
from pcn_planner.outputs.report.excel import excel_bytes
from pcn_planner.outputs.report.options import Option, load_options
from pcn_planner.outputs.report.static_map import plan_png
from pcn_planner.outputs.report.words import (
    _OPTION_DEF,
    CONTIGUOUS_HUBS,
    FLAG_RED,
    GAP,
    NHS_BLUE,
    NHS_GREEN,
    NHS_GREY_5,
    NHS_SECONDARY,
    NHS_TEXT,
    Column,
    _breaks_a_rule,
    _esc,
    _finite,
    _flagged,
    _hub_order,
    _num,
    _options_columns,
    _plan_glossary,
    band_words,
    gap_words,
    hub_names,
)
from pcn_planner.scoring.metrics import HUB, PLAN, Metric

if TYPE_CHECKING:
    from pcn_planner.geography.region import Region
    from pcn_planner.scoring.scorecard import Scorecard

__all__ = ["write_report"]


# ---------------------------------------------------------------------------
# The options table
# ---------------------------------------------------------------------------


def _best(options: list[Option], column: Column) -> set[int]:
    """Rows holding the best value of a column (none if all equal, fewer than 2 values, or no better direction)."""
    if column.better is None:
        return set()
    values = [(i, float(v)) for i, o in enumerate(options) if (v := _finite(o.metrics.get(column.key))) is not None]
    if len(values) < 2 or len({v for _, v in values}) < 2:
        return set()
    target = (min if column.better == "lower" else max)(v for _, v in values)
    return {i for i, v in values if math.isclose(v, target, rel_tol=1e-9, abs_tol=1e-12)}


def _sort_value(column: Column, metrics: dict) -> str:
    v = metrics.get(column.key)
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return ""
    if column.key in ("hubs_in_band", "contiguous_hubs"):
        return repr(v / metrics["hubs"] + v * 1e-6)
    return repr(float(v))


#: Hub table: hub metrics in page order (labels, units, definitions and formats from the registry).
_HUB_COLUMNS: tuple[str, ...] = (
    "patients", "practices", "band", "contiguous", "base_practice", "travel_mean_min", "travel_p90_min",
    "dominant_town", "town_share", "catchment_share", "imd_most_deprived_share", "high_risk_share", "anchors",
)
#: Kinds of metric shown as numbers (right-aligned, sorted as numbers).
_NUMERIC = frozenset({"count", "patients", "minutes", "share", "ratio", "decile", "index"})



# ---------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------

_FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Liberation Sans", sans-serif'

_CSS = """
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; font: 16px/1.5 FONT; color: TEXT; background: GREY5; }
a { color: BLUE; text-underline-offset: 2px; }
a:hover { color: #7C2855; }
a:focus-visible, button:focus-visible { outline: 3px solid #FFB81C; outline-offset: 1px; }
header.top { background: BLUE; color: #fff; }
header.top .wrap { display: flex; align-items: center; justify-content: space-between; gap: 16px; padding: 14px 24px; }
header.top a { color: #fff; font-weight: 600; text-decoration: none; }
header.top a:hover { text-decoration: underline; color: #fff; }
header.top .brand { font-size: 18px; letter-spacing: .2px; }
header.top nav { display: flex; gap: 18px; flex-wrap: wrap; font-size: 15px; }
.wrap { max-width: 1440px; margin: 0 auto; padding: 0 24px; }
main.wrap { padding-top: 22px; padding-bottom: 40px; }
h1 { font-size: 30px; line-height: 1.2; margin: 6px 0 6px; }
h2 { font-size: 22px; margin: 32px 0 10px; }
h3 { font-size: 17px; margin: 0 0 8px; }
p.lead { font-size: 17px; color: SECONDARY; margin: 0 0 18px; max-width: 980px; }
.meta { color: SECONDARY; font-size: 15px; }
.card { background: #fff; border-radius: 6px; box-shadow: 0 1px 3px rgba(33,43,50,.16); padding: 18px 20px; }
.tablewrap { overflow-x: auto; background: #fff; border-radius: 6px; box-shadow: 0 1px 3px rgba(33,43,50,.16); }
table.data { border-collapse: collapse; width: 100%; font-size: 15px; font-variant-numeric: tabular-nums; }
table.data th, table.data td { padding: 8px 8px; border-bottom: 1px solid #D8DDE0; white-space: nowrap; }
table.data.compact { font-size: 14.5px; }
table.data.compact th, table.data.compact td { padding: 8px 6px; }
table.data.compact tr.cols th { font-size: 13.5px; padding: 6px 5px; }
table.data.compact th:first-child, table.data.compact td:first-child { padding-left: 12px; }
table.data td.wrapcell { white-space: normal; min-width: 76px; }
table.data td.num, table.data th.num { text-align: right; }
table.data td.text { white-space: normal; min-width: 96px; }
table.data thead th { background: #fff; font-weight: 600; vertical-align: bottom; position: sticky; top: 0; }
table.data thead tr.groups th { font-size: 13px; text-transform: uppercase; letter-spacing: .5px; color: SECONDARY;
  border-bottom: 2px solid BLUE; text-align: center; padding: 10px 8px 4px; white-space: normal; }
table.data thead tr.groups th.blank { border-bottom-color: transparent; }
table.data thead tr.cols th { border-bottom: 2px solid TEXT; }
table.data th button { all: unset; cursor: pointer; display: inline-block; white-space: normal; max-width: 96px;
  line-height: 1.25; }
table.data th.num button { text-align: right; }
table.data th button span.h { border-bottom: 1px dotted #768692; }
table.data th button::after { content: "↕"; display: block; color: #AEB7BD; font-size: 11px; line-height: 1.2; }
table.data th[aria-sort=ascending] button::after { content: "▲"; color: BLUE; }
table.data th[aria-sort=descending] button::after { content: "▼"; color: BLUE; }
table.data th .unit { display: block; font-weight: 400; color: SECONDARY; font-size: 13px; }
table.data tbody tr:nth-child(even) { background: #F8FAFA; }
table.data tbody tr:hover { background: #E8F1F8; }
table.data td.best { font-weight: 700; color: GREEN; }
table.data td.best::after { content: "✓"; margin-left: 2px; }
table.data td.bad { font-weight: 700; color: RED; }
table.data td.name { font-weight: 600; white-space: normal; min-width: 130px; }
table.data tr.flagged td { background: #FDECEC; }
table.data td .tag { display: inline-block; font-size: 12.5px; font-weight: 600; padding: 0 6px; border-radius: 3px;
  margin-left: 6px; color: #fff; background: RED; vertical-align: 1px; }
table.data td .tag.ok { background: GREEN; }
table.data td .warn { color: RED; }
.hint { font-size: 14px; color: SECONDARY; margin: 8px 2px 0; }
.kpis { display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; margin: 16px 0 8px; }
@media (max-width: 800px) { .kpis { grid-template-columns: repeat(2, 1fr); } }
.kpi { background: #fff; border-radius: 6px; padding: 12px 14px; box-shadow: 0 1px 3px rgba(33,43,50,.16);
  border-top: 4px solid BLUE; }
.kpi.bad { border-top-color: RED; }
.kpi.good { border-top-color: GREEN; }
.kpi .v { font-size: 25px; font-weight: 700; line-height: 1.2; }
.kpi .l { font-size: 14px; color: SECONDARY; }
.kpi.bad .v { color: RED; }
.callout { border-left: 8px solid GREEN; background: #fff; padding: 12px 18px; border-radius: 0 6px 6px 0;
  box-shadow: 0 1px 3px rgba(33,43,50,.16); }
.callout.bad { border-left-color: RED; }
.callout.note { border-left-color: #FFB81C; margin-top: 14px; }
.callout h3 { margin: 0 0 4px; }
.callout ul { margin: 4px 0 2px; padding-left: 22px; }
.callout li { margin: 2px 0; }
iframe.map { width: 100%; height: 680px; border: 0; display: block; border-radius: 6px; background: #F2F2EE; }
.mapcard { padding: 0; overflow: hidden; }
.mapbar { display: flex; justify-content: space-between; flex-wrap: wrap; gap: 10px; padding: 10px 16px;
  font-size: 15px; border-top: 1px solid #D8DDE0; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(480px, 1fr)); gap: 16px; }
.charts .wide { grid-column: 1 / -1; }
figure { margin: 0; }
figure.card figcaption { font-size: 14px; color: SECONDARY; margin-top: 6px; }
svg.chart { width: 100%; height: auto; display: block; }
.gallery { display: grid; grid-template-columns: repeat(auto-fill, minmax(400px, 1fr)); gap: 16px; }
.gallery a { text-decoration: none; color: TEXT; }
.gallery img { width: 100%; height: auto; display: block; border-radius: 4px; border: 1px solid #D8DDE0; }
.gallery .cap { font-weight: 600; margin-top: 8px; color: BLUE; }
.gallery .sub { font-size: 14px; color: SECONDARY; }
dl.glossary { display: grid; grid-template-columns: minmax(180px, 260px) 1fr; gap: 6px 20px; margin: 0; }
dl.glossary dt { font-weight: 600; }
dl.glossary dd { margin: 0; }
dl.glossary dd .unit { color: SECONDARY; font-size: 14px; }
.downloads { display: flex; flex-wrap: wrap; gap: 10px; }
.downloads a { background: #fff; border: 2px solid BLUE; border-radius: 4px; padding: 6px 12px; text-decoration: none;
  font-weight: 600; font-size: 15px; }
.downloads a:hover { background: BLUE; color: #fff; }
.pager { display: flex; justify-content: space-between; gap: 16px; margin-top: 36px; font-size: 16px; }
.pager a { font-weight: 600; }
footer { color: SECONDARY; font-size: 14px; border-top: 1px solid #D8DDE0; margin-top: 40px; padding-top: 14px; }
@media print { header.top { background: none; color: TEXT; } header.top a { color: TEXT; }
  iframe.map { display: none; } .tablewrap, .card, .kpi { box-shadow: none; border: 1px solid #D8DDE0; } }
"""


def _css() -> str:
    text = _CSS
    for key, value in (("FONT", _FONT), ("TEXT", NHS_TEXT), ("GREY5", NHS_GREY_5), ("BLUE", NHS_BLUE),
                       ("SECONDARY", NHS_SECONDARY), ("GREEN", NHS_GREEN), ("RED", FLAG_RED)):
        text = text.replace(key, value)
    return text


#: Sorting for every ``table.sortable``: click (or Enter/Space on) a heading button.
_SORT_JS = """
(function () {
  function key(cell) {
    var v = cell.getAttribute("data-value");
    return v === null ? cell.textContent.trim() : v;
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var heads = table.querySelectorAll("thead th[data-col]");
    heads.forEach(function (th) {
      th.querySelector("button").addEventListener("click", function () {
        var col = Number(th.getAttribute("data-col"));
        var numeric = th.getAttribute("data-type") === "num";
        var dir = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
        heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", dir);
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = key(a.cells[col]), y = key(b.cells[col]);
          if (x === "" || y === "") { return x === y ? 0 : (x === "" ? 1 : -1); }  // blanks last
          var c = numeric ? Number(x) - Number(y)
                          : x.localeCompare(y, undefined, {numeric: true, sensitivity: "base"});
          return dir === "ascending" ? c : -c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
        var live = document.getElementById("sort-status");
        if (live) { live.textContent = "Sorted by " + th.textContent.replace(/[\\u2195\\u25B2\\u25BC]/g, "").trim()
                                        + ", " + dir + "."; }
      });
    });
  });
})();
"""


def _page(title: str, body: str, *, nav: str = "") -> str:
    return (
        "<!DOCTYPE html>\n<html lang=\"en-GB\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<meta name=\"generator\" content=\"pcn-planner {__version__}\">\n"
        f"<title>{_esc(title)}</title>\n<style>{_css()}</style>\n</head>\n<body>\n"
        f"<header class=\"top\"><div class=\"wrap\"><a class=\"brand\" href=\"index.html\">PCN hub options</a>"
        f"<nav aria-label=\"Report\">{nav}</nav></div></header>\n"
        f"<main class=\"wrap\">\n{body}\n</main>\n"
        "<div id=\"sort-status\" role=\"status\" aria-live=\"polite\" style=\"position:absolute;left:-9999px\"></div>\n"
        f"<script>{_SORT_JS}</script>\n</body>\n</html>\n"
    )


def _th(label: str, definition: str, unit: str, col: int, kind: str) -> str:
    """A sortable heading: the label, with the definition (and unit) on hover."""
    definition = definition[:1].upper() + definition[1:]
    tip = f"{definition} ({unit})" if unit and unit not in ("count", "yes/no", "") else definition
    cls = ' class="num"' if kind == "num" else ""
    return (f'<th scope="col" data-col="{col}" data-type="{kind}"{cls} title="{_esc(tip, quote=True)}">'
            f'<button type="button"><span class="h">{_esc(label)}</span></button></th>')


def _footer(region: Region) -> str:
    today = date.today()
    return (f"<footer>Made with pcn-planner {__version__} on {today.day} {today:%B %Y}. "
            f"Data: atlas {_esc(region.atlas.data_hash[:12])}… ({region.atlas.practices.shape[0]:,} practices). "
            "Travel is modelled car time from each patient's home area (LSOA) to the hub's base site. "
            "Every page works offline.</footer>")


def _glossary_html(baseline: str, bounds_text: str) -> str:
    def items(entries: list[tuple[str, str, str]]) -> str:
        return "".join(f'<dt>{_esc(name)}</dt><dd>{_esc(definition[:1].upper() + definition[1:])}'
                       f'{f" <span class=unit>({_esc(unit)})</span>" if unit else ""}</dd>'
                       for name, unit, definition in entries)

    def words(metrics: list[Metric]) -> list[tuple[str, str, str]]:
        return [(m.label, m.unit, m.definition) for m in metrics]

    plan_entries = [("Option", "", _OPTION_DEF), *words(_plan_glossary())]
    hub_entries = words(list(HUB.values()))
    return (f'<section id="glossary"><h2>Glossary</h2><div class="card">'
            f'<p class="meta" style="margin-top:0">Disruption is measured against <b>{_esc(baseline)}</b>. '
            f'The population band is {_esc(bounds_text)} registered patients per hub, unless an option says '
            'otherwise.</p>'
            f'<h3>Plan measures</h3><dl class="glossary">{items(plan_entries)}</dl>'
            f'<h3 style="margin-top:20px">Hub measures</h3><dl class="glossary">{items(hub_entries)}</dl>'
            '</div></section>')


def _index_html(options: list[Option], region: Region) -> str:
    baseline = options[0].scorecard.baseline_name
    columns = _options_columns(baseline)
    bounds = {f"{o.scorecard.bounds.min:,}–{o.scorecard.bounds.max:,}" for o in options}
    bounds_text = " or ".join(sorted(bounds))
    # Heading rows: groups, then columns.
    groups: list[tuple[str, int]] = [("", 1)]
    for c in columns:
        if groups[-1][0] == c.group:
            groups[-1] = (c.group, groups[-1][1] + 1)
        else:
            groups.append((c.group, 1))
    group_row = "".join(f'<th colspan="{n}" class="{"blank" if not g else ""}" scope="colgroup">{_esc(g)}</th>'
                        for g, n in groups)
    col_row = _th("Option", f"{_OPTION_DEF}; click for its page", "", 0, "text")
    col_row += "".join(_th(c.label, c.definition, c.unit, i + 1, "num") for i, c in enumerate(columns))
    best = {c.key: _best(options, c) for c in columns}
    rows = []
    for i, o in enumerate(options):
        m = o.metrics
        cells = [f'<td class="name" data-value="{_esc(o.name, quote=True)}">'
                 f'<a href="option-{o.slug}.html">{_esc(o.name)}</a>'
                 + ('<span class="tag ok" title="every hub in band and in one piece">all rules met</span>'
                    if not o.scorecard.problems else "") + "</td>"]
        for c in columns:
            v = m.get(c.key)
            cls = ["num"]
            if i in best[c.key]:
                cls.append("best")
            if _breaks_a_rule(c.key, m):
                cls.append("bad")
            title = ' title="best of these options"' if "best" in cls else ""
            if c.key == "gap":
                cls.append("wrapcell")
            cells.append(f'<td class="{" ".join(cls)}" data-value="{_sort_value(c, m)}"{title}>'
                         f'{_esc(c.fmt(v, m))}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    table = (f'<div class="tablewrap"><table class="data sortable compact" id="options">'
             f'<caption style="position:absolute;left:-9999px">Options compared</caption>'
             f'<thead><tr class="groups">{group_row}</tr><tr class="cols">{col_row}</tr></thead>'
             f'<tbody>{"".join(rows)}</tbody></table></div>'
             '<p class="hint">Click a column heading to sort (again to reverse); hover it for its definition. '
             '<b style="color:' + NHS_GREEN + '">Green ✓</b> marks the best value among these options; '
             '<b style="color:' + FLAG_RED + '">red</b> marks broken rules.</p>')
    gallery = "".join(
        f'<a href="option-{o.slug}.html"><div class="card"><img src="map-{o.slug}.png" '
        f'alt="Map of {_esc(o.name, quote=True)}: {o.scorecard.plan.k} hubs" loading="eager">'
        f'<div class="cap">{_esc(o.name)}</div><div class="sub">{o.scorecard.plan.k} hubs · '
        f'{o.metrics["hubs_in_band"]} in band · {o.metrics["contiguous_hubs"]} contiguous · '
        f'mean travel {PLAN["travel_mean_min"].format(o.metrics["travel_mean_min"])} · '
        f'gap {_esc(gap_words(o.gap))}</div></div></a>'
        for o in options)
    today = date.today()
    n_practices = len(options[0].scorecard.plan)
    body = (
        f'<h1>Options for grouping practices into hubs</h1>'
        f'<p class="meta">{len(options)} option{"s" if len(options) != 1 else ""} · {n_practices:,} practices · '
        f'{options[0].scorecard.summary["patients"]:,} registered patients · population band {_esc(bounds_text)} · '
        f'{today.day} {today:%B %Y}</p>'
        '<p class="lead">Each row is one way of grouping the region\'s GP practices into hubs. The rules are that '
        'every hub has a population within the band and is one connected piece; the other columns show how far '
        'patients travel, how well hubs follow towns and boundaries, how resilient they are and how much they '
        f'change from {_esc(baseline)}. Open an option for its map, charts and hub-by-hub table.</p>'
        f'<section aria-labelledby="t-options"><h2 id="t-options">Options compared</h2>{table}</section>'
        f'<section aria-labelledby="t-maps"><h2 id="t-maps">Maps at a glance</h2><div class="gallery">{gallery}</div>'
        '</section>'
        '<section aria-labelledby="t-files"><h2 id="t-files">Downloads</h2><div class="downloads">'
        '<a href="options.xlsx">All options (Excel)</a>'
        + "".join(f'<a href="plan-{o.slug}.csv">{_esc(o.name)} plan (CSV)</a>' for o in options)
        + '</div><p class="hint">Each option page also links its GeoPackage and GeoJSON for GIS.</p></section>'
        + _glossary_html(baseline, bounds_text) + _footer(region)
    )
    nav = "".join(f'<a href="option-{o.slug}.html">{_esc(o.name)}</a>' for o in options) + \
        '<a href="#glossary">Glossary</a>'
    return _page("PCN hub options", body, nav=nav)


def _hub_table_html(scorecard: Scorecard) -> str:
    hubs, bounds = scorecard.hubs, scorecard.bounds
    names = hub_names(scorecard)
    flagged = _flagged(scorecard)
    heads = [_th("#", "hub number on the map and charts", "", 0, "num"),
             _th("Hub", "the hub's name", "", 1, "text")]
    shown = [HUB[c] for c in _HUB_COLUMNS]
    kinds = ["num" if m.kind in _NUMERIC else "text" for m in shown]
    heads += [_th(m.label, m.definition, m.unit, col, kind)
              for col, (m, kind) in enumerate(zip(shown, kinds, strict=True), start=2)]
    rows = []
    for n, hub in enumerate(_hub_order(scorecard), start=1):
        r = hubs.loc[hub]
        cls = ' class="flagged"' if hub in flagged else ""
        warn = (f' <span class="warn" title="{_esc("; ".join(scorecard.hub_breaches(hub)), quote=True)}">⚠</span>'
                if hub in flagged else "")
        cells = [f'<td class="num" data-value="{n}">{n}</td>',
                 f'<td class="name" data-value="{_esc(names[hub], quote=True)}" '
                 f'title="{_esc(str(r["hub_name"]), quote=True)} ({_esc(str(hub), quote=True)})">'
                 f'{_esc(names[hub])}{warn}</td>']
        for m, kind in zip(shown, kinds, strict=True):
            c, v = m.key, r[m.key]
            bad = ""
            if c == "band":
                text, value = band_words(v, bounds), {"ok": "1", "below min": "0", "above max": "2"}[v]
                bad = " bad" if v != "ok" else ""
            elif c == "contiguous":
                text = "yes" if bool(v) else f"no ({HUB['components'].format(r['components'])} pieces)"
                bad = "" if bool(v) else " bad"
                value = "1" if bool(v) else "0"
            elif c == "base_practice":
                text = value = f"{r['base_name']}"
            else:
                text = m.format(v)
                value = str(v) if kind != "num" else "" if _finite(v) is None else repr(float(v))
            cell_cls = ("num" if kind == "num" else "text") + bad
            cells.append(f'<td class="{cell_cls}" data-value="{_esc(value, quote=True)}">{_esc(text)}</td>')
        rows.append(f"<tr{cls}>" + "".join(cells) + "</tr>")
    return ('<div class="tablewrap"><table class="data sortable compact" id="hubs"><thead><tr class="cols">'
            f'{"".join(heads)}'
            f'</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'
            '<p class="hint">Click a heading to sort; hover it for its definition. Flagged hubs are shaded red.</p>')


def _kpi(label: str, value: str, state: str = "", title: str = "") -> str:
    t = f' title="{_esc(title, quote=True)}"' if title else ""
    return f'<div class="kpi {state}"{t}><div class="v">{_esc(value)}</div><div class="l">{_esc(label)}</div></div>'


def _objective_terms_html(option: Option) -> str:
    terms = option.manifest.get("objective_terms") or {}
    if not isinstance(terms, dict) or not terms:
        return ""
    rows = []
    for name, t in terms.items():
        if not isinstance(t, dict):
            continue
        rows.append(f'<tr><td class="text">{_esc(str(name))}</td>'
                    f'<td class="num">{_num(_finite(t.get("weight")), "{:g}")}</td>'
                    f'<td class="num">{_num(_finite(t.get("normalised")), "{:.3f}")}</td>'
                    f'<td class="num">{_num(_finite(t.get("contribution")), "{:.4f}")}</td></tr>')
    if not rows:
        return ""
    return ('<details class="card" style="margin-top:16px"><summary><b>How the objective is made up</b> '
            f'(objective {_num(option.objective, "{:.4f}")}, gap {_esc(gap_words(option.gap))})</summary>'
            '<p class="meta">Each term is the plan\'s raw total divided by today\'s PCNs\' total (1 = same as '
            'today, lower is better), times its weight.</p><div class="tablewrap" style="box-shadow:none">'
            '<table class="data"><thead><tr class="cols"><th>Term</th><th class="num">Weight</th>'
            '<th class="num">Relative to today</th><th class="num">Contribution</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div></details>')


def _added_links_html(sc: Scorecard) -> str:
    """The links the problem added to the practice graph, and the hubs that rely on them."""
    links = sc.added_links
    if links.empty:
        return ""
    names = sc.region.atlas.practices["name"]
    items = "".join(f"<li><b>{_esc(str(names.get(a, a)))}</b> ({_esc(a)}) – <b>{_esc(str(names.get(b, b)))}</b> "
                    f"({_esc(b)}): {_esc(why)}</li>" for a, b, why in links.itertuples(index=False))
    relying = [str(sc.hubs.at[h, "hub_name"]) for h in sc.hubs.index if bool(sc.hubs.at[h, "via_added_link"])]
    tail = (f"<p>Hubs contiguous only through one of these links: {_esc(', '.join(relying))}.</p>" if relying
            else "<p>No hub relies on them to be one connected piece.</p>")
    return (f'<div class="callout note"><h3>Links added to the practice graph ({len(links)})</h3>'
            f"<p>The rules asked for hubs nested in areas whose practices the graph leaves apart, so these "
            f"links were added before solving and every hub is judged on the graph with them.</p>"
            f"<ul>{items}</ul>{tail}</div>")


def _option_html(options: list[Option], i: int, region: Region, charts: dict[str, str]) -> str:
    o = options[i]
    sc, m = o.scorecard, o.metrics
    k = m["hubs"]
    manifest = o.manifest
    prev_o = options[i - 1] if i > 0 else None
    next_o = options[i + 1] if i + 1 < len(options) else None

    how = {"evaluate": "evaluated (scored as given)", "optimise": "optimised"}.get(str(manifest.get("command")),
                                                                                  str(manifest.get("command") or "run"))
    solver = manifest.get("solver")
    made = str(manifest.get("created_utc") or "")[:10]
    meta = [f"K = {k} hubs", f"population band {sc.bounds.min:,}–{sc.bounds.max:,}", how]
    if solver:
        meta.append(f"solver {solver} {manifest.get('solver_version') or ''}".strip()
                    + (f", stopped by {manifest['stopped_by']}" if manifest.get("stopped_by") else ""))
    meta.append(f"gap {gap_words(o.gap)}")
    if made:
        meta.append(f"run {made}")

    def kpi(measure: Metric, state: str = "", text: str | None = None, label: str | None = None) -> str:
        value = m[measure.key]
        return _kpi(label or measure.label, measure.format(value) if text is None else text, state,
                    measure.definition)

    kpis = "".join([
        kpi(PLAN["hubs_in_band"], "bad" if _breaks_a_rule("hubs_in_band", m) else "good",
            f"{m['hubs_in_band']} of {k}"),
        kpi(CONTIGUOUS_HUBS, "bad" if _breaks_a_rule("contiguous_hubs", m) else "good",
            f"{m['contiguous_hubs']} of {k}"),
        kpi(PLAN["travel_mean_min"]),
        kpi(PLAN["travel_p90_min"]),
        kpi(PLAN["towns_split"]),
        kpi(PLAN["hubs_without_anchor"]),
        kpi(PLAN["practices_moved"], label=f"{PLAN['practices_moved'].label} from {sc.baseline_name}"),
        kpi(GAP, text=gap_words(o.gap)),
    ])
    if sc.problems:
        flagged = _flagged(sc)
        names = hub_names(sc)
        number = {h: i + 1 for i, h in enumerate(_hub_order(sc))}
        items = []
        for hub in sorted(flagged, key=lambda h: (sc.hubs.at[h, "band"] == "ok", number[h])):
            items.append(f'<li><b>{number[hub]}. {_esc(names[hub])}</b> <span class="meta">({_esc(str(hub))})</span>: '
                         f'{_esc("; ".join(sc.hub_breaches(hub)))}</li>')
        items += [f"<li>{_esc(v.text)}</li>" for v in sc.violations if v.hub is None]
        where = f" in {len(flagged)} hub{'s' if len(flagged) != 1 else ''}" if flagged else ""
        rules = (f'<div class="callout bad"><h3>⚠ {len(sc.problems)} broken rule'
                 f'{"s" if len(sc.problems) != 1 else ""}{where}'
                 f'</h3><ul>{"".join(items)}</ul></div>')
    else:
        rules = ('<div class="callout"><h3>✓ No broken rules</h3>Every hub is within the population band and is '
                 'one connected piece.</div>')
    if o.notes:
        rules += ('<div class="callout note"><h3>Note</h3><ul>' + "".join(f"<li>{_esc(n)}</li>" for n in o.notes)
                  + "</ul></div>")
    rules += _added_links_html(sc)

    downloads = "".join(f'<a href="{href}">{_esc(text)}</a>' for href, text in (
        (f"map-{o.slug}.html", "Interactive map (full screen)"),
        (f"map-{o.slug}.png", "Map image (PNG)"),
        (f"plan-{o.slug}.csv", "Plan file (CSV)"),
        (f"plan-{o.slug}.gpkg", "Hubs for GIS (GeoPackage)"),
        (f"plan-{o.slug}.geojson", "Hubs for GIS (GeoJSON)"),
        ("options.xlsx", "All options (Excel)"),
    ))
    pager = (
        '<nav class="pager" aria-label="Options">'
        + (f'<a href="option-{prev_o.slug}.html" rel="prev">‹ Previous: {_esc(prev_o.name)}</a>' if prev_o
           else '<span></span>')
        + '<a href="index.html">All options</a>'
        + (f'<a href="option-{next_o.slug}.html" rel="next">Next: {_esc(next_o.name)} ›</a>' if next_o
           else '<span></span>')
        + "</nav>")
    body = (
        f'<p class="meta" style="margin:0"><a href="index.html">All options</a> › {_esc(o.name)}</p>'
        f'<h1>{_esc(o.name)}</h1><p class="meta">{_esc(" · ".join(meta))}</p>'
        f'<section aria-label="Key figures"><div class="kpis">{kpis}</div></section>'
        f'<section aria-labelledby="t-rules"><h2 id="t-rules">Rules</h2>{rules}</section>'
        f'<section aria-labelledby="t-map"><h2 id="t-map">Map</h2><div class="card mapcard">'
        f'<iframe class="map" src="map-{o.slug}.html" title="Interactive map of {_esc(o.name, quote=True)}">'
        f'</iframe><div class="mapbar"><span>Click a hub for its scorecard; layers (top right) add deprivation '
        f'and travel times.</span><a href="map-{o.slug}.html">Open the map full screen</a></div></div></section>'
        f'<section aria-labelledby="t-charts"><h2 id="t-charts">Charts</h2><div class="charts">'
        f'<figure class="card">{charts["population"]}<figcaption>Registered patients per hub, largest first. The '
        f'shaded band is the allowed {sc.bounds.min:,}–{sc.bounds.max:,}; red hatched bars are outside it. '
        f'Numbers match the map and the hub table.</figcaption></figure>'
        f'<figure class="card">{charts["travel"]}<figcaption>Car minutes from home to the hub base site: mean (dark) '
        f'and 90th percentile (light; 9 in 10 patients live closer), longest first.</figcaption></figure>'
        f'<figure class="card wide">{charts["histogram"]}<figcaption>How far every patient of the plan lives from '
        'their hub base, in 2-minute bands.</figcaption></figure>'
        f'</div></section>'
        f'<section aria-labelledby="t-hubs"><h2 id="t-hubs">Hubs</h2>{_hub_table_html(sc)}'
        f'{_objective_terms_html(o)}</section>'
        f'<section aria-labelledby="t-files"><h2 id="t-files">Downloads</h2><div class="downloads">{downloads}</div>'
        f'</section>{pager}{_footer(region)}'
    )
    nav = ('<a href="index.html">All options</a>'
           + (f'<a href="option-{prev_o.slug}.html">‹ Previous</a>' if prev_o else "")
           + (f'<a href="option-{next_o.slug}.html">Next ›</a>' if next_o else "")
           + '<a href="index.html#glossary">Glossary</a>')
    return _page(f"{o.name} – PCN hub options", body, nav=nav)


# ---------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------


def write_report(run_dirs: list[Path], out: Path, *, region: Region | None = None,
                 names: list[str] | None = None) -> Path:
    """Write the options report for some run directories; return the path of its ``index.html``.

    Parameters
    ----------
    run_dirs
        Run directories written by ``evaluate`` / ``optimise`` (or
        :func:`pcn_planner.outputs.run.write_run`), one per option, in the order shown.
    out
        Report folder (created; files of an earlier report there are replaced).
    region
        A region already built from the runs' recorded inputs, to save
        rebuilding it (about 6 s); a run recorded on other inputs rebuilds its own.
    names
        Option names to show, one per run directory; default each plan's name.

    Returns
    -------
    Path
        ``out / "index.html"``.

    Raises
    ------
    InputError
        A run directory is missing or lacks a file (the message names the
        folder and the file), records an input that is missing or has changed
        (named), or its plan does not fit its region. Nothing is written then.
    """
    from pcn_planner.outputs.exports import write_geojson, write_geopackage, write_plan_csv
    from pcn_planner.outputs.maps.offline import save_offline
    from pcn_planner.outputs.maps.plan_map import plan_map

    out = Path(out)
    options = load_options(run_dirs, names, cache={region.inputs: region} if region is not None else None)
    region = options[0].scorecard.region

    with staged_directory(out) as stage:
        for i, o in enumerate(options):
            sc = o.scorecard
            title = o.name[:1].upper() + o.name[1:]
            save_offline(plan_map(sc, gap=o.gap, title=title), stage / f"map-{o.slug}.html")
            plan_png(sc, stage / f"map-{o.slug}.png", gap=o.gap, title=title)
            write_plan_csv(sc, stage / f"plan-{o.slug}.csv")
            write_geopackage(sc, stage / f"plan-{o.slug}.gpkg")
            write_geojson(sc, stage / f"plan-{o.slug}.geojson")
            charts = {"population": population_chart(sc, salt=f"{o.slug}-pop"),
                      "travel": travel_chart(sc, salt=f"{o.slug}-travel"),
                      "histogram": travel_histogram(sc, salt=f"{o.slug}-hist")}
            atomic_write_text(stage / f"option-{o.slug}.html", _option_html(options, i, region, charts))
        atomic_write_bytes(stage / "options.xlsx", excel_bytes(options))
        atomic_write_text(stage / "index.html", _index_html(options, region))
    return out / "index.html"
