"""Heuristic engine alone on the embedded SSOT data: time, objective, columns, feasibility.

Scenarios: K=23 and K=26 with default weights, K=23 travel-only, and K=23
nested within sub-ICB locations. Each runs :func:`solvers.heuristic.solve_heuristic`
with seed 0 and a 10 s limit, re-checks the plan rule by rule, and reports the
current PCN map's cost for reference. No bound is reported: this engine has
none (the restricted master LP value is not a bound).

    python benchmarks/heuristic_only.py [--time-limit 10] [--seed 0] [--solvers highs,cbc]

Writes ``benchmarks/results/heuristic_only.txt``.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a plain script from a checkout

from pcn_planner.core.files import atomic_write_text  # noqa: E402
from pcn_planner.model.instance import compile_problem  # noqa: E402
from pcn_planner.model.problem import Problem  # noqa: E402
from pcn_planner.geography.region import build_region  # noqa: E402
from solvers.heuristic import solve_heuristic, verify_plan  # noqa: E402

RESULTS = REPO / "benchmarks" / "results"
TRAVEL_ONLY = dict(travel=1, town=0, lad=0, catchment=0, risk=0, disruption=0, equity=0)


def scenarios() -> list[tuple[str, Problem]]:
    """The benchmark scenarios, by name."""
    return [
        ("K=23 default", Problem(k=23)),
        ("K=26 default", Problem(k=26)),
        ("K=23 travel-only", Problem(k=23).with_(weights=TRAVEL_ONLY)),
        ("K=23 nest sub_icb", Problem(k=23, nest="sub_icb")),
    ]


def current_cost(inst, region) -> tuple[float, int]:
    """Cost of the current PCN map under this objective, and how many of its hubs are out of band."""
    labels = region.atlas.practices.loc[list(inst.codes), "pcn_code"].to_numpy()
    hubs = [np.flatnonzero(labels == lab) for lab in sorted(set(labels))]
    out = sum(1 for h in hubs if not inst.lower <= inst.population[h].sum() <= inst.upper)
    return inst.plan_cost(hubs), out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-limit", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--solvers", default="highs,cbc", help="master solvers to compare, comma-separated")
    parser.add_argument("--out", type=Path, default=RESULTS / "heuristic_only.txt")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")

    region = build_region()
    practices = region.atlas.practices.loc[list(region.codes)]
    coords = practices[["lat", "lon"]].to_numpy(float)
    current = practices["pcn_code"].to_numpy()

    lines = [
        "# Heuristic engine only (solvers.heuristic.solve_heuristic), embedded SSOT data",
        f"# {len(region.codes)} practices; seed {args.seed}; time limit {args.time_limit:g} s; "
        f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores",
        "# objective = weighted normalised cost (the current PCN map scores about the sum of the weights);",
        "# no bound is reported: the restricted master LP value is NOT a lower bound.",
    ]
    details = []
    for solver in [x.strip() for x in args.solvers.split(",") if x.strip()]:
        lines += ["", f"## master solver: {solver}",
                  f"{'scenario':<20} {'time_s':>7} {'objective':>10} {'current':>10} {'K':>3} {'columns':>8} "
                  f"{'rounds':>6} {'stopped_by':>10} {'feasible':>8}  smallest/largest hub"]
        for name, problem in scenarios():
            lines.append(run_one(name, problem, region, coords, current, args, solver, details))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    lines += ["", "# current = the current PCN map under the same objective, each hub at its best base; it has",
              "# hubs outside the band, and inf means it breaks nesting (current PCNs cross sub-ICB lines)",
              f"# peak RSS {peak_mb:.0f} MB", ""] + details
    text = "\n".join(lines) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out, text)
    print(text, end="")
    return 0


def run_one(name: str, problem: Problem, region, coords: np.ndarray, current: np.ndarray, args, solver: str,
            details: list[str]) -> str:
    """Solve one scenario and return its table row (details go to ``details``)."""
    inst = compile_problem(problem, region)
    t0 = time.perf_counter()
    res = solve_heuristic(inst, coords, current, rng=np.random.default_rng(args.seed),
                          time_limit=args.time_limit, solver=solver)
    wall = time.perf_counter() - t0
    now, _ = current_cost(inst, region)
    if res.hubs is None:
        return (f"{name:<20} {wall:7.2f} {'-':>10} {now:10.4f} {'-':>3} {res.pool.n_valid:8d} "
                f"{res.rounds:6d} {res.stopped_by:>10} {'none':>8}  {res.reason}")
    broken = verify_plan(inst, res.hubs)
    contiguous = all(region_connected(inst, h) for h in res.hubs)
    pops = [float(inst.population[h].sum()) for h in res.hubs]
    ok = not broken and contiguous and all(inst.lower <= p <= inst.upper for p in pops)
    if broken:
        details.append(f"[{solver}] {name}: " + "; ".join(broken))
    details.append(f"[{solver}] {name}: columns by source {res.pool.source_counts()}")
    steps = ", ".join(f"{r['stage']}@{r['seconds']:.1f}s={r['objective']:.4f}"
                      for r in res.log if r["stage"] in ("seed", "master") and r["objective"] is not None)
    details.append(f"[{solver}] {name}: incumbent after {steps}")
    return (f"{name:<20} {wall:7.2f} {res.objective:10.4f} {now:10.4f} {len(res.hubs):3d} "
            f"{res.pool.n_valid:8d} {res.rounds:6d} {res.stopped_by:>10} {'yes' if ok else 'NO':>8}  "
            f"{min(pops):,.0f} / {max(pops):,.0f}")


def region_connected(inst, members: np.ndarray) -> bool:
    """Independent contiguity check with networkx (not the solver's own code)."""
    import networkx as nx

    graph = nx.Graph()
    graph.add_nodes_from(range(inst.n))
    graph.add_edges_from(map(tuple, inst.edges))
    return nx.is_connected(graph.subgraph(members.tolist()))


if __name__ == "__main__":
    raise SystemExit(main())
