"""Loading the atlas: real totals, and one clear error per kind of bad input."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pcn_planner as pp
from pcn_planner.core.errors import InputError
from pcn_planner.core.tables import Column, read_table


def test_embedded_atlas_holds_the_real_region(atlas: pp.Atlas) -> None:
    p = atlas.practices
    assert len(p) == 141
    assert p["list_size"].sum() == 1_210_283
    assert p["pcn_code"].nunique() == 25
    assert p["sub_icb"].nunique() == 6
    assert set(atlas.patients["lsoa11cd"]) <= set(atlas.lsoas.index)
    assert atlas.hospital_travel.shape == (2318, 35)


def test_load_atlas_works_from_any_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert len(pp.load_atlas().practices) == 141


def _edit(path: Path, row: int, column: str, value: str) -> None:
    """Set one cell (spreadsheet row numbering: header is row 1)."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[row - 2, column] = value
    frame.to_csv(path, index=False)


def _error(folder: Path) -> str:
    with pytest.raises(InputError) as err:
        pp.load_atlas(folder)
    return str(err.value)


@pytest.mark.parametrize("column, value, words", [
    ("lat", "", "is empty"),
    ("lat", "62.5", "above the maximum"),
    ("lon", "-9.1", "below the minimum"),
    ("lat", "north", "'north' is not a number"),
    ("list_size", "0", "must be greater than 0"),
    ("list_size", "-12", "must be greater than 0"),
    ("list_size", "12.5", "not a whole number"),
])
def test_bad_practice_values_name_file_row_and_field(data_copy: Path, column: str, value: str, words: str) -> None:
    _edit(data_copy / "practices.csv", 7, column, value)
    message = _error(data_copy)
    assert message.startswith(f"practices.csv, row 7, field '{column}'")
    assert words in message


def test_duplicate_practice_code(data_copy: Path) -> None:
    frame = pd.read_csv(data_copy / "practices.csv", dtype=str, keep_default_na=False)
    frame.loc[4, "practice_code"] = frame.loc[2, "practice_code"]
    frame.to_csv(data_copy / "practices.csv", index=False)
    message = _error(data_copy)
    assert message.startswith("practices.csv, row 6, field 'practice_code'")
    assert f"duplicate '{frame.loc[2, 'practice_code']}' (first at row 4)" in message


def test_unknown_lsoa_code_in_patient_matrix(data_copy: Path) -> None:
    _edit(data_copy / "lsoa" / "patients.csv", 10, "lsoa11cd", "E01999999")
    assert _error(data_copy) == (
        "lsoa/patients.csv, row 10, field 'lsoa11cd': unknown LSOA code 'E01999999'"
    )


def test_unknown_practice_code_in_patient_matrix(data_copy: Path) -> None:
    _edit(data_copy / "lsoa" / "patients.csv", 3, "practice_code", "Z99999")
    assert "row 3, field 'practice_code': unknown practice code 'Z99999'" in _error(data_copy)


def test_missing_column(data_copy: Path) -> None:
    frame = pd.read_csv(data_copy / "practices.csv", dtype=str, keep_default_na=False)
    frame.drop(columns="list_size").to_csv(data_copy / "practices.csv", index=False)
    message = _error(data_copy)
    assert message.startswith("practices.csv, row 1, field 'list_size': missing column(s) list_size")


def test_wrong_encoding_names_the_row(data_copy: Path) -> None:
    path = data_copy / "practices.csv"
    lines = path.read_bytes().split(b"\n")
    lines[5] = lines[5].replace(b",", "Café,".encode("latin-1"), 1)
    path.write_bytes(b"\n".join(lines))
    message = _error(data_copy)
    assert message.startswith("practices.csv, row 6: is not UTF-8 text")


def test_empty_region(data_copy: Path) -> None:
    path = data_copy / "practices.csv"
    path.write_text(path.read_text().splitlines()[0] + "\n")
    assert "the region is empty" in _error(data_copy)


def test_bad_travel_minutes(data_copy: Path) -> None:
    _edit(data_copy / "lsoa" / "hospital_travel_minutes.csv", 4, "ST46QG", "-3")
    assert _error(data_copy).startswith("lsoa/hospital_travel_minutes.csv, row 4, field 'ST46QG'")


def test_missing_folder(tmp_path: Path) -> None:
    assert "atlas folder not found" in _error(tmp_path / "absent")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(st.integers(-10**6, 10**6).map(str), st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=6)),
                min_size=1, max_size=30))
def test_read_table_either_parses_or_names_the_bad_row(tmp_path: Path, cells: list[str]) -> None:
    path = tmp_path / "t.csv"
    pd.DataFrame({"k": range(len(cells)), "n": cells}).to_csv(path, index=False)
    column = Column("n", "int", required=True, minimum=0)
    try:
        frame = read_table(path, [Column("k", "int"), column])
    except InputError as exc:
        match = re.match(r"t\.csv, row (\d+), field 'n'", str(exc))
        assert match, str(exc)
        assert 2 <= int(match.group(1)) <= len(cells) + 1
    else:
        assert (frame["n"] >= 0).all() and len(frame) == len(cells)
