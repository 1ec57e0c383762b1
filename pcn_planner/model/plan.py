"""Plans: an immutable assignment of every practice to one hub.

A plan file is a CSV with the columns ``practice_code,hub_id`` (an optional
``hub_name`` column labels hubs), one row per practice of the region. Every
command that reads a plan accepts exactly this.

A plan that knows its region (``plan.on(region)``; plans from
:func:`~pcn_planner.scoring.scorecard.score_plan` and :func:`~pcn_planner.optimise.optimise`
do) shows itself in Jupyter as an offline map; otherwise as a table of hubs.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from pcn_planner.core.errors import InputError
from pcn_planner.core.files import atomic_write_text
from pcn_planner.core.tables import Column, first_row_where, read_table

if TYPE_CHECKING:
    from pcn_planner.geography.region import Region
    from pcn_planner.model.problem import Bounds
    from pcn_planner.outputs.maps.offline import OfflineMap

#: Practice codes listed per hub in the notebook table of a plan without a region.
_MEMBERS_SHOWN = 6


@dataclass(frozen=True, eq=False)
class Plan:
    """Every practice of a region assigned to exactly one hub.

    Plans are immutable and compare equal when they group the practices the
    same way, whatever the hub ids (``==`` and ``hash`` ignore ids, name,
    labels and region).

    Parameters
    ----------
    assignment
        Hub id per practice code (a Series indexed by practice code); ids
        and codes are turned into strings.
    name
        Short name for the plan, shown on maps and reports.
    labels
        Optional readable label per hub id (e.g. the current PCN's name).
    region
        Optional region the plan belongs to; with it the plan can draw itself
        (:meth:`explore`, and as a map in Jupyter). Set it with :meth:`on`.
    bounds
        Population bounds the plan was made under, used by the map's flags
        (default 30,000-70,000). Set it with :meth:`on`.

    Attributes
    ----------
    assignment
        ``hub_id`` (str) indexed by ``practice_code``, sorted by practice code.
    name, labels, region, bounds
        As given.

    Raises
    ------
    ValueError
        If a practice is assigned twice.

    See Also
    --------
    read_plan_csv : read a plan file.
    pcn_planner.score_plan : measure a plan.

    Examples
    --------
    >>> import pcn_planner as pp
    >>> plan = pp.Plan.from_mapping({"A": "north", "B": "north", "C": "south"}, name="option A")
    >>> plan
    <Plan 'option A': 3 practices in 2 hubs>
    >>> plan.members()
    {'north': ['A', 'B'], 'south': ['C']}

    Today's PCNs of the embedded region, shown as a map in Jupyter:

    >>> region = pp.build_region()
    >>> today = pp.Plan.current(region.atlas.practices).on(region)
    >>> today            # in a notebook: the offline map  # doctest: +SKIP
    >>> today.explore().save("today.html")  # the full map as one page  # doctest: +SKIP
    """

    assignment: pd.Series
    name: str = "plan"
    labels: Mapping[str, str] = field(default_factory=dict)
    region: Region | None = field(default=None, repr=False, compare=False)
    bounds: Bounds | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        a = pd.Series(self.assignment, dtype=str).astype(str)
        a.index = a.index.astype(str)
        a = a.sort_index()
        a.index.name, a.name = "practice_code", "hub_id"
        if a.index.has_duplicates:
            raise ValueError(f"practice {a.index[a.index.duplicated()][0]} is assigned twice")
        object.__setattr__(self, "assignment", a)
        object.__setattr__(self, "labels", dict(self.labels))

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, object], name: str = "plan",
                     labels: Mapping[str, str] | None = None) -> Plan:
        """A plan from ``{practice_code: hub_id}``.

        Parameters
        ----------
        mapping
            Hub id of each practice code (both turned into strings).
        name
            Short name for the plan.
        labels
            Optional readable label per hub id.

        Returns
        -------
        Plan
        """
        return cls(pd.Series({str(k): str(v) for k, v in mapping.items()}), name, labels or {})

    @classmethod
    def current(cls, practices: pd.DataFrame, name: str = "current PCNs") -> Plan:
        """Today's PCN map: each practice in its current PCN, labelled by the PCN's name.

        Parameters
        ----------
        practices
            ``atlas.practices`` (columns ``practice_code``, ``pcn_code``, ``pcn_name``).
        name
            Short name for the plan.

        Returns
        -------
        Plan
            Hub ids are PCN codes.
        """
        a = pd.Series(practices["pcn_code"].to_numpy(), index=practices["practice_code"].to_numpy())
        labels = dict(zip(practices["pcn_code"], practices["pcn_name"], strict=True))
        return cls(a, name, labels)

    @property
    def hubs(self) -> list[str]:
        """Hub ids, sorted."""
        return sorted(self.assignment.unique())

    @property
    def k(self) -> int:
        """Number of hubs."""
        return int(self.assignment.nunique())

    def members(self) -> dict[str, list[str]]:
        """Sorted practice codes of each hub."""
        return {h: sorted(g.index) for h, g in self.assignment.groupby(self.assignment, sort=True)}

    def label(self, hub_id: str) -> str:
        """Readable label of a hub (its id when none was given)."""
        return self.labels.get(hub_id, hub_id)

    def to_frame(self) -> pd.DataFrame:
        """``practice_code, hub_id`` (and ``hub_name`` when labelled), one row per practice."""
        frame = self.assignment.reset_index()
        if self.labels:
            frame["hub_name"] = frame["hub_id"].map(self.label)
        return frame

    def to_csv(self, path: str | Path) -> Path:
        """Write the plan file (``practice_code,hub_id[,hub_name]``) atomically; return its path."""
        return atomic_write_text(path, self.to_frame().to_csv(index=False, lineterminator="\n"))

    def moved_from(self, baseline: Plan) -> list[str]:
        """Practices whose hub is not the baseline hub matched to it.

        Hub ids differ between plans, so hubs are paired one-to-one with
        baseline hubs to maximise the practices they share (an assignment
        problem); a practice moved if its new hub is not paired with its
        baseline hub. Unpaired hubs (when the plans have different numbers of
        hubs) count all their practices as moved.
        """
        from scipy.optimize import linear_sum_assignment

        joint = pd.crosstab(self.assignment, baseline.assignment.reindex(self.assignment.index))
        rows, cols = linear_sum_assignment(-joint.to_numpy())
        match = {joint.index[r]: joint.columns[c] for r, c in zip(rows, cols, strict=True)}
        return sorted(p for p, h in self.assignment.items() if match.get(h) != baseline.assignment.get(p))

    def on(self, region: Region, *, bounds: Bounds | None = None) -> Plan:
        """The same plan, knowing its region (and bounds), so that it can draw itself.

        Parameters
        ----------
        region
            The region whose practices the plan assigns.
        bounds
            Population bounds for the map's flags; default: the plan's own,
            else 30,000-70,000.

        Returns
        -------
        Plan
            A copy; this plan is unchanged.

        Raises
        ------
        ValueError
            If the plan does not assign exactly the region's practices.
        """
        codes = set(region.codes)
        if set(self.assignment.index) != codes:
            missing = sorted(codes - set(self.assignment.index))
            extra = sorted(set(self.assignment.index) - codes)
            raise ValueError(f"plan {self.name!r} does not cover the region: "
                             f"missing {missing[:5]}, unknown {extra[:5]}")
        return replace(self, region=region, bounds=bounds if bounds is not None else self.bounds)

    def explore(self, region: Region | None = None, *, bounds: Bounds | None = None, gap: float | None = None,
                title: str | None = None, lsoa_layers: bool = True) -> OfflineMap:
        """The plan as an interactive map that needs no network, in Jupyter or saved.

        The plan is scored (:func:`~pcn_planner.scoring.scorecard.score_plan`) and drawn
        by :func:`~pcn_planner.outputs.maps.plan_map.plan_map`: hubs (flagged when out
        of band or in pieces), practices, hospitals and, optionally,
        deprivation and travel-time layers.

        Parameters
        ----------
        region
            Region to draw on; default the plan's own (see :meth:`on`).
        bounds
            Population bounds for the flags; default the plan's own, else 30,000-70,000.
        gap
            Certified optimality gap to show in the title block.
        title
            Heading of the title block; default the plan's name.
        lsoa_layers
            Include the deprivation and travel-time choropleths (about 0.8 MB
            more for the SSOT region).

        Returns
        -------
        pcn_planner.outputs.maps.offline.OfflineMap
            A ``folium.Map``; ``.save(path)`` writes one self-contained page.

        Raises
        ------
        ValueError
            If no region is given and the plan has none, or the plan does not
            cover the region.

        Examples
        --------
        >>> import pcn_planner as pp
        >>> region = pp.build_region()
        >>> m = pp.Plan.current(region.atlas.practices).explore(region)
        >>> m.save("today.html")  # doctest: +SKIP
        """
        from pcn_planner.model.problem import Bounds
        from pcn_planner.outputs.maps.plan_map import plan_map
        from pcn_planner.scoring.scorecard import score_plan

        region = region if region is not None else self.region
        if region is None:
            raise ValueError(f"plan {self.name!r} has no region to draw on: "
                             "pass one, plan.explore(region), or use plan.on(region)")
        bounds = bounds or self.bounds or Bounds()
        card = score_plan(region, self, bounds=bounds)
        return plan_map(card, gap=gap, title=title, lsoa_layers=lsoa_layers)

    def _repr_html_(self) -> str:
        """Jupyter: the plan's map (offline) when it knows its region, else a table of its hubs."""
        if self.region is not None:
            return self.explore(lsoa_layers=False)._repr_html_()
        return hub_table_html(self)

    def __len__(self) -> int:
        return len(self.assignment)

    def __eq__(self, other: object) -> bool:
        """Same partition of practices (hub ids may differ)."""
        if not isinstance(other, Plan):
            return NotImplemented
        return partition_key(self) == partition_key(other)

    def __hash__(self) -> int:
        return hash(partition_key(self))

    def __repr__(self) -> str:
        return f"<Plan {self.name!r}: {len(self)} practices in {self.k} hubs>"


def hub_table_html(plan: Plan) -> str:
    """A plan as an HTML table: one row per hub with its label, practice count and practices.

    Shown in Jupyter for a plan that does not know its region, with a hint
    how to see it as a map.
    """
    esc = html.escape
    rows = []
    for hub, members in plan.members().items():
        shown = ", ".join(members[:_MEMBERS_SHOWN]) + (f", … (+{len(members) - _MEMBERS_SHOWN})"
                                                      if len(members) > _MEMBERS_SHOWN else "")
        label = plan.labels.get(hub, "")
        rows.append(f"<tr><th>{esc(hub)}</th><td>{esc(label)}</td><td>{len(members)}</td><td>{esc(shown)}</td></tr>")
    head = "<tr><th>hub</th><th>label</th><th>practices</th><th>practice codes</th></tr>"
    return (f'<div class="pcn-plan"><p><b>{esc(plan.name)}</b>: {len(plan):,} practices in {plan.k} hubs</p>'
            f'<table class="dataframe"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'
            f'<p><i>To see it on a map: <code>plan.on(region)</code> or '
            f'<code>plan.explore(region)</code>.</i></p></div>')


def partition_key(plan: Plan) -> frozenset[frozenset[str]]:
    """The plan as a set of practice sets, ignoring hub ids."""
    return frozenset(frozenset(m) for m in plan.members().values())


def read_plan_csv(path: str | Path, practice_codes: Iterable[str], name: str | None = None) -> Plan:
    """Read and validate a plan file against the region's practices.

    Parameters
    ----------
    path
        A CSV with the columns ``practice_code,hub_id`` and optionally
        ``hub_name`` (hub labels), one row per practice.
    practice_codes
        Every practice code of the region (e.g. ``region.codes`` or
        ``atlas.practices.index``); the file must assign each exactly once.
    name
        Name of the plan; default the file name without its extension.

    Returns
    -------
    Plan
        Labelled from ``hub_name`` when the file has it. It does not know its
        region: ``plan.on(region)`` to show it as a map.

    Raises
    ------
    InputError
        Missing columns, an empty hub id, an unknown or duplicate practice code
        (naming the row), or practices of the region the file leaves out.

    Examples
    --------
    >>> import pcn_planner as pp
    >>> region = pp.build_region()
    >>> plan = pp.read_plan_csv("outputs/optimise-K23/plan.csv", region.codes)  # doctest: +SKIP
    >>> pp.score_plan(region, plan).summary["hubs_out_of_band"]  # doctest: +SKIP
    0
    """
    path = Path(path)
    frame = read_table(path, [Column("practice_code"), Column("hub_id"), Column("hub_name", required=False)]
                       if _has_column(path, "hub_name") else [Column("practice_code"), Column("hub_id")])
    codes = set(practice_codes)
    unknown = ~frame["practice_code"].isin(codes)
    if unknown.any():
        raise InputError(f"unknown practice code '{frame['practice_code'][unknown].iloc[0]}' "
                         "(not a practice of this region)",
                         file=path.name, row=first_row_where(unknown), field="practice_code")
    dup = frame["practice_code"].duplicated()
    if dup.any():
        code = frame["practice_code"][dup].iloc[0]
        first = first_row_where(frame["practice_code"] == code)
        raise InputError(f"practice '{code}' appears twice (first at row {first}); "
                         "each practice belongs to exactly one hub",
                         file=path.name, row=first_row_where(dup), field="practice_code")
    missing = sorted(codes - set(frame["practice_code"]))
    if missing:
        shown = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
        raise InputError(f"{len(missing)} practice(s) of the region have no hub: {shown}",
                         file=path.name, field="practice_code")
    labels = {}
    if "hub_name" in frame.columns:
        labels = {h: n for h, n in zip(frame["hub_id"], frame["hub_name"], strict=True) if n}
    return Plan(pd.Series(frame["hub_id"].to_numpy(), index=frame["practice_code"].to_numpy()),
                name or path.stem, labels)


def _has_column(path: Path, column: str) -> bool:
    try:
        with open(path, encoding="utf-8-sig") as fh:
            header = fh.readline()
    except (OSError, UnicodeDecodeError):
        return False
    return column in [c.strip() for c in header.split(",")]
