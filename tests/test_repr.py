"""What a notebook shows: a plan (and a result) as an offline map, or a table of hubs.

A plan that knows its region (``plan.on(region)``, or any plan that came out of
``score_plan`` or ``optimise``) renders in Jupyter as a Leaflet map in an
``<iframe srcdoc>`` with every asset inlined; one without shows a table of its
hubs and how to get the map. The browser test opens the framed page in headless
Chromium with the network cut off.
"""

from __future__ import annotations

import html
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

import pcn_planner as pp
from pcn_planner.outputs.maps.offline import OfflineMap
from pcn_planner.outputs.maps.plan_map import HUB_CLASS
from pcn_planner.model.instance import compile_problem
from pcn_planner.optimise import name_hubs
from tests.browser import check_page, chromium  # noqa: F401  (chromium is a fixture)

from tests.fixtures import tiny_region

#: Largest notebook output we accept for one plan of the SSOT region (bytes).
MAX_REPR_BYTES = 1_200_000


def framed_page(output: str) -> str:
    """The page inside the (single) ``<iframe srcdoc>`` of a notebook output."""
    frames = re.findall(r'<iframe srcdoc="([^"]*)"', output)
    assert len(frames) == 1, f"expected one map frame, found {len(frames)}"
    return html.unescape(frames[0])


def external_loads(page: str) -> list[str]:
    """URLs of scripts, stylesheets, images or frames the page would fetch from the web."""
    return re.findall(r"<(?:script|link|img|iframe)\b[^>]*?\b(?:src|href)\s*=\s*[\"']?((?:https?:)?//[^\"'\s>]+)",
                      page, re.IGNORECASE)


# ---------------------------------------------------------------------------
# Without a region: a table (tiny fixture, no maps)
# ---------------------------------------------------------------------------


def test_plan_without_region_shows_its_hubs_and_how_to_map_it() -> None:
    plan = pp.Plan.from_mapping({"A": "h1", "B": "h1", "C": "h2", "D": "h2"}, name="option <A>",
                                labels={"h1": "Alpha & Bridge"})
    out = plan._repr_html_()
    assert "<iframe" not in out
    assert "<b>option &lt;A&gt;</b>: 4 practices in 2 hubs" in out
    rows = re.findall(r"<tr><th>([^<]*)</th><td>([^<]*)</td><td>(\d+)</td><td>([^<]*)</td></tr>", out)
    assert rows == [("h1", "Alpha &amp; Bridge", "2", "A, B"), ("h2", "", "2", "C, D")]
    assert "plan.on(region)" in out and "plan.explore(region)" in out


def test_long_hubs_are_shortened_in_the_table() -> None:
    plan = pp.Plan.from_mapping({f"P{i:02d}": "big" for i in range(10)})
    assert "P00, P01, P02, P03, P04, P05, … (+4)" in plan._repr_html_()


def test_a_plan_learns_its_region_without_changing() -> None:
    region = tiny_region()
    plan = pp.Plan.from_mapping({"A": 1, "B": 1, "C": 2, "D": 2}, name="split")
    placed = plan.on(region, bounds=pp.Bounds(30_000, 60_000))
    assert plan.region is None and placed.region is region and placed.bounds == pp.Bounds(30_000, 60_000)
    assert placed == plan and hash(placed) == hash(plan) and repr(placed) == repr(plan)
    with pytest.raises(ValueError, match=r"does not cover the region: missing \['D'\]"):
        pp.Plan.from_mapping({"A": 1, "B": 1, "C": 2}).on(region)
    with pytest.raises(ValueError, match=r"has no region to draw on.*plan\.on\(region\)"):
        plan.explore()


def test_scored_and_optimised_plans_know_their_region() -> None:
    region = tiny_region()
    region.atlas.practices["lat"] = [53.0, 52.9, 52.8, 52.7]  # hubs are numbered north to south
    bounds = pp.Bounds(30_000, 60_000)
    card = pp.score_plan(region, pp.Plan.from_mapping({"A": 1, "B": 1, "C": 2, "D": 3}), bounds=bounds)
    assert card.plan.region is region and card.plan.bounds == bounds
    problem = pp.Problem(k=2, bounds=pp.Bounds(30_000, 70_000))
    inst = compile_problem(problem, region)
    plan = name_hubs(region, [np.array([0, 1]), np.array([2, 3])], inst, "two hubs")
    assert plan.region is region and plan.bounds == problem.bounds and plan.members() == {
        "H01": ["A", "B"], "H02": ["C", "D"]}


