"""The options report: run directories side by side, as pages a board can read.

:func:`write_report` reads run directories (``evaluate`` / ``optimise``
output, see :mod:`pcn_planner.outputs.run`) and writes one folder::

    index.html              sortable table of the options, map thumbnails, glossary
    option-<slug>.html      per option: key figures, broken rules, map, charts, hub table
    map-<slug>.html         the interactive plan map (offline folium page), framed by the option page
    map-<slug>.png          a static map for slides (also :func:`plan_png`)
    plan-<slug>.csv         the plan file (practice_code,hub_id,hub_name)
    plan-<slug>.gpkg        hub polygons + practice points (GeoPackage)
    plan-<slug>.geojson     hub polygons with the hub table (GeoJSON)
    options.xlsx            "Options", one sheet per option, "Glossary"

Every page works straight from disk with no network: the styles, the sort
script and the charts (inline SVG from matplotlib) are in the page, and the
map is an offline page of its own. Metric names, units and definitions come
from :data:`~pcn_planner.scoring.scorecard.PLAN_METRICS` and
:data:`~pcn_planner.scoring.scorecard.HUB_METRICS`, so the report, the maps and
``docs/metrics.md`` use the same words.

Each plan is scored again on the region given (the hub polygons, map and
charts need the region); a note on the page says so when a run was made on
other data or settings. Files go to a staging folder and are moved into
``out`` only when all of them are complete; each file is written atomically.
"""

from __future__ import annotations

import html
import io
import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from pcn_planner.core.version import __version__
from pcn_planner.core.errors import InputError
from pcn_planner.core.files import atomic_write_bytes, atomic_write_text, staged_directory
from pcn_planner.scoring.scorecard import HUB_METRICS, PLAN_METRICS, score_plan
from pcn_planner.model.problem import Bounds

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from pcn_planner.geography.region import Region
    from pcn_planner.scoring.scorecard import Scorecard

__all__ = ["Option", "load_options", "plan_png", "slugify", "write_report"]

_esc = html.escape

# NHS identity colours (service manual) and the map's flag colour.
NHS_BLUE = "#005EB8"
NHS_DARK_BLUE = "#003087"
NHS_TEXT = "#212B32"
NHS_SECONDARY = "#4C6272"
NHS_GREY_5 = "#F0F4F5"
NHS_GREEN = "#007F3B"
FLAG_RED = "#C00000"
_PRACTICE_FILL = {"practice": "#FFFFFF", "anchor": "#1A1A1A", "high risk": "#D55E00"}

_REQUIRED = ("plan.csv", "scorecard.csv", "plan_summary.json", "manifest.json")


# ---------------------------------------------------------------------------
# Reading the options
# ---------------------------------------------------------------------------


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
        The plan scored on the report's region.
    manifest
        The run's ``manifest.json``.
    recorded
        The run's ``plan_summary.json``.
    notes
        Caveats shown on the option's page (e.g. run made on other data).
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


def _finite(value: Any) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


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


def _check_run_dir(path: Path) -> tuple[dict, dict]:
    """The run's summary and manifest; a clear InputError if the folder is not a run."""
    if not path.exists():
        raise InputError("run directory not found", file=str(path))
    if not path.is_dir():
        raise InputError("not a run directory (it is a file)", file=str(path))
    missing = [f for f in _REQUIRED if not (path / f).is_file()]
    if missing:
        raise InputError(f"not a run directory: missing {', '.join(missing)} "
                         "(write one with 'pcn-planner evaluate' or 'optimise')", file=str(path))
    loaded = []
    for name in ("plan_summary.json", "manifest.json"):
        try:
            data = json.loads((path / name).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"cannot read {name}: {exc}", file=str(path)) from None
        if not isinstance(data, dict):
            raise InputError(f"{name} is not a JSON object", file=str(path))
        loaded.append(data)
    summary, manifest = loaded
    if "bounds" not in summary or "plan" not in summary:
        raise InputError("plan_summary.json has no 'plan' or 'bounds'", file=str(path))
    return summary, manifest


def _notes(region: Region, manifest: dict) -> list[str]:
    """Ways the run's data or settings differ from the region the report scores on."""
    notes = []
    inputs = manifest.get("inputs") or {}
    params = manifest.get("parameters") or {}
    recorded_hash = inputs.get("atlas_sha256")
    if recorded_hash and recorded_hash != region.atlas.data_hash:
        notes.append(f"this run was made on other data (atlas {recorded_hash[:12]}…, report uses "
                     f"{region.atlas.data_hash[:12]}…)")
    share = params.get("territory_min_share")
    if share is not None and not math.isclose(float(share), float(region.min_share)):
        notes.append(f"this run used territory share {share}, the report {region.min_share}")
    source = inputs.get("travel_source")
    if source and source != region.travel_source:
        notes.append(f"this run's travel times came from {source}, the report's from {region.travel_source}")
    if notes:
        notes.append("every figure on this page is recomputed on the report's data")
    return notes


def load_options(run_dirs: Sequence[str | Path], region: Region, names: Sequence[str] | None = None) -> list[Option]:
    """Read and score every run directory (checking them all before scoring any).

    Raises
    ------
    InputError
        A run directory is missing, lacks one of its files (named), or holds a
        plan that does not fit the region; or ``names`` has the wrong length.
    """
    from pcn_planner.model.plan import read_plan_csv

    paths = [Path(p) for p in run_dirs]
    if not paths:
        raise InputError("no run directories given: a report needs at least one option")
    if names is not None and len(names) != len(paths):
        raise InputError(f"{len(names)} name(s) given for {len(paths)} run directories")
    checked = [_check_run_dir(p) for p in paths]
    plans = []
    for path, (summary, _manifest) in zip(paths, checked):
        try:
            plans.append(read_plan_csv(path / "plan.csv", region.codes, name=str(summary["plan"])))
        except InputError as exc:
            raise InputError(str(exc), file=str(path)) from None

    shown = [str(n) for n in names] if names is not None else [p.name[:1].upper() + p.name[1:] for p in plans]
    if names is None:  # two runs of the same plan name: tell them apart by folder
        counts = pd.Series(shown).value_counts()
        shown = [f"{n} ({p.name})" if counts[n] > 1 else n for n, p in zip(shown, paths)]
    slugs = _unique([slugify(n) for n in shown])

    options = []
    for path, plan, name, slug, (summary, manifest) in zip(paths, plans, shown, slugs, checked):
        try:
            bounds = Bounds(**{k: int(v) for k, v in summary["bounds"].items()})
        except (TypeError, ValueError) as exc:
            raise InputError(f"plan_summary.json: bad bounds {summary['bounds']!r} ({exc})", file=str(path)) from None
        scorecard = score_plan(region, plan, bounds=bounds)
        options.append(Option(name=name, slug=slug, path=path, scorecard=scorecard, manifest=manifest,
                              recorded=summary, notes=_notes(region, manifest)))
    return options


# ---------------------------------------------------------------------------
# Words and numbers
# ---------------------------------------------------------------------------


def _num(v: Any, fmt: str = "{:,.0f}") -> str:
    return "–" if v is None or (isinstance(v, float) and not math.isfinite(v)) else fmt.format(v)


def _minutes(v: Any) -> str:
    return _num(v, "{:.1f} min")


def _pct(v: Any) -> str:
    return _num(v, "{:.0%}")


def _gap_text(gap: float | None) -> str:
    if gap is None:
        return "not certified"
    if gap <= 0:
        return "0.00% (optimal)"
    return f"{gap:.2%}"


_OBJECTIVE_DEF = ("the optimiser's weighted score of the plan, each term relative to today's PCNs "
                  "(lower is better); blank when the plan was only evaluated")
_GAP_DEF = ("how far, at most, the objective could be above the best possible plan, as proven by the "
            "solver (0% = proven best); \"not certified\" when no bound was proven or the plan was only evaluated")
_RULES_DEF = "hubs outside the population band plus hubs not in one piece (each listed on the option's page)"
_CONTIG_DEF = "hubs whose member practices form one connected piece of the practice graph"


@dataclass(frozen=True)
class Column:
    """A column of the options table."""

    key: str
    label: str
    unit: str
    definition: str
    group: str
    fmt: Callable[[Any, dict], str]
    better: str | None = None  # "low" / "high": best value gets a mark
    xlsx_format: str = "#,##0"


def _plan_col(key: str, group: str, fmt: Callable[[Any, dict], str], better: str | None = None,
              xlsx_format: str = "#,##0", label: str | None = None) -> Column:
    name, unit, definition = PLAN_METRICS[key]
    return Column(key, label or name, unit, definition, group, fmt, better, xlsx_format)


def _options_columns(baseline: str) -> list[Column]:
    disruption = f"Change from {baseline}"
    return [
        _plan_col("hubs", "Rules", lambda v, m: _num(v), label="Hubs (K)"),
        _plan_col("hubs_in_band", "Rules", lambda v, m: f"{v:,} of {m['hubs']:,}", better="high"),
        Column("contiguous_hubs", "Contiguous hubs", "count", _CONTIG_DEF, "Rules",
               lambda v, m: f"{v:,} of {m['hubs']:,}", "high"),
        Column("rules_broken", "Broken rules", "count", _RULES_DEF, "Rules", lambda v, m: _num(v), "low"),
        _plan_col("travel_mean_min", "Travel to hub base", lambda v, m: _minutes(v), "low", "0.0"),
        _plan_col("travel_p90_min", "Travel to hub base", lambda v, m: _minutes(v), "low", "0.0"),
        _plan_col("towns_split", "Communities", lambda v, m: _num(v), "low"),
        _plan_col("lad_crossings", "Communities", lambda v, m: _num(v), "low"),
        _plan_col("sub_icb_crossings", "Communities", lambda v, m: _num(v), "low"),
        _plan_col("max_high_risk_share", "Resilience", lambda v, m: _pct(v), "low", "0%"),
        _plan_col("hubs_without_anchor", "Resilience", lambda v, m: _num(v), "low"),
        _plan_col("practices_moved", disruption, lambda v, m: _num(v), "low"),
        _plan_col("pcn_pairs_broken", disruption, lambda v, m: _num(v), "low"),
        Column("objective", "Objective", "score", _OBJECTIVE_DEF, "Optimiser", lambda v, m: _num(v, "{:.4f}"),
               None, "0.0000"),
        Column("gap", "Optimality gap", "%", _GAP_DEF, "Optimiser", lambda v, m: _gap_text(v), "low", "0.00%"),
    ]


