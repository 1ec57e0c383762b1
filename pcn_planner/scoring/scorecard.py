"""The scorecard: every measure of a plan, per hub and for the whole plan.

Each metric is defined once, here (``HUB_METRICS``, ``PLAN_METRICS``) and in
``docs/metrics.md``. A hub's *base site* is the member practice that
minimises its patients' total travel; travel is measured from each patient's
home LSOA centroid to that site.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from pcn_planner.geography.graph import contiguity_report, hub_geometry
from pcn_planner.model.plan import Plan
from pcn_planner.model.problem import Bounds

if TYPE_CHECKING:
    import geopandas as gpd

    from pcn_planner.geography.region import Region




#: Hub metrics: column -> (plain-English name, unit, definition).
HUB_METRICS: dict[str, tuple[str, str, str]] = {
    "patients": ("Patients", "patients", "registered patients of the member practices (list sizes)"),
    "practices": ("Practices", "count", "member practices"),
    "band": ("Population band", "", "whether the hub's patients lie within the inclusive bounds: ok, below min or above max"),
    "contiguous": ("Contiguous", "yes/no", "member practices form one connected piece of the practice graph"),
    "components": ("Pieces", "count", "connected pieces of the hub in the practice graph (1 when contiguous)"),
    "base_practice": ("Base site", "", "member practice whose site minimises the hub's total patient travel"),
    "travel_mean_min": ("Mean travel", "minutes",
                        "patient-weighted mean car minutes from home LSOA to the base site"),
    "travel_p90_min": ("90th percentile travel", "minutes",
                       "9 in 10 of the hub's patients live within this many car minutes of the base site"),
    "dominant_lad": ("Main district", "", "local authority district where most of the hub's patients live"),
    "lad_share": ("Main district share", "%", "share of the hub's placed patients living in its main district"),
    "dominant_town": ("Main town", "", "town where most of the hub's patients live"),
    "town_share": ("Main town share", "%", "share of the hub's placed patients living in its main town"),
    "dominant_catchment": ("Main acute hospital", "", "acute hospital nearest to most of the hub's patients"),
    "catchment_share": ("Acute catchment coherence", "%",
                        "share of the hub's placed patients whose nearest acute hospital is the main one"),
    "imd_mean_decile": ("Mean IMD decile", "decile",
                        "patient-weighted mean IMD 2019 decile of home LSOAs (1 = most deprived 10%)"),
    "imd_most_deprived_share": ("Most deprived share", "%",
                                "share of placed patients living in IMD deciles 1-2"),
    "risk_mean": ("Mean risk", "index 0-1", "patient-weighted mean sustainability risk of member practices"),
    "high_risk_share": ("High-risk share", "%", "share of patients registered at high-risk practices"),
    "high_risk_practices": ("High-risk practices", "count", "member practices flagged high risk"),
    "anchors": ("Anchor practices", "count", "resilient member practices (see docs/risk.md)"),
    "has_anchor": ("Has an anchor", "yes/no", "at least one anchor practice"),
    "lads": ("Districts spanned", "count", "distinct districts of member practice sites"),
    "sub_icbs": ("Sub-ICBs spanned", "count", "distinct sub-ICB locations of member practices"),
}

#: Plan metrics: key -> (plain-English name, unit, definition).
PLAN_METRICS: dict[str, tuple[str, str, str]] = {
    "hubs": ("Hubs", "count", "number of hubs"),
    "hubs_in_band": ("Hubs in band", "count", "hubs whose patients lie within the bounds"),
    "hubs_out_of_band": ("Hubs out of band", "count", "hubs below the minimum or above the maximum"),
    "non_contiguous_hubs": ("Non-contiguous hubs", "count", "hubs in more than one piece"),
    "patients": ("Patients", "patients", "registered patients in the plan"),
    "smallest_hub": ("Smallest hub", "patients", "patients of the smallest hub"),
    "largest_hub": ("Largest hub", "patients", "patients of the largest hub"),
    "travel_mean_min": ("Mean travel", "minutes", "mean car minutes from home to hub base, over all placed patients"),
    "travel_p90_min": ("90th percentile travel", "minutes", "90th percentile of home-to-base minutes over all placed patients"),
    "worst_hub_travel_p90_min": ("Worst hub 90th percentile", "minutes", "the longest 90th percentile travel of any hub"),
    "town_outside_share": ("Outside main town", "%", "share of placed patients living outside their hub's main town"),
    "lad_outside_share": ("Outside main district", "%", "share of placed patients living outside their hub's main district"),
    "catchment_outside_share": ("Outside main acute catchment", "%",
                                "share of placed patients whose nearest acute hospital is not their hub's main one"),
    "towns_split": ("Towns split", "count",
                    "towns (by practice site) small enough for one hub whose practices are in more than one hub"),
    "lad_crossings": ("District crossings", "count", "hubs whose practice sites span more than one district"),
    "sub_icb_crossings": ("Sub-ICB crossings", "count", "hubs whose practices span more than one sub-ICB"),
    "cut_edges": ("Cut edges", "count", "practice-graph edges joining practices in different hubs"),
    "hubs_without_anchor": ("Hubs without an anchor", "count", "hubs with no resilient practice"),
    "max_high_risk_share": ("Worst high-risk share", "%", "largest hub share of patients at high-risk practices"),
    "practices_moved": ("Practices moved", "count",
                        "practices whose baseline hub is not the one paired with their new hub (pairing maximises shared practices)"),
    "pcn_pairs_broken": ("Baseline pairs broken", "count",
                         "pairs of practices together in the baseline and apart in this plan"),
    "travel_mean_spread_min": ("Travel spread", "minutes", "largest minus smallest hub mean travel"),
    "travel_mean_cv": ("Travel variation", "ratio", "coefficient of variation of hub mean travel"),
    "imd_deprived_share_spread": ("Deprivation spread", "%",
                                  "largest minus smallest hub share of patients in IMD deciles 1-2"),
}


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """The smallest value at or below which at least ``q`` of the weight lies."""
    keep = weights > 0
    if not keep.any():
        return float("nan")
    order = np.argsort(values[keep], kind="stable")
    v, w = values[keep][order], weights[keep][order]
    cum = np.cumsum(w)
    return float(v[np.searchsorted(cum, q * cum[-1] - 1e-9)])


def base_site(region: Region, pos: np.ndarray) -> int:
    """Array position of the member whose site minimises the hub's patient-minutes."""
    totals = region.travel_cost[np.ix_(pos, pos)].sum(axis=0)
    return int(pos[int(np.argmin(totals))])


