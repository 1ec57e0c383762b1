"""Batch runs: many scenarios through the full engine, on Dask, into a resumable result store.

>>> from pcn_planner.batch.run import run_batch
>>> from pcn_planner.batch.summary import write_batch_summary
>>> result = run_batch("sensitivity.yaml", "outputs/sensitivity")      # embedded 2-process pool
>>> result = run_batch("sensitivity.yaml", "outputs/sensitivity",
...                    scheduler="tcp://scheduler:8786")                 # an existing Dask cluster
>>> write_batch_summary("outputs/sensitivity")                          # summary/index.html + CSVs

**Execution.** Every scenario is one :func:`~pcn_planner.batch.worker.run_scenario`
task submitted to a ``distributed`` client: by default an embedded
``LocalCluster`` (2 worker processes, 1 thread each), or the scheduler given by
``scheduler=`` or the ``PCN_PLANNER_SCHEDULER`` environment variable. The code
path is the same; there is no home-made scheduler. Scenarios are submitted
longest time limit first, and then in an order that puts related ones next to
each other (region, closures, bounds, K, rules, growth, weights), with explicit
priorities so that Dask runs them in that order; each worker thus takes
consecutive runs of related scenarios (see :mod:`pcn_planner.batch.worker` for
what it reuses between them). If a worker dies, Dask re-runs its task elsewhere.

Results land in ``results.sqlite`` as each scenario finishes
(:mod:`pcn_planner.batch.store`); a re-run skips the finished ones. Each
scenario stops on its gap target, its time limit being a cap; one that runs out
of time above the target is stored as unresolved (``docs/batch.md``).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from pcn_planner.batch.scenarios import Scenario, ScenarioSet, load_scenarios
from pcn_planner.batch.store import STORE_NAME, ResultStore, _now, load_results
from pcn_planner.batch.worker import run_scenario
from pcn_planner.core.errors import InputError

__all__ = ["SCHEDULER_ENV", "BatchResult", "run_batch"]

#: Environment variable naming a Dask scheduler to use instead of the embedded pool.
SCHEDULER_ENV = "PCN_PLANNER_SCHEDULER"


# ---------------------------------------------------------------------------
# the driver
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchResult:
    """What :func:`run_batch` did.

    Attributes
    ----------
    out_dir, store
        The output folder and its ``results.sqlite``.
    name
        Batch name.
    total, skipped, ran
        Scenarios in the batch, already finished before this run, run now.
    counts
        Results of this run by status (``ok``, ``infeasible``, ``error``).
    unresolved
        Of this run's ``ok`` results, those not proven within their gap target when their
        time cap ran out (see :func:`~pcn_planner.batch.store.is_unresolved`).
    wall_seconds
        Time of this run, cluster start-up included.
    scheduler
        ``"embedded LocalCluster (N workers)"`` or the scheduler address.
    worker_peak_rss_mb
        Peak resident memory of each worker process that ran a scenario (``host:pid``).
    """

    out_dir: Path
    store: Path
    name: str
    total: int
    skipped: int
    ran: int
    counts: dict[str, int]
    wall_seconds: float
    scheduler: str
    worker_peak_rss_mb: dict[str, float] = field(default_factory=dict)
    unresolved: int = 0

    @property
    def throughput_per_min(self) -> float:
        """Scenarios run per minute (this run)."""
        return 60.0 * self.ran / self.wall_seconds if self.wall_seconds > 0 else float("nan")

    def frame(self) -> pd.DataFrame:
        """Every stored result (see :func:`load_results`)."""
        return load_results(self.out_dir)

    def __repr__(self) -> str:
        counts = ", ".join(f"{v} {k}" for k, v in sorted(self.counts.items())) or "nothing to run"
        if self.unresolved:
            counts += f"; {self.unresolved} unresolved (gap above target at the time cap)"
        return (f"<BatchResult {self.name!r}: {self.total} scenarios, {self.skipped} already done, ran {self.ran} "
                f"({counts}) in {self.wall_seconds:.1f} s on {self.scheduler}>")


@contextlib.contextmanager
def _client(scheduler: str | None, workers: int | None) -> Iterator[tuple[Any, str]]:
    """A distributed Client: to the given scheduler, or to an embedded LocalCluster."""
    import logging

    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # an optional extra
        raise InputError("batch runs need Dask's distributed package: pip install 'pcn-planner[distributed]'",
                         field="scheduler") from exc

    if scheduler:
        try:
            client = Client(scheduler, timeout="20s")
        except OSError as exc:
            raise InputError(f"cannot reach the Dask scheduler {scheduler}: {exc}", field="scheduler") from exc
        try:
            yield client, str(scheduler)
        finally:
            client.close()
        return
    n = 2 if workers is None else int(workers)
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                           silence_logs=logging.ERROR)
    client = Client(cluster)
    try:
        yield client, f"embedded LocalCluster ({n} worker processes x 1 thread)"
    finally:
        client.close()
        cluster.close()


def _lost_payload(scenario: Scenario, exc: BaseException) -> dict[str, Any]:
    return {"id": scenario.id, "name": scenario.name, "params": scenario.params, "status": "error",
            "reason": f"task lost: {type(exc).__name__}: {exc} (it is tried again on the next run)",
            "finished_utc": _now()}


def run_batch(
    scenarios: str | Path | Mapping[str, Any] | ScenarioSet | Sequence[Scenario],
    out_dir: str | Path,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: bool = True,
    on_result: Callable[[dict[str, Any]], None] | None = None,
    order: str = "related",
) -> BatchResult:
    """Run every unfinished scenario of a batch and store each result as it lands.

    Parameters
    ----------
    scenarios
        A scenario file (YAML/TOML), a dict in its layout, a :class:`ScenarioSet`
        or a list of :class:`Scenario` (see :mod:`pcn_planner.batch.scenarios`).
    out_dir
        Output folder; ``results.sqlite`` is created or resumed there.
    scheduler
        Address of a Dask scheduler (``tcp://host:8786``). Default: the
        ``PCN_PLANNER_SCHEDULER`` environment variable, else an embedded
        ``LocalCluster``.
    workers
        Worker processes of the embedded cluster (default 2; 1 thread each).
        Ignored with a scheduler.
    progress
        Show a progress bar over finished scenarios.
    on_result
        Called with each result (plain data) right after it is stored, with what the store
        derived from it (``gap_target``, ``unresolved``, ``plan_fingerprint``).
    order
        ``"related"`` (default: longest limit first, related scenarios next to each other) or
        ``"reversed"`` (the same order backwards). Workers reuse column pools and warm starts
        from the scenarios they ran before, so the order can change where a search starts;
        a batch run both ways and compared with :func:`~pcn_planner.batch.summary.compare_batches`
        shows whether the plans depend on it.

    Returns
    -------
    BatchResult
    """
    from tqdm.auto import tqdm

    t0 = time.perf_counter()
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise InputError(f"workers must be a whole number >= 1, got {workers!r}", field="workers")
    if order not in ("related", "reversed"):
        raise InputError(f"order is 'related' or 'reversed', got {order!r}", field="order")
    sset = load_scenarios(scenarios)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    store = ResultStore(out / STORE_NAME)
    try:
        store.register(sset)
        done = store.finished_ids()
        todo = sorted((s for s in sset if s.id not in done), key=lambda s: s.group_key, reverse=order == "reversed")
        skipped = len(sset) - len(todo)
        scheduler = scheduler or os.environ.get(SCHEDULER_ENV) or None
        counts: Counter[str] = Counter()
        unresolved = 0
        peaks: dict[str, float] = {}
        where = scheduler or "nothing (every scenario already finished)"
        if todo:
            with _client(scheduler, workers) as (client, where):
                from distributed import as_completed

                by_key = {}
                for rank, s in enumerate(todo):
                    key = f"pcn-scenario-{s.id}-{os.urandom(4).hex()}"
                    fut = client.submit(run_scenario, s.spec(), key=key, pure=False,
                                        priority=len(todo) - rank)  # run in the related-first order
                    by_key[fut.key] = (fut, s)
                bar = tqdm(total=len(todo), disable=not progress, unit="scenario", desc=sset.name, dynamic_ncols=True)
                try:
                    for fut in as_completed([f for f, _ in by_key.values()]):
                        s = by_key[fut.key][1]
                        try:
                            payload = fut.result()
                        except Exception as exc:  # noqa: BLE001 - the task was lost (e.g. KilledWorker): retried next run
                            payload = _lost_payload(s, exc)
                        payload = {**payload, **store.write(payload)}
                        counts[payload["status"]] += 1
                        unresolved += int(payload["unresolved"])
                        if payload.get("worker") and payload.get("peak_rss_mb") is not None:
                            peaks[payload["worker"]] = max(peaks.get(payload["worker"], 0.0), payload["peak_rss_mb"])
                        gap = payload.get("gap")
                        bar.set_postfix_str(", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
                                            + (f", unresolved {unresolved}" if unresolved else "")
                                            + ("" if gap is None else f", last gap {gap:.1%}"), refresh=False)
                        bar.update(1)
                        if on_result is not None:
                            on_result(payload)
                finally:
                    bar.close()
        return BatchResult(out_dir=out, store=store.path, name=sset.name, total=len(sset), skipped=skipped,
                           ran=len(todo), counts=dict(counts), wall_seconds=time.perf_counter() - t0,
                           scheduler=where, worker_peak_rss_mb=peaks, unresolved=unresolved)
    finally:
        store.close()

