"""The plan map: a scored plan drawn as an offline folium page.

The browser test renders the current PCNs of the embedded SSOT region, opens
the saved page in headless Chromium with the network cut off, and checks the
hubs, flags, title block and legend are there and nothing errors or reaches
out. The screenshot lands in pytest's tmp_path for a person to look at.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

import pcn_planner as pp
from pcn_planner.outputs.maps.offline import save_offline
from pcn_planner.outputs.maps.plan_map import HUB_CLASS, MIN_DELTA_E, PALETTE, _lab, format_metric, hub_adjacency, hub_colours, plan_map, short_name, travel_band
from pcn_planner.scoring.metrics import HUB
from pcn_planner.model.problem import Bounds
from tests.browser import check_page, chromium  # noqa: F401  (chromium is a fixture)

OUT_OF_BAND = ("EAST STAFFORDSHIRE PCN", "MERCIAN PCN")


# ---------------------------------------------------------------------------
# Colouring, words and numbers (no data needed)
# ---------------------------------------------------------------------------


def _assert_proper(graph: nx.Graph, colours: dict) -> None:
    assert set(colours) == set(graph.nodes)
    for u, v in graph.edges:
        assert colours[u] != colours[v], f"neighbours {u} and {v} share {colours[u]}"


@pytest.mark.parametrize("graph", [
    nx.wheel_graph(9),                       # a hub ringed by 8 neighbours
    nx.complete_graph(6),                    # six mutual neighbours
    nx.grid_2d_graph(5, 5),                  # a tiled district
    nx.Graph([("a", "b"), ("b", "c"), ("c", "a"), ("c", "d"), ("d", "e"), ("e", "c")]),  # bow tie
], ids=["wheel", "K6", "grid", "bowtie"])
def test_neighbouring_hubs_never_share_a_colour(graph: nx.Graph) -> None:
    colours = hub_colours(graph)
    _assert_proper(graph, colours)
    assert set(colours.values()) <= set(PALETTE)
    # With the full palette there is room to keep neighbours clearly different too.
    for u, v in graph.edges:
        assert np.linalg.norm(_lab(colours[u]) - _lab(colours[v])) >= MIN_DELTA_E


def test_colouring_is_stable_and_takes_pairs_and_lonely_hubs() -> None:
    edges = [("H1", "H2"), ("H2", "H3"), ("H3", "H1"), ("H3", "H4")]
    first = hub_colours(edges, nodes=["H5"])
    again = hub_colours(list(reversed(edges)), nodes=["H5"])
    assert first == again
    assert "H5" in first
    _assert_proper(nx.Graph(edges), {k: v for k, v in first.items() if k != "H5"})


def test_colouring_spreads_the_palette_and_copes_with_a_small_one() -> None:
    path = nx.path_graph(12)
    colours = hub_colours(path)
    assert len(set(colours.values())) > 2  # not just two alternating colours
    tight = hub_colours(nx.cycle_graph(5), palette=("#000000", "#111111", "#FFFFFF"))
    _assert_proper(nx.cycle_graph(5), tight)  # near-identical colours allowed only when forced
    with pytest.raises(ValueError):
        hub_colours(nx.complete_graph(4), palette=("#000000", "#FFFFFF", "#FF0000"))


@pytest.mark.parametrize(("name", "short"), [
    ("STONE & ECCLESHALL PCN", "Stone & Eccleshall"),
    ("HIPC (HOLISTIC PATIENT CENTRED CARE) PCN", "HIPC"),
    ("ABOUT BETTER CARE (ABC) PCN", "About Better Care"),
    ("HANLEY, BUCKNALL & BENTILEE PCN", "Hanley, Bucknall & Bentilee"),
    ("NEWCASTLE NORTH PCN LIMITED", "Newcastle North"),
    ("H07", "H07"),
    ("Hub 3", "Hub 3"),
])
def test_short_names(name: str, short: str) -> None:
    assert short_name(name) == short


def test_metrics_are_formatted_with_units() -> None:
    bounds = Bounds(30_000, 70_000)
    # the registry's format (Metric.format) ...
    for column, value in (("patients", 52431), ("travel_mean_min", 7.2956), ("lad_share", 0.8561),
                          ("imd_most_deprived_share", 0.0453), ("has_anchor", True), ("dominant_town", "Leek")):
        assert format_metric(column, value) == HUB[column].format(value)
    assert format_metric("patients", 52431) == "52,431"
    assert format_metric("travel_mean_min", 7.2956) == "7.3 min"
    assert format_metric("lad_share", 0.8561) == "85.6 %"
    assert format_metric("imd_most_deprived_share", 0.0453) == "4.5 %"
    # ... with more words where the popup needs them
    assert format_metric("imd_mean_decile", 4.25) == "4.2 (1 = most deprived)"
    assert format_metric("risk_mean", 0.314) == "0.31 (0 low – 1 high)"
    assert format_metric("band", "above max", bounds=bounds) == "above maximum 70,000"
    assert format_metric("has_anchor", False) == "no"
    assert format_metric("travel_p90_min", float("nan")) == "–"
    assert format_metric("base_practice", "M83010", row={"base_name": "Gordon Street"}) == "Gordon Street (M83010)"


def test_travel_bands() -> None:
    assert [travel_band(x) for x in (0, 4.99, 5, 12, 19.9, 20, 95)] == [0, 0, 1, 2, 3, 4, 4]
    assert travel_band(float("nan")) is None


# ---------------------------------------------------------------------------
# The SSOT current PCNs
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scorecard():
    from pcn_planner.geography.region import build_region
    from pcn_planner.scoring.scorecard import score_plan

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # territory-less practices: reported elsewhere
        region = build_region()
    return score_plan(region, pp.Plan.current(region.atlas.practices))


@pytest.fixture(scope="module")
def page(scorecard, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("plan_map") / "map.html"
    return save_offline(plan_map(scorecard), path)


def _block(text: str, element_id: str) -> str:
    """Text (tags stripped) of the <div id=element_id> element, nested divs included."""
    start = text.index(f'<div id="{element_id}"')
    depth, pos = 0, start
    for tag in re.finditer(r"<(/?)div\b", text[start:]):
        depth += -1 if tag.group(1) else 1
        if depth == 0:
            pos = start + tag.end()
            break
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text[start:pos]))


@pytest.mark.slow
def test_real_plan_flags_and_title(scorecard, page: Path) -> None:
    assert scorecard.plan.k == 25
    html = page.read_text(encoding="utf-8")
    title = _block(html, "pcn-title")
    assert "gap: not certified" in title
    assert "23 of 25" in title and "hubs in band" in title
    assert "30,000–70,000" in title
    flagged = title[title.index("flagged"):]
    for name in OUT_OF_BAND:
        assert name in flagged
    assert "155,279 patients &gt; max 70,000" in flagged or "155,279 patients > max 70,000" in flagged
    legend = _block(html, "pcn-legend")
    assert "Flagged" in legend and "not contiguous" in legend
    # Every hub has a popup scorecard in plain English, and no tile is on at opening.
    assert html.count('class="pcn-pop"') == 25
    assert "Mean travel" in html and "90th percentile travel" in html
    assert page.stat().st_size < 6_000_000


@pytest.mark.slow
def test_gap_and_title_are_shown(scorecard, tmp_path: Path) -> None:
    m = plan_map(scorecard, gap=0.0042, title="Option B")
    html = m.get_root().render()
    title = _block(html, "pcn-title")
    assert "gap 0.42%" in title and "Option B" in title


@pytest.mark.slow
def test_plan_with_bare_hub_ids(scorecard) -> None:
    from pcn_planner.scoring.scorecard import score_plan

    region = scorecard.region
    current = scorecard.plan.assignment
    ids = {h: f"H{i:02d}" for i, h in enumerate(sorted(current.unique()))}
    card = score_plan(region, pp.Plan(current.map(ids), "option X"))
    html = plan_map(card, gap=0.0).get_root().render()
    title = _block(html, "pcn-title")
    assert "Option X" in title and "gap 0.00% (optimal)" in title
    assert f"{ids[scorecard.hubs.index[scorecard.hubs['hub_name'] == OUT_OF_BAND[0]][0]]} – 155,279" in title
    assert html.count(f'"className": "{HUB_CLASS} {HUB_CLASS}-') == 25


@pytest.mark.slow
def test_neighbouring_hubs_differ_on_the_real_map(scorecard) -> None:
    graph = hub_adjacency(scorecard)
    assert graph.number_of_nodes() == 25 and graph.number_of_edges() >= 40
    _assert_proper(graph, hub_colours(graph))


@pytest.mark.slow
@pytest.mark.browser
def test_plan_map_page_in_chromium(page: Path, tmp_path: Path, chromium: str) -> None:  # noqa: F811
    hub = f"path.{HUB_CLASS}"
    selectors = [
        "#pcn-legend",
        "#pcn-title",
        hub,
        f":nth-match({hub}, 25)",  # 25 hub polygons ...
        "path.pcn-hub-flagged",
        ":nth-match(path.pcn-hub-flagged, 7)",  # 2 out of band + 5 in pieces
        "path.pcn-practice",
        ".pcn-hosp",
        ".pcn-label.pcn-flagged",
        ".leaflet-control-layers-overlays",
        *(f'#pcn-title .pcn-flags li:has-text("{name}")' for name in OUT_OF_BAND),
    ]
    beyond = [f":nth-match({hub}, 26)", ":nth-match(path.pcn-hub-flagged, 8)"]  # ... and no more
    check = check_page(page, tmp_path / "plan_map.png", selectors=selectors + beyond,
                       viewport=(1400, 900), chromium=chromium)
    print(f"screenshot: {check.screenshot}")
    assert check.missing_selectors == beyond, check.problems()
    assert not check.console_errors and not check.page_errors, check.problems()
    assert not check.failed_requests and not check.external_requests, check.problems()
    assert not check.blank, check.problems()


@pytest.mark.slow
@pytest.mark.browser
def test_choropleth_layers_in_chromium(page: Path, tmp_path: Path, chromium: str) -> None:  # noqa: F811
    # Switching the choropleths on draws their LSOAs (Leaflet makes paths only for layers on the map).
    check = check_page(
        page, tmp_path / "layers.png",
        click=['label:has-text("Deprivation (IMD decile)") input', 'label:has-text("Travel time to hub base") input'],
        selectors=["path.pcn-imd", "path.pcn-travel"],
        chromium=chromium,
    )
    assert check.ok, check.problems()
