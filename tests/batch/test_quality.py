"""Batch quality on tiny fabricated results (no solves): unresolved marking, the tolerance rule,
plan fingerprints and comparing two batches plan by plan.
"""

from __future__ import annotations

import json
import logging
import math
import sqlite3
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from pcn_planner.batch.scenarios import DEFAULT_TIME_LIMIT, load_scenarios
from pcn_planner.batch.store import STORE_NAME, ResultStore, is_unresolved, load_results, plan_fingerprint
from pcn_planner.batch.summary import (
    WITHIN_TOLERANCE,
    compare_batches,
    effects_table,
    metric_tolerance,
    summarise_batch,
    value_interval,
    write_batch_summary,
)

#: Six practices in two or three hubs.
PLAN_A = {"P1": "H1", "P2": "H1", "P3": "H2", "P4": "H2", "P5": "H3", "P6": "H3"}
PLAN_B = {"P1": "H1", "P2": "H2", "P3": "H2", "P4": "H1", "P5": "H3", "P6": "H3"}


def payload(sid: str, params: dict[str, Any], *, gap: float | None = 0.005, target: float = 0.01,
            status: str = "ok", plan: dict[str, str] | None = None, objective: float = 1.0,
            **metrics: float) -> dict[str, Any]:
    """A worker result as the store receives it, with made-up numbers."""
    name = " ".join(f"{k}={v}" for k, v in params.items()) or sid
    if status != "ok":
        return {"id": sid, "name": name, "params": params, "status": status, "reason": "made up",
                "gap_target": target, "stopped_by": "proof"}
    base = {"travel_mean_min": 7.0, "town_outside_share": 0.34, "max_high_risk_share": 0.2, "practices_moved": 10}
    bound = None if gap is None else objective * (1 - gap)
    return {"id": sid, "name": name, "params": params, "status": "ok", "objective": objective, "bound": bound,
            "gap": gap, "gap_target": target, "stopped_by": "gap" if gap is not None and gap <= target else "time",
            "time_limit": 120, "k": 3, "region_key": "r", "wall_seconds": 1.0,
            "plan": plan or PLAN_A, "metrics": {**base, **metrics}}


def fake_batch(folder: Path, payloads: list[dict[str, Any]]) -> Path:
    with ResultStore(folder / STORE_NAME) as store:
        for p in payloads:
            store.write(p)
    return folder


# ---------------------------------------------------------------------------
# unresolved
# ---------------------------------------------------------------------------


def test_unresolved_rule():
    assert not is_unresolved("ok", 0.01, 0.01)            # on the target is resolved
    assert not is_unresolved("ok", 0.0, 0.01)
    assert is_unresolved("ok", 0.011, 0.01)
    assert is_unresolved("ok", None, 0.01)                # no bound: nothing certified
    assert is_unresolved("ok", 0.02, None)                # default target 1 %
    assert not is_unresolved("ok", 0.02, 0.05)
    assert not is_unresolved("infeasible", None, 0.01)    # infeasible keeps its own status
    assert not is_unresolved("error", None, 0.01)


def test_store_marks_unresolved_and_fingerprints(tmp_path):
    out = fake_batch(tmp_path, [payload("a", {"k": 3}, gap=0.004), payload("b", {"k": 4}, gap=0.06),
                                payload("c", {"k": 5}, status="infeasible")])
    with ResultStore(out / STORE_NAME) as store:
        assert store.counts() == {"ok": 2, "infeasible": 1, "unresolved": 1}
        derived = store.write(payload("d", {"k": 6}, gap=0.2, target=0.3))
    assert derived["unresolved"] is False and derived["gap_target"] == 0.3
    frame = load_results(out)
    assert frame["unresolved"].to_dict() == {"a": False, "b": True, "c": False, "d": False}
    assert frame.at["c", "status"] == "infeasible"
    assert frame.at["a", "plan_fingerprint"] == plan_fingerprint(PLAN_A)
    assert pd.isna(frame.at["c", "plan_fingerprint"])


