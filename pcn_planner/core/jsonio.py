"""JSON helpers: one conversion of numpy and pandas values to plain, stable JSON."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any


def to_jsonable(value: Any) -> Any:
    """A plain JSON-able copy: numpy scalars become Python, NaN and infinity become ``None``.

    Mappings keep their order with their keys turned into strings; tuples become lists.
    """
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def dump_json(data: Any) -> str:
    """Stable, readable JSON text (sorted keys, two-space indent, final newline)."""
    return json.dumps(to_jsonable(data), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
