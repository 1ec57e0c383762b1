"""Plan files: the practice_code,hub_id contract and its errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import pcn_planner as pp
from pcn_planner.core.errors import InputError

CODES = ["A1", "B2", "C3", "D4"]


def write(tmp_path: Path, rows: list[tuple[str, str]], header: str = "practice_code,hub_id") -> Path:
    path = tmp_path / "plan.csv"
    path.write_text(header + "\n" + "".join(f"{a},{b}\n" for a, b in rows))
    return path


def test_round_trip(tmp_path: Path) -> None:
    plan = pp.Plan.from_mapping({"A1": "x", "B2": "x", "C3": "y", "D4": "y"}, labels={"x": "North"})
    plan.to_csv(tmp_path / "p.csv")
    back = pp.read_plan_csv(tmp_path / "p.csv", CODES)
    assert back == plan and back.k == 2 and back.label("x") == "North"


def test_unknown_practice(tmp_path: Path) -> None:
    path = write(tmp_path, [("A1", "x"), ("ZZ9", "x"), ("C3", "y"), ("D4", "y")])
    with pytest.raises(InputError) as err:
        pp.read_plan_csv(path, CODES)
    assert str(err.value) == ("plan.csv, row 3, field 'practice_code': unknown practice code 'ZZ9' "
                              "(not a practice of this region)")


def test_duplicate_practice(tmp_path: Path) -> None:
    path = write(tmp_path, [("A1", "x"), ("B2", "x"), ("A1", "y"), ("C3", "y"), ("D4", "y")])
    with pytest.raises(InputError) as err:
        pp.read_plan_csv(path, CODES)
    assert str(err.value).startswith("plan.csv, row 4, field 'practice_code': practice 'A1' appears twice "
                                     "(first at row 2)")


def test_missing_practice(tmp_path: Path) -> None:
    path = write(tmp_path, [("A1", "x"), ("B2", "x")])
    with pytest.raises(InputError, match=r"2 practice\(s\) of the region have no hub: C3, D4"):
        pp.read_plan_csv(path, CODES)


def test_wrong_columns(tmp_path: Path) -> None:
    path = write(tmp_path, [("A1", "x")], header="code,hub")
    with pytest.raises(InputError, match="row 1, field 'practice_code': missing column"):
        pp.read_plan_csv(path, CODES)


def test_empty_hub_id(tmp_path: Path) -> None:
    path = write(tmp_path, [("A1", "x"), ("B2", "")])
    with pytest.raises(InputError, match="row 3, field 'hub_id': is empty"):
        pp.read_plan_csv(path, CODES)


def test_plans_compare_as_partitions() -> None:
    a = pp.Plan.from_mapping({"A1": 1, "B2": 1, "C3": 2})
    b = pp.Plan.from_mapping({"A1": "z", "B2": "z", "C3": "q"})
    c = pp.Plan.from_mapping({"A1": 1, "B2": 2, "C3": 2})
    assert a == b and a != c
    assert c.moved_from(a) == ["B2"]


def test_current_plan_has_25_pcns(atlas: pp.Atlas) -> None:
    plan = pp.Plan.current(atlas.practices)
    assert plan.k == 25 and len(plan) == 141
    assert plan.label("U57641") == "EAST STAFFORDSHIRE PCN"
    frame = plan.to_frame()
    assert list(frame.columns) == ["practice_code", "hub_id", "hub_name"]
    assert isinstance(frame, pd.DataFrame)
