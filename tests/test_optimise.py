"""The whole engine: real data end to end, reproducibility, alternatives, refusals in words."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import networkx as nx
import pytest

import pcn_planner as pp
from pcn_planner.data.synthetic import synthetic_atlas

from tests.conftest import REPO


@pytest.fixture(scope="module")
def ssot():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pp.build_region()


@pytest.fixture(scope="module")
def small():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pp.build_region(synthetic_atlas(40, rng=3))


def check_invariants(region: pp.Region, result: pp.Result, problem: pp.Problem) -> None:
    plan = result.plan
    assert sorted(plan.assignment.index) == sorted(region.codes)  # every practice exactly once
    k_lo, k_hi = problem.k_range
    assert k_lo <= plan.k <= k_hi
    sizes = region.atlas.practices["list_size"].groupby(plan.assignment).sum()
    assert sizes.between(problem.bounds.min, problem.bounds.max).all()
    # an independent check on the region's own graph (no links are added without nesting)
    for members in plan.members().values():
        assert nx.is_connected(region.graph.subgraph(members))
    assert result.scorecard.feasible and result.scorecard.problems == []
    if result.bound is not None:
        assert result.objective >= result.bound - 1e-9
        assert result.gap == pytest.approx((result.objective - result.bound) / abs(result.objective))


@pytest.mark.slow
def test_ssot_k26_end_to_end(ssot, tmp_path: Path) -> None:
    problem = pp.Problem(k=26, time_limit=20)
    result = pp.optimise(problem, ssot)
    check_invariants(ssot, result, problem)
    assert result.bound is not None and result.gap is not None
    out = result.write(tmp_path / "run")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["solver"] == "highs" and manifest["gap"] == pytest.approx(result.gap)
    assert manifest["stopped_by"] in {"gap", "proof", "time"}
    assert set(manifest["objective_terms"]) == {"travel", "town", "lad", "catchment", "equity", "disruption",
                                                "risk", "hubs"}
    assert manifest["objective_terms"]["hubs"]["contribution"] == 0  # a fixed K: the hub charge is left out
    assert len(manifest["inputs"]["atlas_sha256"]) == 64
    # the optimised map beats today's on the same objective
    inst = pp.optimise.__globals__["compile_problem"](problem, ssot)
    today = inst.plan_cost(inst.hubs_of(pp.Plan.current(ssot.atlas.practices)))
    assert result.objective < today


def test_same_seed_same_plan(small) -> None:
    problem = pp.Problem(k=7, time_limit=30, seed=7)
    a, b = pp.optimise(problem, small), pp.optimise(problem, small)
    check_invariants(small, a, problem)
    assert a.stopped_by in {"proof", "gap"}
    assert a.plan == b.plan and a.objective == b.objective


@pytest.mark.slow
def test_same_plan_on_a_busy_machine(small) -> None:
    """Deterministic by work: with every core kept busy the same seed gives the same plan.

    The heuristic's phases are budgeted in rounds, the root in cut rounds and the MIP stops
    on the gap, so a slower machine takes longer but makes the same choices.
    """
    problem = pp.Problem(k=7, time_limit=120, seed=11)
    idle = pp.optimise(problem, small)
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2 * (os.cpu_count() or 2))]
    try:
        busy = pp.optimise(problem, small)
    finally:
        for proc in burners:
            proc.kill()
            proc.wait()
    assert idle.reproducible and busy.reproducible, (idle.details["clock_cut"], busy.details["clock_cut"])
    assert busy.plan == idle.plan and busy.objective == idle.objective
    assert busy.details["heuristic_rounds"] == idle.details["heuristic_rounds"]


def test_alternatives_differ_by_the_practices_asked_and_the_best_is_the_best(small) -> None:
    from pcn_planner.model.instance import compile_problem, moved_from

    problem = pp.Problem(k=7, time_limit=15)
    result = pp.optimise(problem, small, alternatives=2, differ_by=4)
    assert 1 <= len(result.alternatives) <= 2
    inst = compile_problem(problem, small)
    options = [result.plan, *(a.plan for a in result.alternatives)]
    for i, a in enumerate(options):
        for j, b in enumerate(options):
            if i != j:  # both directions, with the one definition of a moved practice
                hubs = inst.hubs_of(b)
                assert len(moved_from(a.assignment.reindex(list(inst.codes)).to_numpy(), hubs,
                                      inst.bases(hubs))) >= 4
    for alt in result.alternatives:
        assert alt.objective >= result.objective - 1e-9
        assert alt.scorecard.feasible and alt.gap is not None and alt.gap >= result.gap - 1e-12
        assert alt.practices_moved_from_best >= 4


@pytest.mark.parametrize("k, words", [
    (10, "Feasible range of K: 18-40"),
    (45, "Feasible range of K: 18-40"),
])
def test_impossible_k_is_refused_with_the_range(ssot, k: int, words: str) -> None:
    with pytest.raises(pp.InfeasibleError, match=words):
        pp.optimise(pp.Problem(k=k, time_limit=5), ssot)


def test_cli_refuses_nesting_at_k20_naming_cannock_chase(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "pcn_planner", "optimise", "--hubs", "20", "--nest", "sub_icb",
                           "--out", str(tmp_path / "run"), "--quiet"], cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 2
    assert "needs 22-38 hubs in total" in done.stderr and "Cannock Chase (140,734 patients) needs 3-4" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "run").exists()


def test_warm_start_is_used_and_repaired_after_growth(small) -> None:
    first = pp.optimise(pp.Problem(k=7, time_limit=10), small)
    lines: list[str] = []
    again = pp.optimise(pp.Problem(k=7, time_limit=10), small, warm_start=first.plan, log=lines.append)
    assert again.details["warm_starts"] == 1
    assert any("warm start" in line and "feasible" in line for line in lines)
    assert again.objective <= first.objective + 1e-9  # never worse than where it started

    # 25% more patients everywhere pushes the biggest hub over 70k: the start is repaired, not trusted
    grown = pp.Problem(k=7, time_limit=10, growth={"all": 1.25})
    lines.clear()
    result = pp.optimise(grown, small, warm_start=[first.plan], log=lines.append)
    assert any("warm start" in line and "repaired (hub" in line for line in lines)
    assert result.scorecard.feasible
    # a plan over other practices is ignored rather than failing
    other = pp.Plan.from_mapping({"X1": "a"})
    assert pp.optimise(pp.Problem(k=7, time_limit=5), small, warm_start=other).details["warm_starts"] == 0


def test_a_k_range_gives_the_best_plan_of_each_k_and_charges_per_hub(small) -> None:
    problem = pp.Problem(k=(6, 8), time_limit=10)
    result = pp.optimise(problem, small)
    check_invariants(small, result, problem)
    by_k = {int(k): v for k, v in result.details["by_k"].items()}
    assert set(by_k) == {6, 7, 8} and {a.plan.k for a in result.alternatives} == set(by_k) - {result.plan.k}
    # each K compared on its objective plus the charge of its hubs; the pick is the cheapest
    totals = {k: v["objective"] for k, v in by_k.items()}
    assert result.plan.k == min(totals, key=lambda k: (totals[k], k))
    today = small.atlas.practices["pcn_code"].nunique()  # the charge is normalised by today's PCNs
    assert all(v["hub_charge"] == pytest.approx(problem.weights.hubs * k / today) for k, v in by_k.items())
    assert result.objective_terms["hubs"]["weight"] == problem.weights.hubs
    for alt in result.alternatives:  # each K's option carries that K's own certified gap
        assert alt.gap == by_k[alt.plan.k]["gap"] and alt.scorecard.feasible
    # with no charge per hub the pick is simply the cheapest plan of any K
    free = pp.optimise(problem.with_(weights={"hubs": 0.0}), small)
    assert free.objective <= min(a.objective for a in free.alternatives) + 1e-9


def test_at_a_fixed_k_the_hub_charge_is_left_out(small) -> None:
    from pcn_planner.model.instance import compile_problem

    inst = compile_problem(pp.Problem(k=7), small)
    assert inst.weights["hubs"] == 0.0
    assert compile_problem(pp.Problem(k=(6, 8)), small).weights["hubs"] == 1.0
