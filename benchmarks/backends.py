"""Compact-model back ends compared on SSOT: HiGHS loop, CBC loop, SCIP with in-search contiguity.

For K=23 and K=26, default and travel-only weights, the instance is compiled once
and the column heuristic makes one incumbent, which every back end starts from
(so they are compared on the same footing). Each back end then runs
:class:`solvers.compact.driver.CompactSolve` with the same time limit and gap
target:

* ``highs``: root cut rounds, then HiGHS MIP solves; contiguity cut from each
  final solution and the MIP solved again (the default today);
* ``cbc``: the same loop with CBC for the MIPs;
* ``scip``: the same root, then one SCIP solve whose constraint handler separates
  contiguity during the search (:mod:`solvers.compact.scip`).

A trajectory ``(seconds, incumbent, bound)`` is taken from the driver's progress
lines (its valid bound: root LP, MIP dual bounds capped at the incumbent when
columns were fixed); for HiGHS and SCIP those come during the solve (every
``PROGRESS`` seconds), for CBC only after each MIP. Times to 1 %, 0.5 % and 0.1 %
gap are read from it.

    python benchmarks/backends.py [--time-limit 60] [--gap 0.001] [--heuristic-time 10]
                                  [--backends highs,cbc,scip] [--cases 23d,26d,23t,26t]
"""

from __future__ import annotations

import argparse
import re
import time
import warnings

import numpy as np
from _common import machine, peak_rss_mb, write_results

import pcn_planner as pp
import solvers.compact.driver as driver
from pcn_planner.model.instance import compile_problem
from solvers.compact.driver import CompactSolve, rel_gap
from solvers.heuristic import solve_heuristic

TRAVEL_ONLY = {"travel": 1, "town": 0, "lad": 0, "catchment": 0, "risk": 0, "disruption": 0, "equity": 0}
CASES = {"23d": (23, "default"), "26d": (26, "default"), "23t": (23, "travel"), "26t": (26, "travel")}
TARGETS = (0.01, 0.005, 0.001)
#: Seconds between the driver's progress lines here (finer than its default, for the trajectory).
PROGRESS = 0.25
_BOUND = re.compile(r"MIP running, .*objective (\S+), bound (\S+),")


def problem(k: int, weights: str) -> pp.Problem:
    """The SSOT problem at ``k`` hubs, default or travel-only weights."""
    base = pp.Problem(k=k)
    return base if weights == "default" else base.with_(weights=TRAVEL_ONLY)


def run(inst, incumbent: list[np.ndarray], backend: str, time_limit: float, gap: float) -> dict:
    """One back end from the shared incumbent; the result's figures and its trajectory."""
    trajectory: list[tuple[float, float, float]] = []
    holder: dict[str, CompactSolve] = {}

    def log(line: str) -> None:
        solve = holder["solve"]
        t = time.perf_counter() - solve.t_start
        bound = solve.bound
        if m := _BOUND.search(line):
            bound = float(m.group(2))
        if bound is not None and solve.best is not None:
            trajectory.append((round(t, 3), solve.upper, min(bound, solve.upper)))

    solve = CompactSolve(inst, incumbent=incumbent, time_limit=time_limit, gap=gap, solver=backend, threads=None,
                         log=log)
    holder["solve"] = solve
    res = solve.run()
    if res.objective is not None and res.bound is not None:
        trajectory.append((round(res.wall_seconds, 3), res.objective, res.bound))
    reach = {}
    for target in TARGETS:
        hit = next((t for t, ub, lb in trajectory if rel_gap(ub, lb) <= target + 1e-12), None)
        reach[f"t_{target:.1%}"] = hit
    root = next((r["bound"] for r in reversed(res.log) if r["kind"].startswith("lp")), None)
    return {"backend": backend, "version": res.solver_version, "seconds": round(res.wall_seconds, 2),
            "objective": res.objective, "bound": res.bound, "gap": res.gap, "root_bound": root,
            "status": res.status, "stopped_by": res.stopped_by, "nodes": res.nodes, "cuts": res.cuts_added,
            "iterations": res.iterations, "fixed": res.fixed_by_reduced_cost, "variables": res.variables,
            **reach, "trajectory": trajectory, "solves": list(res.log)}


