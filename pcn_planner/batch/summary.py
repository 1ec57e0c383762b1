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
    maximum of the measures of :data:`BAND_METRICS` over the *resolved* scenarios
    with that value (unresolved ones are counted and drawn apart, never in the band).
unresolved
    An ``ok`` scenario whose plan is not proven within its gap target (it ran out
    of its time cap first): :func:`~pcn_planner.batch.store.is_unresolved`. Its plan
    is listed and drawn apart (hollow red), and is left out of the bands, the
    Pareto front, co-assignment, stability, hub frequency and every effect.
interval and tolerance
    The objective's true optimum lies in ``[bound, objective]``: that interval is
    exact (the bound is proven). For a plan metric there is no such proof; by
    convention (:func:`metric_tolerance`) it is taken as uncertain by
    ``tolerance = gap x |value|``, *gap* the scenario's relative gap, i.e. the
    interval ``value ± tolerance``. This says "a plan this far from the optimum in
    objective could be this far off in its measures too"; it is a rule of thumb for
    not over-reading small differences, not a bound on the optimal plan's measures.
effects and "within solver tolerance"
    For each swept setting, scenarios that differ in that setting alone (every
    other parameter equal) are paired: consecutive values of a numeric setting,
    each value against the first (``none`` for events) otherwise. For each measure
    of :data:`EFFECT_METRICS` a pair's difference is *within solver tolerance* when
    the two intervals overlap (for a plan metric: ``|difference| <= tolerance_a +
    tolerance_b``); it is drawn greyed and said in words, and is not an effect. A
    pair with an unresolved side is never an effect, whatever its difference.
plan fingerprint
    :func:`~pcn_planner.batch.store.plan_fingerprint`: equal for two scenarios
    exactly when their plans group the practices the same way.
    :func:`compare_batches` compares two batch folders plan by plan.

Labels, units and formats of the measures come from the metrics registry
(:mod:`pcn_planner.scoring.metrics`; the optimality gap's from
:mod:`pcn_planner.outputs.report.words`). The CSV files hold the values as
stored: a share is a fraction (0.344 is 34.4 %), and ``bands.csv`` says so in
its ``unit`` column (``share (0–1)``).
"""

from __future__ import annotations

import html
import io
import itertools
import json
import logging
import math
import re
from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from pcn_planner.batch.scenarios import value_label
from pcn_planner.batch.store import KEY_METRICS, STORE_NAME, ResultStore, is_unresolved
from pcn_planner.core.errors import InputError
from pcn_planner.core.files import atomic_write_text, staged_directory
from pcn_planner.core.jsonio import dump_json
from pcn_planner.core.version import __version__
from pcn_planner.outputs.report.words import GAP, OBJECTIVE, data_unit, format_gap, heading
from pcn_planner.scoring.metrics import PLAN, Metric

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

__all__ = ["BAND_METRICS", "EFFECT_METRICS", "WITHIN_TOLERANCE", "compare_batches", "effects_table",
           "metric_tolerance", "pareto_flags", "summarise_batch", "value_interval", "write_batch_summary"]

logger = logging.getLogger(__name__)

#: Measures shown in the bands (plan metrics, and the optimality gap).
BAND_METRICS: tuple[str, ...] = ("travel_mean_min", "town_outside_share", "max_high_risk_share", "practices_moved",
                                 "gap")
#: Plan metrics the Pareto front is taken over (x axis, y axis, colour).
PARETO_AXES: tuple[str, ...] = ("travel_mean_min", "town_outside_share", "max_high_risk_share")
#: Measures compared between scenarios that differ in one setting: the objective (exact interval
#: ``[bound, objective]``) and the plan metrics of the bands (``value ± tolerance``).
EFFECT_METRICS: tuple[str, ...] = ("objective", "travel_mean_min", "town_outside_share", "max_high_risk_share",
                                   "practices_moved")
#: The words for a difference the solver's own uncertainty can explain.
WITHIN_TOLERANCE = "within solver tolerance"
#: The words for a pair with an unresolved side.
NOT_EVIDENCE = "unresolved: not evidence"


def _measure(key: str) -> Metric:
    """The registered plan metric ``key``, or the optimality gap, or the objective."""
    return {GAP.key: GAP, OBJECTIVE.key: OBJECTIVE}.get(key) or PLAN[key]


# ---------------------------------------------------------------------------
# uncertainty from gaps
# ---------------------------------------------------------------------------


def metric_tolerance(value: float | None, gap: float | None) -> float:
    """How uncertain a plan metric is, by the batch convention: ``gap x |value|``.

    Parameters
    ----------
    value
        The metric's value in a scenario's plan.
    gap
        That scenario's certified relative gap, ``(objective - bound) / |objective|``.

    Returns
    -------
    float
        The ± tolerance: ``inf`` without a certified gap (nothing is known), ``nan``
        without a value.

    Notes
    -----
    This is a convention, not a proof: a plan within ``gap`` of the optimum in
    objective is assumed to be within the same share of its value in each measure.
    Only the objective has an exact interval, ``[bound, objective]``
    (:func:`value_interval`). ``docs/batch.md`` gives the same formula.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return math.nan
    if gap is None or not math.isfinite(float(gap)):
        return math.inf
    # the convention, written once: tolerance = relative gap x |value|
    return max(float(gap), 0.0) * abs(float(value))


def value_interval(key: str, value: float | None, gap: float | None,
                   bound: float | None = None) -> tuple[float, float]:
    """The interval a measure's value stands for: exact for the objective, by convention otherwise.

    Parameters
    ----------
    key
        ``"objective"`` or a plan metric key.
    value
        The value (for the objective, the plan's objective).
    gap
        The scenario's relative gap.
    bound
        The objective's proven lower bound (objective only; None: unbounded below).

    Returns
    -------
    (float, float)
        ``(bound, objective)`` for the objective, ``(value - t, value + t)`` with
        ``t = metric_tolerance(value, gap)`` for a plan metric.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return math.nan, math.nan
    v = float(value)
    if key == OBJECTIVE.key:
        low = -math.inf if bound is None or math.isnan(float(bound)) else min(float(bound), v)
        return low, v
    t = metric_tolerance(v, gap)
    return v - t, v + t


def _separation(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Distance between two intervals (<= 0 when they overlap)."""
    return max(b[0] - a[1], a[0] - b[1])


