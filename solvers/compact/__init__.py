"""Exact compact MIP for contiguous hubs: a true lower bound and, in time, a certified plan.

A capacitated p-median (Hess) model whose bases are member practices
(:mod:`~solvers.compact.model`), with contiguity added lazily as cuts
(:mod:`~solvers.compact.cuts`): the root LP (:mod:`~solvers.compact.root`) is
tightened in rounds of separator, population and rounded capacity cuts until
three rounds together raise the bound by under ``STALL_GAIN``; then the MIP
(:mod:`~solvers.compact.backends`: HiGHS or CBC) is solved, every member cut off
from its base gets a separator cut, and the loop repeats, warm-started from the
best contiguous plan known (:mod:`~solvers.compact.driver`). Each
non-contiguous MIP solution is also repaired into a contiguous plan
(:func:`solvers.local_search.repair_plan`), which can only improve the incumbent.

Why the bound is valid over *all* contiguous in-band plans
----------------------------------------------------------
* **Distance pruning.** ``x[p, b]`` is dropped only when every ``p``-``b`` path
  carries more than ``upper`` patients, which no contiguous in-band hub allows.
* **Cuts.** Separator, population and capacity inequalities hold for every
  contiguous in-band plan, and the model holds only some of them, so it is a
  relaxation: its LP value and its MIP dual bound are lower bounds on the
  contiguous optimum.
* **Moved practices.** A plan's bases are chosen together to minimise its cost
  within the moved-practice limit (``Instance.bases``), which is what the MIP
  does with its one ``max_moved`` row, so every feasible plan is a solution of
  the model at its own cost.
* **Reduced-cost fixing.** Given a feasible contiguous plan of value ``UB``
  (the caller's incumbent, or one found here), take the root LP (value ``z``,
  reduced costs ``d``). Any solution with ``x_j = 1`` for a column at its lower
  bound costs at least ``z + d_j``. Where ``z + d_j > UB`` every such solution is
  worse than the incumbent, so fixing ``x_j = 0`` keeps every plan that beats
  ``UB``. The restricted model's dual bound ``L`` bounds the restricted optimum,
  and the full optimum is at least ``min(L, UB)``; the reported bound is capped at
  ``UB`` for that reason. If the restricted model turns out infeasible, no plan
  beats ``UB`` and the incumbent is optimal. Fixing also runs between root cut
  rounds, against each round's LP: a later LP only adds cuts and fixings, so every
  fixing keeps every plan that beats ``UB``.

The restricted master LP of a column generator is never used here: every bound
comes from an LP or MIP relaxation of the full problem. Every loop iterates in
sorted order and the solvers run with fixed seeds, so runs that end on a proof
or the gap target repeat exactly; a run stopped by the time limit may differ.
"""

from .cuts import CutPool
from .driver import CompactResult, solve_compact
from .model import candidate_pairs

__all__ = ["CompactResult", "CutPool", "candidate_pairs", "solve_compact"]