def _dominant(region: Region, pos: np.ndarray, kind: str) -> tuple[str, float, float]:
    """(main community, its patients, all placed patients) of a hub."""
    counts = region.community[kind][pos].sum(axis=0)
    j = int(np.argmax(counts))
    return region.community_names[kind][j], float(counts[j]), float(counts.sum())


def hub_row(region: Region, members: list[str], imd: np.ndarray, risk: pd.DataFrame,
            population: np.ndarray | None = None) -> dict:
    """Every hub metric except contiguity (which needs the whole plan)."""
    pos = region.positions(members)
    pop = (region.population if population is None else population)[pos]
    lsoa_patients = region.patients[pos].sum(axis=0)
    base = base_site(region, pos)
    minutes = region.travel.to_numpy()[:, base]
    placed = lsoa_patients.sum()
    row: dict = {
        "patients": int(pop.sum()),
        "practices": len(members),
        "base_practice": region.codes[base],
        "base_name": region.atlas.practices.at[region.codes[base], "name"],
        "travel_mean_min": float(lsoa_patients @ minutes / placed) if placed else float("nan"),
        "travel_p90_min": weighted_quantile(minutes, lsoa_patients, 0.9),
    }
    for kind, prefix in (("lad", "lad"), ("town", "town"), ("catchment", "catchment")):
        name, top, total = _dominant(region, pos, kind)
        row[f"dominant_{prefix}"] = name
        row[f"{prefix}_share"] = top / total if total else float("nan")
        row[f"_{prefix}_outside"] = total - top
    site_names = region.atlas.hospitals["name"]
    row["dominant_catchment"] = site_names.get(row["dominant_catchment"], row["dominant_catchment"])
    known = ~np.isnan(imd)
    w = lsoa_patients * known
    row["imd_mean_decile"] = float(w @ np.nan_to_num(imd) / w.sum()) if w.sum() else float("nan")
    row["imd_most_deprived_share"] = float(w @ (np.nan_to_num(imd) <= 2) / w.sum()) if w.sum() else float("nan")
    r = risk.loc[members]
    row["risk_mean"] = float(np.average(r["risk"], weights=pop))
    row["high_risk_share"] = float(pop[r["high_risk"].to_numpy(bool)].sum() / pop.sum())
    row["high_risk_practices"] = int(r["high_risk"].sum())
    row["anchors"] = int(r["anchor"].sum())
    row["has_anchor"] = row["anchors"] > 0
    comm = region.practice_comm.loc[members]
    row["lads"] = int(comm["lad"].nunique())
    row["sub_icbs"] = int(comm["sub_icb"].nunique())
    row["_placed"] = float(placed)
    row["_minutes"] = minutes
    row["_lsoa_patients"] = lsoa_patients
    return row