def effects_table(results: pd.DataFrame) -> pd.DataFrame:
    """Pairs of scenarios that differ in one setting, per measure, with the tolerance rule applied.

    Parameters
    ----------
    results
        One row per scenario (index id) with ``name``, ``params`` (dict), ``status``,
        ``unresolved``, ``gap``, ``objective``, ``bound`` and the measures of
        :data:`EFFECT_METRICS` (as :meth:`ResultStore.frame` gives them).

    Returns
    -------
    DataFrame
        One row per (parameter, pair, measure): ``parameter, from, to, others`` (the
        settings they share), ``metric, label, unit``, both ids and names,
        ``value_from, value_to, difference``, both intervals (``low_*``, ``high_*``),
        ``combined_tolerance`` (``|difference|`` minus the intervals' separation:
        ``tolerance_a + tolerance_b`` for a plan metric), ``within_solver_tolerance``,
        ``unresolved`` (either side), ``effect`` (resolved on both sides and not within
        tolerance) and ``verdict`` in words.
    """
    cols = ["parameter", "from", "to", "others", "metric", "label", "unit", "id_from", "id_to", "name_from",
            "name_to", "value_from", "value_to", "difference", "low_from", "high_from", "low_to", "high_to",
            "combined_tolerance", "within_solver_tolerance", "unresolved", "effect", "verdict"]
    ok = results[results["status"] == "ok"]
    rows: list[dict[str, Any]] = []
    keys = sorted({k for p in ok["params"] for k in p})
    for key in keys:
        having = ok[[key in p for p in ok["params"]]]
        contexts: dict[str, list[tuple[Any, str]]] = {}
        for sid, params in having["params"].items():
            others = {k: v for k, v in params.items() if k != key}
            contexts.setdefault(json.dumps(others, sort_keys=True), []).append((params[key], str(sid)))
        for context, members in contexts.items():
            values = _value_order(list({json.dumps(v, sort_keys=True): v for v, _ in members}.values()))
            if len(values) < 2:
                continue
            by_value = {json.dumps(v, sort_keys=True): sid for v, sid in members}
            numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
            if numeric:
                pairs = list(itertools.pairwise(values))
            else:  # named values (events): each against the reference, "none" when there is one
                ref = "none" if "none" in values else values[0]
                pairs = [(ref, v) for v in values if v != ref]
            others_text = ", ".join(f"{k}={value_label(v)}" for k, v in sorted(json.loads(context).items()))
            for va, vb in pairs:
                a = ok.loc[by_value[json.dumps(va, sort_keys=True)]]
                b = ok.loc[by_value[json.dumps(vb, sort_keys=True)]]
                for metric in EFFECT_METRICS:
                    if metric == OBJECTIVE.key and (key == "weights" or key.startswith("weights.")):
                        continue  # other weights make the objective another score: nothing to compare
                    rows.append(_effect_row(key, va, vb, others_text, metric, a, b))
    return pd.DataFrame(rows, columns=cols)


def _num(v: Any) -> float | None:
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def _effect_row(key: str, va: Any, vb: Any, others: str, metric: str, a: pd.Series, b: pd.Series) -> dict[str, Any]:
    m = _measure(metric)
    xa, xb = _num(a.get(metric)), _num(b.get(metric))
    ia = value_interval(metric, xa, _num(a.get("gap")), _num(a.get("bound")))
    ib = value_interval(metric, xb, _num(b.get("gap")), _num(b.get("bound")))
    unresolved = bool(a.get("unresolved")) or bool(b.get("unresolved"))
    if xa is None or xb is None:
        diff = combined = math.nan
        within, verdict = False, "no value"
    else:
        diff = xb - xa
        combined = abs(diff) - _separation(ia, ib)
        within = bool(abs(diff) <= combined + 1e-12)  # the intervals overlap
        verdict = NOT_EVIDENCE if unresolved else (WITHIN_TOLERANCE if within else "effect")
    return {"parameter": key, "from": value_label(va), "to": value_label(vb), "others": others, "metric": metric,
            "label": m.label, "unit": data_unit(m), "id_from": a.name, "id_to": b.name, "name_from": a.get("name"),
            "name_to": b.get("name"), "value_from": xa, "value_to": xb, "difference": diff,
            "low_from": ia[0], "high_from": ia[1], "low_to": ib[0], "high_to": ib[1], "combined_tolerance": combined,
            "within_solver_tolerance": within, "unresolved": unresolved,
            "effect": bool(verdict == "effect"), "verdict": verdict}


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


def _quality(results: pd.DataFrame) -> pd.Series:
    """Each scenario's standing in words: resolved, unresolved, infeasible or error."""
    unresolved = results["unresolved"].astype(bool) if "unresolved" in results else pd.Series(
        [is_unresolved(s, g, t) for s, g, t in zip(results["status"], results["gap"],
                                                    results.get("gap_target", [None] * len(results)), strict=True)],
        index=results.index)
    words = results["status"].map({"ok": "resolved"}).fillna(results["status"]).astype(object)
    words[unresolved & (results["status"] == "ok")] = "unresolved"
    return words


def _flat_results(results: pd.DataFrame) -> pd.DataFrame:
    keep = ["name", "status", "quality", "unresolved", "reason", "objective", "bound", "gap", "gap_target",
            "stopped_by", "wall_seconds", "time_limit", "k", *KEY_METRICS, "plan_fingerprint", "worker",
            "finished_utc"]
    flat = results[[c for c in keep if c in results.columns]].copy()
    # the objective's exact interval, and each key metric's tolerance by the convention (metric_tolerance)
    flat["objective_low"] = [value_interval(OBJECTIVE.key, _num(o), _num(g), _num(b))[0]
                             for o, g, b in zip(results["objective"], results["gap"], results["bound"], strict=True)]
    flat["objective_high"] = pd.to_numeric(results["objective"], errors="coerce")
    for m in KEY_METRICS:
        if m in results:
            flat[f"{m}_tolerance"] = [metric_tolerance(_num(v), _num(g))
                                      for v, g in zip(results[m], results["gap"], strict=True)]
    params = pd.DataFrame([{f"param:{k}": value_label(v) if isinstance(v, (dict, list)) else v for k, v in p.items()}
                           for p in results["params"]], index=results.index, dtype=object)
    flat = params.join(flat) if len(params.columns) else flat
    return flat.sort_values("name", kind="stable")


