"""Comparing two plans: hub pairing, moves, broken pairs, the summary and the page.

The counting rules are checked on tiny plans in ``tests/scoring/test_differences.py``.
On the real embedded region, plan B is today's PCNs with two PCNs merged and one practice moved
(built by hand, no optimiser); the page is opened in headless Chromium with
the network cut off, and panning one map must move the other.
"""

from __future__ import annotations

import math
import tempfile
import warnings
from pathlib import Path

import pandas as pd
import pytest

from pcn_planner.outputs.maps.compare import comparison_colours, comparison_map, difference_map, write_comparison
from pcn_planner.outputs.maps.offline import save_offline
from pcn_planner.model.plan import Plan
from pcn_planner.scoring.differences import compare_plans
from tests.browser import CHROMIUM_ARGS, LOCAL_SCHEMES, check_page, chromium  # noqa: F401  (fixture)

# ---------------------------------------------------------------------------
# The real region: current PCNs against a hand-made change of them
# ---------------------------------------------------------------------------

MERGED_INTO = "STAFFORD TOWN PCN"   # 4 practices: keeps its identity
MERGED_FROM = "STAFFORD CENTRAL PCN"  # 3 practices: joins it
MOVE_FROM, MOVE_TO = "CANNOCK NORTH PCN", "RUGELEY & GREAT HAYWOOD PCN"  # 7 and 5 practices


@pytest.fixture(scope="module")
def region():
    from pcn_planner.geography.region import build_region

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # territory-less practices: reported elsewhere
        return build_region()


@pytest.fixture(scope="module")
def changed(region) -> dict:
    """Plan B: STAFFORD CENTRAL merged into STAFFORD TOWN, one CANNOCK NORTH practice moved to RUGELEY."""
    practices = region.atlas.practices
    current = Plan.current(practices)
    code_of = {n: c for c, n in zip(practices["pcn_code"], practices["pcn_name"])}
    by_pcn = {n: sorted(g.index) for n, g in practices.groupby("pcn_name")}
    mover = practices.loc[by_pcn[MOVE_FROM]].sort_values("list_size").index[0]  # its smallest practice
    b = current.assignment.copy()
    b[by_pcn[MERGED_FROM]] = code_of[MERGED_INTO]
    b[mover] = code_of[MOVE_TO]
    # New hub ids and names, as an optimiser would write them.
    ids = {h: f"H{i:02d}" for i, h in enumerate(sorted(b.unique()), start=1)}
    labels = {ids[h]: f"Option hub {i}" for i, h in enumerate(sorted(b.unique()), start=1)}
    plan_b = Plan(b.map(ids), "merge and move", labels)
    return {"current": current, "plan_b": plan_b, "mover": mover, "merged": by_pcn[MERGED_FROM],
            "by_pcn": by_pcn, "ids": ids, "code_of": code_of}


@pytest.fixture(scope="module")
def comparison(region, changed):
    return compare_plans(region, changed["current"], changed["plan_b"], names=("today", "option"))


@pytest.mark.slow
def test_moved_lists_the_hand_moved_practice_and_the_merged_pcn(comparison, changed, region) -> None:
    moved = comparison.moved
    # The merged hub is served from one base site: the practices of whichever of the two
    # Stafford PCNs does not hold it have moved (a merge), and so has the hand-moved practice.
    card_b = comparison.scorecard_b
    merged_hub = changed["ids"][changed["code_of"][MERGED_INTO]]
    base = card_b.hubs.at[merged_hub, "base_practice"]
    base_pcn = region.atlas.practices.at[base, "pcn_name"]
    assert base_pcn in (MERGED_INTO, MERGED_FROM)
    joined = changed["by_pcn"][MERGED_FROM if base_pcn == MERGED_INTO else MERGED_INTO]
    expected = sorted([changed["mover"], *joined])
    assert sorted(moved["practice_code"]) == expected
    # one definition: the comparison's list is the scorecard's count
    assert len(moved) == card_b.summary["practices_moved"] == card_b.hubs["moved"].sum()
    kinds = dict(zip(moved["practice_code"], moved["change"]))
    assert kinds == {changed["mover"]: "moved", **{c: "merged" for c in joined}}

    row = moved.set_index("practice_code").loc[changed["mover"]]
    practices = region.atlas.practices
    assert row["name"] == practices.at[changed["mover"], "name"]
    assert row["list_size"] == practices.at[changed["mover"], "list_size"]
    assert row["hub_a"] == MOVE_FROM
    assert row["hub_b"] == changed["plan_b"].label(changed["ids"][changed["code_of"][MOVE_TO]])
    assert set(moved.loc[moved["change"] == "merged", "hub_a"]) == {MERGED_FROM if base_pcn == MERGED_INTO
                                                                    else MERGED_INTO}

    pairing = comparison.pairing
    assert len(pairing) == 24 and changed["code_of"][MERGED_FROM] not in pairing
    assert pairing[changed["code_of"][MERGED_INTO]] == changed["ids"][changed["code_of"][MERGED_INTO]]


