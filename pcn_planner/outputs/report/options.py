"""Read run folders into the report's options: each plan scored again in its own run's context.

A run folder is what ``evaluate`` / ``optimise`` write (see
:mod:`pcn_planner.outputs.run`). :func:`load_options` reads them all before
scoring any, so a bad folder fails fast with the folder and file named; each
plan is then scored through :class:`~pcn_planner.outputs.run.Run`, with the
atlas, travel matrix, risk file, territory threshold, problem and baseline the
run recorded, never with defaults.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from pcn_planner.core.errors import InputError
from pcn_planner.outputs.report.words import _finite
from pcn_planner.outputs.run import RegionCache, Run

if TYPE_CHECKING:
    from pcn_planner.scoring.scorecard import Scorecard

__all__ = ["Option", "load_options", "slugify"]


@dataclass
class Option:
    """One option of the report: a run directory, scored again on the region.

    Attributes
    ----------
    name
        Shown on the pages (``names`` given to :func:`write_report`, else the plan's name).
    slug
        File-name form of ``name``, unique within the report.
    path
        The run directory.
    scorecard
        The plan scored again in its run's own context (:meth:`Run.scorecard`).
    manifest
        The run's ``manifest.json``.
    recorded
        The run's ``plan_summary.json``.
    notes
        Caveats shown on the option's page (e.g. scored with its own risk file).
    """

    name: str
    slug: str
    path: Path
    scorecard: Scorecard
    manifest: dict
    recorded: dict
    notes: list[str] = field(default_factory=list)

    @property
    def gap(self) -> float | None:
        return _finite(self.manifest.get("gap"))

    @property
    def objective(self) -> float | None:
        return _finite(self.manifest.get("objective"))

    @property
    def metrics(self) -> dict:
        """Plan measures, plus ``contiguous_hubs``, ``rules_broken``, ``objective`` and ``gap``."""
        s = dict(self.scorecard.summary)
        s["contiguous_hubs"] = s["hubs"] - s["non_contiguous_hubs"]
        s["rules_broken"] = len(self.scorecard.problems)
        s["objective"] = self.objective
        s["gap"] = self.gap
        return s



def slugify(name: str) -> str:
    """A file-name-safe form of a name: ``"K=23 optimised"`` -> ``"k23-optimised"``."""
    text = re.sub(r"[=']", "", str(name).lower())
    text = re.sub(r"[^a-z0-9]+", "-", text).strip("-")
    return text[:48].strip("-") or "option"


def _unique(values: Sequence[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for v in values:
        n = seen.get(v, 0)
        seen[v] = n + 1
        out.append(v if n == 0 else f"{v}-{n + 1}")
    return out


def _read_runs(run_dirs: Sequence[str | Path], names: Sequence[str] | None) -> list[Run]:
    """Every run folder read (not yet scored); InputError on the first bad one."""
    paths = [Path(p) for p in run_dirs]
    if not paths:
        raise InputError("no run folders given: a report needs at least one option")
    if names is not None and len(names) != len(paths):
        raise InputError(f"{len(names)} name(s) given for {len(paths)} run folders")
    return [Run.read(p) for p in paths]


def _notes(run: Run, first: Run) -> list[str]:
    """How the option's scoring context differs from the first option's, in words."""
    mine, theirs = run.inputs, first.inputs
    notes = []
    if mine.risk_file != theirs.risk_file:
        risk = f"its own risk file {Path(mine.risk_file).name}" if mine.risk_file else "the default risk index"
        notes.append(f"risk scored with {risk}")
    if mine.travel_matrix != theirs.travel_matrix:
        notes.append(f"travel from {Path(mine.travel_matrix).name if mine.travel_matrix else 'the travel model'}")
    if mine.min_share != theirs.min_share:
        notes.append(f"territory share {mine.min_share:g} (first option {theirs.min_share:g})")
    return notes


def load_options(run_dirs: Sequence[str | Path], names: Sequence[str] | None = None, *,
                 cache: RegionCache | None = None) -> list[Option]:
    """Read every run folder, then score each plan in its run's own context.

    Parameters
    ----------
    run_dirs
        Run folders, one per option, in the order shown.
    names
        Option names, one per folder (default: each plan's name).
    cache
        Regions already built, keyed by their inputs (runs on the same inputs share one).

    Raises
    ------
    InputError
        A run folder is missing, lacks one of its files (named), records an
        input that is missing or has changed (named), or its runs are of
        different practices; or ``names`` has the wrong length.
    """
    runs = _read_runs(run_dirs, names)
    atlases = {r.inputs.atlas_sha256 for r in runs}
    if len(atlases) > 1:
        raise InputError("the runs were made on different atlases; a report compares options of one region",
                         file=str(runs[-1].path / "manifest.json"), field="inputs.atlas_sha256")
    cache = {} if cache is None else cache
    cards = [r.scorecard(cache=cache) for r in runs]

    shown = [str(n) for n in names] if names is not None else [c.plan.name[:1].upper() + c.plan.name[1:]
                                                               for c in cards]
    if names is None:  # two runs of the same plan name: tell them apart by folder
        counts = pd.Series(shown).value_counts()
        shown = [f"{n} ({r.name})" if counts[n] > 1 else n for n, r in zip(shown, runs, strict=True)]
    slugs = _unique([slugify(n) for n in shown])
    return [Option(name=name, slug=slug, path=run.path, scorecard=card, manifest=run.manifest,
                   recorded=run.summary, notes=_notes(run, runs[0]))
            for run, card, name, slug in zip(runs, cards, shown, slugs, strict=True)]
