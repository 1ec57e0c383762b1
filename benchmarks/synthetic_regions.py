"""Synthetic regions at benchmark scale: generation time, region statistics and realism.

For each case (default: the embedded SSOT atlas as a reference, a synthetic
region of SSOT's size, 430 practices = the largest ICB, and 1,500 practices)
it generates the atlas with :func:`pcn_planner.data.synthetic.write_synthetic_atlas`
(seed 0), loads it, runs :func:`pcn_planner.geography.region.build_region` and scores
the current PCN map, and reports sizes, practice-graph figures, realism
figures against SSOT and the peak RSS. Each case runs in its own process so
the peak RSS is that case's alone. Writes ``benchmarks/results/synthetic_regions.txt``.

    python benchmarks/synthetic_regions.py [--sizes 141 430 1500] [--seed 0] [--england]

``--england`` also times generating the 42 regions of
:func:`pcn_planner.data.synthetic.england_regions` (about 6,200 practices).
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a plain script from a checkout

RESULTS = REPO / "benchmarks" / "results"


def _weighted_quantiles(values: np.ndarray, weights: np.ndarray, qs: tuple[float, ...]) -> list[float]:
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(weights[order]) / weights.sum()
    return [float(values[order][min(len(values) - 1, np.searchsorted(cum, q))]) for q in qs]


def measure(case: str, seed: int) -> dict:
    """One case, in this process: 'ssot' or a number of practices."""
    import networkx as nx

    from pcn_planner.data.atlas import load_atlas
    from pcn_planner.model.plan import Plan
    from pcn_planner.geography.region import build_region
    from pcn_planner.scoring.scorecard import score_plan
    from pcn_planner.data.synthetic import write_synthetic_atlas
    from pcn_planner.geography.travel import haversine_km

    out: dict = {"case": case}
    with tempfile.TemporaryDirectory(prefix="pcn-bench-") as tmp:
        if case == "ssot":
            t = time.perf_counter()
            atlas = load_atlas()
            out["load_s"] = time.perf_counter() - t
            out["generate_s"] = None
        else:
            t = time.perf_counter()
            write_synthetic_atlas(Path(tmp) / "atlas", int(case), rng=seed)
            out["generate_s"] = time.perf_counter() - t
            t = time.perf_counter()
            atlas = load_atlas(Path(tmp) / "atlas")
            out["load_s"] = time.perf_counter() - t
            out["files_mb"] = sum(f.stat().st_size for f in (Path(tmp) / "atlas").rglob("*") if f.is_file()) / 1e6
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t = time.perf_counter()
            region = build_region(atlas)
            out["build_region_s"] = time.perf_counter() - t
            t = time.perf_counter()
            card = score_plan(region, Plan.current(atlas.practices))
            out["score_current_s"] = time.perf_counter() - t

        p, lsoas, m = atlas.practices, atlas.lsoas, atlas.patients
        g = region.graph
        deg = np.array([d for _, d in g.degree()])
        report = g.graph["report"]
        pcn = p.groupby("pcn_code")["list_size"].sum()
        km = haversine_km(p.loc[m["practice_code"], "lat"].to_numpy(), p.loc[m["practice_code"], "lon"].to_numpy(),
                          lsoas.loc[m["lsoa11cd"], "centroid_lat"].to_numpy(),
                          lsoas.loc[m["lsoa11cd"], "centroid_lon"].to_numpy())
        w = m["patients"].to_numpy(float)
        rural = (p.loc[m["practice_code"], "rurality"] == "Rural").to_numpy()
        terr = region.territory
        owned = terr[terr["owned"]]
        cal = region.calibration
        out.update({
            "practices": len(p),
            "patients": int(p["list_size"].sum()),
            "patients_mapped_share": float(p["patients_mapped"].sum() / p["list_size"].sum()),
            "list_size_q_low": [int(v) for v in p["list_size"].quantile([0, 0.1, 0.25, 0.5])],
            "list_size_q_high": [int(v) for v in p["list_size"].quantile([0.75, 0.9, 1.0])],
            "list_size_mean": float(p["list_size"].mean()),
            "rural_share": float((p["rurality"] == "Rural").mean()),
            "dispensing_share": float(p["dispensing"].astype(bool).mean()),
            "towns": int(p["town"].nunique()),
            "lads": int(p["lad"].nunique()),
            "sub_icbs": int(p["sub_icb"].nunique()),
            "pcns": len(pcn),
            "pcns_over_70k": int((pcn > 70_000).sum()),
            "pcns_under_30k": int((pcn < 30_000).sum()),
            "pcn_median": float(pcn.median()),
            "pcns_non_contiguous": int(card.summary["non_contiguous_hubs"]),
            "hospitals": len(atlas.hospitals),
            "hospitals_in_matrix": int(atlas.hospitals["in_travel_matrix"].astype(bool).sum()),
            "lsoas": len(lsoas),
            "lsoas_with_patients": int((lsoas["patients"] > 0).sum()),
            "lsoas_owned": len(owned),
            "patient_rows": len(m),
            "patient_rows_per_practice": len(m) / len(p),
            "rows_with_1_2_patients": float((m["patients"] <= 2).mean()),
            "urban_km_q50_90_99": _weighted_quantiles(km[~rural], w[~rural], (0.5, 0.9, 0.99)),
            "rural_km_q50_90_99": _weighted_quantiles(km[rural], w[rural], (0.5, 0.9, 0.99)) if rural.any() else None,
            "share_over_10km": float(w[km > 10].sum() / w.sum()),
            "leader_share_median": float((owned["owner_patients"] / owned["area_patients"]).median()),
            "graph_nodes": g.number_of_nodes(),
            "graph_edges": g.number_of_edges(),
            "edges_per_practice": g.number_of_edges() / g.number_of_nodes(),
            "degree_mean": float(deg.mean()),
            "degree_q0_50_100": [int(v) for v in np.percentile(deg, [0, 50, 100])],
            "edges_by_kind": report["edges_by_kind"],
            "territoryless": len(report["territoryless"]),
            "islands_joined": len(report["islands"]),
            "connected": bool(nx.is_connected(g)),
            "calibration_mae_min": cal.mae,
            "calibration_mae_30km_min": cal.mae_30km,
            "calibration_slopes": list(region.travel_model.minutes_per_km),
            "calibration_intercept": cal.fitted_overhead_minutes,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        })
    return out


def measure_england(seed: int) -> dict:
    from pcn_planner.data.synthetic import england_regions, write_synthetic_atlas

    specs = england_regions(rng=seed)
    t = time.perf_counter()
    practices = 0
    with tempfile.TemporaryDirectory(prefix="pcn-bench-") as tmp:
        for spec in specs:
            write_synthetic_atlas(Path(tmp) / f"r{spec['region']:02d}", spec["n_practices"], rng=spec["rng"],
                                  centre=spec["centre"], name=spec["name"], region=spec["region"])
            practices += spec["n_practices"]
    return {"case": "england", "regions": len(specs), "practices": practices,
            "generate_s": time.perf_counter() - t,
            "region_sizes_min_median_max": [int(np.min([s["n_practices"] for s in specs])),
                                            int(np.median([s["n_practices"] for s in specs])),
                                            int(np.max([s["n_practices"] for s in specs]))],
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def run_case(case: str, seed: int) -> dict:
    """Run one case in a fresh interpreter, so its peak RSS is its own."""
    proc = subprocess.run([sys.executable, __file__, "--one", case, "--seed", str(seed)],
                          capture_output=True, text=True, check=False, timeout=1800)
    if proc.returncode != 0:
        raise RuntimeError(f"case {case} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _f(v, digits=2) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        if abs(v) >= 1000:
            return f"{v:,.0f}"
        return f"{v:,.{digits}f}" if abs(v) >= 1 or v == 0 else f"{v:.3g}"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, (list, tuple)):
        return " / ".join(_f(x, digits) for x in v)
    if isinstance(v, dict):
        return ", ".join(f"{k} {_f(x, digits)}" for k, x in v.items())
    return str(v)


ROWS = [
    ("generate (write files) s", "generate_s"), ("load_atlas s", "load_s"), ("files MB", "files_mb"),
    ("build_region s", "build_region_s"), ("score current PCNs s", "score_current_s"),
    ("peak RSS MB", "peak_rss_mb"),
    ("practices", "practices"), ("registered patients", "patients"),
    ("share placed in an LSOA", "patients_mapped_share"),
    ("list size min/p10/p25/median", "list_size_q_low"), ("list size p75/p90/max", "list_size_q_high"),
    ("list size mean", "list_size_mean"),
    ("rural share", "rural_share"), ("dispensing share", "dispensing_share"),
    ("towns (practice sites)", "towns"), ("LADs (practice sites)", "lads"), ("sub-ICBs", "sub_icbs"),
    ("current PCNs", "pcns"), ("PCNs > 70k", "pcns_over_70k"), ("PCNs < 30k", "pcns_under_30k"),
    ("PCN median patients", "pcn_median"), ("PCNs not contiguous", "pcns_non_contiguous"),
    ("hospital sites", "hospitals"), ("sites in travel matrix", "hospitals_in_matrix"),
    ("LSOAs", "lsoas"), ("LSOAs with patients", "lsoas_with_patients"), ("LSOAs owned (territory)", "lsoas_owned"),
    ("patient-matrix rows", "patient_rows"), ("rows per practice", "patient_rows_per_practice"),
    ("rows with 1-2 patients", "rows_with_1_2_patients"),
    ("urban home-practice km p50/p90/p99", "urban_km_q50_90_99"),
    ("rural home-practice km p50/p90/p99", "rural_km_q50_90_99"),
    ("patients > 10 km from practice", "share_over_10km"),
    ("leader's share of owned LSOA (median)", "leader_share_median"),
    ("graph nodes", "graph_nodes"), ("graph edges", "graph_edges"), ("edges per practice", "edges_per_practice"),
    ("degree mean", "degree_mean"), ("degree min/median/max", "degree_q0_50_100"),
    ("edges by kind", "edges_by_kind"), ("practices with no territory", "territoryless"),
    ("islands joined", "islands_joined"), ("graph connected", "connected"),
    ("travel calibration MAE min", "calibration_mae_min"),
    ("travel calibration MAE <= 30 km", "calibration_mae_30km_min"),
    ("fitted min/km 0-5/5-15/15-40/40+", "calibration_slopes"), ("fitted intercept min", "calibration_intercept"),
]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[141, 430, 1500])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--england", action="store_true")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        result = measure_england(args.seed) if args.one == "england" else measure(args.one, args.seed)
        print(json.dumps(result))
        return 0

    cases = ["ssot", *[str(n) for n in args.sizes]]
    results = []
    for case in cases:
        print(f"running {case} ...", file=sys.stderr, flush=True)
        results.append(run_case(case, args.seed))
    england = run_case("england", args.seed) if args.england else None

    heads = ["SSOT (real)", *[f"synthetic n={r['case']}" for r in results[1:]]]
    width = max(len(label) for label, _ in ROWS) + 2
    colw = [max(len(h), *(len(_f(r.get(k))) for _, k in ROWS)) + 2 for h, r in zip(heads, results)]
    lines = [
        "Synthetic regions (pcn_planner.data.synthetic), seed "
        f"{args.seed}, against the embedded SSOT atlas",
        f"python {platform.python_version()} on {platform.machine()}, {platform.system()}; "
        "each case in its own process (peak RSS is that process's maximum resident set)",
        "",
        "".ljust(width) + "".join(h.rjust(w) for h, w in zip(heads, colw)),
    ]
    for label, key in ROWS:
        lines.append(label.ljust(width) + "".join(_f(r.get(key)).rjust(w) for r, w in zip(results, colw)))
    if england:
        lines += ["", f"all England: {england['regions']} regions, {england['practices']:,} practices "
                  f"(sizes min/median/max {_f(england['region_sizes_min_median_max'])}) generated and written "
                  f"in {england['generate_s']:.1f} s, peak RSS {england['peak_rss_mb']:.0f} MB"]
    lines += ["", "SSOT column: the embedded real data (load time, no generation). Synthetic figures are",
              "from one seed; 'edges by kind' counts each edge by its strongest kind."]
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    from pcn_planner.core.files import atomic_write_text

    atomic_write_text(RESULTS / "synthetic_regions.txt", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
