"""Moves on partitions: repair a labelling into a feasible plan, improve a plan, price new columns.

All of them work on *units* (see :class:`solvers.columns.HubRules`) so keep-together
pairs never split, and keep every hub connected in the unit graph:

* :func:`repair` takes a rough labelling (clusters, current PCNs) of one
  piece, fixes the number of parts by merging and tree-splitting, then moves
  boundary units to reduce, in order, hard-rule breaks, band excess and
  population imbalance, with ReCom-style merge-and-resplit steps when stuck.
  :func:`repair_plan` does the same for a whole plan given by practices (a
  MIP solution or rounded LP of :mod:`solvers.compact`): it first gives every
  piece cut off from its hub's base to a neighbouring hub, and ends with
  :func:`improve`.
* :func:`improve` is a first-improvement local search on a feasible plan: move
  a boundary unit to a neighbouring hub, or swap two units across a border,
  accepted only if the plan cost drops and every rule still holds. Cut
  vertices come from :func:`networkx.articulation_points` on the hub's small
  induced subgraph. Each hub it produces is added to the column pool.
* :func:`recombine` merges each pair of adjacent hubs and re-cuts it along
  spanning trees (ReCom), keeping the cheapest valid cut; :func:`perturb`
  applies random valid re-cuts to leave a local optimum.
* :func:`price` grows columns of negative reduced cost from every unit, given
  master LP duals (a heuristic pricing step: it proves nothing).

Every loop is bounded by a step count and an optional deadline, and scans
units and hubs in sorted order, so the same inputs give the same result.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import networkx as nx
import numpy as np

from pcn_planner.model.instance import Instance
from pcn_planner.model.rules import check_plan

from .columns import ColumnPool, HubRules, grow, spanning_tree, tree_cuts
from .graphs import pieces

__all__ = ["Partition", "count_fix", "improve", "perturb", "price", "recombine", "repair", "repair_plan"]

EPS = 1e-9


class Partition:
    """Hubs as sets of units, with running sums that price a move in O(n).

    Parameters
    ----------
    rules
        Precomputed rules of the instance.
    parts
        Unit lists, one per hub (need not cover every unit: a piece is enough).
    """

    def __init__(self, rules: HubRules, parts: Sequence[Sequence[int]]) -> None:
        self.rules = rules
        self.hub_of = np.full(rules.n_units, -1, dtype=int)
        self.parts: list[set[int]] = [{int(u) for u in units} for units in parts]
        k = len(self.parts)
        # running sums per hub, filled by _refresh
        self.pop: list[float] = [0.0] * k
        self.colsum: list[np.ndarray] = [np.empty(0)] * k
        self.acount: list[np.ndarray] = [np.empty(0)] * k
        self.mask: list[np.ndarray] = [np.empty(0)] * k
        self.risk: list[float] = [0.0] * k
        self.anchors: list[int] = [0] * k
        self.cost: list[float] = [0.0] * k
        self.base: list[int] = [-1] * k
        self.moved: list[int] = [0] * k
        self._cut: dict[int, set[int]] = {}
        for h in range(k):
            self._refresh(h)

    # ------------------------------------------------------------ state
    def _refresh(self, h: int) -> None:
        r = self.rules
        us = sorted(self.parts[h])
        for u in us:
            self.hub_of[u] = h
        self.pop[h] = float(r.unit_pop[us].sum())
        self.colsum[h] = r.unit_cost[us].sum(axis=0)
        self.acount[h] = r.unit_allowed[us].sum(axis=0)
        self.mask[h] = np.asarray(r.unit_mask[us].any(axis=0))
        self.risk[h] = float(r.unit_risk[us].sum())
        self.anchors[h] = int(r.unit_anchor[us].sum())
        self.cost[h], self.base[h] = self._value(self.colsum[h], self.acount[h], self.mask[h], len(us), self.risk[h])
        self.moved[h] = int((r.inst.moved[:, self.base[h]] & self.mask[h]).sum()) if self.base[h] >= 0 else 0
        self._cut.pop(h, None)

    def _value(self, colsum: np.ndarray, acount: np.ndarray, mask: np.ndarray, size: int,
               risk: float) -> tuple[float, int]:
        valid = mask if self.rules.all_allowed else mask & (acount == size)
        if not valid.any():
            return math.inf, -1
        cs = np.where(valid, colsum, np.inf)
        b = int(np.argmin(cs))
        return float(cs[b]) + self.rules.risk_weight * max(0.0, risk), b

    def value_after(self, h: int, add: Sequence[int] = (), remove: Sequence[int] = ()) -> tuple[float, int]:
        """Cost and base of hub ``h`` after adding and removing units (state unchanged)."""
        r = self.rules
        add, remove = list(add), list(remove)
        colsum = self.colsum[h] + r.unit_cost[add].sum(axis=0) - r.unit_cost[remove].sum(axis=0)
        acount = self.acount[h] + r.unit_allowed[add].sum(axis=0) - r.unit_allowed[remove].sum(axis=0)
        mask = self.mask[h].copy()
        if remove:
            mask &= ~r.unit_mask[remove].any(axis=0)
        if add:
            mask |= r.unit_mask[add].any(axis=0)
        risk = self.risk[h] + float(r.unit_risk[add].sum()) - float(r.unit_risk[remove].sum())
        return self._value(colsum, acount, mask, len(self.parts[h]) + len(add) - len(remove), risk)

    def moved_at(self, h: int, base: int, add: Sequence[int] = (), remove: Sequence[int] = ()) -> int:
        """Moved practices of hub ``h`` after a change, at the given base."""
        r = self.rules
        mask = self.mask[h].copy()
        if remove:
            mask &= ~r.unit_mask[list(remove)].any(axis=0)
        if add:
            mask |= r.unit_mask[list(add)].any(axis=0)
        return int((r.inst.moved[:, base] & mask).sum())

    def cut_units(self, h: int) -> set[int]:
        """Units whose removal disconnects hub ``h`` (articulation points of its unit subgraph)."""
        if h not in self._cut:
            part = self.parts[h]
            sub: nx.Graph[int] = nx.Graph()
            sub.add_nodes_from(sorted(part))
            sub.add_edges_from((u, v) for u in sorted(part) for v in self.rules.unit_adj[u] if v in part and u < v)
            self._cut[h] = set(nx.articulation_points(sub))
        return self._cut[h]

    def move(self, u: int, g: int) -> None:
        """Move unit ``u`` to hub ``g``."""
        h = int(self.hub_of[u])
        self.parts[h].discard(u)
        self.parts[g].add(u)
        self._refresh(h)
        self._refresh(g)

    def add(self, units: Sequence[int], g: int) -> None:
        """Put units that are in no hub yet into hub ``g``."""
        self.parts[g].update(int(u) for u in units)
        self._refresh(g)

    def swap(self, u: int, v: int) -> None:
        """Exchange units ``u`` and ``v`` between their hubs."""
        h, g = int(self.hub_of[u]), int(self.hub_of[v])
        self.parts[h].discard(u)
        self.parts[g].discard(v)
        self.parts[h].add(v)
        self.parts[g].add(u)
        self._refresh(h)
        self._refresh(g)

    def neighbour_hubs(self, u: int) -> list[int]:
        """Other hubs adjacent to unit ``u``, sorted."""
        h = self.hub_of[u]
        return sorted({int(self.hub_of[v]) for v in self.rules.unit_adj[u]
                       if self.hub_of[v] >= 0 and self.hub_of[v] != h})

    def total(self) -> float:
        """Plan cost of these hubs."""
        return float(sum(self.cost))

    def members(self) -> list[np.ndarray]:
        """Sorted practice arrays, one per hub."""
        return [self.rules.unit_members(p) for p in self.parts]

    # ---------------------------------------------------------- penalty
    def hard(self, h: int, add: Sequence[int] = (), remove: Sequence[int] = ()) -> int:
        """Hard-rule breaks of hub ``h`` after a change (no base, no anchor, keep-apart pairs)."""
        r = self.rules
        bad = 0
        size = len(self.parts[h]) + len(add) - len(remove)
        if not r.all_allowed:
            cost, _ = self.value_after(h, add, remove)
            bad += 0 if math.isfinite(cost) else 1
        if r.require_anchor:
            n_anchor = self.anchors[h] + int(r.unit_anchor[list(add)].sum()) - int(r.unit_anchor[list(remove)].sum())
            bad += 0 if n_anchor > 0 else 1
        if r.any_apart and size:
            units = (self.parts[h] - set(remove)) | set(add)
            bad += sum(len(r.unit_apart[u] & units) for u in units) // 2
        return bad

    def band(self, pop: float) -> float:
        """Patients outside the band."""
        return max(0.0, self.rules.lower - pop) + max(0.0, pop - self.rules.upper)


# ------------------------------------------------------------------ repair
def _merge_split_parts(rules: HubRules, parts: list[set[int]], k: int,
                       rng: np.random.Generator | None) -> list[set[int]] | None:
    """Bring the number of connected parts to ``k`` by merging the smallest pair or splitting the largest."""
    parts = [set(p) for p in parts if p]
    for _ in range(4 * (len(parts) + k) + 10):
        if len(parts) == k:
            return parts
        pops = [float(rules.unit_pop[sorted(p)].sum()) for p in parts]
        if len(parts) > k:
            owner = {u: i for i, p in enumerate(parts) for u in p}
            pairs = sorted({(min(i, owner[v]), max(i, owner[v])) for i, p in enumerate(parts)
                            for u in sorted(p) for v in rules.unit_adj[u] if v in owner and owner[v] != i})
            if not pairs:
                return None
            i, j = min(pairs, key=lambda ij: (pops[ij[0]] + pops[ij[1]], ij))
            parts[i] |= parts[j]
            del parts[j]
        else:
            order = sorted(range(len(parts)), key=lambda i: (-pops[i], i))
            done = False
            for i in order:
                if len(parts[i]) < 2:
                    continue
                best = None
                for t in range(3 if rng is not None else 1):
                    tree = spanning_tree(rules, sorted(parts[i]), rng if t else None)
                    for side, pop in tree_cuts(rules, tree):
                        key = (abs(pops[i] - 2 * pop), side)
                        if best is None or key < best[0]:
                            best = (key, side)
                assert best is not None
                cut_off = set(best[1])
                parts[i] -= cut_off
                parts.append(cut_off)
                done = True
                break
            if not done:
                return None
    return parts if len(parts) == k else None


def count_fix(rules: HubRules, comp: np.ndarray, labels: np.ndarray, k: int,
              rng: np.random.Generator | None = None) -> list[set[int]] | None:
    """Turn unit labels on a piece into ``k`` connected parts (graph components, then merge/split)."""
    groups: dict[int, list[int]] = {}
    for u, lab in zip(comp.tolist(), labels.tolist(), strict=True):
        groups.setdefault(int(lab), []).append(int(u))
    parts = [set(piece) for lab in sorted(groups) for piece in pieces(groups[lab], rules.unit_adj)]
    return _merge_split_parts(rules, parts, k, rng)


def repair(rules: HubRules, parts: Sequence[set[int]], rng: np.random.Generator | None = None,
           max_steps: int = 2000, deadline: float | None = None) -> tuple[list[list[int]] | None, str]:
    """Move boundary units until every part of a piece is a valid hub.

    The descent key is, in order: hard-rule breaks, patients outside the band,
    and the sum of squared deviations from the piece's mean hub size (which
    pushes surplus towards deficits across several hubs). When no single move
    helps, a violating hub and a neighbour are merged and re-cut along a
    spanning tree (a ReCom step).

    Returns
    -------
    parts, reason
        Sorted unit lists if every part passes :meth:`HubRules.check`, else
        ``None`` and what was still wrong.
    """
    part = Partition(rules, [sorted(p) for p in parts])
    k = len(part.parts)
    if k == 0:
        return None, "empty piece"
    mean = sum(part.pop) / k
    hard = [part.hard(h) for h in range(k)]
    recom_left = 6 * k
    for _ in range(max_steps):
        if deadline is not None and time.perf_counter() > deadline:
            break
        bad = [h for h in range(k) if hard[h] or part.band(part.pop[h]) > 0]
        if not bad:
            break
        if _repair_move(part, hard, mean, bad):
            continue
        if recom_left > 0 and _recom(part, hard, bad, rng):
            recom_left -= 1
            continue
        break
    problems = []
    out = []
    for h in range(k):
        members = rules.unit_members(part.parts[h])
        why = rules.check(members)
        if why is not None:
            problems.append(f"part around {rules.codes[int(members[0])]}: {why}")
        out.append(sorted(part.parts[h]))
    if problems:
        return None, "; ".join(problems[:3])
    return out, ""


def repair_plan(inst: Instance, hubs: Sequence[np.ndarray], *, rules: HubRules | None = None,
                time_limit: float = 2.0) -> list[np.ndarray] | None:
    """Turn a partition of all practices (maybe not contiguous or in band) into a feasible plan, then improve it.

    Locked hubs are restored as given. Every other hub keeps, in unit form (a
    keep-together group goes with its first member's hub), the connected piece
    holding its best base; each other piece joins the neighbouring hub where
    it breaks fewest rules, then leaves fewest patients outside the band, then
    costs least. :func:`repair` then fixes the band and the side rules, and
    :func:`improve` lowers the cost within the moved-practice limit.

    Parameters
    ----------
    inst
        The compiled problem.
    hubs
        Member position arrays covering every practice once.
    rules
        Precomputed rules of ``inst`` (built if not given).
    time_limit
        Seconds for the whole repair.

    Returns
    -------
    list of numpy.ndarray or None
        A plan that keeps every rule (:func:`pcn_planner.model.rules.check_plan`), or ``None`` if the
        repair did not get there.
    """
    deadline = time.perf_counter() + time_limit
    rules = rules if rules is not None and rules.inst is inst else HubRules(inst)
    hub_of = np.full(inst.n, -1)
    for i, members in enumerate(hubs):
        hub_of[np.asarray(members, dtype=int)] = i
    if (hub_of < 0).any():
        return None
    groups: dict[int, list[int]] = {}
    for u in rules.free_units.tolist():
        groups.setdefault(int(hub_of[rules.units[u][0]]), []).append(u)
    kept: list[list[int]] = []
    orphans: list[list[int]] = []
    for i in sorted(groups):
        base = inst.hub_cost(np.asarray(hubs[i], dtype=int))[1]
        found = pieces(groups[i], rules.unit_adj)
        keep = next((pc for pc in found if base >= 0 and int(rules.unit_of[base]) in pc), max(found, key=len))
        kept.append(keep)
        orphans += [pc for pc in found if pc is not keep]
    part = Partition(rules, kept)
    if not _attach(part, orphans):
        return None
    if kept:
        fixed, _ = repair(rules, part.parts, deadline=deadline)
        if fixed is None:
            return None
        part = Partition(rules, fixed)
    locked = [np.sort(np.asarray(g, dtype=int)) for g in inst.locked]
    max_free = None
    if inst.max_moved is not None:
        max_free = inst.max_moved - sum(int(inst.moved[g, inst.hub_cost(g)[1]].sum()) for g in locked)
    improve(part, max_moved=max_free, deadline=deadline)
    plan = locked + part.members()
    return None if check_plan(inst, plan) else plan


def _attach(part: Partition, orphans: list[list[int]]) -> bool:
    """Give every unit piece that is in no hub to a neighbouring hub; ``False`` if some piece has none."""
    r = part.rules
    for _ in range(len(orphans)):  # each round places at least one piece or stops
        if not orphans:
            break
        left = []
        for piece in orphans:
            targets = sorted({int(part.hub_of[v]) for u in piece for v in r.unit_adj[u] if part.hub_of[v] >= 0})
            if not targets:
                left.append(piece)
                continue
            pop = float(r.unit_pop[piece].sum())
            g = min(targets, key=lambda g: (part.hard(g, add=piece), part.band(part.pop[g] + pop),
                                            _added_cost(part, g, piece), g))
            part.add(piece, g)
        if len(left) == len(orphans):
            return False
        orphans = left
    return not orphans


def _added_cost(part: Partition, g: int, units: Sequence[int]) -> float:
    """Cost rise of hub ``g`` when it takes ``units`` (``inf`` when either side has no allowed base)."""
    after = part.value_after(g, add=units)[0]
    return after - part.cost[g] if math.isfinite(after) and math.isfinite(part.cost[g]) else math.inf


def _repair_move(part: Partition, hard: list[int], mean: float, bad: list[int]) -> bool:
    """Apply the first move that lowers (hard, band, imbalance); return whether one was found."""
    r = part.rules
    k = len(part.parts)
    # 1. moves out of / into violating hubs
    for h in bad:
        for u in sorted(part.parts[h]):
            if len(part.parts[h]) == 1:
                break
            targets = part.neighbour_hubs(u)
            if not targets or u in part.cut_units(h):
                continue
            for g in targets:
                if _try_move(part, hard, mean, u, h, g, float(r.unit_pop[u]), balancing=False):
                    return True
        border = sorted({v for u in part.parts[h] for v in r.unit_adj[u]
                         if part.hub_of[v] >= 0 and part.hub_of[v] != h})
        for v in border:
            g = int(part.hub_of[v])
            if len(part.parts[g]) == 1 or v in part.cut_units(g):
                continue
            if _try_move(part, hard, mean, v, g, h, float(r.unit_pop[v]), balancing=False):
                return True
    # 2. a balancing move: from a big hub to a smaller neighbour, biggest hubs first
    for h in sorted(range(k), key=lambda h: (-part.pop[h], h)):
        if part.pop[h] <= mean or len(part.parts[h]) == 1:
            continue
        for u in sorted(part.parts[h]):
            pu = float(r.unit_pop[u])
            targets = [g for g in part.neighbour_hubs(u) if part.pop[g] < part.pop[h] - pu]
            if not targets or u in part.cut_units(h):
                continue
            for g in targets:
                if _try_move(part, hard, mean, u, h, g, pu, balancing=True):
                    return True
    return False


def _try_move(part: Partition, hard: list[int], mean: float, u: int, h: int, g: int, pu: float,
              balancing: bool) -> bool:
    ph, pg = part.pop[h], part.pop[g]
    d_band = (part.band(ph - pu) + part.band(pg + pu)) - (part.band(ph) + part.band(pg))
    d_quad = ((ph - pu - mean) ** 2 + (pg + pu - mean) ** 2) - ((ph - mean) ** 2 + (pg - mean) ** 2)
    if balancing and (d_band > 0 or d_quad >= -1e-6):
        return False
    if not balancing and d_band > 0 and not (hard[h] + hard[g]):
        return False
    hh, hg = part.hard(h, remove=[u]), part.hard(g, add=[u])
    d_hard = hh + hg - hard[h] - hard[g]
    key = (d_hard, round(d_band, 6), d_quad)
    if key >= (0, 0.0, -1e-6):
        return False
    part.move(u, g)
    hard[h], hard[g] = hh, hg
    return True


def _recom(part: Partition, hard: list[int], bad: list[int], rng: np.random.Generator | None) -> bool:
    """Merge a violating hub with a neighbour and re-cut along a spanning tree, if that helps."""
    r = part.rules
    for h in bad:
        neighbours = sorted({int(part.hub_of[v]) for u in part.parts[h] for v in r.unit_adj[u]
                             if part.hub_of[v] >= 0 and part.hub_of[v] != h})
        for g in neighbours:
            merged = sorted(part.parts[h] | part.parts[g])
            now = (hard[h] + hard[g], part.band(part.pop[h]) + part.band(part.pop[g]))
            best = None
            for t in range(4 if rng is not None else 1):
                tree = spanning_tree(r, merged, rng if t else None)
                for side, pop in tree_cuts(r, tree):
                    rest = [u for u in merged if u not in set(side)]
                    band = part.band(pop) + part.band(float(r.unit_pop[rest].sum()))
                    if band > now[1] + 1e-6:
                        continue
                    hv = r.hard_violations(side) + r.hard_violations(rest)
                    key = (hv, band)
                    if key < now and (best is None or key < best[0]):
                        best = (key, side, rest)
            if best is not None:
                _, side, rest = best
                part.parts[h], part.parts[g] = set(side), set(rest)
                part._refresh(h)
                part._refresh(g)
                hard[h], hard[g] = part.hard(h), part.hard(g)
                return True
    return False


# ----------------------------------------------------------------- improve
def improve(part: Partition, pool: ColumnPool | None = None, *, max_moved: int | None = None,
            max_sweeps: int = 50, deadline: float | None = None, swaps: bool = True) -> int:
    """First-improvement local search on a feasible partition (in place); returns accepted moves.

    A move sends a boundary unit to a neighbouring hub; a swap exchanges two
    units across a border. Either is accepted only if the total cost drops by
    more than ``1e-9`` and both hubs stay connected, in band, with an allowed
    base, an anchor (when required), no keep-apart pair, and the plan stays
    within ``max_moved``. Each accepted change adds its hubs to ``pool``.
    """
    r = part.rules
    accepted = 0
    moved_total = sum(part.moved)

    def ok_hub(h: int, add: list[int], remove: list[int], pop: float) -> bool:
        if not r.lower <= pop <= r.upper:
            return False
        if r.require_anchor and part.anchors[h] + int(r.unit_anchor[add].sum()) - int(r.unit_anchor[remove].sum()) <= 0:
            return False
        rest = part.parts[h] - set(remove)
        return not any(r.unit_apart[a] & rest for a in add)

    def record(*hubs: int) -> None:
        if pool is not None:
            for h in hubs:
                pool.add(r.unit_members(part.parts[h]), "local")

    def confirm(*hubs: int) -> bool:
        # practice-level contiguity only differs from unit-level for split keep-together groups
        if not r.split_unit.any():
            return True
        return all(r.check(r.unit_members(part.parts[h])) is None for h in hubs)

    for _ in range(max_sweeps):
        if deadline is not None and time.perf_counter() > deadline:
            break
        improved = False
        for u in r.free_units.tolist():
            h = int(part.hub_of[u])
            if h < 0 or len(part.parts[h]) == 1:
                continue
            pu = float(r.unit_pop[u])
            if part.pop[h] - pu < r.lower or u in part.cut_units(h):
                continue
            if not ok_hub(h, [], [u], part.pop[h] - pu):
                continue
            cost_h, base_h = part.value_after(h, remove=[u])
            if not math.isfinite(cost_h):
                continue
            best = None
            for g in part.neighbour_hubs(u):
                if not ok_hub(g, [u], [], part.pop[g] + pu):
                    continue
                cost_g, base_g = part.value_after(g, add=[u])
                delta = cost_h + cost_g - part.cost[h] - part.cost[g]
                if delta < -EPS and (best is None or delta < best[0]):
                    if max_moved is not None:
                        mv = moved_total - part.moved[h] - part.moved[g] \
                            + part.moved_at(h, base_h, remove=[u]) + part.moved_at(g, base_g, add=[u])
                        if mv > max_moved:
                            continue
                    best = (delta, g)
            if best is not None:
                part.move(u, best[1])
                if not confirm(h, best[1]):
                    part.move(u, h)
                    continue
                moved_total = sum(part.moved)
                accepted += 1
                improved = True
                record(h, best[1])
        if swaps:
            n_swaps = _swap_pass(part, r, ok_hub, confirm, record, max_moved, deadline)
            accepted += n_swaps
            improved = improved or n_swaps > 0
            moved_total = sum(part.moved)
        if not improved:
            break
    return accepted


def _swap_pass(part: Partition, r: HubRules, ok_hub, confirm, record, max_moved: int | None,
               deadline: float | None) -> int:
    """One pass of cost-lowering swaps between adjacent units of different hubs."""
    accepted = 0
    for u in r.free_units.tolist():
        if deadline is not None and time.perf_counter() > deadline:
            break
        h = int(part.hub_of[u])
        if h < 0:
            continue
        for v in r.unit_adj[u]:
            g = int(part.hub_of[v])
            if g < 0 or g == h or v < u:
                continue
            pu, pv = float(r.unit_pop[u]), float(r.unit_pop[v])
            new_h, new_g = part.pop[h] - pu + pv, part.pop[g] - pv + pu
            if not (ok_hub(h, [v], [u], new_h) and ok_hub(g, [u], [v], new_g)):
                continue
            a = (part.parts[h] - {u}) | {v}
            b = (part.parts[g] - {v}) | {u}
            cost_h, base_h = part.value_after(h, add=[v], remove=[u])
            cost_g, base_g = part.value_after(g, add=[u], remove=[v])
            delta = cost_h + cost_g - part.cost[h] - part.cost[g]
            if not delta < -EPS:
                continue
            if not (r.units_connected(a) and r.units_connected(b)):
                continue
            if max_moved is not None:
                mv = sum(part.moved) - part.moved[h] - part.moved[g] \
                    + part.moved_at(h, base_h, add=[v], remove=[u]) + part.moved_at(g, base_g, add=[u], remove=[v])
                if mv > max_moved:
                    continue
            part.swap(u, v)
            if not confirm(h, g):
                part.swap(u, v)
                continue
            accepted += 1
            record(h, g)
            break  # u changed hub; move on
    return accepted


def recombine(part: Partition, pool: ColumnPool | None = None, *, rng: np.random.Generator | None = None,
              trees: int = 3, max_moved: int | None = None, deadline: float | None = None,
              keep_within: float = 0.02) -> int:
    """Merge each pair of adjacent hubs and re-cut it along spanning trees (ReCom), keeping the cheapest.

    For a pair ``(A, B)`` the union is cut along every edge of a BFS tree and of
    ``trees`` random spanning trees (from ``rng``); both sides are connected by
    construction. A cut replaces the pair if both sides are valid hubs and the
    pair's cost drops. Valid sides within ``keep_within`` (relative) of the
    pair's cost are added to the pool: they tile with the rest of the plan, so
    the master can combine them. Returns the number of pairs improved.
    """
    r = part.rules
    improved = 0
    k = len(part.parts)
    pairs = sorted({(min(h, int(part.hub_of[v])), max(h, int(part.hub_of[v])))
                    for h in range(k) for u in part.parts[h] for v in r.unit_adj[u]
                    if part.hub_of[v] >= 0 and part.hub_of[v] != h})
    for h, g in pairs:
        if deadline is not None and time.perf_counter() > deadline:
            break
        merged = sorted(part.parts[h] | part.parts[g])
        now = part.cost[h] + part.cost[g]
        now_moved = part.moved[h] + part.moved[g]
        total_moved = sum(part.moved)
        best = None
        seen: set[frozenset[int]] = set()
        for t in range(trees + 1):
            tree = spanning_tree(r, merged, rng if t and rng is not None else None)
            if t and rng is None:
                break
            for side, pop in tree_cuts(r, tree):
                key = frozenset(side)
                if key in seen or not r.lower <= pop <= r.upper:
                    continue
                seen.add(key)
                rest = [u for u in merged if u not in key]
                if not r.lower <= float(r.unit_pop[rest].sum()) <= r.upper:
                    continue
                if r.hard_violations(side) or r.hard_violations(rest):
                    continue
                _, c1, b1 = r.evaluate(side)
                _, c2, b2 = r.evaluate(rest)
                cost = c1 + c2
                if not math.isfinite(cost) or cost > now * (1 + keep_within) + EPS:
                    continue
                if pool is not None:
                    pool.add(r.unit_members(side), "recom")
                    pool.add(r.unit_members(rest), "recom")
                if cost < now - EPS and (best is None or cost < best[0]):
                    if max_moved is not None:
                        mv = total_moved - now_moved + int(r.inst.moved[r.unit_members(side), b1].sum()) \
                            + int(r.inst.moved[r.unit_members(rest), b2].sum())
                        if mv > max_moved:
                            continue
                    best = (cost, side, rest)
        if best is None:
            continue
        _, side, rest = best
        old_h, old_g = set(part.parts[h]), set(part.parts[g])
        part.parts[h], part.parts[g] = set(side), set(rest)
        part._refresh(h)
        part._refresh(g)
        if r.split_unit.any() and not all(r.check(r.unit_members(part.parts[x])) is None for x in (h, g)):
            part.parts[h], part.parts[g] = old_h, old_g
            part._refresh(h)
            part._refresh(g)
            continue
        improved += 1
    return improved


def perturb(part: Partition, rng: np.random.Generator, steps: int = 3, attempts: int = 20) -> int:
    """Random ReCom kicks (in place): re-cut random adjacent hub pairs at random valid tree edges.

    Used to leave a local optimum (iterated local search); cost is ignored,
    validity is kept (band and hard rules; practice-level contiguity is
    re-checked for split keep-together groups). Returns the kicks applied.
    """
    r = part.rules
    k = len(part.parts)
    done = 0
    for _ in range(attempts):
        if done >= steps:
            break
        pairs = sorted({(min(h, int(part.hub_of[v])), max(h, int(part.hub_of[v])))
                        for h in range(k) for u in part.parts[h] for v in r.unit_adj[u]
                        if part.hub_of[v] >= 0 and part.hub_of[v] != h})
        if not pairs:
            break
        h, g = pairs[int(rng.integers(len(pairs)))]
        merged = sorted(part.parts[h] | part.parts[g])
        cuts = []
        for side, pop in tree_cuts(r, spanning_tree(r, merged, rng)):
            rest = [u for u in merged if u not in set(side)]
            if r.lower <= pop <= r.upper and r.lower <= float(r.unit_pop[rest].sum()) <= r.upper \
                    and not r.hard_violations(side) and not r.hard_violations(rest):
                cuts.append((side, rest))
        if not cuts:
            continue
        side, rest = cuts[int(rng.integers(len(cuts)))]
        if r.split_unit.any() and (r.check(r.unit_members(side)) or r.check(r.unit_members(rest))):
            continue
        part.parts[h], part.parts[g] = set(side), set(rest)
        part._refresh(h)
        part._refresh(g)
        done += 1
    return done


# ------------------------------------------------------------------- price
def price(rules: HubRules, pool: ColumnPool, comps: Sequence[np.ndarray], duals: np.ndarray, mu: float,
          lam: float = 0.0, deadline: float | None = None, max_new: int = 2000,
          rng: np.random.Generator | None = None, random_runs: int = 0) -> int:
    """Grow columns of negative reduced cost from every unit and base; returns how many were added.

    The reduced cost of column ``c`` is ``cost_c - sum_{p in c} pi_p - mu - lam * moved_c``,
    with ``pi`` the covering duals, ``mu`` the dual of the hub-count rows and
    ``lam`` (<= 0) that of the moved-practices row. Growth is greedy on
    ``unit_cost[u, b] - sum pi`` with the base ``b`` fixed, which finds many
    but not all improving columns: it is no proof that none is left. With
    ``rng``, ``random_runs`` more growths per seed and base pick among the two
    best candidates at each step.
    """
    inst = rules.inst
    pi_unit = np.array([float(duals[m].sum()) for m in rules.units])
    score = rules.unit_cost - pi_unit[:, None]
    if lam:
        moved_unit = np.vstack([inst.moved[m].sum(axis=0) for m in rules.units])
        score = score - lam * moved_unit
    piece = np.full(rules.n_units, -1)
    for j, c in enumerate(comps):
        piece[c] = j
    added = 0
    for seed in sorted(int(u) for c in comps for u in c):
        if deadline is not None and time.perf_counter() > deadline:
            break
        for b in rules.units[seed].tolist():
            if not rules.unit_allowed[seed, b]:
                continue
            within = piece == piece[seed]
            found = grow(rules, seed, within, score=score, base=b)
            for _ in range(random_runs if rng is not None else 0):
                found += grow(rules, seed, within, score=score, base=b, rng=rng, choice=2)
            for units in found:
                members = rules.unit_members(units)
                before = len(pool)
                i = pool.add(members, "price")
                if i is None or len(pool) == before:
                    continue
                rc = pool.cost_of(i) - float(duals[members].sum()) - mu - lam * pool.moved_of(i)
                added += 1 if rc < -EPS else 0
        if added >= max_new:
            break
    return added
