"""What a finished solve leaves for a related one to start from: its plan, columns and cuts.

A later solve on the same practices (another weight, bound, K, growth or rule)
starts from this state instead of from nothing. None of it can make an answer
wrong, only faster to find:

* the **plan** is offered as a warm start, re-costed under the new problem and
  repaired or dropped if it breaks a new rule;
* the **columns** (candidate hubs) are re-costed and re-checked when bound to
  the new instance, like any column pool;
* the **cuts** go through :meth:`~solvers.compact.cuts.ContiguitySeparator.holds`:
  contiguity and population cuts hold for any weights and are re-verified on the
  new graph, bounds and rules; capacity cuts are kept when the list sizes and the
  graph are the same and the model has no variable the old one lacked
  (:meth:`~solvers.compact.cuts.CutPool.for_instance`).

The state is immutable: every solve that starts from it works on its own copy
of the columns, so solves that start from one state do not depend on each other
or on the order they run in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from solvers.columns import ColumnPool
from solvers.compact.cuts import CutPool

__all__ = ["EngineState"]


@dataclass(frozen=True, eq=False)
class EngineState:
    """A solve's plan, candidate hubs and cuts, named by practice code.

    Attributes
    ----------
    codes
        Practice codes of the solve's instance.
    plan
        The plan's hubs, each a sorted tuple of practice codes.
    cuts
        The compact model's cuts (``None`` if the exact model did not run).
    """

    codes: tuple[str, ...]
    plan: tuple[tuple[str, ...], ...]
    cuts: CutPool | None
    _columns: ColumnPool

    @classmethod
    def capture(cls, codes: Sequence[str], hubs: Sequence[np.ndarray], pool: ColumnPool | None,
                cuts: CutPool | None) -> EngineState:
        """The state after a solve: its instance's codes, its plan (positions), pool and cuts."""
        codes = tuple(codes)
        plan = tuple(sorted(tuple(sorted(codes[int(i)] for i in h)) for h in hubs))
        return cls(codes=codes, plan=plan, cuts=cuts, _columns=(pool or ColumnPool()).snapshot())

    def columns(self) -> ColumnPool:
        """A fresh copy of the candidate hubs, for one solve to bind and grow."""
        return self._columns.snapshot()

    def plan_for(self, codes: Sequence[str]) -> list[np.ndarray] | None:
        """The plan in another instance's positions, without practices it lacks (closures).

        ``None`` if the instance has a practice the plan does not place: there is no
        sensible warm start then, and the columns and cuts still help.
        """
        where = {c: i for i, c in enumerate(codes)}
        if not set(where) <= set(self.codes):
            return None
        hubs = [np.array(sorted(where[c] for c in hub if c in where), dtype=int) for hub in self.plan]
        return [h for h in hubs if h.size]

    def __repr__(self) -> str:
        cuts = 0 if self.cuts is None else len(self.cuts.cuts) + len(self.cuts.capacity)
        return (f"<EngineState: {len(self.codes)} practices, {len(self.plan)} hubs, "
                f"{len(self._columns)} columns, {cuts} cuts>")
