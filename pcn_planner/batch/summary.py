"""Summaries of a batch: what holds across scenarios, what trades off, and what could not be done.

:func:`summarise_batch` reads ``results.sqlite`` and returns tables;
:func:`write_batch_summary` writes them as CSVs to ``summary/`` with one
offline page, ``summary/index.html`` (inline SVG charts, no network requests).

Definitions
-----------
co-assignment
    For practices *i* and *j*: the share of scenarios (with a plan, and with
    both practices open) in which they share a hub. Symmetric; 1 on the diagonal.
stability
    Per practice, the mean over every practice it shares a hub with in at least
    one scenario of ``max(p, 1 - p)``, *p* their co-assignment: 1 when each of
    those pairings is always decided the same way, 0.5 when it is a coin flip.
with usual hub-mates
    Its *usual hub-mates* are the practices it shares a hub with in more than
    half of the scenarios; this is the mean, over scenarios, of the Jaccard
    similarity between its hub-mates in that scenario and its usual hub-mates
    (1: always exactly its usual hub-mates).
hub frequency
    The share of scenarios whose plan contains a hub of exactly this set of practices.
Pareto front
    A scenario is on the front when no other scenario is at least as good on
    every one of :data:`PARETO_AXES` (mean travel, patients outside their hub's
    main town and the worst hub's high-risk share), and better on one; each
    axis is taken in the direction the registry calls better.
bands
    For each swept parameter and each of its values: the minimum, median and
    maximum of the measures of :data:`BAND_METRICS` over the scenarios with that value.

Labels, units and formats of the measures come from the metrics registry
(:mod:`pcn_planner.scoring.metrics`; the optimality gap's from
:mod:`pcn_planner.outputs.report.words`). The CSV files hold the values as
stored: a share is a fraction (0.344 is 34.4 %), and ``bands.csv`` says so in
its ``unit`` column (``share (0–1)``).
"""

from __future__ import annotations

import html
import io
import json
import math
import re
from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from pcn_planner.batch.scenarios import value_label
from pcn_planner.batch.store import STORE_NAME, ResultStore
from pcn_planner.core.errors import InputError
from pcn_planner.core.files import atomic_write_text, staged_directory
from pcn_planner.core.version import __version__
from pcn_planner.outputs.report.words import GAP, data_unit, format_gap, heading
from pcn_planner.scoring.metrics import PLAN, Metric

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

__all__ = ["BAND_METRICS", "pareto_flags", "summarise_batch", "write_batch_summary"]

#: Measures shown in the bands (plan metrics, and the optimality gap).
BAND_METRICS: tuple[str, ...] = ("travel_mean_min", "town_outside_share", "max_high_risk_share", "practices_moved",
                                 "gap")
#: Plan metrics the Pareto front is taken over (x axis, y axis, colour).
PARETO_AXES: tuple[str, ...] = ("travel_mean_min", "town_outside_share", "max_high_risk_share")


def _measure(key: str) -> Metric:
    """The registered plan metric ``key``, or the optimality gap."""
    return GAP if key == GAP.key else PLAN[key]


def _formatter(key: str):
    """How a measure's value is shown in the page's tables (the gap with two decimals, as solvers report it)."""
    return format_gap if key == GAP.key else _measure(key).format


def _minimised(frame: pd.DataFrame, axes: tuple[str, ...]) -> np.ndarray:
    """The axes' values turned so that lower is better on each (by the registry's ``better``)."""
    sign = []
    for key in axes:
        better = _measure(key).better
        if better is None:
            raise ValueError(f"{key} has no better direction, so it cannot be a Pareto axis")
        sign.append(1.0 if better == "lower" else -1.0)
    return frame[list(axes)].to_numpy(float) * np.array(sign)

BLUE, DARK, TEXT, GREY, RED, GREEN = "#005EB8", "#003087", "#212B32", "#F0F4F5", "#C00000", "#007F3B"


# ---------------------------------------------------------------------------
# tables
# ---------------------------------------------------------------------------


def pareto_flags(points: np.ndarray) -> np.ndarray:
    """True for each row not dominated by another (every column minimised)."""
    pts = np.asarray(points, dtype=float)
    n = len(pts)
    flags = np.ones(n, dtype=bool)
    for i in range(n):
        no_worse = np.all(pts <= pts[i], axis=1)
        better = np.any(pts < pts[i], axis=1)
        if np.any(no_worse & better):
            flags[i] = False
    return flags


def _value_order(values: list[Any]) -> list[Any]:
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return sorted(values)
    return sorted(values, key=value_label)


