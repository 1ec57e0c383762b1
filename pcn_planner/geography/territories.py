"""Territories: which practice each LSOA belongs to, and which LSOAs touch.

- :func:`territories` gives every LSOA an owning practice (or none), by
  patients, with a threshold that drops areas the region barely serves.
- :func:`lsoa_adjacency` lists the queen-contiguous pairs of LSOAs.
- :func:`site_xy` puts practice sites in metres (British National Grid,
  :data:`METRIC_CRS`), for distances and buffers.

See ``docs/geography.md`` for the rules, the threshold and the figures that
justify them.
"""

from __future__ import annotations

import math
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from pcn_planner.core.errors import InputError

__all__ = ["METRIC_CRS", "MIN_SHARE", "TOLERANCE_M", "lsoa_adjacency", "site_xy", "territories"]

#: Default share of an LSOA's Census 2021 residents that the region's
#: practices must hold before the LSOA can belong to one of them. Below it the
#: area belongs to practices outside the region; letting a couple of our
#: patients claim it chains practices 50 km apart (272 of 930 border edges
#: span more than 20 km without the threshold, none with it).
MIN_SHARE = 0.2

#: Polygons whose boundaries come within this many metres (EPSG:27700) count
#: as touching. The embedded boundaries are topologically clean (no overlaps;
#: every shared edge has identical vertices), but generalisation leaves a few
#: near-corner gaps of 2-5 m. On the embedded data 0 m and 5 m give the same
#: practice graph, so the tolerance only guards other regions' data.
TOLERANCE_M = 5.0

#: Metric CRS for lengths, areas and distances: British National Grid.
METRIC_CRS = "EPSG:27700"

# ---------------------------------------------------------------------------
# Territories
# ---------------------------------------------------------------------------


def territories(atlas: Any, *, min_share: float = MIN_SHARE) -> pd.DataFrame:
    """Give every LSOA an owning practice, or none.

    Rule: an LSOA belongs to the practice holding most of the region's
    patients resident there (ties: more patients first, then the smaller
    practice code), but only if the region's practices together hold at least
    ``min_share`` of its Census 2021 residents. An LSOA with no patients of
    the region, or with no (or zero) resident count, is not owned: without a
    denominator the share cannot be checked, and such LSOAs are counted in
    ``result.attrs["missing_residents"]``.

    Why the threshold: patients who moved away stay registered, so the
    patient matrix reaches LSOAs across England. Each such LSOA has a
    "majority" practice by one or two patients, and two of them touching
    makes practices 50 km apart neighbours. Requiring a material share keeps
    territories to the area the region actually serves.

    Parameters
    ----------
    atlas
        An :class:`~pcn_planner.data.atlas.Atlas` (or anything with ``lsoas`` and
        ``patients`` of the same layout).
    min_share
        Minimum ``area_patients / residents_2021``, a number >= 0. ``0`` turns
        the threshold off (any LSOA with a resident count and a patient is owned).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``lsoa11cd`` over all of ``atlas.lsoas`` in its order, with
        columns ``practice_code`` (owner, or missing), ``leader`` (practice
        with most patients there, owned or not), ``owner_patients`` (the
        leader's patients), ``area_patients`` (all the region's patients
        there), ``residents_2021``, ``share`` and ``owned``.

    Raises
    ------
    InputError
        If ``min_share`` is not a number >= 0.
    """
    min_share = _check_min_share(min_share)
    lsoas = atlas.lsoas
    matrix = atlas.patients
    # Only the region's practices and known LSOAs count (the atlas loader already checks this).
    matrix = matrix[matrix["lsoa11cd"].isin(lsoas.index) & matrix["practice_code"].isin(atlas.practices.index)]
    # Leader: most patients, then smallest practice code, so ties never depend on row order.
    ranked = matrix.sort_values(["lsoa11cd", "patients", "practice_code"], ascending=[True, False, True],
                                kind="mergesort")
    leaders = ranked.drop_duplicates("lsoa11cd").set_index("lsoa11cd")
    area_patients = matrix.groupby("lsoa11cd")["patients"].sum()

    index = pd.Index(lsoas.index, name="lsoa11cd")
    frame = pd.DataFrame(index=index)
    frame["leader"] = leaders["practice_code"].reindex(index)
    frame["owner_patients"] = leaders["patients"].reindex(index).fillna(0).astype("int64")
    frame["area_patients"] = area_patients.reindex(index).fillna(0).astype("int64")
    residents = pd.array(lsoas["residents_2021"], dtype="Int64")
    frame["residents_2021"] = residents
    usable = ~pd.isna(residents) & (residents.fillna(0) > 0)
    usable = np.asarray(usable, dtype=bool)
    share = np.full(len(frame), np.nan)
    share[usable] = frame["area_patients"].to_numpy()[usable] / residents[usable].to_numpy(dtype=float)
    frame["share"] = share
    frame["owned"] = usable & (frame["area_patients"].to_numpy() > 0) & (np.nan_to_num(share) >= min_share)
    frame["practice_code"] = frame["leader"].where(frame["owned"])
    frame = frame[["practice_code", "leader", "owner_patients", "area_patients", "residents_2021",
                   "share", "owned"]]
    frame.attrs = {"min_share": min_share, "missing_residents": int((~usable).sum())}
    return frame


