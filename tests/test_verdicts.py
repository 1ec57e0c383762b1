"""Every command gives the same verdict on the same plan.

End to end on the embedded data: a plan optimised under nesting keeps the
links the engine added when ``report`` and ``compare`` read its run folder;
``--max-moved`` is enforced with the count the scorecard shows, or refused in
words that name the rule and the smallest count that works; and each hub's
label names the base site its popup, scorecard and report show.
"""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import pcn_planner as pp
from pcn_planner.core.errors import InfeasibleError
from pcn_planner.outputs.run import Run

pytestmark = pytest.mark.slow


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pcn_planner", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=900)


@pytest.fixture(scope="module")
def region() -> pp.Region:
    return pp.build_region()


@pytest.fixture(scope="module")
def nested(tmp_path_factory) -> dict:
    """``optimise --hubs 23 --nest sub_icb`` through the CLI, as a planner runs it."""
    work = tmp_path_factory.mktemp("nested")
    done = _cli("optimise", "--hubs", "23", "--nest", "sub_icb", "--time-limit", "20", "-q", "--out",
                str(work / "run"), cwd=work)
    assert done.returncode == 0, done.stderr
    return {"work": work, "run": work / "run", "stdout": done.stdout}


def test_report_and_compare_keep_the_optimisers_verdict_under_nesting(nested) -> None:
    printed = re.search(r"contiguous (\d+)/(\d+)", nested["stdout"])
    assert printed and printed.group(1) == printed.group(2) == "23"
    manifest = json.loads((nested["run"] / "manifest.json").read_text())
    links = manifest["added_links"]
    assert links, "nesting by sub-ICB joins cut-off parts with added links"

    card = Run.read(nested["run"]).scorecard()
    assert card.feasible and card.summary["non_contiguous_hubs"] == 0
    assert len(card.added_links) == len(links)

    work = nested["work"]
    done = _cli("compare", "current", str(nested["run"]), "--out", str(work / "cmp"), cwd=work)
    assert done.returncode == 0, done.stderr
    assert "run: 23/23 contiguous; every rule kept" in done.stdout
    for link in links:
        assert f"added link {link['practice_a']}-{link['practice_b']}" in done.stdout

    done = _cli("report", str(nested["run"]), "--out", str(work / "report"), cwd=work)
    assert done.returncode == 0, done.stderr
    page = next((work / "report").glob("option-*.html")).read_text(encoding="utf-8")
    assert "No broken rules" in page and "broken rule" not in page.replace("No broken rules", "")
    assert "Links added to the practice graph" in page
    for link in links:
        assert link["practice_a"] in page and link["practice_b"] in page
    assert "pcn-link" in (nested["run"] / "map.html").read_text(encoding="utf-8")


def test_every_label_names_the_base_site_the_popup_and_report_show(nested, region) -> None:
    card = Run.read(nested["run"]).scorecard()
    plan_csv = pd.read_csv(nested["run"] / "plan.csv", dtype=str)
    labels = dict(zip(plan_csv["hub_id"], plan_csv["hub_name"]))
    names = region.atlas.practices["name"]
    page = (nested["run"] / "map.html").read_text(encoding="utf-8")
    for hub, row in card.hubs.iterrows():
        base = row["base_practice"]
        assert row["base_name"] == names[base]
        assert labels[hub].endswith(f"({names[base]})"), (hub, labels[hub], names[base])
        assert labels[hub].startswith(region.practice_comm.at[base, "town"])
        assert f"<th>Base site</th><td>{html.escape(names[base])} ({base})</td>" in page  # the popup
    recorded = pd.read_csv(nested["run"] / "scorecard.csv", dtype={"hub_id": str}).set_index("hub_id")
    assert recorded["base_practice"].equals(card.hubs["base_practice"])


def test_max_moved_is_held_with_the_scorecards_own_count(region) -> None:
    result = pp.optimise(pp.Problem(k=23, max_moved=20, time_limit=20), region)
    moved = result.scorecard.summary["practices_moved"]
    assert moved <= 20
    assert int(result.scorecard.hubs["moved"].sum()) == moved
    again = pp.score_plan(region, result.plan, problem=result.problem)
    assert again.summary["practices_moved"] == moved and again.feasible


def test_a_max_moved_too_tight_is_refused_naming_the_rule_and_the_smallest_count(region) -> None:
    try:
        result = pp.optimise(pp.Problem(k=23, max_moved=8, time_limit=10), region)
    except InfeasibleError as exc:
        text = str(exc)
        assert "moved-practices rule" in text
        smallest = int(re.search(r"--max-moved (\d+)", text).group(1))
        assert smallest > 8
        # the count it offers works
        ok = pp.optimise(pp.Problem(k=23, max_moved=smallest, time_limit=20), region)
        assert ok.scorecard.summary["practices_moved"] <= smallest
    else:
        assert result.scorecard.summary["practices_moved"] <= 8


def test_k26_alternatives_differ_by_ten_practices_both_ways_and_the_best_is_the_best(region) -> None:
    import itertools

    from pcn_planner.model.instance import compile_problem, moved_from

    result = pp.optimise(pp.Problem(k=26, time_limit=30), region, alternatives=2, differ_by=10)
    assert len(result.alternatives) == 2
    inst = compile_problem(result.problem, region)
    options = [result.plan, *(a.plan for a in result.alternatives)]
    for a, b in itertools.permutations(options, 2):
        hubs = inst.hubs_of(b)
        assert len(moved_from(a.assignment.reindex(list(inst.codes)).to_numpy(), hubs, inst.bases(hubs))) >= 10
    assert all(alt.objective >= result.objective for alt in result.alternatives)
    assert all(alt.gap is not None and alt.gap >= result.gap for alt in result.alternatives)
