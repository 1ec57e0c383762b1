"""SSOT engine benchmark: K=22...26 at 30k-70k, default and travel-only weights, and nesting.

Prints, per run: wall time, objective, true lower bound, gap, status, feasibility of the plan
(every hub contiguous and in band), the time until the gap first reached 1 %, 0.5 % and 0.1 %
(from the engine's trajectory) and to a proof, peak memory and the objective split by term.
Each run asks for a 0.1 % gap (``--gap``) within ``--time-limit`` seconds. Targets (issue #13):
a gap <= 0.1 % or a proof within 60 s on 2 cores at K=23 and K=26; DESIGN.md: <= 1 % in 30 s.

Usage: python benchmarks/ssot.py [--time-limit 60] [--gap 0.001] [--solver highs] [--ks 22-26]
"""

from __future__ import annotations

import argparse
import time
import warnings

from _common import machine, peak_rss_mb, seconds_text, time_to_gaps, write_results

import pcn_planner as pp
from pcn_planner.model.problem import SOLVERS
import solvers.compact  # noqa: F401  (imported up front: wall times measure solves, not the ~1.6 s of imports)
import solvers.heuristic  # noqa: F401

TRAVEL_ONLY = dict(travel=1, town=0, lad=0, catchment=0, risk=0, disruption=0, equity=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--gap", type=float, default=0.001)
    parser.add_argument("--solver", default="highs", choices=SOLVERS)
    parser.add_argument("--ks", default="22-26", help="K values, as 'first-last'")
    args = parser.parse_args()
    first, last = (int(v) for v in args.ks.split("-"))

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        region = pp.build_region()
    region_seconds = time.perf_counter() - t0
    runs = [(f"K={k} default weights", pp.Problem(k=k)) for k in range(first, last + 1)]
    runs += [(f"K={k} travel only", pp.Problem(k=k).with_(weights=TRAVEL_ONLY)) for k in range(first, last + 1)]
    runs += [("K=23 nested in sub-ICB", pp.Problem(k=23, nest="sub_icb"))]
    # the README's first command, as a user runs it: the default 1 % target and 30 s limit
    runs += [("K=23 README command", pp.Problem(k=23))]
    lines = [f"SSOT engine benchmark ({machine()})",
             f"region build (territories, graph, travel calibration, risk): {region_seconds:.2f} s", ""]
    rows = []
    for label, problem in runs:
        if label != "K=23 README command":
            problem = problem.with_(time_limit=args.time_limit, solver=args.solver, gap=args.gap)
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
            "time_to": {**time_to_gaps(result.details["trajectory"]),
                        "proof": round(wall, 1) if result.stopped_by == "proof" else None},
            "reproducible": result.reproducible,
        }
        rows.append(row)
        gap = "none" if result.gap is None else f"{result.gap:.3%}"
        lines.append(f"{label}: {wall:.1f} s, objective {result.objective:.5f}, bound "
                     f"{'none' if result.bound is None else f'{result.bound:.5f}'}, gap {gap}, {result.status} "
                     f"(stopped by {result.stopped_by}); feasible {card.feasible} "
                     f"({s['hubs_in_band']}/{s['hubs']} in band, {row['contiguous']}/{s['hubs']} contiguous); "
                     f"travel mean {s['travel_mean_min']:.2f} min, p90 {s['travel_p90_min']:.1f} min; "
                     f"peak RSS {row['peak_rss_mb']:.0f} MB")
        lines.append("    time to gap " + ", ".join(f"{k} {seconds_text(v)}" for k, v in row["time_to"].items())
                     + f"; reproducible {result.reproducible}")
        for term, v in result.objective_terms.items():
            if v["weight"]:
                lines.append(f"    {term:<11} weight {v['weight']:<5g} x {v['normalised']:.4f} = {v['contribution']:.5f}")
    base = next(r for r in rows if r["run"] == "K=23 default weights")
    nested = next(r for r in rows if r["run"] == "K=23 nested in sub-ICB")
    lines += ["", "summary (time to 1 % / 0.5 % / 0.1 % / proof, final gap):"]
    for r in rows:
        final = "none" if r["gap"] is None else f"{r['gap']:.3%}"
        lines.append(f"  {r['run']:<24} " + " / ".join(seconds_text(v) for v in r["time_to"].values())
                     + f", {final}")
    lines += ["", f"cost of nesting within sub-ICB at K=23: mean travel {base['travel_mean_min']:.2f} -> "
                  f"{nested['travel_mean_min']:.2f} min ({nested['travel_mean_min'] - base['travel_mean_min']:+.2f}), "
                  f"objective {base['objective']:.4f} -> {nested['objective']:.4f}"]
    write_results("ssot", "\n".join(lines) + "\n", {"machine": machine(), "runs": rows})


if __name__ == "__main__":
    main()
