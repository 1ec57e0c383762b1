"""Batch runs: many scenarios through the full engine, on Dask, into a resumable result store.

>>> from pcn_planner.batch.run import run_batch, write_batch_summary
>>> result = run_batch("sensitivity.yaml", "outputs/sensitivity")      # embedded 2-process pool
>>> result = run_batch("sensitivity.yaml", "outputs/sensitivity",
...                    scheduler="tcp://scheduler:8786")                 # an existing Dask cluster
>>> write_batch_summary("outputs/sensitivity")                          # summary/index.html + CSVs

**Execution.** Every scenario is one :func:`run_scenario` task submitted to a
``distributed`` client: by default an embedded ``LocalCluster`` (2 worker
processes, 1 thread each), or the scheduler given by ``scheduler=`` or the
``PCN_PLANNER_SCHEDULER`` environment variable. The code path is the same;
there is no home-made scheduler. Scenarios are submitted longest time limit
first, and then in an order that puts related ones next to each other (region,
closures, bounds, K, rules, growth, weights), with explicit priorities so that
Dask runs them in that order; each worker thus takes consecutive runs of
related scenarios. If a worker dies, Dask re-runs its task elsewhere.

**Reuse.** Each worker process keeps a module-level cache of built regions and
one :class:`~solvers.columns.ColumnPool` per region, and passes it to
:func:`~pcn_planner.optimise.optimise` as ``pool=``: the candidate hubs of
earlier scenarios are re-costed for each new one, so later scenarios start
from hundreds of good columns. A pool that grows past :data:`POOL_CAP`
columns is trimmed to the :data:`POOL_KEEP` cheapest per practice (plus the
last plan's hubs) so that re-costing stays cheap. The worker also keeps the
last plan for each region and K and passes it as ``warm_start=``: it is the
first incumbent of the next related scenario (repaired into band if, say,
growth pushed a hub over), which leaves more of the time limit to the exact
model that makes the bound.

**Result store.** ``results.sqlite`` in the output folder (SQLite, WAL mode,
``synchronous=FULL``). The driver is its only writer and writes one row per
finished scenario, each in its own transaction, as the scenario finishes. A
killed worker or a killed run loses no finished row and cannot corrupt the
file. Status ``ok`` and ``infeasible`` (with the reason in words) are
finished results; a re-run skips them. Status ``error`` (an unexpected
exception, or a task lost with its workers) is stored too, and is tried again
on the next run.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import platform
import resource
import socket
import sqlite3
import sys
import time
import traceback
import warnings
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from pcn_planner.core.version import __version__
from pcn_planner.core.errors import InfeasibleError, InputError
from pcn_planner.core.jsonio import to_jsonable
from pcn_planner.batch.scenarios import Scenario, ScenarioSet, canonical_json, load_scenarios

__all__ = [
    "BatchResult",
    "KEY_METRICS",
    "ResultStore",
    "SCHEDULER_ENV",
    "load_results",
    "result_plan",
    "run_batch",
    "run_scenario",
    "summarise_batch",
    "write_batch_summary",
]

#: Environment variable naming a Dask scheduler to use instead of the embedded pool.
SCHEDULER_ENV = "PCN_PLANNER_SCHEDULER"
#: File name of the result store inside the output folder.
STORE_NAME = "results.sqlite"
#: Trim a worker's column pool when it holds more columns than this ...
POOL_CAP = 10_000
#: ... down to this many. Re-costing a column for a new scenario takes about 30 microseconds, and it
#: comes out of the scenario's time limit, so a pool of 10,000 costs about 0.3 s per scenario.
POOL_KEEP = 4_000
#: Regions a worker keeps built (least recently used are dropped, with their pools).
REGION_CACHE = 4

#: Scorecard summary measures stored as columns of the result table.
KEY_METRICS = (
    "travel_mean_min", "travel_p90_min", "town_outside_share", "lad_outside_share", "catchment_outside_share",
    "towns_split", "practices_moved", "pcn_pairs_broken", "max_high_risk_share", "hubs_without_anchor",
)
STATUSES = ("ok", "infeasible", "error")
FINISHED = ("ok", "infeasible")


# ---------------------------------------------------------------------------
# the worker side: cached regions and pools, one scenario per task
# ---------------------------------------------------------------------------

_REGIONS: OrderedDict[str, tuple[Any, Any]] = OrderedDict()  # key -> (Region, transfers or None)
_POOLS: dict[str, Any] = {}
_PLANS: dict[tuple[str, tuple[int, int]], Any] = {}  # (region key, K range) -> last plan: the next warm start
_SYNTHETIC: dict[str, Any] = {}  # keeps synthetic atlases (and their temp folders) alive


def _region_identity_key(region_spec: Mapping[str, Any], close: Sequence[str]) -> str:
    return canonical_json({"region": region_spec.get("synthetic") or region_spec.get("sha256"),
                           "close": sorted(close)})


def _build_base_region(region_spec: Mapping[str, Any]):
    from pcn_planner.geography.region import build_region

    if "synthetic" in region_spec:
        from pcn_planner.data.synthetic import synthetic_atlas

        args = dict(region_spec["synthetic"])
        if "centre" in args:
            args["centre"] = tuple(args["centre"])
        atlas = synthetic_atlas(**args)
    else:
        from pcn_planner.data.atlas import embedded_data_dir, load_atlas
        from pcn_planner.batch.scenarios import _atlas_sha256

        folder = Path(region_spec["atlas"]) if region_spec.get("atlas") else embedded_data_dir()
        want = region_spec.get("sha256")
        have = _atlas_sha256(folder)[:16]
        if want and want != have:
            raise InputError(f"the atlas on worker {socket.gethostname()} differs from the one the batch was "
                             f"planned with (sha256 {have} != {want})", file=str(folder))
        atlas = load_atlas(folder)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return build_region(atlas)


def _cached_region(region_spec: Mapping[str, Any], close: Sequence[str]) -> tuple[Any, Any, str]:
    """(Region, closure transfers or None, cache key), built once per worker process."""
    key = _region_identity_key(region_spec, close)
    if key in _REGIONS:
        _REGIONS.move_to_end(key)
        region, transfers = _REGIONS[key]
        return region, transfers, key
    if close:
        from pcn_planner.geography.region import build_region
        from pcn_planner.batch.scenarios import close_practices

        base, _, base_key = _cached_region(region_spec, ())
        atlas, transfers = close_practices(base.atlas, close, base.travel)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            region = build_region(atlas)
        if key not in _POOLS and base_key in _POOLS:  # columns without the closed practices stay useful
            _POOLS[key] = copy.deepcopy(_POOLS[base_key])
    else:
        region, transfers = _build_base_region(region_spec), None
    _REGIONS[key] = (region, transfers)
    while len(_REGIONS) > REGION_CACHE:
        old, _ = _REGIONS.popitem(last=False)
        _POOLS.pop(old, None)
        for plan_key in [k for k in _PLANS if k[0] == old]:
            del _PLANS[plan_key]
    return region, transfers, key


def _pool(key: str):
    from solvers.columns import ColumnPool

    if key not in _POOLS:
        _POOLS[key] = ColumnPool()
    return _POOLS[key]


def _trim_pool(key: str, keep_hubs: Sequence[Sequence[int]] = ()) -> None:
    """Replace an oversized pool by its cheapest columns (per practice) for the instance it is bound to."""
    import numpy as np

    from solvers.columns import ColumnPool

    pool = _POOLS.get(key)
    if pool is None or len(pool) <= POOL_CAP or pool.rules is None:
        return
    inst = pool.rules.inst
    valid = pool.valid_indices()
    sizes = np.array([len(pool.members(i)) for i in valid], dtype=float)
    order = valid[np.argsort(pool.cost[valid] / np.maximum(sizes, 1.0), kind="stable")]
    fresh = ColumnPool()
    fresh.bind(inst, pool.rules)
    for h in keep_hubs:
        fresh.add(h, "plan")
    for i in order[:POOL_KEEP]:
        fresh.add(pool.members(int(i)), pool.source(int(i)))
    _POOLS[key] = fresh


@contextlib.contextmanager
def _quiet_stdout(on: bool) -> Iterator[None]:
    """Send file descriptor 1 to /dev/null (solver banners printed from C) while on."""
    if not on:
        yield
        return
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _practice_info(region) -> list[list[Any]]:
    p = region.atlas.practices.loc[list(region.codes)]
    town = region.practice_comm.loc[list(region.codes), "town"]
    return [[c, str(p.at[c, "name"]), str(p.at[c, "pcn_code"]), str(p.at[c, "pcn_name"]), str(town[c]),
             int(p.at[c, "list_size"])] for c in region.codes]


def run_scenario(spec: Mapping[str, Any], quiet: bool = True) -> dict[str, Any]:
    """Run one scenario on this process (a Dask task) and return its result as plain data.

    Never raises for a scenario's own failure: infeasible rules give status
    ``infeasible`` with the reason, anything else status ``error``.
    """
    from pcn_planner.optimise import optimise
    from pcn_planner.model.problem import Problem

    t0 = time.perf_counter()
    out: dict[str, Any] = {
        "id": spec["id"], "name": spec["name"], "params": spec.get("params", {}), "status": "error",
        "reason": None, "worker": f"{socket.gethostname()}:{os.getpid()}", "pid": os.getpid(),
        "region_key": canonical_json({"region": spec["region"].get("synthetic") or spec["region"].get("sha256")}),
        "time_limit": (spec.get("problem") or {}).get("time_limit"),
    }
    try:
        region, transfers, key = _cached_region(spec["region"], spec.get("close", []))
        base_region, _, _ = _cached_region(spec["region"], ())
        out["practices"] = _practice_info(base_region)
        if transfers is not None:
            out["transfers"] = transfers.to_dict(orient="list")
        problem = Problem.from_dict(spec["problem"], source=f"scenario {spec['id']}")
        pool = _pool(key)
        out["pool_columns_before"] = len(pool)
        warm = _PLANS.get((key, problem.k_range))
        with _quiet_stdout(quiet):
            result = optimise(problem, region, pool=pool, warm_start=warm or ())
        plan = result.plan
        _PLANS[(key, problem.k_range)] = plan
        out.update({
            "status": "ok", "objective": result.objective, "bound": result.bound, "gap": result.gap,
            "stopped_by": result.stopped_by, "solver_status": result.status, "solver": result.solver,
            "solver_version": result.solver_version, "wall_seconds": result.wall_seconds, "k": plan.k,
            "plan": {str(c): str(h) for c, h in plan.assignment.items()},
            "hub_labels": {h: plan.label(h) for h in plan.hubs},
            "metrics": result.scorecard.summary,
            "hubs": json.loads(result.scorecard.hubs.to_json(orient="split", double_precision=6)),
            "objective_terms": result.objective_terms,
            "details": result.details,
            "solve_log": result.log,
        })
        index = {c: i for i, c in enumerate(region.codes)}
        keep = [[index[m] for m in members] for members in plan.members().values()]
        _trim_pool(key, keep)
        out["pool_columns_after"] = len(_POOLS[key])
    except InfeasibleError as exc:
        # optimise raises the same error for rules proven impossible and for "no plan found in the time
        # limit"; both are results of the scenario as posed, told apart by stopped_by
        reason = str(exc)
        out.update(status="infeasible", reason=reason,
                   stopped_by="time" if reason.startswith("no plan satisfying every rule was found") else "proof")
    except InputError as exc:
        out.update(status="error", reason=f"input error: {exc}")
    except Exception as exc:  # a scenario's failure is a result; the batch goes on
        tb = traceback.format_exception(type(exc), exc, exc.__traceback__)
        out.update(status="error", reason=f"{type(exc).__name__}: {exc}\n{''.join(tb[-6:])}")
    out["task_seconds"] = time.perf_counter() - t0
    if out.get("wall_seconds") is None:
        out["wall_seconds"] = out["task_seconds"]
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["finished_utc"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return to_jsonable(out)




# ---------------------------------------------------------------------------
# the result store
# ---------------------------------------------------------------------------

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS scenarios (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, batch TEXT NOT NULL, params TEXT NOT NULL,
    spec TEXT NOT NULL, added_utc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS results (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, params TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'infeasible', 'error')), reason TEXT,
    objective REAL, bound REAL, gap REAL, stopped_by TEXT, solver_status TEXT, solver TEXT,
    solver_version TEXT, wall_seconds REAL, task_seconds REAL, time_limit REAL, k INTEGER,
    {", ".join(f"{m} REAL" for m in KEY_METRICS)},
    plan TEXT, hub_labels TEXT, metrics TEXT, hubs TEXT, objective_terms TEXT, details TEXT,
    solve_log TEXT, transfers TEXT, region_key TEXT, worker TEXT, peak_rss_mb REAL,
    pool_columns_before INTEGER, pool_columns_after INTEGER, pcn_planner_version TEXT,
    finished_utc TEXT, attempts INTEGER NOT NULL DEFAULT 1);
CREATE TABLE IF NOT EXISTS practices (
    region_key TEXT NOT NULL, code TEXT NOT NULL, name TEXT, pcn_code TEXT, pcn_name TEXT, town TEXT,
    list_size INTEGER, PRIMARY KEY (region_key, code));
"""
_JSON_COLUMNS = ("plan", "hub_labels", "metrics", "hubs", "objective_terms", "details", "solve_log", "transfers")


