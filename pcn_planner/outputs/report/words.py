"""The words, numbers and colours the report's pages, charts, static map and workbook share.

NHS colours, number formats, the definitions of the report's own measures,
the columns of the options table, and each hub's readable name and number, so
that every part of the report says the same thing the same way.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from pcn_planner.scoring.scorecard import PLAN_METRICS

if TYPE_CHECKING:
    from pcn_planner.scoring.scorecard import Scorecard

__all__ = ["FLAG_RED", "NHS_BLUE", "NHS_DARK_BLUE", "NHS_GREEN", "NHS_GREY_5", "NHS_SECONDARY", "NHS_TEXT", "Column",
           "hub_names"]

_esc = html.escape

# NHS identity colours (service manual) and the map's flag colour.
NHS_BLUE = "#005EB8"
NHS_DARK_BLUE = "#003087"
NHS_TEXT = "#212B32"
NHS_SECONDARY = "#4C6272"
NHS_GREY_5 = "#F0F4F5"
NHS_GREEN = "#007F3B"
FLAG_RED = "#C00000"


def _finite(value: Any) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


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


def _plan_glossary() -> list[tuple[str, str, str]]:
    """(name, unit, definition) of every plan measure of the report, in glossary order (pages and workbook)."""
    return [("Hubs (K)", "count", "number of hubs in the option"),
            ("Contiguous hubs", "count", _CONTIG_DEF),
            ("Broken rules", "count", _RULES_DEF),
            *[PLAN_METRICS[k] for k in PLAN_METRICS if k != "hubs"],
            ("Objective", "score", _OBJECTIVE_DEF),
            ("Optimality gap", "%", _GAP_DEF)]


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
    """Hubs that break a rule (the scorecard's verdicts, from :mod:`pcn_planner.model.rules`)."""
    return set(scorecard.flagged_hubs)
