"""The static map of a plan (PNG, for slides and the README): numbered hubs, a key, and an inset where hubs crowd."""

from __future__ import annotations

import io
import math
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pcn_planner.core.files import atomic_write_bytes
from pcn_planner.core.version import __version__
from pcn_planner.geography.territories import METRIC_CRS, site_xy
from pcn_planner.outputs.report.charts import _RC, _figure
from pcn_planner.outputs.report.words import (
    FLAG_RED,
    GAP,
    NHS_SECONDARY,
    NHS_TEXT,
    _clip,
    _flagged,
    _hub_order,
    gap_words,
    hub_names,
)
from pcn_planner.scoring.metrics import PLAN

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from pcn_planner.scoring.scorecard import Scorecard

__all__ = ["plan_figure", "plan_png"]

def _label_point(geom):
    """A point well inside the largest piece of a (multi)polygon in metres."""
    import shapely.ops

    parts = [p for p in getattr(geom, "geoms", [geom]) if p.geom_type == "Polygon"] or [geom]
    biggest = max(parts, key=lambda p: p.area)
    try:
        return shapely.ops.polylabel(biggest, tolerance=50.0)
    except Exception:  # noqa: BLE001 - cosmetic; what polylabel raises differs by shapely version
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
    graph: nx.Graph[str] = nx.Graph()
    for a in np.flatnonzero(crowded):
        for b in np.flatnonzero(crowded):
            if a < b and dist[a, b] < 1.0:
                graph.add_edge(hubs[a], hubs[b])
    if graph.number_of_nodes() == 0:
        return []
    largest = max(nx.connected_components(graph), key=len)
    return sorted(largest)


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

    from pcn_planner.outputs.maps.plan_map import PALETTE, PRACTICE_COLOURS, hub_adjacency, hub_colours, practice_kind

    hubs, bounds, plan = scorecard.hubs, scorecard.bounds, scorecard.plan
    region = scorecard.region
    geo = scorecard.geometry.to_crs(METRIC_CRS)
    colours = hub_colours(hub_adjacency(scorecard), hubs.index)
    fills = [colours.get(h, PALETTE[0]) for h in geo.index]
    flagged = _flagged(scorecard)
    order = _hub_order(scorecard)
    names = hub_names(scorecard)
    number = {h: i + 1 for i, h in enumerate(order)}
    points = {h: (p.x, p.y) for h, p in ((h, _label_point(g)) for h, g in geo.geometry.items())}
    practices = region.atlas.practices.loc[list(plan.assignment.index)]
    xy = site_xy(practices)
    risk = region.risk.table
    kinds = np.array([practice_kind(c, risk) for c in practices.index])
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
                ax.scatter(xy[sel, 0], xy[sel, 1], s=sizes[sel] * marker_scale, c=PRACTICE_COLOURS[kind],
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
            Line2D([], [], linestyle="none", marker="o", markersize=7, markerfacecolor=PRACTICE_COLOURS["anchor"],
                   markeredgecolor="white", label="Anchor practice (resilient)"),
            Line2D([], [], linestyle="none", marker="o", markersize=7, markerfacecolor=PRACTICE_COLOURS["high risk"],
                   markeredgecolor="white", label="High-risk practice"),
            Patch(facecolor="white", edgecolor=FLAG_RED, linestyle="--", linewidth=2,
                  label="⚠ Hub out of band or not in one piece"),
        ]
        ax.legend(handles=size_handles + other, loc="upper left", bbox_to_anchor=(0.0, -0.01), ncol=3,
                  fontsize=9.5, frameon=False, title="Practices: circle area ∝ list size", title_fontsize=9.5,
                  columnspacing=1.6, handletextpad=0.5, labelspacing=0.8, borderaxespad=0.2,
                  alignment="left")  # entries flush left under the title

        if inset:
            x0, y0, x1, y1 = inset
            ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor=NHS_TEXT, linewidth=1.2,
                                   zorder=9))
            ax.text(x0, y1, " Inset ", ha="left", va="bottom", fontsize=9, fontweight="bold", color=NHS_TEXT,
                    zorder=9, bbox={"facecolor": "white", "edgecolor": NHS_TEXT, "linewidth": 1, "pad": 1.5})
            top = head + key_h + 0.6
            towns = hubs.loc[list(in_inset), "dominant_town"].value_counts()
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
        sub = (f"K = {k} hubs  ·  {bounds.min:,}–{bounds.max:,} patients per hub  ·  {GAP.label.lower()}: "
               f"{gap_words(gap)}  ·  {s['hubs_in_band']} of {k} in band, {k - s['non_contiguous_hubs']} of {k} "
               f"in one piece  ·  mean travel {PLAN['travel_mean_min'].format(s['travel_mean_min'])}")
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