class ResultStore:
    """The SQLite result store of a batch (one row per finished scenario).

    Parameters
    ----------
    path
        ``results.sqlite`` (created with its tables if missing).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(_SCHEMA)
        have = {r[1] for r in self.db.execute("PRAGMA table_info(results)")}
        for name, kind in (("time_limit", "REAL"),):  # columns added since the first release of the store
            if name not in have:
                self.db.execute(f"ALTER TABLE results ADD COLUMN {name} {kind}")
        self._known_regions: set[str] = {r[0] for r in self.db.execute("SELECT DISTINCT region_key FROM practices")}

    def close(self) -> None:
        """Close the connection (checkpointing the WAL)."""
        with contextlib.suppress(sqlite3.Error):
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.db.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def register(self, scenarios: ScenarioSet) -> None:
        """Record the batch's scenarios (new ids only) and its metadata."""
        now = _now()
        with self._transaction() as db:
            db.executemany(
                "INSERT OR IGNORE INTO scenarios (id, name, batch, params, spec, added_utc) VALUES (?, ?, ?, ?, ?, ?)",
                [(s.id, s.name, scenarios.name, json.dumps(s.params, sort_keys=True),
                  json.dumps(s.spec(), sort_keys=True), now) for s in scenarios])
            for key, value in (("created_utc", now), ("pcn_planner_version", __version__)):
                db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", (key, value))
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('name', ?)", (scenarios.name,))
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('source', ?)", (scenarios.source,))

    def finished_ids(self) -> set[str]:
        """Ids whose result is final (``ok`` or ``infeasible``)."""
        return {r[0] for r in self.db.execute("SELECT id FROM results WHERE status IN ('ok', 'infeasible')")}

    def counts(self) -> dict[str, int]:
        """Stored results by status."""
        return dict(self.db.execute("SELECT status, COUNT(*) FROM results GROUP BY status").fetchall())

    def write(self, payload: Mapping[str, Any]) -> None:
        """Store one result in its own transaction (replacing an earlier error of the same id)."""
        p = dict(payload)
        metrics = p.get("metrics") or {}
        row: dict[str, Any] = {
            "id": p["id"], "name": p["name"], "params": json.dumps(p.get("params") or {}, sort_keys=True),
            "status": p["status"], "reason": p.get("reason"),
            **{c: p.get(c) for c in ("objective", "bound", "gap", "stopped_by", "solver_status", "solver",
                                     "solver_version", "wall_seconds", "task_seconds", "time_limit", "k",
                                     "region_key",
                                     "worker", "peak_rss_mb", "pool_columns_before", "pool_columns_after",
                                     "finished_utc")},
            **{m: metrics.get(m) for m in KEY_METRICS},
            **{c: None if p.get(c) is None else json.dumps(p[c], sort_keys=True) for c in _JSON_COLUMNS},
            "pcn_planner_version": __version__,
        }
        if p["status"] not in STATUSES:
            raise ValueError(f"unknown status {p['status']!r}")
        cols = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        with self._transaction() as db:
            before = db.execute("SELECT attempts FROM results WHERE id = ?", (row["id"],)).fetchone()
            row_values = list(row.values())
            db.execute(f"INSERT OR REPLACE INTO results ({cols}, attempts) VALUES ({marks}, ?)",
                       [*row_values, 1 + (before[0] if before else 0)])
            practices = p.get("practices")
            if practices and p.get("region_key") not in self._known_regions:
                db.executemany("INSERT OR IGNORE INTO practices (region_key, code, name, pcn_code, pcn_name, town, "
                               "list_size) VALUES (?, ?, ?, ?, ?, ?, ?)",
                               [(p["region_key"], *r) for r in practices])
        if practices:
            self._known_regions.add(p.get("region_key"))

    def frame(self, *, json_columns: bool = False) -> pd.DataFrame:
        """Results as a table (one row per scenario, index ``id``); JSON columns parsed on request."""
        cols = [r[1] for r in self.db.execute("PRAGMA table_info(results)")]
        keep = cols if json_columns else [c for c in cols if c not in _JSON_COLUMNS]
        parse = {"params", *(_JSON_COLUMNS if json_columns else ())}
        rows = [{c: (json.loads(v) if c in parse and isinstance(v, str) else v) for c, v in zip(keep, r)}
                for r in self.db.execute(f"SELECT {', '.join(keep)} FROM results ORDER BY id")]
        frame = pd.DataFrame(rows, columns=keep)
        for c in keep:
            if c in parse or c in ("id", "name", "status", "reason", "stopped_by", "solver_status", "solver",
                                   "solver_version", "region_key", "worker", "pcn_planner_version", "finished_utc"):
                frame[c] = frame[c].astype(object)
            else:
                frame[c] = pd.to_numeric(frame[c], errors="coerce")
        return frame.set_index("id")

    def practices(self) -> pd.DataFrame:
        """Practice names, current PCNs and towns, per region."""
        return pd.read_sql_query("SELECT * FROM practices ORDER BY region_key, code", self.db)

    def scenarios(self) -> pd.DataFrame:
        """Every scenario ever registered in this store."""
        frame = pd.read_sql_query("SELECT id, name, batch, params, added_utc FROM scenarios ORDER BY id", self.db)
        frame["params"] = frame["params"].map(json.loads)
        return frame.set_index("id")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def load_results(out_dir: str | Path, *, json_columns: bool = False) -> pd.DataFrame:
    """The result table of a batch folder: one row per finished scenario.

    Parameters
    ----------
    out_dir
        The folder given to :func:`run_batch` (it holds ``results.sqlite``).
    json_columns
        Decode the JSON columns (plan, metrics, hubs, objective terms, ...) into Python objects.

    Returns
    -------
    DataFrame
        Indexed by scenario id, with status, reason, objective, bound, gap, key metrics and timings.

    Raises
    ------
    InputError
        If the folder holds no result store.
    """
    path = Path(out_dir) / STORE_NAME
    if not path.is_file():
        raise InputError(f"no {STORE_NAME} here: not a batch output folder", file=str(out_dir))
    with ResultStore(path) as store:
        return store.frame(json_columns=json_columns)


