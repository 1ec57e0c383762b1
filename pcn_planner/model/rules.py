"""The hard rules of a plan, each defined once, with its breaches in planners' words.

Every hard rule is one small named object with one ``check``. The engine's
verification, the feasibility explanations, the scorecard's flags and the map
and report flag texts all call these; nothing else re-implements a rule.

=================  ===============================================================
rule               a plan keeps it when
=================  ===============================================================
``partition``      every practice is in exactly one hub
``hub_count``      it has K hubs (or K within the range asked for)
``band``           every hub's patients are within the inclusive bounds
``contiguity``     every hub is one connected piece of the practice graph, with the
                   links the problem added (``Instance.nesting_links``)
``nesting``        some member of every hub may serve all of it (one sub-ICB or district)
``anchor``         every hub holds an anchor practice (when required)
``keep_together``  each keep-together pair (and co-located group, when asked) shares a hub
``keep_apart``     no keep-apart pair shares a hub
``locked_hubs``    every locked hub is a hub exactly as given
``max_moved``      at most ``max_moved`` practices have moved (see ``model.instance``)
=================  ===============================================================

A rule that checks one hub at a time is a :class:`HubRule`: its
:meth:`HubRule.breach` judges a single hub, which the column generator uses to
vet candidate hubs; :meth:`Rule.check` judges a whole plan.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from pcn_planner.core.pieces import connected_pieces
from pcn_planner.model.instance import Instance

Hubs = Sequence[np.ndarray]

#: Plain words for the areas hubs may be asked to nest in.
AREA_WORDS = {"sub_icb": "sub-ICB location", "lad": "local authority district", None: "region"}


@dataclass(frozen=True)
class Violation:
    """One breach of one rule.

    Attributes
    ----------
    rule
        Name of the rule broken (``Rule.name``), e.g. ``"band"``.
    text
        The breach in a planner's words, e.g. ``"hub 7: 71,240 patients > max 70,000"``.
    hub
        Index of the hub in the plan's hub list, or ``None`` for a plan-wide breach.
    detail
        For a hub's breach, the words without the hub's name (``"71,240 patients > max 70,000"``),
        for flags drawn on the hub itself; otherwise the same as ``text``.
    """

    rule: str
    text: str
    hub: int | None = None
    detail: str = ""

    def __post_init__(self) -> None:
        if not self.detail:
            object.__setattr__(self, "detail", self.text)

    def __str__(self) -> str:
        return self.text


def _n(value: float) -> str:
    return f"{value:,.0f}"


def _labels(inst: Instance, hubs: Hubs, labels: Sequence[str] | None) -> list[str]:
    return list(labels) if labels is not None else [f"hub {i + 1}" for i in range(len(hubs))]


class Rule(ABC):
    """A hard rule of a plan."""

    #: Short name, used in :attr:`Violation.rule` and by docs.
    name: ClassVar[str]
    #: The rule in a planner's words, e.g. "the moved-practices rule".
    title: ClassVar[str]

    def applies(self, inst: Instance) -> bool:
        """Whether the problem asks for this rule at all."""
        return True

    @abstractmethod
    def check(self, inst: Instance, hubs: Hubs, labels: Sequence[str] | None = None) -> list[Violation]:
        """Every breach of the rule by a plan.

        Parameters
        ----------
        inst
            The compiled problem.
        hubs
            Member positions of each hub.
        labels
            How to name each hub in the texts (default ``"hub 1"``, ``"hub 2"``, ...).
        """


class HubRule(Rule):
    """A rule that each hub keeps or breaks on its own."""

    @abstractmethod
    def breach(self, inst: Instance, members: np.ndarray) -> str | None:
        """What is wrong with one hub under this rule, in words, or ``None``."""

    def check(self, inst: Instance, hubs: Hubs, labels: Sequence[str] | None = None) -> list[Violation]:
        if not self.applies(inst):
            return []
        names = _labels(inst, hubs, labels)
        out = []
        for i, h in enumerate(hubs):
            why = self.breach(inst, np.asarray(h, dtype=int))
            if why is not None:
                out.append(Violation(self.name, f"{names[i]}: {why}", i, why))
        return out


class Partition(Rule):
    name = "partition"
    title = "every practice in exactly one hub"

    def check(self, inst: Instance, hubs: Hubs, labels: Sequence[str] | None = None) -> list[Violation]:
        count = np.zeros(inst.n, dtype=int)
        for h in hubs:
            count[np.asarray(h, dtype=int)] += 1
        return [Violation(self.name, f"practice {inst.codes[p]} is in {count[p]} hubs, not exactly one")
                for p in np.flatnonzero(count != 1)]


class HubCount(Rule):
    name = "hub_count"
    title = "the number of hubs (K)"

    def check(self, inst: Instance, hubs: Hubs, labels: Sequence[str] | None = None) -> list[Violation]:
        k = len(hubs)
        if inst.k_min <= k <= inst.k_max:
            return []
        asked = f"K={inst.k_min}" if inst.k_min == inst.k_max else f"K={inst.k_min}-{inst.k_max}"
        return [Violation(self.name, f"{k} hubs, but {asked} was asked for")]


class Band(HubRule):
    name = "band"
    title = "the population band"

    def breach(self, inst: Instance, members: np.ndarray) -> str | None:
        size = float(inst.population[members].sum())
        if size < inst.lower:
            return f"{_n(size)} patients < min {_n(inst.lower)}"
        if size > inst.upper:
            return f"{_n(size)} patients > max {_n(inst.upper)}"
        return None


class Contiguity(HubRule):
    name = "contiguity"
    title = "contiguity"

    def breach(self, inst: Instance, members: np.ndarray) -> str | None:
        pieces = self.pieces(inst, members)
        if len(pieces) <= 1:
            return None
        cut_off = "; ".join(", ".join(inst.codes[p] for p in piece) for piece in pieces[1:])
        return f"not one connected piece ({len(pieces)} pieces; cut off: {cut_off})"

    @staticmethod
    def pieces(inst: Instance, members: np.ndarray) -> list[list[int]]:
        """The hub's connected pieces in the practice graph with added links, main piece first."""
        return connected_pieces(members, inst.adjacency)