def _empty_results() -> pd.DataFrame:
    return pd.DataFrame(columns=["name", "params", "status", "unresolved", "gap", "gap_target", "objective", "bound",
                                 "region_key", "plan", "hub_labels", "stopped_by", "wall_seconds", "time_limit",
                                 "k", "reason", *KEY_METRICS])


def summarise_batch(out_dir: str | Path, *, top: int = 25) -> dict[str, pd.DataFrame]:
    """Summary tables of a batch folder.

    Returns
    -------
    dict of DataFrame
        ``results`` (one row per scenario, parameters as ``param:`` columns, with
        ``quality``, ``unresolved``, ``plan_fingerprint``, the objective's interval
        and each key metric's tolerance), ``overview``, ``unresolved`` (the ok
        scenarios not proven within their gap target), ``effects`` (pairs that differ
        in one setting: :func:`effects_table`), ``coassignment`` (practice x practice
        share), ``stability`` (per practice, least stable first), ``hub_frequency``
        (top ``top`` hubs), ``pareto`` (every ok scenario with its ``pareto`` flag,
        taken over the resolved ones), ``bands`` (per swept parameter value, over
        resolved scenarios), ``infeasible`` and ``errors``. Co-assignment, stability
        and hub frequency cover the resolved plans of the region with the most plans.
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
    if len(results) == 0:
        results = _empty_results()
    results["unresolved"] = results["unresolved"].fillna(False).astype(bool)
    results["quality"] = _quality(results)
    ok = results[results["status"] == "ok"]
    # unresolved plans are real plans but not settled: kept apart from everything that compares plans
    resolved = ok[~ok["unresolved"]]
    open_cases = ok[ok["unresolved"]]

    # the main region: the one with most plans
    region_key = ok["region_key"].value_counts().index[0] if len(ok) else None
    main = resolved[resolved["region_key"] == region_key] if region_key is not None else resolved
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

    # Pareto front over the resolved scenarios; unresolved ones are listed with it, flagged, never on it
    pareto = ok[["name", *PARETO_AXES, "gap", "k", "unresolved"]].dropna(subset=list(PARETO_AXES)).copy()
    pareto["unresolved"] = pareto["unresolved"].astype(bool)
    settled = ~pareto["unresolved"].to_numpy(bool)
    for column, axes in (("pareto", PARETO_AXES), ("pareto_travel_town", PARETO_AXES[:2])):
        flags = np.zeros(len(pareto), dtype=bool)
        if settled.any():
            flags[settled] = pareto_flags(_minimised(pareto[settled], axes))
        pareto[column] = flags
    for axis in PARETO_AXES:
        pareto[f"{axis}_tolerance"] = [metric_tolerance(_num(v), _num(g))
                                       for v, g in zip(pareto[axis], pareto["gap"], strict=True)]
    first = PARETO_AXES[0]
    pareto = pareto.sort_values(["pareto", "unresolved", first],
                                ascending=[False, True, _measure(first).better == "lower"])

    # bands per swept parameter value, over resolved scenarios
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
            good = sel[(sel["status"] == "ok") & ~sel["unresolved"]]
            for metric in BAND_METRICS:
                v = pd.to_numeric(good[metric], errors="coerce").dropna()
                m = _measure(metric)
                rows.append({"parameter": key, "value": value_label(value), "metric": metric, "label": m.label,
                             "unit": data_unit(m), "scenarios": len(sel),
                             "ok": len(good), "unresolved": int(((sel["status"] == "ok") & sel["unresolved"]).sum()),
                             "infeasible": int((sel["status"] == "infeasible").sum()),
                             "min": v.min() if len(v) else np.nan, "median": v.median() if len(v) else np.nan,
                             "max": v.max() if len(v) else np.nan})
    bands = pd.DataFrame(rows, columns=["parameter", "value", "metric", "label", "unit", "scenarios", "ok",
                                        "unresolved", "infeasible", "min", "median", "max"])

    infeasible = results[results["status"] == "infeasible"][["name", "params", "stopped_by", "reason"]].copy()
    infeasible["stopped_by"] = infeasible["stopped_by"].map(
        {"time": "no plan found in the time limit", "proof": "rules proven impossible"}).fillna("")
    infeasible = infeasible.rename(columns={"stopped_by": "kind"})
    infeasible["params"] = infeasible["params"].map(lambda p: json.dumps(p, sort_keys=True))
    errors = results[results["status"] == "error"][["name", "params", "reason"]].copy()
    errors["params"] = errors["params"].map(lambda p: json.dumps(p, sort_keys=True))
    unresolved = open_cases[["name", "params", "gap", "gap_target", "objective", "bound", "stopped_by",
                             "time_limit", "wall_seconds"]].copy()
    unresolved["params"] = unresolved["params"].map(lambda p: json.dumps(p, sort_keys=True))
    unresolved = unresolved.sort_values(["gap", "name"], ascending=[False, True], na_position="first")
    effects = effects_table(results)

    gaps = pd.to_numeric(ok["gap"], errors="coerce")
    targets = sorted({float(t) for t in pd.to_numeric(ok.get("gap_target"), errors="coerce").dropna()})
    overview = pd.DataFrame([
        ("batch", meta.get("name", "")),
        ("scenarios registered", registered),
        ("results stored", len(results)),
        ("ok", len(ok)),
        ("resolved", len(resolved)),
        # ok, but the time cap ran out before the plan was proven within its gap target
        ("unresolved", len(open_cases)),
        ("gap target", ", ".join(f"{t:.2%}" for t in targets)),
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
        ("differences compared", len(effects)),
        ("effects (beyond solver tolerance)", int(effects["effect"].sum()) if len(effects) else 0),
        ("differences within solver tolerance",
         int((effects["verdict"] == WITHIN_TOLERANCE).sum()) if len(effects) else 0),
        ("distinct plans", int(ok["plan_fingerprint"].nunique()) if "plan_fingerprint" in ok else 0),
        ("distinct hubs seen", len(_hub_frequency(plans, labels, info, 0)) if plans else 0),
        ("regions", int(results["region_key"].nunique())),
        ("co-assignment over", f"{len(plans)} resolved plans of the main region"),
    ], columns=["measure", "value"]).set_index("measure")

    return {"results": _flat_results(results), "overview": overview, "unresolved": unresolved, "effects": effects,
            "coassignment": co, "stability": stability, "hub_frequency": hubs, "pareto": pareto, "bands": bands,
            "infeasible": infeasible, "errors": errors, "practices": info}


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
        open_ = pareto["unresolved"].to_numpy(bool) if "unresolved" in pareto else np.zeros(len(pareto), bool)
        settled = ~open_
        # each resolved point's tolerance (gap x |value|) as error bars, so near-ties look like near-ties
        if settled.any() and f"{kx}_tolerance" in pareto:
            ex = _scale(mx) * pareto[f"{kx}_tolerance"].to_numpy(float)[settled]
            ey = _scale(my) * pareto[f"{ky}_tolerance"].to_numpy(float)[settled]
            ax.errorbar(x[settled], y[settled], xerr=np.nan_to_num(ex), yerr=np.nan_to_num(ey), fmt="none",
                        ecolor="#AEB7BD", elinewidth=0.8, capsize=0, zorder=1, label="± solver tolerance")
        vmin = np.nanmin(c) if len(c) else 0.0
        vmax = np.nanmax(c) if len(c) else 1.0
        sc = ax.scatter(x[settled & ~front], y[settled & ~front], c=c[settled & ~front], cmap="viridis", s=22,
                        alpha=0.55, vmin=vmin, vmax=vmax, linewidths=0, label="dominated")
        sc = ax.scatter(x[front], y[front], c=c[front], cmap="viridis", s=70, vmin=vmin, vmax=vmax,
                        edgecolors=RED, linewidths=1.6, label="Pareto front (all three)", zorder=3)
        if open_.any():
            ax.scatter(x[open_], y[open_], s=30, facecolors="none", edgecolors=RED, linewidths=1.0, marker="D",
                       label="unresolved (gap above target; not on the front)", zorder=2)
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
                    f"{mc.label.lower()}; Pareto-optimal scenarios ringed in red, unresolved ones as hollow "
                    "red diamonds", "pareto")


def _objective_chart(results: pd.DataFrame) -> str:
    """Each scenario's objective with its exact interval [bound, objective]; unresolved ones in red."""
    import matplotlib

    ok = results[results["status"] == "ok"].copy()
    ok = ok[pd.to_numeric(ok["objective"], errors="coerce").notna()].sort_values("name", kind="stable")
    if not len(ok):
        return ""
    obj = ok["objective"].to_numpy(float)
    low = ok["objective_low"].to_numpy(float)
    open_ = ok["unresolved"].to_numpy(bool)
    xs = np.arange(len(ok))
    with matplotlib.rc_context(_RC):
        fig = _figure(min(11.0, max(7.5, 3.0 + 0.22 * len(ok))), 3.4)
        ax = fig.add_subplot()
        _style(ax)
        for mask, colour, label in ((~open_, BLUE, "resolved"), (open_, RED, "unresolved")):
            if not mask.any():
                continue
            below = np.where(np.isfinite(low[mask]), obj[mask] - low[mask], 0.0)
            ax.errorbar(xs[mask], obj[mask], yerr=[below, np.zeros(int(mask.sum()))], fmt="o", color=colour,
                        markersize=4, elinewidth=2, capsize=3, mfc=colour if colour == BLUE else "white",
                        label=f"{label}: objective, bar down to the proven bound")
        ax.set_ylabel(heading(OBJECTIVE))
        if len(ok) <= 30:
            ax.set_xticks(xs)
            ax.set_xticklabels([_short(str(n), 22) for n in ok["name"]], rotation=45, ha="right")
        else:
            ax.set_xticks([])
            ax.set_xlabel(f"{len(ok)} scenarios, by name")
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
        fig.tight_layout()
        return _svg(fig, "Each scenario's objective with the interval down to its proven lower bound; the best "
                    "possible plan of the scenario lies in that interval", "objective")