def result_plan(out_dir: str | Path, scenario_id: str):
    """The plan a scenario found, as a :class:`~pcn_planner.model.plan.Plan` (e.g. to write or score it)."""
    from pcn_planner.model.plan import Plan

    path = Path(out_dir) / STORE_NAME
    with ResultStore(path) as store:
        row = store.db.execute("SELECT name, status, plan, hub_labels FROM results WHERE id = ?",
                               (scenario_id,)).fetchone()
    if row is None:
        raise InputError(f"no result for scenario {scenario_id!r}", file=str(path))
    name, status, plan, labels = row
    if status != "ok" or plan is None:
        raise InputError(f"scenario {scenario_id} ({name}) has no plan: status {status}", file=str(path))
    return Plan.from_mapping(json.loads(plan), name=name, labels=json.loads(labels or "{}"))


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

    @property
    def throughput_per_min(self) -> float:
        """Scenarios run per minute (this run)."""
        return 60.0 * self.ran / self.wall_seconds if self.wall_seconds > 0 else float("nan")

    def frame(self) -> pd.DataFrame:
        """Every stored result (see :func:`load_results`)."""
        return load_results(self.out_dir)

    def __repr__(self) -> str:
        counts = ", ".join(f"{v} {k}" for k, v in sorted(self.counts.items())) or "nothing to run"
        return (f"<BatchResult {self.name!r}: {self.total} scenarios, {self.skipped} already done, ran {self.ran} "
                f"({counts}) in {self.wall_seconds:.1f} s on {self.scheduler}>")


