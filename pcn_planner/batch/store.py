"""The result store of a batch: ``results.sqlite``, its schema, and reading results back.

``results.sqlite`` lives in the output folder (SQLite, WAL mode,
``synchronous=FULL``). The driver (:func:`pcn_planner.batch.run.run_batch`) is
its only writer and writes one row per finished scenario, each in its own
transaction, as the scenario finishes. A killed worker or a killed run loses
no finished row and cannot corrupt the file. Status ``ok`` and ``infeasible``
(with the reason in words) are finished results; a re-run skips them. Status
``error`` (an unexpected exception, or a task lost with its workers) is stored
too, and is tried again on the next run.

>>> from pcn_planner.batch.store import load_results, result_plan
>>> table = load_results("outputs/sensitivity")            # one row per scenario
>>> plan = result_plan("outputs/sensitivity", table.index[0])
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from pcn_planner.core.errors import InputError
from pcn_planner.core.version import __version__

if TYPE_CHECKING:
    from pcn_planner.batch.scenarios import ScenarioSet
    from pcn_planner.model.plan import Plan

__all__ = ["KEY_METRICS", "STATUSES", "STORE_NAME", "ResultStore", "load_results", "result_plan"]

#: File name of the result store inside the output folder.
STORE_NAME = "results.sqlite"

#: Plan metrics stored as columns of the result table: keys of the registry
#: (:data:`pcn_planner.scoring.metrics.PLAN`), whose labels, units and formats the summaries use.
KEY_METRICS = (
    "travel_mean_min", "travel_p90_min", "town_outside_share", "lad_outside_share", "catchment_outside_share",
    "towns_split", "practices_moved", "pcn_pairs_broken", "max_high_risk_share", "hubs_without_anchor",
)
STATUSES = ("ok", "infeasible", "error")


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
        self._known_regions: set[str | None] = {
            r[0] for r in self.db.execute("SELECT DISTINCT region_key FROM practices")}

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
        rows = [{c: (json.loads(v) if c in parse and isinstance(v, str) else v) for c, v in zip(keep, r, strict=True)}
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
    return datetime.now(UTC).isoformat(timespec="seconds")


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


def result_plan(out_dir: str | Path, scenario_id: str) -> Plan:
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

