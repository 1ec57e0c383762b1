"""Typed, validated reading of the project's CSV tables.

A table is described by a list of :class:`Column` specs. Reading checks the
encoding, the header and every value, and the first problem found raises an
:class:`~pcn_planner.core.errors.InputError` naming the file, the row (as a
spreadsheet shows it: the header is row 1) and the field.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from pcn_planner.core.errors import InputError

Kind = Literal["str", "int", "float", "bool"]

_TRUE = {"true", "1", "yes", "y"}
_FALSE = {"false", "0", "no", "n"}


@dataclass(frozen=True)
class Column:
    """One column of a table: its name, kind and the values it may take.

    ``required`` columns may not hold empty cells; ``minimum``/``maximum`` are
    inclusive bounds, ``above`` an exclusive lower bound.
    """

    name: str
    kind: Kind = "str"
    required: bool = True
    minimum: float | None = None
    maximum: float | None = None
    above: float | None = None
    unique: bool = False


def decode_text(path: Path, label: str | None = None) -> str:
    """Read a file as UTF-8 (a BOM is allowed), naming the row of any bad byte."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        row = data[: exc.start].count(b"\n") + 1
        raise InputError(
            f"is not UTF-8 text (byte 0x{data[exc.start]:02x}); save it as UTF-8 CSV",
            file=label or path.name, row=row,
        ) from exc


def _bad(label: str, row_index: int, column: str, message: str) -> InputError:
    return InputError(message, file=label, row=row_index + 2, field=column)


def _convert(raw: pd.Series, col: Column, path: str) -> pd.Series:
    text = raw.str.strip()
    empty = text.eq("")
    if col.required and empty.any():
        raise _bad(path, int(np.flatnonzero(empty.to_numpy())[0]), col.name, "is empty")
    if col.kind == "str":
        values: pd.Series = text
    elif col.kind == "bool":
        low = text.str.lower()
        bad = ~(low.isin(_TRUE | _FALSE) | empty)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise _bad(path, i, col.name, f"'{raw.iloc[i]}' is not true/false")
        values = low.map(lambda v: True if v in _TRUE else (False if v in _FALSE else pd.NA))
        values = values.astype("boolean")
    else:
        numbers = pd.to_numeric(text.where(~empty), errors="coerce")
        bad = numbers.isna() & ~empty
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise _bad(path, i, col.name, f"'{raw.iloc[i]}' is not a number")
        if col.kind == "int":
            frac = numbers.notna() & (numbers % 1 != 0)
            if frac.any():
                i = int(np.flatnonzero(frac.to_numpy())[0])
                raise _bad(path, i, col.name, f"'{raw.iloc[i]}' is not a whole number")
            values = numbers.astype("Int64") if not col.required else numbers.astype(np.int64)
        else:
            values = numbers.astype(float)
        checks = [
            (col.minimum, lambda v, b: v < b, "is below the minimum {b}"),
            (col.maximum, lambda v, b: v > b, "is above the maximum {b}"),
            (col.above, lambda v, b: v <= b, "must be greater than {b}"),
        ]
        for bound, fails, words in checks:
            if bound is None:
                continue
            out = fails(values, bound).fillna(False).to_numpy(dtype=bool)
            if out.any():
                i = int(np.flatnonzero(out)[0])
                raise _bad(path, i, col.name, f"value {raw.iloc[i].strip()} " + words.format(b=f"{bound:g}"))
    if col.unique:
        dup = values.duplicated(keep="first") & ~empty
        if dup.any():
            i = int(np.flatnonzero(dup.to_numpy())[0])
            first = int(np.flatnonzero((values == values.iloc[i]).to_numpy())[0])
            raise _bad(path, i, col.name, f"duplicate '{values.iloc[i]}' (first at row {first + 2})")
    return values


def read_table(
    path: str | Path, columns: list[Column], *, extra: bool = True, label: str | None = None
) -> pd.DataFrame:
    """Read a CSV, check it against ``columns`` and return typed columns.

    Parameters
    ----------
    path
        CSV file (UTF-8, header row).
    columns
        The columns that must be present, with their kinds and checks.
    extra
        Keep columns not listed (as text). Otherwise they are dropped.
    label
        How errors name the file (default: its file name).

    Raises
    ------
    InputError
        Naming the file, row and field of the first problem.
    """
    path = Path(path)
    label = label or path.name
    if not path.is_file():
        raise InputError("file not found", file=str(path))
    text = decode_text(path, label)
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"is not a readable CSV table ({exc})", file=label) from exc
    frame.columns = [c.strip() for c in frame.columns]
    missing = [c.name for c in columns if c.name not in frame.columns]
    if missing:
        raise InputError(
            f"missing column(s) {', '.join(missing)}; the header has {', '.join(frame.columns)}",
            file=label, row=1, field=missing[0],
        )
    out = {c.name: _convert(frame[c.name], c, label) for c in columns}
    if extra:
        for name in frame.columns:
            out.setdefault(name, frame[name])
    return pd.DataFrame(out, index=frame.index)


def first_row_where(mask: pd.Series | np.ndarray) -> int:
    """Spreadsheet row number (header = 1) of the first ``True`` in ``mask``."""
    return int(np.flatnonzero(np.asarray(mask))[0]) + 2
