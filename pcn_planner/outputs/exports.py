"""A scored plan as GIS data: GeoDataFrame, GeoPackage, GeoJSON and CSV.

>>> gdf = plan_to_geodataframe(scorecard)          # one row per hub, EPSG:4326
>>> write_geopackage(scorecard, "plan.gpkg")       # layers "hubs" and "practices"
>>> write_geojson(scorecard, "plan.geojson")       # hub polygons (RFC 7946)

Each hub polygon is its dissolved territory (see ``docs/geography.md``) and
carries the whole hub table of :class:`~pcn_planner.scoring.scorecard.Scorecard`. Every
file is written to a temporary name beside the target and renamed into place,
so a reader never sees half a file and a failure leaves any old file intact.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from pcn_planner.core.files import atomic_write_text
from pcn_planner.scoring.metrics import HUB

if TYPE_CHECKING:
    import geopandas as gpd

    from pcn_planner.scoring.scorecard import Scorecard

__all__ = ["plan_to_geodataframe", "practices_to_geodataframe", "write_geojson", "write_geopackage", "write_plan_csv"]

#: Columns from the territory dissolve, kept after the hub table.
_GEOMETRY_COLUMNS = ("practice_codes", "n_lsoas", "has_territory", "area_km2")


def plan_to_geodataframe(scorecard: Scorecard) -> gpd.GeoDataFrame:
    """Hub polygons with the hub table, one row per hub.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326, a plain ``RangeIndex``, columns ``hub_id``, ``hub_name``,
        every hub metric of the registry (:data:`pcn_planner.scoring.metrics.HUB`, in its order) the
        scorecard has,
        ``base_name``, ``practice_codes`` (space-separated), ``n_lsoas``,
        ``has_territory``, ``area_km2``, ``plan`` (the plan's name) and
        ``geometry``. Text columns are plain ``object`` and booleans ``bool``,
        so every GIS format takes them. Columns are named by metric key (labels,
        units and definitions: ``docs/metrics.md``); shares are fractions 0–1.
    """
    import geopandas as gpd

    geo = scorecard.geometry
    first = ["hub_name", *[c for c in HUB if c in geo.columns], "base_name"]
    columns = list(dict.fromkeys([c for c in first if c in geo.columns]
                                 + [c for c in geo.columns if c not in first and c != "geometry"]))
    columns = [c for c in columns if c not in _GEOMETRY_COLUMNS] + [c for c in _GEOMETRY_COLUMNS if c in geo.columns]
    frame = pd.DataFrame(geo[columns]).copy()
    for column in frame.columns:
        dtype = frame[column].dtype
        if pd.api.types.is_bool_dtype(dtype):
            frame[column] = frame[column].astype(bool)
        elif pd.api.types.is_string_dtype(dtype) or isinstance(dtype, pd.StringDtype):
            frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    frame.insert(0, "hub_id", [str(h) for h in geo.index])
    frame["plan"] = scorecard.plan.name
    out = gpd.GeoDataFrame(frame.reset_index(drop=True), geometry=list(geo.geometry), crs=geo.crs)
    return out.to_crs("EPSG:4326")


def practices_to_geodataframe(scorecard: Scorecard) -> gpd.GeoDataFrame:
    """Practice sites with their hub, one point per practice (EPSG:4326)."""
    import geopandas as gpd

    plan = scorecard.plan
    practices = scorecard.region.atlas.practices.loc[list(plan.assignment.index)]
    bases = set(scorecard.hubs["base_practice"])
    risk = scorecard.region.risk.table.reindex(practices.index)
    frame = pd.DataFrame({
        "practice_code": [str(c) for c in practices.index],
        "name": practices["name"].astype(object).to_numpy(),
        "list_size": practices["list_size"].astype(int).to_numpy(),
        "hub_id": [str(plan.assignment[c]) for c in practices.index],
        "hub_name": [plan.label(plan.assignment[c]) for c in practices.index],
        "base_site": [c in bases for c in practices.index],
        "high_risk": risk["high_risk"].fillna(False).astype(bool).to_numpy(),
        "anchor": risk["anchor"].fillna(False).astype(bool).to_numpy(),
    })
    points = gpd.points_from_xy(practices["lon"].astype(float), practices["lat"].astype(float))
    return gpd.GeoDataFrame(frame, geometry=points, crs="EPSG:4326")


def _write_via_temp(path: Path, write) -> Path:
    """Call ``write(tmp_path)`` in a private folder beside ``path``, then rename into place.

    GDAL may leave side files (``-journal``, ``-wal``) next to what it writes;
    the private folder keeps them out of the target folder and is removed.
    """
    path = Path(path).absolute()
    path.parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        tmp = folder / path.name
        write(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return path


def write_geopackage(scorecard: Scorecard, path: str | Path) -> Path:
    """Write the plan as a GeoPackage with layers ``hubs`` (polygons) and ``practices`` (points).

    Written to a temporary file and renamed, so an existing file is replaced
    whole or not at all. Returns the absolute path written.
    """
    hubs = plan_to_geodataframe(scorecard)
    practices = practices_to_geodataframe(scorecard)

    def write(tmp: Path) -> None:
        hubs.to_file(tmp, driver="GPKG", layer="hubs", engine="pyogrio")
        practices.to_file(tmp, driver="GPKG", layer="practices", engine="pyogrio", append=False)

    return _write_via_temp(Path(path), write)


def write_geojson(scorecard: Scorecard, path: str | Path, *, precision: int = 6) -> Path:
    """Write the hub polygons and hub table as RFC 7946 GeoJSON (EPSG:4326, ``precision`` decimals)."""
    hubs = plan_to_geodataframe(scorecard)

    def write(tmp: Path) -> None:
        hubs.to_file(tmp, driver="GeoJSON", engine="pyogrio", RFC7946="YES",
                     COORDINATE_PRECISION=str(precision), WRITE_NAME="NO")

    return _write_via_temp(Path(path), write)


def write_plan_csv(scorecard: Scorecard, path: str | Path) -> Path:
    """Write the plan file (``practice_code,hub_id,hub_name``) atomically."""
    frame = scorecard.plan.to_frame()
    if "hub_name" not in frame.columns:
        frame["hub_name"] = frame["hub_id"].map(scorecard.plan.label)
    return atomic_write_text(Path(path), frame.to_csv(index=False, lineterminator="\n"))