def test_an_older_store_is_backfilled(tmp_path):
    out = fake_batch(tmp_path, [payload("a", {"k": 3}, gap=0.004), payload("b", {"k": 4}, gap=0.06)])
    with sqlite3.connect(out / STORE_NAME) as db:   # as written before these columns existed
        for col in ("gap_target", "unresolved", "plan_fingerprint"):
            db.execute(f"ALTER TABLE results DROP COLUMN {col}")
    frame = load_results(out)
    assert frame["unresolved"].to_dict() == {"a": False, "b": True}
    assert (frame["gap_target"] == 0.01).all()
    assert frame.at["b", "plan_fingerprint"] == plan_fingerprint(PLAN_A)


def test_scenario_defaults_stop_on_gap_with_a_generous_cap(caplog):
    s = load_scenarios({"base": {"k": 23}}).scenarios[0]
    assert s.problem["time_limit"] == DEFAULT_TIME_LIMIT >= 60
    assert s.problem["gap"] == 0.01
    with caplog.at_level(logging.WARNING, logger="pcn_planner.batch.scenarios"):
        load_scenarios({"base": {"k": 23, "time_limit": 5}})
    assert "short" in caplog.text and "unresolved" in caplog.text


def test_summary_counts_lists_and_keeps_unresolved_apart(tmp_path, caplog):
    out = fake_batch(tmp_path, [
        payload("a", {"k": 3}, gap=0.004, travel_mean_min=7.0),
        payload("b", {"k": 4}, gap=0.003, travel_mean_min=8.0, plan=PLAN_B),
        payload("c", {"k": 5}, gap=0.08, travel_mean_min=3.0),            # unresolved, and "best" on travel
        payload("d", {"k": 6}, status="infeasible"),
    ])
    t = summarise_batch(out)
    ov = t["overview"]["value"]
    assert ov["unresolved"] == 1 and ov["resolved"] == 2 and ov["infeasible"] == 1
    assert list(t["unresolved"].index) == ["c"]
    res = t["results"]
    assert res.loc["c", "quality"] == "unresolved" and res.loc["d", "quality"] == "infeasible"
    assert res.loc["a", "quality"] == "resolved"
    # never in a band, never on the front, even though its travel beats every other plan
    band = t["bands"][(t["bands"]["metric"] == "travel_mean_min") & (t["bands"]["value"] == "5")]
    assert band["ok"].iloc[0] == 0 and band["unresolved"].iloc[0] == 1 and math.isnan(band["median"].iloc[0])
    assert not t["pareto"].loc["c", "pareto"] and t["pareto"].loc["c", "unresolved"]
    assert "2 resolved plans" in ov["co-assignment over"]
    with caplog.at_level(logging.WARNING, logger="pcn_planner.batch.summary"):
        page = write_batch_summary(out)
    assert "1 of 3 scenarios with a plan are unresolved" in caplog.text
    text = page.read_text(encoding="utf-8")
    assert "Unresolved scenarios" in text and "1 unresolved" in text
    data = json.loads((page.parent / "summary.json").read_text())
    assert data["unresolved"] == ["c"]
    by_id = {s["id"]: s for s in data["scenarios"]}
    assert by_id["c"]["unresolved"] and by_id["c"]["quality"] == "unresolved"
    assert by_id["a"]["plan_fingerprint"] == plan_fingerprint(PLAN_A) != by_id["b"]["plan_fingerprint"]
    assert by_id["a"]["objective_interval"] == pytest.approx([0.996, 1.0])
    csv = pd.read_csv(page.parent / "results.csv", index_col=0)
    assert {"unresolved", "quality", "plan_fingerprint", "objective_low", "travel_mean_min_tolerance"} <= set(csv)
    assert pd.read_csv(page.parent / "unresolved.csv", index_col=0).index.tolist() == ["c"]


# ---------------------------------------------------------------------------
# uncertainty from gaps
# ---------------------------------------------------------------------------


