"""Run folders are the whole truth about a run: read back, they rebuild exactly the run's scoring context.

The manifest records the atlas hash, any user risk file or travel matrix (path
and hash), the territory threshold, the problem and the baseline; :class:`Run`
rebuilds the region and the problem from it and refuses, naming the input,
when a recorded file is missing or has changed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import pcn_planner as pp
from pcn_planner.core.errors import InputError
from pcn_planner.outputs.run import Run


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pcn_planner", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600)


@pytest.fixture(scope="module")
def risk_run(tmp_path_factory) -> dict:
    """``evaluate --risk FILE`` on today's PCNs, with every practice at risk 0.5."""
    work = tmp_path_factory.mktemp("risk")
    codes = pp.load_atlas().practices.index
    risk = work / "risk.csv"
    pd.DataFrame({"practice_code": codes, "risk": 0.5}).to_csv(risk, index=False)
    done = _cli("evaluate", "--risk", str(risk), "--min-share", "0.25", "--out", str(work / "today"), cwd=work)
    assert done.returncode == 0, done.stderr
    return {"work": work, "risk": risk, "run": work / "today"}


@pytest.mark.slow
def test_the_manifest_records_every_input_that_shaped_the_scores(risk_run) -> None:
    manifest = json.loads((risk_run["run"] / "manifest.json").read_text())
    inputs = manifest["inputs"]
    assert inputs["risk_file"] == str(risk_run["risk"].resolve()) and len(inputs["risk_file_sha256"]) == 64
    assert inputs["min_share"] == 0.25 and inputs["travel_matrix"] is None
    assert len(inputs["atlas_sha256"]) == 64
    problem = manifest["parameters"]["problem"]
    assert problem["bounds"] == {"min": 30_000, "max": 70_000} and problem["weights"]["travel"] == 1.0
    assert manifest["parameters"]["baseline"] == "current PCNs"


@pytest.mark.slow
def test_a_run_rescores_with_its_own_risk_file_and_threshold(risk_run) -> None:
    run = Run.read(risk_run["run"])
    card = run.scorecard()
    assert card.region.min_share == 0.25
    assert (card.hubs["risk_mean"] == 0.5).all()  # the run's own index, not the default (about 0.19)
    recorded = pd.read_csv(risk_run["run"] / "scorecard.csv", dtype={"hub_id": str}).set_index("hub_id")
    assert card.hubs["risk_mean"].round(4).equals(recorded["risk_mean"].round(4))
    assert card.problems == run.summary["problems"]


@pytest.mark.slow
def test_report_shows_the_runs_own_risk_and_refuses_when_the_file_is_gone(risk_run) -> None:
    work = risk_run["work"]
    done = _cli("report", str(risk_run["run"]), "--out", str(work / "report"), cwd=work)
    assert done.returncode == 0, done.stderr
    from openpyxl import load_workbook

    book = load_workbook(work / "report" / "options.xlsx", read_only=True)
    sheet = next(ws for ws in book.worksheets if ws.title not in ("Options", "Glossary"))
    rows = list(sheet.iter_rows(values_only=True))
    column = next(i for i, v in enumerate(rows[0]) if v and "risk" in str(v).lower() and "mean" in str(v).lower())
    values = [r[column] for r in rows[1:] if r[column] is not None]
    assert values and all(abs(float(v) - 0.5) < 1e-6 for v in values)

    moved = risk_run["risk"].with_name("risk-elsewhere.csv")
    risk_run["risk"].rename(moved)
    try:
        done = _cli("report", str(risk_run["run"]), "--out", str(work / "report2"), cwd=work)
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 2 and len(lines) == 1, done.stderr
        assert "risk file" in lines[0] and "risk.csv" in lines[0] and "missing" in lines[0]
        assert "Traceback" not in done.stderr and not (work / "report2").exists()
    finally:
        moved.rename(risk_run["risk"])


def test_a_changed_risk_file_is_refused_by_name(tmp_path: Path) -> None:
    region = pp.build_region()
    risk = tmp_path / "risk.csv"
    pd.DataFrame({"practice_code": list(region.codes), "risk": 0.3}).to_csv(risk, index=False)
    own = pp.build_region(region.atlas, risk_override=risk)
    card = pp.score_plan(own, pp.Plan.current(own.atlas.practices))
    folder = card.write(tmp_path / "run", map_html=False)
    pd.DataFrame({"practice_code": list(region.codes), "risk": 0.9}).to_csv(risk, index=False)
    with pytest.raises(InputError, match=r"risk file .* has changed"):
        Run.read(folder).scorecard()


def test_a_region_built_on_other_inputs_is_not_used_silently(tmp_path: Path) -> None:
    region = pp.build_region()
    card = pp.score_plan(region, pp.Plan.current(region.atlas.practices))
    folder = card.write(tmp_path / "run", map_html=False)
    other = pp.build_region(region.atlas, min_share=0.3)
    with pytest.raises(InputError, match="min_share"):
        Run.read(folder).scorecard(other)
    assert Run.read(folder).scorecard(region).problems == card.problems


def test_a_damaged_manifest_is_one_clear_error(tmp_path: Path) -> None:
    region = pp.build_region()
    folder = pp.score_plan(region, pp.Plan.current(region.atlas.practices)).write(tmp_path / "run", map_html=False)
    (folder / "manifest.json").write_text("{ not json")
    with pytest.raises(InputError, match=r"manifest.json.*not valid JSON"):
        Run.read(folder)


def test_a_user_travel_matrix_is_recorded_and_reused(tmp_path: Path) -> None:
    region = pp.build_region()
    lsoas = list(region.travel.index[:40])
    codes = list(region.codes[:3])
    matrix = tmp_path / "minutes.csv"
    pd.DataFrame([(lsoa, code, 1.0) for lsoa in lsoas for code in codes],
                 columns=["lsoa11cd", "practice_code", "minutes"]).to_csv(matrix, index=False)
    own = pp.build_region(region.atlas, travel_matrix=matrix)
    card = pp.score_plan(own, pp.Plan.current(own.atlas.practices))
    folder = card.write(tmp_path / "run", map_html=False)
    inputs = json.loads((folder / "manifest.json").read_text())["inputs"]
    assert inputs["travel_matrix"] == str(matrix.resolve()) and len(inputs["travel_matrix_sha256"]) == 64
    again = Run.read(folder).scorecard()
    assert again.hubs["travel_mean_min"].equals(card.hubs["travel_mean_min"])
    assert not again.hubs["travel_mean_min"].equals(
        pp.score_plan(region, pp.Plan.current(region.atlas.practices)).hubs["travel_mean_min"])
    matrix.unlink()
    with pytest.raises(InputError, match=r"travel matrix this run was scored with is missing"):
        Run.read(folder).scorecard()