def _best(options: list[Option], column: Column) -> set[int]:
    """Rows holding the best value of a column (none if all equal or fewer than 2 values)."""
    if column.better is None:
        return set()
    values = []
    for i, o in enumerate(options):
        m = o.metrics
        v = m.get(column.key)
        if v is None:
            continue
        if column.key in ("hubs_in_band", "contiguous_hubs"):
            v = v / m["hubs"]
        values.append((i, float(v)))
    if len(values) < 2 or len({v for _, v in values}) < 2:
        return set()
    target = (min if column.better == "low" else max)(v for _, v in values)
    return {i for i, v in values if math.isclose(v, target, rel_tol=1e-9, abs_tol=1e-12)}


def _sort_value(column: Column, metrics: dict) -> str:
    v = metrics.get(column.key)
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return ""
    if column.key in ("hubs_in_band", "contiguous_hubs"):
        return repr(v / metrics["hubs"] + v * 1e-6)
    return repr(float(v))


#: Hub table: (column, header) in page order; units and definitions from HUB_METRICS.
_HUB_COLUMNS: tuple[str, ...] = (
    "patients", "practices", "band", "contiguous", "base_practice", "travel_mean_min", "travel_p90_min",
    "dominant_town", "catchment_share", "imd_most_deprived_share", "high_risk_share", "anchors",
)


def _hub_order(scorecard: Scorecard) -> list[str]:
    """Hubs in the report's order (by name), numbered 1.. on the map, charts and tables."""
    names = hub_names(scorecard)
    return sorted(names, key=lambda h: (names[h].lower(), str(h)))


def hub_names(scorecard: Scorecard) -> dict[str, str]:
    """Readable, distinct hub names: the map's short names, or the full name where two short names clash.

    "STONE & ECCLESHALL PCN" -> "Stone & Eccleshall"; optimised hubs named
    "Stoke-on-Trent (Honeywall Medical Practice)" keep the practice in
    brackets, since several hubs share the town.
    """
    from pcn_planner.outputs.maps.plan_map import short_name

    full = {h: str(n) for h, n in scorecard.hubs["hub_name"].items()}
    short = {h: short_name(n) for h, n in full.items()}
    counts = pd.Series(list(short.values())).value_counts()
    out = {}
    for h, n in short.items():
        if counts[n] > 1:
            n = full[h].title() if full[h].isupper() else full[h]
        out[h] = n
    return out


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1].rstrip() + "…"


def _flagged(scorecard: Scorecard) -> set[str]:
    hubs = scorecard.hubs
    return {h for h, r in hubs.iterrows() if r["band"] != "ok" or not bool(r["contiguous"])}


# ---------------------------------------------------------------------------
# Charts (inline SVG) and the static map (PNG)
# ---------------------------------------------------------------------------


def _style_axes(ax) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color("#AEB7BD")
    ax.tick_params(colors=NHS_TEXT, labelsize=10.5)
    ax.xaxis.label.set_color(NHS_TEXT)
    ax.set_axisbelow(True)
    ax.grid(axis="x", color="#E1E6E8", linewidth=0.8)


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    fig.patch.set_facecolor("white")
    return fig


_RC = {
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Arial", "Liberation Sans", "Helvetica"],
    "svg.fonttype": "path",
    "axes.titlesize": 12,
    "axes.labelsize": 11,
}


def _svg(fig: Figure, label: str, salt: str, *, tight: bool = True) -> str:
    """The figure as an inline, responsive SVG element with an accessible name."""
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({**_RC, "svg.hashsalt": salt}):
        fig.savefig(buf, format="svg", bbox_inches="tight" if tight else None, pad_inches=0.08,
                    metadata={"Date": None})
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    text = re.sub(r'<svg([^>]*?)\swidth="[^"]*"\s+height="[^"]*"', r"<svg\1", text, count=1)
    text = text.replace("<svg", f'<svg role="img" aria-label="{_esc(label, quote=True)}" class="chart"', 1)
    # matplotlib's ids are hashes of content + salt; prefix them with the salt so
    # that two charts on one page can never clash.
    prefix = re.sub(r"[^A-Za-z0-9]", "", salt)
    ids = set(re.findall(r'\bid="([^"]+)"', text))
    for old in sorted(ids, key=len, reverse=True):
        text = re.sub(rf'(?<=[#"]){re.escape(old)}(?=[")])', f"{prefix}-{old}", text)
    return text


#: Hub bar charts: same size and margins, so side by side they share one scale.
_BAR_WIDTH, _BAR_LEFT, _BAR_LABEL_CHARS = 6.2, 2.6, 24


def _bar_figure(n: int):
    height = 1.25 + 0.26 * n
    fig = _figure(_BAR_WIDTH, height)
    ax = fig.add_subplot()
    fig.subplots_adjust(left=_BAR_LEFT / _BAR_WIDTH, right=1 - 0.15 / _BAR_WIDTH, top=1 - 0.5 / height,
                        bottom=0.7 / height)
    return fig, ax


def population_chart(scorecard: Scorecard, *, salt: str = "pop") -> str:
    """Horizontal bars of hub patients (largest first) with the population band shaded; inline SVG."""
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter

    hubs, bounds = scorecard.hubs, scorecard.bounds
    names = hub_names(scorecard)
    number = {h: i + 1 for i, h in enumerate(_hub_order(scorecard))}
    order = sorted(hubs.index, key=lambda h: -hubs.at[h, "patients"])
    n = len(order)
    fig, ax = _bar_figure(n)
    y = np.arange(n)
    values = hubs.loc[order, "patients"].to_numpy(float)
    out = np.array([hubs.at[h, "band"] != "ok" for h in order])
    top = max(values.max(), bounds.max) * 1.22
    ax.axvspan(bounds.min, bounds.max, color="#DCEFE3", zorder=0)
    for x in (bounds.min, bounds.max):
        ax.axvline(x, color=NHS_GREEN, linewidth=1.2, linestyle=(0, (4, 3)), zorder=1)
    ax.barh(y[~out], values[~out], color=NHS_BLUE, height=0.68, zorder=2)
    ax.barh(y[out], values[out], color=FLAG_RED, height=0.68, hatch="///", edgecolor="white", linewidth=0,
            zorder=2)
    for yi, v, o in zip(y, values, out):
        ax.text(v + top * 0.008, yi, f"{v:,.0f}" + ("  ⚠" if o else ""), va="center", ha="left", fontsize=9.5,
                color=FLAG_RED if o else NHS_TEXT, fontweight="bold" if o else "normal", zorder=3,
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.6, "alpha": 0.8})
    ax.set_yticks(y, [f"{number[h]}  {_clip(names[h], _BAR_LABEL_CHARS)}" for h in order])
    ax.invert_yaxis()
    ax.set_ylim(n - 0.4, -0.6)
    ax.set_xlim(0, top)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v / 1000:,.0f}k" if v else "0"))
    ax.set_xlabel("Registered patients per hub (k = thousand patients)")
    _style_axes(ax)
    ax.tick_params(axis="y", length=0)
    handles = [Patch(color="#DCEFE3", label=f"Population band {bounds.min:,}–{bounds.max:,}"),
               Patch(color=NHS_BLUE, label="Hub in band")]
    if out.any():
        handles.append(Patch(facecolor=FLAG_RED, hatch="///", edgecolor="white", label="Hub out of band"))
    fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.01, 1 - 0.04 / fig.get_figheight()),
               ncol=len(handles), fontsize=9.5, frameon=False, handlelength=1.6, columnspacing=1.2,
               borderaxespad=0.2)
    return _svg(fig, f"Bar chart of registered patients per hub against the {bounds} band", salt, tight=False)


