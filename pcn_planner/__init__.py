"""pcn-planner: group GP practices into contiguous locality hubs and score the options.

The public API for notebooks and scripts:

>>> import pcn_planner as pp
>>> atlas = pp.load_atlas()                          # embedded Staffordshire and Stoke-on-Trent data
>>> region = pp.build_region(atlas)                  # territories, graph, travel, communities, risk
>>> today = pp.score_plan(region, pp.Plan.current(atlas.practices))
>>> result = pp.optimise(pp.Problem(k=23), region)   # best contiguous in-band plan, with its gap
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

__all__ = [
    "Alternative", "Atlas", "Bounds", "InfeasibleError", "InputError", "Plan", "Problem", "Region", "Result",
    "Scorecard", "Weights", "__version__", "build_region", "load_atlas", "optimise", "optimize",
    "read_plan_csv", "score_plan",
]
