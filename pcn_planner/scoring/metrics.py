"""The metrics registry: every measure of a hub or a plan, declared once.

The gap's words (:func:`gap_words`) live here too, so that every output says
a certified gap the same way.

Each :class:`Metric` carries its label, unit, definition and formula (the
same words as ``docs/metrics.md``, which a test keeps in step), which
direction is better, and how to show a value. The scorecard computes the
values; the terminal, maps, comparison, report, Excel workbook and batch
summaries all read labels, units, formats and "better" from here.

:class:`PlanSummary` is the typed, frozen record of a plan's measures (one
field per plan metric).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["count", "patients", "minutes", "share", "ratio", "decile", "index", "flag", "text"]
Better = Literal["lower", "higher"] | None


@dataclass(frozen=True)
class Metric:
    """One measure of a hub or a plan.

    Attributes
    ----------
    key
        Column (hub) or field (plan) name.
    label
        Plain-English name, e.g. ``"Mean travel"``.
    unit
        Unit as shown in tables (``"minutes"``, ``"%"``, ``"count"`` ...); empty for text.
    definition
        One sentence, as in ``docs/metrics.md``.
    kind
        How values are shown (:meth:`format`).
    better
        ``"lower"`` or ``"higher"`` when a change in one direction is an
        improvement for a planner; ``None`` when it is not (e.g. the number of hubs).
    formula
        The formula as written in ``docs/metrics.md`` (notation there), or empty
        when the definition says it all.
    """

    key: str
    label: str
    unit: str
    definition: str
    kind: Kind
    better: Better = None
    formula: str = ""

    def format(self, value: Any) -> str:
        """A value as a planner reads it, with its unit: ``52,431``, ``7.3 min``, ``34.4 %``, ``yes``."""
        return format_value(self.kind, value)

    def format_change(self, value: Any) -> str:
        """A difference between two values, signed: ``+3``, ``-0.4 min``, ``+1.2 points``."""
        if _missing(value):
            return "–"
        v = float(value)
        if self.kind == "share":
            return f"{100 * v:+.1f} points"
        if self.kind == "minutes":
            return f"{v:+.1f} min"
        if self.kind in ("count", "patients"):
            return f"{v:+,.0f}"
        return f"{v:+.2f}"

    def verdict(self, change: float) -> Literal["better", "worse", "same", "neutral"]:
        """Whether a change (new minus old) is better or worse for a planner, by :attr:`better`."""
        if _missing(change) or abs(float(change)) < 1e-12:
            return "same"
        if self.better is None:
            return "neutral"
        return "better" if (float(change) < 0) == (self.better == "lower") else "worse"


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def format_value(kind: Kind, value: Any) -> str:
    """Show a value of the given kind (see :class:`Metric`); ``–`` when missing."""
    if _missing(value):
        return "–"
    if kind == "flag":
        return "yes" if bool(value) else "no"
    if kind == "text":
        return str(value)
    v = float(value)
    if kind in ("count", "patients"):
        return f"{v:,.0f}"
    if kind == "minutes":
        return f"{v:.1f} min"
    if kind == "share":
        return f"{100 * v:.1f} %"
    if kind == "decile":
        return f"{v:.1f}"
    return f"{v:.2f}"


def _finite_gap(gap: float | None) -> float | None:
    """The gap as a float, or None when there is none (missing or not finite)."""
    if gap is None:
        return None
    value = float(gap)
    return value if math.isfinite(value) else None


def format_gap(gap: float | None) -> str:
    """A gap as a number, ``0.42%`` (two decimals, as solvers report it); ``–`` when there is none."""
    value = _finite_gap(gap)
    return "–" if value is None else f"{value:.2%}"


def gap_words(gap: float | None) -> str:
    """A run's certified gap in words: ``0.42%``, ``0.00% (optimal)`` or ``not certified``."""
    value = _finite_gap(gap)
    if value is None:
        return "not certified"
    return "0.00% (optimal)" if value <= 0 else format_gap(value)


def gap_text(gap: float | None) -> str:
    """The certified gap in words for a map title: ``gap 0.42%``, ``gap 0.00% (optimal)`` or not certified."""
    return "gap: not certified" if _finite_gap(gap) is None else f"gap {gap_words(gap)}"


def _m(key: str, label: str, unit: str, definition: str, kind: Kind, better: Better = None,
       formula: str = "") -> Metric:
    return Metric(key, label, unit, definition, kind, better, formula)