@contextlib.contextmanager
def _client(scheduler: str | None, workers: int | None) -> Iterator[tuple[Any, str, bool]]:
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
            yield client, str(scheduler), False
        finally:
            client.close()
        return
    n = 2 if workers is None else int(workers)
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                           silence_logs=logging.ERROR)
    client = Client(cluster)
    try:
        yield client, f"embedded LocalCluster ({n} worker processes x 1 thread)", True
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
        Called with each result (plain data) right after it is stored.

    Returns
    -------
    BatchResult
    """
    from tqdm.auto import tqdm

    t0 = time.perf_counter()
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise InputError(f"workers must be a whole number >= 1, got {workers!r}", field="workers")
    sset = load_scenarios(scenarios)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    store = ResultStore(out / STORE_NAME)
    try:
        store.register(sset)
        done = store.finished_ids()
        todo = sorted((s for s in sset if s.id not in done), key=lambda s: s.group_key)
        skipped = len(sset) - len(todo)
        scheduler = scheduler or os.environ.get(SCHEDULER_ENV) or None
        counts: Counter[str] = Counter()
        peaks: dict[str, float] = {}
        where = scheduler or "nothing (every scenario already finished)"
        if todo:
            with _client(scheduler, workers) as (client, where, embedded):
                from distributed import as_completed

                by_key = {}
                for rank, s in enumerate(todo):
                    key = f"pcn-scenario-{s.id}-{os.urandom(4).hex()}"
                    fut = client.submit(run_scenario, s.spec(), embedded, key=key, pure=False,
                                        priority=len(todo) - rank)  # run in the related-first order
                    by_key[fut.key] = (fut, s)
                bar = tqdm(total=len(todo), disable=not progress, unit="scenario", desc=sset.name, dynamic_ncols=True)
                try:
                    for fut in as_completed([f for f, _ in by_key.values()]):
                        s = by_key[fut.key][1]
                        try:
                            payload = fut.result()
                        except Exception as exc:  # the task was lost (e.g. KilledWorker): retried next run
                            payload = _lost_payload(s, exc)
                        store.write(payload)
                        counts[payload["status"]] += 1
                        if payload.get("worker") and payload.get("peak_rss_mb") is not None:
                            peaks[payload["worker"]] = max(peaks.get(payload["worker"], 0.0), payload["peak_rss_mb"])
                        gap = payload.get("gap")
                        bar.set_postfix_str(", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
                                            + ("" if gap is None else f", last gap {gap:.1%}"), refresh=False)
                        bar.update(1)
                        if on_result is not None:
                            on_result(payload)
                finally:
                    bar.close()
        return BatchResult(out_dir=out, store=store.path, name=sset.name, total=len(sset), skipped=skipped,
                           ran=len(todo), counts=dict(counts), wall_seconds=time.perf_counter() - t0,
                           scheduler=where, worker_peak_rss_mb=peaks)
    finally:
        store.close()


def summarise_batch(out_dir: str | Path, *, top: int = 25) -> dict[str, pd.DataFrame]:
    """Summary tables of a batch folder (co-assignment, stability, Pareto front, bands, infeasible).

    The same as :func:`pcn_planner.batch.summary.summarise_batch`, kept here beside :func:`run_batch`.
    """
    from pcn_planner.batch.summary import summarise_batch as _summarise

    return _summarise(out_dir, top=top)


def write_batch_summary(out_dir: str | Path, *, top: int = 25) -> Path:
    """Write ``summary/`` (CSV tables and an offline ``index.html``) and return the page's path.

    The same as :func:`pcn_planner.batch.summary.write_batch_summary`, kept here beside :func:`run_batch`.
    """
    from pcn_planner.batch.summary import write_batch_summary as _write

    return _write(out_dir, top=top)


def machine() -> str:
    """Where a batch ran, for reports."""
    return f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
