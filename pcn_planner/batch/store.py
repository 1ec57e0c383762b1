"""The result store of a batch: ``results.sqlite``, its schema, and reading results back.

``results.sqlite`` lives in the output folder (SQLite, WAL mode,
``synchronous=FULL``). The driver (:func:`pcn_planner.batch.run.run_batch`) is
its only writer and writes one row per finished scenario, each in its own
transaction, as the scenario finishes. A killed worker or a killed run loses
no finished row and cannot corrupt the file. Status ``ok`` and ``infeasible``
(with the reason in words) are finished results; a re-run skips them. Status
``error`` (an unexpected exception, or a task lost with its workers) is stored
too, and is tried again on the next run.

**Unresolved.** A scenario stops on its gap target (the problem's ``gap``,
default 1 %) and its time limit is only a cap. An ``ok`` scenario whose
certified gap is above its target when it stops (it ran out of time), or that
has no bound at all, is *unresolved*: its plan is real and kept, but how far it
is from the best plan is not settled well enough to compare it with others.
The store keeps this as the ``unresolved`` flag (0/1, with ``gap_target``) next
to the status, so it is a finished result (a re-run with the same cap skips it;
a longer cap is a new scenario id) and never a silent part of an average
(:mod:`pcn_planner.batch.summary`). Infeasible and error rows are never
unresolved: they keep their own status. The rule is :func:`is_unresolved`.

**Plan fingerprint.** ``plan_fingerprint`` is :func:`plan_fingerprint` of the
plan: equal for two scenarios exactly when they group the practices the same
way, whatever the hub ids, so two batches can be compared plan by plan.

>>> from pcn_planner.batch.store import load_results, result_plan
>>> table = load_results("outputs/sensitivity")            # one row per scenario
>>> plan = result_plan("outputs/sensitivity", table.index[0])
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
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

__all__ = ["DEFAULT_GAP_TARGET", "KEY_METRICS", "STATUSES", "STORE_NAME", "ResultStore", "is_unresolved",
           "load_results", "plan_fingerprint", "result_plan"]

#: File name of the result store inside the output folder.
STORE_NAME = "results.sqlite"

#: Plan metrics stored as columns of the result table: keys of the registry
#: (:data:`pcn_planner.scoring.metrics.PLAN`), whose labels, units and formats the summaries use.
KEY_METRICS = (
    "travel_mean_min", "travel_p90_min", "town_outside_share", "lad_outside_share", "catchment_outside_share",
    "towns_split", "practices_moved", "pcn_pairs_broken", "max_high_risk_share", "hubs_without_anchor",
)
STATUSES = ("ok", "infeasible", "error")
#: Gap target of a result that does not say its own (the problem's default ``gap``).
DEFAULT_GAP_TARGET = 0.01
#: Gaps this close to the target count as on it (the solver's own gap test has the same slack).
_GAP_SLACK = 1e-9


def is_unresolved(status: str | None, gap: float | None, gap_target: float | None) -> bool:
    """Whether a result has a plan that is not proven within its gap target.

    Parameters
    ----------
    status
        The result's status; only ``ok`` results can be unresolved.
    gap
        Its certified relative gap, ``(objective - bound) / |objective|``, or None without a bound.
    gap_target
        The gap it was asked to reach (``None``: :data:`DEFAULT_GAP_TARGET`).

    Returns
    -------
    bool
        True for an ``ok`` result with no certified gap or a gap above the target. A
        scenario only stops above its target when its time cap runs out, so this is
        "ended by time with the gap above its target".
    """
    if status != "ok":
        return False
    target = DEFAULT_GAP_TARGET if gap_target is None or _nan(gap_target) else float(gap_target)
    if gap is None or _nan(gap):
        return True
    return float(gap) > target + _GAP_SLACK


def _nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def plan_fingerprint(assignment: Mapping[str, str] | None) -> str | None:
    """A stable hash of a plan's grouping: the same for the same hubs, whatever their ids or order.

    Each hub is named by its sorted member codes (which canonicalises the hub ids), the hubs
    are sorted, and the SHA-256 of that text is returned as 64 hex digits. This is the hash the
    engine records for warm starts (``engine.warm_start_sha256``), so the two can be matched.

    Parameters
    ----------
    assignment
        Practice code -> hub id (any ids), or None.

    Returns
    -------
    str or None
        The hex digest, or None without a plan.

    Examples
    --------
    >>> plan_fingerprint({"A": "H1", "B": "H1", "C": "H2"}) == plan_fingerprint({"C": "x", "B": "y", "A": "y"})
    True
    """
    if not assignment:
        return None
    members: dict[str, list[str]] = {}
    for code, hub in assignment.items():
        members.setdefault(str(hub), []).append(str(code))
    groups = sorted(",".join(sorted(m)) for m in members.values())
    return hashlib.sha256("\n".join(groups).encode()).hexdigest()


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
    finished_utc TEXT, attempts INTEGER NOT NULL DEFAULT 1,
    gap_target REAL, unresolved INTEGER, plan_fingerprint TEXT);
CREATE TABLE IF NOT EXISTS practices (
    region_key TEXT NOT NULL, code TEXT NOT NULL, name TEXT, pcn_code TEXT, pcn_name TEXT, town TEXT,
    list_size INTEGER, PRIMARY KEY (region_key, code));
"""
_JSON_COLUMNS = ("plan", "hub_labels", "metrics", "hubs", "objective_terms", "details", "solve_log", "transfers")
_ADDED_COLUMNS = (("time_limit", "REAL"), ("gap_target", "REAL"), ("unresolved", "INTEGER"),
                  ("plan_fingerprint", "TEXT"))


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
        # columns added since the first release of the store
        added = [(name, kind) for name, kind in _ADDED_COLUMNS if name not in have]
        for name, kind in added:
            self.db.execute(f"ALTER TABLE results ADD COLUMN {name} {kind}")
        if any(name in ("gap_target", "unresolved", "plan_fingerprint") for name, _ in added):
            self._backfill_quality()
        self._known_regions: set[str | None] = {
            r[0] for r in self.db.execute("SELECT DISTINCT region_key FROM practices")}

    def _backfill_quality(self) -> None:
        """Gap target, unresolved flag and fingerprint of the rows of a store written before they existed."""
        targets: dict[str, float] = {}
        for sid, spec in self.db.execute("SELECT id, spec FROM scenarios"):
            gap = (json.loads(spec).get("problem") or {}).get("gap")
            if gap is not None:
                targets[sid] = float(gap)
        rows = self.db.execute("SELECT id, status, gap, plan FROM results").fetchall()
        with self._transaction() as db:
            for sid, status, gap, plan in rows:
                target = targets.get(sid, DEFAULT_GAP_TARGET)
                fingerprint = plan_fingerprint(json.loads(plan)) if plan else None
                db.execute("UPDATE results SET gap_target = ?, unresolved = ?, plan_fingerprint = ? WHERE id = ?",
                           (target, int(is_unresolved(status, gap, target)), fingerprint, sid))

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
        """Stored results by status, and ``unresolved``: ok results not proven within their gap target."""
        out = dict(self.db.execute("SELECT status, COUNT(*) FROM results GROUP BY status").fetchall())
        out["unresolved"] = int(self.db.execute("SELECT COUNT(*) FROM results WHERE unresolved = 1").fetchone()[0])
        return out

    def write(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Store one result in its own transaction (replacing an earlier error of the same id).

        Returns
        -------
        dict
            What the store derived from the payload: ``gap_target``, ``unresolved``
            (:func:`is_unresolved`) and ``plan_fingerprint`` (:func:`plan_fingerprint`).
        """
        p = dict(payload)
        metrics = p.get("metrics") or {}
        target = p.get("gap_target")
        target = DEFAULT_GAP_TARGET if target is None else float(target)
        unresolved = is_unresolved(p["status"], p.get("gap"), target)
        derived: dict[str, Any] = {"gap_target": target, "unresolved": unresolved,
                                   "plan_fingerprint": plan_fingerprint(p.get("plan")) if p["status"] == "ok" else None}
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
            **derived, "unresolved": int(unresolved),
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
        return derived

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
                                   "solver_version", "region_key", "worker", "pcn_planner_version", "finished_utc",
                                   "plan_fingerprint"):
                frame[c] = frame[c].astype(object)
            elif c == "unresolved":
                frame[c] = frame[c].fillna(0).astype(bool)
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

