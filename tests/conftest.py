"""Shared fixtures: the embedded atlas and throw-away copies of it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import pcn_planner as pp
from pcn_planner.data.build import default_raw_dir

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data"
RAW = default_raw_dir()


@pytest.fixture(scope="session")
def atlas() -> pp.Atlas:
    """The embedded SSOT atlas (read once per session)."""
    return pp.load_atlas()


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    """A writable copy of the embedded ``data/`` folder, for breaking on purpose."""
    target = tmp_path / "data"
    shutil.copytree(DATA, target)
    return target


needs_raw = pytest.mark.skipif(not RAW.is_dir(), reason=f"raw public data not found at {RAW}")
