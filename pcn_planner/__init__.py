"""pcn-planner: group GP practices into contiguous locality hubs and score the options.

The public API for notebooks and scripts:

>>> import pcn_planner as pp
>>> atlas = pp.load_atlas()                          # embedded Staffordshire and Stoke-on-Trent data
>>> region = pp.build_region(atlas)                  # territories, graph, travel, communities, risk
>>> today = pp.score_plan(region, pp.Plan.current(atlas.practices))
>>> result = pp.optimise(pp.Problem(k=23), region)   # best contiguous in-band plan, with its gap
>>> moves = pp.compare_plans(region, today.plan, result.plan, names=("today", "K=23"))  # who moves
>>> run = result.write("outputs/k23")                           # run folder: plan, scorecard, manifest, map
>>> pp.write_report([run], "outputs/report")                    # options report pages + options.xlsx
>>> batch = pp.run_batch("scenarios.yaml", "outputs/batch")     # sensitivity runs on Dask

Maps, reports and batches (folium, Dask) load on first use, so ``import pcn_planner`` stays quick.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .atlas import Atlas, load_atlas
from .errors import InfeasibleError, InputError
from .optimise import Alternative, Result, optimise
from .plan import Plan, read_plan_csv
from .problem import Problem, Weights
from .region import Region, build_region
from .scoring import Bounds, Scorecard, score_plan

optimize = optimise

#: Names loaded on first use from the layers above the engine (maps, reports, batch).
_LAZY = {
    "compare_plans": ".maps.compare", "write_comparison": ".maps.compare", "plan_map": ".maps.plan_map",
    "write_report": ".reports", "run_batch": ".batch", "load_results": ".batch",
    "summarise_batch": ".batch_summary", "write_batch_summary": ".batch_summary", "load_scenarios": ".scenarios",
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
    "Scorecard", "Weights", "__version__", "build_region", "load_atlas", "optimise", "optimize",
    "read_plan_csv", "score_plan", *_LAZY,
]
