"""Where the gap comes from: the LP relaxations against the best plan, term by term.

For each case it solves the root LP of the exact compact model twice, with the
engine's contiguity cut rounds (separator and population cuts) and then with
capacity cuts as well (run to convergence, not stopped early as in the
engine), splits each LP value by objective term, and sets it beside the best
plan the heuristic finds in 10 s. It also runs column generation on the
heuristic's pool until greedy pricing finds nothing more and prints the
restricted master LP value. That value is NOT a bound (pricing is not exact),
but the set-partitioning LP bound can only be lower than it, so it shows how
much any bound built from single hubs can close; capacity cuts span several
hubs and go past it. Writes ``benchmarks/results/lp_gap.txt``.

    python benchmarks/lp_gap.py
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/_common.py
from _common import machine, peak_rss_mb, write_results  # noqa: E402

CASES = [("K=23 default", 23, {}), ("K=26 default", 26, {}),
         ("K=23 travel only", 23, {"travel": 1, "town": 0, "lad": 0, "catchment": 0, "risk": 0,
                                   "disruption": 0, "equity": 0})]


def root_lp(inst, capacity: bool, rounds: int = 40):
    """Root LP of the compact model after cut rounds (contiguity, plus capacity if asked): value and split."""
    import numpy as np

    from pcn_planner.model.instance import LINEAR_TERMS
    from solvers.compact.driver import CAPACITY_CUTS_PER_ROUND
    from solvers.compact.model import CompactModel as _Model, candidate_pairs
    from solvers.compact.root import RootLP as _RootLP

    mask, _ = candidate_pairs(inst)
    model = _Model(inst, mask)
    root = _RootLP(model, None)
    for _ in range(rounds):
        value = root.values()
        cuts = [c for c in model.fractional_cuts(value) + model.population_cuts(value) if c not in model.cuts]
        more = model.capacity.separate(value, CAPACITY_CUTS_PER_ROUND) if capacity else []
        if not cuts and not more:
            break
        model.add_cuts(cuts)
        model.add_capacity_cuts(more)
        root.add(cuts, more, 60.0)
    value = root.values()
    split = {t: inst.weights[t] / inst.norms[t] * sum(v * inst.terms[t][p, b] for (p, b), v in value.items())
             for t in LINEAR_TERMS}
    col = np.asarray(root.h.getSolution().col_value)
    split["risk"] = inst.risk_weight * float(sum(col[v.index] for v in model.e.values()))
    fractional = sum(1 for b in model.bases if 1e-6 < value.get((b, b), 0.0) < 1 - 1e-6)
    return root.objective(), split, len(model.cuts) + model.capacity_cuts, fractional


def restricted_master(inst, pool, rounds: int = 30) -> float:
    import numpy as np

    from solvers.columns import unit_components
    from solvers.local_search import price
    from solvers.master import solve_master_lp

    rules = pool.bind(inst)
    comps = unit_components(rules)
    lp = solve_master_lp(inst, pool)
    for i in range(rounds):
        if not price(rules, pool, comps, lp.duals, lp.mu, lp.lam, rng=np.random.default_rng(i), random_runs=2):
            break
        lp = solve_master_lp(inst, pool)
    return float(lp.objective)


def main() -> None:
    import numpy as np

    import pcn_planner as pp
    from pcn_planner.model.instance import compile_problem
    from solvers.heuristic import solve_heuristic

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        region = pp.build_region()
    coords = region.atlas.practices.loc[list(region.codes), ["lat", "lon"]].to_numpy(float)
    labels = region.atlas.practices.loc[list(region.codes), "pcn_code"].to_numpy()
    lines = [f"LP relaxations against the best plan, SSOT 30k-70k ({machine()})", ""]
    data = {}
    for name, k, weights in CASES:
        t0 = time.perf_counter()
        problem = pp.Problem(k=k, weights=pp.Weights(**weights)) if weights else pp.Problem(k=k)
        inst = compile_problem(problem, region)
        lp, split, cuts, fractional = root_lp(inst, capacity=False)
        cap, cap_split, cap_cuts, cap_fractional = root_lp(inst, capacity=True)
        heur = solve_heuristic(inst, coords, labels, rng=np.random.default_rng(0), time_limit=10)
        plan = {t: v["contribution"] for t, v in inst.decompose(heur.hubs).items()}
        rmp = restricted_master(inst, heur.pool)

        def below(value: float) -> str:
            return f"{(heur.objective - value) / heur.objective:.2%} below the plan"

        lines.append(f"{name}: plan {heur.objective:.5f}  [{time.perf_counter() - t0:.0f} s]")
        lines.append(f"    compact root LP, contiguity cuts: {lp:.5f} ({cuts} cuts, {fractional} fractional bases) = "
                     f"{below(lp)}")
        lines.append(f"    compact root LP, plus capacity cuts: {cap:.5f} ({cap_cuts} cuts, {cap_fractional} "
                     f"fractional bases) = {below(cap)}")
        lines.append(f"    restricted master LP: {rmp:.5f} = {below(rmp)} (not a bound; the set-partitioning LP "
                     "bound is at most this)")
        lines.append("    term         plan   root LP  +capacity   plan - LP  plan - LP+cap")
        for t in plan:
            lines.append(f"    {t:<10} {plan[t]:8.4f} {split[t]:9.4f} {cap_split[t]:9.4f} {plan[t] - split[t]:+11.4f} "
                         f"{plan[t] - cap_split[t]:+13.4f}")
        data[name] = {"plan": heur.objective, "root_lp": lp, "root_lp_capacity": cap, "restricted_master_lp": rmp,
                      "cuts": cuts, "cuts_with_capacity": cap_cuts, "fractional_bases": fractional,
                      "fractional_bases_with_capacity": cap_fractional, "plan_terms": plan, "lp_terms": split,
                      "lp_capacity_terms": cap_split}
    lines.append(f"\npeak RSS {peak_rss_mb():.0f} MB")
    write_results("lp_gap", "\n".join(lines) + "\n", data)


if __name__ == "__main__":
    main()
