"""The heuristic engine (solvers/) on small hand-made instances: invariants, side rules, determinism.

Every test checks invariants with its own code (networkx contiguity, band,
each practice once, K, the side rule at hand) rather than fixed label arrays,
so they survive changes to the search path. Determinism is tested with round
and run limits, never with time limits.
"""

from __future__ import annotations

import time

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pcn_planner.model.instance import Instance
from pcn_planner.model.problem import Problem
from pcn_planner.model.problem import Bounds
from solvers.columns import ColumnPool, HubRules
from solvers.heuristic import HeuristicResult, solve_heuristic, verify_plan
from solvers.master import solve_master, solve_master_lp

# Small, bounded runs: iteration limits decide the result, the time limit is only a safety net.
FAST = dict(time_limit=30.0, max_rounds=3, growth_runs=60, tree_starts=2, allocations=2)


def make_instance(n: int, edges: list[tuple[int, int]], pop: list[float], coords: np.ndarray, *, k: int | tuple,
                  lower: float, upper: float, area: list[str] | None = None, anchors: list[int] = (),
                  require_anchor: bool = False, keep_together: tuple = (), keep_apart: tuple = (),
                  locked: tuple = (), max_moved: int | None = None, baseline: list[int] | None = None,
                  risk: list[float] | None = None) -> Instance:
    """A frozen :class:`Instance` built by hand: cost = patients x distance to the base."""
    pop_a = np.asarray(pop, dtype=float)
    coords = np.asarray(coords, dtype=float)
    dist = np.sqrt(((coords[:, None, :] - coords[None, :, :]) ** 2).sum(axis=2))
    cost = pop_a[:, None] * (dist + 0.1) / pop_a.sum()
    k_min, k_max = (k, k) if isinstance(k, int) else k
    area_a = None if area is None else np.asarray(area)
    allowed = np.ones((n, n), dtype=bool) if area_a is None else area_a[:, None] == area_a[None, :]
    base = np.asarray(baseline if baseline is not None else [0] * n)
    moved = base[:, None] != base[None, :]
    anchor_a = np.zeros(n, dtype=bool)
    anchor_a[list(anchors)] = True
    risk_a = np.zeros(n) if risk is None else np.asarray(risk, dtype=float)
    problem = Problem(k=k if isinstance(k, int) else tuple(k), bounds=Bounds(min=int(lower), max=int(upper)),
                      nest="sub_icb" if area is not None else None)
    edge_a = np.array(sorted((min(u, v), max(u, v)) for u, v in set(map(tuple, edges))), dtype=int).reshape(-1, 2)
    return Instance(
        problem=problem, codes=tuple(f"P{i:02d}" for i in range(n)), population=pop_a, cost=cost,
        risk_coef=risk_a, risk_weight=1.0 if risk is not None else 0.0, allowed=allowed, anchors=anchor_a,
        edges=edge_a, k_min=k_min, k_max=k_max, lower=float(lower), upper=float(upper),
        keep_together=tuple(keep_together), keep_apart=tuple(keep_apart),
        locked=tuple(np.array(sorted(g), dtype=int) for g in locked), max_moved=max_moved, moved=moved,
        require_anchor=require_anchor, terms={"travel": cost}, norms={"travel": 1.0, "risk": 1.0},
        weights={"travel": 1.0, "risk": 0.0}, risk_raw=risk_a, area=area_a,
    )


def grid(rows: int, cols: int) -> tuple[list[tuple[int, int]], np.ndarray]:
    """Rook-adjacency grid edges and coordinates."""
    edges = []
    for r in range(rows):
        for c in range(cols):
            i = r * cols + c
            if c + 1 < cols:
                edges.append((i, i + 1))
            if r + 1 < rows:
                edges.append((i, i + cols))
    coords = np.array([(r, c) for r in range(rows) for c in range(cols)], dtype=float)
    return edges, coords


def grid_instance(rows: int = 4, cols: int = 4, pop: float | list[float] = 10.0, **kw) -> tuple[Instance, np.ndarray]:
    edges, coords = grid(rows, cols)
    n = rows * cols
    pops = [pop] * n if np.isscalar(pop) else list(pop)
    return make_instance(n, edges, pops, coords, **kw), coords


def solve(inst: Instance, coords: np.ndarray, seed: int = 0, labels=None, **kw) -> HeuristicResult:
    opts = {**FAST, **kw}
    return solve_heuristic(inst, coords, labels, rng=np.random.default_rng(seed), **opts)


