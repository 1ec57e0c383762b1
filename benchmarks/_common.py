"""Shared helpers for benchmark scripts: peak memory, result files, the repo on sys.path."""

from __future__ import annotations

import json
import platform
import resource
import sys
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> str:
    """One line describing where the figures come from."""
    import os

    return (f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"{datetime.now(timezone.utc).date().isoformat()}")


def write_results(name: str, text: str, data: dict) -> None:
    """Write ``results/<name>.txt`` and ``.json`` (atomically) and echo the text."""
    from pcn_planner.core.files import atomic_write_text

    RESULTS.mkdir(parents=True, exist_ok=True)
    atomic_write_text(RESULTS / f"{name}.txt", text)
    atomic_write_text(RESULTS / f"{name}.json", json.dumps(data, indent=2, default=float) + "\n")
    print(text)


#: Gaps whose first arrival a benchmark reports.
MILESTONES = (0.01, 0.005, 0.001)


def time_to_gaps(trajectory: list, offset: float = 0.0) -> dict[str, float | None]:
    """Seconds until the gap (from ``Result.details["trajectory"]``) first reached each of :data:`MILESTONES`.

    ``offset`` is added (e.g. time spent before the solve's clock started). ``None``: never reached.
    """
    out: dict[str, float | None] = {}
    for target in MILESTONES:
        hit = next((t for t, obj, low in trajectory if (obj - low) / abs(obj) <= target + 1e-12), None)
        out[f"{target:.1%}"] = None if hit is None else round(offset + hit, 1)
    return out


def seconds_text(value: float | None) -> str:
    """``12.3 s`` or ``-`` for a milestone never reached."""
    return "-" if value is None else f"{value:.1f} s"
