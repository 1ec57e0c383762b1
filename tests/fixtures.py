"""Tiny hand-made regions whose metric values can be worked out on paper."""

from __future__ import annotations

from types import SimpleNamespace

import networkx as nx
import numpy as np
import pandas as pd

from pcn_planner.geography.region import Region, RegionInputs
from pcn_planner.geography.risk import RiskParams, RiskResult

CODES = ("A", "B", "C", "D")


def tiny_region() -> Region:
    """Four practices on a path A-B-C-D, three LSOAs.

    ============  =======  =======  =======  =======
    practice      A        B        C        D
    ============  =======  =======  =======  =======
    list size     20,000   15,000   25,000   40,000
    town (site)   Alpha    Alpha    Beta     Beta
    current PCN   P1       P1       P1       P2
    risk          0.5      0.1      0.2      0.1
    anchor        no       no       yes      yes
    ============  =======  =======  =======  =======

    Patients (practice x LSOA; every listed patient is placed)::

            L1      L2      L3
        A   20,000  0       0
        B   5,000   10,000  0
        C   0       5,000   20,000
        D   0       0       40,000

    Minutes from LSOA (rows) to practice sites (columns)::

            A   B   C   D
        L1  2   6   12  14
        L2  6   2   6   10
        L3  12  8   3   4

    LSOA towns: L1 Alpha, L2 Alpha, L3 Beta. IMD deciles: L1 1, L2 5, L3 9.
    Catchments: L1 H1, L2 H1, L3 H2.
    """
    practices = pd.DataFrame({
        "practice_code": CODES,
        "name": ["Alpha Surgery", "Bridge Practice", "Castle Medical", "Dale Health"],
        "list_size": [20_000, 15_000, 25_000, 40_000],
        "pcn_code": ["P1", "P1", "P1", "P2"],
        "pcn_name": ["PCN One", "PCN One", "PCN One", "PCN Two"],
        "lad": ["Alphashire", "Alphashire", "Betashire", "Betashire"],
        "town": ["Alpha", "Alpha", "Beta", "Beta"],
        "sub_icb": ["North", "North", "South", "South"],
        "postcode": ["AA1 1AA", "AA1 2AA", "BB1 1BB", "BB1 2BB"],
    }, index=list(CODES))
    lsoas = pd.DataFrame({"imd_decile": [1, 5, 9], "lad": ["Alphashire", "Alphashire", "Betashire"],
                          "town": ["Alpha", "Alpha", "Beta"]}, index=["L1", "L2", "L3"])
    hospitals = pd.DataFrame({"name": ["Hospital One", "Hospital Two"]}, index=["H1", "H2"])
    atlas = SimpleNamespace(practices=practices, lsoas=lsoas, hospitals=hospitals)
    patients = np.array([[20_000, 0, 0], [5_000, 10_000, 0], [0, 5_000, 20_000], [0, 0, 40_000]], float)
    travel = pd.DataFrame([[2, 6, 12, 14], [6, 2, 6, 10], [12, 8, 3, 4]], index=["L1", "L2", "L3"],
                          columns=list(CODES), dtype=float)
    graph = nx.path_graph(CODES)
    nx.set_edge_attributes(graph, "border", "edge_kind")
    comm_lsoa = pd.DataFrame({"lad": lsoas["lad"], "town": lsoas["town"], "sub_icb": ["North", "North", "South"],
                              "catchment": ["H1", "H1", "H2"]}, index=lsoas.index)
    comm_practice = practices[["lad", "town", "sub_icb", "pcn_code", "pcn_name"]].assign(
        catchment=["H1", "H1", "H2", "H2"])
    community, names = {}, {}
    for kind in ("lad", "town", "catchment"):
        labels = sorted(comm_lsoa[kind].unique())
        onehot = (comm_lsoa[kind].to_numpy()[:, None] == np.array(labels)[None, :]).astype(float)
        community[kind], names[kind] = patients @ onehot, labels
    table = pd.DataFrame({"risk": [0.5, 0.1, 0.2, 0.1], "high_risk": [True, False, False, False],
                          "anchor": [False, False, True, True]}, index=list(CODES))
    risk = RiskResult(table=table, weights_used={}, constant_terms=[], missing_report={}, scales={},
                      params=RiskParams())
    return Region(
        atlas=atlas, graph=graph, territory=pd.DataFrame(), travel_model=None, calibration=None,
        travel=travel, travel_source="test", catchment=pd.DataFrame(), lsoa_comm=comm_lsoa,
        practice_comm=comm_practice, risk=risk, min_share=0.2,
        inputs=RegionInputs(atlas_path="<tiny>", atlas_sha256="tiny"), codes=CODES,
        population=practices["list_size"].to_numpy(float), patients=patients,
        travel_cost=patients @ travel.to_numpy(), community=community, community_names=names,
    )
