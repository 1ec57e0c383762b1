"""The report's charts as inline SVG: hub populations against the band, travel per hub, every patient's travel."""

from __future__ import annotations

import io
import math
import re
from typing import TYPE_CHECKING, Any

import numpy as np

from pcn_planner.outputs.report.words import (
    FLAG_RED,
    NHS_BLUE,
    NHS_DARK_BLUE,
    NHS_GREEN,
    NHS_SECONDARY,
    NHS_TEXT,
    _clip,
    _esc,
    _hub_order,
    heading,
    hub_names,
)
from pcn_planner.scoring.metrics import HUB, PLAN

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from matplotlib.typing import RcKeyType

    from pcn_planner.scoring.scorecard import Scorecard

__all__ = ["patient_minutes", "population_chart", "travel_chart", "travel_histogram"]

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


_RC: dict[RcKeyType, Any] = {
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


def _hub_axis(ax, scorecard: Scorecard, order: list[str], top: float, xlabel: str) -> None:
    """Label a hub bar chart: hub numbers and names down the side in ``order`` (first on top), x from 0 to ``top``."""
    names = hub_names(scorecard)
    number = {h: i + 1 for i, h in enumerate(_hub_order(scorecard))}
    n = len(order)
    ax.set_yticks(np.arange(n), [f"{number[h]}  {_clip(names[h], _BAR_LABEL_CHARS)}" for h in order])
    ax.invert_yaxis()
    ax.set_ylim(n - 0.4, -0.6)
    ax.set_xlim(0, top)
    ax.set_xlabel(xlabel)
    _style_axes(ax)
    ax.tick_params(axis="y", length=0)


def _legend_on_top(fig, handles: list) -> None:
    """One row of legend keys above a hub bar chart, in the space :func:`_bar_figure` leaves."""
    fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.01, 1 - 0.04 / fig.get_figheight()),
               ncol=len(handles), fontsize=9.5, frameon=False, handlelength=1.6, columnspacing=1.2,
               borderaxespad=0.2)


def population_chart(scorecard: Scorecard, *, salt: str = "pop") -> str:
    """Horizontal bars of hub patients (largest first) with the population band shaded; inline SVG."""
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter

    hubs, bounds = scorecard.hubs, scorecard.bounds
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
    for yi, v, o in zip(y, values, out, strict=True):
        ax.text(v + top * 0.008, yi, f"{v:,.0f}" + ("  ⚠" if o else ""), va="center", ha="left", fontsize=9.5,
                color=FLAG_RED if o else NHS_TEXT, fontweight="bold" if o else "normal", zorder=3,
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.6, "alpha": 0.8})
    _hub_axis(ax, scorecard, order, top, "Registered patients per hub (k = thousand patients)")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v / 1000:,.0f}k" if v else "0"))
    handles = [Patch(color="#DCEFE3", label=f"Population band {bounds.min:,}–{bounds.max:,}"),
               Patch(color=NHS_BLUE, label="Hub in band")]
    if out.any():
        handles.append(Patch(facecolor=FLAG_RED, hatch="///", edgecolor="white", label="Hub out of band"))
    _legend_on_top(fig, handles)
    return _svg(fig, f"Bar chart of registered patients per hub against the {bounds} band", salt, tight=False)


def travel_chart(scorecard: Scorecard, *, salt: str = "travel") -> str:
    """Per hub: mean and 90th percentile car minutes to the hub base (worst first); inline SVG."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    hubs = scorecard.hubs
    order = sorted(hubs.index, key=lambda h: -hubs.at[h, "travel_p90_min"])
    n = len(order)
    fig, ax = _bar_figure(n)
    y = np.arange(n)
    p90 = hubs.loc[order, "travel_p90_min"].to_numpy(float)
    mean = hubs.loc[order, "travel_mean_min"].to_numpy(float)
    ax.barh(y, p90, color="#A6C8E8", height=0.68, zorder=2)
    ax.barh(y, mean, color=NHS_DARK_BLUE, height=0.34, zorder=3)
    top = np.nanmax(p90) * 1.3
    for yi, m, p in zip(y, mean, p90, strict=True):
        ax.text(p + top * 0.01, yi, f"{m:.1f} / {p:.1f}", va="center", ha="left", fontsize=9.5, color=NHS_TEXT)
    overall = scorecard.summary["travel_mean_min"]
    ax.axvline(overall, color=NHS_TEXT, linewidth=1, linestyle=(0, (2, 2)), zorder=4)
    _hub_axis(ax, scorecard, order, top, "Car travel, home to hub base (minutes)")
    handles = [Patch(color=NHS_DARK_BLUE, label=heading(HUB["travel_mean_min"])),
               Patch(color="#A6C8E8", label=heading(HUB["travel_p90_min"])),
               Line2D([], [], color=NHS_TEXT, linewidth=1, linestyle=(0, (2, 2)),
                      label=f"Plan mean {PLAN['travel_mean_min'].format(overall)}")]
    _legend_on_top(fig, handles)
    return _svg(fig, "Bar chart of mean and 90th percentile travel minutes per hub", salt, tight=False)


def patient_minutes(scorecard: Scorecard) -> tuple[np.ndarray, np.ndarray]:
    """(minutes, patients) of every home LSOA x hub pair: each patient's car minutes to their hub base."""
    region = scorecard.region
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
    top = max(20.0, 2 * math.ceil(weighted_quantile(minutes, weights, 0.995) / 2) + 2) if len(minutes) else 20.0
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
    lines = ((s["travel_mean_min"], f"mean {PLAN['travel_mean_min'].format(s['travel_mean_min'])}", 0.95),
             (s["travel_p90_min"], f"90th percentile {PLAN['travel_p90_min'].format(s['travel_p90_min'])}", 0.80))
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
