"""What changes between two plans of one region: paired hubs, practices moved, pairs broken, key measures.

:func:`compare_plans` scores two plans of the same region and works out what
changes between them:

* **Hub pairing** - hub ids differ between plans, so each hub of plan A is
  paired one-to-one with a hub of plan B to maximise the practices they share
  (an assignment problem). The maps use it to give paired hubs one colour.
* **Practices moved** - the one definition of a moved practice
  (:func:`pcn_planner.model.instance.moved_from`): a practice moved when its
  hub in A is not the A-hub of its B-hub's base site. With today's PCNs as A,
  this is exactly the scorecard's ``practices_moved`` and what ``max_moved``
  limits. ``change`` says how: ``"merged"`` when the practice's whole hub of A
  went into its hub of B, ``"moved"`` otherwise. (A hub carved out of one hub
  of A keeps a base from that hub, so its practices have not moved.)
* **Pairs broken** - two practices in the same hub in A and in different hubs in B.
* **Summary** - the key measures of both plans side by side with the difference.

The maps of a :class:`Comparison` are drawn by :mod:`pcn_planner.outputs.maps.compare`.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from pcn_planner.model.instance import moved_from
from pcn_planner.model.plan import Plan
from pcn_planner.model.problem import Bounds, Problem
from pcn_planner.scoring.metrics import PLAN, Metric
from pcn_planner.scoring.scorecard import Scorecard, score_plan

if TYPE_CHECKING:
    from pcn_planner.geography.region import Region

__all__ = ["SUMMARY_MEASURES", "Comparison", "broken_pairs", "compare_plans", "compare_scorecards", "moved_practices",
           "pair_hubs"]

#: Plan metrics shown side by side (labels, units, formats and "better" come from the registry).
SUMMARY_MEASURES: tuple[str, ...] = (
    "hubs", "hubs_in_band", "non_contiguous_hubs", "travel_mean_min", "travel_p90_min", "town_outside_share",
    "towns_split", "practices_moved", "pcn_pairs_broken",
)
#: The two measures of change from A to B itself, when A is not today's PCN map.
_A_TO_B = {
    "moved_a_to_b": PLAN["practices_moved"],
    "pairs_broken_a_to_b": PLAN["pcn_pairs_broken"],
}


# ---------------------------------------------------------------------------
# What changes (pure functions on two plans)
# ---------------------------------------------------------------------------


def _aligned(plan_a: Plan, plan_b: Plan) -> tuple[pd.Series, pd.Series]:
    a, b = plan_a.assignment, plan_b.assignment
    if set(a.index) != set(b.index):
        only_a = sorted(set(a.index) - set(b.index))[:5]
        only_b = sorted(set(b.index) - set(a.index))[:5]
        raise ValueError(f"plans {plan_a.name!r} and {plan_b.name!r} cover different practices: "
                         f"only in the first {only_a}, only in the second {only_b}")
    return a, b.reindex(a.index)


def pair_hubs(plan_a: Plan, plan_b: Plan) -> dict[str, str]:
    """Pair hubs of A one-to-one with hubs of B to maximise the practices they share.

    Pairs that share no practice are left out. The pairing is for drawing
    (paired hubs share a colour); which practices moved is :func:`moved_practices`.

    Returns
    -------
    dict
        hub of A -> hub of B. Hubs of the plan with more hubs are left unpaired.
    """
    from scipy.optimize import linear_sum_assignment

    a, b = _aligned(plan_a, plan_b)
    # rows B, columns A: the assignment solver's tie-breaking then favours A's order
    joint = pd.crosstab(b, a)
    rows, cols = linear_sum_assignment(-joint.to_numpy())
    return {str(joint.columns[c]): str(joint.index[r]) for r, c in zip(rows, cols, strict=True) if joint.iat[r, c] > 0}


def moved_practices(plan_a: Plan, plan_b: Plan, bases_b: Mapping[str, str]) -> pd.DataFrame:
    """Practices that have moved from plan A in plan B (see the module docstring).

    Parameters
    ----------
    plan_a
        The reference plan.
    plan_b
        The new plan.
    bases_b
        Base site (practice code) of each hub of B, as its scorecard gives them
        (``scorecard.hubs["base_practice"]``).

    Returns
    -------
    DataFrame
        ``practice_code``, ``hub_a_id``, ``hub_b_id`` and ``change`` (``"merged"``
        or ``"moved"``). Sorted by practice code.
    """
    a, b = _aligned(plan_a, plan_b)
    codes = list(a.index)
    position = {c: i for i, c in enumerate(codes)}
    members_b = plan_b.members()
    hubs = [[position[c] for c in members_b[h]] for h in members_b]
    bases = [position[str(bases_b[h])] for h in members_b]
    members_a = {h: set(m) for h, m in plan_a.members().items()}
    sets_b = {h: set(m) for h, m in members_b.items()}  # for "merged": the whole A-hub went in
    rows = []
    for i in moved_from(a.to_numpy(), [np.asarray(h) for h in hubs], bases):
        code = codes[i]
        ha, hb = a[code], b[code]
        rows.append((code, ha, hb, "merged" if members_a[ha] <= sets_b[hb] else "moved"))
    return pd.DataFrame(rows, columns=["practice_code", "hub_a_id", "hub_b_id", "change"])


def broken_pairs(plan_a: Plan, plan_b: Plan) -> pd.DataFrame:
    """Pairs of practices in the same hub in A and in different hubs in B.

    Returns
    -------
    DataFrame
        ``practice_1``, ``practice_2`` (``practice_1 < practice_2``), ``hub_a_id``,
        ``hub_b_id_1``, ``hub_b_id_2``; sorted by hub of A, then codes. Its length
        is the plan's ``pcn_pairs_broken`` when A is the scorecard's baseline.
    """
    a, b = _aligned(plan_a, plan_b)
    rows = []
    for hub, members in a.groupby(a, sort=True):
        codes = sorted(members.index)
        for p, q in itertools.combinations(codes, 2):
            if b[p] != b[q]:
                rows.append((p, q, hub, b[p], b[q]))
    return pd.DataFrame(rows, columns=["practice_1", "practice_2", "hub_a_id", "hub_b_id_1", "hub_b_id_2"])


# ---------------------------------------------------------------------------
# The comparison
# ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Comparison:
    """Two scored plans of one region and what changes between them.

    Attributes
    ----------
    names
        Short names of the two sides (column headings, map captions).
    scorecard_a, scorecard_b
        Each plan scored against the current PCNs (as ``evaluate`` does).
    pairing
        Hub of A -> its paired hub of B (see :func:`pair_hubs`).
    moved
        Practices that change hub: ``practice_code``, ``name``, ``list_size``,
        ``hub_a_id``, ``hub_a`` (label), ``hub_b_id``, ``hub_b`` (label),
        ``change`` (``moved`` or ``merged``; see :func:`moved_practices`).
    pairs_broken
        Practice pairs together in A and apart in B: ``practice_1``, ``name_1``,
        ``practice_2``, ``name_2``, ``hub_a_id``, ``hub_a``, ``hub_b_1``, ``hub_b_2``.
    summary
        Key measures side by side, indexed by measure key: ``measure``, ``unit``,
        one column per side (named by ``names``), ``difference`` (B - A) and
        ``better`` (``higher``/``lower``/empty).
    a_is_current
        Whether plan A is the current PCN map (then "pairs broken" are current
        PCN pairs broken).
    """

    names: tuple[str, str]
    scorecard_a: Scorecard
    scorecard_b: Scorecard
    pairing: dict[str, str]
    moved: pd.DataFrame
    pairs_broken: pd.DataFrame
    summary: pd.DataFrame
    a_is_current: bool

    @property
    def plan_a(self) -> Plan:
        return self.scorecard_a.plan

    @property
    def plan_b(self) -> Plan:
        return self.scorecard_b.plan

    @property
    def scorecards(self) -> tuple[Scorecard, Scorecard]:
        return self.scorecard_a, self.scorecard_b

    @property
    def titles(self) -> tuple[str, str]:
        """Each side's name, with the plan's own name when it says more."""
        return (_side_title(self.names[0], self.scorecard_a.plan), _side_title(self.names[1], self.scorecard_b.plan))

    @property
    def pairs_broken_label(self) -> str:
        """What the pairs-broken count means, in words."""
        if self.a_is_current:
            return "current PCN pairs broken"
        return f"pairs together in {self.names[0]} split in {self.names[1]}"

    def summary_table(self) -> pd.DataFrame:
        """The summary with values formatted for reading (strings, signed differences)."""
        rows = []
        for key, r in self.summary.iterrows():
            a, b = r[self.names[0]], r[self.names[1]]
            m = summary_metric(str(key))
            change = r["difference"]
            rows.append({"measure": r["measure"], self.names[0]: m.format(a), self.names[1]: m.format(b),
                         "difference": "no change" if m.verdict(change) == "same" else m.format_change(change)})
        return pd.DataFrame(rows, index=self.summary.index)

    def __repr__(self) -> str:
        return (f"<Comparison {self.names[0]} ({self.plan_a.k} hubs) vs {self.names[1]} ({self.plan_b.k} hubs): "
                f"{len(self.moved)} practices moved, {len(self.pairs_broken)} pairs broken>")


def _side_title(name: str, plan: Plan) -> str:
    own = str(plan.name or "").strip()
    if not own or own.lower() in {"plan", name.lower()}:
        return name
    return f"{name}: {own}"


def compare_plans(
    region: Region,
    plan_a: Plan,
    plan_b: Plan,
    *,
    names: Sequence[str] = ("A", "B"),
    problem: Problem | None = None,
    bounds: Bounds | None = None,
) -> Comparison:
    """Score two plans of a region in one context and work out what changes from A to B.

    To compare two runs each in its own context (as ``pcn-planner compare``
    does), score them first and use :func:`compare_scorecards`.

    Parameters
    ----------
    region
        From :func:`pcn_planner.geography.region.build_region`.
    plan_a, plan_b
        Plans of every practice of the region (A is the reference, e.g. today's PCNs).
    names
        Two different short names for the sides, e.g. the run folders' names.
    problem
        The problem both plans are judged under (default: the default problem
        with K set to each plan's number of hubs).
    bounds
        Population bounds for the band checks (overrides the problem's).

    Raises
    ------
    ValueError
        If the plans do not cover the region's practices, or the names are not
        two different non-empty strings.
    """
    _aligned(plan_a, plan_b)
    card_a = score_plan(region, plan_a, problem=problem, bounds=bounds)
    card_b = score_plan(region, plan_b, problem=problem, bounds=bounds)
    return compare_scorecards(card_a, card_b, names=names)


def compare_scorecards(card_a: Scorecard, card_b: Scorecard, *, names: Sequence[str] = ("A", "B")) -> Comparison:
    """What changes from scored plan A to scored plan B, each judged in its own scoring context.

    Raises
    ------
    ValueError
        If the plans are of different regions' practices, or the names are not
        two different non-empty strings.
    """
    names = tuple(str(n).strip() for n in names)
    if len(names) != 2 or not all(names) or names[0] == names[1]:
        raise ValueError(f"names must be two different non-empty names, got {names!r}")
    plan_a, plan_b = card_a.plan, card_b.plan
    _aligned(plan_a, plan_b)
    region = card_b.region
    practices = region.atlas.practices
    current = Plan.current(practices)
    a_is_current = plan_a == current

    pairing = pair_hubs(plan_a, plan_b)
    moved = moved_practices(plan_a, plan_b, card_b.hubs["base_practice"].astype(str).to_dict())
    moved.insert(1, "name", moved["practice_code"].map(practices["name"]).astype(str))
    moved.insert(2, "list_size", moved["practice_code"].map(practices["list_size"]).astype(int))
    moved.insert(4, "hub_a", moved["hub_a_id"].map(plan_a.label))
    moved.insert(6, "hub_b", moved["hub_b_id"].map(plan_b.label))
    moved = moved.sort_values(["hub_a", "list_size", "practice_code"], ascending=[True, False, True],
                              ignore_index=True)

    pairs = broken_pairs(plan_a, plan_b)
    pairs.insert(1, "name_1", pairs["practice_1"].map(practices["name"]).astype(str))
    pairs.insert(3, "name_2", pairs["practice_2"].map(practices["name"]).astype(str))
    pairs.insert(5, "hub_a", pairs["hub_a_id"].map(plan_a.label))
    pairs["hub_b_1"] = pairs.pop("hub_b_id_1").map(plan_b.label)
    pairs["hub_b_2"] = pairs.pop("hub_b_id_2").map(plan_b.label)

    summary = _summary(card_a, card_b, names, a_is_current, len(moved), len(pairs))
    return Comparison(names=names, scorecard_a=card_a, scorecard_b=card_b, pairing=pairing, moved=moved,
                      pairs_broken=pairs, summary=summary, a_is_current=a_is_current)


def _summary(card_a: Scorecard, card_b: Scorecard, names: tuple[str, str], a_is_current: bool,
             n_moved: int, n_broken: int) -> pd.DataFrame:
    baseline = card_a.baseline_name
    rows = []
    for key in SUMMARY_MEASURES:
        m = PLAN[key]
        label = m.label
        if key == "practices_moved":
            label = f"Practices moved from {baseline}"
        elif key == "pcn_pairs_broken":
            label = f"{baseline[:1].upper()}{baseline[1:]} pairs broken".replace("PCNs pairs", "PCN pairs")
        rows.append((key, label, _unit(m), card_a.summary[key], card_b.summary[key], m.better or ""))
    if not a_is_current:
        # The scorecards measure disruption from their baseline; add A -> B itself.
        rows.append(("moved_a_to_b", f"Practices moving {names[0]} → {names[1]}", "count", 0, n_moved, "lower"))
        rows.append(("pairs_broken_a_to_b", f"{names[0]} pairs broken in {names[1]}", "count", 0, n_broken, "lower"))
    frame = pd.DataFrame(rows, columns=["key", "measure", "unit", names[0], names[1], "better"]).set_index("key")
    frame.index.name = None
    frame.insert(4, "difference", frame[names[1]].astype(float) - frame[names[0]].astype(float))
    for col in (names[0], names[1], "difference"):
        # Counts stay integers (object column), so summary.csv says 25, not 25.0.
        values = [int(v) if u == "count" else float(v) for v, u in zip(frame[col], frame["unit"], strict=True)]
        frame[col] = pd.Series(values, index=frame.index, dtype=object)
    return frame[["measure", "unit", names[0], names[1], "difference", "better"]]


def _unit(m: Metric) -> str:
    """The unit as a data file states it: shares are stored as fractions (see docs/metrics.md)."""
    return "share (0–1)" if m.kind == "share" else m.unit


def summary_metric(key: str) -> Metric:
    """The registered metric behind a row of :attr:`Comparison.summary`."""
    return _A_TO_B.get(key) or PLAN[key]
