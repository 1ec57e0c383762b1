"""The code passes ruff and mypy, as configured in pyproject.toml ([tool.ruff], [tool.mypy]).

Both run as subprocesses of this interpreter (``python -m ruff`` / ``python -m mypy``) from the
repository root, so the versions are the ones the ``test`` extra installed. A failure shows the
tool's own report. To run them by hand::

    ruff check pcn_planner solvers
    mypy pcn_planner solvers
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TARGETS = ["pcn_planner", "solvers"]


def _run(tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    if importlib.util.find_spec(tool) is None:
        pytest.fail(f"{tool} is not installed: pip install -e '.[test]'")
    return subprocess.run([sys.executable, "-m", tool, *args], cwd=REPO, capture_output=True, text=True,
                          timeout=600, check=False)


def test_ruff_check() -> None:
    done = _run("ruff", "check", "--no-fix", "--output-format", "concise", *TARGETS)
    if done.returncode != 0:
        pytest.fail(f"ruff check {' '.join(TARGETS)} failed:\n{done.stdout}{done.stderr}", pytrace=False)


def test_mypy() -> None:
    done = _run("mypy", *TARGETS)
    if done.returncode != 0:
        pytest.fail(f"mypy {' '.join(TARGETS)} failed:\n{done.stdout}{done.stderr}", pytrace=False)
