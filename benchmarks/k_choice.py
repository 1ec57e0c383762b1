"""Choosing K on SSOT: the best plan of each K from 22 to 26, and the pick with the per-hub charge.

Prints, per K: the objective without and with the hub charge, the K's own bound and gap, what
stopped it and its wall time; then the pick and its gap, certified over the whole range.

Usage: python benchmarks/k_choice.py [--time-limit 30] [--hubs-weight 1.0]
"""

from __future__ import annotations

import argparse
import time

from _common import machine, peak_rss_mb, write_results

import pcn_planner as pp


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--time-limit", type=float, default=30.0, help="seconds for each K")
    parser.add_argument("--hubs-weight", type=float, default=pp.Weights().hubs)
    args = parser.parse_args()
    region = pp.build_region()
    problem = pp.Problem(k=(22, 26), time_limit=args.time_limit).with_(weights={"hubs": args.hubs_weight})
    t = time.perf_counter()
    result = pp.optimise(problem, region)
    wall = time.perf_counter() - t
    lines = [f"K choice on SSOT, K=22-26 ({machine()})",
             f"time limit {args.time_limit:g} s per K; hubs weight {args.hubs_weight:g} "
             "(one hub costs weight/25 of today's total travel)", "",
             f"{'K':>3} {'objective':>10} {'charge':>8} {'total':>8} {'bound':>9} {'gap':>7}  stopped by"]
    for k, v in sorted(result.details["by_k"].items(), key=lambda kv: int(kv[0])):
        fixed = v["objective"] - v["hub_charge"]
        gap = "none" if v["gap"] is None else f"{v['gap']:.2%}"
        bound = "none" if v["bound"] is None else f"{v['bound']:.5f}"
        lines.append(f"{k:>3} {fixed:>10.5f} {v['hub_charge']:>8.4f} {v['objective']:>8.5f} {bound:>9} {gap:>7}  "
                     f"{v['stopped_by']}")
    gap = "none" if result.gap is None else f"{result.gap:.2%}"
    lines += ["", f"pick: K={result.plan.k}, objective with charge {result.objective:.5f}, gap over the range {gap} "
                  f"({result.stopped_by}); {wall:.0f} s in all; peak RSS {peak_rss_mb():.0f} MB"]
    write_results("k_choice", "\n".join(lines) + "\n",
                  {"machine": machine(), "time_limit": args.time_limit, "hubs_weight": args.hubs_weight,
                   "by_k": result.details["by_k"], "pick": result.plan.k, "objective": result.objective,
                   "bound": result.bound, "gap": result.gap, "wall_seconds": wall})


if __name__ == "__main__":
    main()
