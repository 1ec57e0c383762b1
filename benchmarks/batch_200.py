"""Sensitivity at scale: 200 SSOT scenarios through the batch engine on the local 2-worker pool.

The scenarios are a seeded random sample of 200 from the grid
K in {22..26} x town weight {0, 0.25, 0.5, 1} x bounds {28-72k, 30-70k, 32-68k}
x list growth {1.00, 1.03, 1.05, 1.10} (240 points). Each **stops on quality**:
as soon as its plan is proven within ``--gap`` (default 1 %) of the best plan,
with ``--time-limit`` (default 120 s) only as a cap; a scenario that reaches
the cap above its target is unresolved (docs/batch.md). They are run by
:func:`pcn_planner.batch.run_batch` on its embedded ``LocalCluster`` (2 worker
processes x 1 thread); each scenario starts from its K's anchor solve (its
plan, columns and cuts; docs/scale.md), never from the scenario before it.
Target (issue #13): 200 scenarios, each within 1 % or proven infeasible, in 10
minutes or less on 2 cores, and the same plan for every scenario in reversed order.

Reports total wall time, throughput, the share of scenarios within 1 %, the
number unresolved, the median and 90th-percentile gap, how scenarios stopped,
and the peak RSS of each worker process (``ru_maxrss`` reported by the worker
itself, and psutil sampled every 0.5 s over the worker pids). With
``--reverse-check`` it reruns the same scenarios in the reversed order into a
second folder and reports how many plans are identical by fingerprint (workers
reuse what earlier scenarios left, so the order could change the plans).
Writes ``benchmarks/results/batch_200.txt`` (and ``.json``; ``--tag`` changes the name).

    python benchmarks/batch_200.py [--samples 200] [--gap 0.01] [--time-limit 120] [--workers 2]
                                   [--reverse-check] [--out DIR] [--tag NAME]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/_common.py
from _common import machine, peak_rss_mb, write_results  # noqa: E402


def scenario_file(samples: int, time_limit: float, seed: int, gap: float = 0.01) -> dict:
    return {
        "name": f"batch-{samples}",
        "base": {"k": 23, "time_limit": time_limit, "gap": gap},
        "sweeps": {
            "k": [22, 23, 24, 25, 26],
            "weights.town": [0, 0.25, 0.5, 1.0],
            "bounds": [{"min": 28000, "max": 72000}, {"min": 30000, "max": 70000}, {"min": 32000, "max": 68000}],
            "growth.all": [1.0, 1.03, 1.05, 1.10],
        },
        "mode": "random",
        "samples": samples,
        "seed": seed,
    }


def _spin(seconds: float) -> int:
    end, n = time.perf_counter() + seconds, 0
    while time.perf_counter() < end:
        n += 1
    return n


def cpu_parallel_speedup(seconds: float = 1.5) -> float:
    """Work done by 2 busy processes at once over the work of 1 (2.0 on two real cores)."""
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(2) as ex:
        list(ex.map(_spin, [0.05, 0.05]))  # start both processes first
        one = ex.submit(_spin, seconds).result()
        two = sum(ex.map(_spin, [seconds, seconds]))
    return two / one


class RssSampler:
    """Max RSS of each known worker pid, sampled with psutil in a background thread."""

    def __init__(self, every: float = 0.5) -> None:
        self.pids: set[int] = set()
        self.peak: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(every,), daemon=True)

    def _run(self, every: float) -> None:
        import psutil

        while not self._stop.wait(every):
            for pid in list(self.pids):
                try:
                    rss = psutil.Process(pid).memory_info().rss / 2**20
                except psutil.Error:
                    continue
                self.peak[pid] = max(self.peak.get(pid, 0.0), rss)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def main() -> None:
    from pcn_planner.batch.run import run_batch
    from pcn_planner.batch.store import load_results
    from pcn_planner.batch.summary import compare_batches, write_batch_summary
    from pcn_planner.batch.scenarios import load_scenarios

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--gap", type=float, default=0.01, help="gap target of every scenario (default 1 %%)")
    parser.add_argument("--time-limit", type=float, default=120.0,
                        help="time cap (s) of every scenario; it stops earlier on its gap target")
    parser.add_argument("--reverse-check", action="store_true",
                        help="rerun the same scenarios in reversed order and count identical plans")
    parser.add_argument("--tag", default="batch_200", help="name of the result files in benchmarks/results/")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="batch folder (default: a new temporary folder)")
    args = parser.parse_args()

    speedup = cpu_parallel_speedup()
    out = args.out or Path(tempfile.mkdtemp(prefix="pcn-batch200-"))
    scenarios = load_scenarios(scenario_file(args.samples, args.time_limit, args.seed, args.gap))
    sampler = RssSampler()

    def seen(payload: dict) -> None:
        if payload.get("pid"):
            sampler.pids.add(int(payload["pid"]))

    t0 = time.perf_counter()
    with sampler:
        result = run_batch(scenarios, out, workers=args.workers, progress=True, on_result=seen)
    wall = time.perf_counter() - t0
    t1 = time.perf_counter()
    index = write_batch_summary(out)
    summary_seconds = time.perf_counter() - t1

    reverse = None
    if args.reverse_check:
        out_rev = out.with_name(out.name + "-reversed")
        t2 = time.perf_counter()
        run_batch(scenarios, out_rev, workers=args.workers, progress=True, order="reversed")
        rev_wall = time.perf_counter() - t2
        table = compare_batches(out, out_rev)
        counts = table["verdict"].value_counts()
        reverse = {"out": str(out_rev), "wall_seconds": rev_wall,
                   "identical": int(counts.get("identical", 0)), "different": int(counts.get("different", 0)),
                   "compared": int(counts.get("identical", 0) + counts.get("different", 0)),
                   "different_resolved_both": int(((table["verdict"] == "different")
                                                   & ~table["unresolved_a"].fillna(True).astype(bool)
                                                   & ~table["unresolved_b"].fillna(True).astype(bool)).sum()),
                   "verdicts": {str(k): int(v) for k, v in counts.items()}}

    frame = load_results(out, json_columns=True)
    ok = frame[frame["status"] == "ok"]
    unresolved = int(ok["unresolved"].sum())
    warm = ok["details"].map(lambda d: int((d or {}).get("warm_starts") or 0) > 0)
    by_k = ok.groupby("k")["gap"].median()
    gaps = ok["gap"].dropna()
    stops = ok["stopped_by"].value_counts().to_dict()
    half = len(ok) // 2
    order = ok.sort_values("finished_utc")
    pool = ok["pool_columns_before"].dropna()
    data = {
        "machine": machine(),
        "cpu_parallel_speedup_2_processes": speedup,
        "scenarios": len(scenarios),
        "ran": result.ran,
        "time_limit_s": args.time_limit,
        "gap_target": args.gap,
        "unresolved": unresolved,
        "share_within_1pct": float((gaps <= 0.01 + 1e-12).sum() / len(ok)) if len(ok) else None,
        "reverse_check": reverse,
        "workers": args.workers,
        "status": frame["status"].value_counts().to_dict(),
        "wall_seconds": wall,
        "throughput_per_min": 60 * result.ran / wall,
        "median_gap": float(gaps.median()) if len(gaps) else None,
        "gap_p90": float(gaps.quantile(0.9)) if len(gaps) else None,
        "with_gap_le_1pct": int((gaps <= 0.01 + 1e-12).sum()),
        "without_bound": int(ok["gap"].isna().sum()),
        "stopped_by": stops,
        "median_gap_first_half": float(order["gap"].iloc[:half].median()) if half else None,
        "median_gap_second_half": float(order["gap"].iloc[half:].median()) if half else None,
        "median_pool_columns_at_start": float(pool.median()) if len(pool) else None,
        "warm_started": int(warm.sum()),
        "median_gap_by_k": {int(k): float(v) for k, v in by_k.items()},
        "median_scenario_seconds": float(frame["wall_seconds"].median()),
        "median_task_seconds": float(frame["task_seconds"].median()),
        "max_scenario_seconds": float(frame["wall_seconds"].max()),
        "over_time_limit_25pct": int((frame["wall_seconds"] > 1.25 * frame["time_limit"]).sum()),
        "worker_peak_rss_mb_self": result.worker_peak_rss_mb,
        "worker_peak_rss_mb_psutil": {str(k): v for k, v in sampler.peak.items()},
        "driver_peak_rss_mb": peak_rss_mb(),
        "summary_seconds": summary_seconds,
        "out": str(out),
    }
    rss_self = ", ".join(f"{v:,.0f}" for v in result.worker_peak_rss_mb.values())
    rss_ps = ", ".join(f"{v:,.0f}" for v in sampler.peak.values())
    gap_text = "n/a" if data["median_gap"] is None else f"{data['median_gap']:.2%}"
    reverse_text = "reversed order         not checked (--reverse-check)" if reverse is None else (
        f"reversed order         {reverse['identical']:8d}   of {reverse['compared']} plans identical by fingerprint "
        f"({reverse['different_resolved_both']} of the {reverse['different']} different ones resolved on both "
        f"sides); rerun {reverse['wall_seconds']:.1f} s")
    text = f"""Batch of {len(scenarios)} SSOT scenarios (benchmarks/batch_200.py)
{data['machine']}
CPU probe: 2 busy processes do {speedup:.2f}x the work of 1 (2.00 on two full cores); each of the 2 workers
           gets about {speedup / 2:.0%} of a core: each second of a scenario is about {speedup / 2:.2f} s of solver work
