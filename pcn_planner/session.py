"""A solver session: related problems on one region, each solve starting from the last one's state.

A notebook that tries one weight, then another bound, then growth, asks the
engine nearly the same question several times. :class:`Solver` keeps the
region built once and, between solves, the engine's state
(:class:`solvers.state.EngineState`: the plan, the candidate hubs and the cuts
that still hold). Each answer is as certified as a fresh one: the state only
changes where the search starts, never the bound's validity.

>>> import pcn_planner as pp
>>> solver = pp.Solver()                                        # doctest: +SKIP
>>> first = solver.solve(pp.Problem(k=23))                      # doctest: +SKIP
>>> heavier = solver.resolve(weights={"town": 1.0})             # starts from `first`  # doctest: +SKIP
>>> grown = solver.resolve(growth=0.1, start_from=first)        # doctest: +SKIP

Batch workers use the same path with one fixed starting state per batch (its
base problem), so a scenario's answer never depends on what ran before it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pcn_planner.data.atlas import Atlas
from pcn_planner.geography.region import Region, build_region
from pcn_planner.model.plan import Plan
from pcn_planner.model.problem import Problem
from pcn_planner.optimise import Result, optimise

if TYPE_CHECKING:
    from solvers.state import EngineState

__all__ = ["Solver"]


class Solver:
    """Solve related problems on one region, reusing the engine's state between them.

    Parameters
    ----------
    region
        A :class:`Region`, an :class:`Atlas`, an atlas folder, or ``None`` for the
        embedded SSOT data (built once, here).
    baseline
        Plan for the disruption term and the max-moved rule (default: today's PCNs).
    log
        Receives the engine's progress lines (e.g. ``print``).

    Attributes
    ----------
    region
        The region every solve uses.
    history
        Every result of this session, oldest first.

    Examples
    --------
    >>> solver = Solver()                                     # doctest: +SKIP
    >>> solver.solve(Problem(k=23))                           # doctest: +SKIP
    >>> solver.resolve(bounds={"max": 65000})                 # doctest: +SKIP
    """

    def __init__(self, region: Region | Atlas | str | Path | None = None, *, baseline: Plan | None = None,
                 log: Callable[[str], None] | None = None) -> None:
        self.region = region if isinstance(region, Region) else build_region(region)
        self.baseline, self.log = baseline, log
        self.history: list[Result] = []

    @classmethod
    def from_atlas(cls, atlas: Atlas | str | Path | None = None, **kwargs: Any) -> Solver:
        """A session on the region built from an atlas (object or folder; ``None``: embedded data)."""
        return cls(build_region(atlas), **kwargs)

    @property
    def last(self) -> Result | None:
        """The latest result, or ``None`` before the first solve."""
        return self.history[-1] if self.history else None

    @property
    def state(self) -> EngineState | None:
        """What the next solve starts from: the latest result's engine state."""
        return None if self.last is None else self.last.state

    def solve(self, problem: Problem | None = None, *, start_from: Result | None = None, fresh: bool = False,
              alternatives: int = 0, differ_by: int | None = None) -> Result:
        """Solve ``problem`` from the latest state (or ``start_from``'s, or from nothing if ``fresh``).

        Parameters
        ----------
        problem
            The problem (default ``Problem()``).
        start_from
            An earlier result of any session on the same practices to start from,
            instead of the latest one (a batch starts every scenario from its base).
        fresh
            Start from nothing, as :func:`~pcn_planner.optimise.optimise` does.
        alternatives, differ_by
            As for :func:`~pcn_planner.optimise.optimise`.

        Returns
        -------
        Result
            Certified as any solve is: ``gap`` against a true bound for this problem.
        """
        state = None if fresh else (start_from.state if start_from is not None else self.state)
        result = optimise(problem or Problem(), self.region, baseline=self.baseline, alternatives=alternatives,
                          differ_by=differ_by, log=self.log, start_from=state)
        self.history.append(result)
        return result

    def resolve(self, *, start_from: Result | None = None, alternatives: int = 0, differ_by: int | None = None,
                **changes: Any) -> Result:
        """Solve the latest problem with some settings changed, from the latest state.

        ``changes`` are :class:`Problem` fields, as :meth:`Problem.with_` takes them
        (``weights`` and ``bounds`` may be partial dicts): ``resolve(weights={"town": 1})``,
        ``resolve(bounds={"max": 65000})``, ``resolve(growth=0.1)``, ``resolve(k=24)``.
        """
        base = start_from or self.last
        if base is None:
            raise ValueError("nothing to re-solve yet: call solve(problem) first")
        return self.solve(base.problem.with_(**changes), start_from=base, alternatives=alternatives,
                          differ_by=differ_by)

    def __repr__(self) -> str:
        last = "no solve yet" if self.last is None else repr(self.last)
        return f"<Solver: {len(self.region.atlas.practices)} practices, {len(self.history)} solve(s); {last}>"
