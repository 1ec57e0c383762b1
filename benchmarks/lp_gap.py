"""Where the gap comes from: the LP relaxations against the best plan, term by term.

For each case it solves the root LP of the exact compact model (with the same
separator and population cut rounds the engine uses), splits the LP value by
objective term, and sets it beside the best plan the heuristic finds in 10 s.
It also runs column generation on the heuristic's pool until greedy pricing
finds nothing more and prints the restricted master LP value. That value is
NOT a bound (pricing is not exact), but the set-partitioning LP bound can only
be lower than it, so it shows how much any LP bound, compact or
set-partitioning, can close before branching. Writes
``benchmarks/results/lp_gap.txt``.

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


def root_lp(inst, rounds: int = 40):
    """Root LP of the compact model after the engine's cut rounds: value and per-term split."""
    import numpy as np

    from pcn_planner.objective import LINEAR_TERMS
    from solvers.compact import _Model, _RootLP, candidate_pairs

    mask, _ = candidate_pairs(inst)
    model = _Model(inst, mask)
    root = _RootLP(model, None)
    for _ in range(rounds):
        value = root.values()
        cuts = [c for c in model.fractional_cuts(value) + model.population_cuts(value) if c not in model.cuts]
        if not cuts:
            break
        model.add_cuts(cuts)
        root.add(cuts, 60.0)
    value = root.values()
    split = {t: inst.weights[t] / inst.norms[t] * sum(v * inst.terms[t][p, b] for (p, b), v in value.items())
             for t in LINEAR_TERMS}
    col = np.asarray(root.h.getSolution().col_value)
    split["risk"] = inst.risk_weight * float(sum(col[v.index] for v in model.e.values()))
    fractional = sum(1 for b in model.bases if 1e-6 < value.get((b, b), 0.0) < 1 - 1e-6)
    return root.objective(), split, len(model.cuts), fractional


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
    from pcn_planner.objective import compile_problem
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
        lp, split, cuts, fractional = root_lp(inst)
        heur = solve_heuristic(inst, coords, labels, rng=np.random.default_rng(0), time_limit=10)
        plan = {t: v["contribution"] for t, v in inst.decompose(heur.hubs).items()}
        rmp = restricted_master(inst, heur.pool)
        lines.append(f"{name}: plan {heur.objective:.5f}; compact root LP {lp:.5f} ({cuts} cuts, {fractional} "
                     f"fractional bases) = {(heur.objective - lp) / heur.objective:.2%} below the plan; "
                     f"restricted master LP {rmp:.5f} = {(heur.objective - rmp) / heur.objective:.2%} below "
                     f"(not a bound; the set-partitioning LP bound is at most this)  [{time.perf_counter() - t0:.0f} s]")
        lines.append("    term         plan    root LP   plan - LP")
        for t in plan:
            lines.append(f"    {t:<10} {plan[t]:8.4f} {split[t]:9.4f} {plan[t] - split[t]:+10.4f}")
        data[name] = {"plan": heur.objective, "root_lp": lp, "restricted_master_lp": rmp, "cuts": cuts,
                      "fractional_bases": fractional, "plan_terms": plan, "lp_terms": split}
    lines.append(f"\npeak RSS {peak_rss_mb():.0f} MB")
    write_results("lp_gap", "\n".join(lines) + "\n", data)


if __name__ == "__main__":
    main()
