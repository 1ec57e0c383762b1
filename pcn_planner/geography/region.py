"""A region made ready for planning: the atlas plus every derived layer.

:func:`build_region` turns an :class:`~pcn_planner.data.atlas.Atlas` into a
:class:`Region`: territories and the practice graph, the calibrated travel
model and the LSOA x practice travel matrix, natural communities, the risk
index, and dense arrays (in one fixed practice order) that the scorecard and
the solvers share. Build it once per atlas; scoring a plan is then cheap.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd

from pcn_planner.core.files import sha256_file
from pcn_planner.data.atlas import Atlas, load_atlas
from pcn_planner.geography.communities import (
    COMMUNITY_KINDS,
    acute_catchment,
    lsoa_communities,
    patients_by_community,
    practice_communities,
)
from pcn_planner.geography.graph import practice_graph
from pcn_planner.geography.risk import RiskResult, read_risk_override_csv, risk_index
from pcn_planner.geography.territories import territories
from pcn_planner.geography.travel import CalibrationReport, TravelModel, calibrate_on_atlas, read_travel_matrix_csv


@dataclass(frozen=True)
class RegionInputs:
    """Every input that shaped a region's scores, so that a run can rebuild exactly the same region.

    Attributes
    ----------
    atlas_path, atlas_sha256
        The atlas folder and the hash of its tables.
    min_share
        Territory threshold (see :func:`~pcn_planner.geography.territories.territories`).
    travel_matrix, travel_matrix_sha256
        A user travel matrix file and its hash, or ``None``. A matrix given as a
        table in Python has no path (``"<table>"``) and cannot be re-read.
    risk_file, risk_file_sha256
        A user risk file and its hash, or ``None`` (``"<table>"`` when given in Python).
    calibration_seed
        Seed of the travel model's held-out split.
    """

    atlas_path: str
    atlas_sha256: str
    min_share: float = 0.2
    travel_matrix: str | None = None
    travel_matrix_sha256: str | None = None
    risk_file: str | None = None
    risk_file_sha256: str | None = None
    calibration_seed: int = 0

    def to_dict(self) -> dict[str, object]:
        """Plain data for a run manifest."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> RegionInputs:
        """Read back :meth:`to_dict` (unknown keys are ignored, so older manifests still load)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})  # type: ignore[arg-type]


@dataclass(frozen=True, eq=False)
class Region:
    """Everything the scorecard and the solvers need about one region.

    Made by :func:`build_region`; build it once and pass it to
    :func:`~pcn_planner.scoring.scorecard.score_plan`, :func:`~pcn_planner.optimise.optimise`
    and :meth:`Plan.on <pcn_planner.model.plan.Plan.on>`.

    Attributes
    ----------
    atlas
        The loaded data.
    graph
        Practice graph (nodes: practice codes; ``edge_kind`` on edges).
    territory
        LSOA ownership table from :func:`pcn_planner.geography.territories.territories`.
    travel_model, calibration
        The calibrated car model and its held-out error.
    travel
        Minutes from each LSOA with patients (rows) to each practice site (columns).
    travel_source
        ``"model"`` or the path of a user-supplied matrix.
    catchment, lsoa_comm, practice_comm
        Acute catchments and community tables (:mod:`pcn_planner.geography.communities`).
    risk
        Sustainability risk index (:mod:`pcn_planner.geography.risk`).
    codes
        Practice codes in the fixed order of every array below.
    population
        List size of each practice.
    patients
        Practice x LSOA patient counts (columns in ``travel.index`` order).
    travel_cost
        ``travel_cost[p, b]``: patient-minutes if practice ``p``'s patients
        travel to the site of practice ``b``.
    community
        Per kind (``lad``, ``town``, ``catchment``): practice x community
        resident patients, with the community names in ``community_names``.
    """

    atlas: Atlas
    graph: nx.Graph
    territory: pd.DataFrame
    travel_model: TravelModel
    calibration: CalibrationReport | None
    travel: pd.DataFrame
    travel_source: str
    catchment: pd.DataFrame
    lsoa_comm: pd.DataFrame
    practice_comm: pd.DataFrame
    risk: RiskResult
    min_share: float
    inputs: RegionInputs
    codes: tuple[str, ...] = field(repr=False)
    population: np.ndarray = field(repr=False)
    patients: np.ndarray = field(repr=False)
    travel_cost: np.ndarray = field(repr=False)
    community: dict[str, np.ndarray] = field(repr=False)
    community_names: dict[str, list[str]] = field(repr=False)

    @property
    def index(self) -> dict[str, int]:
        """Position of each practice code in the arrays."""
        return {c: i for i, c in enumerate(self.codes)}

    def positions(self, members: list[str] | tuple[str, ...]) -> np.ndarray:
        """Array positions of the given practice codes."""
        idx = self.index
        return np.array([idx[m] for m in members], dtype=int)

    def __repr__(self) -> str:
        g = self.graph
        return (f"<Region {len(self.codes)} practices, {int(self.population.sum()):,} patients, "
                f"{g.number_of_edges()} graph edges, travel from {self.travel_source}>")


#: The path recorded for an input given as a table in Python rather than as a file.
TABLE = "<table>"


def frame_sha256(frame: pd.DataFrame) -> str:
    """SHA-256 of a table's contents (as sorted CSV), to record an input given in Python."""
    import hashlib

    text = frame.sort_index(axis=0).sort_index(axis=1).to_csv(lineterminator="\n")
    return hashlib.sha256(text.encode()).hexdigest()


