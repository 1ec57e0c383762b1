"""The command line: real runs, and one-line errors without tracebacks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import REPO


def run(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pcn_planner", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600)


def test_atlas_summary_prints_the_region(tmp_path: Path) -> None:
    done = run("atlas", "summary", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "141 practices, 1,210,283 patients" in done.stdout
    assert "current PCNs (25)" in done.stdout
    assert "EAST STAFFORDSHIRE PCN" in done.stdout


def test_bad_input_is_one_line_with_no_traceback(data_copy: Path) -> None:
    frame = pd.read_csv(data_copy / "practices.csv", dtype=str, keep_default_na=False)
    frame.loc[0, "list_size"] = "0"
    frame.to_csv(data_copy / "practices.csv", index=False)
    done = run("atlas", "summary", "--data", str(data_copy))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "pcn-planner: error: practices.csv, row 2, field 'list_size': value 0 must be greater than 0"
    ]
    assert "Traceback" not in done.stderr


def test_help_lists_the_commands() -> None:
    done = run("--help")
    assert done.returncode == 0
    assert "data" in done.stdout and "atlas" in done.stdout


def test_evaluate_current_flags_the_oversized_pcns(tmp_path: Path) -> None:
    out = tmp_path / "run"
    done = run("evaluate", "--plan", "current", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "25 hubs" in done.stdout
    assert "hubs in band 23/25, contiguous 20/25" in done.stdout
    assert "EAST STAFFORDSHIRE PCN): 155,279 patients > max 70,000" in done.stdout
    assert "MERCIAN PCN): 93,616 patients > max 70,000" in done.stdout
    assert sorted(p.name for p in out.iterdir()) == [
        "manifest.json", "map.html", "plan.csv", "plan_summary.json", "scorecard.csv"]
    import json

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["gap"] is None and manifest["bound"] is None
    assert len(manifest["inputs"]["atlas_sha256"]) == 64
    summary = json.loads((out / "plan_summary.json").read_text())
    assert summary["metrics"]["hubs_out_of_band"] == 2
    assert len(pd.read_csv(out / "scorecard.csv")) == 25


def test_evaluate_bad_plan_leaves_nothing_behind(tmp_path: Path) -> None:
    plan = tmp_path / "bad.csv"
    plan.write_text("practice_code,hub_id\nM83001,1\nM83001,2\n")
    out = tmp_path / "run"
    done = run("evaluate", "--plan", str(plan), "--out", str(out))
    assert done.returncode == 2
    assert "bad.csv, row 3, field 'practice_code': practice 'M83001' appears twice" in done.stderr
    assert "Traceback" not in done.stderr
    assert not out.exists()


def test_optimise_starts_from_a_given_plan(tmp_path: Path) -> None:
    import json

    out = tmp_path / "run"
    done = run("optimise", "--hubs", "25", "--time-limit", "8", "--start", "current", "--quiet", "--out", str(out))
    assert done.returncode == 0, done.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["engine"]["warm_starts"] == 1 and len(manifest["engine"]["warm_start_sha256"][0]) == 64
    assert manifest["gap"] is not None
    # a run cut short by its limit says how to go on from its plan; one that met the target does not
    cut_short = manifest["stopped_by"] == "time" and manifest["gap"] > 0.01
    assert ("--start " + str(out) in done.stdout) == cut_short
    # a start plan that does not exist is a one-line error naming it, and nothing is written
    missing = tmp_path / "nope.csv"
    done = run("optimise", "--hubs", "25", "--start", str(missing), "--out", str(tmp_path / "run2"))
    assert done.returncode == 2 and "nope.csv" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "run2").exists()


@pytest.mark.parametrize("args", [
    ("optimise", "--hubs", "zz"),
    ("optimise", "--differ-by", "-5", "--alternatives", "1"),
    ("optimise", "--alternatives", "abc"),
    ("evaluate", "--plan", "nowhere.csv"),
    ("evaluate", "--min-share", "abc"),
    ("compare", "current", "nowhere"),
    ("report", "nowhere"),
    ("report", "somewhere", "--data", "foo"),
])
def test_nonsense_arguments_get_one_line_exit_2_and_write_nothing(tmp_path: Path, args: tuple[str, ...]) -> None:
    done = run(*args, "--out", str(tmp_path / "out"), cwd=tmp_path)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stderr
    assert len(lines) == 1 and lines[0].startswith("pcn-planner") and "error:" in lines[0], done.stderr
    assert "Traceback" not in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing written, not even a stage


def test_two_run_folders_keep_their_own_inputs(tmp_path: Path) -> None:
    done = run("evaluate", "--out", str(tmp_path / "today"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    for args, words in ((("--risk", "x.csv"), "--risk cannot apply here"), ((), "two different names")):
        done = run("compare", str(tmp_path / "today"), str(tmp_path / "today"), *args, "--out",
                   str(tmp_path / "cmp"), cwd=tmp_path)
        assert done.returncode == 2 and words in done.stderr and len(done.stderr.strip().splitlines()) == 1
        assert not (tmp_path / "cmp").exists()
