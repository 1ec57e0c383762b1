"""The example files the README and docs/cli.md point users at are valid as shipped."""

from __future__ import annotations

from pathlib import Path

import pcn_planner as pp
from pcn_planner.model.instance import compile_problem
from pcn_planner.batch.scenarios import load_scenarios

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_sensitivity_example_loads_with_its_events() -> None:
    scenarios = load_scenarios(EXAMPLES / "sensitivity.yaml")
    names = [s.name for s in scenarios.scenarios]
    assert len(names) == 6 and len({s.id for s in scenarios.scenarios}) == 6
    assert "Horsefair Practice closes" in names
    locked = next(s for s in scenarios.scenarios if s.name.startswith("the four Rugeley"))
    assert locked.problem["rules"]["locked_hubs"] == [["M83001", "M83703", "M83738", "Y02354"]]


def test_problem_example_compiles_against_the_embedded_data(atlas: pp.Atlas) -> None:
    region = pp.build_region(atlas)
    problem = pp.Problem.from_file(EXAMPLES / "problem.toml")
    assert problem.k == 23 and problem.nest == "sub_icb" and problem.growth["lad:Stafford"] == 1.08
    inst = compile_problem(problem, region)
    stafford = region.atlas.practices.loc[list(inst.codes), "lad"].eq("Stafford").to_numpy()
    assert (inst.population[stafford] > region.population[stafford] * 1.079).all()


def test_sensitivity_example_stops_on_quality_not_on_a_short_limit() -> None:
    from pcn_planner.batch.scenarios import SHORT_TIME_LIMIT

    scenarios = load_scenarios(EXAMPLES / "sensitivity.yaml").scenarios
    assert all(s.problem["gap"] == 0.01 for s in scenarios)
    assert all(s.problem["time_limit"] >= max(SHORT_TIME_LIMIT, 60) for s in scenarios)
