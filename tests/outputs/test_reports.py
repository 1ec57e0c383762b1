"""The options report: pages, workbook, GIS files and static maps from run directories.

One report is built per module from three options on the real embedded
region: today's PCNs, today's PCNs with two Stafford PCNs merged, and today's
PCNs with East Staffordshire (155k patients) split north/south. The options
are made by hand (no optimiser), written as run directories with
``write_run`` and read back by ``write_report``. The browser tests open the
pages from disk in headless Chromium with the network cut off; screenshots
land in pytest's tmp folder for a person to look at.
"""

from __future__ import annotations

import html

import json
import re
import tempfile
import warnings
from html.parser import HTMLParser
from pathlib import Path

import pytest

import pcn_planner as pp
from pcn_planner.core.errors import InputError
from pcn_planner.model.plan import Plan, read_plan_csv
from pcn_planner.outputs.report.options import slugify
from pcn_planner.outputs.report.pages import write_report
from pcn_planner.outputs.report.static_map import plan_png
from pcn_planner.outputs.report.words import gap_words, hub_names
from pcn_planner.outputs.run import run_manifest, write_run
from pcn_planner.scoring.metrics import HUB, PLAN
from pcn_planner.scoring.scorecard import score_plan
from tests.browser import CHROMIUM_ARGS, LOCAL_SCHEMES, check_page, chromium  # noqa: F401  (fixture)

MERGED_INTO, MERGED_FROM = "STAFFORD TOWN PCN", "STAFFORD CENTRAL PCN"
SPLIT = "EAST STAFFORDSHIRE PCN"
NAMES = ["Current PCNs", "Stafford merged", "East Staffs split"]
SLUGS = ["current-pcns", "stafford-merged", "east-staffs-split"]


# ---------------------------------------------------------------------------
# The report, built once
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def region():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # territory-less practices: reported elsewhere
        return pp.build_region()