#: Hub metrics, in table order.
HUB: dict[str, Metric] = {m.key: m for m in (
    _m("patients", "Patients", "patients", "registered patients of the member practices (list sizes)", "patients",
       formula="patients = sum_{p in S} pop_p"),
    _m("practices", "Practices", "count", "member practices", "count"),
    _m("band", "Population band", "",
       "whether the hub's patients lie within the inclusive bounds: ok, below min or above max", "text",
       formula="ok when min <= patients <= max"),
    _m("contiguous", "Contiguous", "yes/no",
       "member practices form one connected piece of the practice graph, with any added links", "flag", "higher"),
    _m("components", "Pieces", "count", "connected pieces of the hub in the practice graph (1 when contiguous)",
       "count", "lower"),
    _m("via_added_link", "Joined by an added link", "yes/no",
       "contiguous only through a link the problem added (e.g. to join a cut-off part of a sub-ICB)", "flag"),
    _m("base_practice", "Base site", "",
       "member practice the hub is served from: the one minimising the hub's weighted objective cost", "text"),
    _m("moved", "Practices moved", "count",
       "member practices whose baseline PCN is not their base's baseline PCN", "count", "lower"),
    _m("travel_mean_min", "Mean travel", "minutes",
       "patient-weighted mean car minutes from home LSOA to the base site", "minutes", "lower",
       "travel_mean_min = sum_l n_S[l] t[l,b] / sum_l n_S[l]"),
    _m("travel_p90_min", "90th percentile travel", "minutes",
       "9 in 10 of the hub's patients live within this many car minutes of the base site", "minutes", "lower"),
    _m("dominant_lad", "Main district", "", "local authority district where most of the hub's patients live", "text"),
    _m("lad_share", "Main district share", "%", "share of the hub's placed patients living in its main district",
       "share", "higher"),
    _m("dominant_town", "Main town", "", "town where most of the hub's patients live", "text"),
    _m("town_share", "Main town share", "%", "share of the hub's placed patients living in its main town", "share",
       "higher"),
    _m("dominant_catchment", "Main acute hospital", "", "acute hospital nearest to most of the hub's patients",
       "text"),
    _m("catchment_share", "Acute catchment coherence", "%",
       "share of the hub's placed patients whose nearest acute hospital is the main one", "share", "higher"),
    _m("imd_mean_decile", "Mean IMD decile", "decile",
       "patient-weighted mean IMD 2019 decile of home LSOAs (1 = most deprived 10%)", "decile"),
    _m("imd_most_deprived_share", "Most deprived share", "%", "share of placed patients living in IMD deciles 1-2",
       "share"),
    _m("risk_mean", "Mean risk", "index 0-1", "patient-weighted mean sustainability risk of member practices",
       "index", "lower"),
    _m("high_risk_share", "High-risk share", "%", "share of patients registered at high-risk practices", "share",
       "lower"),
    _m("high_risk_practices", "High-risk practices", "count", "member practices flagged high risk", "count",
       "lower"),
    _m("anchors", "Anchor practices", "count", "resilient member practices (see docs/risk.md)", "count", "higher"),
    _m("has_anchor", "Has an anchor", "yes/no", "at least one anchor practice", "flag", "higher"),
    _m("lads", "Districts spanned", "count", "distinct districts of member practice sites", "count", "lower"),
    _m("sub_icbs", "Sub-ICBs spanned", "count", "distinct sub-ICB locations of member practices", "count", "lower"),
)}

#: Plan metrics, in summary order (the fields of :class:`PlanSummary`).
PLAN: dict[str, Metric] = {m.key: m for m in (
    _m("hubs", "Hubs", "count", "number of hubs", "count"),
    _m("hubs_in_band", "Hubs in band", "count", "hubs whose patients lie within the bounds", "count"),
    _m("hubs_out_of_band", "Hubs out of band", "count", "hubs below the minimum or above the maximum", "count",
       "lower"),
    _m("non_contiguous_hubs", "Non-contiguous hubs", "count", "hubs in more than one piece", "count", "lower"),
    _m("patients", "Patients", "patients", "registered patients in the plan", "patients"),
    _m("smallest_hub", "Smallest hub", "patients", "patients of the smallest hub", "patients"),
    _m("largest_hub", "Largest hub", "patients", "patients of the largest hub", "patients"),
    _m("travel_mean_min", "Mean travel", "minutes",
       "mean car minutes from home to hub base, over all placed patients", "minutes", "lower"),
    _m("travel_p90_min", "90th percentile travel", "minutes",
       "90th percentile of home-to-base minutes over all placed patients", "minutes", "lower"),
    _m("worst_hub_travel_p90_min", "Worst hub 90th percentile", "minutes",
       "the longest 90th percentile travel of any hub", "minutes", "lower"),
    _m("town_outside_share", "Outside main town", "%",
       "share of placed patients living outside their hub's main town", "share", "lower",
       "*_outside_share = sum_S (sum_l n_S[l] - max_c n_S[c]) / sum_S sum_l n_S[l]"),
    _m("lad_outside_share", "Outside main district", "%",
       "share of placed patients living outside their hub's main district", "share", "lower",
       "*_outside_share = sum_S (sum_l n_S[l] - max_c n_S[c]) / sum_S sum_l n_S[l]"),
    _m("catchment_outside_share", "Outside main acute catchment", "%",
       "share of placed patients whose nearest acute hospital is not their hub's main one", "share", "lower",
       "*_outside_share = sum_S (sum_l n_S[l] - max_c n_S[c]) / sum_S sum_l n_S[l]"),
    _m("towns_split", "Towns split", "count",
       "towns (by practice site) small enough for one hub whose practices are in more than one hub", "count",
       "lower"),
    _m("lad_crossings", "District crossings", "count", "hubs whose practice sites span more than one district",
       "count", "lower"),
    _m("sub_icb_crossings", "Sub-ICB crossings", "count", "hubs whose practices span more than one sub-ICB",
       "count", "lower"),
    _m("cut_edges", "Cut edges", "count", "practice-graph edges joining practices in different hubs", "count",
       "lower"),
    _m("hubs_without_anchor", "Hubs without an anchor", "count", "hubs with no resilient practice", "count",
       "lower"),
    _m("max_high_risk_share", "Worst high-risk share", "%",
       "largest hub share of patients at high-risk practices", "share", "lower"),
    _m("practices_moved", "Practices moved", "count",
       "practices whose baseline PCN is not the baseline PCN of their hub's base site", "count", "lower",
       "practices_moved = |{p : pcn0(p) != pcn0(b(S(p)))}|"),
    _m("pcn_pairs_broken", "Baseline pairs broken", "count",
       "pairs of practices together in the baseline and apart in this plan", "count", "lower",
       "pcn_pairs_broken = sum_P [C(|P|,2) - sum_S C(|P cap S|,2)]"),
    _m("travel_mean_spread_min", "Travel spread", "minutes", "largest minus smallest hub mean travel", "minutes",
       "lower", "travel_mean_spread_min = max_S travel_mean - min_S travel_mean"),
    _m("travel_mean_cv", "Travel variation", "ratio", "coefficient of variation of hub mean travel", "ratio",
       "lower", "travel_mean_cv = std_S(travel_mean) / mean_S(travel_mean)"),
    _m("imd_deprived_share_spread", "Deprivation spread", "%",
       "largest minus smallest hub share of patients in IMD deciles 1-2", "share", "lower"),
)}