def travel_chart(scorecard: Scorecard, *, salt: str = "travel") -> str:
    """Per hub: mean and 90th percentile car minutes to the hub base (worst first); inline SVG."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    hubs = scorecard.hubs
    names = hub_names(scorecard)
    number = {h: i + 1 for i, h in enumerate(_hub_order(scorecard))}
    order = sorted(hubs.index, key=lambda h: -hubs.at[h, "travel_p90_min"])
    n = len(order)
    fig, ax = _bar_figure(n)
    y = np.arange(n)
    p90 = hubs.loc[order, "travel_p90_min"].to_numpy(float)
    mean = hubs.loc[order, "travel_mean_min"].to_numpy(float)
    ax.barh(y, p90, color="#A6C8E8", height=0.68, zorder=2)
    ax.barh(y, mean, color=NHS_DARK_BLUE, height=0.34, zorder=3)
    top = np.nanmax(p90) * 1.3
    for yi, m, p in zip(y, mean, p90):
        ax.text(p + top * 0.01, yi, f"{m:.1f} / {p:.1f}", va="center", ha="left", fontsize=9.5, color=NHS_TEXT)
    overall = scorecard.summary["travel_mean_min"]
    ax.axvline(overall, color=NHS_TEXT, linewidth=1, linestyle=(0, (2, 2)), zorder=4)
    ax.set_yticks(y, [f"{number[h]}  {_clip(names[h], _BAR_LABEL_CHARS)}" for h in order])
    ax.invert_yaxis()
    ax.set_ylim(n - 0.4, -0.6)
    ax.set_xlim(0, top)
    ax.set_xlabel("Car travel, home to hub base (minutes)")
    _style_axes(ax)
    ax.tick_params(axis="y", length=0)
    handles = [Patch(color=NHS_DARK_BLUE, label="Mean (min)"), Patch(color="#A6C8E8", label="90th percentile (min)"),
               Line2D([], [], color=NHS_TEXT, linewidth=1, linestyle=(0, (2, 2)),
                      label=f"Plan mean {overall:.1f} min")]
    fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.01, 1 - 0.04 / fig.get_figheight()),
               ncol=len(handles), fontsize=9.5, frameon=False, handlelength=1.6, columnspacing=1.2,
               borderaxespad=0.2)
    return _svg(fig, "Bar chart of mean and 90th percentile travel minutes per hub", salt, tight=False)


def patient_minutes(scorecard: Scorecard) -> tuple[np.ndarray, np.ndarray]:
    """(minutes, patients) of every home LSOA x hub pair: each patient's car minutes to their hub base."""
    region = scorecard._region
    travel = region.travel.to_numpy()
    minutes, weights = [], []
    for hub, members in scorecard.plan.members().items():
        pos = region.positions(members)
        base = region.index[scorecard.hubs.at[hub, "base_practice"]]
        minutes.append(travel[:, base])
        weights.append(region.patients[pos].sum(axis=0))
    return np.concatenate(minutes), np.concatenate(weights)


def travel_histogram(scorecard: Scorecard, *, salt: str = "hist", width: float = 13.2) -> str:
    """Patients by car minutes to their hub base, 2-minute bands, with mean and 90th percentile; inline SVG.

    The axis stops at about the 99.5th percentile; the last band holds everyone beyond it.
    """
    from matplotlib.ticker import FuncFormatter, MultipleLocator

    from pcn_planner.scoring.scorecard import weighted_quantile

    minutes, weights = patient_minutes(scorecard)
    keep = np.isfinite(minutes) & (weights > 0)
    minutes, weights = minutes[keep], weights[keep]
    if len(minutes):
        top = max(20.0, 2 * math.ceil(weighted_quantile(minutes, weights, 0.995) / 2) + 2)
    else:
        top = 20.0
    edges = np.arange(0, top + 0.5, 2.0)
    counts, _ = np.histogram(np.clip(minutes, 0, top - 1e-9), bins=edges, weights=weights)
    beyond = float(weights[minutes >= top].sum())
    fig = _figure(width, 3.3)
    ax = fig.add_subplot()
    ax.bar(edges[:-1], counts, width=2.0, align="edge", color=NHS_BLUE, edgecolor="white", linewidth=0.8, zorder=2)
    s = scorecard.summary
    ymax = counts.max() * 1.25 if len(counts) and counts.max() > 0 else 1
    total = weights.sum() or 1.0
    within = float(weights[minutes <= 15].sum() / total)
    lines = ((s["travel_mean_min"], f"mean {s['travel_mean_min']:.1f} min", 0.95),
             (s["travel_p90_min"], f"90th percentile {s['travel_p90_min']:.1f} min", 0.80))
    for x, text, yfrac in lines:
        ax.axvline(x, color=NHS_TEXT, linewidth=1.1, linestyle=(0, (3, 2)), zorder=3)
        ax.text(x + top * 0.006, ymax * yfrac, text, fontsize=10, color=NHS_TEXT, ha="left", va="top", zorder=4,
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 1.5, "alpha": 0.85})
    ax.text(0.99, 0.95, f"{within:.0%} of patients live within 15 minutes of their hub base", transform=ax.transAxes,
            ha="right", va="top", fontsize=10.5, color=NHS_TEXT, fontweight="bold")
    if beyond > 0:
        ax.text(top - 1, counts[-1] + ymax * 0.02, f"{top:.0f}+ min:\n{beyond:,.0f}", ha="center", va="bottom",
                fontsize=8.5, color=NHS_SECONDARY)
    ax.set_xlim(0, top)
    ax.set_ylim(0, ymax)
    ax.xaxis.set_major_locator(MultipleLocator(2 if top <= 40 else 4))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v / 1000:,.0f}k" if v else "0"))
    ax.set_xlabel("Car travel, home to hub base (minutes, 2-minute bands)")
    ax.set_ylabel("Registered patients\n(k = thousand)")
    _style_axes(ax)
    ax.grid(axis="y", color="#E1E6E8", linewidth=0.8)
    ax.grid(axis="x", visible=False)
    fig.tight_layout()
    return _svg(fig, "Histogram of patients by car minutes to their hub base", salt)


def _practice_kind(code: str, risk: pd.DataFrame) -> str:
    if code in risk.index and bool(risk.at[code, "high_risk"]):
        return "high risk"
    if code in risk.index and bool(risk.at[code, "anchor"]):
        return "anchor"
    return "practice"


def _label_point(geom):
    """A point well inside the largest piece of a (multi)polygon in metres."""
    import shapely.ops

    parts = [p for p in getattr(geom, "geoms", [geom]) if p.geom_type == "Polygon"] or [geom]
    biggest = max(parts, key=lambda p: p.area)
    try:
        return shapely.ops.polylabel(biggest, tolerance=50.0)
    except Exception:
        return biggest.representative_point()


def _crowded(geo, points: dict[str, tuple[float, float]], metres_per_inch: float) -> list[str]:
    """The largest group of hubs too small or too close together to label clearly at map scale.

    A hub is crowded if it is less than about 0.8 inch across on the map, or
    its label would overlap another's; crowded hubs whose labels are within an
    inch of each other form a group. Returns [] when no group has two hubs.
    """
    import networkx as nx

    hubs = list(points)
    if len(hubs) < 2:
        return []
    xy = np.array([points[h] for h in hubs], dtype=float)
    dist = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1]) / metres_per_inch
    np.fill_diagonal(dist, np.inf)
    across = np.sqrt(geo.geometry.area.reindex(hubs).to_numpy(float)) / metres_per_inch
    crowded = (across < 0.8) | (dist.min(axis=1) < 0.32)
    graph = nx.Graph()
    for a in np.flatnonzero(crowded):
        for b in np.flatnonzero(crowded):
            if a < b and dist[a, b] < 1.0:
                graph.add_edge(hubs[a], hubs[b])
    if graph.number_of_nodes() == 0:
        return []
    return sorted(max(nx.connected_components(graph), key=len))


