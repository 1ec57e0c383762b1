"""Problems: files, validation, compilation and infeasibility explained in words."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

import pcn_planner as pp
from pcn_planner.core.errors import InfeasibleError, InputError
from pcn_planner.model.feasibility import check_feasibility, explain_or_raise
from pcn_planner.model.instance import compile_problem, growth_factors
from pcn_planner.model.problem import Problem


@pytest.fixture(scope="module")
def region():
    from pcn_planner.geography.region import build_region

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return build_region()


def test_problem_from_toml_and_yaml(tmp_path: Path) -> None:
    (tmp_path / "p.toml").write_text(
        'k = [22, 24]\n[bounds]\nmin = 31000\n[weights]\ntown = 1.0\n'
        '[rules]\nnest = "sub_icb"\nkeep_apart = [["M83001", "M83016"]]\n[growth]\nall = 1.05\n')
    (tmp_path / "p.yaml").write_text(
        "k: [22, 24]\nbounds: {min: 31000}\nweights: {town: 1.0}\n"
        "rules: {nest: sub_icb, keep_apart: [[M83001, M83016]]}\ngrowth: {all: 1.05}\n")
    a, b = Problem.from_file(tmp_path / "p.toml"), Problem.from_file(tmp_path / "p.yaml")
    assert a == b
    assert a.k_range == (22, 24) and a.bounds.min == 31_000 and a.bounds.max == 70_000
    assert a.weights.town == 1.0 and a.weights.travel == 1.0
    assert a.keep_apart == (("M83001", "M83016"),)


@pytest.mark.parametrize("text, words", [
    ("k = 0\n", "k must be a whole number >= 1"),
    ("k = 23\nspeed = 3\n", "unknown setting(s) speed"),
    ("[rules]\nnest = 'county'\n", "nest must be one of sub_icb, lad"),
    ("[weights]\ntravel = -1\n", "weight 'travel' must be a number >= 0"),
    ("[bounds]\nmin = 80000\n", "0 < min <= max"),
    ("[rules]\nflying = true\n", "unknown rule(s) flying"),
])
def test_bad_problem_files_are_named(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        Problem.from_file(path)
    assert str(err.value).startswith("bad.toml")
    assert words in str(err.value)


def test_current_map_scores_about_the_sum_of_weights(region) -> None:
    inst = compile_problem(Problem(), region)
    hubs = inst.hubs_of(pp.Plan.current(region.atlas.practices))
    terms = inst.decompose(hubs)
    # each term is normalised by its current-map value with per-term best bases, so the
    # current map's terms are ~1 (never below 1: one shared base is at best as good)
    for t in ("travel", "town", "lad", "catchment", "risk"):
        assert terms[t]["normalised"] >= 1 - 1e-9
    assert terms["disruption"]["raw"] == 0
    assert inst.plan_cost(hubs) == pytest.approx(sum(v["contribution"] for v in terms.values()))


def test_growth_factors_most_specific_wins(region) -> None:
    f = growth_factors(region, {"all": 1.05, "sub_icb:Cannock Chase": 1.1, "M83001": 1.2})
    codes = list(region.codes)
    sub = region.atlas.practices.loc[codes, "sub_icb"].to_numpy()
    assert f[codes.index("M83001")] == 1.2
    assert set(f[(sub == "Cannock Chase") & (np.array(codes) != "M83001")]) == {1.1}
    assert set(f[sub != "Cannock Chase"]) == {1.05}
    with pytest.raises(InputError, match="matches no practice"):
        growth_factors(region, {"lad:Atlantis": 1.1})


@pytest.mark.parametrize("k, lo, hi", [(10, 18, 40), (45, 18, 40)])
def test_impossible_k_gives_the_feasible_range(region, k: int, lo: int, hi: int) -> None:
    inst = compile_problem(Problem(k=k), region)
    with pytest.raises(InfeasibleError) as err:
        explain_or_raise(inst)
    assert f"K={k} is impossible" in str(err.value)
    assert f"Feasible range of K: {lo}-{hi}" in str(err.value)


def test_nesting_within_sub_icb_needs_22_to_38_hubs(region) -> None:
    inst = compile_problem(Problem(k=20, nest="sub_icb"), region)
    result = check_feasibility(inst)
    assert (result.k_low, result.k_high) == (22, 38)
    text = " ".join(result.problems)
    assert "needs 22-38 hubs in total" in text
    assert "Cannock Chase (140,734 patients) needs 3-4" in text
    # the sub-ICB split by the practice graph is joined, and the join is recorded
    assert inst.nesting_links and all("cut off in the practice graph" in r for *_, r in inst.nesting_links)
    assert check_feasibility(compile_problem(Problem(k=23, nest="sub_icb"), region)).ok


def test_rule_conflicts_are_named(region) -> None:
    names = dict(zip(region.atlas.practices.index, region.atlas.practices["name"]))
    inst = compile_problem(Problem(k=23, keep_together=(("M83001", "M83016"),),
                                   keep_apart=(("M83001", "M83016"),)), region)
    problems = check_feasibility(inst, names).problems
    assert any("must both share and not share a hub" in p and "Horsefair Practice (M83001)" in p for p in problems)
    with pytest.raises(InputError, match="unknown practice code"):
        compile_problem(Problem(keep_apart=(("M83001", "NOPE"),)), region)
