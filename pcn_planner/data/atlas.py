"""The atlas: every table the planner reads, loaded and validated together.

:func:`load_atlas` reads a ``data/`` folder written by ``pcn-planner data
build`` (by default the embedded Staffordshire and Stoke-on-Trent data) and
checks it: duplicate codes, coordinates, list sizes, unknown LSOA or practice
codes, missing columns, types, encodings and an empty region all raise an
:class:`~pcn_planner.core.errors.InputError` naming file, row and field.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import geopandas as gpd
import pandas as pd

from pcn_planner.core.errors import InputError
from pcn_planner.core.tables import Column, first_row_where, read_table

#: England with a margin: coordinates outside are a data error, not a place.
LAT_RANGE = (49.8, 55.9)
LON_RANGE = (-6.5, 1.9)

PRACTICE_COLUMNS = [
    Column("practice_code", unique=True),
    Column("name"),
    Column("postcode", required=False),
    Column("lat", "float", minimum=LAT_RANGE[0], maximum=LAT_RANGE[1]),
    Column("lon", "float", minimum=LON_RANGE[0], maximum=LON_RANGE[1]),
    Column("list_size", "int", above=0),
    Column("patients_mapped", "int", minimum=0),
    Column("pcn_code", required=False),
    Column("pcn_name", required=False),
    Column("sub_icb_code", required=False),
    Column("sub_icb", required=False),
    Column("icb_code", required=False),
    Column("site_lsoa11", required=False),
    Column("lad", required=False),
    Column("town", required=False),
    Column("contract_type", required=False),
    Column("dispensing", "bool", required=False),
    Column("rurality", required=False),
    Column("weighted_list", "float", required=False, minimum=0),
    Column("locum_allowances", "float", required=False, minimum=0),
    Column("seniority", "float", required=False, minimum=0),
    Column("cqc_rating", required=False),
    Column("cqc_year", "int", required=False),
]
LSOA_COLUMNS = [
    Column("lsoa11cd", unique=True),
    Column("lsoa11nm"),
    Column("lad"),
    Column("town"),
    Column("imd_rank", "int", required=False, minimum=1),
    Column("imd_decile", "int", required=False, minimum=1, maximum=10),
    Column("centroid_lat", "float", minimum=LAT_RANGE[0], maximum=LAT_RANGE[1]),
    Column("centroid_lon", "float", minimum=LON_RANGE[0], maximum=LON_RANGE[1]),
    Column("residents_2021", "int", required=False, minimum=0),
    Column("patients", "int", minimum=0),
]
PATIENT_COLUMNS = [
    Column("practice_code"),
    Column("lsoa11cd"),
    Column("patients", "int", above=0),
]
HOSPITAL_COLUMNS = [
    Column("site_code", unique=True),
    Column("name"),
    Column("lat", "float", minimum=LAT_RANGE[0], maximum=LAT_RANGE[1]),
    Column("lon", "float", minimum=LON_RANGE[0], maximum=LON_RANGE[1]),
    Column("in_travel_matrix", "bool"),
]

#: Files of an atlas folder, relative to it.
FILES = {
    "practices": "practices.csv",
    "lsoas": "lsoa/lsoa_attributes.csv",
    "polygons": "lsoa/lsoa11.geojson",
    "patients": "lsoa/patients.csv",
    "hospitals": "hospitals.csv",
    "travel": "lsoa/hospital_travel_minutes.csv",
}


def embedded_data_dir() -> Path:
    """The embedded SSOT atlas: installed beside the package, or the repo's ``data/``."""
    repo = Path(__file__).resolve().parents[2]  # pcn_planner/data/atlas.py -> the repository root
    installed = Path(sys.prefix) / "share" / "pcn-planner" / "data"
    for candidate in (repo / "data", installed):
        if (candidate / FILES["practices"]).is_file():
            return candidate
    raise InputError(
        "the embedded data folder was not found; run 'pcn-planner data build' or pass a path",
        file=str(repo / "data"),
    )