def test_tolerance_convention_and_objective_interval():
    assert metric_tolerance(0.34, 0.03) == pytest.approx(0.0102)
    assert metric_tolerance(-2.0, 0.1) == pytest.approx(0.2)
    assert metric_tolerance(5.0, None) == math.inf
    assert value_interval("town_outside_share", 0.34, 0.03) == pytest.approx((0.3298, 0.3502))
    assert value_interval("objective", 1.0, 0.05, 0.95) == (0.95, 1.0)     # exact: [bound, objective]


def frame_of(payloads: list[dict[str, Any]]) -> pd.DataFrame:
    """Fabricated result rows in the layout of ResultStore.frame."""
    rows = []
    for p in payloads:
        rows.append({"id": p["id"], "name": p["name"], "params": p["params"], "status": p["status"],
                     "gap": p.get("gap"), "objective": p.get("objective"), "bound": p.get("bound"),
                     "unresolved": is_unresolved(p["status"], p.get("gap"), p.get("gap_target")),
                     **(p.get("metrics") or {})})
    return pd.DataFrame(rows).set_index("id")


def test_a_difference_inside_tolerance_is_labelled_and_one_outside_is_an_effect():
    # the demo's case: town weight 0.5 -> 1 "raised" the share outside the main town 34.0 -> 35.0 %,
    # at gaps of 3 %: the combined tolerance is about 2.1 points
    rows = frame_of([
        payload("w05", {"weights.town": 0.5}, gap=0.03, target=0.05, town_outside_share=0.340, travel_mean_min=7.0),
        payload("w10", {"weights.town": 1.0}, gap=0.03, target=0.05, town_outside_share=0.350, travel_mean_min=9.0),
    ])
    eff = effects_table(rows).set_index("metric")
    town = eff.loc["town_outside_share"]
    assert town["from"] == "0.5" and town["to"] == "1"
    assert town["difference"] == pytest.approx(0.01)
    assert town["combined_tolerance"] == pytest.approx(0.03 * 0.34 + 0.03 * 0.35)
    assert town["within_solver_tolerance"] and not town["effect"] and town["verdict"] == WITHIN_TOLERANCE
    travel = eff.loc["travel_mean_min"]       # 2 min apart against 0.21 + 0.27 min of tolerance
    assert not travel["within_solver_tolerance"] and travel["effect"] and travel["verdict"] == "effect"
    assert "objective" not in eff.index      # other weights make the objective another score


def test_objective_effect_uses_the_exact_interval():
    rows = frame_of([payload("a", {"k": 3}, gap=0.01, objective=1.0),      # [0.99, 1.00]
                     payload("b", {"k": 4}, gap=0.01, objective=1.2),      # [1.188, 1.2]: apart
                     payload("c", {"k": 5}, gap=0.2, objective=1.3, target=0.5)])   # [1.04, 1.3]: overlaps b
    eff = effects_table(rows)
    obj = eff[eff["metric"] == "objective"].set_index("to")
    assert obj.loc["4", "effect"] and not obj.loc["4", "within_solver_tolerance"]
    assert obj.loc["5", "within_solver_tolerance"] and not obj.loc["5", "effect"]
    assert obj.loc["4", "combined_tolerance"] == pytest.approx(0.2 - (1.188 - 1.0))


def test_unresolved_rows_never_make_an_effect():
    rows = frame_of([payload("a", {"k": 3}, gap=0.005, travel_mean_min=7.0),
                     payload("b", {"k": 4}, gap=0.04, travel_mean_min=20.0)])      # far apart, but unresolved
    eff = effects_table(rows)
    assert eff["unresolved"].all() and not eff["effect"].any()
    assert set(eff["verdict"]) == {"unresolved: not evidence"}