def _coassignment(plans: list[dict[str, str]], codes: list[str]) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """(co-assignment share, same-hub counts, both-present counts)."""
    index = {c: i for i, c in enumerate(codes)}
    n = len(codes)
    same = np.zeros((n, n))
    present = np.zeros((n, n))
    for plan in plans:
        pos = np.array([index[c] for c in plan if c in index], dtype=int)
        hubs = [plan[c] for c in plan if c in index]
        _, label = np.unique(np.array(hubs, dtype=object).astype(str), return_inverse=True)
        onehot = np.zeros((len(pos), int(label.max()) + 1 if len(label) else 0))
        onehot[np.arange(len(pos)), label] = 1.0
        same[np.ix_(pos, pos)] += onehot @ onehot.T
        present[np.ix_(pos, pos)] += 1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(present > 0, same / np.maximum(present, 1), np.nan)
    frame = pd.DataFrame(share, index=pd.Index(codes, name="practice_code"), columns=codes)
    return frame, same, present


def _stability(co: pd.DataFrame, plans: list[dict[str, str]], info: pd.DataFrame) -> pd.DataFrame:
    codes = list(co.index)
    p = co.to_numpy()
    rows = []
    usual: dict[str, set[str]] = {}
    for i, c in enumerate(codes):
        others = np.array([j for j in range(len(codes)) if j != i])
        pij = p[i, others]
        ever = pij[np.nan_to_num(pij) > 0]
        usual[c] = {codes[j] for j in others if np.nan_to_num(p[i, j]) > 0.5}
        rows.append((c, float(np.mean(np.maximum(ever, 1 - ever))) if len(ever) else np.nan))
    mates_score: dict[str, list[float]] = {c: [] for c in codes}
    for plan in plans:
        members: dict[str, set[str]] = {}
        for c, h in plan.items():
            members.setdefault(h, set()).add(c)
        for c, h in plan.items():
            if c not in mates_score:
                continue
            mates = members[h] - {c}
            expect = usual[c] & set(plan)
            union = mates | expect
            mates_score[c].append(1.0 if not union else len(mates & expect) / len(union))
    frame = pd.DataFrame(rows, columns=["practice_code", "stability"]).set_index("practice_code")
    frame["with_usual_mates"] = [float(np.mean(mates_score[c])) if mates_score[c] else np.nan for c in codes]
    frame["usual_mates"] = [" ".join(sorted(usual[c])) for c in codes]
    frame["scenarios"] = [len(mates_score[c]) for c in codes]
    frame = info.reindex(codes)[["name", "pcn_name", "town", "list_size"]].join(frame)
    frame.index.name = "practice_code"
    return frame


