"""The scorecard: every measure of a plan, per hub and for the whole plan.

Each metric is declared once, in :mod:`pcn_planner.scoring.metrics` (and
``docs/metrics.md``); this module computes the values. A plan is scored in a *scoring context*: the region and
the compiled problem (:class:`~pcn_planner.model.instance.Instance`: bounds,
weights, rules, growth, baseline). The context defines each hub's base site
(:meth:`Instance.bases`), which practices have moved, and the rules whose
breaches the card lists (:mod:`pcn_planner.model.rules`). Travel is measured
from each patient's home LSOA centroid to the hub's base site.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from pcn_planner.core.pieces import connected_pieces
from pcn_planner.geography.shapes import hub_geometry
from pcn_planner.model import rules
from pcn_planner.model.instance import Instance, compile_problem
from pcn_planner.model.plan import Plan
from pcn_planner.model.problem import Bounds, Problem
from pcn_planner.model.rules import Violation
from pcn_planner.scoring.metrics import HUB, PLAN, PlanSummary

if TYPE_CHECKING:
    import geopandas as gpd

    from pcn_planner.geography.region import Region


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """The smallest value at or below which at least ``q`` of the weight lies."""
    keep = weights > 0
    if not keep.any():
        return float("nan")
    order = np.argsort(values[keep], kind="stable")
    v, w = values[keep][order], weights[keep][order]
    cum = np.cumsum(w)
    return float(v[np.searchsorted(cum, q * cum[-1] - 1e-9)])


def _dominant(region: Region, pos: np.ndarray, kind: str) -> tuple[str, float, float]:
    """(main community, its patients, all placed patients) of a hub."""
    counts = region.community[kind][pos].sum(axis=0)
    j = int(np.argmax(counts))
    return region.community_names[kind][j], float(counts[j]), float(counts.sum())


def hub_row(region: Region, members: list[str], imd: np.ndarray, risk: pd.DataFrame,
            population: np.ndarray, base: int) -> dict:
    """Every hub metric but the rule verdicts, for a hub served from ``base`` (a position)."""
    pos = region.positions(members)
    pop = population[pos]
    lsoa_patients = region.patients[pos].sum(axis=0)
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
        One row per hub (index ``hub_id``); columns are the hub metrics
        (:data:`~pcn_planner.scoring.metrics.HUB`) plus
        ``hub_name`` and ``base_name``.
    summary
        Plan-level measures (:class:`~pcn_planner.scoring.metrics.PlanSummary`, typed and frozen;
        ``summary["hubs"]`` works too).
    problems
        Every broken rule in words, e.g. ``"hub H07 (Stafford): 71,240 patients > max 70,000"``.
    baseline_name
        Name of the plan that disruption is measured against.
    violations
        The same breaches with the rule each one breaks (:mod:`pcn_planner.model.rules`).
    region
        The region the plan was scored on.
    instance
        The compiled problem that made the scoring context (bounds, weights,
        rules, growth, baseline, and the links added to the practice graph).
    """

    plan: Plan
    hubs: pd.DataFrame
    summary: PlanSummary
    violations: tuple[Violation, ...] = field(repr=False)
    region: Region = field(repr=False)
    instance: Instance = field(repr=False)

    @property
    def bounds(self) -> Bounds:
        """Population bounds of the band checks (the scoring context's)."""
        return self.instance.problem.bounds

    @property
    def problems(self) -> list[str]:
        """Every broken rule in words: the texts of :attr:`violations`."""
        return [v.text for v in self.violations]

    @property
    def baseline_name(self) -> str:
        """Name of the plan that disruption is measured against."""
        return self.instance.baseline_name

    def hub_breaches(self, hub_id: Hashable) -> list[str]:
        """The rules one hub breaks, in words without its name (e.g. ``["71,240 patients > max 70,000"]``)."""
        ids = list(self.hubs.index)
        return [v.detail for v in self.violations if v.hub is not None and ids[v.hub] == hub_id]

    @property
    def flagged_hubs(self) -> list[str]:
        """Hub ids that break at least one rule, sorted."""
        ids = list(self.hubs.index)
        return sorted({ids[v.hub] for v in self.violations if v.hub is not None})

    @property
    def added_links(self) -> pd.DataFrame:
        """Links the problem added to the practice graph (``practice_a, practice_b, reason``)."""
        rows = [(self.instance.codes[u], self.instance.codes[v], why) for u, v, why in self.instance.nesting_links]
        return pd.DataFrame(rows, columns=["practice_a", "practice_b", "reason"])

    @cached_property
    def geometry(self) -> gpd.GeoDataFrame:
        """Hub polygons (dissolved territories) with the hub table joined."""
        shapes = hub_geometry(self.region.atlas, self.region.territory, self.plan.assignment)
        return shapes.drop(columns=shapes.columns.intersection(self.hubs.columns)).join(self.hubs, how="left")

    @property
    def feasible(self) -> bool:
        """Every hub in band and contiguous."""
        return not self.problems

    def summary_frame(self) -> pd.DataFrame:
        """Plan measures as a table with plain-English names and units."""
        rows = [(PLAN[k].label, v, PLAN[k].unit) for k, v in self.summary.items()]
        return pd.DataFrame(rows, columns=["measure", "value", "unit"]).set_index("measure")

    def to_csv(self, path: str | Path) -> None:
        """Write the hub table (one row per hub) atomically."""
        from pcn_planner.core.files import atomic_write_text

        atomic_write_text(path, self.hubs.round(4).to_csv(lineterminator="\n"))

    def write(self, out: str | Path, *, command: str = "evaluate", map_html: bool = True) -> Path:
        """Write this scored plan as a run folder (plan, scorecard, summary, manifest, map); return its path.

        The manifest records every input that shaped the scores, so ``report``
        and ``compare`` score the folder exactly as here
        (:class:`pcn_planner.outputs.run.Run`).
        """
        from pcn_planner.outputs.run import run_manifest, write_run

        return write_run(out, self, run_manifest(self, command=command), map_html=map_html)

    def _repr_html_(self) -> str:
        from html import escape

        columns = ["hub_name", "patients", "practices", "band", "contiguous", "base_name", "travel_mean_min",
                   "travel_p90_min", "dominant_town", "town_share", "high_risk_share", "has_anchor"]
        shown = self.hubs[columns].rename(columns={"hub_name": "Hub", "base_name": HUB["base_practice"].label,
                                                   **{c: HUB[c].label for c in columns if c in HUB}})
        formats = {HUB[c].label: HUB[c].format for c in columns if c in HUB and HUB[c].kind != "text"}
        styler = shown.style.format(formats).apply(
            lambda col: ["background:#fde0dd" if v != "ok" else "" for v in col], subset=[HUB["band"].label])
        head = f"<h4>{escape(self.plan.name)}: {self.summary['hubs']} hubs, bounds {self.bounds}</h4>"
        issues = "".join(f"<li>{escape(p)}</li>" for p in self.problems) or "<li>every rule kept</li>"
        return head + f"<ul>{issues}</ul>" + styler.to_html()

    def __repr__(self) -> str:
        s = self.summary
        return (f"<Scorecard {self.plan.name!r}: {s['hubs']} hubs, {s['hubs_out_of_band']} out of band, "
                f"{s['non_contiguous_hubs']} non-contiguous, mean travel {s['travel_mean_min']:.1f} min>")


