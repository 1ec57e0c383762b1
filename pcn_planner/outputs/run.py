"""Run folders: the whole truth about one scored plan, written once and read back exactly.

A run folder holds ``plan.csv`` (``practice_code,hub_id,hub_name``),
``scorecard.csv`` (one row per hub), ``plan_summary.json`` (plan measures and
broken rules), ``manifest.json`` and ``map.html``, plus ``baseline.csv`` when
disruption was measured against a plan other than today's PCNs. It is written
to a staging folder and moved into place only when every file is complete.

The manifest records every input that shaped the scores: the atlas and its
hash, any user travel matrix or risk file with its path and hash, the
territory threshold, the problem (bounds, weights, rules, growth), the
baseline, and the links the problem added to the practice graph. A
:class:`Run` read from the folder rebuilds exactly that scoring context, so
``report``, ``compare`` and notebooks score a run the way the command that
wrote it did. If a recorded input is missing or has changed, they say so and
stop rather than fall back to defaults.
"""

from __future__ import annotations

import json
import platform
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from pcn_planner.core.errors import InputError
from pcn_planner.core.files import atomic_write_text, sha256_file, staged_directory
from pcn_planner.core.jsonio import dump_json
from pcn_planner.core.version import __version__
from pcn_planner.data.atlas import load_atlas
from pcn_planner.geography.region import TABLE, Region, RegionInputs, build_region
from pcn_planner.model.plan import Plan, read_plan_csv
from pcn_planner.model.problem import Problem
from pcn_planner.scoring.scorecard import Scorecard, score_plan

RUN_FILES = ("plan.csv", "scorecard.csv", "plan_summary.json", "manifest.json", "map.html")
#: Written only when the baseline is not today's PCNs.
BASELINE_FILE = "baseline.csv"

#: Solve facts the manifest lists at its top level; the rest go under ``engine``.
_HEADLINE = ("solver", "solver_version", "status", "stopped_by", "objective", "objective_terms", "bound", "gap",
             "seed")
_CURRENT = "current PCNs"


def run_manifest(scorecard: Scorecard, *, command: str, parameters: dict | None = None, solve: dict | None = None,
                 wall_seconds: float | None = None) -> dict:
    """The manifest of a run: every input that shaped its scores, how it was made, how good it is.

    Parameters
    ----------
    scorecard
        The scored plan; its region and instance supply the inputs and the problem.
    command
        The command that made the run (``evaluate``, ``optimise``, ...).
    parameters
        Further settings to record (e.g. the plan file evaluated).
    solve
        Solver facts (:meth:`pcn_planner.optimise.Result.solve_info`).
    wall_seconds
        Total time taken.
    """
    inst = scorecard.instance
    solve = solve or {}
    return {
        "pcn_planner_version": __version__,
        "python": platform.python_version(),
        "command": command,
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "wall_seconds": wall_seconds,
        "inputs": scorecard.region.inputs.to_dict(),
        "parameters": {
            "problem": inst.problem.to_dict(),
            "baseline": inst.baseline_name,
            "rules": sorted(r.name for r in _rules_applied(scorecard)),
            **(parameters or {}),
        },
        "added_links": [{"practice_a": a, "practice_b": b, "reason": why}
                        for a, b, why in scorecard.added_links.itertuples(index=False)],
        "solver": solve.get("solver"),
        "solver_version": solve.get("solver_version"),
        "status": solve.get("status", "evaluated"),
        "stopped_by": solve.get("stopped_by"),
        "objective": solve.get("objective"),
        "objective_terms": solve.get("objective_terms"),
        "bound": solve.get("bound"),
        "gap": solve.get("gap"),
        "seed": solve.get("seed"),
        # engine facts beyond the headline: warm starts (and their plans' hashes), columns, cuts, nodes
        "engine": {k: v for k, v in solve.items() if k not in _HEADLINE},
    }


def _rules_applied(scorecard: Scorecard) -> list[Any]:
    from pcn_planner.model.rules import RULES

    return [r for r in RULES if r.applies(scorecard.instance)]


