"""All of England as one batch: 42 synthetic ICB-sized regions through the distributed engine.

The regions are :func:`pcn_planner.data.synthetic.england_regions` (6,200
practices in 42 regions, seed 0). Each is one scenario of a batch, built with
``region={"synthetic": spec}``: the worker that runs it generates the atlas
with ``synthetic_atlas(**spec)``, builds the region and runs the full
:func:`~pcn_planner.optimise.optimise` once, with K = round(patients / 50,000)
(clamped to the feasible range for 30k-70k hubs) and a time limit from 10 s
(smallest region) to 20 s (largest). The batch runs through exactly the path
``pcn-planner batch run`` uses, :func:`pcn_planner.batch.run_batch`, here on its
embedded ``LocalCluster`` (2 workers x 1 thread); pass ``--scheduler`` to run
it on a real cluster instead. Writes ``benchmarks/results/england_batch.txt``.

    python benchmarks/england_batch.py [--practices 6200] [--regions 42] [--workers 2] [--scheduler URL]
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/_common.py
from _common import machine, peak_rss_mb, write_results  # noqa: E402

BAND = (30_000, 70_000)
PER_HUB = 50_000


def region_scenarios(n_practices: int, n_regions: int, seed: int):
    """One scenario per synthetic region (the atlas is generated here only to size K)."""
    from pcn_planner.batch.scenarios import Scenario, ScenarioSet
    from pcn_planner.data.synthetic import england_regions, synthetic_atlas

    specs = england_regions(n_practices, n_regions, rng=seed)
    largest = max(s["n_practices"] for s in specs)
    smallest = min(s["n_practices"] for s in specs)
    scenarios, sizes = [], {}
    for spec in specs:
        atlas = synthetic_atlas(**spec)
        patients = atlas.total_patients
        lo, hi = math.ceil(patients / BAND[1]), max(1, math.floor(patients / BAND[0]))
        k = min(max(round(patients / PER_HUB), lo), hi)
        share = (spec["n_practices"] - smallest) / max(1, largest - smallest)
        limit = round(10 + 10 * share, 1)
        problem = {"k": k, "time_limit": limit, "bounds": {"min": BAND[0], "max": BAND[1]}}
        region = {"synthetic": {**spec, "centre": list(spec["centre"])}}
        scenarios.append(Scenario.build(problem, name=spec["name"], region=region,
                                        params={"region": spec["region"], "practices": spec["n_practices"]}))
        sizes[scenarios[-1].id] = (spec["n_practices"], patients, k, limit)
    return ScenarioSet(name=f"england-{n_regions}", scenarios=tuple(scenarios), source="england_regions"), sizes


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.2%}"


def main() -> None:
    from pcn_planner.batch.run import run_batch
    from pcn_planner.batch.store import load_results

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--practices", type=int, default=6200)
    parser.add_argument("--regions", type=int, default=42)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--scheduler", default=None, help="a Dask scheduler address (default: embedded LocalCluster)")
    parser.add_argument("--out", type=Path, default=None, help="batch folder (default: a new temporary folder)")
    args = parser.parse_args()

    t0 = time.perf_counter()
    scenarios, sizes = region_scenarios(args.practices, args.regions, args.seed)
    plan_seconds = time.perf_counter() - t0
    out = args.out or Path(tempfile.mkdtemp(prefix="pcn-england-"))
    t1 = time.perf_counter()
    result = run_batch(scenarios, out, scheduler=args.scheduler, workers=args.workers, progress=True)
    wall = time.perf_counter() - t1
    frame = load_results(out)
    ok = frame[frame["status"] == "ok"]
    gaps = ok["gap"].dropna()
    rows = []
    for sid, row in frame.sort_values("name").iterrows():
        n, patients, k, limit = sizes[sid]
        gap = "-" if row["gap"] != row["gap"] or row["gap"] is None else f"{row['gap']:.2%}"
        rows.append(f"  {row['name']:<18} {n:>4} practices {patients:>10,} patients  K={k:<3} limit {limit:>4.1f} s  "
                    f"{row['status']:<10} gap {gap:>7}  task {row['task_seconds']:5.1f} s")
    total_practices = sum(v[0] for v in sizes.values())
    total_patients = sum(v[1] for v in sizes.values())
    budget = sum(v[3] for v in sizes.values())
    data = {
        "machine": machine(), "regions": len(scenarios), "practices": total_practices, "patients": total_patients,
        "hubs": int(sum(v[2] for v in sizes.values())), "scheduler": result.scheduler,
        "status": frame["status"].value_counts().to_dict(), "wall_seconds": wall,
        "sizing_seconds": plan_seconds, "time_limit_budget_seconds": budget,
        "median_gap": float(gaps.median()) if len(gaps) else None,
        "max_gap": float(gaps.max()) if len(gaps) else None,
        "with_gap_le_1pct": int((gaps <= 0.01 + 1e-12).sum()),
        "with_gap_le_2pct": int((gaps <= 0.02 + 1e-12).sum()),
        "over_time_limit": {r["name"]: round(r["wall_seconds"] - r["time_limit"], 1) for _, r in frame.iterrows()
                            if r["wall_seconds"] > 1.25 * r["time_limit"]},
        "worker_peak_rss_mb": result.worker_peak_rss_mb, "driver_peak_rss_mb": peak_rss_mb(), "out": str(out),
    }
    rss = ", ".join(f"{v:,.0f}" for v in result.worker_peak_rss_mb.values())
    text = f"""England as one batch (benchmarks/england_batch.py)
{data['machine']}
{len(scenarios)} synthetic ICB-sized regions (england_regions({args.practices}, {args.regions}, rng={args.seed})),
{total_practices:,} practices, {total_patients:,} patients, {data['hubs']} hubs in all \
(K = patients / 50k, bounds 30k-70k)
one optimise() per region, 10-20 s limit by size ({budget:.0f} s of limits in all),
through run_batch on {result.scheduler}

total wall time        {wall:8.1f} s  ({wall / 60:.1f} min), plus {plan_seconds:.1f} s sizing K in the driver
results                {', '.join(f'{v} {k}' for k, v in sorted(data['status'].items()))}
median gap             {_pct(data['median_gap'])}  (max {_pct(data['max_gap'])});  gap <= 1 %: {data['with_gap_le_1pct']}, \
<= 2 %: {data['with_gap_le_2pct']}
over their limit       {len(data['over_time_limit'])} regions ran > 25 % past their time limit \
{data['over_time_limit'] or ''}
worker peak RSS (MB)   {rss}
driver peak RSS (MB)   {data['driver_peak_rss_mb']:,.0f}

per region:
""" + "\n".join(rows) + "\n"
    write_results("england_batch", text, data)


if __name__ == "__main__":
    main()
