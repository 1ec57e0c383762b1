"""SSOT engine benchmark: K=23 and K=26 at 30k-70k, default and travel-only weights, nesting.

Prints, per run: wall time, objective, true lower bound, gap, status, feasibility of the plan
(every hub contiguous and in band), peak memory and the objective split by term. Targets
(DESIGN.md section 6): feasible, gap <= 1 %, wall time <= 30 s on 2 cores.

Usage: python benchmarks/ssot.py [--time-limit 30] [--solver highs]
"""

from __future__ import annotations

import argparse
import time
import warnings

from _common import machine, peak_rss_mb, write_results

import pcn_planner as pp
from pcn_planner.model.problem import SOLVERS
import solvers.compact  # noqa: F401  (imported up front: wall times measure solves, not the ~1.6 s of imports)
import solvers.heuristic  # noqa: F401

TRAVEL_ONLY = dict(travel=1, town=0, lad=0, catchment=0, risk=0, disruption=0, equity=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--time-limit", type=float, default=30.0)
    parser.add_argument("--solver", default="highs", choices=SOLVERS)
    args = parser.parse_args()

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        region = pp.build_region()
    region_seconds = time.perf_counter() - t0
    runs = [
        ("K=23 default weights", pp.Problem(k=23)),
        ("K=26 default weights", pp.Problem(k=26)),
        ("K=23 travel only", pp.Problem(k=23).with_(weights=TRAVEL_ONLY)),
        ("K=26 travel only", pp.Problem(k=26).with_(weights=TRAVEL_ONLY)),
        ("K=23 nested in sub-ICB", pp.Problem(k=23, nest="sub_icb")),
    ]
    lines = [f"SSOT engine benchmark ({machine()})",
             f"region build (territories, graph, travel calibration, risk): {region_seconds:.2f} s", ""]
    rows = []
    for label, problem in runs:
        problem = problem.with_(time_limit=args.time_limit, solver=args.solver)
        t = time.perf_counter()
        result = pp.optimise(problem, region)
        wall = time.perf_counter() - t
        card = result.scorecard
        s = card.summary
        row = {
            "run": label, "k": card.plan.k, "wall_seconds": round(wall, 2), "objective": result.objective,
            "bound": result.bound, "gap": result.gap, "status": result.status, "stopped_by": result.stopped_by,
            "feasible": card.feasible, "hubs_in_band": s["hubs_in_band"],
            "contiguous": s["hubs"] - s["non_contiguous_hubs"], "travel_mean_min": s["travel_mean_min"],
            "travel_p90_min": s["travel_p90_min"], "town_outside_share": s["town_outside_share"],
            "peak_rss_mb": round(peak_rss_mb(), 1), "terms": result.objective_terms, **result.details,
        }
        rows.append(row)
        gap = "none" if result.gap is None else f"{result.gap:.3%}"
        lines.append(f"{label}: {wall:.1f} s, objective {result.objective:.5f}, bound "
                     f"{'none' if result.bound is None else f'{result.bound:.5f}'}, gap {gap}, {result.status} "
                     f"(stopped by {result.stopped_by}); feasible {card.feasible} "
                     f"({s['hubs_in_band']}/{s['hubs']} in band, {row['contiguous']}/{s['hubs']} contiguous); "
                     f"travel mean {s['travel_mean_min']:.2f} min, p90 {s['travel_p90_min']:.1f} min; "
                     f"peak RSS {row['peak_rss_mb']:.0f} MB")
        for term, v in result.objective_terms.items():
            if v["weight"]:
                lines.append(f"    {term:<11} weight {v['weight']:<5g} x {v['normalised']:.4f} = {v['contribution']:.5f}")
    base = next(r for r in rows if r["run"] == "K=23 default weights")
    nested = next(r for r in rows if r["run"] == "K=23 nested in sub-ICB")
    lines += ["", f"cost of nesting within sub-ICB at K=23: mean travel {base['travel_mean_min']:.2f} -> "
                  f"{nested['travel_mean_min']:.2f} min ({nested['travel_mean_min'] - base['travel_mean_min']:+.2f}), "
                  f"objective {base['objective']:.4f} -> {nested['objective']:.4f}"]
    write_results("ssot", "\n".join(lines) + "\n", {"machine": machine(), "runs": rows})


if __name__ == "__main__":
    main()
