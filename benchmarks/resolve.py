"""Related re-solves at K=23 from a previous solve's state (pp.Solver), against the same problems from nothing.

One K=23 solve with default weights; then, each from that solve's state
(``Solver.resolve(start_from=first, ...)``): one weight changed, the upper bound
changed, the lower bound changed, and 10 % list growth in one district. Each is
also solved from nothing for comparison. Reported: wall time, the time until the
gap first reached 1 % (from the engine's trajectory, plus the time before the
exact model started), the final gap and what ended the search. Target (issue
#13): a related re-solve reaches <= 1 % within 5 s on 2 cores.

Usage: python benchmarks/resolve.py [--time-limit 30]
"""

from __future__ import annotations

import argparse
import time
import warnings

from _common import machine, peak_rss_mb, seconds_text, write_results

import pcn_planner as pp

CHANGES = [
    ("town weight 0.5 -> 1", {"weights": {"town": 1.0}}),
    ("travel weight 1 -> 1.5", {"weights": {"travel": 1.5}}),
    ("max 70k -> 65k", {"bounds": {"max": 65000}}),
    ("min 30k -> 32k", {"bounds": {"min": 32000}}),
    ("growth 10 % in Stafford", {"growth": {"lad:Stafford": 1.1}}),
]


def _first_within(result: pp.Result, target: float = 0.01) -> float | None:
    """Seconds from the call until the gap first reached ``target`` (the trajectory is on the call's clock)."""
    return next((t for t, obj, low in result.details["trajectory"] if (obj - low) / abs(obj) <= target + 1e-12),
                None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--time-limit", type=float, default=30.0)
    args = parser.parse_args()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        solver = pp.Solver()
    problem = pp.Problem(k=23, time_limit=args.time_limit)
    t = time.perf_counter()
    first = solver.solve(problem)
    first_wall = time.perf_counter() - t
    lines = [f"Related re-solves at K=23 ({machine()})", "",
             f"first solve (from nothing): {first_wall:.1f} s, objective {first.objective:.5f}, "
             f"gap {first.gap:.3%}, stopped by {first.stopped_by}", ""]
    rows = [{"change": "first solve", "wall_seconds": round(first_wall, 2), "objective": first.objective,
             "gap": first.gap, "stopped_by": first.stopped_by, "to_1pct": _first_within(first)}]
    lines.append(f"{'change':<26} {'from state':>34}   {'from nothing':>34}")
    for label, change in CHANGES:
        t = time.perf_counter()
        warm = solver.resolve(start_from=first, **change)
        warm_wall = time.perf_counter() - t
        t = time.perf_counter()
        cold = pp.optimise(warm.problem, solver.region)
        cold_wall = time.perf_counter() - t
        row = {"change": label, "wall_seconds": round(warm_wall, 2), "objective": warm.objective, "gap": warm.gap,
               "stopped_by": warm.stopped_by, "to_1pct": _first_within(warm),
               "cuts_reused": warm.details.get("cuts_added"), "reproducible": warm.reproducible,
               "cold_wall_seconds": round(cold_wall, 2), "cold_objective": cold.objective, "cold_gap": cold.gap,
               "cold_to_1pct": _first_within(cold)}
        rows.append(row)

        def cell(wall: float, to1: float | None, gap: float | None) -> str:
            return f"{wall:5.1f} s (1 % at {seconds_text(to1):>7}), gap {'none' if gap is None else f'{gap:.2%}'}"

        lines.append(f"{label:<26} {cell(warm_wall, row['to_1pct'], warm.gap):>34}   "
                     f"{cell(cold_wall, row['cold_to_1pct'], cold.gap):>34}")
    within = [r for r in rows[1:] if r["to_1pct"] is not None and r["to_1pct"] <= 5.0]
    lines += ["", f"re-solves within 1 % in <= 5 s: {len(within)} of {len(rows) - 1}; "
                  f"peak RSS {peak_rss_mb():.0f} MB"]
    write_results("resolve", "\n".join(lines) + "\n", {"machine": machine(), "runs": rows})


if __name__ == "__main__":
    main()
