"""pcn-planner: group GP practices into contiguous locality hubs and score the options.

The public API for notebooks and scripts:

>>> import pcn_planner as pp
>>> atlas = pp.load_atlas()                          # embedded Staffordshire and Stoke-on-Trent data
>>> region = pp.build_region(atlas)                  # territories, graph, travel, communities, risk
>>> today = pp.score_plan(region, pp.Plan.current(atlas.practices))
>>> result = pp.optimise(pp.Problem(k=23), region)   # best contiguous in-band plan, with its gap
>>> solver = pp.Solver(region)                       # related solves, each from the last one's state
>>> again = solver.solve(pp.Problem(k=23)); heavier = solver.resolve(weights={"town": 1.0})
>>> moves = pp.compare_scorecards(today, result.scorecard, names=("today", "K=23"))  # who moves
>>> run = result.write("outputs/k23")                           # run folder: plan, scorecard, manifest, map
>>> pp.Run.read(run).scorecard().problems                       # read back, scored in its own context
>>> pp.write_report([run], "outputs/report")                    # options report pages + options.xlsx
>>> batch = pp.run_batch("scenarios.yaml", "outputs/batch")     # sensitivity runs on Dask

Maps, reports and batches (folium, Dask) load on first use, so ``import pcn_planner`` stays quick.
"""

from __future__ import annotations

from pcn_planner.core.errors import InfeasibleError, InputError
from pcn_planner.core.version import __version__
from pcn_planner.data.atlas import Atlas, load_atlas
from pcn_planner.geography.region import Region, build_region
from pcn_planner.model.plan import Plan, read_plan_csv
from pcn_planner.model.problem import Bounds, Problem, Weights
from pcn_planner.optimise import Alternative, Result, optimise
from pcn_planner.scoring.scorecard import Scorecard, score_plan
from pcn_planner.session import Solver

optimize = optimise

#: Names loaded on first use from the layers above the engine (maps, reports, batch).
_LAZY = {
    "compare_plans": ".scoring.differences", "write_comparison": ".outputs.maps.compare",
    "plan_map": ".outputs.maps.plan_map", "write_report": ".outputs.report", "run_batch": ".batch.run",
    "load_results": ".batch.store", "summarise_batch": ".batch.summary", "write_batch_summary": ".batch.summary",
    "load_scenarios": ".batch.scenarios", "compare_scorecards": ".scoring.differences", "Run": ".outputs.run",
}


def __getattr__(name: str):
    """Load the map, report and batch verbs on first use (PEP 562)."""
    if name in _LAZY:
        from importlib import import_module

        value = getattr(import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))

__all__ = [
    "Alternative", "Atlas", "Bounds", "InfeasibleError", "InputError", "Plan", "Problem", "Region", "Result",
    "Scorecard", "Solver", "Weights", "__version__", "build_region", "load_atlas", "optimise", "optimize",
    "read_plan_csv", "score_plan", *_LAZY,
]
