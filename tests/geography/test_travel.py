"""Tests for pcn_planner.geography.travel: distances, the fitted model and user matrices."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pcn_planner.core.errors import InputError
from pcn_planner.geography.travel import TravelModel, fit_travel_model, haversine_km, holdout_mask, pairs_from_matrix, read_travel_matrix_csv

TRUE_MODEL = TravelModel(
    knots_km=(0.0, 5.0, 15.0, 40.0),
    minutes_per_km=(1.5, 1.1, 0.75, 0.8),
    fitted_overhead_minutes=7.0,
    overhead_minutes=7.0,
)


def synthetic_pairs(rng: np.random.Generator, n_origins: int = 300, n_dests: int = 30,
                    noise: float = 1.0) -> pd.DataFrame:
    """Origins around Stoke, each with destinations 0.2-60 km away in random
    directions, timed by TRUE_MODEL plus Gaussian noise."""
    o_lat, o_lon = rng.uniform(52.6, 53.3, n_origins), rng.uniform(-2.6, -1.6, n_origins)
    n = n_origins * n_dests
    km, bearing = rng.uniform(0.2, 60.0, n), rng.uniform(0, 2 * np.pi, n)
    from_lat, from_lon = np.repeat(o_lat, n_dests), np.repeat(o_lon, n_dests)
    frame = pd.DataFrame({
        "from_lat": from_lat, "from_lon": from_lon,
        "to_lat": from_lat + km * np.cos(bearing) / 111.2,
        "to_lon": from_lon + km * np.sin(bearing) / (111.2 * np.cos(np.radians(from_lat))),
    })
    truth = TRUE_MODEL.minutes(frame.from_lat, frame.from_lon, frame.to_lat, frame.to_lon)
    frame["minutes"] = truth + rng.normal(0.0, noise, n)
    return frame


# --- distances -------------------------------------------------------------

def test_haversine_london_manchester():
    # Charing Cross to Manchester Town Hall, about 262 km as the crow flies
    assert haversine_km(51.5074, -0.1278, 53.4794, -2.2453) == pytest.approx(262, abs=2)


def test_haversine_zero_and_symmetric_and_broadcasts():
    lat = np.array([52.0, 53.0, 52.5])
    lon = np.array([-2.0, -2.2, -1.9])
    d = haversine_km(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
    assert d.shape == (3, 3)
    np.testing.assert_allclose(np.diag(d), 0.0, atol=1e-9)
    np.testing.assert_allclose(d, d.T)
    # one degree of latitude is about 111.2 km
    assert haversine_km(52.0, -2.0, 53.0, -2.0) == pytest.approx(111.2, abs=0.1)


# --- model -----------------------------------------------------------------

def test_minutes_monotone_in_distance_and_overhead_at_zero():
    km = np.linspace(0, 120, 1201)
    minutes = TRUE_MODEL.minutes_for_km(km)
    assert minutes[0] == pytest.approx(7.0)
    assert np.all(np.diff(minutes) > 0)
    # continuity at the knots: 5 km costs 7 + 5 * 1.5
    assert TRUE_MODEL.minutes_for_km(5.0) == pytest.approx(14.5)
    assert TRUE_MODEL.minutes_for_km(15.0) == pytest.approx(14.5 + 11.0)


def test_model_rejects_bad_parameters():
    with pytest.raises(ValueError):
        TravelModel((0.0, 5.0), (1.0, -0.1), 5.0)
    with pytest.raises(ValueError):
        TravelModel((1.0, 5.0), (1.0, 1.0), 5.0)
    with pytest.raises(ValueError):
        TravelModel((0.0, 5.0), (1.0,), 5.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        TRUE_MODEL.overhead_minutes = 1.0  # type: ignore[misc]


def test_matrix_rows_origins_columns_destinations():
    origins = pd.DataFrame({"lsoa": ["A", "B"], "lat": [52.9, 53.0], "lon": [-2.1, -2.2]})
    dests = pd.DataFrame({"code": ["P1", "P2", "P3"], "lat": [52.9, 53.1, 52.8],
                          "lon": [-2.1, -2.0, -2.3]})
    m = TRUE_MODEL.matrix(origins, dests, origin_id="lsoa", dest_id="code")
    assert m.shape == (2, 3)
    assert list(m.index) == ["A", "B"] and list(m.columns) == ["P1", "P2", "P3"]
    assert m.loc["A", "P1"] == pytest.approx(TRUE_MODEL.overhead_minutes)
    expected = TRUE_MODEL.minutes(53.0, -2.2, 52.8, -2.3)
    assert m.loc["B", "P3"] == pytest.approx(float(expected))
    with pytest.raises(ValueError, match="duplicate"):
        TRUE_MODEL.matrix(pd.concat([origins, origins]), dests, origin_id="lsoa", dest_id="code")


def test_fit_recovers_known_parameters():
    pairs = synthetic_pairs(np.random.default_rng(42))
    model, report = fit_travel_model(pairs, rng=1, overhead_minutes=None)
    assert model.fitted_overhead_minutes == pytest.approx(7.0, abs=0.3)
    assert model.overhead_minutes == model.fitted_overhead_minutes
    np.testing.assert_allclose(model.minutes_per_km[:3], (1.5, 1.1, 0.75), atol=0.05)
    # held-out error is the noise: MAE of N(0, 1) is sqrt(2/pi) = 0.80
    assert report.mae == pytest.approx(0.80, abs=0.05)
    assert abs(report.bias) < 0.1
    assert report.fitted_overhead_minutes == model.fitted_overhead_minutes


def test_fit_uses_practice_overhead_by_default():
    pairs = synthetic_pairs(np.random.default_rng(3), n_origins=80)
    model, report = fit_travel_model(pairs)
    assert model.overhead_minutes == 2.0
    assert model.fitted_overhead_minutes == pytest.approx(7.0, abs=0.6)
    # the report judges the fit (fitted overhead), not the short-trip choice
    assert abs(report.bias) < 0.3


def test_holdout_is_by_origin_and_seeded():
    pairs = synthetic_pairs(np.random.default_rng(7), n_origins=100, n_dests=10)
    mask = holdout_mask(pairs, 0.2, 5)
    origins = pairs["from_lat"].astype(str) + "," + pairs["from_lon"].astype(str)
    assert set(origins[mask]).isdisjoint(set(origins[~mask]))
    assert origins[mask].nunique() == 20
    np.testing.assert_array_equal(mask, holdout_mask(pairs, 0.2, np.random.default_rng(5)))
    assert not np.array_equal(mask, holdout_mask(pairs, 0.2, 6))

    model_a, report_a = fit_travel_model(pairs, rng=5)
    model_b, report_b = fit_travel_model(pairs, rng=5)
    assert report_a == report_b and model_a == model_b
    _, report_c = fit_travel_model(pairs, rng=6)
    assert report_c != report_a
    assert report_a.n_train + report_a.n_test == len(pairs)
    assert report_a.n_test == 20 * 10


def test_report_to_dict_and_local_figures():
    pairs = synthetic_pairs(np.random.default_rng(9), n_origins=100)
    _, report = fit_travel_model(pairs)
    d = report.to_dict()
    assert {"n_train", "n_test", "mae", "p90_abs_error", "bias", "mae_30km",
            "p90_abs_error_30km", "bias_30km", "fitted_overhead_minutes"} <= set(d)
    assert 0 < report.n_test_30km <= report.n_test
    assert report.p90_abs_error >= report.mae


def test_pairs_from_matrix_long_and_max_km():
    wide = pd.DataFrame({"LSOA11CD": ["E1", "E2"], "LSOA11NM": ["a", "b"],
                         "S1": [10.0, 20.0], "S2": [30.0, np.nan]})
    cents = pd.DataFrame({"lsoa11cd": ["E1", "E2"], "lat": [53.0, 53.2], "lon": [-2.2, -2.2]})
    sites = pd.DataFrame({"site_code": ["S1", "S2"], "lat": [53.0, 54.0], "lon": [-2.2, -2.2]})
    every = pairs_from_matrix(wide, cents, sites, max_km=np.inf)
    assert len(every) == 3  # the empty cell is dropped
    near = pairs_from_matrix(wide, cents, sites, max_km=60)
    assert set(zip(near.lsoa11cd, near.site_code)) == {("E1", "S1"), ("E2", "S1")}
    assert near.loc[near.lsoa11cd == "E2", "km"].item() == pytest.approx(22.2, abs=0.1)
    assert {"from_lat", "from_lon", "to_lat", "to_lon", "minutes"} <= set(near.columns)


@settings(max_examples=200, deadline=None)
@given(
    lat=st.floats(50.0, 55.8), lon=st.floats(-5.7, 1.8),
    a=st.tuples(st.floats(50.0, 55.8), st.floats(-5.7, 1.8)),
    b=st.tuples(st.floats(50.0, 55.8), st.floats(-5.7, 1.8)),
)
def test_minutes_finite_nonnegative_nondecreasing(lat, lon, a, b):
    model = dataclasses.replace(TRUE_MODEL, overhead_minutes=2.0)
    near, far = sorted([a, b], key=lambda p: float(haversine_km(lat, lon, *p)))
    t_near = model.minutes(lat, lon, *near)
    t_far = model.minutes(lat, lon, *far)
    assert np.isfinite(t_near) and np.isfinite(t_far)
    assert t_near >= 0 and t_far >= 0
    assert t_near <= t_far + 1e-9


# --- user-supplied matrices --------------------------------------------------

LSOAS = {"E01000001", "E01000002"}
PRACTICES = {"M83001", "M83002"}


def read(tmp_path, text: str, name: str = "times.csv") -> pd.DataFrame:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return read_travel_matrix_csv(path, known_origins=LSOAS, known_destinations=PRACTICES)


def test_read_long_format(tmp_path):
    m = read(tmp_path, "lsoa11cd,practice_code,minutes\n"
                       "E01000001,M83001,4.5\nE01000002,M83001,7\nE01000001,M83002,12\n")
    assert m.loc["E01000001", "M83001"] == 4.5
    assert m.loc["E01000002", "M83001"] == 7.0
    assert np.isnan(m.loc["E01000002", "M83002"])
    assert m.index.name == "lsoa11cd" and m.columns.name == "practice_code"


def test_read_wide_format_with_bom_and_blank_cell(tmp_path):
    m = read(tmp_path, "\ufeffLSOA11CD,M83001,M83002\nE01000001,4.5,\nE01000002,7,9.25\n")
    assert m.shape == (2, 2)
    assert np.isnan(m.loc["E01000001", "M83002"])
    assert m.loc["E01000002", "M83002"] == 9.25


@pytest.mark.parametrize(
    "text, row, field, words",
    [
        # long format
        ("lsoa11cd,practice_code\nE01000001,M83001\n", 1, "minutes", "missing column"),
        ("code,M83001\nE01000001,3\n", 1, "lsoa11cd", "missing column"),
        ("lsoa11cd,practice_code,minutes\nE01000001,M83001,4\nE01000002,M83001,abc\n",
         3, "minutes", "number"),
        ("lsoa11cd,practice_code,minutes\nE01000001,M83001,-1\n", 2, "minutes", "negative"),
        ("lsoa11cd,practice_code,minutes\nE01000001,M83001,nan\n", 2, "minutes", "finite"),
        ("lsoa11cd,practice_code,minutes\nE01000001,M83001,\n", 2, "minutes", "empty"),
        ("lsoa11cd,practice_code,minutes\nE01000001,M83001,4\nE09999999,M83001,4\n",
         3, "lsoa11cd", "unknown LSOA"),
        ("lsoa11cd,practice_code,minutes\nE01000001,X99999,4\n", 2, "practice_code",
         "unknown practice"),
        ("lsoa11cd,practice_code,minutes\nE01000001,M83001,4\nE01000002,M83001,5\n"
         "E01000001,M83001,6\n", 4, "practice_code", "duplicate pair"),
        ("lsoa11cd,practice_code,minutes\nE01000001,M83001\n", 2, None, "fields"),
        # wide format
        ("lsoa11cd,M83001,X99999\nE01000001,3,4\n", 1, "X99999", "unknown practice"),
        ("lsoa11cd,M83001,M83001\nE01000001,3,4\n", 1, "M83001", "columns 2 and 3"),
        ("lsoa11cd,M83001,M83002\nE01000001,3,4\nE01000001,5,6\n", 3, "lsoa11cd",
         "duplicate LSOA"),
        ("lsoa11cd,M83001,M83002\nE01000001,3,4\nE01000002,5,slow\n", 3, "M83002", "number"),
        ("lsoa11cd,M83001,M83002\nE01000001,3,-4\n", 2, "M83002", "negative"),
        ("lsoa11cd,M83001\nW01000001,3\n", 2, "lsoa11cd", "unknown LSOA"),
    ],
)
def test_read_errors_name_file_row_field(tmp_path, text, row, field, words):
    with pytest.raises(InputError) as info:
        read(tmp_path, text, name="my_times.csv")
    err = info.value
    assert err.file is not None and err.file.endswith("my_times.csv")
    assert err.row == row
    assert err.field == field
    message = str(err)
    assert "my_times.csv" in message and f"row {row}" in message
    if field:
        assert f"field '{field}'" in message
    assert words.lower() in message.lower()


def test_read_missing_and_empty_files(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_travel_matrix_csv(tmp_path / "nope.csv", known_origins=LSOAS,
                               known_destinations=PRACTICES)
    with pytest.raises(InputError, match="empty"):
        read(tmp_path, "")
    with pytest.raises(InputError, match="no data rows") as info:
        read(tmp_path, "lsoa11cd,practice_code,minutes\n")
    assert info.value.row == 2