@pytest.fixture(scope="module")
def plans(region) -> list[Plan]:
    practices = region.atlas.practices
    current = Plan.current(practices)
    code_of = {n: c for c, n in zip(practices["pcn_code"], practices["pcn_name"])}
    by_pcn = {n: sorted(g.index) for n, g in practices.groupby("pcn_name")}
    merged = current.assignment.copy()
    merged[by_pcn[MERGED_FROM]] = code_of[MERGED_INTO]
    split = current.assignment.copy()
    east = practices.loc[by_pcn[SPLIT]].sort_values("lat")
    split[east.index[: len(east) // 2]] = "EAST-S"
    labels = dict(current.labels)
    labels["EAST-S"] = "EAST STAFFORDSHIRE SOUTH PCN"
    return [current, Plan(merged, "Stafford merged", current.labels), Plan(split, "East Staffs split", labels)]


@pytest.fixture(scope="module")
def run_dirs(region, plans, tmp_path_factory) -> list[Path]:
    root = tmp_path_factory.mktemp("runs")
    out = []
    solves = [None, {"solver": "highs", "status": "gap reached", "objective": 2.3456, "bound": 2.3168,
                     "gap": 0.0123}, {"solver": "highs", "objective": 2.2, "bound": 2.2, "gap": 0.0}]
    for plan, slug, solve in zip(plans, SLUGS, solves):
        scorecard = score_plan(region, plan)
        manifest = run_manifest(scorecard, command="optimise" if solve else "evaluate", parameters={}, solve=solve)
        out.append(write_run(root / slug, scorecard, manifest, map_html=False))
    return out


@pytest.fixture(scope="module")
def report(region, run_dirs, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report")
    index = write_report(run_dirs, out, region=region)
    assert index == out / "index.html"
    return out


# ---------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------


def test_every_file_is_written(report: Path) -> None:
    expected = {"index.html", "options.xlsx"}
    for slug in SLUGS:
        expected |= {f"option-{slug}.html", f"map-{slug}.html", f"map-{slug}.png", f"plan-{slug}.csv",
                     f"plan-{slug}.gpkg", f"plan-{slug}.geojson"}
    written = {p.name for p in report.iterdir()}
    assert written == expected  # and no temp files left behind
    for name in expected:
        assert (report / name).stat().st_size > 1000, name


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.refs.append(value)


def _refs(page: Path) -> list[str]:
    parser = _Links()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser.refs


def test_pages_link_to_each_other_and_to_files_that_exist(report: Path) -> None:
    index = _refs(report / "index.html")
    for slug in SLUGS:
        assert f"option-{slug}.html" in index
        assert f"map-{slug}.png" in index  # thumbnails
    for i, slug in enumerate(SLUGS):
        refs = _refs(report / f"option-{slug}.html")
        assert "index.html" in refs and f"map-{slug}.html" in refs
        if i > 0:
            assert f"option-{SLUGS[i - 1]}.html" in refs  # previous
        if i + 1 < len(SLUGS):
            assert f"option-{SLUGS[i + 1]}.html" in refs  # next
        for ref in refs:
            assert not re.match(r"^(https?:)?//", ref), f"external reference {ref}"
            target = ref.split("#")[0]
            if target:
                assert (report / target).is_file(), f"{slug}: broken link {ref}"


def test_index_has_plain_english_headers_with_definitions_and_a_glossary(report: Path) -> None:
    text = (report / "index.html").read_text(encoding="utf-8")
    for key in ("hubs_in_band", "travel_mean_min", "towns_split", "max_high_risk_share", "practices_moved"):
        m = PLAN[key]
        assert f">{m.label}<" in text
        assert f'title="{html.escape(m.definition[:1].upper() + m.definition[1:])}' in text
    assert 'id="glossary"' in text
    assert "not certified" in text and "1.23%" in text and "0.00% (optimal)" in text
    assert "23 of 25" in text  # today: two PCNs above 70,000
    assert re.search(r">\d\.\d min<", text)
    assert re.search(r">\d+\.\d %<", text)  # shares as the registry shows them
    # "Hubs in band" has no better direction (it depends on K), so it is never marked best; others are
    options = text.split('id="options"')[1].split("</table>")[0]
    col = int(re.search(r'data-col="(\d+)"[^>]*><button type="button"><span class="h">'
                        + re.escape(PLAN["hubs_in_band"].label) + "<", options).group(1))
    rows = re.findall(r"<tr>(<td .*?)</tr>", options)
    assert len(rows) == 3 and 'class="num best"' in options
    assert all("best" not in re.findall(r"<td [^>]*>", row)[col] for row in rows)
    assert "<script src" not in text and "<link" not in text


def test_option_pages_have_map_charts_rules_and_hub_table(report: Path, region, plans) -> None:
    text = (report / "option-current-pcns.html").read_text(encoding="utf-8")
    assert text.count('<svg role="img"') == 3
    assert "Registered patients per hub" in text and "minutes" in text  # axis units
    assert "broken rules in" in text and "East Staffordshire" in text and "155,279 patients &gt; max 70,000" in text
    assert text.count("<tr") >= 25 + 1
    # Chart element ids are unique on the page (three SVGs share one document).
    ids = re.findall(r'\bid="([^"]+)"', text)
    assert len(ids) == len(set(ids))
    merged = (report / "option-stafford-merged.html").read_text(encoding="utf-8")
    stafford = score_plan(region, plans[1]).hubs.query("hub_name == @MERGED_INTO")["patients"].item()
    assert f"{stafford:,} patients &gt; max 70,000" in merged


def test_workbook_has_the_options_each_hub_table_and_a_glossary(report: Path, plans) -> None:
    from openpyxl import load_workbook

    wb = load_workbook(report / "options.xlsx")
    assert wb.sheetnames == ["Options", *NAMES, "Glossary"]
    options = wb["Options"]
    header = [c.value for c in options[1]]
    assert header[:3] == ["Option", "Hubs", "Hubs in band"]
    assert "Mean travel (minutes)" in header and "Optimality gap (%)" in header
    rows = list(options.iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in rows] == NAMES
    assert [r[1] for r in rows] == [p.k for p in plans]
    # a column of numbers holds numbers only; the gap's words are beside it
    gap, words = header.index("Optimality gap (%)"), header.index("Optimality gap, in words")
    assert rows[0][gap] is None and rows[1][gap] == pytest.approx(0.0123)
    assert [r[words] for r in rows] == ["not certified", "1.23%", "0.00% (optimal)"]
    assert options.cell(row=3, column=gap + 1).number_format == "0.00%"
    assert options.cell(row=2, column=header.index("Mean travel (minutes)") + 1).number_format == "0.0"
    # a share is the fraction, shown as a percent
    risk = header.index(f"{PLAN['max_high_risk_share'].label} (%)")
    assert 0 < rows[0][risk] < 1 and options.cell(row=2, column=risk + 1).number_format == "0.0%"
    assert options["A1"].font.bold and options.freeze_panes == "B2"
    for name, plan in zip(NAMES, plans):
        sheet = wb[name]
        assert sheet.max_row == plan.k + 1
        hub_header = [c.value for c in sheet[1]]
        assert hub_header[:3] == ["#", "Hub", "Hub id"] and "Patients" in hub_header
        assert sheet.cell(row=2, column=hub_header.index("Patients") + 1).number_format == "#,##0"
        town = hub_header.index(f"{HUB['town_share'].label} (%)") + 1
        assert 0 < sheet.cell(row=2, column=town).value <= 1 and sheet.cell(row=2, column=town).number_format == "0.0%"
    glossary = wb["Glossary"]
    assert [c.value for c in glossary[1]] == ["Applies to", "Measure", "Unit", "Definition"]
    assert glossary.max_row > len(PLAN) + len(HUB)
    measures = [c.value for c in glossary["B"]]
    assert all(m.label in measures for m in [*PLAN.values(), *HUB.values()])


def test_gis_exports_hold_every_hub_with_its_scorecard(report: Path, region, plans) -> None:
    import geopandas as gpd
    import pyogrio

    for slug, plan in zip(SLUGS, plans):
        layers = dict(pyogrio.list_layers(report / f"plan-{slug}.gpkg"))
        assert set(layers) == {"hubs", "practices"}
        hubs = gpd.read_file(report / f"plan-{slug}.gpkg", layer="hubs")
        assert len(hubs) == plan.k and hubs.crs.to_epsg() == 4326
        assert {"hub_id", "hub_name", "patients", "band", "contiguous", "travel_mean_min"} <= set(hubs.columns)
        assert hubs["patients"].sum() == 1_210_283
        points = gpd.read_file(report / f"plan-{slug}.gpkg", layer="practices")
        assert len(points) == len(plan)
        geojson = json.loads((report / f"plan-{slug}.geojson").read_text())
        assert len(geojson["features"]) == plan.k
        assert {f["properties"]["hub_id"] for f in geojson["features"]} == set(plan.hubs)
        again = read_plan_csv(report / f"plan-{slug}.csv", region.codes)
        assert again == plan


def test_static_maps_are_not_blank(report: Path) -> None:
    from PIL import Image, ImageStat

    for slug in SLUGS:
        with Image.open(report / f"map-{slug}.png") as img:
            assert img.width > 1500 and img.height > 1200  # 150 dpi
            rgb = img.convert("RGB")
            assert len(rgb.getcolors(maxcolors=1 << 24)) > 200
            assert sum(ImageStat.Stat(rgb).stddev) / 3 > 20


def test_plan_png_on_its_own(region, plans, tmp_path: Path) -> None:
    out = plan_png(score_plan(region, plans[1]), tmp_path / "slide.png", gap=0.004, title="For the board")
    assert out.is_file() and out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["slide.png"]


# ---------------------------------------------------------------------------
# In the browser
# ---------------------------------------------------------------------------


@pytest.mark.browser
def test_index_and_option_page_work_offline_in_chromium(report: Path, chromium: str, tmp_path: Path) -> None:
    index = check_page(report / "index.html", tmp_path / "index.png", chromium=chromium, viewport=(1366, 900),
                       selectors=["table#options", "table#options tbody tr", "#glossary", ".gallery img"])
    assert index.ok, index.problems()
    option = check_page(report / "option-current-pcns.html", tmp_path / "option.png", chromium=chromium,
                        viewport=(1366, 900), settle_ms=1000,
                        selectors=["iframe.map", "svg.chart", "table#hubs", ".callout.bad"])
    assert option.ok, option.problems()


def _column(page, table: str, col: int) -> list[str]:
    return page.eval_on_selector_all(f"{table} tbody tr", f"rows => rows.map(r => r.cells[{col}].dataset.value)")


@pytest.mark.browser
def test_clicking_a_heading_sorts_the_table(report: Path, chromium: str) -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="pcn-chromium-") as profile, sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(profile, executable_path=chromium, headless=True,
                                                        args=CHROMIUM_ARGS, service_workers="block")
        try:
            context.route(lambda u: not u.startswith(LOCAL_SCHEMES), lambda route: route.abort())
            page = context.pages[0] if context.pages else context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto((report / "index.html").as_uri(), wait_until="load")
            headers = page.eval_on_selector_all("table#options tr.cols th",
                                                "ths => ths.map(t => t.textContent.trim())")
            col = next(i for i, h in enumerate(headers) if h.startswith("Mean travel"))
            assert _column(page, "table#options", 0) == NAMES
            heading = page.locator("table#options tr.cols th").nth(col)
            heading.locator("button").click()
            up = [float(v) for v in _column(page, "table#options", col)]
            order_up = _column(page, "table#options", 0)
            assert up == sorted(up) and heading.get_attribute("aria-sort") == "ascending"
            heading.locator("button").click()
            down = [float(v) for v in _column(page, "table#options", col)]
            order_down = _column(page, "table#options", 0)
            assert down == sorted(down, reverse=True) and heading.get_attribute("aria-sort") == "descending"
            assert len(set(up)) == 3 and order_down == order_up[::-1]
            assert NAMES != order_up or NAMES != order_down  # the rows really moved
            # Text columns sort too (the hub table on an option page).
            page.goto((report / "option-current-pcns.html").as_uri(), wait_until="load")
            page.locator("table#hubs tr.cols th").nth(1).locator("button").click()
            page.locator("table#hubs tr.cols th").nth(1).locator("button").click()
            names = _column(page, "table#hubs", 1)
            assert names == sorted(names, key=str.lower, reverse=True)
            assert not errors, errors
        finally:
            context.close()


# ---------------------------------------------------------------------------
# Bad input, names and words
# ---------------------------------------------------------------------------


def test_a_bad_run_directory_names_the_missing_file(run_dirs: list[Path], region, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    for f in ("plan.csv", "plan_summary.json", "manifest.json"):
        (broken / f).write_bytes((run_dirs[0] / f).read_bytes())
    out = tmp_path / "report"
    with pytest.raises(InputError, match=r"broken.*missing scorecard\.csv"):
        write_report([run_dirs[0], broken], out, region=region)
    with pytest.raises(InputError, match=r"nowhere.*run folder not found"):
        write_report([tmp_path / "nowhere"], out, region=region)
    (broken / "scorecard.csv").write_bytes((run_dirs[0] / "scorecard.csv").read_bytes())
    (broken / "manifest.json").write_text("{not json")
    with pytest.raises(InputError, match=r"manifest\.json"):
        write_report([broken], out, region=region)
    with pytest.raises(InputError, match="2 name"):
        write_report(run_dirs, out, region=region, names=["a", "b"])
    assert not out.exists()  # nothing written


def test_names_slugs_and_gap_words(region, plans) -> None:
    assert slugify("K=23 optimised") == "k23-optimised"
    assert slugify("Current PCNs") == "current-pcns"
    assert slugify("***") == "option"
    assert gap_words(None) == "not certified"
    assert gap_words(0.0) == "0.00% (optimal)"
    assert gap_words(0.00766) == "0.77%"
    names = hub_names(score_plan(region, plans[0]))
    assert names["U04901"] == "Stone & Eccleshall"
    assert len(set(names.values())) == len(names)
