"""Run directories: the files every scoring command writes, and reading them back.

A run directory holds ``plan.csv`` (``practice_code,hub_id,hub_name``),
``scorecard.csv`` (one row per hub), ``plan_summary.json`` (plan measures and
broken rules), ``manifest.json`` (inputs hash, parameters, solver, version,
time, gap) and ``map.html``. It is written to a staging folder and moved into
place only when every file is complete.
"""

from __future__ import annotations

import json
import math
import platform
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from pcn_planner.core.version import __version__
from pcn_planner.core.errors import InputError
from pcn_planner.core.jsonio import dump_json
from pcn_planner.core.files import atomic_write_text, staged_directory
from pcn_planner.model.plan import read_plan_csv
from pcn_planner.scoring.scorecard import Scorecard

RUN_FILES = ("plan.csv", "scorecard.csv", "plan_summary.json", "manifest.json", "map.html")




#: Solve facts the manifest lists at its top level; the rest go under ``engine``.
_HEADLINE = ("solver", "solver_version", "status", "stopped_by", "objective", "objective_terms", "bound", "gap",
             "seed")


def run_manifest(scorecard: Scorecard, *, command: str, parameters: dict, solve: dict | None = None,
                 wall_seconds: float | None = None) -> dict:
    """The manifest of a run: what went in, how it was made, how good it is."""
    region = scorecard._region
    solve = solve or {}
    return {
        "pcn_planner_version": __version__,
        "python": platform.python_version(),
        "command": command,
        "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "wall_seconds": wall_seconds,
        "inputs": {
            "atlas_path": str(region.atlas.path),
            "atlas_sha256": region.atlas.data_hash,
            "travel_source": region.travel_source,
        },
        "parameters": {
            "bounds": {"min": scorecard.bounds.min, "max": scorecard.bounds.max},
            "territory_min_share": region.min_share,
            **parameters,
        },
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


def write_run(out: str | Path, scorecard: Scorecard, manifest: dict, *, map_html: bool = True) -> Path:
    """Write a complete run directory atomically and return its path."""
    out = Path(out)
    with staged_directory(out) as stage:
        scorecard.plan.to_csv(stage / "plan.csv")
        scorecard.to_csv(stage / "scorecard.csv")
        summary = {
            "plan": scorecard.plan.name,
            "k": scorecard.plan.k,
            "bounds": {"min": scorecard.bounds.min, "max": scorecard.bounds.max},
            "baseline": scorecard.baseline_name,
            "feasible": scorecard.feasible,
            "problems": scorecard.problems,
            "gap": manifest.get("gap"),
            "bound": manifest.get("bound"),
            "metrics": scorecard.summary,
        }
        atomic_write_text(stage / "plan_summary.json", dump_json(summary))
        atomic_write_text(stage / "manifest.json", dump_json(manifest))
        if map_html:
            from pcn_planner.outputs.maps.plan_map import plan_map
            from pcn_planner.outputs.maps.offline import save_offline

            save_offline(plan_map(scorecard, gap=manifest.get("gap")), stage / "map.html")
    return out


def read_run(path: str | Path, practice_codes: list[str] | None = None) -> dict:
    """Read a run directory back: plan, hub table, summary and manifest."""
    path = Path(path)
    missing = [f for f in RUN_FILES if f != "map.html" and not (path / f).is_file()]
    if missing:
        raise InputError(f"not a run directory: missing {', '.join(missing)}", file=str(path))
    hubs = pd.read_csv(path / "scorecard.csv", dtype={"hub_id": str}).set_index("hub_id")
    codes = practice_codes or list(pd.read_csv(path / "plan.csv", dtype=str)["practice_code"])
    return {
        "path": path,
        "plan": read_plan_csv(path / "plan.csv", codes, name=json.loads((path / "plan_summary.json").read_text())["plan"]),
        "hubs": hubs,
        "summary": json.loads((path / "plan_summary.json").read_text()),
        "manifest": json.loads((path / "manifest.json").read_text()),
    }
