"""Hub polygons: each hub's territory dissolved into one shape, for maps and GIS files."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from pcn_planner.core.errors import InputError
from pcn_planner.geography.territories import METRIC_CRS, site_xy

__all__ = ["SITE_BUFFER_M", "hub_geometry"]

#: Radius of the stand-in polygon drawn around the sites of a hub that owns
#: no LSOA at all, metres.
SITE_BUFFER_M = 500.0


def hub_geometry(atlas: Any, territory: pd.DataFrame, assignment: Mapping[str, Hashable]) -> gpd.GeoDataFrame:
    """Dissolve each hub's territory into one (multi)polygon.

    A hub whose practices own no LSOA gets a stand-in: the union of
    :data:`SITE_BUFFER_M` discs around its sites, flagged ``has_territory=False``.

    Parameters
    ----------
    atlas
        The atlas the territory was built from (LSOA polygons and practice sites).
    territory
        From :func:`territories`.
    assignment
        practice_code -> hub_id (dict, Series, or a plan frame).

    Returns
    -------
    geopandas.GeoDataFrame
        Indexed by ``hub_id`` (sorted), EPSG:4326, with columns
        ``practices`` (count), ``practice_codes`` (space-separated),
        ``n_lsoas``, ``has_territory``, ``area_km2`` and ``geometry``.

    Raises
    ------
    InputError
        If the assignment names a practice the atlas does not have.
    """
    plan = _as_assignment(assignment)
    unknown = sorted(c for c in plan if c not in atlas.practices.index)
    if unknown:
        raise InputError(f"{len(unknown)} practice code(s) not in the atlas: {', '.join(unknown[:10])}",
                         field="practice_code")
    owned = territory[territory["owned"] & territory["practice_code"].isin(list(plan))]
    pieces = gpd.GeoDataFrame(
        {"hub_id": [plan[c] for c in owned["practice_code"]]},
        geometry=atlas.lsoas.geometry.reindex(owned.index).to_numpy(),
        crs=atlas.lsoas.crs,
    ).to_crs(METRIC_CRS)
    rows = []
    for hub in _sorted_hubs(plan.values()):
        codes = sorted(c for c, h in plan.items() if h == hub)
        shapes = pieces.geometry[(pieces["hub_id"] == hub).to_numpy()].to_numpy()
        has_territory = len(shapes) > 0
        if has_territory:
            shape = shapely.union_all(shapes)
        else:
            sites = site_xy(atlas.practices.loc[codes])
            shape = shapely.union_all(shapely.buffer(shapely.points(sites), SITE_BUFFER_M))
        if not shape.is_valid:
            shape = shapely.make_valid(shape)
        rows.append({"hub_id": hub, "practices": len(codes), "practice_codes": " ".join(codes),
                     "n_lsoas": len(shapes), "has_territory": has_territory,
                     "area_km2": round(shape.area / 1e6, 6), "geometry": shape})
    frame = gpd.GeoDataFrame(rows, columns=["hub_id", "practices", "practice_codes", "n_lsoas", "has_territory",
                                            "area_km2", "geometry"], geometry="geometry", crs=METRIC_CRS)
    return frame.set_index("hub_id").to_crs("EPSG:4326")


def _as_assignment(assignment: Mapping[str, Hashable] | pd.Series | pd.DataFrame) -> dict[str, Hashable]:
    """practice_code -> hub_id from a dict, a Series, or a plan frame (practice_code, hub_id)."""
    if isinstance(assignment, pd.DataFrame):
        missing = {"practice_code", "hub_id"} - set(assignment.columns)
        if missing:
            raise InputError(f"a plan needs the columns practice_code, hub_id (missing {', '.join(sorted(missing))})",
                             field=sorted(missing)[0])
        assignment = pd.Series(assignment["hub_id"].to_numpy(), index=assignment["practice_code"].to_numpy())
    items = assignment.items()
    result: dict[str, Hashable] = {}
    for code, hub in items:
        if hub is None or (not isinstance(hub, str) and pd.isna(hub)):
            raise InputError(f"practice {code} has no hub_id", field="hub_id")
        result[str(code)] = hub.item() if hasattr(hub, "item") else hub
    return result


def _sorted_hubs(hubs: Iterable[Hashable]) -> list[Hashable]:
    unique: set[Any] = set(hubs)  # ids of one type sort; a mix may raise TypeError
    try:
        return sorted(unique)
    except TypeError:  # mixed id types: order by text, stable across runs
        return sorted(unique, key=lambda h: (type(h).__name__, str(h)))