def _effects_chart(effects: pd.DataFrame, results: pd.DataFrame, parameter: str, salt: str) -> str:
    """Pairs that differ in ``parameter`` alone: each side with its interval, joined by a line.

    Blue solid: an effect (intervals apart, both resolved); grey dashed: within solver
    tolerance; red dotted: a side is unresolved (never an effect).
    """
    import matplotlib

    sel = effects[effects["parameter"] == parameter]
    if not len(sel):
        return ""
    metrics = [m for m in EFFECT_METRICS if (sel["metric"] == m).any() and sel.loc[sel["metric"] == m,
                                                                                  "value_from"].notna().any()]
    values = list(dict.fromkeys([*sel["from"], *sel["to"]]))
    if all(_is_number(v) for v in values):
        values = sorted(values, key=float)
    pos = {v: i for i, v in enumerate(values)}
    contexts = list(dict.fromkeys(sel["others"]))
    spread = 0.25 / max(len(contexts), 1)
    styles: dict[str, tuple[str, Literal["-", "--", ":"], float]] = {
        "effect": (BLUE, "-", 1.6), WITHIN_TOLERANCE: ("#8A9BA5", "--", 1.0), NOT_EVIDENCE: (RED, ":", 1.0)}
    with matplotlib.rc_context(_RC):
        fig = _figure(2.5 * len(metrics) + 0.6, 2.9)
        for i, metric in enumerate(metrics, start=1):
            ax = fig.add_subplot(1, len(metrics), i)
            _style(ax)
            scale = _scale(_measure(metric))
            for row in sel[sel["metric"] == metric].to_dict("records"):
                if row["verdict"] not in styles:
                    continue
                colour, dash, width = styles[row["verdict"]]
                shift = (contexts.index(row["others"]) - (len(contexts) - 1) / 2) * spread
                xa, xb = pos[row["from"]] + shift, pos[row["to"]] + shift
                ax.plot([xa, xb], [scale * row["value_from"], scale * row["value_to"]], linestyle=dash,
                        color=colour, linewidth=width, zorder=2)
                for x, side in ((xa, "from"), (xb, "to")):
                    v, lo, hi, sid = (row[f"{c}_{side}"] for c in ("value", "low", "high", "id"))
                    unsettled = bool(results.at[sid, "unresolved"]) if sid in results.index else False
                    # an unbounded side (no certified gap) gets no bar rather than an infinite one
                    lo_ = lo if math.isfinite(lo) else v
                    hi_ = hi if math.isfinite(hi) else v
                    ax.errorbar([x], [scale * v], yerr=[[scale * (v - lo_)], [scale * (hi_ - v)]], fmt="o",
                                color=RED if unsettled else colour, mfc="white" if unsettled else colour,
                                markersize=4, elinewidth=1.2, capsize=2, zorder=3)
            ax.set_title(heading(_measure(metric)), color=TEXT)
            ax.set_xticks(range(len(values)))
            ax.set_xticklabels([_short(v) for v in values], rotation=0 if len(values) <= 4 else 45,
                               ha="center" if len(values) <= 4 else "right")
            ax.set_xlim(-0.5, len(values) - 0.5)
            ax.set_xlabel(parameter)
        from matplotlib.lines import Line2D

        handles = [Line2D([], [], color=c, linestyle=d, linewidth=w, marker="o", markersize=4, label=k)
                   for k, (c, d, w) in styles.items()]
        fig.legend(handles=handles, loc="lower center", ncol=3, fontsize=8, frameon=False,
                   bbox_to_anchor=(0.5, -0.02))
        fig.tight_layout(rect=(0, 0.1, 1, 1))
        return _svg(fig, f"Effect of {parameter} on each measure: paired scenarios with their intervals; grey "
                    "dashed pairs are within solver tolerance, red dotted pairs have an unresolved side", salt)