class Nesting(HubRule):
    name = "nesting"
    title = "the nesting rule"

    def applies(self, inst: Instance) -> bool:
        return not bool(np.all(inst.allowed))

    def breach(self, inst: Instance, members: np.ndarray) -> str | None:
        if inst.allowed[np.ix_(members, members)].all(axis=0).any():
            return None
        where = AREA_WORDS.get(inst.problem.nest, "area")
        if inst.area is not None:
            areas = sorted({str(inst.area[p]) for p in members})
            return f"spans more than one {where} ({', '.join(areas)})"
        return f"no member may serve the whole hub (spans more than one {where})"


class Anchor(HubRule):
    name = "anchor"
    title = "the anchor rule"

    def applies(self, inst: Instance) -> bool:
        return bool(inst.require_anchor)

    def breach(self, inst: Instance, members: np.ndarray) -> str | None:
        return None if np.asarray(inst.anchors)[members].any() else "has no anchor (resilient) practice"


class KeepTogether(HubRule):
    name = "keep_together"
    title = "the keep-together rule"

    def applies(self, inst: Instance) -> bool:
        return bool(inst.keep_together)

    def breach(self, inst: Instance, members: np.ndarray) -> str | None:
        inside = set(members.tolist())
        for p, q in inst.keep_together:
            if (p in inside) != (q in inside):
                have, miss = (p, q) if p in inside else (q, p)
                return f"holds {inst.codes[have]} but not {inst.codes[miss]}, which must share a hub"
        return None

    def check(self, inst: Instance, hubs: Hubs, labels: Sequence[str] | None = None) -> list[Violation]:
        names = _labels(inst, hubs, labels)
        hub_of = np.full(inst.n, -1)
        for i, h in enumerate(hubs):
            hub_of[np.asarray(h, dtype=int)] = i
        return [Violation(self.name, f"{inst.codes[p]} and {inst.codes[q]} must share a hub but are in "
                                     f"{names[hub_of[p]]} and {names[hub_of[q]]}", int(hub_of[p]))
                for p, q in inst.keep_together if hub_of[p] != hub_of[q]]


class KeepApart(HubRule):
    name = "keep_apart"
    title = "the keep-apart rule"

    def applies(self, inst: Instance) -> bool:
        return bool(inst.keep_apart)

    def breach(self, inst: Instance, members: np.ndarray) -> str | None:
        inside = set(members.tolist())
        for p, q in inst.keep_apart:
            if p in inside and q in inside:
                return f"holds both {inst.codes[p]} and {inst.codes[q]}, which must be apart"
        return None


