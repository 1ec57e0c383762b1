"""A batch scenario prints nothing: no solver banner or log on stdout, with either MIP solver.

The worker does not redirect file descriptors (that silenced every thread of the process); the
solvers keep their own output off. A fresh interpreter is used, as a Dask worker is, because
HiGHS prints its banner only for the first ``Highs`` object of a process.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

SCRIPT = """
import json, sys
from pcn_planner.batch.scenarios import load_scenarios
from pcn_planner.batch.worker import run_scenario

scenarios = load_scenarios({"name": "quiet", "base": {"k": 26, "time_limit": 2},
                            "sweeps": {"solver": ["highs", "cbc"]}})
results = [run_scenario(s.spec()) for s in scenarios]
with open(sys.argv[1], "w") as fh:
    json.dump([{k: r.get(k) for k in ("status", "solver", "reason")} for r in results], fh)
"""

#: Words of the solvers' banners and logs (HiGHS, CBC through PuLP).
CHATTER = ("HiGHS", "Copyright", "Welcome to the CBC", "Cbc0", "Coin0", "Running", "Presolving")


@pytest.mark.slow
def test_a_scenario_prints_no_solver_output(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(out)], cwd=REPO, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    results = json.loads(out.read_text())
    assert [(r["status"], r["solver"]) for r in results] == [("ok", "highs"), ("ok", "cbc")], results
    assert done.stdout == "", f"a scenario wrote to stdout:\n{done.stdout[:2000]}"
    chatter = [w for w in CHATTER if w in done.stderr]
    assert not chatter, f"solver output on stderr ({', '.join(chatter)}):\n{done.stderr[:2000]}"