def write_run(out: str | Path, scorecard: Scorecard, manifest: dict, *, map_html: bool = True) -> Path:
    """Write a complete run folder atomically and return its path."""
    out = Path(out)
    inst = scorecard.instance
    with staged_directory(out) as stage:
        scorecard.plan.to_csv(stage / "plan.csv")
        scorecard.to_csv(stage / "scorecard.csv")
        if inst.baseline_name != _CURRENT and inst.baseline_hub is not None:
            baseline = Plan(pd.Series(inst.baseline_hub, index=list(inst.codes)), name=inst.baseline_name)
            baseline.to_csv(stage / BASELINE_FILE)
        summary = {
            "plan": scorecard.plan.name,
            "k": scorecard.plan.k,
            "bounds": {"min": scorecard.bounds.min, "max": scorecard.bounds.max},
            "baseline": scorecard.baseline_name,
            "feasible": scorecard.feasible,
            "problems": scorecard.problems,
            "violations": [{"rule": v.rule, "text": v.text} for v in scorecard.violations],
            "gap": manifest.get("gap"),
            "bound": manifest.get("bound"),
            "metrics": scorecard.summary,
        }
        atomic_write_text(stage / "plan_summary.json", dump_json(summary))
        atomic_write_text(stage / "manifest.json", dump_json(manifest))
        if map_html:
            from pcn_planner.outputs.maps.offline import save_offline
            from pcn_planner.outputs.maps.plan_map import plan_map

            save_offline(plan_map(scorecard, gap=manifest.get("gap")), stage / "map.html")
    return out


#: Regions already built, by the inputs that made them (so runs on the same inputs share one).
RegionCache = MutableMapping[RegionInputs, Region]