@dataclass(frozen=True, eq=False)
class Atlas:
    """Practices, LSOAs, the patient matrix and hospitals of one region.

    Read one with :func:`load_atlas`; :func:`~pcn_planner.geography.region.build_region`
    derives everything else from it.

    Attributes
    ----------
    practices
        One row per practice, indexed by ``practice_code``; point geometry at the site.
    lsoas
        One row per LSOA 2011, indexed by ``lsoa11cd``; polygon geometry.
    patients
        Long practice x LSOA matrix: ``practice_code, lsoa11cd, patients``.
    hospitals
        Acute hospital sites, indexed by ``site_code``; point geometry.
    hospital_travel
        Road minutes from each LSOA (rows) to each site with a column (columns).
    path
        Folder the atlas was read from.
    manifest
        The build manifest (input hashes, code version), if present.
    """

    practices: gpd.GeoDataFrame
    lsoas: gpd.GeoDataFrame
    patients: pd.DataFrame
    hospitals: gpd.GeoDataFrame
    hospital_travel: pd.DataFrame
    path: Path
    manifest: dict = field(default_factory=dict)

    @cached_property
    def data_hash(self) -> str:
        """SHA-256 over the atlas files, the identity of the inputs in run manifests."""
        digest = hashlib.sha256()
        for rel in sorted(FILES.values()):
            digest.update(rel.encode())
            digest.update((self.path / rel).read_bytes())
        return digest.hexdigest()

    @property
    def total_patients(self) -> int:
        """Registered patients over all practices."""
        return int(self.practices["list_size"].sum())

    def summary(self) -> pd.DataFrame:
        """Headline counts: practices, patients, PCNs, sub-ICBs, LSOAs, unmapped patients."""
        p = self.practices
        rows = [
            ("practices", len(p)),
            ("registered patients", self.total_patients),
            ("patients placed in an LSOA", int(p["patients_mapped"].sum())),
            ("current PCNs", p["pcn_code"].replace("", pd.NA).nunique()),
            ("sub-ICB locations", p["sub_icb"].replace("", pd.NA).nunique()),
            ("local authority districts (practice sites)", p["lad"].nunique()),
            ("LSOA 2011 areas", len(self.lsoas)),
            ("LSOAs with patients of these practices", int((self.lsoas["patients"] > 0).sum())),
            ("hospital sites", len(self.hospitals)),
        ]
        return pd.DataFrame(rows, columns=["measure", "value"]).set_index("measure")

    def pcn_table(self) -> pd.DataFrame:
        """Current PCNs with their practices and patients, largest first."""
        return (
            self.practices.groupby(["pcn_code", "pcn_name"], as_index=False)
            .agg(sub_icb=("sub_icb", lambda s: "; ".join(sorted(set(s)))),
                 practices=("name", "size"), patients=("list_size", "sum"))
            .sort_values(["patients", "pcn_code"], ascending=[False, True])
            .reset_index(drop=True)
        )

    def __repr__(self) -> str:
        return (
            f"<Atlas {self.path}: {len(self.practices)} practices, "
            f"{self.total_patients:,} patients, {len(self.lsoas):,} LSOAs>"
        )


def _points(frame: pd.DataFrame, lat: str = "lat", lon: str = "lon") -> gpd.GeoSeries:
    return gpd.GeoSeries(gpd.points_from_xy(frame[lon], frame[lat]), index=frame.index, crs="EPSG:4326")


def _read_polygons(path: Path) -> gpd.GeoDataFrame:
    if not path.is_file():
        raise InputError("file not found", file=str(path))
    try:
        frame = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several types for a broken file
        raise InputError(f"is not readable GeoJSON ({exc})", file=FILES["polygons"]) from exc
    if "lsoa11cd" not in frame.columns:
        raise InputError("missing property lsoa11cd", file=FILES["polygons"], field="lsoa11cd")
    return frame.set_crs("EPSG:4326", allow_override=True)


