"""pcn-planner: group GP practices into contiguous locality hubs and score the options.

The public API for notebooks and scripts:

>>> import pcn_planner as pp
>>> atlas = pp.load_atlas()            # embedded Staffordshire and Stoke-on-Trent data
>>> current = pp.Plan.current(atlas.practices)
"""

from __future__ import annotations

__version__ = "0.1.0"

from .atlas import Atlas, load_atlas
from .errors import InfeasibleError, InputError
from .plan import Plan, read_plan_csv

__all__ = ["Atlas", "InfeasibleError", "InputError", "Plan", "load_atlas", "read_plan_csv", "__version__"]