def _scale(metric: Metric) -> float:
    """Chart values of a share in percent (100 x the stored fraction); others as they are."""
    return 100.0 if metric.kind == "share" else 1.0


def _open_points(results: pd.DataFrame, parameter: str) -> pd.DataFrame:
    """The unresolved scenarios of a swept parameter: its value (as the bands label it) and their measures."""
    col = f"param:{parameter}"
    if col not in results or "quality" not in results:
        return pd.DataFrame(columns=["value", *BAND_METRICS])
    sel = results[(results["quality"] == "unresolved") & results[col].notna()]
    out = sel[[m for m in BAND_METRICS if m in sel.columns]].copy()
    out.insert(0, "value", [value_label(v) for v in sel[col]])
    return out


def _bands_chart(bands: pd.DataFrame, parameter: str, salt: str, open_points: pd.DataFrame | None = None) -> str:
    """Bands over the resolved scenarios, with each unresolved scenario drawn apart as a hollow red diamond."""
    import matplotlib

    sel = bands[bands["parameter"] == parameter]
    open_points = open_points if open_points is not None else pd.DataFrame(columns=["value", *BAND_METRICS])
    metrics = [m for m in BAND_METRICS if sel.loc[sel["metric"] == m, "median"].notna().any()
               or (m in open_points and pd.to_numeric(open_points[m], errors="coerce").notna().any())]
    if not metrics:
        return ""
    values = list(dict.fromkeys(sel["value"]))
    numeric = all(_is_number(v) for v in values)
    if not numeric:
        return _bands_chart_categories(sel, metrics, values, parameter, salt, open_points)
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
            pts = open_points[open_points["value"].isin(values)] if metric in open_points else open_points.iloc[:0]
            if len(pts):
                ax.scatter([float(v) for v in pts["value"]], scale * pd.to_numeric(pts[metric], errors="coerce"),
                           marker="D", s=18, facecolors="none", edgecolors=RED, linewidths=0.9, zorder=3,
                           label="unresolved (not in the band)")
            ax.set_title(heading(_measure(metric)), color=TEXT)
            ax.set_xticks(xs)
            ax.set_xticklabels([_short(v) for v in values], rotation=0 if len(values) <= 6 else 45,
                               ha="center" if len(values) <= 6 else "right")
            ax.set_xlabel(parameter)
        fig.tight_layout()
        return _svg(fig, f"Bands (minimum, median, maximum) of key measures over the resolved scenarios for each "
                    f"value of {parameter}; unresolved scenarios as hollow red diamonds", salt)


def _bands_chart_categories(sel: pd.DataFrame, metrics: list[str], values: list[str], parameter: str,
                            salt: str, open_points: pd.DataFrame) -> str:
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
            pts = open_points[open_points["value"].isin(values)] if metric in open_points else open_points.iloc[:0]
            if len(pts):
                row_of = dict(zip(values, ys, strict=True))
                ax.scatter(scale * pd.to_numeric(pts[metric], errors="coerce"), [row_of[v] for v in pts["value"]],
                           marker="D", s=18, facecolors="none", edgecolors=RED, linewidths=0.9, zorder=3)
            ax.set_title(heading(_measure(metric)), color=TEXT)
            ax.set_yticks(ys)
            ax.set_yticklabels([_short(v, 28) for v in values] if i == 1 else [])
            ax.set_ylim(-0.6, len(values) - 0.4)
        fig.tight_layout()
        return _svg(fig, f"Bands (minimum, median, maximum) of key measures over the resolved scenarios for each "
                    f"{parameter}; unresolved scenarios as hollow red diamonds", salt)


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


def _unresolved_table(opened: pd.DataFrame) -> str:
    frame, formats = _labelled(opened.reset_index()[["id", "name", "gap", "gap_target", "time_limit",
                                                     "wall_seconds"]].rename(columns={"gap_target": "gap target",
                                                                                      "time_limit": "time cap (s)",
                                                                                      "wall_seconds": "seconds"}))
    shown: dict[str, str | Callable[[Any], str]] = {**formats, "gap target": format_gap, "time cap (s)": "{:g}",
                                                    "seconds": "{:.1f}"}
    return _table(frame, shown, scroll=len(opened) > 15)


def _quality_index(results: pd.DataFrame) -> pd.DataFrame:
    """The flat results with a boolean ``unresolved`` column, by scenario id (for the effects chart)."""
    out = results[["quality"]].copy()
    out["unresolved"] = out["quality"] == "unresolved"
    return out