# ---------------------------------------------------------------------------
# With a region: the offline map (embedded SSOT data)
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def today() -> pp.Scorecard:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # territory-less practices: reported elsewhere
        region = pp.build_region()
    return pp.score_plan(region, pp.Plan.current(region.atlas.practices))


@pytest.fixture(scope="module")
def today_output(today: pp.Scorecard) -> str:
    return today.plan._repr_html_()


@pytest.mark.slow
def test_plan_shows_as_an_offline_map(today: pp.Scorecard, today_output: str) -> None:
    page = framed_page(today_output)
    assert "L.map(" in page and 'id="pcn-title"' in page and 'id="pcn-legend"' in page
    assert page.count(f'"className": "{HUB_CLASS} {HUB_CLASS}-') == today.plan.k == 25  # one polygon per hub
    assert page.count('class="pcn-pop"') == 25  # ... each with its scorecard popup
    assert external_loads(page) == []
    assert "<script>" in page and "L.Icon.Default" in page  # Leaflet itself is inlined
    assert len(today_output.encode()) < MAX_REPR_BYTES
    assert today_output.isascii()  # reads the same in a page of any encoding


@pytest.mark.slow
def test_explore_gives_the_full_map_offline(today: pp.Scorecard, tmp_path: Path) -> None:
    m = today.plan.explore(title="Today", gap=0.0042)
    assert isinstance(m, OfflineMap)
    m.save(tmp_path / "today.html")
    page = (tmp_path / "today.html").read_text(encoding="utf-8")
    assert external_loads(page) == []
    assert "gap 0.42%" in page and "<h1>Today</h1>" in page
    # The page has the deprivation and travel choropleths; the lighter notebook view does not.
    choropleths = ('"className": "pcn-imd"', '"className": "pcn-travel"', 'id="pcn-legend-imd"')
    assert all(c in page for c in choropleths)
    assert not any(c in framed_page(today.plan._repr_html_()) for c in choropleths)


@pytest.mark.slow
def test_result_shows_header_map_and_scorecard(today: pp.Scorecard) -> None:
    result = pp.Result(plan=today.plan, scorecard=today, problem=pp.Problem(k=25), objective=2.5, bound=2.475,
                       gap=0.01, objective_terms={}, status="optimal", stopped_by="gap", solver="highs",
                       solver_version="test", wall_seconds=12.34)
    out = result._repr_html_()
    head, _, rest = out.partition("<iframe")
    assert head == "<p><b>current PCNs</b>: objective 2.5000, gap 1.00%, optimal, 12.3 s</p>"
    page = framed_page(out)
    assert page.count(f'"className": "{HUB_CLASS} {HUB_CLASS}-') == 25 and "gap 1.00%" in page
    table = rest.split("</iframe>", 1)[1]
    assert table.startswith("<h4>current PCNs: 25 hubs, bounds 30,000-70,000</h4>") and "<table" in table


@pytest.mark.slow
@pytest.mark.browser
def test_framed_map_in_chromium(today_output: str, tmp_path: Path, chromium: str) -> None:  # noqa: F811
    path = tmp_path / "framed.html"
    path.write_text(framed_page(today_output), encoding="utf-8")
    hub = f"path.{HUB_CLASS}"
    check = check_page(path, tmp_path / "framed.png", viewport=(1000, 620), chromium=chromium,
                       selectors=["#pcn-title", "#pcn-legend", f":nth-match({hub}, 25)", "path.pcn-practice",
                                  f":nth-match({hub}, 26)"])
    print(f"screenshot: {check.screenshot}")
    assert check.missing_selectors == [f":nth-match({hub}, 26)"], check.problems()  # 25 hubs, no more
    assert not check.console_errors and not check.page_errors, check.problems()
    assert not check.failed_requests and not check.external_requests, check.problems()
    assert not check.blank, check.problems()