def assert_invariants(inst: Instance, hubs: list[np.ndarray]) -> None:
    """Each practice once, K in range, every hub contiguous and in band (checked independently)."""
    assert hubs is not None
    seen = np.concatenate(hubs)
    assert sorted(seen.tolist()) == list(range(inst.n)), "each practice exactly once"
    assert inst.k_min <= len(hubs) <= inst.k_max
    graph = nx.Graph()
    graph.add_nodes_from(range(inst.n))
    graph.add_edges_from(map(tuple, inst.edges))
    for h in hubs:
        assert nx.is_connected(graph.subgraph(h.tolist())), f"hub {h.tolist()} not contiguous"
        pop = inst.population[h].sum()
        assert inst.lower <= pop <= inst.upper, f"hub {h.tolist()} has {pop}"
        assert np.isfinite(inst.hub_cost(h)[0])
    assert verify_plan(inst, hubs) == []


def hub_of(hubs: list[np.ndarray]) -> dict[int, int]:
    return {int(p): i for i, h in enumerate(hubs) for p in h}


# ---------------------------------------------------------------- basics
def test_grid_plan_is_feasible_and_reported() -> None:
    inst, coords = grid_instance(k=4, lower=30, upper=50)
    res = solve(inst, coords)
    assert_invariants(inst, res.hubs)
    assert res.reason is None
    assert res.objective == pytest.approx(inst.plan_cost(res.hubs))
    assert res.pool.n_valid > 0 and res.rounds >= 1 and res.log
    assert res.stopped_by in ("converged", "rounds", "time")


def test_k_range_is_respected() -> None:
    inst, coords = grid_instance(4, 4, k=(3, 5), lower=25, upper=60)
    res = solve(inst, coords)
    assert_invariants(inst, res.hubs)


def test_same_seed_same_plan() -> None:
    inst, coords = grid_instance(4, 4, pop=[8, 12, 9, 11, 10, 10, 7, 13, 12, 8, 10, 10, 9, 11, 10, 10], k=4,
                                 lower=30, upper=50)
    a = solve(inst, coords, seed=7)
    b = solve(inst, coords, seed=7)
    assert [h.tolist() for h in a.hubs] == [h.tolist() for h in b.hubs]
    assert a.objective == b.objective


def test_current_labels_are_a_seed() -> None:
    inst, coords = grid_instance(3, 4, k=3, lower=30, upper=50)
    labels = ["A", "A", "B", "B", "A", "A", "B", "B", "C", "C", "C", "C"]
    res = solve(inst, coords, labels=labels)
    assert_invariants(inst, res.hubs)
    assert "pcn" in res.pool.source_counts() or res.pool.n_valid > 0


# ------------------------------------------------------------ side rules
def test_keep_apart() -> None:
    # 0 and 1 are neighbours that a compact plan would pair
    inst, coords = grid_instance(3, 3, k=3, lower=30, upper=30, keep_apart=((0, 1), (4, 5)))
    res = solve(inst, coords)
    assert_invariants(inst, res.hubs)
    where = hub_of(res.hubs)
    assert where[0] != where[1] and where[4] != where[5]


def test_keep_together() -> None:
    # 0 and 8 are opposite corners: sharing a hub forces a long, thin one through the middle
    inst, coords = grid_instance(3, 3, k=2, lower=30, upper=60, keep_together=((0, 8),))
    res = solve(inst, coords)
    assert_invariants(inst, res.hubs)
    where = hub_of(res.hubs)
    assert where[0] == where[8]


def test_locked_hub_kept_exactly() -> None:
    inst, coords = grid_instance(4, 4, k=4, lower=30, upper=50, locked=((0, 1, 4),))
    res = solve(inst, coords)
    assert_invariants(inst, res.hubs)
    assert [0, 1, 4] in [h.tolist() for h in res.hubs]


def test_anchor_in_every_hub() -> None:
    anchors = [0, 3, 12, 15]  # the corners: four hubs, one corner each
    inst, coords = grid_instance(4, 4, k=4, lower=30, upper=60, anchors=anchors, require_anchor=True)
    res = solve(inst, coords)
    assert_invariants(inst, res.hubs)
    for h in res.hubs:
        assert np.isin(h, anchors).sum() >= 1


def test_nesting_via_allowed() -> None:
    area = ["W", "W", "E", "E"] * 4  # left two columns / right two columns
    inst, coords = grid_instance(4, 4, k=4, lower=30, upper=50, area=area)
    res = solve(inst, coords)
    assert_invariants(inst, res.hubs)
    for h in res.hubs:
        assert len({area[p] for p in h}) == 1


