"""The metrics registry: one declaration per metric, the same words as docs/metrics.md, and its verdicts."""

from __future__ import annotations

import ast
import dataclasses
import math

import pytest

from pcn_planner.model.plan import Plan
from pcn_planner.model.problem import Bounds
from pcn_planner.scoring.metrics import HUB, PLAN, Metric, PlanSummary, format_value, metric
from pcn_planner.scoring.scorecard import score_plan
from tests.conftest import REPO
from tests.fixtures import tiny_region

DOC = (REPO / "docs" / "metrics.md").read_text(encoding="utf-8")
ALL = [*(("hub", m) for m in HUB.values()), *(("plan", m) for m in PLAN.values())]


def _id(entry: tuple[str, Metric]) -> str:
    return f"{entry[0]}:{entry[1].key}"


@pytest.mark.parametrize("entry", ALL, ids=_id)
def test_every_metric_has_its_row_in_the_docs(entry: tuple[str, Metric]) -> None:
    _, m = entry
    row = f"| `{m.key}` | {m.label} | {m.unit} | {m.definition} |"
    assert row in DOC, f"docs/metrics.md lacks the row\n{row}"


@pytest.mark.parametrize("entry", [e for e in ALL if e[1].formula], ids=_id)
def test_every_formula_is_in_the_docs(entry: tuple[str, Metric]) -> None:
    assert entry[1].formula in DOC


def test_the_docs_list_no_metric_the_registry_lacks() -> None:
    """Every table row of docs/metrics.md is a registered metric (no ghosts)."""
    rows = [line for line in DOC.splitlines() if line.startswith("| `")]
    keys = [line.split("`")[1] for line in rows]
    assert sorted(keys) == sorted([m.key for _, m in ALL])


def test_plan_summary_fields_are_the_plan_metrics_in_order() -> None:
    assert list(PlanSummary.__annotations__) == list(PLAN)


def test_a_scorecard_has_every_hub_metric_and_only_those() -> None:
    plan = Plan.from_mapping({"A": "H1", "B": "H1", "C": "H2", "D": "H2"})
    card = score_plan(tiny_region(), plan, bounds=Bounds(30_000, 60_000))
    assert set(card.hubs.columns) - {"hub_name", "base_name"} == set(HUB)
    assert list(card.summary) == list(PLAN)


def test_verdicts_follow_better() -> None:
    for key in ("hubs", "hubs_in_band"):
        assert PLAN[key].better is None
        assert PLAN[key].verdict(3) == "neutral" and PLAN[key].verdict(-2) == "neutral"
        assert PLAN[key].verdict(0) == "same"
    travel = PLAN["travel_mean_min"]
    assert travel.verdict(-0.4) == "better" and travel.verdict(0.4) == "worse"
    assert PLAN["hubs_out_of_band"].verdict(-1) == "better"
    assert HUB["has_anchor"].verdict(1) == "better"
    assert travel.verdict(float("nan")) == "same"


def test_formats() -> None:
    assert PLAN["patients"].format(52431) == "52,431"
    assert PLAN["travel_mean_min"].format(7.2956) == "7.3 min"
    assert PLAN["town_outside_share"].format(0.343742) == "34.4 %"
    assert HUB["has_anchor"].format(False) == "no"
    assert HUB["imd_mean_decile"].format(4.25) == "4.2"
    assert HUB["risk_mean"].format(0.314) == "0.31"
    assert HUB["dominant_town"].format("Stafford") == "Stafford"
    assert PLAN["travel_p90_min"].format(math.nan) == "–" and format_value("count", None) == "–"
    assert PLAN["hubs"].format_change(3) == "+3"
    assert PLAN["travel_mean_min"].format_change(-0.44) == "-0.4 min"
    assert PLAN["town_outside_share"].format_change(0.012) == "+1.2 points"


def test_metric_looks_up_either_level() -> None:
    assert metric("travel_mean_min") is PLAN["travel_mean_min"]
    assert metric("town_share", "hub") is HUB["town_share"]
    with pytest.raises(KeyError, match="known: hubs, hubs_in_band"):
        metric("mean_travel")


def test_shares_are_labelled_percent_and_stored_as_fractions() -> None:
    """The one choice docs/metrics.md documents: a share's unit is % and its value a fraction 0-1."""
    shares = [m for _, m in ALL if m.kind == "share"]
    assert shares and all(m.unit == "%" for m in shares)
    assert all(m.unit != "%" for _, m in ALL if m.kind != "share")
    assert "stored as fractions" in DOC


def test_no_other_module_names_a_metric() -> None:
    """Labels live in the registry only: no string in the package spells a (multi-word) metric label."""
    labels = {m.label for _, m in ALL if " " in m.label}
    found = []
    for path in sorted((REPO / "pcn_planner").rglob("*.py")):
        if path.name == "metrics.py" and path.parent.name == "scoring":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in labels:
                found.append(f"{path.relative_to(REPO)}:{node.lineno}: {node.value!r}")
    assert not found, "metric labels spelled outside pcn_planner/scoring/metrics.py:\n" + "\n".join(found)


def test_a_plan_summary_is_typed_read_only_and_works_with_pandas() -> None:
    import copy
    import pickle

    import pandas as pd

    values = {k: 1 for k in PLAN}
    s = PlanSummary(**values)
    assert s.hubs == s["hubs"] == 1 and isinstance(s.hubs, int) and isinstance(s.travel_mean_min, float)
    with pytest.raises(TypeError, match="read-only"):
        s["hubs"] = 2
    with pytest.raises(TypeError, match="read-only"):
        s.hubs = 2
    with pytest.raises(ValueError, match="missing"):
        PlanSummary(hubs=1)
    assert pd.DataFrame({"a": s, "b": s}).loc["hubs", "a"] == 1
    assert pickle.loads(pickle.dumps(s)) == s and copy.deepcopy(s) == s
