"""The words, numbers and colours the report's pages, charts, static map and workbook share.

NHS colours; the report's own measures, which are not plan metrics (contiguous
hubs, broken rules, the objective and the optimality gap, whose words the map
and the batch summary use too); the columns of the options table; and each
hub's readable name and number, so that every part of the report says the
same thing the same way. Every metric's label, unit, definition, format and
"which way is better" come from the registry, :mod:`pcn_planner.scoring.metrics`.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from pcn_planner.scoring.metrics import PLAN, Metric, format_gap, gap_words

if TYPE_CHECKING:
    from pcn_planner.model.problem import Bounds
    from pcn_planner.scoring.scorecard import Scorecard

__all__ = ["CONTIGUOUS_HUBS", "FLAG_RED", "GAP", "NHS_BLUE", "NHS_DARK_BLUE", "NHS_GREEN", "NHS_GREY_5",
           "NHS_SECONDARY", "NHS_TEXT", "OBJECTIVE", "RULES_BROKEN", "Column", "band_words", "data_unit", "format_gap",
           "gap_words", "heading", "hub_names"]

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
    """A number that is not a metric (a weight, the objective) in a given format; ``–`` when missing."""
    return "–" if v is None or (isinstance(v, float) and not math.isfinite(v)) else fmt.format(v)


# ---------------------------------------------------------------------------
# The report's own measures: not plan metrics, so not in the registry
# ---------------------------------------------------------------------------

#: Hubs in one piece (``hubs - non_contiguous_hubs``). Like "hubs in band" it
#: depends on K, so neither direction is "better" across options.
CONTIGUOUS_HUBS = Metric("contiguous_hubs", "Contiguous hubs", "count",
                         "hubs whose member practices form one connected piece of the practice graph", "count")
#: The scorecard's broken rules, counted.
RULES_BROKEN = Metric("rules_broken", "Broken rules", "count",
                      "hubs outside the population band plus hubs not in one piece (each listed on the option's "
                      "page)", "count", "lower")
#: The optimiser's objective (describes the solve, not the plan).
OBJECTIVE = Metric("objective", "Objective", "score",
                   "the optimiser's weighted score of the plan, each term relative to today's PCNs (lower is "
                   "better); blank when the plan was only evaluated", "ratio")
#: The certified optimality gap (describes the solve, not the plan); its value is shown by
#: :func:`~pcn_planner.outputs.maps.plan_map.gap_words` (words) or ``format_gap`` (a number).
GAP = Metric("gap", "Optimality gap", "%",
             "how far, at most, the objective could be above the best possible plan, as proven by the solver "
             "(0% = proven best); \"not certified\" when no bound was proven or the plan was only evaluated",
             "share", "lower")


def data_unit(metric: Metric) -> str:
    """The unit of a metric's values as data files store them (CSV, JSON, SQLite): a share is a fraction,
    ``share (0–1)``; any other unit is the registry's."""
    return "share (0–1)" if metric.kind == "share" else metric.unit


def band_words(status: str, bounds: Bounds) -> str:
    """A hub's band status in a table cell: ``in band``, ``below 30,000`` or ``above 70,000``."""
    return {"ok": "in band", "below min": f"below {bounds.min:,}", "above max": f"above {bounds.max:,}"}.get(
        status, status)


def heading(metric: Metric) -> str:
    """A column heading: the label with its unit in brackets, e.g. ``Mean travel (minutes)``.

    Units that say nothing a heading needs (counts, yes/no, text, or a word
    the label has already, as in ``Patients`` or ``Mean IMD decile``) are left off.
    """
    if metric.unit in ("", "count", "yes/no") or metric.unit.lower() in metric.label.lower():
        return metric.label
    return f"{metric.label} ({metric.unit})"


#: What an option is (the first column of the options table, and the glossary).
_OPTION_DEF = "one way of grouping every practice of the region into hubs"


def _breaks_a_rule(key: str, metrics: dict) -> bool:
    """Whether an option's value in this column shows a broken rule (red in the table and the workbook)."""
    if key in ("hubs_in_band", "contiguous_hubs"):
        return metrics[key] < metrics["hubs"]
    return key == "rules_broken" and bool(metrics[key])


def _plan_glossary() -> list[Metric]:
    """Every plan measure of the report, in glossary order (pages and workbook)."""
    return [PLAN["hubs"], CONTIGUOUS_HUBS, RULES_BROKEN, *[m for k, m in PLAN.items() if k != "hubs"], OBJECTIVE,
            GAP]


# ---------------------------------------------------------------------------
# The options table
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A column of the options table: a measure (a registered plan metric or one of the report's own), its group.

    ``text`` gives a cell's words from its value and the option's measures
    (default :meth:`Metric.format`); ``xlsx_format`` overrides the
    workbook's number format for the measure's kind.
    """

    metric: Metric
    group: str
    text: Callable[[Any, dict], str] | None = None
    xlsx_format: str | None = None

    @property
    def key(self) -> str:
        return self.metric.key

    @property
    def label(self) -> str:
        return self.metric.label

    @property
    def unit(self) -> str:
        return self.metric.unit

    @property
    def definition(self) -> str:
        return self.metric.definition

    @property
    def better(self) -> str | None:
        """``"lower"``, ``"higher"`` or ``None`` (from the registry, or the report's own measure)."""
        return self.metric.better

    def fmt(self, value: Any, metrics: dict) -> str:
        """A cell's words."""
        return self.text(value, metrics) if self.text is not None else self.metric.format(value)


def _of_k(value: Any, metrics: dict) -> str:
    return f"{value:,} of {metrics['hubs']:,}"


#: The options table's columns, by group; ``{baseline}`` is filled in by :func:`_options_columns`.
_OPTIONS_COLUMNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Rules", ("hubs", "hubs_in_band", "contiguous_hubs", "rules_broken")),
    ("Travel to hub base", ("travel_mean_min", "travel_p90_min")),
    ("Communities", ("towns_split", "lad_crossings", "sub_icb_crossings")),
    ("Resilience", ("max_high_risk_share", "hubs_without_anchor")),
    ("Change from {baseline}", ("practices_moved", "pcn_pairs_broken")),
    ("Optimiser", ("objective", "gap")),
)
_OWN = {m.key: m for m in (CONTIGUOUS_HUBS, RULES_BROKEN, OBJECTIVE, GAP)}
_TEXT: dict[str, Callable[[Any, dict], str]] = {
    "hubs_in_band": _of_k,
    "contiguous_hubs": _of_k,
    "objective": lambda v, m: _num(v, "{:.4f}"),
    "gap": lambda v, m: gap_words(v),
}
_XLSX = {"objective": "0.0000", "gap": "0.00%"}


def _options_columns(baseline: str) -> list[Column]:
    return [Column(_OWN.get(key) or PLAN[key], group.format(baseline=baseline), _TEXT.get(key), _XLSX.get(key))
            for group, keys in _OPTIONS_COLUMNS for key in keys]


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
