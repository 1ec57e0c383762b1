"""Explain, before solving, why a problem cannot be solved, in planners' words.

The checks are necessary conditions (a problem that passes them may still be
infeasible; the solver then says so). Each area the hubs must nest in, split
into the pieces that are connected in the practice graph, needs at least
``ceil(P / max)`` and at most ``floor(P / min)`` hubs, and no more hubs than it
has anchor practices when every hub needs an anchor. Summing over the pieces
gives the feasible range of K.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pcn_planner.core.errors import InfeasibleError
from pcn_planner.core.pieces import connected_pieces
from pcn_planner.model import rules
from pcn_planner.model.instance import Instance
from pcn_planner.model.rules import AREA_WORDS


@dataclass(frozen=True)
class Feasibility:
    """The feasible range of K and everything found wrong.

    Attributes
    ----------
    k_low, k_high
        Fewest and most hubs the bounds (and nesting, anchors) allow.
    pieces
        One row per connected piece of each area: patients, practices, anchors, k_low, k_high.
    problems
        Each rule that cannot hold, in words. Empty if none was found.
    """

    k_low: int
    k_high: int
    pieces: pd.DataFrame
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No problem found."""
        return not self.problems


def _fmt(n: float) -> str:
    return f"{round(n):,}"


def check_feasibility(inst: Instance, names: dict[str, str] | None = None) -> Feasibility:
    """Check the necessary conditions of a compiled problem.

    Parameters
    ----------
    inst
        The compiled problem.
    names
        Practice code -> practice name, for readable messages.
    """
    names = names or {}
    label = lambda i: f"{names.get(inst.codes[i], inst.codes[i])} ({inst.codes[i]})"  # noqa: E731
    lo, hi = inst.lower, inst.upper
    nest = inst.problem.nest
    problems: list[str] = []

    too_big = [i for i in range(inst.n) if inst.population[i] > hi]
    for i in too_big:
        problems.append(f"practice {label(i)} alone has {_fmt(inst.population[i])} patients, more than the "
                        f"largest hub allowed ({_fmt(hi)}); raise the maximum or split the practice")

    areas = inst.area if inst.area is not None else np.array(["whole region"] * inst.n)
    rows = []
    for area in sorted(set(areas)):
        members = [i for i in range(inst.n) if areas[i] == area]
        pieces = sorted(connected_pieces(members, inst.adjacency), key=lambda c: c[0])
        for piece in pieces:
            pop = float(inst.population[piece].sum())
            k_low, k_high = math.ceil(pop / hi - 1e-9), math.floor(pop / lo + 1e-9)
            anchors = int(inst.anchors[piece].sum())
            if inst.require_anchor:
                k_high = min(k_high, anchors)
            rows.append({"area": area, "piece_of": len(pieces), "first_practice": inst.codes[piece[0]],
                         "practices": len(piece), "patients": pop, "anchors": anchors,
                         "k_low": k_low, "k_high": k_high})
    pieces = pd.DataFrame(rows)
    where = AREA_WORDS[nest]
    for r in pieces.itertuples():
        place = r.area if r.piece_of == 1 else f"part of {r.area} around {label(inst.codes.index(r.first_practice))}"
        if r.k_high < r.k_low:
            if inst.require_anchor and r.anchors < r.k_low:
                problems.append(f"{place} ({_fmt(r.patients)} patients) needs at least {r.k_low} hub(s) but has "
                                f"only {r.anchors} anchor practice(s), and every hub must have one")
            elif r.patients < lo:
                problems.append(f"{place} has only {_fmt(r.patients)} patients, fewer than the smallest hub "
                                f"allowed ({_fmt(lo)}), and its hubs may not cross its boundary")
            else:
                problems.append(f"{place} ({_fmt(r.patients)} patients) cannot be split into hubs of "
                                f"{_fmt(lo)}-{_fmt(hi)} patients")
    k_low, k_high = int(pieces["k_low"].sum()), int(pieces["k_high"].sum())

    if inst.k_max < k_low or inst.k_min > k_high:
        asked = f"K={inst.k_min}" if inst.k_min == inst.k_max else f"K={inst.k_min}-{inst.k_max}"
        total = _fmt(inst.population.sum())
        if nest:
            binding = pieces.sort_values("k_low" if inst.k_max < k_low else "k_high", ascending=False).head(4)
            detail = "; ".join(f"{r.area} ({_fmt(r.patients)} patients) needs {r.k_low}-{r.k_high}"
                               for r in binding.itertuples())
            problems.append(
                f"{asked} is impossible: nesting hubs within each {where} with bounds {_fmt(lo)}-{_fmt(hi)} "
                f"needs {k_low}-{k_high} hubs in total. Largest needs: {detail}. "
                f"Feasible range of K: {k_low}-{k_high}")
        else:
            why = (f"{total} patients in hubs of at most {_fmt(hi)} need at least {k_low} hubs"
                   if inst.k_max < k_low else
                   f"{total} patients in hubs of at least {_fmt(lo)} allow at most {k_high} hubs")
            problems.append(f"{asked} is impossible: {why}. Feasible range of K: {k_low}-{k_high}")

    problems += _rule_conflicts(inst, label)
    return Feasibility(k_low=k_low, k_high=k_high, pieces=pieces, problems=problems)


def _rule_conflicts(inst: Instance, label) -> list[str]:
    out = []
    together = set(inst.keep_together)
    for p, q in inst.keep_apart:
        if (p, q) in together or (q, p) in together:
            out.append(f"{label(p)} and {label(q)} must both share and not share a hub")
        if not inst.allowed[p, q] and (p, q) in together:
            out.append(f"{label(p)} and {label(q)} must share a hub but lie in different nesting areas")
    for p, q in inst.keep_together:
        if not inst.allowed[p, q]:
            out.append(f"{label(p)} and {label(q)} must share a hub but lie in different nesting areas")
    seen: dict[int, int] = {}
    for g, group in enumerate(inst.locked):
        names = ", ".join(label(i) for i in group[:3]) + (" ..." if len(group) > 3 else "")
        members = np.asarray(group, dtype=int)
        # a locked hub is a hub of every plan, so each per-hub rule must hold for it as given
        for rule in (rules.BAND, rules.CONTIGUITY, rules.NESTING, rules.ANCHOR, rules.KEEP_APART):
            if rule.applies(inst) and (why := rule.breach(inst, members)) is not None:
                out.append(f"locked hub [{names}] {why} ({rule.title})")
        for i in group:
            if i in seen:
                out.append(f"{label(i)} is in two locked hubs")
            seen[int(i)] = g
    return out


def explain_or_raise(inst: Instance, names: dict[str, str] | None = None) -> Feasibility:
    """Return the feasibility check, or raise :class:`InfeasibleError` listing every problem."""
    result = check_feasibility(inst, names)
    if result.problems:
        lines = "\n  - ".join(result.problems)
        raise InfeasibleError(f"these rules cannot all hold:\n  - {lines}")
    return result