def _fit_extent(x0: float, y0: float, x1: float, y1: float, aspect: float) -> tuple[float, float, float, float]:
    """Grow a box about its centre to the given height/width ratio."""
    cx, cy, w, h = (x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0
    if h / w < aspect:
        h = w * aspect
    else:
        w = h / aspect
    return cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2


def plan_figure(scorecard: Scorecard, *, gap: float | None = None, title: str | None = None) -> Figure:
    """The static plan map as a matplotlib Figure (see :func:`plan_png`)."""
    import matplotlib
    from matplotlib import patheffects
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch, Rectangle

    from pcn_planner.outputs.maps.plan_map import PALETTE, hub_adjacency, hub_colours

    hubs, bounds, plan = scorecard.hubs, scorecard.bounds, scorecard.plan
    region = scorecard._region
    geo = scorecard.geometry.to_crs("EPSG:27700")
    colours = hub_colours(hub_adjacency(scorecard), hubs.index)
    fills = [colours.get(h, PALETTE[0]) for h in geo.index]
    flagged = _flagged(scorecard)
    order = _hub_order(scorecard)
    names = hub_names(scorecard)
    number = {h: i + 1 for i, h in enumerate(order)}
    points = {h: (p.x, p.y) for h, p in ((h, _label_point(g)) for h, g in geo.geometry.items())}
    practices = region.atlas.practices.loc[list(plan.assignment.index)]
    xy = _points_27700(practices)
    risk = region.risk.table
    kinds = np.array([_practice_kind(c, risk) for c in practices.index])
    sizes = practices["list_size"].to_numpy(float) / 160.0
    halo = [patheffects.withStroke(linewidth=2.5, foreground="white")]

    # Layout, in inches: title on top; the map with its legend below on the
    # left; the hub key (and an inset of the crowded area) on the right.
    xmin, ymin, xmax, ymax = geo.total_bounds
    pad = 0.03 * max(xmax - xmin, ymax - ymin)
    xmin, xmax, ymin, ymax = xmin - pad, xmax + pad, ymin - pad, ymax + pad
    map_w = 8.6
    map_h = min(map_w * (ymax - ymin) / (xmax - xmin), 11.0)
    xmin, ymin, xmax, ymax = _fit_extent(xmin, ymin, xmax, ymax, map_h / map_w)
    metres_per_inch = (xmax - xmin) / map_w
    crowd = _crowded(geo, points, metres_per_inch)
    key_w, head, legend_h, foot, margin = 4.7, 1.0, 1.0, 0.35, 0.2
    key_h = 0.27 * (len(order) + 1.4)
    inset = None
    if crowd:
        cx = [points[h][0] for h in crowd]
        cy = [points[h][1] for h in crowd]
        border = 0.3 * metres_per_inch
        box = (min(cx) - border, min(cy) - border, max(cx) + border, max(cy) + border)
        inset_h = float(np.clip(key_w * (box[3] - box[1]) / (box[2] - box[0]), 3.0, 4.6))
        inset = _fit_extent(*box, inset_h / key_w)
        if key_w / ((inset[2] - inset[0]) / metres_per_inch) < 1.8:  # hardly bigger: not worth it
            inset = None
    right_h = key_h + (0.6 + inset_h if inset else 0.0)
    width = margin + map_w + 0.35 + key_w + margin
    height = head + max(map_h + legend_h, right_h) + foot

    def rect(x: float, top: float, w: float, h: float) -> tuple[float, float, float, float]:
        return x / width, 1 - (top + h) / height, w / width, h / height

    def fx(x: float) -> float:
        return x / width

    def fy(top: float) -> float:
        return 1 - top / height

    def draw(ax, extent, labelled: set[str], marker_scale: float = 1.0) -> None:
        ax.set_aspect("equal")
        ax.set_xlim(extent[0], extent[2])
        ax.set_ylim(extent[1], extent[3])
        geo.plot(ax=ax, color=fills, alpha=0.55, edgecolor="none", zorder=1)
        geo.boundary.plot(ax=ax, color="#2B2B2B", linewidth=0.7, zorder=2)
        bad = geo.loc[[h for h in geo.index if h in flagged]]
        if len(bad):
            bad.boundary.plot(ax=ax, color=FLAG_RED, linewidth=2.4, linestyle=(0, (5, 3)), zorder=4)
        for kind in ("practice", "anchor", "high risk"):
            sel = kinds == kind
            if sel.any():
                ax.scatter(xy[sel, 0], xy[sel, 1], s=sizes[sel] * marker_scale, c=_PRACTICE_FILL[kind],
                           edgecolors="#333333" if kind == "practice" else "white", linewidths=0.8, zorder=5)
        for hub in labelled:
            x, y = points[hub]
            is_bad = hub in flagged
            ax.text(x, y, str(number[hub]), ha="center", va="center", fontsize=9, fontweight="bold",
                    color="white" if is_bad else NHS_TEXT, zorder=7,
                    bbox={"boxstyle": "circle,pad=0.22", "facecolor": FLAG_RED if is_bad else "white",
                          "edgecolor": FLAG_RED if is_bad else "#333333", "linewidth": 0.8, "alpha": 0.95})

    def inside(hub: str, extent) -> bool:
        x, y = points[hub]
        return extent[0] <= x <= extent[2] and extent[1] <= y <= extent[3]

    with matplotlib.rc_context(_RC):
        fig = _figure(width, height)
        ax = fig.add_axes(rect(margin, head, map_w, map_h))
        ax.set_axis_off()
        in_inset = {h for h in geo.index if inset and inside(h, inset)}
        draw(ax, (xmin, ymin, xmax, ymax), set(geo.index) - in_inset)
        ax.annotate("N", xy=(0.965, 0.985), xytext=(0.965, 0.915), xycoords="axes fraction", ha="center",
                    va="center", fontsize=11, fontweight="bold", color=NHS_TEXT,
                    arrowprops={"arrowstyle": "-|>", "color": NHS_TEXT, "linewidth": 1.5}, zorder=8)

        # Legend under the map, so it never hides a hub.
        size_handles = [Line2D([], [], linestyle="none", marker="o", markersize=math.sqrt(n / 160.0),
                               markerfacecolor="white", markeredgecolor="#333333", label=f"{n:,} patients")
                        for n in (3_000, 10_000, 30_000)]
        other = [
            Line2D([], [], linestyle="none", marker="o", markersize=7, markerfacecolor=_PRACTICE_FILL["anchor"],
                   markeredgecolor="white", label="Anchor practice (resilient)"),
            Line2D([], [], linestyle="none", marker="o", markersize=7, markerfacecolor=_PRACTICE_FILL["high risk"],
                   markeredgecolor="white", label="High-risk practice"),
            Patch(facecolor="white", edgecolor=FLAG_RED, linestyle="--", linewidth=2,
                  label="⚠ Hub out of band or not in one piece"),
        ]
        leg = ax.legend(handles=size_handles + other, loc="upper left", bbox_to_anchor=(0.0, -0.01), ncol=3,
                        fontsize=9.5, frameon=False, title="Practices: circle area ∝ list size", title_fontsize=9.5,
                        columnspacing=1.6, handletextpad=0.5, labelspacing=0.8, borderaxespad=0.2)
        leg._legend_box.align = "left"  # noqa: SLF001 (matplotlib has no public switch)

        if inset:
            x0, y0, x1, y1 = inset
            ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor=NHS_TEXT, linewidth=1.2,
                                   zorder=9))
            ax.text(x0, y1, " Inset ", ha="left", va="bottom", fontsize=9, fontweight="bold", color=NHS_TEXT,
                    zorder=9, bbox={"facecolor": "white", "edgecolor": NHS_TEXT, "linewidth": 1, "pad": 1.5})
            top = head + key_h + 0.6
            towns = hubs.loc[[h for h in in_inset], "dominant_town"].value_counts()
            where = f" – {towns.index[0]} area" if len(towns) else ""
            fig.text(fx(margin + map_w + 0.35), fy(top - 0.08), f"Inset{where}", fontsize=11, fontweight="bold",
                     color=NHS_TEXT, va="bottom")
            iax = fig.add_axes(rect(margin + map_w + 0.35, top, key_w, inset_h))
            iax.set_xticks([])
            iax.set_yticks([])
            iax.set_xlabel("")
            iax.set_ylabel("")
            for spine in iax.spines.values():
                spine.set_color(NHS_TEXT)
                spine.set_linewidth(1.2)
            draw(iax, inset, in_inset)
            iax.set_xlabel("")
            iax.set_ylabel("")

        # Title block.
        s = scorecard.summary
        k = plan.k
        heading = title or f"{plan.name[:1].upper()}{plan.name[1:]}"
        fig.text(fx(margin), fy(0.2), heading, fontsize=18, fontweight="bold", color=NHS_TEXT, va="top")
        sub = (f"K = {k} hubs  ·  {bounds.min:,}–{bounds.max:,} patients per hub  ·  optimality gap: "
               f"{_gap_text(gap)}  ·  {s['hubs_in_band']} of {k} in band, {k - s['non_contiguous_hubs']} of {k} "
               f"in one piece  ·  mean travel {s['travel_mean_min']:.1f} min")
        fig.text(fx(margin), fy(0.62), sub, fontsize=11, color=NHS_SECONDARY, va="top")
        today = date.today()
        fig.text(fx(margin), 0.12 / height,
                 f"North is up (British National Grid). Hub areas: the LSOAs where each hub's practices have most "
                 f"patients. pcn-planner {__version__}, {today.day} {today:%B %Y}.",
                 fontsize=8.5, color=NHS_SECONDARY, va="bottom")

        # Key: number, colour, name, patients.
        kx = margin + map_w + 0.35
        fig.text(fx(kx), fy(head), "Hubs", fontsize=11, fontweight="bold", color=NHS_TEXT, va="top")
        fig.text(fx(kx + key_w), fy(head), "patients", fontsize=9, color=NHS_SECONDARY, va="top", ha="right")
        for i, hub in enumerate(order):
            yy = fy(head + 0.27 * (i + 1.4))
            is_bad = hub in flagged
            fig.patches.append(Rectangle(
                (fx(kx), yy - 0.09 / height), 0.2 / width, 0.18 / height, transform=fig.transFigure,
                facecolor=colours.get(hub, PALETTE[0]), alpha=0.75, edgecolor=FLAG_RED if is_bad else "#555555",
                linewidth=1.2 if is_bad else 0.6, linestyle="--" if is_bad else "-"))
            name = _clip(names[hub], 44)
            colour = FLAG_RED if is_bad else NHS_TEXT
            fig.text(fx(kx + 0.28), yy, f"{number[hub]:>2}", fontsize=9.5, fontweight="bold", color=colour,
                     va="center", ha="left", path_effects=halo)
            fig.text(fx(kx + 0.58), yy, ("⚠ " if is_bad else "") + name, fontsize=9.5, color=colour, va="center",
                     ha="left")
            fig.text(fx(kx + key_w), yy, f"{int(hubs.at[hub, 'patients']):,}", fontsize=9.5, color=colour,
                     va="center", ha="right")
    return fig


def _points_27700(practices: pd.DataFrame) -> np.ndarray:
    import geopandas as gpd

    pts = gpd.GeoSeries(gpd.points_from_xy(practices["lon"].astype(float), practices["lat"].astype(float)),
                        crs="EPSG:4326").to_crs("EPSG:27700")
    return np.column_stack([pts.x.to_numpy(), pts.y.to_numpy()])


def plan_png(scorecard: Scorecard, path: str | Path, *, gap: float | None = None, title: str | None = None,
             dpi: int = 150) -> Path:
    """Write a static map of a scored plan as a PNG (for slides and the README).

    Hubs are filled from the colour-blind-safe palette of the interactive map
    (neighbours never share a colour) and numbered, with a key of names and
    patients beside the map; practices are circles sized by list size (anchor
    practices black, high-risk vermillion); hubs out of the population band or
    not in one piece have a red dashed outline and a ⚠ in the key. The title
    gives the plan's name, K, bounds, optimality gap and headline results.

    Parameters
    ----------
    scorecard
        From :func:`pcn_planner.scoring.scorecard.score_plan`.
    path
        Where to write the PNG (written atomically).
    gap
        The solver's certified gap (``None``: "not certified").
    title
        Heading; default the plan's name.
    dpi
        Resolution; 150 gives about 2,000 pixels across.
    """
    import matplotlib

    fig = plan_figure(scorecard, gap=gap, title=title)
    buf = io.BytesIO()
    with matplotlib.rc_context(_RC):
        fig.savefig(buf, format="png", dpi=dpi, facecolor="white", metadata={"Software": f"pcn-planner {__version__}"})
    return atomic_write_bytes(Path(path), buf.getvalue())


# ---------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------

_FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Liberation Sans", sans-serif'