def test_max_moved() -> None:
    baseline = [0, 0, 1, 1] * 2 + [2, 2, 3, 3] * 2  # four 2x2 blocks
    inst, coords = grid_instance(4, 4, k=4, lower=30, upper=50, baseline=baseline, max_moved=0)
    res = solve(inst, coords)
    assert_invariants(inst, res.hubs)
    moved = sum(int(inst.moved[h, inst.hub_cost(h)[1]].sum()) for h in res.hubs)
    assert moved == 0


def test_risk_term_counts_in_objective() -> None:
    risk = [5.0 if p in (0, 1, 4, 5) else -1.0 for p in range(16)]
    inst, coords = grid_instance(4, 4, k=4, lower=30, upper=50, risk=risk)
    res = solve(inst, coords)
    assert_invariants(inst, res.hubs)
    assert res.objective == pytest.approx(inst.plan_cost(res.hubs))


# ------------------------------------------------------------- impossible
def test_impossible_count_reason() -> None:
    inst, coords = grid_instance(4, 4, k=2, lower=30, upper=50)  # 160 patients need >= 4 hubs
    t0 = time.perf_counter()
    res = solve(inst, coords)
    assert res.hubs is None and res.objective is None
    assert res.stopped_by == "infeasible"
    assert "Feasible range of K" in res.reason
    assert time.perf_counter() - t0 < 5


def test_impossible_granularity_ends_quickly_with_reason() -> None:
    # passes the counting check (60 patients, 2 hubs of 25-35) but no split works: 20 | 40 or 40 | 20
    inst = make_instance(3, [(0, 1), (1, 2)], [20, 20, 20], np.array([[0, 0], [0, 1], [0, 2]]), k=2,
                         lower=25, upper=35)
    t0 = time.perf_counter()
    res = solve(inst, np.array([[0, 0], [0, 1], [0, 2]]))
    assert res.hubs is None
    assert res.reason and "no feasible plan found" in res.reason
    assert time.perf_counter() - t0 < 10


def test_contradictory_rules_reason() -> None:
    inst, coords = grid_instance(3, 3, k=3, lower=30, upper=30, keep_together=((0, 1),), keep_apart=((0, 1),))
    res = solve(inst, coords)
    assert res.hubs is None
    assert "share" in res.reason


def test_locked_out_of_band_reason() -> None:
    inst, coords = grid_instance(4, 4, k=4, lower=30, upper=50, locked=((0, 1),))
    res = solve(inst, coords)
    assert res.hubs is None
    assert "locked hub" in res.reason


# -------------------------------------------------------- pool and master
def test_pool_dedupes_and_recosts_for_a_new_instance() -> None:
    inst, _ = grid_instance(3, 3, k=3, lower=30, upper=30)
    pool = ColumnPool()
    pool.bind(inst)
    assert pool.add([0, 1, 2], "t") == pool.add([2, 1, 0], "t")
    assert pool.add([0, 4, 8]) is None  # not contiguous
    assert len(pool) == 1
    wider, _ = grid_instance(3, 3, pop=20.0, k=3, lower=40, upper=80)
    pool.bind(wider)
    i = pool.index_of([0, 1, 2])
    assert pool.cost_of(i) == pytest.approx(wider.hub_cost(np.array([0, 1, 2]))[0])
    narrow, _ = grid_instance(3, 3, pop=20.0, k=3, lower=70, upper=80)
    pool.bind(narrow)
    assert pool.n_valid == 0  # 60 patients: out of band for this scenario


def test_rules_name_the_broken_rule() -> None:
    inst, _ = grid_instance(3, 3, k=3, lower=30, upper=30, keep_apart=((0, 1),), anchors=[4],
                            require_anchor=True)
    rules = HubRules(inst)
    assert "max" in rules.check([0, 3, 6, 7])
    assert "connected" in rules.check([0, 2, 4])
    assert "apart" in rules.check([0, 1, 4])
    assert "anchor" in rules.check([6, 7, 8])
    assert rules.check([3, 4, 5]) is None


