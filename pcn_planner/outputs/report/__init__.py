"""The options report: one page per option, an index, charts, static maps and the Excel workbook."""

from pcn_planner.outputs.report.options import load_options
from pcn_planner.outputs.report.pages import write_report

__all__ = ["load_options", "write_report"]