def load_atlas(path: str | Path | None = None) -> Atlas:
    """Load and validate an atlas folder.

    Parameters
    ----------
    path
        Folder written by ``pcn-planner data build``. ``None`` loads the
        embedded Staffordshire and Stoke-on-Trent atlas, from any working directory.

    Returns
    -------
    Atlas

    Raises
    ------
    InputError
        For the first problem found, naming file, row and field.

    See Also
    --------
    build_region : derive territories, travel, communities and risk from the atlas.

    Examples
    --------
    >>> import pcn_planner as pp
    >>> atlas = pp.load_atlas()          # the embedded Staffordshire and Stoke-on-Trent data
    >>> atlas
    <Atlas .../data: 141 practices, 1,210,283 patients, 2,318 LSOAs>
    >>> atlas.total_patients
    1210283
    >>> other = pp.load_atlas("atlas/my-icb")   # a folder from `pcn-planner data build`  # doctest: +SKIP
    """
    root = Path(path) if path is not None else embedded_data_dir()
    if not root.is_dir():
        raise InputError("atlas folder not found", file=str(root))
    files = {k: root / v for k, v in FILES.items()}

    practices = read_table(files["practices"], PRACTICE_COLUMNS, label=FILES["practices"])
    if practices.empty:
        raise InputError("holds no practices: the region is empty", file=FILES["practices"], row=2)
    over = practices["patients_mapped"] > practices["list_size"]
    if over.any():
        raise InputError("patients_mapped is larger than list_size", file=FILES["practices"],
                         row=first_row_where(over), field="patients_mapped")
    practices = gpd.GeoDataFrame(practices, geometry=_points(practices)).set_index("practice_code", drop=False)
    practices.index.name = None

    lsoas = read_table(files["lsoas"], LSOA_COLUMNS, label=FILES["lsoas"])
    if lsoas.empty:
        raise InputError("holds no LSOAs: the region is empty", file=FILES["lsoas"], row=2)
    polygons = _read_polygons(files["polygons"])
    known = set(lsoas["lsoa11cd"])
    stray = ~polygons["lsoa11cd"].isin(known)
    if stray.any():
        raise InputError(f"unknown LSOA code '{polygons['lsoa11cd'][stray].iloc[0]}' "
                         f"(not in {FILES['lsoas']})", file=FILES["polygons"],
                         row=int(stray.to_numpy().argmax()) + 1, field="lsoa11cd")
    geometry = polygons.set_index("lsoa11cd").geometry
    lsoas = gpd.GeoDataFrame(lsoas, geometry=lsoas["lsoa11cd"].map(geometry).values, crs="EPSG:4326")
    no_shape = lsoas.geometry.isna()
    if no_shape.any():
        raise InputError(f"LSOA '{lsoas['lsoa11cd'][no_shape].iloc[0]}' has no polygon in {FILES['polygons']}",
                         file=FILES["lsoas"], row=first_row_where(no_shape), field="lsoa11cd")
    lsoas = lsoas.set_index("lsoa11cd", drop=False)
    lsoas.index.name = None

    patients = read_table(files["patients"], PATIENT_COLUMNS, extra=False, label=FILES["patients"])
    for column, valid, what in (
        ("lsoa11cd", known, "LSOA code"),
        ("practice_code", set(practices["practice_code"]), "practice code"),
    ):
        unknown = ~patients[column].isin(valid)
        if unknown.any():
            raise InputError(f"unknown {what} '{patients[column][unknown].iloc[0]}'",
                             file=FILES["patients"], row=first_row_where(unknown), field=column)
    dup = patients.duplicated(["practice_code", "lsoa11cd"])
    if dup.any():
        raise InputError("duplicate practice and LSOA pair", file=FILES["patients"],
                         row=first_row_where(dup), field="lsoa11cd")
    sums = patients.groupby("practice_code")["patients"].sum()
    mismatch = practices["practice_code"].map(sums).fillna(0).astype(int) != practices["patients_mapped"]
    if mismatch.any():
        code = practices.index[mismatch.to_numpy().argmax()]
        raise InputError(f"patients_mapped {practices.at[code, 'patients_mapped']} does not match "
                         f"the {int(sums.get(code, 0))} patients in {FILES['patients']}",
                         file=FILES["practices"], row=first_row_where(mismatch), field="patients_mapped")

    hospitals = read_table(files["hospitals"], HOSPITAL_COLUMNS, label=FILES["hospitals"])
    hospitals = gpd.GeoDataFrame(hospitals, geometry=_points(hospitals)).set_index("site_code", drop=False)
    hospitals.index.name = None

    site_columns = [c for c in hospitals.index if bool(hospitals.at[c, "in_travel_matrix"])]
    travel = read_table(
        files["travel"],
        [Column("lsoa11cd", unique=True), *[Column(c, "float", required=False, minimum=0) for c in site_columns]],
        extra=False, label=FILES["travel"],
    )
    unknown = ~travel["lsoa11cd"].isin(known)
    if unknown.any():
        raise InputError(f"unknown LSOA code '{travel['lsoa11cd'][unknown].iloc[0]}'",
                         file=FILES["travel"], row=first_row_where(unknown), field="lsoa11cd")
    travel = travel.set_index("lsoa11cd")
    travel.index.name = None

    manifest_path = root / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.is_file() else {}
    return Atlas(practices=practices, lsoas=lsoas, patients=patients, hospitals=hospitals,
                 hospital_travel=travel, path=root.resolve(), manifest=manifest)
