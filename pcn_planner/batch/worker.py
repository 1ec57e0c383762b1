"""The worker side of a batch: one scenario per Dask task, with regions and column pools kept between tasks.

Each worker process keeps a module-level cache of built regions and one
:class:`~solvers.columns.ColumnPool` per region, and passes it to
:func:`~pcn_planner.optimise.optimise` as ``pool=``: the candidate hubs of
earlier scenarios are re-costed for each new one, so later scenarios start
from hundreds of good columns. A pool that grows past :data:`POOL_CAP`
columns is trimmed to the :data:`POOL_KEEP` cheapest per practice (plus the
last plan's hubs) so that re-costing stays cheap. The worker also keeps the
last plan for each region and K and passes it as ``warm_start=``: it is the
first incumbent of the next related scenario (repaired into band if, say,
growth pushed a hub over), which leaves more of the time limit to the exact
model that makes the bound.
"""

from __future__ import annotations

import copy
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

__all__ = ["POOL_CAP", "POOL_KEEP", "REGION_CACHE", "run_scenario"]

#: Trim a worker's column pool when it holds more columns than this ...
POOL_CAP = 10_000
#: ... down to this many. Re-costing a column for a new scenario takes about 30 microseconds, and it
#: comes out of the scenario's time limit, so a pool of 10,000 costs about 0.3 s per scenario.
POOL_KEEP = 4_000
#: Regions a worker keeps built (least recently used are dropped, with their pools).
REGION_CACHE = 4


_REGIONS: OrderedDict[str, tuple[Any, Any]] = OrderedDict()  # key -> (Region, transfers or None)
_POOLS: dict[str, Any] = {}
_PLANS: dict[tuple[str, tuple[int, int]], Any] = {}  # (region key, K range) -> last plan: the next warm start


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

        base, _, base_key = _cached_region(region_spec, ())
        atlas, transfers = close_practices(base.atlas, close, base.travel)
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
        region, transfers, key = _cached_region(spec["region"], spec.get("close", []))
        base_region, _, _ = _cached_region(spec["region"], ())
        out["practices"] = _practice_info(base_region)
        if transfers is not None:
            out["transfers"] = transfers.to_dict(orient="list")
        problem = Problem.from_dict(spec["problem"], source=f"scenario {spec['id']}")
        pool = _pool(key)
        out["pool_columns_before"] = len(pool)
        warm = _PLANS.get((key, problem.k_range))
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
    except Exception as exc:  # noqa: BLE001 - a scenario's failure is a result; the batch goes on
        tb = traceback.format_exception(type(exc), exc, exc.__traceback__)
        out.update(status="error", reason=f"{type(exc).__name__}: {exc}\n{''.join(tb[-6:])}")
    out["task_seconds"] = time.perf_counter() - t0
    if out.get("wall_seconds") is None:
        out["wall_seconds"] = out["task_seconds"]
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["finished_utc"] = datetime.now(UTC).isoformat(timespec="seconds")
    return to_jsonable(out)
