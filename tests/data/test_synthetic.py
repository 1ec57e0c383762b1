"""The synthetic region generator: loads like real data, is deterministic, and runs the pipeline."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pcn_planner.data.atlas import FILES, load_atlas
from pcn_planner.model.plan import Plan
from pcn_planner.geography.region import build_region
from pcn_planner.scoring.scorecard import score_plan
from pcn_planner.data.synthetic import GRID_BASE, GRID_STEP, LIST_LOG_MEAN, LIST_LOG_SD, england_regions, synthetic_atlas, write_synthetic_atlas

from tests.conftest import REPO  # noqa: E402
ALL_FILES = sorted([*FILES.values(), "manifest.json"])


@pytest.fixture(scope="module")
def small() -> object:
    return synthetic_atlas(60, rng=0)


@pytest.fixture(scope="module")
def small_region(small):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # territory-less practices are expected, as in SSOT
        return build_region(small)


def test_builds_and_loads_with_the_real_layout(small, atlas):
    a = small
    assert len(a.practices) == 60
    for name in ("practices", "lsoas", "hospitals"):
        ours, real = getattr(a, name), getattr(atlas, name)
        assert list(ours.columns) == list(real.columns), name
        assert ours.dtypes.astype(str).to_dict() == real.dtypes.astype(str).to_dict(), name
    assert list(a.patients.columns) == list(atlas.patients.columns)
    assert a.patients.dtypes.astype(str).to_dict() == atlas.patients.dtypes.astype(str).to_dict()
    assert (a.practices.index == a.practices["practice_code"]).all()
    assert (a.lsoas.index == a.lsoas["lsoa11cd"]).all()
    assert (a.hospitals.index == a.hospitals["site_code"]).all()
    assert set(a.hospital_travel.columns) == set(a.hospitals.index[a.hospitals["in_travel_matrix"].astype(bool)])
    assert set(a.hospital_travel.index) <= set(a.lsoas.index)
    assert a.practices["site_lsoa11"].isin(a.lsoas.index).all()
    # files on disk: load_atlas validated them, and the hash reads them
    assert all((a.path / rel).is_file() for rel in ALL_FILES)
    assert len(a.data_hash) == 64
    assert a.manifest["synthetic"] is True and a.manifest["parameters"]["n_practices"] == 60


def test_codes_cannot_clash_with_real_ones(small, atlas):
    assert not set(small.practices.index) & set(atlas.practices.index)
    assert not set(small.lsoas.index) & set(atlas.lsoas.index)
    assert small.lsoas.index.str.match(r"^X\d{8}$").all()
    assert small.practices.index.str.match(r"^Z\d{6}$").all()


def test_same_seed_gives_identical_files_and_another_seed_differs(tmp_path):
    a = write_synthetic_atlas(tmp_path / "a", 40, rng=7)
    b = write_synthetic_atlas(tmp_path / "b", 40, rng=7)
    c = write_synthetic_atlas(tmp_path / "c", 40, rng=8)
    for rel in ALL_FILES:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    assert (a / "practices.csv").read_bytes() != (c / "practices.csv").read_bytes()
    # a Generator seeded the same way gives the same tables too
    d = write_synthetic_atlas(tmp_path / "d", 40, rng=np.random.default_rng(7))
    assert (a / "lsoa/patients.csv").read_bytes() == (d / "lsoa/patients.csv").read_bytes()


def test_pipeline_runs_graph_connected_current_plan_scores(small, small_region):
    region = small_region
    assert sorted(region.graph.nodes) == sorted(small.practices.index)
    assert nx.is_connected(region.graph)
    kinds = region.graph.graph["report"]["edges_by_kind"]
    assert kinds["border"] > len(small.practices)  # mostly real borders, not stand-in links
    current = Plan.current(small.practices)
    card = score_plan(region, current)
    assert card.summary["hubs"] == small.practices["pcn_code"].nunique()
    assert card.summary["patients"] == small.total_patients
    assert region.calibration is not None and region.calibration.mae_30km < 4.0


def test_list_sizes_are_sane(small, atlas):
    sizes = small.practices["list_size"]
    assert (sizes > 0).all()
    real_median = atlas.practices["list_size"].median()
    assert real_median / 2 <= sizes.median() <= real_median * 2
    assert (small.practices["patients_mapped"] <= sizes).all()
    assert small.practices["patients_mapped"].sum() >= 0.99 * sizes.sum()


def test_fitted_constants_match_the_embedded_data():
    sizes = pd.read_csv(REPO / "data" / "practices.csv")["list_size"].to_numpy(float)
    logs = np.log(sizes)
    assert math.isclose(LIST_LOG_MEAN, logs.mean(), abs_tol=0.01)
    assert math.isclose(LIST_LOG_SD, logs.std(ddof=0), abs_tol=0.01)


def test_travel_matrix_is_on_the_real_grid(small):
    values = small.hospital_travel.to_numpy(float).ravel()
    assert np.isfinite(values).all() and values.min() >= GRID_BASE - 0.05
    steps = (values - GRID_BASE) / GRID_STEP
    assert np.abs(steps - np.round(steps)).max() * GRID_STEP < 0.06


def test_territories_are_shared_and_ring_areas_mostly_unowned(small_region):
    terr = small_region.territory
    owned = terr[terr["owned"]]
    assert len(owned) > 0.3 * (terr["area_patients"] > 0).sum()
    assert (owned["share"] > 0.2).all()
    lad = small_region.atlas.lsoas["lad"]
    outer = lad.str.startswith("Outer ")
    assert outer.any() and terr.loc[outer[outer].index, "owned"].mean() < 0.5


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="n_practices"):
        synthetic_atlas(0)
    with pytest.raises(ValueError, match="England's box"):
        synthetic_atlas(100, centre=(55.8, 1.8))
    with pytest.raises(ValueError, match="region"):
        synthetic_atlas(10, region=100)


def test_england_specs_sum_and_fit():
    specs = england_regions()
    assert len(specs) == 42
    assert sum(s["n_practices"] for s in specs) == 6200
    assert len({s["region"] for s in specs}) == 42
    a = synthetic_atlas(**{**specs[0], "n_practices": 15})  # a region's centre is valid
    assert len(a.practices) == 15


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(min_value=20, max_value=40), seed=st.integers(min_value=0, max_value=2**31 - 1))
def test_any_small_region_loads(n, seed, tmp_path_factory):
    folder = write_synthetic_atlas(tmp_path_factory.mktemp("syn") / "atlas", n, rng=seed)
    atlas = load_atlas(folder)
    p = atlas.practices
    assert len(p) == n and p.index.is_unique
    assert (p["patients_mapped"] <= p["list_size"]).all()
    assert (p["list_size"] > 0).all()
    assert p["pcn_code"].notna().all() and p["sub_icb"].notna().all()
    assert atlas.patients.groupby("practice_code")["patients"].sum().reindex(p.index, fill_value=0).eq(
        p["patients_mapped"]).all()