def metric(key: str, level: Literal["plan", "hub"] = "plan") -> Metric:
    """The registered metric ``key`` of a plan (default) or of a hub.

    Raises
    ------
    KeyError
        Naming the known keys, if ``key`` is not registered.
    """
    table = PLAN if level == "plan" else HUB
    try:
        return table[key]
    except KeyError:
        raise KeyError(f"no {level} metric {key!r}; known: {', '.join(table)}") from None


class PlanSummary(dict[str, Any]):
    """A plan's measures: one typed, read-only entry per plan metric (:data:`PLAN`), in registry order.

    Read it as attributes (``summary.travel_mean_min``) or as a mapping
    (``summary["hubs"]``). It is a ``dict`` underneath, so pandas, JSON and
    ``dict(summary)`` take it as they are; every way of changing it raises
    ``TypeError``.

    Raises
    ------
    ValueError
        When built without exactly the plan metrics.
    """

    hubs: int
    hubs_in_band: int
    hubs_out_of_band: int
    non_contiguous_hubs: int
    patients: int
    smallest_hub: int
    largest_hub: int
    travel_mean_min: float
    travel_p90_min: float
    worst_hub_travel_p90_min: float
    town_outside_share: float
    lad_outside_share: float
    catchment_outside_share: float
    towns_split: int
    lad_crossings: int
    sub_icb_crossings: int
    cut_edges: int
    hubs_without_anchor: int
    max_high_risk_share: float
    practices_moved: int
    pcn_pairs_broken: int
    travel_mean_spread_min: float
    travel_mean_cv: float
    imd_deprived_share_spread: float

    def __init__(self, **values: Any) -> None:
        if set(values) != set(PLAN):
            missing, extra = sorted(set(PLAN) - set(values)), sorted(set(values) - set(PLAN))
            raise ValueError(f"a plan summary holds exactly the plan metrics (missing {missing}, unknown {extra})")
        kinds = self.__class__.__annotations__
        super().__init__((k, int(values[k]) if kinds[k] == "int" else float(values[k])) for k in PLAN)

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"no plan metric {name!r}") from None

    def _read_only(self, *_args: Any, **_kwargs: Any) -> None:
        raise TypeError("a plan summary is read-only: score the plan again to change it")

    __setitem__ = __delitem__ = __setattr__ = __delattr__ = _read_only
    clear = pop = popitem = setdefault = update = __ior__ = _read_only  # type: ignore[assignment]

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(self.items()))

    def __reduce__(self) -> tuple[Any, ...]:  # pickles (Dask workers) rebuild it through __init__
        return (_rebuild_summary, (dict(self),))

    def __repr__(self) -> str:
        return f"PlanSummary({dict.__repr__(self)})"

    def to_dict(self) -> dict[str, Any]:
        """A plain, writable copy."""
        return dict(self)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> PlanSummary:
        """From a mapping with every plan metric (extra keys are ignored)."""
        return cls(**{k: data[k] for k in PLAN})


def _rebuild_summary(values: dict[str, Any]) -> PlanSummary:
    return PlanSummary(**values)