def _effects_shown(sel: pd.DataFrame) -> pd.DataFrame:
    """The effects of one parameter as a page table, each value in its own measure's format."""
    rows = []
    for row in sel.to_dict("records"):
        m = _measure(row["metric"])

        def show(v: Any, m: Metric = m) -> str:
            if v is None or (isinstance(v, float) and not math.isfinite(v)):
                return "–"
            return f"{v:.4f}" if m.key == OBJECTIVE.key else m.format(v)

        diff = row["difference"]
        rows.append({"from": row["from"], "to": row["to"], "other settings": row["others"], "measure": m.label,
                     "value from": show(row["value_from"]), "value to": show(row["value_to"]),
                     "difference": "–" if not math.isfinite(diff) else (
                         f"{diff:+.4f}" if m.key == OBJECTIVE.key else m.format_change(diff)),
                     "combined tolerance": _tol(m, row["combined_tolerance"]), "verdict": row["verdict"]})
    return pd.DataFrame(rows)


#: Most pairs of one parameter told in sentences on the page (the table below them has every pair).
EFFECT_SENTENCES = 12


def _effects_words(sel: pd.DataFrame) -> str:
    """The pairs of a parameter in words: a count of each verdict, and each pair in a sentence when few."""
    counts = sel["verdict"].value_counts()
    head = (f"<p><b>{int(counts.get('effect', 0))}</b> effect(s) beyond solver tolerance, "
            f"<b>{int(counts.get(WITHIN_TOLERANCE, 0))}</b> difference(s) {_esc(WITHIN_TOLERANCE)}, "
            f"<b>{int(counts.get(NOT_EVIDENCE, 0))}</b> with an unresolved side (not evidence), over "
            f"{len(sel)} comparisons of a measure between two scenarios.</p>")
    if len(sel) > EFFECT_SENTENCES:
        return head
    items = []
    for row in sel.to_dict("records"):
        m = _measure(row["metric"])
        if row["verdict"] == "no value":
            continue
        change = m.format_change(row["difference"]) if m.key != OBJECTIVE.key else f"{row['difference']:+.4f}"
        where = f" (with {row['others']})" if row["others"] else ""
        if row["verdict"] == "effect":
            tail = f"<b>an effect</b>: beyond the combined tolerance of {_esc(_tol(m, row['combined_tolerance']))}"
        elif row["verdict"] == WITHIN_TOLERANCE:
            tail = (f"<b>{_esc(WITHIN_TOLERANCE)}</b> (combined tolerance "
                    f"{_esc(_tol(m, row['combined_tolerance']))}): not an effect")
        else:
            tail = "<b>not evidence</b>: a side is unresolved"
        items.append(f"<li>{_esc(row['parameter'])} {_esc(row['from'])} → {_esc(row['to'])}{_esc(where)}: "
                     f"{_esc(m.label.lower())} {_esc(change)}, {tail}.</li>")
    return head + (f"<ul class=note>{''.join(items)}</ul>" if items else "")


def _tol(m: Metric, value: float) -> str:
    """A combined tolerance as text (not escaped)."""
    if value is None or not math.isfinite(value):
        return "unknown (no certified gap)"
    if m.key == OBJECTIVE.key:
        return f"{value:.4f}"
    return m.format_change(value).lstrip("+")


