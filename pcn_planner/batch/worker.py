"""The worker side of a batch: one scenario per Dask task, each starting from its batch's anchor.

Each worker process keeps a module-level cache of built regions and, per
region and K, one **anchor** solve: the scenario's K and solver
settings with every other setting at its default (:func:`anchor_problem`).
Every scenario then starts from its anchor's engine state
(:class:`solvers.state.EngineState`: the anchor's plan as a warm start, a copy
of its candidate hubs, and every cut that still holds) through the same path as
:meth:`pcn_planner.session.Solver.solve`. The anchor depends only on the
scenario itself, never on what the worker ran before, and each scenario works
on its own copy of the state; so a scenario's plan does not depend on the order
of the batch or on which worker runs it (the engine is deterministic by work).
"""

from __future__ import annotations

import json
import os
import resource
import socket
import time
import traceback
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pcn_planner.batch.scenarios import canonical_json
from pcn_planner.core.errors import InfeasibleError, InputError
from pcn_planner.core.jsonio import to_jsonable

__all__ = ["REGION_CACHE", "anchor_problem", "run_scenario"]

#: Regions a worker keeps built (least recently used are dropped, with their anchors).
REGION_CACHE = 4


_REGIONS: OrderedDict[str, tuple[Any, Any]] = OrderedDict()  # key -> (Region, transfers or None)
_ANCHORS: dict[tuple[str, str], Any] = {}  # (base region key, anchor problem) -> its Result, or None


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
        from pcn_planner.batch.scenarios import _atlas_sha256
        from pcn_planner.data.atlas import embedded_data_dir, load_atlas

        folder = Path(region_spec["atlas"]) if region_spec.get("atlas") else embedded_data_dir()
        want = region_spec.get("sha256")
        have = _atlas_sha256(folder)[:16]
        if want and want != have:
            raise InputError(f"the atlas on worker {socket.gethostname()} differs from the one the batch was "
                             f"planned with (sha256 {have} != {want})", file=str(folder))
        atlas = load_atlas(folder)
    return build_region(atlas)


def _cached_region(region_spec: Mapping[str, Any], close: Sequence[str]) -> tuple[Any, Any, str]:
    """(Region, closure transfers or None, cache key), built once per worker process."""
    key = _region_identity_key(region_spec, close)
    if key in _REGIONS:
        _REGIONS.move_to_end(key)
        region, transfers = _REGIONS[key]
        return region, transfers, key
    if close:
        from pcn_planner.batch.scenarios import close_practices
        from pcn_planner.geography.region import build_region

        base, _, _ = _cached_region(region_spec, ())
        atlas, transfers = close_practices(base.atlas, close, base.travel)
        region = build_region(atlas)
    else:
        region, transfers = _build_base_region(region_spec), None
    _REGIONS[key] = (region, transfers)
    while len(_REGIONS) > REGION_CACHE:
        old, _ = _REGIONS.popitem(last=False)
        for anchor_key in [k for k in _ANCHORS if k[0] == old]:
            del _ANCHORS[anchor_key]
    return region, transfers, key


def anchor_problem(problem: Any) -> Any:
    """The problem a scenario starts from: its K and solver settings, every other setting default.

    It is a function of the scenario alone, so every worker derives the same anchor for it,
    whatever ran before. Bounds are left at their default so that one anchor serves every band
    of a K (a sweep over bounds needs one anchor per K, not per band): its contiguity cuts are
    re-verified for each band, and its plan is repaired into a new band when it needs it.
    """
    from pcn_planner.model.problem import Problem

    return Problem(k=problem.k, solver=problem.solver, time_limit=problem.time_limit, gap=problem.gap,
                   seed=problem.seed)


def _anchor(region_spec: Mapping[str, Any], problem: Any) -> Any:
    """The anchor's result on the base region (solved once per worker), or ``None`` if it has no plan."""
    from pcn_planner.optimise import optimise

    anchor = anchor_problem(problem)
    base, _, base_key = _cached_region(region_spec, ())
    key = (base_key, canonical_json(anchor.to_dict()))
    if key not in _ANCHORS:
        try:
            _ANCHORS[key] = optimise(anchor, base)
        except InfeasibleError:  # the scenario's own rules may still allow a plan: it starts cold
            _ANCHORS[key] = None
    return _ANCHORS[key]


def _practice_info(region) -> list[list[Any]]:
    p = region.atlas.practices.loc[list(region.codes)]
    town = region.practice_comm.loc[list(region.codes), "town"]
    return [[c, str(p.at[c, "name"]), str(p.at[c, "pcn_code"]), str(p.at[c, "pcn_name"]), str(town[c]),
             int(p.at[c, "list_size"])] for c in region.codes]


def run_scenario(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Run one scenario on this process (a Dask task) and return its result as plain data.

    Never raises for a scenario's own failure: infeasible rules give status
    ``infeasible`` with the reason, anything else status ``error``.
    """
    from pcn_planner.model.problem import Problem
    from pcn_planner.optimise import optimise

    t0 = time.perf_counter()
    out: dict[str, Any] = {
        "id": spec["id"], "name": spec["name"], "params": spec.get("params", {}), "status": "error",
        "reason": None, "worker": f"{socket.gethostname()}:{os.getpid()}", "pid": os.getpid(),
        "region_key": canonical_json({"region": spec["region"].get("synthetic") or spec["region"].get("sha256")}),
        "time_limit": (spec.get("problem") or {}).get("time_limit"),
        # the scenario's gap target: the store marks an ok result above it as unresolved
        "gap_target": (spec.get("problem") or {}).get("gap"),
    }
    try:
        region, transfers, _ = _cached_region(spec["region"], spec.get("close", []))
        base_region, _, _ = _cached_region(spec["region"], ())
        out["practices"] = _practice_info(base_region)
        if transfers is not None:
            out["transfers"] = transfers.to_dict(orient="list")
        problem = Problem.from_dict(spec["problem"], source=f"scenario {spec['id']}")
        anchor = _anchor(spec["region"], problem) if problem.k_range[0] == problem.k_range[1] else None
        start = anchor.state if anchor is not None else None
        out["pool_columns_before"] = len(start.columns()) if start is not None else 0
        out["anchor_objective"] = anchor.objective if anchor is not None else None
        is_anchor = anchor is not None and not spec.get("close") and \
            canonical_json(anchor.problem.to_dict()) == canonical_json(problem.to_dict())
        # the anchor itself needs no second solve (a batch of one scenario per region pays nothing)
        result = anchor if is_anchor and anchor is not None else optimise(problem, region, start_from=start)
        plan = result.plan
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
        out["pool_columns_after"] = result.details.get("columns")
    except InfeasibleError as exc:
        # optimise raises the same error for rules proven impossible and for "no plan found in the time
        # limit"; both are results of the scenario as posed, told apart by stopped_by
        reason = str(exc)
        out.update(status="infeasible", reason=reason,
                   stopped_by="time" if reason.startswith("no plan satisfying every rule was found") else "proof")
    except InputError as exc:
        out.update(status="error", reason=f"input error: {exc}")
    except Exception as exc:  # noqa: BLE001 - a scenario's failure is a result; the batch goes on
        tb = traceback.format_exception(type(exc), exc, exc.__traceback__)
        out.update(status="error", reason=f"{type(exc).__name__}: {exc}\n{''.join(tb[-6:])}")
    out["task_seconds"] = time.perf_counter() - t0
    if out.get("wall_seconds") is None:
        out["wall_seconds"] = out["task_seconds"]
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["finished_utc"] = datetime.now(UTC).isoformat(timespec="seconds")
    return to_jsonable(out)