_CSS = """
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; font: 16px/1.5 FONT; color: TEXT; background: GREY5; }
a { color: BLUE; text-underline-offset: 2px; }
a:hover { color: #7C2855; }
a:focus-visible, button:focus-visible { outline: 3px solid #FFB81C; outline-offset: 1px; }
header.top { background: BLUE; color: #fff; }
header.top .wrap { display: flex; align-items: center; justify-content: space-between; gap: 16px; padding: 14px 24px; }
header.top a { color: #fff; font-weight: 600; text-decoration: none; }
header.top a:hover { text-decoration: underline; color: #fff; }
header.top .brand { font-size: 18px; letter-spacing: .2px; }
header.top nav { display: flex; gap: 18px; flex-wrap: wrap; font-size: 15px; }
.wrap { max-width: 1440px; margin: 0 auto; padding: 0 24px; }
main.wrap { padding-top: 22px; padding-bottom: 40px; }
h1 { font-size: 30px; line-height: 1.2; margin: 6px 0 6px; }
h2 { font-size: 22px; margin: 32px 0 10px; }
h3 { font-size: 17px; margin: 0 0 8px; }
p.lead { font-size: 17px; color: SECONDARY; margin: 0 0 18px; max-width: 980px; }
.meta { color: SECONDARY; font-size: 15px; }
.card { background: #fff; border-radius: 6px; box-shadow: 0 1px 3px rgba(33,43,50,.16); padding: 18px 20px; }
.tablewrap { overflow-x: auto; background: #fff; border-radius: 6px; box-shadow: 0 1px 3px rgba(33,43,50,.16); }
table.data { border-collapse: collapse; width: 100%; font-size: 15px; font-variant-numeric: tabular-nums; }
table.data th, table.data td { padding: 8px 8px; border-bottom: 1px solid #D8DDE0; white-space: nowrap; }
table.data.compact { font-size: 14.5px; }
table.data.compact th, table.data.compact td { padding: 8px 6px; }
table.data.compact tr.cols th { font-size: 13.5px; padding: 6px 5px; }
table.data.compact th:first-child, table.data.compact td:first-child { padding-left: 12px; }
table.data td.wrapcell { white-space: normal; min-width: 76px; }
table.data td.num, table.data th.num { text-align: right; }
table.data td.text { white-space: normal; min-width: 96px; }
table.data thead th { background: #fff; font-weight: 600; vertical-align: bottom; position: sticky; top: 0; }
table.data thead tr.groups th { font-size: 13px; text-transform: uppercase; letter-spacing: .5px; color: SECONDARY;
  border-bottom: 2px solid BLUE; text-align: center; padding: 10px 8px 4px; white-space: normal; }
table.data thead tr.groups th.blank { border-bottom-color: transparent; }
table.data thead tr.cols th { border-bottom: 2px solid TEXT; }
table.data th button { all: unset; cursor: pointer; display: inline-block; white-space: normal; max-width: 96px;
  line-height: 1.25; }
table.data th.num button { text-align: right; }
table.data th button span.h { border-bottom: 1px dotted #768692; }
table.data th button::after { content: "↕"; display: block; color: #AEB7BD; font-size: 11px; line-height: 1.2; }
table.data th[aria-sort=ascending] button::after { content: "▲"; color: BLUE; }
table.data th[aria-sort=descending] button::after { content: "▼"; color: BLUE; }
table.data th .unit { display: block; font-weight: 400; color: SECONDARY; font-size: 13px; }
table.data tbody tr:nth-child(even) { background: #F8FAFA; }
table.data tbody tr:hover { background: #E8F1F8; }
table.data td.best { font-weight: 700; color: GREEN; }
table.data td.best::after { content: "✓"; margin-left: 2px; }
table.data td.bad { font-weight: 700; color: RED; }
table.data td.name { font-weight: 600; white-space: normal; min-width: 130px; }
table.data tr.flagged td { background: #FDECEC; }
table.data td .tag { display: inline-block; font-size: 12.5px; font-weight: 600; padding: 0 6px; border-radius: 3px;
  margin-left: 6px; color: #fff; background: RED; vertical-align: 1px; }
table.data td .tag.ok { background: GREEN; }
table.data td .warn { color: RED; }
.hint { font-size: 14px; color: SECONDARY; margin: 8px 2px 0; }
.kpis { display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; margin: 16px 0 8px; }
@media (max-width: 800px) { .kpis { grid-template-columns: repeat(2, 1fr); } }
.kpi { background: #fff; border-radius: 6px; padding: 12px 14px; box-shadow: 0 1px 3px rgba(33,43,50,.16);
  border-top: 4px solid BLUE; }
.kpi.bad { border-top-color: RED; }
.kpi.good { border-top-color: GREEN; }
.kpi .v { font-size: 25px; font-weight: 700; line-height: 1.2; }
.kpi .l { font-size: 14px; color: SECONDARY; }
.kpi.bad .v { color: RED; }
.callout { border-left: 8px solid GREEN; background: #fff; padding: 12px 18px; border-radius: 0 6px 6px 0;
  box-shadow: 0 1px 3px rgba(33,43,50,.16); }
.callout.bad { border-left-color: RED; }
.callout.note { border-left-color: #FFB81C; margin-top: 14px; }
.callout h3 { margin: 0 0 4px; }
.callout ul { margin: 4px 0 2px; padding-left: 22px; }
.callout li { margin: 2px 0; }
iframe.map { width: 100%; height: 680px; border: 0; display: block; border-radius: 6px; background: #F2F2EE; }
.mapcard { padding: 0; overflow: hidden; }
.mapbar { display: flex; justify-content: space-between; flex-wrap: wrap; gap: 10px; padding: 10px 16px;
  font-size: 15px; border-top: 1px solid #D8DDE0; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(480px, 1fr)); gap: 16px; }
.charts .wide { grid-column: 1 / -1; }
figure { margin: 0; }
figure.card figcaption { font-size: 14px; color: SECONDARY; margin-top: 6px; }
svg.chart { width: 100%; height: auto; display: block; }
.gallery { display: grid; grid-template-columns: repeat(auto-fill, minmax(400px, 1fr)); gap: 16px; }
.gallery a { text-decoration: none; color: TEXT; }
.gallery img { width: 100%; height: auto; display: block; border-radius: 4px; border: 1px solid #D8DDE0; }
.gallery .cap { font-weight: 600; margin-top: 8px; color: BLUE; }
.gallery .sub { font-size: 14px; color: SECONDARY; }
dl.glossary { display: grid; grid-template-columns: minmax(180px, 260px) 1fr; gap: 6px 20px; margin: 0; }
dl.glossary dt { font-weight: 600; }
dl.glossary dd { margin: 0; }
dl.glossary dd .unit { color: SECONDARY; font-size: 14px; }
.downloads { display: flex; flex-wrap: wrap; gap: 10px; }
.downloads a { background: #fff; border: 2px solid BLUE; border-radius: 4px; padding: 6px 12px; text-decoration: none;
  font-weight: 600; font-size: 15px; }
.downloads a:hover { background: BLUE; color: #fff; }
.pager { display: flex; justify-content: space-between; gap: 16px; margin-top: 36px; font-size: 16px; }
.pager a { font-weight: 600; }
footer { color: SECONDARY; font-size: 14px; border-top: 1px solid #D8DDE0; margin-top: 40px; padding-top: 14px; }
@media print { header.top { background: none; color: TEXT; } header.top a { color: TEXT; }
  iframe.map { display: none; } .tablewrap, .card, .kpi { box-shadow: none; border: 1px solid #D8DDE0; } }
"""


def _css() -> str:
    text = _CSS
    for key, value in (("FONT", _FONT), ("TEXT", NHS_TEXT), ("GREY5", NHS_GREY_5), ("BLUE", NHS_BLUE),
                       ("SECONDARY", NHS_SECONDARY), ("GREEN", NHS_GREEN), ("RED", FLAG_RED)):
        text = text.replace(key, value)
    return text


#: Sorting for every ``table.sortable``: click (or Enter/Space on) a heading button.
_SORT_JS = """
(function () {
  function key(cell) {
    var v = cell.getAttribute("data-value");
    return v === null ? cell.textContent.trim() : v;
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var heads = table.querySelectorAll("thead th[data-col]");
    heads.forEach(function (th) {
      th.querySelector("button").addEventListener("click", function () {
        var col = Number(th.getAttribute("data-col"));
        var numeric = th.getAttribute("data-type") === "num";
        var dir = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
        heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", dir);
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = key(a.cells[col]), y = key(b.cells[col]);
          if (x === "" || y === "") { return x === y ? 0 : (x === "" ? 1 : -1); }  // blanks last
          var c = numeric ? Number(x) - Number(y)
                          : x.localeCompare(y, undefined, {numeric: true, sensitivity: "base"});
          return dir === "ascending" ? c : -c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
        var live = document.getElementById("sort-status");
        if (live) { live.textContent = "Sorted by " + th.textContent.replace(/[\\u2195\\u25B2\\u25BC]/g, "").trim()
                                        + ", " + dir + "."; }
      });
    });
  });
})();
"""


def _page(title: str, body: str, *, nav: str = "") -> str:
    return (
        "<!DOCTYPE html>\n<html lang=\"en-GB\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<meta name=\"generator\" content=\"pcn-planner {__version__}\">\n"
        f"<title>{_esc(title)}</title>\n<style>{_css()}</style>\n</head>\n<body>\n"
        f"<header class=\"top\"><div class=\"wrap\"><a class=\"brand\" href=\"index.html\">PCN hub options</a>"
        f"<nav aria-label=\"Report\">{nav}</nav></div></header>\n"
        f"<main class=\"wrap\">\n{body}\n</main>\n"
        "<div id=\"sort-status\" role=\"status\" aria-live=\"polite\" style=\"position:absolute;left:-9999px\"></div>\n"
        f"<script>{_SORT_JS}</script>\n</body>\n</html>\n"
    )