def test_master_lp_duals_price_every_column() -> None:
    inst, coords = grid_instance(4, 4, k=4, lower=30, upper=50)
    res = solve(inst, coords)
    lp = solve_master_lp(inst, res.pool)
    assert lp.duals is not None
    idx = res.pool.valid_indices()
    rc = [res.pool.cost_of(i) - lp.duals[res.pool.members(i)].sum() - lp.mu for i in idx]
    assert min(rc) >= -1e-6  # dual feasible: LP optimum over the pool
    mip = solve_master(inst, res.pool, solver="cbc", time_limit=20)
    assert mip.status == "optimal"
    assert mip.objective >= lp.objective - 1e-6
    assert_invariants(inst, [res.pool.members(i) for i in mip.columns])


def test_a_solver_that_leaves_no_answer_is_no_solution(monkeypatch: pytest.MonkeyPatch) -> None:
    """CBC ended before writing its solution (a loaded machine): the phase has no plan, the run goes on."""
    import pulp

    inst, coords = grid_instance(4, 4, k=4, lower=30, upper=50)
    res = solve(inst, coords)

    def no_answer(self, solver=None, **kwargs):
        raise pulp.PulpSolverError("Pulp: Error while trying to execute, use msg=True for more details")

    monkeypatch.setattr(pulp.LpProblem, "solve", no_answer)
    mip = solve_master(inst, res.pool, solver="cbc", time_limit=5)
    assert mip.status == "no solution" and mip.columns is None
    assert solve_master_lp(inst, res.pool).status == "no solution"


# --------------------------------------------------------------- property
@st.composite
def random_instance(draw):
    n = draw(st.integers(6, 10))
    # a random spanning tree plus a few extra edges: always connected
    edges = [(i, draw(st.integers(0, i - 1))) for i in range(1, n)]
    extra = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=n))
    edges += [(u, v) for u, v in extra if u != v]
    pop = draw(st.lists(st.integers(5, 20), min_size=n, max_size=n))
    total = sum(pop)
    k = draw(st.integers(1, max(1, n // 2)))
    # a band around the mean hub size, sometimes too tight to be met (then a reason is expected)
    lower = max(1, int(total / k * draw(st.floats(0.5, 1.0))))
    upper = max(lower, max(pop), int(total / k * draw(st.floats(1.0, 1.6))))
    apart = ()
    if draw(st.booleans()):
        a, b = draw(st.integers(0, n - 1)), draw(st.integers(0, n - 1))
        if a != b:
            apart = ((min(a, b), max(a, b)),)
    together = ()
    if draw(st.booleans()):
        a, b = draw(st.integers(0, n - 1)), draw(st.integers(0, n - 1))
        if a != b:
            together = ((min(a, b), max(a, b)),)
    area = None
    if draw(st.booleans()):  # nesting: two areas, split by a random threshold on the practice index
        cut = draw(st.integers(1, n - 1))
        area = ["A" if i < cut else "B" for i in range(n)]
    anchors = draw(st.lists(st.integers(0, n - 1), max_size=n, unique=True))
    require = draw(st.booleans()) and len(anchors) > 0
    rng = np.random.default_rng(draw(st.integers(0, 1000)))
    coords = rng.random((n, 2))
    inst = make_instance(n, edges, pop, coords, k=k, lower=lower, upper=upper, keep_apart=apart,
                         keep_together=together, area=area, anchors=anchors, require_anchor=require)
    return inst, coords


def exact_optimum(inst: Instance) -> float | None:
    """Optimum by brute force: every valid practice subset as a column, then the exact master."""
    pool = ColumnPool()
    pool.bind(inst)
    for mask in range(1, 1 << inst.n):
        pool.add([i for i in range(inst.n) if mask >> i & 1])
    if pool.n_valid == 0:
        return None
    return solve_master(inst, pool, time_limit=20).objective


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_instance(), st.integers(0, 3))
def test_property_any_plan_satisfies_invariants(case, seed) -> None:
    inst, coords = case
    res = solve(inst, coords, seed=seed, max_rounds=2, growth_runs=30, time_limit=20.0)
    best = exact_optimum(inst)
    if res.hubs is None:
        assert res.reason  # no plan always comes with a reason
        assert best is None, f"a plan of cost {best} exists but none was found: {res.reason}"
        return
    assert_invariants(inst, res.hubs)
    where = hub_of(res.hubs)
    for a, b in inst.keep_apart:
        assert where[a] != where[b]
    for a, b in inst.keep_together:
        assert where[a] == where[b]
    for h in res.hubs:
        assert not inst.require_anchor or inst.anchors[h].any()
        assert inst.area is None or len(set(inst.area[h].tolist())) == 1
    assert best is not None and res.objective >= best - 1e-9  # never better than the true optimum
