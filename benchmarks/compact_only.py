"""The compact MIP on its own, on the embedded SSOT data: time, objective, bound, gap, cuts, fixed variables.

For K=23 and K=26, with the default weights and with travel-only weights, it runs
:func:`solvers.compact.solve_compact` twice:

1. ``cold``: no incumbent;
2. ``warm``: with an incumbent, to stand in for the pipeline (where the column
   generator hands one over). The incumbent is the best plan of the cold run,
   i.e. the compact model's own solution repaired into a contiguous plan.

At K=23 it repeats both runs with CBC, to compare the solvers. It prints a table,
the machine load (timings on a shared 2-core machine move by tens of percent),
peak memory and one line per solve, and writes ``benchmarks/results/compact_only.txt``.

    python benchmarks/compact_only.py [--time-limit 30] [--threads N] [--skip-cbc]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a plain script from a checkout

from pcn_planner.core.files import atomic_write_text  # noqa: E402
from pcn_planner.model.instance import compile_problem  # noqa: E402
from pcn_planner.model.problem import Problem  # noqa: E402
from pcn_planner.geography.region import build_region  # noqa: E402
from solvers.compact import CompactResult, solve_compact  # noqa: E402

RESULTS = REPO / "benchmarks" / "results"
TRAVEL_ONLY = dict(travel=1, town=0, lad=0, catchment=0, risk=0, disruption=0, equity=0)
CASES = [(23, "default"), (26, "default"), (23, "travel"), (26, "travel")]
COLUMNS = ("case", "solver", "start", "seconds", "objective", "bound", "gap_%", "status", "stopped_by",
           "iters", "cuts", "fixed", "vars", "nodes")


def problem(k: int, weights: str) -> Problem:
    """The SSOT problem at ``k`` hubs, default or travel-only weights."""
    base = Problem(k=k)
    return base if weights == "default" else base.with_(weights=TRAVEL_ONLY)


def row(case: str, solver: str, start: str, res: CompactResult) -> dict:
    """One table row (and JSON record) from a result."""
    return {
        "case": case, "solver": solver, "start": start, "seconds": round(res.wall_seconds, 1),
        "objective": None if res.objective is None else round(res.objective, 5),
        "bound": None if res.bound is None else round(res.bound, 5),
        "gap_%": None if res.gap is None else round(100 * res.gap, 2),
        "status": res.status, "stopped_by": res.stopped_by, "iters": res.iterations, "cuts": res.cuts_added,
        "fixed": res.fixed_by_reduced_cost, "vars": res.variables, "nodes": res.nodes,
        "solves": [{k: v for k, v in r.items()} for r in res.log],
    }


def solve_log(rows: list[dict]) -> str:
    """One line per solve of every run (DESIGN section 8)."""
    lines = ["per-solve log: run | kind status objective bound seconds cuts nodes"]
    for r in rows:
        for s in r["solves"]:
            fmt = [f"{s['kind']:>11}", f"{s['status']:>10}"]
            fmt += ["-" if s[c] is None else f"{s[c]:.5f}" for c in ("objective", "bound")]
            fmt += [f"{s['seconds']:.2f}s", str(s["cuts"]), "-" if s.get("nodes") is None else str(s["nodes"])]
            lines.append(f"{r['case']} {r['solver']} {r['start']} | " + " ".join(fmt))
    return "\n".join(lines) + "\n"


def table(rows: list[dict]) -> str:
    """Plain-text table of the rows."""
    cells = [[("-" if r[c] is None else str(r[c])) for c in COLUMNS] for r in rows]
    widths = [max(len(c), *(len(x[i]) for x in cells)) for i, c in enumerate(COLUMNS)]
    lines = ["  ".join(c.rjust(w) for c, w in zip(COLUMNS, widths))]
    lines += ["  ".join(x.rjust(w) for x, w in zip(cell, widths)) for cell in cells]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-limit", type=float, default=30.0, help="seconds per run (default 30)")
    parser.add_argument("--gap", type=float, default=0.01, help="target relative gap (default 0.01)")
    parser.add_argument("--threads", type=int, default=None, help="solver threads (default: solver's own)")
    parser.add_argument("--skip-cbc", action="store_true", help="HiGHS only")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")

    load_start = os.getloadavg()
    t0 = time.perf_counter()
    region = build_region()
    rows: list[dict] = []
    for k, weights in CASES:
        inst = compile_problem(problem(k, weights), region)
        case = f"K={k} {weights}"
        solvers = ["highs"] if args.skip_cbc or k != 23 else ["highs", "cbc"]
        incumbent = None
        for solver in solvers:
            cold = solve_compact(inst, time_limit=args.time_limit, gap=args.gap, solver=solver, threads=args.threads)
            rows.append(row(case, solver, "cold", cold))
            print(table(rows[-1:]).splitlines()[-1], flush=True)
            if solver == "highs":
                incumbent = cold.hubs  # the same incumbent for both solvers' warm runs
            if incumbent is None:
                continue
            warm = solve_compact(inst, incumbent=incumbent, time_limit=args.time_limit, gap=args.gap,
                                 solver=solver, threads=args.threads)
            rows.append(row(case, solver, f"warm {inst.plan_cost(incumbent):.5f}", warm))
            print(table(rows[-1:]).splitlines()[-1], flush=True)

    usage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux; HiGHS runs in-process
    text = "\n".join([
        "Compact MIP alone (solvers/compact.py) on SSOT, 30k-70k patients per hub",
        f"time limit {args.time_limit:g} s per run, gap target {100 * args.gap:g} %, threads {args.threads or 'default'}",
        "cold = no incumbent; warm N = incumbent of objective N (the cold HiGHS run's plan)",
        "bound = valid over all contiguous in-band plans; gap = (objective - bound) / objective",
        "",
        table(rows),
        "",
        f"machine load (1/5/15 min) at start {load_start[0]:.1f}/{load_start[1]:.1f}/{load_start[2]:.1f}, "
        "at end {:.1f}/{:.1f}/{:.1f} on {} cores".format(*os.getloadavg(), os.cpu_count()),
        f"peak RSS of this process (HiGHS runs inside it; CBC runs as a subprocess): {usage:.0f} MB",
        f"total wall time {time.perf_counter() - t0:.0f} s",
        "",
    ])
    print(text, end="")
    RESULTS.mkdir(parents=True, exist_ok=True)
    atomic_write_text(RESULTS / "compact_only.txt", text + "\n" + solve_log(rows))
    return rows


if __name__ == "__main__":
    main()