def _th(label: str, definition: str, unit: str, col: int, kind: str) -> str:
    """A sortable heading: the label, with the definition (and unit) on hover."""
    definition = definition[:1].upper() + definition[1:]
    tip = f"{definition} ({unit})" if unit and unit not in ("count", "yes/no", "") else definition
    cls = ' class="num"' if kind == "num" else ""
    return (f'<th scope="col" data-col="{col}" data-type="{kind}"{cls} title="{_esc(tip, quote=True)}">'
            f'<button type="button"><span class="h">{_esc(label)}</span></button></th>')


def _footer(region: Region) -> str:
    today = date.today()
    return (f"<footer>Made with pcn-planner {__version__} on {today.day} {today:%B %Y}. "
            f"Data: atlas {_esc(region.atlas.data_hash[:12])}… ({region.atlas.practices.shape[0]:,} practices). "
            "Travel is modelled car time from each patient's home area (LSOA) to the hub's base site. "
            "Every page works offline.</footer>")


def _glossary_html(baseline: str, bounds_text: str) -> str:
    def items(entries) -> str:
        return "".join(f'<dt>{_esc(name)}</dt><dd>{_esc(definition[:1].upper() + definition[1:])}'
                       f'{f" <span class=unit>({_esc(unit)})</span>" if unit else ""}</dd>'
                       for name, unit, definition in entries)

    plan_entries = [("Option", "", "one way of grouping every practice of the region into hubs"),
                    ("Hubs (K)", "count", "number of hubs in the option"),
                    ("Contiguous hubs", "count", _CONTIG_DEF),
                    ("Broken rules", "count", _RULES_DEF),
                    *[PLAN_METRICS[k] for k in PLAN_METRICS if k != "hubs"],
                    ("Objective", "score", _OBJECTIVE_DEF),
                    ("Optimality gap", "%", _GAP_DEF)]
    hub_entries = list(HUB_METRICS.values())
    return (f'<section id="glossary"><h2>Glossary</h2><div class="card">'
            f'<p class="meta" style="margin-top:0">Disruption is measured against <b>{_esc(baseline)}</b>. '
            f'The population band is {_esc(bounds_text)} registered patients per hub, unless an option says '
            'otherwise.</p>'
            f'<h3>Plan measures</h3><dl class="glossary">{items(plan_entries)}</dl>'
            f'<h3 style="margin-top:20px">Hub measures</h3><dl class="glossary">{items(hub_entries)}</dl>'
            '</div></section>')


def _index_html(options: list[Option], region: Region) -> str:
    baseline = options[0].scorecard.baseline_name
    columns = _options_columns(baseline)
    bounds = {f"{o.scorecard.bounds.min:,}–{o.scorecard.bounds.max:,}" for o in options}
    bounds_text = " or ".join(sorted(bounds))
    # Heading rows: groups, then columns.
    groups: list[tuple[str, int]] = [("", 1)]
    for c in columns:
        if groups[-1][0] == c.group:
            groups[-1] = (c.group, groups[-1][1] + 1)
        else:
            groups.append((c.group, 1))
    group_row = "".join(f'<th colspan="{n}" class="{"blank" if not g else ""}" scope="colgroup">{_esc(g)}</th>'
                        for g, n in groups)
    col_row = _th("Option", "one way of grouping every practice into hubs; click for its page", "", 0, "text")
    col_row += "".join(_th(c.label, c.definition, c.unit, i + 1, "num") for i, c in enumerate(columns))
    best = {c.key: _best(options, c) for c in columns}
    rows = []
    for i, o in enumerate(options):
        m = o.metrics
        cells = [f'<td class="name" data-value="{_esc(o.name, quote=True)}">'
                 f'<a href="option-{o.slug}.html">{_esc(o.name)}</a>'
                 + ('<span class="tag ok" title="every hub in band and in one piece">all rules met</span>'
                    if not o.scorecard.problems else "") + "</td>"]
        for c in columns:
            v = m.get(c.key)
            cls = ["num"]
            if i in best[c.key]:
                cls.append("best")
            if (c.key == "hubs_in_band" and v < m["hubs"]) or (c.key == "contiguous_hubs" and v < m["hubs"]) or \
                    (c.key == "rules_broken" and v):
                cls.append("bad")
            title = ' title="best of these options"' if "best" in cls else ""
            if c.key == "gap":
                cls.append("wrapcell")
            cells.append(f'<td class="{" ".join(cls)}" data-value="{_sort_value(c, m)}"{title}>'
                         f'{_esc(c.fmt(v, m))}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    table = (f'<div class="tablewrap"><table class="data sortable compact" id="options">'
             f'<caption style="position:absolute;left:-9999px">Options compared</caption>'
             f'<thead><tr class="groups">{group_row}</tr><tr class="cols">{col_row}</tr></thead>'
             f'<tbody>{"".join(rows)}</tbody></table></div>'
             '<p class="hint">Click a column heading to sort (again to reverse); hover it for its definition. '
             '<b style="color:' + NHS_GREEN + '">Green ✓</b> marks the best value among these options; '
             '<b style="color:' + FLAG_RED + '">red</b> marks broken rules.</p>')
    gallery = "".join(
        f'<a href="option-{o.slug}.html"><div class="card"><img src="map-{o.slug}.png" '
        f'alt="Map of {_esc(o.name, quote=True)}: {o.scorecard.plan.k} hubs" loading="eager">'
        f'<div class="cap">{_esc(o.name)}</div><div class="sub">{o.scorecard.plan.k} hubs · '
        f'{o.metrics["hubs_in_band"]} in band · {o.metrics["contiguous_hubs"]} contiguous · '
        f'mean travel {_minutes(o.metrics["travel_mean_min"])} · gap {_esc(_gap_text(o.gap))}</div></div></a>'
        for o in options)
    today = date.today()
    n_practices = len(options[0].scorecard.plan)
    body = (
        f'<h1>Options for grouping practices into hubs</h1>'
        f'<p class="meta">{len(options)} option{"s" if len(options) != 1 else ""} · {n_practices:,} practices · '
        f'{options[0].scorecard.summary["patients"]:,} registered patients · population band {_esc(bounds_text)} · '
        f'{today.day} {today:%B %Y}</p>'
        '<p class="lead">Each row is one way of grouping the region\'s GP practices into hubs. The rules are that '
        'every hub has a population within the band and is one connected piece; the other columns show how far '
        'patients travel, how well hubs follow towns and boundaries, how resilient they are and how much they '
        f'change from {_esc(baseline)}. Open an option for its map, charts and hub-by-hub table.</p>'
        f'<section aria-labelledby="t-options"><h2 id="t-options">Options compared</h2>{table}</section>'
        f'<section aria-labelledby="t-maps"><h2 id="t-maps">Maps at a glance</h2><div class="gallery">{gallery}</div>'
        '</section>'
        '<section aria-labelledby="t-files"><h2 id="t-files">Downloads</h2><div class="downloads">'
        '<a href="options.xlsx">All options (Excel)</a>'
        + "".join(f'<a href="plan-{o.slug}.csv">{_esc(o.name)} plan (CSV)</a>' for o in options)
        + '</div><p class="hint">Each option page also links its GeoPackage and GeoJSON for GIS.</p></section>'
        + _glossary_html(baseline, bounds_text) + _footer(region)
    )
    nav = "".join(f'<a href="option-{o.slug}.html">{_esc(o.name)}</a>' for o in options) + \
        '<a href="#glossary">Glossary</a>'
    return _page("PCN hub options", body, nav=nav)


def _hub_table_html(scorecard: Scorecard) -> str:
    hubs, bounds = scorecard.hubs, scorecard.bounds
    names = hub_names(scorecard)
    flagged = _flagged(scorecard)
    heads = [_th("#", "hub number on the map and charts", "", 0, "num"),
             _th("Hub", "the hub's name", "", 1, "text")]
    kinds = []
    for i, c in enumerate(_HUB_COLUMNS):
        label, unit, definition = HUB_METRICS[c]
        if c == "dominant_town":
            label = "Main town (share)"
            definition = f"{definition}, and the {HUB_METRICS['town_share'][2]}"
        kind = "num" if unit in ("patients", "count", "minutes", "%", "decile") or unit.startswith("index") else "text"
        kinds.append(kind)
        heads.append(_th(label, definition, unit, i + 2, kind))
    rows = []
    for n, hub in enumerate(_hub_order(scorecard), start=1):
        r = hubs.loc[hub]
        cls = ' class="flagged"' if hub in flagged else ""
        warn = (f' <span class="warn" title="{_esc("; ".join(_broken(r, bounds)), quote=True)}">⚠</span>'
                if hub in flagged else "")
        cells = [f'<td class="num" data-value="{n}">{n}</td>',
                 f'<td class="name" data-value="{_esc(names[hub], quote=True)}" '
                 f'title="{_esc(str(r["hub_name"]), quote=True)} ({_esc(str(hub), quote=True)})">'
                 f'{_esc(names[hub])}{warn}</td>']
        for c, kind in zip(_HUB_COLUMNS, kinds):
            v = r[c]
            unit = HUB_METRICS[c][1]
            bad = ""
            if c == "band":
                text = {"ok": "in band", "below min": f"below {bounds.min:,}", "above max": f"above {bounds.max:,}"}[v]
                bad = " bad" if v != "ok" else ""
                value = {"ok": "1", "below min": "0", "above max": "2"}[v]
            elif c == "contiguous":
                text = "yes" if bool(v) else f"no ({int(r['components'])} pieces)"
                bad = "" if bool(v) else " bad"
                value = "1" if bool(v) else "0"
            elif c == "base_practice":
                text = f"{r['base_name']}"
                value = text
            elif c == "dominant_town":
                text, value = f"{v} ({_pct(r['town_share'])})", str(v)
            elif unit == "minutes":
                text, value = _minutes(v), repr(float(v))
            elif unit == "%":
                text, value = _pct(v), repr(float(v))
            elif unit in ("patients", "count"):
                text, value = f"{int(v):,}", str(int(v))
            else:
                text, value = str(v), str(v)
            cell_cls = ("num" if kind == "num" else "text") + bad
            cells.append(f'<td class="{cell_cls}" data-value="{_esc(value, quote=True)}">{_esc(text)}</td>')
        rows.append(f"<tr{cls}>" + "".join(cells) + "</tr>")
    return ('<div class="tablewrap"><table class="data sortable compact" id="hubs"><thead><tr class="cols">'
            f'{"".join(heads)}'
            f'</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'
            '<p class="hint">Click a heading to sort; hover it for its definition. Flagged hubs are shaded red.</p>')


