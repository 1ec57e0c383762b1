"""Optimisation algorithms for pcn-planner: candidate hubs, master problem, bounds.

Solvers read the domain (problem, plan, geography, scoring) from ``pcn_planner``
and never its CLI, maps or batch layers. Importing them has no side effects:
the HiGHS banner is swallowed on first use (:mod:`solvers.highs`).
"""