@pytest.mark.slow
def test_pairs_broken_are_the_moved_practice_with_its_old_partners(comparison, changed) -> None:
    pairs = comparison.pairs_broken
    # The merge breaks no pair; the move breaks one per other CANNOCK NORTH practice (7 - 1).
    assert len(pairs) == len(changed["by_pcn"][MOVE_FROM]) - 1 == 6
    assert all(changed["mover"] in (p, q) for p, q in zip(pairs["practice_1"], pairs["practice_2"]))
    assert set(pairs["hub_a"]) == {MOVE_FROM}
    assert {"name_1", "name_2", "hub_b_1", "hub_b_2"} <= set(pairs.columns)
    assert comparison.scorecard_b.summary["pcn_pairs_broken"] == len(pairs)
    assert comparison.pairs_broken_label == "current PCN pairs broken"


@pytest.mark.slow
def test_summary_side_by_side(comparison) -> None:
    s = comparison.summary
    assert list(s.columns) == ["measure", "unit", "today", "option", "difference", "better"]
    assert list(s.index) == ["hubs", "hubs_in_band", "non_contiguous_hubs", "travel_mean_min", "travel_p90_min",
                             "town_outside_share", "towns_split", "practices_moved", "pcn_pairs_broken"]
    assert (s.at["hubs", "today"], s.at["hubs", "option"], s.at["hubs", "difference"]) == (25, 24, -1)
    assert (s.at["practices_moved", "today"], s.at["practices_moved", "option"]) == (0, len(comparison.moved)) == (0, 5)
    assert (s.at["pcn_pairs_broken", "today"], s.at["pcn_pairs_broken", "option"]) == (0, 6)
    a, b = comparison.scorecard_a.summary, comparison.scorecard_b.summary
    assert s.at["non_contiguous_hubs", "today"] == a["non_contiguous_hubs"] == 5
    assert s.at["hubs_in_band", "today"] == 23
    for key in ("travel_mean_min", "travel_p90_min", "town_outside_share"):
        assert math.isclose(s.at[key, "difference"], b[key] - a[key], abs_tol=1e-12)
    table = comparison.summary_table()
    assert table.at["hubs", "difference"] == "-1" and table.at["practices_moved", "difference"] == "+5"
    assert table.at["travel_mean_min", "today"].endswith(" min")


@pytest.mark.slow
def test_between_two_options_the_summary_adds_a_to_b(region, changed) -> None:
    a = changed["plan_b"]
    b = Plan(changed["current"].assignment, "today", changed["current"].labels)
    c = compare_plans(region, a, b, names=("option", "today"))
    assert not c.a_is_current
    assert c.summary.at["moved_a_to_b", "option"] == 0
    # Splitting the merged hub back out moves nobody (each part keeps a base from the merged hub);
    # only the hand-moved practice, going back, has moved.
    assert c.summary.at["moved_a_to_b", "today"] == c.summary.at["moved_a_to_b", "difference"] == len(c.moved) == 1
    assert list(c.moved["practice_code"]) == [changed["mover"]]
    # Splitting the merged hub apart breaks 3 x 4 pairs; moving the practice back breaks 5.
    assert c.summary.at["pairs_broken_a_to_b", "today"] == len(c.pairs_broken) == 3 * 4 + 5
    assert c.pairs_broken_label == "pairs together in option split in today"
    with pytest.raises(ValueError, match="names"):
        compare_plans(region, a, b, names=("x", "x"))


@pytest.mark.slow
def test_paired_hubs_share_a_colour_and_neighbours_differ(comparison) -> None:
    from pcn_planner.outputs.maps.plan_map import hub_adjacency

    ca, cb = comparison_colours(comparison)
    for a, b in comparison.pairing.items():
        assert ca[a] == cb[b]
    for card, colours in ((comparison.scorecard_a, ca), (comparison.scorecard_b, cb)):
        for u, v in hub_adjacency(card).edges:
            assert colours[u] != colours[v]


@pytest.mark.slow
def test_write_comparison(comparison, tmp_path: Path) -> None:
    out = write_comparison(comparison, tmp_path / "cmp", gap_b=0.0)
    assert sorted(p.name for p in out.iterdir()) == [
        "compare.html", "difference.html", "moved.csv", "pairs_broken.csv", "summary.csv"]
    moved = pd.read_csv(out / "moved.csv", dtype=str)
    assert list(moved.columns) == ["practice_code", "name", "list_size", "hub_a_id", "hub_a", "hub_b_id", "hub_b",
                                   "change"]
    assert len(moved) == 5
    assert len(pd.read_csv(out / "pairs_broken.csv")) == 6
    summary = pd.read_csv(out / "summary.csv", index_col="key")
    assert list(summary.columns) == ["measure", "unit", "today", "option", "difference"]
    assert summary.at["hubs", "option"] == 24
    assert "25,24,-1" in (out / "summary.csv").read_text()  # counts stay integers
    page = (out / "compare.html").read_text(encoding="utf-8")
    assert "gap 0.00% (optimal)" in page and "gap: not certified" in page
    assert 'id="pcn-cmp-table"' in page and "Current PCN pairs broken" in page
    assert list(tmp_path.glob(".cmp.*")) == []  # no stage left behind