def _file_hash(path: str | Path) -> str | None:
    return sha256_file(path) if Path(path).is_file() else None


def build_region(
    atlas: Atlas | str | Path | None = None,
    *,
    min_share: float = 0.2,
    travel_matrix: str | Path | pd.DataFrame | None = None,
    risk_override: str | Path | pd.Series | None = None,
    seed: int = 0,
) -> Region:
    """Derive every planning layer of a region from its atlas.

    Parameters
    ----------
    atlas
        An :class:`Atlas`, an atlas folder, or ``None`` for the embedded SSOT data.
    min_share
        Territory threshold: the region's practices must hold at least this
        share of an LSOA's Census 2021 residents for it to be owned.
    travel_matrix
        Optional LSOA -> practice minutes (CSV path or DataFrame, long
        ``lsoa11cd,practice_code,minutes`` or wide). It replaces the model for
        the pairs it gives; the model fills the rest.
    risk_override
        Optional per-practice risk (CSV ``practice_code,risk`` or a Series in [0, 1]).
    seed
        Seed of the travel calibration's held-out split.

    Returns
    -------
    Region

    Raises
    ------
    InputError
        If the atlas folder, the travel matrix or the risk file is missing or
        invalid (naming file, row and field).

    Notes
    -----
    Practices that own no territory are linked to their nearest neighbours in
    the practice graph instead; an INFO log record (``pcn_planner.geography.graph``)
    counts them, and ``region.graph.graph["report"]`` lists them.

    Examples
    --------
    >>> import pcn_planner as pp
    >>> region = pp.build_region()       # the embedded SSOT data; about a second
    >>> region
    <Region 141 practices, 1,210,283 patients, 364 graph edges, travel from model>
    >>> region = pp.build_region(pp.load_atlas(), travel_matrix="minutes.csv")  # doctest: +SKIP
    """
    if not isinstance(atlas, Atlas):
        atlas = load_atlas(atlas)
    codes = tuple(sorted(atlas.practices.index))
    practices = atlas.practices.loc[list(codes)]

    territory = territories(atlas, min_share=min_share)
    graph = practice_graph(atlas, min_share=min_share)

    model, calibration = calibrate_on_atlas(atlas, rng=seed)
    used = sorted(set(atlas.patients["lsoa11cd"]))
    origins = pd.DataFrame({
        "lsoa11cd": used,
        "lat": atlas.lsoas.loc[used, "centroid_lat"].to_numpy(float),
        "lon": atlas.lsoas.loc[used, "centroid_lon"].to_numpy(float),
    })
    travel = model.matrix(origins, practices[["practice_code", "lat", "lon"]].reset_index(drop=True),
                          origin_id="lsoa11cd", dest_id="practice_code")
    source = "model"
    matrix_path = matrix_hash = None
    if travel_matrix is not None:
        if isinstance(travel_matrix, pd.DataFrame):
            given = travel_matrix
            source = "user matrix"
            matrix_path, matrix_hash = TABLE, frame_sha256(travel_matrix)
        else:
            matrix_path, matrix_hash = str(Path(travel_matrix).resolve()), _file_hash(travel_matrix)
            given = read_travel_matrix_csv(travel_matrix, known_origins=set(atlas.lsoas.index),
                                           known_destinations=set(codes))
            source = str(travel_matrix)
        travel.update(given.reindex(index=travel.index, columns=travel.columns))

    catchment = acute_catchment(atlas, model)
    lsoa_comm = lsoa_communities(atlas, catchment)
    practice_comm = practice_communities(atlas, lsoa_comm)

    override = risk_override
    risk_path = risk_hash = None
    if isinstance(risk_override, (str, Path)):
        override = read_risk_override_csv(risk_override, list(codes))
        risk_path, risk_hash = str(Path(risk_override).resolve()), _file_hash(risk_override)
    elif risk_override is not None:
        risk_path, risk_hash = TABLE, frame_sha256(pd.DataFrame(risk_override))
    risk = risk_index(practices, override=override)

    dense = (atlas.patients.pivot_table(index="practice_code", columns="lsoa11cd", values="patients",
                                        aggfunc="sum", fill_value=0)
             .reindex(index=list(codes), columns=used, fill_value=0))
    patients = dense.to_numpy(dtype=float)
    travel_cost = patients @ travel.to_numpy(dtype=float)

    community, names = {}, {}
    for kind in COMMUNITY_KINDS:
        table = patients_by_community(atlas.patients, lsoa_comm, kind).reindex(index=list(codes), fill_value=0)
        community[kind] = table.to_numpy(dtype=float)
        names[kind] = list(table.columns)

    return Region(
        atlas=atlas, graph=graph, territory=territory, travel_model=model, calibration=calibration,
        travel=travel, travel_source=source, catchment=catchment, lsoa_comm=lsoa_comm,
        practice_comm=practice_comm, risk=risk, min_share=min_share,
        inputs=RegionInputs(atlas_path=str(Path(atlas.path).resolve()), atlas_sha256=atlas.data_hash,
                            min_share=float(min_share), travel_matrix=matrix_path,
                            travel_matrix_sha256=matrix_hash, risk_file=risk_path, risk_file_sha256=risk_hash,
                            calibration_seed=int(seed)),
        codes=codes,
        population=practices["list_size"].to_numpy(dtype=float), patients=patients,
        travel_cost=travel_cost, community=community, community_names=names,
    )