def score_plan(
    region: Region,
    plan: Plan,
    *,
    problem: Problem | None = None,
    bounds: Bounds | None = None,
    baseline: Plan | None = None,
    instance: Instance | None = None,
) -> Scorecard:
    """Score a plan on population, contiguity, travel, communities, risk and disruption.

    Parameters
    ----------
    region
        From :func:`pcn_planner.geography.region.build_region`.
    plan
        Must assign every practice of the region exactly once.
    problem
        The rules, weights and growth the plan is judged under (default: the
        default problem with K set to the plan's number of hubs). The weights
        choose each hub's base site; the rules are the breaches listed.
    bounds
        Inclusive population bounds for each hub (overrides the problem's).
    baseline
        Plan that disruption is measured against (default: the current PCNs).
    instance
        An already compiled scoring context (``compile_problem(problem,
        region, baseline)``); when given, ``problem``, ``bounds`` and
        ``baseline`` must not be.

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
    if instance is None:
        problem = problem if problem is not None else Problem(k=max(plan.k, 1))
        if bounds is not None:
            problem = problem.with_(bounds=bounds)
        instance = compile_problem(problem, region, baseline)
    elif problem is not None or bounds is not None or baseline is not None:
        raise ValueError("pass either a compiled instance or problem/bounds/baseline, not both")
    return score_instance(region, instance, plan)


def score_instance(region: Region, inst: Instance, plan: Plan) -> Scorecard:
    """Score a plan in a compiled scoring context (see :func:`score_plan`)."""
    bounds = inst.problem.bounds
    plan = plan.on(region, bounds=bounds)  # checks the plan covers the region; the card's plan can draw itself
    imd = region.atlas.lsoas.loc[region.travel.index, "imd_decile"].to_numpy(dtype=float, na_value=np.nan)
    risk = region.risk.table
    population = inst.population

    members = plan.members()
    ids = list(members)
    hubs_pos = [region.positions(m) for m in members.values()]
    bases = inst.bases(hubs_pos)
    if any(b < 0 for b in bases):  # no member may serve the whole hub (nesting): judge travel from its own best site
        bases = [b if b >= 0 else int(pos[np.argmin(region.travel_cost[np.ix_(pos, pos)].sum(axis=0))])
                 for b, pos in zip(bases, hubs_pos, strict=True)]
    moved = set(inst.moved_positions(hubs_pos, bases))
    plain_adjacency = _plain_adjacency(region, inst)
    rows = {}
    for hub, pos, base in zip(ids, hubs_pos, bases, strict=True):
        row = hub_row(region, members[hub], imd, risk, population, base)
        pieces = rules.Contiguity.pieces(inst, pos)
        row["_pieces"] = len(pieces)
        row["_via_link"] = len(pieces) == 1 and len(connected_pieces(pos, plain_adjacency)) > 1
        row["moved"] = sum(1 for p in pos if int(p) in moved)
        rows[hub] = row
    hubs = pd.DataFrame.from_dict(rows, orient="index")
    hubs.index.name = "hub_id"
    hubs.insert(0, "hub_name", [plan.label(h) for h in hubs.index])
    hubs.insert(3, "band", [bounds.status(p) for p in hubs["patients"]])
    hubs.insert(4, "contiguous", (hubs["_pieces"] == 1).to_numpy(bool))
    hubs.insert(5, "components", hubs["_pieces"].astype(int).to_numpy())
    hubs.insert(6, "via_added_link", hubs["_via_link"].astype(bool).to_numpy())

    labels = [f"hub {h} ({plan.label(h)})" if plan.label(h) != h else f"hub {h}" for h in ids]
    violations = tuple(rules.check_plan(inst, hubs_pos, labels))

    # pooled travel over all placed patients
    minutes = np.concatenate([r["_minutes"] for r in rows.values()])
    weights = np.concatenate([r["_lsoa_patients"] for r in rows.values()])
    placed = weights.sum()
    outside = {k: sum(r[f"_{k}_outside"] for r in rows.values()) / placed for k in ("town", "lad", "catchment")}

    pc = region.practice_comm.loc[list(plan.assignment.index)]
    sizes = pd.Series(population, index=list(region.codes))
    town_sizes = sizes.groupby(region.practice_comm.loc[list(region.codes), "town"]).sum()
    hubs_per_town = plan.assignment.groupby(pc["town"]).nunique()
    towns_split = int(((hubs_per_town > 1) & (town_sizes.reindex(hubs_per_town.index) <= bounds.max)).sum())
    a = plan.assignment
    cut = sum(1 for u, v in region.graph.edges if a[u] != a[v])
    same_base = pd.Series(inst.baseline_hub, index=list(inst.codes)).reindex(a.index)
    pairs_broken = 0
    for _, group in a.groupby(same_base):
        hubs_in = group.value_counts()
        n = int(hubs_in.sum())
        pairs_broken += n * (n - 1) // 2 - int((hubs_in * (hubs_in - 1) // 2).sum())

    travel_means = hubs["travel_mean_min"]
    summary = PlanSummary(
        hubs=len(hubs),
        hubs_in_band=int((hubs["band"] == "ok").sum()),
        hubs_out_of_band=int((hubs["band"] != "ok").sum()),
        non_contiguous_hubs=int((~hubs["contiguous"]).sum()),
        patients=int(hubs["patients"].sum()),
        smallest_hub=int(hubs["patients"].min()),
        largest_hub=int(hubs["patients"].max()),
        travel_mean_min=float(weights @ minutes / placed),
        travel_p90_min=weighted_quantile(minutes, weights, 0.9),
        worst_hub_travel_p90_min=float(hubs["travel_p90_min"].max()),
        town_outside_share=float(outside["town"]),
        lad_outside_share=float(outside["lad"]),
        catchment_outside_share=float(outside["catchment"]),
        towns_split=towns_split,
        lad_crossings=int((hubs["lads"] > 1).sum()),
        sub_icb_crossings=int((hubs["sub_icbs"] > 1).sum()),
        cut_edges=int(cut),
        hubs_without_anchor=int((~hubs["has_anchor"]).sum()),
        max_high_risk_share=float(hubs["high_risk_share"].max()),
        practices_moved=len(moved),
        pcn_pairs_broken=int(pairs_broken),
        travel_mean_spread_min=float(travel_means.max() - travel_means.min()),
        travel_mean_cv=float(travel_means.std(ddof=0) / travel_means.mean()),
        imd_deprived_share_spread=float(hubs["imd_most_deprived_share"].max() - hubs["imd_most_deprived_share"].min()),
    )
    hubs = hubs.drop(columns=[c for c in hubs.columns if c.startswith("_")])
    return Scorecard(plan=plan, hubs=hubs, summary=summary, violations=violations, region=region, instance=inst)


def _plain_adjacency(region: Region, inst: Instance) -> tuple[tuple[int, ...], ...]:
    """The practice graph's own adjacency, without the links the problem added."""
    if not inst.nesting_links:
        return inst.adjacency
    added = {(u, v) for u, v, _ in inst.nesting_links}
    adj: list[list[int]] = [[] for _ in range(inst.n)]
    for u, v in inst.edges:
        if (int(u), int(v)) not in added:
            adj[int(u)].append(int(v))
            adj[int(v)].append(int(u))
    return tuple(tuple(a) for a in adj)