def test_pairs_differ_in_one_setting_only():
    rows = frame_of([payload("a", {"k": 3, "weights.town": 0}), payload("b", {"k": 3, "weights.town": 1}),
                     payload("c", {"k": 4, "weights.town": 0}), payload("d", {"k": 4, "weights.town": 1}),
                     payload("e", {"event": "none"}), payload("f", {"event": "close X"}),
                     payload("g", {"event": "lock Y"})])
    eff = effects_table(rows)
    pairs = set(zip(eff["parameter"], eff["id_from"], eff["id_to"], strict=True))
    assert pairs == {("k", "a", "c"), ("k", "b", "d"), ("weights.town", "a", "b"), ("weights.town", "c", "d"),
                     ("event", "e", "f"), ("event", "e", "g")}   # events against "none"
    assert set(eff.loc[eff["parameter"] == "k", "others"]) == {"weights.town=0", "weights.town=1"}


def test_summary_page_says_within_solver_tolerance(tmp_path):
    out = fake_batch(tmp_path, [
        payload("w05", {"weights.town": 0.5}, gap=0.03, target=0.05, town_outside_share=0.340),
        payload("w10", {"weights.town": 1.0}, gap=0.03, target=0.05, town_outside_share=0.350, plan=PLAN_B),
    ])
    page = write_batch_summary(out)
    text = page.read_text(encoding="utf-8")
    assert WITHIN_TOLERANCE in text and "Effects of one setting" in text
    assert "http://" not in text and "https://" not in text
    effects = pd.read_csv(page.parent / "effects.csv")
    town = effects[effects["metric"] == "town_outside_share"].iloc[0]
    assert bool(town["within_solver_tolerance"]) and not bool(town["effect"])
    data = json.loads((page.parent / "summary.json").read_text())
    assert any(e["within_solver_tolerance"] and e["metric"] == "town_outside_share" for e in data["effects"])


# ---------------------------------------------------------------------------
# fingerprints and comparing batches
# ---------------------------------------------------------------------------


def test_fingerprint_ignores_hub_ids_and_order():
    relabelled = {"P6": "Z", "P5": "Z", "P4": "A", "P3": "A", "P2": "H9", "P1": "H9"}
    assert plan_fingerprint(PLAN_A) == plan_fingerprint(relabelled)
    assert plan_fingerprint(dict(reversed(list(PLAN_A.items())))) == plan_fingerprint(PLAN_A)
    assert plan_fingerprint(PLAN_A) != plan_fingerprint(PLAN_B)
    assert len(plan_fingerprint(PLAN_A) or "") == 64 and plan_fingerprint({}) is None


def test_compare_two_batches_plan_by_plan(tmp_path):
    relabelled = {c: {"H1": "X", "H2": "Y", "H3": "Z"}[h] for c, h in PLAN_A.items()}
    a = fake_batch(tmp_path / "a", [payload("s1", {"k": 1}), payload("s2", {"k": 2}), payload("s3", {"k": 3}),
                                    payload("s4", {"k": 4}, status="infeasible"), payload("s5", {"k": 5})])
    b = fake_batch(tmp_path / "b", [payload("s1", {"k": 1}, plan=relabelled), payload("s2", {"k": 2}, plan=PLAN_B),
                                    payload("s4", {"k": 4}, status="infeasible"), payload("s6", {"k": 6})])
    table = compare_batches(a, b / STORE_NAME)      # a folder or its results.sqlite
    assert table["verdict"].to_dict() == {"s1": "identical", "s2": "different", "s3": "only in a",
                                          "s4": "no plan", "s5": "only in a", "s6": "only in b"}
    assert table.loc["s1", "fingerprint_a"] == table.loc["s1", "fingerprint_b"]


def test_compare_helper_script(tmp_path, capsys):
    import importlib.util

    script = Path(__file__).resolve().parents[2] / "benchmarks" / "compare_batches.py"
    spec = importlib.util.spec_from_file_location("compare_batches_script", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    a = fake_batch(tmp_path / "a", [payload("s1", {"k": 1}), payload("s2", {"k": 2})])
    b = fake_batch(tmp_path / "b", [payload("s1", {"k": 1}), payload("s2", {"k": 2}, plan=PLAN_B)])
    assert module.main([str(a), str(b), "--csv", str(tmp_path / "cmp.csv")]) == 1
    out = capsys.readouterr().out
    assert "identical 1, different 1" in out and "different: s2" in out
    assert module.main([str(a), str(a)]) == 0