# ---------------------------------------------------------------------------
# In the browser
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def page(comparison, tmp_path_factory) -> Path:
    return save_offline(comparison_map(comparison, gap_b=0.0012), tmp_path_factory.mktemp("compare") / "compare.html")


@pytest.mark.slow
@pytest.mark.browser
def test_comparison_page_in_chromium(page: Path, tmp_path: Path, chromium: str) -> None:  # noqa: F811
    selectors = [
        ".leaflet-container", ":nth-match(.leaflet-container, 2)",
        "path.pcn-hub.pcn-side-a", ":nth-match(path.pcn-hub.pcn-side-a, 25)",
        "path.pcn-hub.pcn-side-b", ":nth-match(path.pcn-hub.pcn-side-b, 24)",
        "path.pcn-move", ":nth-match(path.pcn-move, 10)",  # 5 moves, ringed on both maps
        "path.pcn-practice", ".pcn-label", ".pcn-caption",
        "#pcn-cmp-header", "#pcn-cmp-panel", "#pcn-cmp-legend", "#pcn-cmp-table",
        '#pcn-cmp-moved:has-text("5")', '#pcn-cmp-pairs:has-text("6")',
        '#pcn-cmp-table th:has-text("Towns split")',
        "#pcn-cmp-moves li",
    ]
    beyond = [":nth-match(.leaflet-container, 3)", ":nth-match(path.pcn-hub.pcn-side-a, 26)",
              ":nth-match(path.pcn-hub.pcn-side-b, 25)", ":nth-match(path.pcn-move, 11)"]
    check = check_page(page, tmp_path / "compare.png", selectors=selectors + beyond,
                       viewport=(1600, 900), chromium=chromium)
    print(f"screenshot: {check.screenshot}")
    assert check.missing_selectors == beyond, check.problems()
    assert not check.console_errors and not check.page_errors, check.problems()
    assert not check.failed_requests and not check.external_requests, check.problems()
    assert not check.blank, check.problems()


@pytest.mark.slow
@pytest.mark.browser
def test_difference_page_in_chromium(comparison, tmp_path: Path, chromium: str) -> None:  # noqa: F811
    path = save_offline(difference_map(comparison), tmp_path / "difference.html")
    check = check_page(path, tmp_path / "difference.png", chromium=chromium,
                       selectors=["path.pcn-hub.pcn-side-b", ":nth-match(path.pcn-hub.pcn-side-b, 24)",
                                  "path.pcn-hub-a-outline", ":nth-match(path.pcn-move, 4)", "#pcn-cmp-table"])
    assert check.ok, check.problems()


@pytest.mark.slow
@pytest.mark.browser
def test_panning_one_map_moves_the_other(page: Path, chromium: str) -> None:  # noqa: F811
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with tempfile.TemporaryDirectory(prefix="pcn-chromium-") as profile, sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile, executable_path=chromium, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 850})
        try:
            context.route(lambda u: not u.startswith(LOCAL_SCHEMES), lambda route: route.abort())
            tab = context.pages[0] if context.pages else context.new_page()
            tab.on("pageerror", lambda exc: errors.append(str(exc)))
            tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            tab.goto(page.as_uri(), wait_until="load")
            # folium's map variables are globals named by the ids of the map divs.
            ids = tab.evaluate("Array.from(document.querySelectorAll('.leaflet-container')).map(e => e.id)")
            assert len(ids) == 2 and all(tab.evaluate(f"typeof window['{i}'].getCenter") == "function" for i in ids)
            left, right = ids
            def centre(name: str) -> list[float]:
                js = "n => { const c = window[n].getCenter(); return [c.lat, c.lng, window[n].getZoom()]; }"
                return tab.evaluate(js, name)

            assert centre(left) == pytest.approx(centre(right), abs=1e-9)

            # setView on the left map: the right one follows, centre and zoom.
            tab.evaluate(f"window['{left}'].setView([52.80, -2.10], 12, {{animate: false}})")
            tab.wait_for_timeout(300)
            assert centre(right) == pytest.approx([52.80, -2.10, 12], abs=1e-6)

            # A mouse drag on the right map moves the left one the same way.
            before = centre(left)
            box = tab.locator(f"#{right}").bounding_box()
            x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
            tab.mouse.move(x, y)
            tab.mouse.down()
            for step in range(1, 11):
                tab.mouse.move(x - 15 * step, y - 8 * step)
            tab.mouse.up()
            tab.wait_for_timeout(600)
            after_left, after_right = centre(left), centre(right)
            assert after_left[1] > before[1] and after_left[0] < before[0]  # dragged up-left: view moves down-right
            assert after_left == pytest.approx(after_right, abs=1e-6)

            # Clicking a move in the panel zooms both maps to that practice.
            tab.locator("#pcn-cmp-moves li").first.click()
            tab.wait_for_timeout(600)
            lat = float(tab.locator("#pcn-cmp-moves li").first.get_attribute("data-lat"))
            assert centre(left)[0] == pytest.approx(lat, abs=1e-3)
            assert centre(left) == pytest.approx(centre(right), abs=1e-6)
        finally:
            context.close()
    assert not errors, errors