def _hub_frequency(plans: list[dict[str, str]], labels: list[dict[str, str]], info: pd.DataFrame,
                   top: int) -> pd.DataFrame:
    counts: dict[frozenset[str], int] = {}
    names: dict[frozenset[str], dict[str, int]] = {}
    for plan, lab in zip(plans, labels, strict=False):  # plans skips rows without a plan, labels does not
        members: dict[str, set[str]] = {}
        for c, h in plan.items():
            members.setdefault(h, set()).add(c)
        for h, m in members.items():
            key = frozenset(m)
            counts[key] = counts.get(key, 0) + 1
            label = lab.get(h, h)
            names.setdefault(key, {})[label] = names.setdefault(key, {}).get(label, 0) + 1
    n = max(len(plans), 1)
    rows = []
    for key, count in counts.items():
        label = sorted(names[key].items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
        sizes = info["list_size"].reindex(sorted(key))
        rows.append({"hub": label, "practices": len(key), "patients_today": int(sizes.fillna(0).sum()),
                     "scenarios": count, "share": count / n, "members": " ".join(sorted(key))})
    frame = pd.DataFrame(rows, columns=["hub", "practices", "patients_today", "scenarios", "share", "members"])
    frame = frame.sort_values(["scenarios", "members"], ascending=[False, True]).reset_index(drop=True)
    frame.index = frame.index + 1
    frame.index.name = "rank"
    return frame.head(top) if top else frame


def _overran(results: pd.DataFrame) -> pd.Series:
    """Scenarios whose engine ran more than 25 % (and 2 s) past their own time limit."""
    if "time_limit" not in results:
        return pd.Series(False, index=results.index)
    limit = pd.to_numeric(results["time_limit"], errors="coerce")
    wall = pd.to_numeric(results["wall_seconds"], errors="coerce")
    return (wall > 1.25 * limit) & (wall > limit + 2)


def _flat_results(results: pd.DataFrame) -> pd.DataFrame:
    keep = ["name", "status", "reason", "objective", "bound", "gap", "stopped_by", "wall_seconds", "time_limit", "k",
            "travel_mean_min", "travel_p90_min", "town_outside_share", "lad_outside_share",
            "catchment_outside_share", "towns_split", "practices_moved", "pcn_pairs_broken",
            "max_high_risk_share", "hubs_without_anchor", "worker", "finished_utc"]
    flat = results[[c for c in keep if c in results.columns]].copy()
    params = pd.DataFrame([{f"param:{k}": value_label(v) if isinstance(v, (dict, list)) else v for k, v in p.items()}
                           for p in results["params"]], index=results.index, dtype=object)
    flat = params.join(flat) if len(params.columns) else flat
    return flat.sort_values("name", kind="stable")


def summarise_batch(out_dir: str | Path, *, top: int = 25) -> dict[str, pd.DataFrame]:
    """Summary tables of a batch folder.

    Returns
    -------
    dict of DataFrame
        ``results`` (one row per scenario, parameters as ``param:`` columns),
        ``overview``, ``coassignment`` (practice x practice share),
        ``stability`` (per practice, least stable first), ``hub_frequency``
        (top ``top`` hubs), ``pareto`` (every ok scenario with its ``pareto``
        flag), ``bands`` (per swept parameter value), ``infeasible`` and ``errors``.
        Co-assignment and stability cover the region with the most plans.
    """
    path = Path(out_dir) / STORE_NAME
    if not path.is_file():
        raise InputError(f"no {STORE_NAME} here: not a batch output folder (run 'batch run' first)",
                         file=str(out_dir))
    with ResultStore(path) as store:
        results = store.frame(json_columns=True)
        practices = store.practices()
        meta = dict(store.db.execute("SELECT key, value FROM meta").fetchall())
        registered = len(store.scenarios())
    ok = results[results["status"] == "ok"]

    # the main region: the one with most plans
    region_key = ok["region_key"].value_counts().index[0] if len(ok) else None
    main = ok[ok["region_key"] == region_key] if region_key is not None else ok
    info = practices[practices["region_key"] == region_key].set_index("code") if region_key else \
        pd.DataFrame(columns=["name", "pcn_code", "pcn_name", "town", "list_size"])
    plans = [p for p in main["plan"] if p]
    labels = [lab or {} for lab in main["hub_labels"]]
    codes = sorted(info.sort_values(["pcn_name", "code"]).index, key=lambda c: (str(info.at[c, "pcn_name"]), c)) \
        if len(info) else sorted({c for p in plans for c in p})
    if len(info) == 0:
        info = pd.DataFrame({"name": codes, "pcn_code": "", "pcn_name": "", "town": "", "list_size": np.nan},
                            index=codes)
    co, _, _ = _coassignment(plans, codes)
    stability = _stability(co, plans, info).sort_values(["stability", "with_usual_mates"]) if plans else \
        pd.DataFrame(columns=["name", "pcn_name", "town", "list_size", "stability", "with_usual_mates",
                              "usual_mates", "scenarios"])
    hubs = _hub_frequency(plans, labels, info, top)

    # Pareto front over every ok scenario
    pareto = ok[["name", *PARETO_AXES, "gap", "k"]].dropna(subset=list(PARETO_AXES)).copy()
    pareto["pareto"] = pareto_flags(_minimised(pareto, PARETO_AXES)) if len(pareto) else []
    pareto["pareto_travel_town"] = pareto_flags(_minimised(pareto, PARETO_AXES[:2])) if len(pareto) else []
    first = PARETO_AXES[0]
    pareto = pareto.sort_values(["pareto", first], ascending=[False, _measure(first).better == "lower"])

    # bands per swept parameter value
    rows = []
    keys = sorted({k for p in results["params"] for k in p})
    for key in keys:
        having = results[[key in p for p in results["params"]]]
        values = _value_order(list({json.dumps(p[key], sort_keys=True): p[key] for p in having["params"]}.values()))
        if len(values) < 2:
            continue
        for value in values:
            sel = having[[json.dumps(p[key], sort_keys=True) == json.dumps(value, sort_keys=True)
                          for p in having["params"]]]
            good = sel[sel["status"] == "ok"]
            for metric in BAND_METRICS:
                v = pd.to_numeric(good[metric], errors="coerce").dropna()
                m = _measure(metric)
                rows.append({"parameter": key, "value": value_label(value), "metric": metric, "label": m.label,
                             "unit": data_unit(m), "scenarios": len(sel),
                             "ok": len(good), "infeasible": int((sel["status"] == "infeasible").sum()),
                             "min": v.min() if len(v) else np.nan, "median": v.median() if len(v) else np.nan,
                             "max": v.max() if len(v) else np.nan})
    bands = pd.DataFrame(rows, columns=["parameter", "value", "metric", "label", "unit", "scenarios", "ok",
                                        "infeasible", "min", "median", "max"])

    infeasible = results[results["status"] == "infeasible"][["name", "params", "stopped_by", "reason"]].copy()
    infeasible["stopped_by"] = infeasible["stopped_by"].map(
        {"time": "no plan found in the time limit", "proof": "rules proven impossible"}).fillna("")
    infeasible = infeasible.rename(columns={"stopped_by": "kind"})
    infeasible["params"] = infeasible["params"].map(lambda p: json.dumps(p, sort_keys=True))
    errors = results[results["status"] == "error"][["name", "params", "reason"]].copy()
    errors["params"] = errors["params"].map(lambda p: json.dumps(p, sort_keys=True))

    gaps = pd.to_numeric(ok["gap"], errors="coerce")
    overview = pd.DataFrame([
        ("batch", meta.get("name", "")),
        ("scenarios registered", registered),
        ("results stored", len(results)),
        ("ok", len(ok)),
        ("infeasible", int((results["status"] == "infeasible").sum())),
        # a scenario can also end without a plan because its time limit ran out: not the same as impossible
        ("of which no plan in the time limit",
         int(((results["status"] == "infeasible") & (results["stopped_by"] == "time")).sum())),
        ("error", int((results["status"] == "error").sum())),
        ("median gap", float(gaps.median()) if gaps.notna().any() else None),
        ("plans with gap <= 1 %", int((gaps <= 0.01 + 1e-12).sum())),
        ("plans without a certified bound", int(gaps.isna().sum())),
        ("scenario seconds (sum)", round(float(pd.to_numeric(results["wall_seconds"], errors="coerce").sum()), 1)),
        ("scenarios over their time limit by more than 25 %", int(_overran(results).sum())),
        ("Pareto-optimal scenarios", int(pareto["pareto"].sum()) if len(pareto) else 0),
        ("distinct hubs seen", len(_hub_frequency(plans, labels, info, 0)) if plans else 0),
        ("regions", int(results["region_key"].nunique())),
        ("co-assignment over", f"{len(plans)} plans of the main region"),
    ], columns=["measure", "value"]).set_index("measure")

    return {"results": _flat_results(results), "overview": overview, "coassignment": co, "stability": stability,
            "hub_frequency": hubs, "pareto": pareto, "bands": bands, "infeasible": infeasible, "errors": errors,
            "practices": info}


# ---------------------------------------------------------------------------
# charts (inline SVG)
# ---------------------------------------------------------------------------

_RC: dict[RcKeyType, Any] = {
    "font.family": "sans-serif", "font.sans-serif": ["DejaVu Sans", "Arial", "Liberation Sans"],
    "svg.fonttype": "path", "axes.titlesize": 11, "axes.labelsize": 10, "xtick.labelsize": 9,
    "ytick.labelsize": 9}


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    fig.patch.set_facecolor("white")
    return fig


def _style(ax) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color("#AEB7BD")
    ax.tick_params(colors=TEXT)
    ax.set_axisbelow(True)
    ax.grid(color="#E1E6E8", linewidth=0.7)


def _svg(fig, label: str, salt: str) -> str:
    """The figure as an inline, responsive SVG with an accessible name (images as data: URIs)."""
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({**_RC, "svg.hashsalt": salt}):
        fig.savefig(buf, format="svg", bbox_inches="tight", pad_inches=0.08, metadata={"Date": None})
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    # no namespace URLs or RDF metadata: the HTML parser needs neither, and the page names no URL at all
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    text = re.sub(r'\sxmlns(:\w+)?="[^"]*"', "", text)
    text = re.sub(r'<svg([^>]*?)\swidth="[^"]*"\s+height="[^"]*"', r"<svg\1", text, count=1)
    text = text.replace("<svg", f'<svg role="img" aria-label="{html.escape(label, quote=True)}" class="chart"', 1)
    prefix = re.sub(r"[^A-Za-z0-9]", "", salt)
    for old in sorted(set(re.findall(r'\bid="([^"]+)"', text)), key=len, reverse=True):
        text = re.sub(rf'(?<=[#"]){re.escape(old)}(?=[")])', f"{prefix}-{old}", text)
    return text


def _pareto_chart(pareto: pd.DataFrame) -> str:
    import matplotlib

    with matplotlib.rc_context(_RC):
        fig = _figure(7.5, 4.8)
        ax = fig.add_subplot()
        _style(ax)
        (kx, mx), (ky, my), (kc, mc) = ((k, _measure(k)) for k in PARETO_AXES)
        x, y, c = (_scale(m) * pareto[k].to_numpy(float) for k, m in ((kx, mx), (ky, my), (kc, mc)))
        front = pareto["pareto"].to_numpy(bool)
        sc = ax.scatter(x[~front], y[~front], c=c[~front], cmap="viridis", s=22, alpha=0.55,
                        vmin=np.nanmin(c), vmax=np.nanmax(c), linewidths=0, label="dominated")
        sc = ax.scatter(x[front], y[front], c=c[front], cmap="viridis", s=70, vmin=np.nanmin(c), vmax=np.nanmax(c),
                        edgecolors=RED, linewidths=1.6, label="Pareto front (all three)", zorder=3)
        two = pareto[pareto["pareto_travel_town"]].sort_values(kx)
        if len(two) > 1:
            ax.step(two[kx], _scale(my) * two[ky], where="post", color=RED, linewidth=1, linestyle="--",
                    label=f"front of {mx.label.lower()} and {my.label.lower()} only", zorder=2)
        cb = fig.colorbar(sc, ax=ax, pad=0.02)
        cb.set_label(heading(mc))
        ax.set_xlabel(heading(mx))
        ax.set_ylabel(heading(my))
        ax.legend(loc="best", fontsize=8, frameon=False)
        fig.tight_layout()
        return _svg(fig, f"Scatter of {mx.label.lower()} against {my.label.lower()}, coloured by "
                    f"{mc.label.lower()}; Pareto-optimal scenarios ringed in red", "pareto")


def _scale(metric: Metric) -> float:
    """Chart values of a share in percent (100 x the stored fraction); others as they are."""
    return 100.0 if metric.kind == "share" else 1.0


def _bands_chart(bands: pd.DataFrame, parameter: str, salt: str) -> str:
    import matplotlib

    sel = bands[bands["parameter"] == parameter]
    metrics = [m for m in BAND_METRICS if sel.loc[sel["metric"] == m, "median"].notna().any()]
    if not metrics:
        return ""
    values = list(dict.fromkeys(sel["value"]))
    numeric = all(_is_number(v) for v in values)
    if not numeric:
        return _bands_chart_categories(sel, metrics, values, parameter, salt)
    xs = [float(v) for v in values]
    with matplotlib.rc_context(_RC):
        fig = _figure(2.45 * len(metrics) + 0.4, 2.5)
        for i, metric in enumerate(metrics, start=1):
            ax = fig.add_subplot(1, len(metrics), i)
            _style(ax)
            m = sel[sel["metric"] == metric].set_index("value").reindex(values)
            scale = _scale(_measure(metric))
            lo, mid, hi = (scale * m[c].to_numpy(float) for c in ("min", "median", "max"))
            ax.fill_between(xs, lo, hi, color=BLUE, alpha=0.18, linewidth=0, label="min-max")
            ax.plot(xs, mid, color=BLUE, marker="o", markersize=3.5, linewidth=1.5, label="median")
            ax.set_title(heading(_measure(metric)), color=TEXT)
            ax.set_xticks(xs)
            ax.set_xticklabels([_short(v) for v in values], rotation=0 if len(values) <= 6 else 45,
                               ha="center" if len(values) <= 6 else "right")
            ax.set_xlabel(parameter)
        fig.tight_layout()
        return _svg(fig, f"Bands (minimum, median, maximum) of key measures for each value of {parameter}", salt)


def _bands_chart_categories(sel: pd.DataFrame, metrics: list[str], values: list[str], parameter: str,
                            salt: str) -> str:
    """Bands of a parameter with named values (e.g. events): one row per value, range bar and median dot."""
    import matplotlib

    ys = np.arange(len(values))[::-1]
    with matplotlib.rc_context(_RC):
        height = 0.9 + 0.32 * len(values)
        fig = _figure(2.3 * len(metrics) + 2.4, height)
        for i, metric in enumerate(metrics, start=1):
            ax = fig.add_subplot(1, len(metrics), i)
            _style(ax)
            ax.grid(axis="y", visible=False)
            m = sel[sel["metric"] == metric].set_index("value").reindex(values)
            scale = _scale(_measure(metric))
            lo, mid, hi = (scale * m[c].to_numpy(float) for c in ("min", "median", "max"))
            ax.hlines(ys, lo, hi, color=BLUE, alpha=0.35, linewidth=5)
            ax.plot(mid, ys, "o", color=BLUE, markersize=4)
            ax.set_title(heading(_measure(metric)), color=TEXT)
            ax.set_yticks(ys)
            ax.set_yticklabels([_short(v, 28) for v in values] if i == 1 else [])
            ax.set_ylim(-0.6, len(values) - 0.4)
        fig.tight_layout()
        return _svg(fig, f"Bands (minimum, median, maximum) of key measures for each {parameter}", salt)


def _is_number(v: str) -> bool:
    try:
        float(v)
    except ValueError:
        return False
    return True


def _short(v: str, width: int = 18) -> str:
    return v if len(v) <= width else v[: width - 1] + "…"


def _heatmap(co: pd.DataFrame, info: pd.DataFrame) -> str:
    import matplotlib

    codes = list(co.index)
    pcn = info.reindex(codes)["pcn_name"].fillna("").astype(str).to_numpy()
    with matplotlib.rc_context(_RC):
        size = min(11.0, max(5.0, 0.06 * len(codes) + 3.0))
        fig = _figure(size + 1.2, size)
        ax = fig.add_subplot()
        im = ax.imshow(co.to_numpy(float), cmap="Blues", vmin=0, vmax=1, interpolation="nearest")
        edges = [i for i in range(1, len(codes)) if pcn[i] != pcn[i - 1]]
        for e in edges:
            ax.axhline(e - 0.5, color="#D5281B", linewidth=0.5, alpha=0.7)
            ax.axvline(e - 0.5, color="#D5281B", linewidth=0.5, alpha=0.7)
        starts = [0, *edges]
        ends = [*edges, len(codes)]
        centres = [(s + e - 1) / 2 for s, e in zip(starts, ends, strict=True)]
        names = [_short(pcn[s].title(), 30) or "(no PCN)" for s in starts]
        ax.set_yticks(centres)
        ax.set_yticklabels(names, fontsize=6.5 if len(names) > 20 else 8)
        ax.set_xticks([])
        ax.set_xlabel("Practices, ordered by current PCN (red lines separate PCNs)")
        cb = fig.colorbar(im, ax=ax, fraction=0.04, pad=0.02)
        cb.set_label("Share of scenarios in the same hub")
        fig.tight_layout()
        return _svg(fig, "Heatmap of how often each pair of practices shares a hub, ordered by current PCN", "heat")


# ---------------------------------------------------------------------------
# the page
# ---------------------------------------------------------------------------

_CSS = """
body { font-family: "Helvetica Neue", Arial, sans-serif; color: TEXT; margin: 0; background: #fff; line-height: 1.45; }
header { background: BLUE; color: #fff; padding: 14px 0; }
.wrap { max-width: 1180px; margin: 0 auto; padding: 0 20px; }
h1 { font-size: 1.6rem; margin: 0; } h2 { margin-top: 2.2rem; border-bottom: 2px solid GREY; padding-bottom: 4px; }
.lead { color: #4C6272; max-width: 62rem; }
.kpis { display: flex; flex-wrap: wrap; gap: 10px; margin: 16px 0; }
.kpi { background: GREY; border-left: 4px solid BLUE; padding: 8px 12px; min-width: 9rem; }
.kpi b { display: block; font-size: 1.35rem; } .kpi span { font-size: .85rem; color: #4C6272; }
.kpi.bad { border-left-color: RED; }
table { border-collapse: collapse; font-size: .88rem; margin: 8px 0 16px; }
th, td { padding: 4px 8px; border-bottom: 1px solid #D8DDE0; text-align: left; vertical-align: top;
         white-space: pre-line; }
th { background: GREY; position: sticky; top: 0; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.tablewrap { max-height: 480px; overflow: auto; border: 1px solid #D8DDE0; }
svg.chart { width: 100%; height: auto; max-width: 1100px; display: block; }
.front { color: RED; font-weight: bold; }
.note { font-size: .85rem; color: #4C6272; }
footer { margin: 40px 0 24px; font-size: .8rem; color: #4C6272; }
code { background: GREY; padding: 0 3px; }
"""


def _css() -> str:
    out = _CSS
    for key, value in (("TEXT", TEXT), ("BLUE", BLUE), ("GREY", GREY), ("RED", RED)):
        out = out.replace(key, value)
    return out


def _esc(v: Any) -> str:
    return html.escape(str(v))


def _fmt(v: Any, f: str | Callable[[Any], str]) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    try:
        return _esc(f(v)) if callable(f) else f.format(v)
    except (ValueError, TypeError):
        return _esc(v)


def _table(frame: pd.DataFrame, formats: Mapping[str, str | Callable[[Any], str]] | None = None, *,
           index: bool = False,
           scroll: bool = True, caption: str = "") -> str:
    formats = formats or {}
    cols = list(frame.columns)
    head = "".join(f'<th scope="col"{" class=num" if c in formats else ""}>{_esc(c)}</th>' for c in
                   ([frame.index.name or ""] if index else []) + cols)
    body = []
    for idx, row in frame.iterrows():
        cells = [f"<td>{_esc(idx)}</td>"] if index else []
        for c in cols:
            v = row[c]
            if c in formats:
                cells.append(f'<td class="num">{_fmt(v, formats[c])}</td>')
            else:
                cells.append(f"<td>{'–' if v is None or (isinstance(v, float) and math.isnan(v)) else _esc(v)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    cap = f"<caption class=note>{_esc(caption)}</caption>" if caption else ""
    table = f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    return f'<div class="tablewrap">{table}</div>' if scroll else table


def _labelled(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Callable[[Any], str]]]:
    """A table's measure columns headed by their labels, with the registry's format for each."""
    keys = [c for c in frame.columns if c == GAP.key or c in PLAN]
    names = {k: _measure(k).label for k in keys}
    return frame.rename(columns=names), {names[k]: _formatter(k) for k in keys}


def _kpi(label: str, value: str, bad: bool = False) -> str:
    return f'<div class="kpi{" bad" if bad else ""}"><b>{_esc(value)}</b><span>{_esc(label)}</span></div>'


def _index_html(t: dict[str, pd.DataFrame], files: list[str]) -> str:
    ov = t["overview"]["value"]
    gap = ov.get("median gap")
    timed_out = ov["of which no plan in the time limit"]
    sections = []
    kpis = "".join([
        _kpi("scenarios with a plan", f"{ov['ok']}"),
        _kpi(f"infeasible, {timed_out} of them for lack of time" if timed_out else "infeasible",
             f"{ov['infeasible']}"),
        _kpi("errors", f"{ov['error']}", bad=bool(ov["error"])),
        _kpi(f"median {GAP.label.lower()}", format_gap(gap)),
        _kpi("plans within 1 % of a proven bound", f"{ov['plans with gap <= 1 %']}"),
        _kpi("Pareto-optimal scenarios", f"{ov['Pareto-optimal scenarios']}"),
    ])
    sections.append(f'<div class="kpis">{kpis}</div>')

    pareto = t["pareto"]
    if len(pareto):
        front = pareto[pareto["pareto"]].copy()
        axes = [_measure(k) for k in PARETO_AXES]
        named = ", ".join(m.label.lower() for m in axes[:-1]) + f" and {axes[-1].label.lower()}"
        better = [str(m.better) for m in axes]  # each axis has one (see _minimised)
        which = (f"{better[0].capitalize()} is better on every axis" if len(set(better)) == 1 else "; ".join(
            f"{b.capitalize()} {m.label.lower()} is better" for b, m in zip(better, axes, strict=True)))
        shown = ["name", *PARETO_AXES, "gap"]
        sections.append(
            "<h2 id=pareto>Trade-offs: travel, community and risk</h2>"
            f"<p class=lead>Each dot is a scenario's best plan. {_esc(which)}. Ringed scenarios are "
            f"<b>Pareto-optimal</b>: no other scenario is at least as good on {_esc(named)}, and better on one. "
            f"The dashed line is the front of {_esc(axes[0].label.lower())} and {_esc(axes[1].label.lower())} "
            "alone.</p>" + _pareto_chart(pareto)
            + _table(*_labelled(front[shown]), index=True, caption="Pareto-optimal scenarios (id, name, measures)"))

    bands = t["bands"]
    if len(bands):
        parts = ["<h2 id=bands>Sensitivity: bands per swept value</h2>"
                 "<p class=lead>For each value of a swept setting: the median (line) and the range from minimum "
                 "to maximum (band) over the scenarios with that value.</p>"]
        for i, param in enumerate(dict.fromkeys(bands["parameter"])):
            parts.append(f"<h3>{_esc(param)}</h3>" + _bands_chart(bands, param, f"band{i}"))
            sel = bands[bands["parameter"] == param].pivot_table(index="value", columns="metric", values="median",
                                                                 sort=False)
            counts = bands[bands["parameter"] == param].drop_duplicates("value").set_index("value")[
                ["scenarios", "ok", "infeasible"]]
            tab = counts.join(sel[[m for m in BAND_METRICS if m in sel.columns]])
            tab.columns = [c if c not in BAND_METRICS else f"median {_measure(c).label.lower()}" for c in tab.columns]
            fmts: dict[str, str | Callable[[Any], str]] = {
                f"median {_measure(m).label.lower()}": _formatter(m) for m in BAND_METRICS}
            fmts.update({"scenarios": "{:.0f}", "ok": "{:.0f}", "infeasible": "{:.0f}"})
            parts.append(_table(tab, fmts, index=True, scroll=False))
        sections.append("".join(parts))

    stab = t["stability"]
    if len(stab) and stab["stability"].notna().any():
        least = stab.head(20).reset_index()[["practice_code", "name", "pcn_name", "town", "stability",
                                            "with_usual_mates", "usual_mates"]]
        sections.append(
            "<h2 id=stability>Which practices stay together</h2>"
            "<p class=lead>Darker squares: the two practices share a hub in more of the scenarios. Solid blue blocks "
            "on the diagonal are groups that hold in every scenario; pale or speckled blocks are where the "
            "scenarios disagree. <b>Stability</b> is the mean over the practices it ever shares a hub with of "
            "max(p, 1−p), <i>p</i> the share of scenarios they are together (1 = always decided the same way, 0.5 "
            "= a coin flip); <b>with usual hub-mates</b> is how closely, on average, its hub-mates match the ones "
            "it has in most scenarios.</p>" + _heatmap(t["coassignment"], t["practices"])
            + "<h3>Least stable practices</h3>"
            + _table(least, {"stability": "{:.2f}", "with_usual_mates": "{:.0%}"}, scroll=False))

    hubs = t["hub_frequency"]
    if len(hubs):
        sections.append(
            "<h2 id=hubs>Hubs that recur</h2><p class=lead>Share of the scenarios with a plan whose plan has a "
            "hub of exactly these practices (named by its usual base).</p>"
            + _table(hubs.reset_index(), {"practices": "{:.0f}", "patients_today": "{:,.0f}",
                                          "scenarios": "{:.0f}", "share": "{:.0%}"}))

    inf = t["infeasible"]
    sections.append("<h2 id=infeasible>Infeasible scenarios and why</h2>" + (
        _table(inf.reset_index()[["id", "name", "kind", "reason"]]) if len(inf)
        else "<p>None: every scenario has a plan.</p>"))
    err = t["errors"]
    if len(err):
        sections.append("<h2 id=errors>Errors</h2><p class=lead>These are tried again when the batch is run "
                        "again.</p>" + _table(err.reset_index()[["id", "name", "reason"]]))

    res = t["results"].reset_index()
    cols = [c for c in res.columns if c.startswith("param:")] + [
        "id", "name", "status", "gap", "travel_mean_min", "town_outside_share", "max_high_risk_share",
        "practices_moved", "wall_seconds"]
    every, formats = _labelled(res[[c for c in cols if c in res.columns]])
    sections.append("<h2 id=results>Every scenario</h2>" + _table(every, {**formats, "wall_seconds": "{:.1f}"}))
    links = " · ".join(f'<a href="{_esc(f)}">{_esc(f)}</a>' for f in files)
    sections.append(f"<h2 id=files>Tables</h2><p>{links}</p>")

    title = f"Batch summary: {ov.get('batch', '')}"
    today = date.today()
    return ("<!DOCTYPE html>\n<html lang=\"en-GB\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{_esc(title)}</title>\n<style>{_css()}</style>\n</head>\n<body>\n"
            f"<header><div class=wrap><h1>{_esc(title)}</h1></div></header>\n<main class=wrap>\n"
            f"<p class=lead>{ov['results stored']} scenario results ({ov['ok']} with a plan). "
            "Every plan has contiguous "
            "hubs within the population bounds; its gap is to a proven lower bound of its own scenario.</p>\n"
            + "\n".join(sections)
            + f"\n<footer>Made with pcn-planner {__version__} on {today.day} {today:%B %Y}. This page works offline."
              "</footer>\n</main>\n</body>\n</html>\n")


def write_batch_summary(out_dir: str | Path, *, top: int = 25) -> Path:
    """Write ``summary/`` in a batch folder: CSV tables and ``index.html``; return the page's path.

    Files: ``results.csv``, ``overview.csv``, ``coassignment.csv``,
    ``stability.csv``, ``hub_frequency.csv``, ``pareto.csv``, ``bands.csv``,
    ``infeasible.csv``, ``errors.csv`` and ``index.html`` (offline: charts are
    inline SVG). The folder is staged and moved into place only when complete.
    """
    tables = summarise_batch(out_dir, top=top)
    target = Path(out_dir) / "summary"
    names = ["results", "overview", "pareto", "bands", "stability", "hub_frequency", "coassignment", "infeasible",
             "errors"]
    files = [f"{n}.csv" for n in names]
    with staged_directory(target) as stage:
        for n in names:
            frame = tables[n]
            atomic_write_text(stage / f"{n}.csv", frame.to_csv(lineterminator="\n", float_format="%.6g"))
        atomic_write_text(stage / "index.html", _index_html(tables, files))
    return target / "index.html"