@dataclass(frozen=True, eq=False)
class Scorecard:
    """The measures of one plan.

    Attributes
    ----------
    plan
        The plan scored; it knows the region and bounds, so it shows as a map in Jupyter.
    bounds
        Population bounds used for the band checks.
    hubs
        One row per hub (index ``hub_id``); columns are ``HUB_METRICS`` plus
        ``hub_name`` and ``base_name``.
    summary
        Plan-level measures, keys of ``PLAN_METRICS``.
    problems
        Every broken rule in words, e.g. ``"hub H07: 71,240 patients > max 70,000"``.
    baseline_name
        Name of the plan that disruption is measured against.
    """

    plan: Plan
    bounds: Bounds
    hubs: pd.DataFrame
    summary: dict
    problems: list[str]
    baseline_name: str
    _region: Region = field(repr=False)

    @cached_property
    def geometry(self) -> gpd.GeoDataFrame:
        """Hub polygons (dissolved territories) with the hub table joined."""
        shapes = hub_geometry(self._region.atlas, self._region.territory, self.plan.assignment)
        return shapes.drop(columns=shapes.columns.intersection(self.hubs.columns)).join(self.hubs, how="left")

    @property
    def feasible(self) -> bool:
        """Every hub in band and contiguous."""
        return not self.problems

    def summary_frame(self) -> pd.DataFrame:
        """Plan measures as a table with plain-English names and units."""
        rows = [(PLAN_METRICS[k][0], v, PLAN_METRICS[k][1]) for k, v in self.summary.items() if k in PLAN_METRICS]
        return pd.DataFrame(rows, columns=["measure", "value", "unit"]).set_index("measure")

    def to_csv(self, path: str | Path) -> None:
        """Write the hub table (one row per hub) atomically."""
        from pcn_planner.core.files import atomic_write_text

        atomic_write_text(path, self.hubs.round(4).to_csv(lineterminator="\n"))

    def _repr_html_(self) -> str:
        styled = self.hubs[["hub_name", "patients", "practices", "band", "contiguous", "travel_mean_min",
                            "travel_p90_min", "dominant_town", "town_share", "high_risk_share", "has_anchor"]]
        styler = styled.style.format({
            "patients": "{:,.0f}", "travel_mean_min": "{:.1f}", "travel_p90_min": "{:.1f}",
            "town_share": "{:.0%}", "high_risk_share": "{:.0%}",
        }).apply(lambda col: ["background:#fde0dd" if v != "ok" else "" for v in col], subset=["band"])
        head = f"<h4>{self.plan.name}: {self.summary['hubs']} hubs, bounds {self.bounds}</h4>"
        issues = "".join(f"<li>{p}</li>" for p in self.problems) or "<li>every hub contiguous and in band</li>"
        return head + f"<ul>{issues}</ul>" + styler.to_html()

    def __repr__(self) -> str:
        s = self.summary
        return (f"<Scorecard {self.plan.name!r}: {s['hubs']} hubs, {s['hubs_out_of_band']} out of band, "
                f"{s['non_contiguous_hubs']} non-contiguous, mean travel {s['travel_mean_min']:.1f} min>")