scenarios: random sample (seed {args.seed}) of K 22-26 x town weight 0-1 x 3 bounds x 4 growth factors
engine: full optimise() per scenario (heuristic + exact bound), stopping at a {args.gap:.2%} gap,
        {args.time_limit:g} s cap each, embedded LocalCluster, {args.workers} worker processes x 1 thread, each scenario starting from its K's anchor solve

total wall time        {wall:8.1f} s  ({wall / 60:.1f} min; target <= 10 min)  {'OK' if wall <= 600 else 'MISSED'}
throughput             {data['throughput_per_min']:8.1f} scenarios / min
results                {', '.join(f'{v} {k}' for k, v in sorted(data['status'].items()))}
median gap             {gap_text:>8}   (90th percentile {data['gap_p90'] or float('nan'):.2%})
gap <= 1 %             {data['with_gap_le_1pct']:8d}   of {len(ok)} plans ({data['share_within_1pct'] or 0:.0%}); \
{data['without_bound']} without a bound
unresolved             {unresolved:8d}   (time cap reached with the gap above the {args.gap:.2%} target)
{reverse_text}
stopped by             {', '.join(f'{k} {v}' for k, v in sorted(stops.items()))}
median gap, first half / second half finished: {data['median_gap_first_half'] or float('nan'):.2%} / {data['median_gap_second_half'] or float('nan'):.2%}
median pool columns at a scenario's start: {data['median_pool_columns_at_start'] or 0:,.0f}
started from their anchor's plan: {data['warm_started']} of {len(ok)}
median gap by K: {', '.join(f'K={k} {v:.1%}' for k, v in data['median_gap_by_k'].items())}
median seconds per scenario: optimise {data['median_scenario_seconds']:.2f}, \
whole task {data['median_task_seconds']:.2f}; slowest {data['max_scenario_seconds']:.1f} s; \
{data['over_time_limit_25pct']} over their limit by > 25 %
worker peak RSS (MB)   self-reported ru_maxrss: {rss_self}; psutil sampled: {rss_ps}
driver peak RSS (MB)   {data['driver_peak_rss_mb']:,.0f}
summary page           {summary_seconds:.1f} s ({index})
"""
    write_results(args.tag, text, data)


if __name__ == "__main__":
    main()
