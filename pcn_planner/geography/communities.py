"""Natural communities: LAD, town, sub-ICB, acute catchment and current PCN.

Each LSOA and each practice gets the communities it belongs to. Hubs are then
judged on how well they keep these together (see :mod:`pcn_planner.scoring.scorecard`).

- **LAD** and **town** come from the atlas (town = built-up-area subdivision,
  else built-up area, else ``Rural <LAD>``). A practice takes those of the LSOA
  that contains its site.
- **Sub-ICB** of an LSOA: the sub-ICB location whose practices hold most of its
  patients (sub-ICBs are practice groupings, not areas).
- **Acute catchment** of an LSOA: its nearest acute hospital site by car. The
  real road times are used where the site has a column in the travel matrix,
  and the calibrated model (with the fitted hospital-trip overhead, so the two
  sources are on one scale) where it has none, e.g. Queen's Hospital, Burton.
  County Hospital, Stafford is missing from the raw data, so its catchment
  falls to its neighbours (mostly Royal Stoke).
- **Current PCN** of a practice: from the October 2025 practice map.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from pcn_planner.geography.travel import TravelModel

if TYPE_CHECKING:
    from pcn_planner.data.atlas import Atlas

COMMUNITY_KINDS = ("lad", "town", "catchment")


def acute_catchment(atlas: Atlas, model: TravelModel) -> pd.DataFrame:
    """Nearest acute site of every LSOA by car.

    Parameters
    ----------
    atlas
        The atlas; every row of ``atlas.hospitals`` is treated as an acute site.
    model
        Calibrated travel model, used (with its fitted hospital overhead) for
        sites that have no column in the real matrix.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``lsoa11cd``: ``catchment`` (site code), ``catchment_name``,
        ``minutes`` and ``source`` (``matrix`` or ``model``).
    """
    lsoas, sites = atlas.lsoas, atlas.hospitals
    hospital_model = replace(model, overhead_minutes=model.fitted_overhead_minutes)
    modelled = hospital_model.minutes(
        lsoas["centroid_lat"].to_numpy(float)[:, None], lsoas["centroid_lon"].to_numpy(float)[:, None],
        sites["lat"].to_numpy(float)[None, :], sites["lon"].to_numpy(float)[None, :],
    )
    times = pd.DataFrame(modelled, index=lsoas.index, columns=sites.index)
    source = pd.DataFrame("model", index=lsoas.index, columns=sites.index)
    real = atlas.hospital_travel.reindex(index=lsoas.index, columns=sites.index)
    has_real = real.notna()
    times = times.mask(has_real, real)
    source = source.mask(has_real, "matrix")
    # ties go to the first site in code order, which is deterministic
    best = times.to_numpy().argmin(axis=1)
    codes = times.columns.to_numpy()[best]
    return pd.DataFrame({
        "catchment": codes,
        "catchment_name": sites.loc[codes, "name"].to_numpy(),
        "minutes": times.to_numpy()[np.arange(len(times)), best],
        "source": source.to_numpy()[np.arange(len(times)), best],
    }, index=lsoas.index.rename("lsoa11cd"))


def lsoa_communities(atlas: Atlas, catchment: pd.DataFrame) -> pd.DataFrame:
    """LAD, town, sub-ICB and acute catchment of every LSOA.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``lsoa11cd``: ``lad``, ``town``, ``sub_icb`` (NA where no
        practice of the region has patients there), ``catchment``.
    """
    held = atlas.patients.merge(atlas.practices[["practice_code", "sub_icb"]], on="practice_code")
    by_sub = held.groupby(["lsoa11cd", "sub_icb"], as_index=False)["patients"].sum()
    by_sub = by_sub.sort_values(["lsoa11cd", "patients", "sub_icb"], ascending=[True, False, True])
    sub_icb = by_sub.drop_duplicates("lsoa11cd").set_index("lsoa11cd")["sub_icb"]
    out = pd.DataFrame({
        "lad": atlas.lsoas["lad"],
        "town": atlas.lsoas["town"],
        "sub_icb": atlas.lsoas.index.map(sub_icb),
        "catchment": catchment.reindex(atlas.lsoas.index)["catchment"],
    }, index=atlas.lsoas.index.rename("lsoa11cd"))
    return out


def practice_communities(atlas: Atlas, lsoa_comm: pd.DataFrame) -> pd.DataFrame:
    """LAD, town, sub-ICB, acute catchment and current PCN of every practice.

    A practice takes the LAD, town and catchment of the LSOA containing its site.
    """
    p = atlas.practices
    site = p["site_lsoa11"]
    return pd.DataFrame({
        "lad": site.map(lsoa_comm["lad"]).fillna(p["lad"]),
        "town": site.map(lsoa_comm["town"]).fillna(p["town"]),
        "sub_icb": p["sub_icb"],
        "catchment": site.map(lsoa_comm["catchment"]),
        "pcn_code": p["pcn_code"],
        "pcn_name": p["pcn_name"],
    }, index=p.index.rename("practice_code"))


def patients_by_community(patients: pd.DataFrame, lsoa_comm: pd.DataFrame, kind: str) -> pd.DataFrame:
    """Practice x community table of resident patients (where each practice's patients live).

    Parameters
    ----------
    patients
        Long matrix ``practice_code, lsoa11cd, patients``.
    lsoa_comm
        From :func:`lsoa_communities`.
    kind
        One of ``lad``, ``town``, ``catchment``, ``sub_icb``.
    """
    frame = patients.assign(community=patients["lsoa11cd"].map(lsoa_comm[kind]).fillna("(unknown)"))
    return frame.pivot_table(index="practice_code", columns="community", values="patients",
                             aggfunc="sum", fill_value=0).sort_index().sort_index(axis=1)