def score_plan(
    region: Region,
    plan: Plan,
    *,
    bounds: Bounds = Bounds(),
    baseline: Plan | None = None,
    population: np.ndarray | None = None,
) -> Scorecard:
    """Score a plan on population, contiguity, travel, communities, risk and disruption.

    Parameters
    ----------
    region
        From :func:`pcn_planner.geography.region.build_region`.
    plan
        Must assign every practice of the region exactly once.
    bounds
        Inclusive population bounds for each hub.
    baseline
        Plan that disruption is measured against (default: the current PCNs).
    population
        List sizes to use instead of today's, in ``region.codes`` order (growth
        scenarios). Travel and community shares keep today's patient spread.

    Returns
    -------
    Scorecard
        Per-hub table, plan summary and every broken rule in words. Its
        ``plan`` knows the region and bounds, so it shows as a map in Jupyter.

    Raises
    ------
    ValueError
        If the plan does not assign exactly the region's practices.

    Examples
    --------
    >>> import pcn_planner as pp
    >>> region = pp.build_region()
    >>> today = pp.score_plan(region, pp.Plan.current(region.atlas.practices))
    >>> today.summary["hubs"], today.summary["hubs_out_of_band"]
    (25, 2)
    >>> today.feasible     # two PCNs are above 70,000 and five are in pieces
    False
    >>> today.plan         # in a notebook: the hubs on a map  # doctest: +SKIP
    """
    plan = plan.on(region, bounds=bounds)  # checks the plan covers the region; the card's plan can draw itself
    baseline = baseline or Plan.current(region.atlas.practices)
    imd = region.atlas.lsoas.loc[region.travel.index, "imd_decile"].to_numpy(dtype=float, na_value=np.nan)
    risk = region.risk.table

    rows = {}
    for hub, members in plan.members().items():
        rows[hub] = hub_row(region, members, imd, risk, population)
    contiguity = contiguity_report(region.graph, plan.assignment).set_index("hub_id")
    hubs = pd.DataFrame.from_dict(rows, orient="index")
    hubs.index.name = "hub_id"
    hubs.insert(0, "hub_name", [plan.label(h) for h in hubs.index])
    hubs.insert(3, "band", [bounds.status(p) for p in hubs["patients"]])
    hubs.insert(4, "contiguous", contiguity.loc[hubs.index, "contiguous"].astype(bool).to_numpy())
    hubs.insert(5, "components", contiguity.loc[hubs.index, "components"].astype(int).to_numpy())

    problems = []
    for hub, r in hubs.iterrows():
        if r["band"] == "below min":
            problems.append(f"hub {hub} ({r['hub_name']}): {r['patients']:,} patients < min {bounds.min:,}")
        elif r["band"] == "above max":
            problems.append(f"hub {hub} ({r['hub_name']}): {r['patients']:,} patients > max {bounds.max:,}")
        if not r["contiguous"]:
            problems.append(f"hub {hub} ({r['hub_name']}): not contiguous ({r['components']} pieces)")

    # pooled travel over all placed patients
    minutes = np.concatenate([r["_minutes"] for r in rows.values()])
    weights = np.concatenate([r["_lsoa_patients"] for r in rows.values()])
    placed = weights.sum()
    outside = {k: sum(r[f"_{k}_outside"] for r in rows.values()) / placed for k in ("town", "lad", "catchment")}

    pc = region.practice_comm.loc[list(plan.assignment.index)]
    sizes = pd.Series(region.population if population is None else population, index=list(region.codes))
    town_sizes = sizes.groupby(region.practice_comm.loc[list(region.codes), "town"]).sum()
    hubs_per_town = plan.assignment.groupby(pc["town"]).nunique()
    towns_split = int(((hubs_per_town > 1) & (town_sizes.reindex(hubs_per_town.index) <= bounds.max)).sum())
    a = plan.assignment
    cut = sum(1 for u, v in region.graph.edges if a[u] != a[v])
    same_base = baseline.assignment.reindex(a.index)
    pairs_broken = 0
    for _, group in a.groupby(same_base):
        hubs_in = group.value_counts()
        n = int(hubs_in.sum())
        pairs_broken += n * (n - 1) // 2 - int((hubs_in * (hubs_in - 1) // 2).sum())

    travel_means = hubs["travel_mean_min"]
    summary = {
        "hubs": int(len(hubs)),
        "hubs_in_band": int((hubs["band"] == "ok").sum()),
        "hubs_out_of_band": int((hubs["band"] != "ok").sum()),
        "non_contiguous_hubs": int((~hubs["contiguous"]).sum()),
        "patients": int(hubs["patients"].sum()),
        "smallest_hub": int(hubs["patients"].min()),
        "largest_hub": int(hubs["patients"].max()),
        "travel_mean_min": float(weights @ minutes / placed),
        "travel_p90_min": weighted_quantile(minutes, weights, 0.9),
        "worst_hub_travel_p90_min": float(hubs["travel_p90_min"].max()),
        "town_outside_share": float(outside["town"]),
        "lad_outside_share": float(outside["lad"]),
        "catchment_outside_share": float(outside["catchment"]),
        "towns_split": towns_split,
        "lad_crossings": int((hubs["lads"] > 1).sum()),
        "sub_icb_crossings": int((hubs["sub_icbs"] > 1).sum()),
        "cut_edges": int(cut),
        "hubs_without_anchor": int((~hubs["has_anchor"]).sum()),
        "max_high_risk_share": float(hubs["high_risk_share"].max()),
        "practices_moved": len(plan.moved_from(baseline)),
        "pcn_pairs_broken": int(pairs_broken),
        "travel_mean_spread_min": float(travel_means.max() - travel_means.min()),
        "travel_mean_cv": float(travel_means.std(ddof=0) / travel_means.mean()),
        "imd_deprived_share_spread": float(hubs["imd_most_deprived_share"].max() - hubs["imd_most_deprived_share"].min()),
    }
    hubs = hubs.drop(columns=[c for c in hubs.columns if c.startswith("_")])
    return Scorecard(plan=plan, bounds=bounds, hubs=hubs, summary=summary, problems=problems,
                     baseline_name=baseline.name, _region=region)