def fmt(value: float | None, spec: str) -> str:
    """A number or ``-``."""
    return "-" if value is None else format(value, spec)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--gap", type=float, default=0.001)
    parser.add_argument("--heuristic-time", type=float, default=10.0)
    parser.add_argument("--backends", default="highs,cbc,scip")
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--name", default="backends", help="results file name")
    args = parser.parse_args()
    driver.PROGRESS_SECONDS = PROGRESS
    backends = args.backends.split(",")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        region = pp.build_region()
    lines = [f"Compact-model back ends on SSOT ({machine()})",
             f"time limit {args.time_limit:g} s per run (root cut rounds included), gap target {args.gap:.2%}, "
             f"shared heuristic incumbent ({args.heuristic_time:g} s)", ""]
    head = (f"{'case':<12} {'backend':<7} {'objective':>10} {'bound':>10} {'gap':>7} {'t<=1%':>6} {'t<=0.5%':>7} "
            f"{'t<=0.1%':>7} {'secs':>6} {'nodes':>7} {'cuts':>6} {'iters':>5}  status")
    lines.append(head)
    rows = []
    for code in args.cases.split(","):
        k, weights = CASES[code]
        prob = problem(k, weights)
        inst = compile_problem(prob, region)
        coords = region.atlas.practices.loc[list(inst.codes), ["lat", "lon"]].to_numpy(float)
        labels = region.atlas.practices.loc[list(inst.codes), "pcn_code"].to_numpy()
        heur = solve_heuristic(inst, coords, labels, rng=np.random.default_rng(prob.seed),
                               time_limit=args.heuristic_time)
        case = f"K={k} {weights}"
        for backend in backends:
            row = {"case": case, "heuristic_objective": heur.objective,
                   **run(inst, heur.hubs, backend, args.time_limit, args.gap)}
            rows.append(row)
            line = (f"{case:<12} {backend:<7} {fmt(row['objective'], '.5f'):>10} {fmt(row['bound'], '.5f'):>10} "
                    f"{fmt(None if row['gap'] is None else 100 * row['gap'], '.3f'):>6}% "
                    f"{fmt(row['t_1.0%'], '.1f'):>6} {fmt(row['t_0.5%'], '.1f'):>7} {fmt(row['t_0.1%'], '.1f'):>7} "
                    f"{row['seconds']:>6.1f} {fmt(row['nodes'], 'd'):>7} {row['cuts']:>6} {row['iterations']:>5}  "
                    f"{row['status']}")
            lines.append(line)
            print(line, flush=True)
        lines.append(f"{'':<12} (heuristic incumbent {heur.objective:.5f})")
    lines += ["", "t<=x%: seconds from the start of the compact solve (root rounds included) until the "
              "driver's valid gap was at most x % ('-': not reached)", ""]
    lines += verdict(rows, backends)
    lines.append(f"peak RSS {peak_rss_mb():.0f} MB")
    write_results(args.name, "\n".join(lines) + "\n", {"machine": machine(), "time_limit": args.time_limit,
                                                       "gap": args.gap, "runs": rows})


def verdict(rows: list[dict], backends: list[str]) -> list[str]:
    """Best back end by mean time to 1 % (a run that never reached it counts the whole limit) and by final gap."""
    def mean(backend: str, key: str, missing: float) -> float:
        values = [r[key] if r[key] is not None else missing for r in rows if r["backend"] == backend]
        return float(np.mean(values)) if values else float("inf")

    limit = max((r["seconds"] for r in rows), default=0.0)
    by_time = {b: mean(b, "t_1.0%", limit) for b in backends}
    by_gap = {b: mean(b, "gap", 1.0) for b in backends}
    fastest = min(by_time, key=lambda b: (by_time[b], b))
    tightest = min(by_gap, key=lambda b: (by_gap[b], b))
    times = ", ".join(f"{b} {by_time[b]:.1f} s" for b in backends)
    gaps = ", ".join(f"{b} {100 * by_gap[b]:.3f} %" for b in backends)
    return [f"verdict: best by mean time to 1 % gap: {fastest} ({times}); best by mean final gap: {tightest} "
            f"({gaps})"]


if __name__ == "__main__":
    main()
