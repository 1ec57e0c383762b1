"""The root LP relaxation of the compact model, kept alive in highspy, and a plan rounded from it.

PuLP builds the highspy model once; cut rounds then add rows and re-solve
from the current basis instead of rebuilding. The root LP always runs in
HiGHS, whichever back end solves the MIPs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pulp

from pcn_planner.model.instance import Instance
from solvers.highs import new_highs, quiet_banner

from .backends import QUIET_HEURISTICS, SEED, option_value
from .cuts import CapacityCut, Cut
from .model import CompactModel

__all__ = ["RootLP", "lp_rounding"]


class RootLP:
    """The LP relaxation of a :class:`CompactModel`, solved on construction.

    Parameters
    ----------
    model
        The compact model (its PuLP problem is solved as an LP).
    threads
        HiGHS threads (``None``: the default).

    Attributes
    ----------
    h
        The live highspy model.
    heuristic_defaults
        HiGHS's own values of the options :data:`~solvers.compact.backends.QUIET_HEURISTICS` changes.
    """

    def __init__(self, model: CompactModel, threads: int | None) -> None:
        import highspy

        self.model = model
        kwargs: dict[str, Any] = {"random_seed": SEED}
        if threads is not None:
            kwargs["threads"] = threads
        quiet_banner()
        model.prob.solve(pulp.HiGHS(mip=False, msg=False, **kwargs))  # builds prob.solverModel
        self.h = model.prob.solverModel
        self.inf = highspy.kHighsInf
        self.optimal_status = highspy.HighsModelStatus.kOptimal
        self.infeasible_status = (highspy.HighsModelStatus.kInfeasible,
                                  highspy.HighsModelStatus.kUnboundedOrInfeasible)
        self.index = {key: var.index for key, var in model.x.items()}
        self.columns = np.fromiter(self.index.values(), dtype=np.int32, count=len(self.index))
        self.heuristic_defaults = {name: option_value(self.h, name) for name in QUIET_HEURISTICS}

    def mip(self) -> Any:
        """A fresh highspy model holding the LP with every row and fixing so far, ``x`` binary.

        A copy, not the LP itself: HiGHS 1.16 can lose the objective offset of presolved-away
        columns when a model solved as an LP is re-run as a MIP from a start (it then stops
        at once claiming an optimum below the LP bound), and the root LP stays valid as is.
        """
        import highspy

        h = new_highs()
        h.passModel(self.h.getLp())
        kind = np.full(self.columns.size, highspy.HighsVarType.kInteger)
        h.changeColsIntegrality(self.columns.size, self.columns, kind)
        return h

    def status(self) -> str:
        """``optimal``, ``infeasible`` or ``none``."""
        status = self.h.getModelStatus()
        if status == self.optimal_status:
            return "optimal"
        return "infeasible" if status in self.infeasible_status else "none"

    def objective(self) -> float:
        """The LP value."""
        return float(self.h.getInfo().objective_function_value)

    def values(self) -> dict[tuple[int, int], float]:
        """The non-zero ``x`` values by ``(p, b)``."""
        col = np.asarray(self.h.getSolution().col_value)
        return {key: float(col[i]) for key, i in self.index.items() if col[i] > 1e-9}

    def reduced_costs(self) -> tuple[np.ndarray, np.ndarray]:
        """Values and reduced costs of the ``x`` columns, in ``model.x`` order."""
        sol = self.h.getSolution()
        return np.asarray(sol.col_value)[self.columns], np.asarray(sol.col_dual)[self.columns]

    def fix(self, positions: np.ndarray) -> None:
        """Fix the ``x`` columns at these positions (in ``model.x`` order) at 0."""
        if positions.size:
            cols = self.columns[positions]
            zeros = np.zeros(cols.size)
            self.h.changeColsBounds(cols.size, cols, zeros, zeros)

    def add(self, cuts: list[Cut], capacity: list[CapacityCut], time_limit: float) -> None:
        """Add separator and capacity cuts as rows and re-solve from the current basis."""
        for p, b, sep in cuts:
            self.add_separator(p, b, sep)
        for terms, need in capacity:
            self.add_row(list(terms), [1.0] * len(terms), float(need), self.inf)
        self.h.setOptionValue("time_limit", max(time_limit, 0.01))
        self.h.run()

    def add_separator(self, p: int, b: int, sep: tuple[int, ...]) -> None:
        """Add the separator inequality ``x[p, b] <= sum_{v in sep} x[v, b]``."""
        self.add_row([(p, b)] + [(v, b) for v in sep], [1.0] + [-1.0] * len(sep), -self.inf, 0.0)

    def add_row(self, keys: list[tuple[int, int]], coefs: list[float], low: float, up: float) -> None:
        """Add ``low <= sum coefs * x[keys] <= up`` (repeated keys add up)."""
        row: dict[int, float] = {}
        for key, c in zip(keys, coefs, strict=True):
            row[self.index[key]] = row.get(self.index[key], 0.0) + c
        self.h.addRow(low, up, len(row), np.fromiter(row, dtype=np.int32), np.fromiter(row.values(), dtype=float))


def lp_rounding(inst: Instance, model: CompactModel, value: dict[tuple[int, int], float]) -> list[np.ndarray]:
    """A partition from the LP: open the bases with the largest ``x[b, b]``, give each practice its likeliest one."""
    k = int(np.clip(round(sum(value.get((b, b), 0.0) for b in model.bases)), inst.k_min, inst.k_max))
    opened = sorted(model.bases, key=lambda b: (-value.get((b, b), 0.0), b))[:k]
    hubs: dict[int, list[int]] = {b: [b] for b in opened}
    for p in range(inst.n):
        if p in hubs:
            continue
        choices = [b for b in opened if model.mask[p, b]] or opened
        best = min(choices, key=lambda b: (-value.get((p, b), 0.0), inst.cost[p, b], b))
        hubs[best].append(p)
    return [np.array(sorted(m), dtype=int) for m in hubs.values()]