def _broken(row: pd.Series, bounds: Bounds) -> list[str]:
    """The rules a hub breaks, in words."""
    out = []
    if row["band"] == "below min":
        out.append(f"{int(row['patients']):,} patients, below the minimum of {bounds.min:,}")
    elif row["band"] == "above max":
        out.append(f"{int(row['patients']):,} patients, above the maximum of {bounds.max:,}")
    if not bool(row["contiguous"]):
        out.append(f"not one connected piece ({int(row['components'])} separate pieces)")
    return out


def _kpi(label: str, value: str, state: str = "", title: str = "") -> str:
    t = f' title="{_esc(title, quote=True)}"' if title else ""
    return f'<div class="kpi {state}"{t}><div class="v">{_esc(value)}</div><div class="l">{_esc(label)}</div></div>'


def _objective_terms_html(option: Option) -> str:
    terms = option.manifest.get("objective_terms") or {}
    if not isinstance(terms, dict) or not terms:
        return ""
    rows = []
    for name, t in terms.items():
        if not isinstance(t, dict):
            continue
        rows.append(f'<tr><td class="text">{_esc(str(name))}</td>'
                    f'<td class="num">{_num(_finite(t.get("weight")), "{:g}")}</td>'
                    f'<td class="num">{_num(_finite(t.get("normalised")), "{:.3f}")}</td>'
                    f'<td class="num">{_num(_finite(t.get("contribution")), "{:.4f}")}</td></tr>')
    if not rows:
        return ""
    return ('<details class="card" style="margin-top:16px"><summary><b>How the objective is made up</b> '
            f'(objective {_num(option.objective, "{:.4f}")}, gap {_esc(_gap_text(option.gap))})</summary>'
            '<p class="meta">Each term is the plan\'s raw total divided by today\'s PCNs\' total (1 = same as '
            'today, lower is better), times its weight.</p><div class="tablewrap" style="box-shadow:none">'
            '<table class="data"><thead><tr class="cols"><th>Term</th><th class="num">Weight</th>'
            '<th class="num">Relative to today</th><th class="num">Contribution</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div></details>')


def _option_html(options: list[Option], i: int, region: Region, charts: dict[str, str]) -> str:
    o = options[i]
    sc, m = o.scorecard, o.metrics
    k = m["hubs"]
    manifest = o.manifest
    prev_o = options[i - 1] if i > 0 else None
    next_o = options[i + 1] if i + 1 < len(options) else None

    how = {"evaluate": "evaluated (scored as given)", "optimise": "optimised"}.get(str(manifest.get("command")),
                                                                                  str(manifest.get("command") or "run"))
    solver = manifest.get("solver")
    made = str(manifest.get("created_utc") or "")[:10]
    meta = [f"K = {k} hubs", f"population band {sc.bounds.min:,}–{sc.bounds.max:,}", how]
    if solver:
        meta.append(f"solver {solver} {manifest.get('solver_version') or ''}".strip()
                    + (f", stopped by {manifest['stopped_by']}" if manifest.get("stopped_by") else ""))
    meta.append(f"gap {_gap_text(o.gap)}")
    if made:
        meta.append(f"run {made}")

    kpis = "".join([
        _kpi("hubs in band", f"{m['hubs_in_band']} of {k}", "good" if m["hubs_in_band"] == k else "bad",
             PLAN_METRICS["hubs_in_band"][2]),
        _kpi("hubs in one piece", f"{m['contiguous_hubs']} of {k}", "good" if m["contiguous_hubs"] == k else "bad",
             _CONTIG_DEF),
        _kpi("mean travel to hub base", _minutes(m["travel_mean_min"]), "", PLAN_METRICS["travel_mean_min"][2]),
        _kpi("90th percentile travel", _minutes(m["travel_p90_min"]), "", PLAN_METRICS["travel_p90_min"][2]),
        _kpi("towns split", _num(m["towns_split"]), "", PLAN_METRICS["towns_split"][2]),
        _kpi("hubs without an anchor", _num(m["hubs_without_anchor"]), "", PLAN_METRICS["hubs_without_anchor"][2]),
        _kpi(f"practices moved from {sc.baseline_name}", _num(m["practices_moved"]), "",
             PLAN_METRICS["practices_moved"][2]),
        _kpi("optimality gap", _gap_text(o.gap), "", _GAP_DEF),
    ])
    if sc.problems:
        flagged = _flagged(sc)
        names = hub_names(sc)
        number = {h: i + 1 for i, h in enumerate(_hub_order(sc))}
        items = []
        for hub in sorted(flagged, key=lambda h: (sc.hubs.at[h, "band"] == "ok", number[h])):
            items.append(f'<li><b>{number[hub]}. {_esc(names[hub])}</b> <span class="meta">({_esc(str(hub))})</span>: '
                         f'{_esc("; ".join(_broken(sc.hubs.loc[hub], sc.bounds)))}</li>')
        rules = (f'<div class="callout bad"><h3>⚠ {len(sc.problems)} broken rule'
                 f'{"s" if len(sc.problems) != 1 else ""} in {len(flagged)} hub{"s" if len(flagged) != 1 else ""}'
                 f'</h3><ul>{"".join(items)}</ul></div>')
    else:
        rules = ('<div class="callout"><h3>✓ No broken rules</h3>Every hub is within the population band and is '
                 'one connected piece.</div>')
    if o.notes:
        rules += ('<div class="callout note"><h3>Note</h3><ul>' + "".join(f"<li>{_esc(n)}</li>" for n in o.notes)
                  + "</ul></div>")

    downloads = "".join(f'<a href="{href}">{_esc(text)}</a>' for href, text in (
        (f"map-{o.slug}.html", "Interactive map (full screen)"),
        (f"map-{o.slug}.png", "Map image (PNG)"),
        (f"plan-{o.slug}.csv", "Plan file (CSV)"),
        (f"plan-{o.slug}.gpkg", "Hubs for GIS (GeoPackage)"),
        (f"plan-{o.slug}.geojson", "Hubs for GIS (GeoJSON)"),
        ("options.xlsx", "All options (Excel)"),
    ))
    pager = (
        '<nav class="pager" aria-label="Options">'
        + (f'<a href="option-{prev_o.slug}.html" rel="prev">‹ Previous: {_esc(prev_o.name)}</a>' if prev_o
           else '<span></span>')
        + '<a href="index.html">All options</a>'
        + (f'<a href="option-{next_o.slug}.html" rel="next">Next: {_esc(next_o.name)} ›</a>' if next_o
           else '<span></span>')
        + "</nav>")
    body = (
        f'<p class="meta" style="margin:0"><a href="index.html">All options</a> › {_esc(o.name)}</p>'
        f'<h1>{_esc(o.name)}</h1><p class="meta">{_esc(" · ".join(meta))}</p>'
        f'<section aria-label="Key figures"><div class="kpis">{kpis}</div></section>'
        f'<section aria-labelledby="t-rules"><h2 id="t-rules">Rules</h2>{rules}</section>'
        f'<section aria-labelledby="t-map"><h2 id="t-map">Map</h2><div class="card mapcard">'
        f'<iframe class="map" src="map-{o.slug}.html" title="Interactive map of {_esc(o.name, quote=True)}">'
        f'</iframe><div class="mapbar"><span>Click a hub for its scorecard; layers (top right) add deprivation '
        f'and travel times.</span><a href="map-{o.slug}.html">Open the map full screen</a></div></div></section>'
        f'<section aria-labelledby="t-charts"><h2 id="t-charts">Charts</h2><div class="charts">'
        f'<figure class="card">{charts["population"]}<figcaption>Registered patients per hub, largest first. The '
        f'shaded band is the allowed {sc.bounds.min:,}–{sc.bounds.max:,}; red hatched bars are outside it. '
        f'Numbers match the map and the hub table.</figcaption></figure>'
        f'<figure class="card">{charts["travel"]}<figcaption>Car minutes from home to the hub base site: mean (dark) '
        f'and 90th percentile (light; 9 in 10 patients live closer), longest first.</figcaption></figure>'
        f'<figure class="card wide">{charts["histogram"]}<figcaption>How far every patient of the plan lives from '
        'their hub base, in 2-minute bands.</figcaption></figure>'
        f'</div></section>'
        f'<section aria-labelledby="t-hubs"><h2 id="t-hubs">Hubs</h2>{_hub_table_html(sc)}'
        f'{_objective_terms_html(o)}</section>'
        f'<section aria-labelledby="t-files"><h2 id="t-files">Downloads</h2><div class="downloads">{downloads}</div>'
        f'</section>{pager}{_footer(region)}'
    )
    nav = ('<a href="index.html">All options</a>'
           + (f'<a href="option-{prev_o.slug}.html">‹ Previous</a>' if prev_o else "")
           + (f'<a href="option-{next_o.slug}.html">Next ›</a>' if next_o else "")
           + '<a href="index.html#glossary">Glossary</a>')
    return _page(f"{o.name} – PCN hub options", body, nav=nav)