def _index_html(t: dict[str, pd.DataFrame], files: list[str]) -> str:
    ov = t["overview"]["value"]
    gap = ov.get("median gap")
    timed_out = ov["of which no plan in the time limit"]
    sections = []
    n_open = int(ov["unresolved"])
    kpis = "".join([
        _kpi("scenarios with a plan", f"{ov['ok']}"),
        _kpi(f"resolved: proven within the gap target ({ov['gap target'] or '–'})", f"{ov['resolved']}"),
        _kpi("unresolved: time cap reached above the gap target", f"{n_open}", bad=bool(n_open)),
        _kpi(f"infeasible, {timed_out} of them for lack of time" if timed_out else "infeasible",
             f"{ov['infeasible']}"),
        _kpi("errors", f"{ov['error']}", bad=bool(ov["error"])),
        _kpi(f"median {GAP.label.lower()}", format_gap(gap)),
        _kpi("plans within 1 % of a proven bound", f"{ov['plans with gap <= 1 %']}"),
        _kpi("Pareto-optimal scenarios", f"{ov['Pareto-optimal scenarios']}"),
        _kpi("effects beyond solver tolerance", f"{ov['effects (beyond solver tolerance)']}"),
        _kpi(WITHIN_TOLERANCE, f"{ov['differences within solver tolerance']}"),
    ])
    sections.append(f'<div class="kpis">{kpis}</div>')

    opened = t["unresolved"]
    if len(opened):
        sections.append(
            "<h2 id=unresolved>Unresolved scenarios</h2>"
            f"<p class=lead><b>{n_open} scenario{'s' if n_open != 1 else ''} reached "
            f"{'their' if n_open != 1 else 'its'} time cap before the plan was proven within the gap target.</b> "
            "Their plans are real but how far they "
            "are from the best plan is not settled, so they are drawn apart (hollow red) and left out of the bands, "
            "the Pareto front, the co-assignment and every effect below. Give them a longer time limit (a new "
            "scenario id, so they run again) to resolve them.</p>"
            + _unresolved_table(opened))

    results = t["results"]
    objective_chart = _objective_chart(results)
    if objective_chart:
        sections.append(
            "<h2 id=objective>Objective and its proven bound</h2>"
            "<p class=lead>Each scenario's objective (dot) and the interval down to its proven lower bound: the "
            "best possible plan of that scenario scores somewhere in the interval. This interval is exact. "
            "Objectives of scenarios with different weights are different scores and are not compared.</p>"
            + objective_chart)

    effects = t["effects"]
    if len(effects):
        parts = ["<h2 id=effects>Effects of one setting, with their uncertainty</h2>"
                 "<p class=lead>Scenarios that differ in one setting alone are paired. Each value is drawn with its "
                 "interval: the objective's is exact, <code>[bound, objective]</code>; a plan measure's is "
                 "<code>value ± gap x |value|</code>, a convention (not a proof) that a plan this close to the "
                 "optimum in objective is about as close in its measures. A difference whose intervals overlap is "
                 f"<b>{_esc(WITHIN_TOLERANCE)}</b>: it is drawn grey and dashed and is not an effect. A pair with an "
                 "unresolved side (red dotted) is never evidence of an effect. Only blue solid lines are effects."
                 "</p>"]
        for i, param in enumerate(dict.fromkeys(effects["parameter"])):
            sel = effects[effects["parameter"] == param]
            parts.append(f"<h3>{_esc(param)}</h3>" + _effects_chart(effects, _quality_index(results), param,
                                                                    f"eff{i}"))
            parts.append(_effects_words(sel))
            parts.append(_table(_effects_shown(sel), scroll=len(sel) > 20))
        sections.append("".join(parts))

    pareto = t["pareto"]
    if len(pareto):
        front = pareto[pareto["pareto"]].copy()
        n_open_here = int(pareto["unresolved"].sum()) if "unresolved" in pareto else 0
        apart = (f" {n_open_here} unresolved scenario{'s are' if n_open_here != 1 else ' is'} drawn as hollow red "
                 "diamonds and not considered for the front." if n_open_here else "")
        axes = [_measure(k) for k in PARETO_AXES]
        named = ", ".join(m.label.lower() for m in axes[:-1]) + f" and {axes[-1].label.lower()}"
        better = [str(m.better) for m in axes]  # each axis has one (see _minimised)
        which = (f"{better[0].capitalize()} is better on every axis" if len(set(better)) == 1 else "; ".join(
            f"{b.capitalize()} {m.label.lower()} is better" for b, m in zip(better, axes, strict=True)))
        shown = ["name", *PARETO_AXES, "gap"]
        sections.append(
            "<h2 id=pareto>Trade-offs: travel, community and risk</h2>"
            f"<p class=lead>Each dot is a scenario's best plan, with grey bars of ± its solver tolerance "
            f"(gap x |value|). {_esc(which)}. Ringed scenarios are "
            f"<b>Pareto-optimal</b>: no other scenario is at least as good on {_esc(named)}, and better on one. "
            f"The dashed line is the front of {_esc(axes[0].label.lower())} and {_esc(axes[1].label.lower())} "
            f"alone.{_esc(apart)}</p>" + _pareto_chart(pareto)
            + _table(*_labelled(front[shown]), index=True, caption="Pareto-optimal scenarios (id, name, measures)"))

    bands = t["bands"]
    if len(bands):
        parts = ["<h2 id=bands>Sensitivity: bands per swept value</h2>"
                 "<p class=lead>For each value of a swept setting: the median (line) and the range from minimum "
                 "to maximum (band) over the resolved scenarios with that value. Unresolved scenarios are not in "
                 "the band; each is drawn as a hollow red diamond.</p>"]
        for i, param in enumerate(dict.fromkeys(bands["parameter"])):
            parts.append(f"<h3>{_esc(param)}</h3>" + _bands_chart(bands, param, f"band{i}",
                                                                  _open_points(results, param)))
            sel = bands[bands["parameter"] == param].pivot_table(index="value", columns="metric", values="median",
                                                                 sort=False)
            counts = bands[bands["parameter"] == param].drop_duplicates("value").set_index("value")[
                ["scenarios", "ok", "unresolved", "infeasible"]]
            tab = counts.join(sel[[m for m in BAND_METRICS if m in sel.columns]])
            tab.columns = [c if c not in BAND_METRICS else f"median {_measure(c).label.lower()}" for c in tab.columns]
            fmts: dict[str, str | Callable[[Any], str]] = {
                f"median {_measure(m).label.lower()}": _formatter(m) for m in BAND_METRICS}
            fmts.update({"scenarios": "{:.0f}", "ok": "{:.0f}", "unresolved": "{:.0f}", "infeasible": "{:.0f}"})
            parts.append(_table(tab, fmts, index=True, scroll=False))
        sections.append("".join(parts))

    stab = t["stability"]
    if len(stab) and stab["stability"].notna().any():
        least = stab.head(20).reset_index()[["practice_code", "name", "pcn_name", "town", "stability",
                                            "with_usual_mates", "usual_mates"]]
        sections.append(
            "<h2 id=stability>Which practices stay together</h2>"
            f"<p class=lead>Over {_esc(ov['co-assignment over'])}. Darker squares: the two practices share a hub "
            "in more of the scenarios. Solid blue blocks "
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
    res["plan"] = res["plan_fingerprint"].map(lambda f: f[:12] if isinstance(f, str) else None) \
        if "plan_fingerprint" in res else None
    cols = [c for c in res.columns if c.startswith("param:")] + [
        "id", "name", "status", "quality", "gap", "travel_mean_min", "town_outside_share", "max_high_risk_share",
        "practices_moved", "wall_seconds", "plan"]
    every, formats = _labelled(res[[c for c in cols if c in res.columns]])
    sections.append("<h2 id=results>Every scenario</h2><p class=lead><b>plan</b> is the first 12 digits of the "
                    "plan's fingerprint: equal exactly when two scenarios group the practices the same way.</p>"
                    + _table(every, {**formats, "wall_seconds": "{:.1f}"}))
    links = " · ".join(f'<a href="{_esc(f)}">{_esc(f)}</a>' for f in files)
    sections.append(f"<h2 id=files>Tables</h2><p>{links}</p>")

    title = f"Batch summary: {ov.get('batch', '')}"
    today = date.today()
    return ("<!DOCTYPE html>\n<html lang=\"en-GB\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{_esc(title)}</title>\n<style>{_css()}</style>\n</head>\n<body>\n"
            f"<header><div class=wrap><h1>{_esc(title)}</h1></div></header>\n<main class=wrap>\n"
            f"<p class=lead>{ov['results stored']} scenario results ({ov['ok']} with a plan: {ov['resolved']} "
            f"resolved, <b>{n_open} unresolved</b>). Every plan has contiguous "
            "hubs within the population bounds; its gap is to a proven lower bound of its own scenario. Each "
            "scenario stops once its plan is proven within its gap target; its time limit is only a cap.</p>\n"
            + "\n".join(sections)
            + f"\n<footer>Made with pcn-planner {__version__} on {today.day} {today:%B %Y}. This page works offline."
              "</footer>\n</main>\n</body>\n</html>\n")


def _summary_json(t: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """The summary as plain data: overview, every scenario with its quality, intervals and fingerprint, effects."""
    res = t["results"]
    scenarios = []
    for sid, row in res.iterrows():
        params = {c[len("param:"):]: row[c] for c in res.columns if c.startswith("param:") and _present(row[c])}
        measures = {m: {"value": _num(row.get(m)), "tolerance": _num(row.get(f"{m}_tolerance"))}
                    for m in KEY_METRICS if m in res.columns and _num(row.get(m)) is not None}
        scenarios.append({
            "id": sid, "name": row["name"], "params": params, "status": row["status"], "quality": row["quality"],
            "unresolved": bool(row["unresolved"]), "gap": _num(row.get("gap")),
            "gap_target": _num(row.get("gap_target")), "stopped_by": row.get("stopped_by"),
            "objective": _num(row.get("objective")), "bound": _num(row.get("bound")),
            "objective_interval": None if _num(row.get("objective")) is None else
            [_num(row.get("objective_low")), _num(row.get("objective_high"))],
            "plan_fingerprint": row.get("plan_fingerprint") if _present(row.get("plan_fingerprint")) else None,
            "measures": measures})
    overview = {k: (v.item() if hasattr(v, "item") else v) for k, v in t["overview"]["value"].items()}
    return {"overview": overview, "unresolved": list(t["unresolved"].index), "scenarios": scenarios,
            "effects": t["effects"].to_dict(orient="records"),
            "tolerance_convention": "tolerance = gap x |value| for a plan measure (a convention, not a proof); "
                                    "the objective's interval [bound, objective] is exact"}


def _present(v: Any) -> bool:
    return v is not None and not (isinstance(v, float) and math.isnan(v))


def write_batch_summary(out_dir: str | Path, *, top: int = 25) -> Path:
    """Write ``summary/`` in a batch folder: CSV tables, ``summary.json`` and ``index.html``; return the page's path.

    Files: ``results.csv`` (with ``quality``, ``unresolved``, ``plan_fingerprint``,
    ``objective_low``/``objective_high`` and a ``<metric>_tolerance`` column per key
    metric), ``overview.csv``, ``unresolved.csv``, ``effects.csv`` (with
    ``within_solver_tolerance``, ``unresolved`` and ``effect``), ``pareto.csv``,
    ``bands.csv``, ``stability.csv``, ``hub_frequency.csv``, ``coassignment.csv``,
    ``infeasible.csv``, ``errors.csv``, ``summary.json`` (the overview, every scenario
    with its quality, intervals and plan fingerprint, and the effects) and
    ``index.html`` (offline: charts are inline SVG). The folder is staged and moved
    into place only when complete. Unresolved scenarios are also logged as a warning,
    so that the command line says how many there are.
    """
    tables = summarise_batch(out_dir, top=top)
    opened = tables["unresolved"]
    if len(opened):
        names = ", ".join(str(n) for n in opened["name"].head(10)) + (" ..." if len(opened) > 10 else "")
        logger.warning("%d of %d scenarios with a plan are unresolved (time cap reached above the gap target), "
                       "kept apart in the summary: %s", len(opened), int(tables["overview"].at["ok", "value"]), names)
    target = Path(out_dir) / "summary"
    names_ = ["results", "overview", "unresolved", "effects", "pareto", "bands", "stability", "hub_frequency",
              "coassignment", "infeasible", "errors"]
    files = [f"{n}.csv" for n in names_] + ["summary.json"]
    with staged_directory(target) as stage:
        for n in names_:
            frame = tables[n]
            atomic_write_text(stage / f"{n}.csv", frame.to_csv(lineterminator="\n", float_format="%.6g"))
        atomic_write_text(stage / "summary.json", dump_json(_summary_json(tables)))
        atomic_write_text(stage / "index.html", _index_html(tables, files))
    return target / "index.html"


# ---------------------------------------------------------------------------
# two batches, plan by plan
# ---------------------------------------------------------------------------


def compare_batches(a: str | Path, b: str | Path) -> pd.DataFrame:
    """Compare two batch folders scenario by scenario: are their plans identical?

    Scenarios are matched by id (the same content gives the same id, whatever the
    file or the run order), and plans by :func:`~pcn_planner.batch.store.plan_fingerprint`.

    Parameters
    ----------
    a, b
        Batch folders (holding ``results.sqlite``), or the ``results.sqlite`` files.

    Returns
    -------
    DataFrame
        One row per scenario id in either batch: ``name``, ``status_a``, ``status_b``,
        ``unresolved_a``, ``unresolved_b``, ``gap_a``, ``gap_b``, ``objective_a``,
        ``objective_b``, ``fingerprint_a``, ``fingerprint_b`` and ``verdict``:
        ``identical`` (same plan), ``different`` (both have a plan, not the same),
        ``no plan`` (a side has no plan), ``only in a`` or ``only in b``.

    Examples
    --------
    >>> table = compare_batches("outputs/batch/run1", "outputs/batch/run2")   # doctest: +SKIP
    >>> table["verdict"].value_counts()                                      # doctest: +SKIP
    """
    frames = []
    for side, where in (("a", a), ("b", b)):
        path = Path(where)
        path = path if path.is_file() else path / STORE_NAME
        if not path.is_file():
            raise InputError(f"no {STORE_NAME} here: not a batch output folder", file=str(where))
        with ResultStore(path) as store:
            frame = store.frame()
        frame = frame[["name", "status", "unresolved", "gap", "objective", "plan_fingerprint"]].rename(
            columns={"plan_fingerprint": "fingerprint"})
        frames.append(frame.add_suffix(f"_{side}"))
    both = frames[0].join(frames[1], how="outer")
    both.insert(0, "name", both["name_a"].where(both["name_a"].notna(), both["name_b"]))
    both = both.drop(columns=["name_a", "name_b"])

    def verdict(row: pd.Series) -> str:
        if not _present(row["status_a"]):
            return "only in b"
        if not _present(row["status_b"]):
            return "only in a"
        fa, fb = row["fingerprint_a"], row["fingerprint_b"]
        if not (isinstance(fa, str) and isinstance(fb, str)):
            return "no plan"
        return "identical" if fa == fb else "different"

    both["verdict"] = both.apply(verdict, axis=1) if len(both) else pd.Series(dtype=object)
    both.index.name = "id"
    return both.sort_values(["verdict", "name"], kind="stable")
