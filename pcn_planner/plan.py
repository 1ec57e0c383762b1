"""Plans: an immutable assignment of every practice to one hub.

A plan file is a CSV with the columns ``practice_code,hub_id`` (an optional
``hub_name`` column labels hubs), one row per practice of the region. Every
command that reads a plan accepts exactly this.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .errors import InputError
from .files import atomic_write_text
from .tables import Column, first_row_where, read_table


@dataclass(frozen=True, eq=False)
class Plan:
    """Every practice of a region assigned to exactly one hub.

    Attributes
    ----------
    assignment
        ``hub_id`` (str) indexed by ``practice_code``, sorted by practice code.
    name
        Short name for the plan, shown on maps and reports.
    labels
        Optional readable label per hub id (e.g. the current PCN's name).
    """

    assignment: pd.Series
    name: str = "plan"
    labels: Mapping[str, str] = field(default_factory=dict)

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
        """A plan from ``{practice_code: hub_id}``."""
        return cls(pd.Series({str(k): str(v) for k, v in mapping.items()}), name, labels or {})

    @classmethod
    def current(cls, practices: pd.DataFrame, name: str = "current PCNs") -> Plan:
        """Today's PCN map: each practice in its current PCN, labelled by the PCN's name."""
        a = pd.Series(practices["pcn_code"].to_numpy(), index=practices["practice_code"].to_numpy())
        labels = dict(zip(practices["pcn_code"], practices["pcn_name"]))
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
        """Write the plan file atomically."""
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
        match = {joint.index[r]: joint.columns[c] for r, c in zip(rows, cols)}
        return sorted(p for p, h in self.assignment.items() if match.get(h) != baseline.assignment.get(p))

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


def partition_key(plan: Plan) -> frozenset[frozenset[str]]:
    """The plan as a set of practice sets, ignoring hub ids."""
    return frozenset(frozenset(m) for m in plan.members().values())


def read_plan_csv(path: str | Path, practice_codes: Iterable[str], name: str | None = None) -> Plan:
    """Read and validate a plan file against the region's practices.

    Raises
    ------
    InputError
        Missing columns, an empty hub id, an unknown or duplicate practice code
        (naming the row), or practices of the region the file leaves out.
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
        labels = {h: n for h, n in zip(frame["hub_id"], frame["hub_name"]) if n}
    return Plan(pd.Series(frame["hub_id"].to_numpy(), index=frame["practice_code"].to_numpy()),
                name or path.stem, labels)


def _has_column(path: Path, column: str) -> bool:
    try:
        with open(path, encoding="utf-8-sig") as fh:
            header = fh.readline()
    except (OSError, UnicodeDecodeError):
        return False
    return column in [c.strip() for c in header.split(",")]