# ---------------------------------------------------------------------------
# Excel
# ---------------------------------------------------------------------------


def _options_frame(options: list[Option]) -> tuple[pd.DataFrame, dict[str, str]]:
    """The options table with plain-English headers (units in brackets), and each header's number format."""
    columns = _options_columns(options[0].scorecard.baseline_name)
    formats: dict[str, str] = {}
    data: dict[str, list] = {"Option": [o.name for o in options]}
    for c in columns:
        unit = {"minutes": " (min)", "%": " (%)", "patients": " (patients)"}.get(c.unit, "")
        header = c.label + unit
        formats[header] = c.xlsx_format
        values = []
        for o in options:
            v = o.metrics.get(c.key)
            if c.key == "gap" and v is None:
                v = "not certified"
            values.append(v)
        data[header] = values
    data["Run directory"] = [str(o.path) for o in options]
    return pd.DataFrame(data), formats


def _hub_frame(scorecard: Scorecard) -> tuple[pd.DataFrame, dict[str, str]]:
    hubs = scorecard.hubs
    order = _hub_order(scorecard)
    names = hub_names(scorecard)
    frame = pd.DataFrame({"#": range(1, len(order) + 1), "Hub": [names[h] for h in order], "Hub id": order,
                          "Full name": [str(hubs.at[h, "hub_name"]) for h in order]})
    formats = {"#": "0"}
    band_words = {"ok": "in band", "below min": f"below {scorecard.bounds.min:,}",
                  "above max": f"above {scorecard.bounds.max:,}"}
    for c, (label, unit, _d) in HUB_METRICS.items():
        if c not in hubs.columns:
            continue
        header = label + {"minutes": " (min)", "%": " (%)"}.get(unit, "")
        values = hubs.loc[order, c]
        if unit == "yes/no":
            values = values.map(lambda v: "yes" if bool(v) else "no")
        elif c == "band":
            values = values.map(lambda v: band_words.get(v, v))
        elif c == "base_practice":
            values = [f"{hubs.at[h, 'base_name']} ({hubs.at[h, c]})" for h in order]
        frame[header] = list(values)
        formats[header] = {"patients": "#,##0", "count": "#,##0", "minutes": "0.0", "%": "0%", "decile": "0.0"}.get(
            unit, "0.00" if unit.startswith("index") else "@")
    return frame, formats


def _glossary_frame(baseline: str) -> pd.DataFrame:
    rows = [("Plan", "Hubs (K)", "count", "number of hubs in the option"),
            ("Plan", "Contiguous hubs", "count", _CONTIG_DEF),
            ("Plan", "Broken rules", "count", _RULES_DEF)]
    rows += [("Plan", n, u, d) for k, (n, u, d) in PLAN_METRICS.items() if k != "hubs"]
    rows += [("Plan", "Objective", "score", _OBJECTIVE_DEF), ("Plan", "Optimality gap", "%", _GAP_DEF)]
    rows += [("Hub", n, u, d) for n, u, d in HUB_METRICS.values()]
    rows.append(("Note", "Baseline", "", f"disruption is measured against {baseline}"))
    frame = pd.DataFrame(rows, columns=["Applies to", "Measure", "Unit", "Definition"])
    frame["Definition"] = frame["Definition"].map(lambda d: d[:1].upper() + d[1:])
    return frame


def _sheet_name(name: str, taken: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\']", "", name).strip() or "Option"
    base = base[:31]
    out, n = base, 2
    while out.lower() in taken:
        suffix = f" ({n})"
        out = base[:31 - len(suffix)] + suffix
        n += 1
    taken.add(out.lower())
    return out


def _excel_bytes(options: list[Option]) -> bytes:
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    header_font = Font(bold=True, color="FFFFFF")
    header_fill = PatternFill("solid", fgColor=NHS_BLUE.lstrip("#"))
    bad_font = Font(bold=True, color=FLAG_RED.lstrip("#"))

    def style(ws, frame: pd.DataFrame, formats: dict[str, str], widths: dict[str, int] | None = None) -> None:
        ws.freeze_panes = "C2" if "Hub" in frame.columns else "B2" if ws.title != "Glossary" else "A2"
        ws.auto_filter.ref = ws.dimensions
        ws.row_dimensions[1].height = 32
        for j, column in enumerate(frame.columns, start=1):
            cell = ws.cell(row=1, column=j)
            cell.font, cell.fill = header_font, header_fill
            cell.alignment = Alignment(wrap_text=True, vertical="center")
            fmt = formats.get(column)
            longest = max([len(str(column)) * 0.8] + [len(f"{v:,.1f}" if isinstance(v, float) else str(v))
                                                       for v in frame[column]])
            width = (widths or {}).get(column, min(max(10, longest + 2), 48))
            ws.column_dimensions[get_column_letter(j)].width = width
            for i in range(2, len(frame) + 2):
                c = ws.cell(row=i, column=j)
                if fmt and isinstance(c.value, (int, float)) and not isinstance(c.value, bool):
                    c.number_format = fmt
                if isinstance(c.value, str) and len(c.value) > 48:
                    c.alignment = Alignment(wrap_text=True, vertical="top")

    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:
        frame, formats = _options_frame(options)
        frame.to_excel(writer, sheet_name="Options", index=False)
        ws = writer.sheets["Options"]
        style(ws, frame, formats)
        headers = list(frame.columns)
        for i, o in enumerate(options, start=2):
            m = o.metrics
            for key, header in (("hubs_in_band", "Hubs in band"), ("contiguous_hubs", "Contiguous hubs")):
                if m[key] < m["hubs"]:
                    ws.cell(row=i, column=headers.index(header) + 1).font = bad_font
            if m["rules_broken"]:
                ws.cell(row=i, column=headers.index("Broken rules") + 1).font = bad_font
        taken = {"options", "glossary"}
        for o in options:
            hub_frame, hub_formats = _hub_frame(o.scorecard)
            name = _sheet_name(o.name, taken)
            hub_frame.to_excel(writer, sheet_name=name, index=False)
            ws = writer.sheets[name]
            style(ws, hub_frame, hub_formats)
            flagged = _flagged(o.scorecard)
            for i, hub in enumerate(hub_frame["Hub id"], start=2):
                if hub in flagged:
                    for j in range(1, len(hub_frame.columns) + 1):
                        ws.cell(row=i, column=j).fill = PatternFill("solid", fgColor="FDECEC")
        glossary = _glossary_frame(options[0].scorecard.baseline_name)
        glossary.to_excel(writer, sheet_name="Glossary", index=False)
        ws = writer.sheets["Glossary"]
        style(ws, glossary, {}, widths={"Applies to": 12, "Measure": 30, "Unit": 12, "Definition": 100})
        for i in range(2, len(glossary) + 2):
            ws.cell(row=i, column=4).alignment = Alignment(wrap_text=True, vertical="top")
    return buf.getvalue()


# ---------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------


def write_report(run_dirs: list[Path], out: Path, *, region: Region | None = None,
                 names: list[str] | None = None) -> Path:
    """Write the options report for some run directories; return the path of its ``index.html``.

    Parameters
    ----------
    run_dirs
        Run directories written by ``evaluate`` / ``optimise`` (or
        :func:`pcn_planner.outputs.run.write_run`), one per option, in the order shown.
    out
        Report folder (created; files of an earlier report there are replaced).
    region
        The region to score the plans on; default the embedded data, built with
        :func:`pcn_planner.build_region` (about 6 s).
    names
        Option names to show, one per run directory; default each plan's name.

    Returns
    -------
    Path
        ``out / "index.html"``.

    Raises
    ------
    InputError
        A run directory is missing or lacks a file (the message names the
        folder and the file), or its plan does not fit the region. Nothing is
        written then.
    """
    from pcn_planner.outputs.exports import write_geojson, write_geopackage, write_plan_csv
    from pcn_planner.outputs.maps.offline import save_offline
    from pcn_planner.outputs.maps.plan_map import plan_map

    out = Path(out)
    paths = [Path(p) for p in run_dirs]
    if not paths:
        raise InputError("no run directories given: a report needs at least one option")
    if names is not None and len(names) != len(paths):
        raise InputError(f"{len(names)} name(s) given for {len(paths)} run directories")
    for p in paths:  # fail on a bad folder before the slow region build
        _check_run_dir(p)
    if region is None:
        from pcn_planner.geography.region import build_region

        region = build_region()
    options = load_options(paths, region, names)

    with staged_directory(out) as stage:
        for i, o in enumerate(options):
            sc = o.scorecard
            title = o.name[:1].upper() + o.name[1:]
            save_offline(plan_map(sc, gap=o.gap, title=title), stage / f"map-{o.slug}.html")
            plan_png(sc, stage / f"map-{o.slug}.png", gap=o.gap, title=title)
            write_plan_csv(sc, stage / f"plan-{o.slug}.csv")
            write_geopackage(sc, stage / f"plan-{o.slug}.gpkg")
            write_geojson(sc, stage / f"plan-{o.slug}.geojson")
            charts = {"population": population_chart(sc, salt=f"{o.slug}-pop"),
                      "travel": travel_chart(sc, salt=f"{o.slug}-travel"),
                      "histogram": travel_histogram(sc, salt=f"{o.slug}-hist")}
            atomic_write_text(stage / f"option-{o.slug}.html", _option_html(options, i, region, charts))
        atomic_write_bytes(stage / "options.xlsx", _excel_bytes(options))
        atomic_write_text(stage / "index.html", _index_html(options, region))
    return out / "index.html"
