"""The report's workbook, ``options.xlsx``: the options side by side, one sheet of hubs per option, and a glossary.

Headings, units, definitions and number formats come from the metrics
registry (:mod:`pcn_planner.scoring.metrics`). A share is stored as the
fraction it is (0.344) with a percent number format, so Excel shows 34.4%
and calculates with the fraction; a column of numbers holds only numbers
(blank when there is none), with any words in a column of their own.
"""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING

import pandas as pd

from pcn_planner.outputs.maps.plan_map import format_metric
from pcn_planner.outputs.report.words import (
    FLAG_RED,
    GAP,
    NHS_BLUE,
    _breaks_a_rule,
    _flagged,
    _hub_order,
    _options_columns,
    _plan_glossary,
    band_words,
    gap_words,
    heading,
    hub_names,
)
from pcn_planner.scoring.metrics import HUB, Metric

if TYPE_CHECKING:
    from pcn_planner.outputs.report.options import Option
    from pcn_planner.scoring.scorecard import Scorecard

__all__ = ["excel_bytes"]

#: Excel number format of each kind of metric (text and yes/no are written as text).
_XLSX_FORMATS = {"count": "#,##0", "patients": "#,##0", "minutes": "0.0", "share": "0.0%", "decile": "0.0",
                 "index": "0.00", "ratio": "0.00"}
#: The words beside the gap's number: "0.42%", "0.00% (optimal)" or "not certified".
GAP_WORDS_HEADER = f"{GAP.label}, in words"


def xlsx_format(metric: Metric) -> str:
    """The Excel number format of a metric, by its kind (``@``, text, for words)."""
    return _XLSX_FORMATS.get(metric.kind, "@")


def _options_frame(options: list[Option]) -> tuple[pd.DataFrame, dict[str, str], dict[str, str]]:
    """The options table with plain-English headers (units in brackets), each header's number format, and
    the header of each measure (by key)."""
    columns = _options_columns(options[0].scorecard.baseline_name)
    formats: dict[str, str] = {}
    headers: dict[str, str] = {}
    data: dict[str, list] = {"Option": [o.name for o in options]}
    for c in columns:
        header = heading(c.metric)
        headers[c.key] = header
        formats[header] = c.xlsx_format or xlsx_format(c.metric)
        data[header] = [o.metrics.get(c.key) for o in options]
        if c.key == "gap":  # the number, blank when not certified; its words beside it
            data[GAP_WORDS_HEADER] = [gap_words(o.metrics.get("gap")) for o in options]
    data["Run directory"] = [str(o.path) for o in options]
    return pd.DataFrame(data), formats, headers


def _hub_frame(scorecard: Scorecard) -> tuple[pd.DataFrame, dict[str, str]]:
    hubs = scorecard.hubs
    order = _hub_order(scorecard)
    names = hub_names(scorecard)
    frame = pd.DataFrame({"#": range(1, len(order) + 1), "Hub": [names[h] for h in order], "Hub id": order,
                          "Full name": [str(hubs.at[h, "hub_name"]) for h in order]})
    formats = {"#": "0"}
    for c, m in HUB.items():
        if c not in hubs.columns:
            continue
        header = heading(m)
        values = hubs.loc[order, c]
        if m.kind == "flag":
            values = values.map(m.format)
        elif c == "band":
            values = values.map(lambda v: band_words(v, scorecard.bounds))
        elif c == "base_practice":
            values = [format_metric(c, hubs.at[h, c], row=hubs.loc[h]) for h in order]
        frame[header] = list(values)
        formats[header] = xlsx_format(m)
    return frame, formats


def _glossary_frame(baseline: str) -> pd.DataFrame:
    rows = [("Plan", m.label, m.unit, m.definition) for m in _plan_glossary()]
    rows += [("Hub", m.label, m.unit, m.definition) for m in HUB.values()]
    rows.append(("Note", "Baseline", "", f"disruption is measured against {baseline}"))
    rows.append(("Note", "Shares (%)", "",
                 "stored as fractions (0.344) with a percent number format, so Excel shows 34.4%"))
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


def excel_bytes(options: list[Option]) -> bytes:
    """``options.xlsx`` as bytes: sheets "Options", one per option (its hubs, flagged ones shaded) and "Glossary"."""
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
        frame, formats, headers = _options_frame(options)
        frame.to_excel(writer, sheet_name="Options", index=False)
        ws = writer.sheets["Options"]
        style(ws, frame, formats)
        columns = list(frame.columns)
        for i, o in enumerate(options, start=2):
            for key, header in headers.items():
                if _breaks_a_rule(key, o.metrics):
                    ws.cell(row=i, column=columns.index(header) + 1).font = bad_font
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