@dataclass(frozen=True, eq=False)
class Run:
    """A run folder read back: its plan, its recorded scores and everything that made them.

    Read one with :meth:`Run.read`. :meth:`region` and :meth:`scorecard`
    rebuild the run's own scoring context from its manifest (never from
    defaults) and refuse, naming the input, when a recorded file is missing or
    has changed.

    Attributes
    ----------
    path
        The run folder.
    plan
        The plan, as written (hub ids and names).
    manifest, summary
        ``manifest.json`` and ``plan_summary.json``.
    hubs
        ``scorecard.csv``: the hub table as the run wrote it.

    Examples
    --------
    >>> from pcn_planner.outputs.run import Run
    >>> run = Run.read("outputs/optimise-K23")          # doctest: +SKIP
    >>> run.scorecard().problems == run.summary["problems"]  # doctest: +SKIP
    True
    """

    path: Path
    plan: Plan
    manifest: dict
    summary: dict
    hubs: pd.DataFrame = field(repr=False)

    @classmethod
    def read(cls, path: str | Path) -> Run:
        """Read a run folder written by :func:`write_run`.

        Raises
        ------
        InputError
            If the folder is missing a file, or a file is damaged (naming it).
        """
        path = Path(path)
        if not path.is_dir():
            raise InputError("run folder not found", file=str(path))
        missing = [f for f in RUN_FILES if f != "map.html" and not (path / f).is_file()]
        if missing:
            raise InputError(f"not a run folder: missing {', '.join(missing)}", file=str(path))
        manifest, summary = (_read_json(path / name) for name in ("manifest.json", "plan_summary.json"))
        for name, data, key in (("manifest.json", manifest, "inputs"), ("plan_summary.json", summary, "plan")):
            if key not in data:
                raise InputError(f"has no '{key}' entry; it was not written by this version of pcn-planner",
                                 file=str(path / name), field=key)
        plan_codes = _plan_codes(path / "plan.csv")
        plan = read_plan_csv(path / "plan.csv", plan_codes, name=str(summary["plan"]))
        try:
            hubs = pd.read_csv(path / "scorecard.csv", dtype={"hub_id": str}).set_index("hub_id")
        except (ValueError, KeyError, pd.errors.ParserError) as exc:
            raise InputError(f"cannot be read as a hub table: {exc}", file=str(path / "scorecard.csv")) from exc
        return cls(path=path, plan=plan, manifest=manifest, summary=summary, hubs=hubs)

    @property
    def name(self) -> str:
        """The folder's name."""
        return self.path.name

    @property
    def gap(self) -> float | None:
        """The certified gap the run recorded, or ``None``."""
        return self.manifest.get("gap")

    @property
    def inputs(self) -> RegionInputs:
        """The region inputs the run recorded."""
        return RegionInputs.from_dict(self.manifest["inputs"])

    @property
    def problem(self) -> Problem:
        """The problem (bounds, weights, rules, growth) the run was scored under."""
        data = dict(self.manifest.get("parameters", {}).get("problem") or {})
        if not data:
            raise InputError("records no problem; it was written by an older pcn-planner: run its command again",
                             file=str(self.path / "manifest.json"), field="parameters.problem")
        rules = {k: data.pop(k) for k in ("nest", "keep_together", "keep_apart", "locked_hubs", "require_anchor",
                                          "max_moved", "colocated_together") if k in data}
        layout = {k: v for k, v in data.items() if k in {"k", "bounds", "weights", "growth", "long_trip_minutes",
                                                         "risk_tolerance", "solver", "time_limit", "gap", "seed"}}
        return Problem.from_dict({**layout, "rules": rules}, source=str(self.path / "manifest.json"))

    def baseline(self, region: Region) -> Plan | None:
        """The baseline plan disruption was measured against (``None`` for today's PCNs)."""
        file = self.path / BASELINE_FILE
        if not file.is_file():
            if self.manifest.get("parameters", {}).get("baseline", _CURRENT) != _CURRENT:
                raise InputError("the run's baseline plan file is missing", file=str(file))
            return None
        return read_plan_csv(file, region.codes, name=self.manifest["parameters"]["baseline"])

    def region(self, cache: RegionCache | None = None) -> Region:
        """The region the run was scored on, rebuilt from its recorded inputs.

        Parameters
        ----------
        cache
            Regions already built, keyed by their inputs; the region is added to it.

        Raises
        ------
        InputError
            If the atlas, the travel matrix or the risk file is missing or has
            changed since the run was written, or was given as a table in Python.
        """
        inputs = self.inputs
        if cache is not None and inputs in cache:
            return cache[inputs]
        where = str(self.path / "manifest.json")
        atlas = load_atlas(inputs.atlas_path)
        if atlas.data_hash != inputs.atlas_sha256:
            raise InputError(f"the atlas {inputs.atlas_path} has changed since this run was scored "
                             "(its tables' hash differs); run the command again", file=where,
                             field="inputs.atlas_sha256")
        travel = self._recorded_file("travel matrix", inputs.travel_matrix, inputs.travel_matrix_sha256,
                                     "travel_matrix")
        risk = self._recorded_file("risk file", inputs.risk_file, inputs.risk_file_sha256, "risk_file")
        region = build_region(atlas, min_share=inputs.min_share, travel_matrix=travel, risk_override=risk,
                              seed=inputs.calibration_seed)
        if cache is not None:
            cache[inputs] = region
        return region

    def _recorded_file(self, what: str, path: str | None, digest: str | None, key: str) -> str | None:
        where = str(self.path / "manifest.json")
        if path is None:
            return None
        if path == TABLE:
            raise InputError(f"this run's {what} was given as a table in Python, not as a file, so it cannot be "
                             f"rebuilt from the folder; score it in Python with the same {what}",
                             file=where, field=f"inputs.{key}")
        if not Path(path).is_file():
            raise InputError(f"the {what} this run was scored with is missing: {path}", file=where,
                             field=f"inputs.{key}")
        if digest is not None and sha256_file(path) != digest:
            raise InputError(f"the {what} this run was scored with has changed since: {path}", file=where,
                             field=f"inputs.{key}")
        return path

    def scorecard(self, region: Region | None = None, *, cache: RegionCache | None = None) -> Scorecard:
        """Score the run's plan again, in exactly the run's own context.

        Parameters
        ----------
        region
            The region to score on; it must have been built from the run's
            recorded inputs (default: rebuild it, see :meth:`region`).
        cache
            Regions already built, keyed by their inputs.
        """
        if region is None:
            region = self.region(cache)
        elif region.inputs != self.inputs:
            raise InputError("was scored on other inputs than the region given "
                             f"({_differences(self.inputs, region.inputs)}); let the run rebuild its own region",
                             file=str(self.path / "manifest.json"), field="inputs")
        plan = read_plan_csv(self.path / "plan.csv", region.codes, name=self.plan.name)
        return score_plan(region, plan, problem=self.problem, baseline=self.baseline(region))


def _differences(a: RegionInputs, b: RegionInputs) -> str:
    da, db = a.to_dict(), b.to_dict()
    return ", ".join(f"{k}: {da[k]!r} vs {db[k]!r}" for k in da if da[k] != db[k]) or "none"


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"is not valid JSON ({exc})", file=str(path)) from exc
    if not isinstance(data, dict):
        raise InputError("does not hold a JSON object", file=str(path))
    return data


def _plan_codes(path: Path) -> list[str]:
    try:
        return list(pd.read_csv(path, dtype=str, usecols=["practice_code"])["practice_code"].dropna())
    except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"cannot be read as a plan file: {exc}", file=str(path), field="practice_code") from exc


def is_run_folder(path: str | Path) -> bool:
    """True if ``path`` is a folder holding a run's ``manifest.json`` and ``plan.csv``."""
    path = Path(path)
    return path.is_dir() and (path / "manifest.json").is_file() and (path / "plan.csv").is_file()
