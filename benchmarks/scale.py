"""Scale benchmark: the full engine on synthetic regions of 430 and 1,500 practices.

Targets (issue #13): 430 practices (the largest ICB) within 1 % in 2 minutes; 1,500 practices
within 2 % in 5 minutes. Each run asks for its target gap and stops on it, the time limit a cap.
Prints region build time, engine time, objective, bound, gap, feasibility and peak memory.

Usage: python benchmarks/scale.py [--sizes 430 1500] [--limits 120 300] [--gaps 0.01 0.02]
"""

from __future__ import annotations

import argparse
import time
import warnings

from _common import machine, peak_rss_mb, write_results

import pcn_planner as pp
from pcn_planner.data.synthetic import synthetic_atlas


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[430, 1500])
    parser.add_argument("--limits", type=float, nargs="+", default=[120.0, 300.0],
                        help="engine time limit per size, seconds (region build comes on top)")
    parser.add_argument("--gaps", type=float, nargs="+", default=[0.01, 0.02], help="target gap per size")
    args = parser.parse_args()
    lines = [f"Scale benchmark on synthetic regions ({machine()})", ""]
    rows = []
    for n, limit, target in zip(args.sizes, args.limits, args.gaps, strict=True):
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            region = pp.build_region(synthetic_atlas(n, rng=0))
        built = time.perf_counter() - t0
        k = round(region.population.sum() / 50_000)
        t1 = time.perf_counter()
        try:
            result = pp.optimise(pp.Problem(k=k, time_limit=limit, gap=target), region)
        except pp.InfeasibleError as exc:
            lines.append(f"n={n}: K={k}: no plan: {exc}")
            rows.append({"n": n, "k": k, "status": "no plan", "reason": str(exc)})
            continue
        wall = time.perf_counter() - t1
        s = result.scorecard.summary
        gap = "none" if result.gap is None else f"{result.gap:.2%}"
        row = {"n": n, "k": k, "patients": int(region.population.sum()), "region_seconds": round(built, 1),
               "engine_seconds": round(wall, 1), "objective": result.objective, "bound": result.bound,
               "gap": result.gap, "status": result.status, "stopped_by": result.stopped_by,
               "feasible": result.scorecard.feasible, "hubs_in_band": s["hubs_in_band"],
               "non_contiguous_hubs": s["non_contiguous_hubs"], "peak_rss_mb": round(peak_rss_mb())}
        rows.append(row)
        lines.append(f"n={n} practices, {row['patients']:,} patients, K={k}: region {built:.1f} s; engine "
                     f"{wall:.1f} s (limit {limit:g} s); objective {result.objective:.4f}, bound "
                     f"{'none' if result.bound is None else f'{result.bound:.4f}'}, gap {gap}, {result.status} "
                     f"(stopped by {result.stopped_by}); feasible {result.scorecard.feasible} "
                     f"({s['hubs_in_band']}/{s['hubs']} in band, {s['non_contiguous_hubs']} non-contiguous); "
                     f"peak RSS {row['peak_rss_mb']} MB")
    write_results("scale", "\n".join(lines) + "\n", {"machine": machine(), "runs": rows})


if __name__ == "__main__":
    main()