def _check_min_share(min_share: float) -> float:
    try:
        value = float(min_share)
    except (TypeError, ValueError):
        raise InputError(f"min_share must be a number >= 0, not {min_share!r}", field="min_share") from None
    if not math.isfinite(value) or value < 0:
        raise InputError(f"min_share must be a number >= 0, not {min_share!r}", field="min_share")
    return value


# ---------------------------------------------------------------------------
# Queen adjacency
# ---------------------------------------------------------------------------


def _metric(frame: gpd.GeoDataFrame | gpd.GeoSeries) -> gpd.GeoSeries:
    """Geometry in metres (EPSG:27700 unless already metric), invalid shapes repaired."""
    geometry = frame.geometry if isinstance(frame, gpd.GeoDataFrame) else frame
    if geometry.crs is None:
        raise InputError("polygons have no coordinate reference system (expected EPSG:4326)", field="geometry")
    units = geometry.crs.axis_info[0].unit_name if geometry.crs.axis_info else ""
    if geometry.crs.is_geographic or units not in ("metre", "meter"):
        geometry = geometry.to_crs(METRIC_CRS)
    invalid = ~geometry.is_valid.to_numpy()
    if invalid.any():
        values = geometry.values.copy()
        values[invalid] = shapely.make_valid(values[invalid])
        geometry = gpd.GeoSeries(values, index=geometry.index, crs=geometry.crs)
    return geometry


def _touching_pairs(geoms: np.ndarray, tolerance_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Positions ``i < j`` of polygons touching at an edge or a point (within ``tolerance_m``)."""
    if len(geoms) == 0:
        return np.empty(0, dtype=int), np.empty(0, dtype=int)
    tree = shapely.STRtree(geoms)
    if tolerance_m > 0:
        left, right = tree.query(geoms, predicate="dwithin", distance=tolerance_m)
    else:
        # "intersects" (not "touches") so overlapping slivers still count as neighbours.
        left, right = tree.query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    order = np.lexsort((right, left))
    return left[order], right[order]


def lsoa_adjacency(lsoas: gpd.GeoDataFrame, *, tolerance_m: float = TOLERANCE_M) -> list[tuple[str, str]]:
    """Queen-contiguous pairs of LSOAs.

    Two polygons are neighbours when they share an edge or only a corner,
    or when their boundaries come within ``tolerance_m`` metres (to bridge
    slivers left by generalisation).

    Parameters
    ----------
    lsoas
        Polygons indexed by LSOA code, in any CRS (geographic CRSs are
        projected to EPSG:27700 to measure the tolerance in metres).
    tolerance_m
        Gap in metres still counted as touching; 0 means exact touching.

    Returns
    -------
    list of (str, str)
        Sorted pairs ``(a, b)`` with ``a < b``.
    """
    geometry = _metric(lsoas)
    left, right = _touching_pairs(geometry.values, float(tolerance_m))
    codes = np.asarray(geometry.index.astype(str))
    return sorted({tuple(sorted((codes[i], codes[j]))) for i, j in zip(left, right, strict=True)})


# ---------------------------------------------------------------------------
# Practice sites in metres
# ---------------------------------------------------------------------------


def site_xy(practices: pd.DataFrame) -> np.ndarray:
    """Site coordinates in metres (EPSG:27700), one row per practice (columns ``lon``, ``lat``)."""
    points = gpd.GeoSeries(gpd.points_from_xy(practices["lon"].astype(float), practices["lat"].astype(float)),
                           crs="EPSG:4326").to_crs(METRIC_CRS)
    return np.column_stack([points.x.to_numpy(), points.y.to_numpy()])