class LockedHubs(HubRule):
    name = "locked_hubs"
    title = "the locked-hubs rule"

    def applies(self, inst: Instance) -> bool:
        return bool(inst.locked)

    def breach(self, inst: Instance, members: np.ndarray) -> str | None:
        inside = set(members.tolist())
        for g, group in enumerate(inst.locked):
            locked = set(np.asarray(group, dtype=int).tolist())
            if inside & locked and inside != locked:
                return f"mixes locked hub {g + 1} ({_group(inst, group)}) with other practices or splits it"
        return None

    def check(self, inst: Instance, hubs: Hubs, labels: Sequence[str] | None = None) -> list[Violation]:
        as_sets = {frozenset(np.asarray(h, dtype=int).tolist()) for h in hubs}
        return [Violation(self.name, f"locked hub {g + 1} ({_group(inst, group)}) is not kept as one hub as given")
                for g, group in enumerate(inst.locked)
                if frozenset(np.asarray(group, dtype=int).tolist()) not in as_sets]


class MaxMoved(Rule):
    name = "max_moved"
    title = "the moved-practices rule"

    def applies(self, inst: Instance) -> bool:
        return inst.max_moved is not None

    def check(self, inst: Instance, hubs: Hubs, labels: Sequence[str] | None = None) -> list[Violation]:
        if not self.applies(inst):
            return []
        bases = inst.bases(list(hubs))
        if any(b < 0 for b in bases):  # a hub with no allowed base is the nesting rule's breach
            return []
        moved = inst.moved_count(list(hubs), bases)
        if moved <= int(inst.max_moved or 0):
            return []
        return [Violation(self.name, f"{moved} practices moved out of their baseline PCN > max {inst.max_moved} "
                                     f"({self.title})")]


def _group(inst: Instance, group: np.ndarray) -> str:
    codes = [inst.codes[int(p)] for p in group]
    return ", ".join(codes[:3]) + (" ..." if len(codes) > 3 else "")


BAND, CONTIGUITY, NESTING, ANCHOR = Band(), Contiguity(), Nesting(), Anchor()
KEEP_TOGETHER, KEEP_APART, LOCKED_HUBS, MAX_MOVED = KeepTogether(), KeepApart(), LockedHubs(), MaxMoved()
#: Rules each hub keeps on its own, in the order a candidate hub is vetted (cheapest first).
HUB_RULES: tuple[HubRule, ...] = (BAND, CONTIGUITY, LOCKED_HUBS, KEEP_TOGETHER, KEEP_APART, NESTING, ANCHOR)
#: Every rule, in the order breaches are listed.
RULES: tuple[Rule, ...] = (Partition(), HubCount(), BAND, CONTIGUITY, NESTING, ANCHOR, KEEP_TOGETHER, KEEP_APART,
                           LOCKED_HUBS, MAX_MOVED)
#: Rules by name.
BY_NAME: dict[str, Rule] = {r.name: r for r in RULES}


def check_plan(inst: Instance, hubs: Hubs, labels: Sequence[str] | None = None,
               rules: Sequence[Rule] = RULES) -> list[Violation]:
    """Every breach of every rule by a plan (empty if it keeps them all).

    Parameters
    ----------
    inst
        The compiled problem.
    hubs
        Member positions of each hub.
    labels
        How to name each hub in the texts (default ``"hub 1"``, ...).
    rules
        The rules to check (default: all of them).
    """
    hubs = [np.asarray(h, dtype=int) for h in hubs]
    out: list[Violation] = []
    for rule in rules:
        if rule.applies(inst):
            out += rule.check(inst, hubs, labels)
    return out


def hub_breach(inst: Instance, members: np.ndarray, rules: Sequence[HubRule] = HUB_RULES) -> Violation | None:
    """The first rule a single hub breaks, or ``None`` if it could be a hub of a valid plan.

    Used to vet candidate hubs; only per-hub rules apply (see :data:`HUB_RULES`).
    """
    members = np.asarray(sorted({int(p) for p in members}), dtype=int)
    if members.size == 0:
        return Violation("partition", "an empty hub")
    for rule in rules:
        if rule.applies(inst):
            why = rule.breach(inst, members)
            if why is not None:
                return Violation(rule.name, why)
    return None
