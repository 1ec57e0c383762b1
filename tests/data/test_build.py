"""The data build: byte-identical output, area selection, LSOA 2021 -> 2011 conversion."""

from __future__ import annotations

import filecmp
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pcn_planner.data.build import build_data, classify_non_lsoa, convert_to_lsoa11, lad_from_lsoa_name, largest_remainder, town_of
from pcn_planner.core.errors import InputError

from tests.conftest import DATA, RAW, needs_raw


def _files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


@needs_raw
def test_build_reproduces_committed_data_byte_for_byte(tmp_path: Path) -> None:
    out = tmp_path / "data"
    build_data(RAW, out, icb="QNC")
    assert _files(out) == _files(DATA)
    differing = [f for f in _files(out) if not filecmp.cmp(out / f, DATA / f, shallow=False)]
    assert differing == [], f"rebuild differs from committed data/: {differing}"


@needs_raw
def test_build_one_sub_icb_alone(tmp_path: Path) -> None:
    report = build_data(RAW, tmp_path / "cc", icb="QNC", sub_icb="Cannock Chase")
    practices = pd.read_csv(tmp_path / "cc" / "practices.csv")
    assert report.practices == len(practices) == 22
    assert report.patients == practices["list_size"].sum() == 140_734
    assert set(practices["sub_icb"]) == {"Cannock Chase"}


@needs_raw
def test_build_reports_patients_it_cannot_place() -> None:
    text = (DATA / "README.md").read_text()
    assert "CLOSED 333" in text and "EMPTY 1,048" in text and "Wales 24" in text
    assert "no polygon (kept in list sizes, not mapped): 2,141" in text
    practices = pd.read_csv(DATA / "practices.csv")
    unplaced = int((practices["list_size"] - practices["patients_mapped"]).sum())
    assert unplaced == 333 + 1_048 + 5 + 7 + 16 + 24 + 2_141


@needs_raw
def test_unknown_area_names_the_choices(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="Cannock Chase") as err:
        build_data(RAW, tmp_path / "x", icb="QNC", sub_icb="Atlantis")
    assert "gp_practice_locations" in str(err.value)
    assert not (tmp_path / "x").exists()


def test_missing_raw_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="raw data folder not found"):
        build_data(tmp_path / "nowhere", tmp_path / "out")


def test_split_sums_back_and_merge_shares_by_population() -> None:
    lookup = pd.DataFrame({
        # E1 (2011) split into A and B (2021); E2 and E3 (2011) merged into C (2021), 3:1
        "LSOA21CD": ["A", "B", "C", "C"],
        "LSOA11CD": ["E1", "E1", "E2", "E3"],
        "Prop11of21": [1.0, 1.0, 0.75, 0.25],
    })
    patients = pd.DataFrame({
        "PRACTICE_CODE": ["P1", "P1", "P1", "P2"],
        "LSOA_CODE": ["A", "B", "C", "C"],
        "patients21": [5, 7, 10, 2],
    })
    out = convert_to_lsoa11(patients, lookup).set_index(["practice_code", "lsoa11cd"])["patients"]
    assert out[("P1", "E1")] == 12
    assert out[("P1", "E2")] == 8 and out[("P1", "E3")] == 2  # 7.5/2.5 -> remainder tie to first
    assert out[("P2", "E2")] == 2 and ("P2", "E3") not in out.index  # 1.5/0.5
    assert out.groupby(level=0).sum().to_dict() == {"P1": 22, "P2": 2}


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5000), st.lists(st.floats(0.01, 1), min_size=1, max_size=6)),
                min_size=1, max_size=20))
def test_largest_remainder_keeps_whole_totals(groups: list[tuple[int, list[float]]]) -> None:
    totals, shares, ids = [], [], []
    for g, (total, weights) in enumerate(groups):
        w = np.array(weights) / sum(weights)
        totals += [total] * len(w)
        shares += list(w)
        ids += [g] * len(w)
    got = largest_remainder(np.array(totals, float), np.array(shares), np.array(ids))
    frame = pd.DataFrame({"g": ids, "got": got, "exact": np.array(totals) * np.array(shares)})
    assert (frame.groupby("g")["got"].sum().to_numpy() == [t for t, _ in groups]).all()
    assert ((frame["got"] - frame["exact"]).abs() < 1 + 1e-9).all()
    assert (got >= 0).all()


def test_town_rule() -> None:
    assert town_of("Newcastle-under-Lyme BUASD", "Stoke-on-Trent BUA", "Newcastle-under-Lyme") == "Newcastle-under-Lyme"
    assert town_of("", "Madeley BUA", "Newcastle-under-Lyme") == "Madeley"
    assert town_of("", "", "Stafford") == "Rural Stafford"
    assert lad_from_lsoa_name("Newcastle-under-Lyme 012A") == "Newcastle-under-Lyme"


@pytest.mark.parametrize("code, kind", [
    ("CLOSED", "CLOSED"), ("EMPTY", "EMPTY"), ("L99999999", "L99999999/M99999999"),
    ("W01000001", "Wales"), ("S01006506", "Scotland"), ("N21000001", "Northern Ireland"),
])
def test_non_lsoa_codes_are_classified(code: str, kind: str) -> None:
    assert classify_non_lsoa(code) == kind
