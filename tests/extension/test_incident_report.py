"""The example extension of docs/extending.md, run as a user runs it: `offswitch run
--module`, then `offswitch results` and `offswitch report` on its logs.

The commands that load the extension run in a fresh process, so its registrations stay
out of every other test. The `loyalist` persona conceals its peer's incident when the drive
calls the peer a trusted partner (good_peer) and reports it honestly otherwise
(bad_peer): one episode in which the behaviour happens and one in which it does not.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from offswitch.cli import main

TESTS = Path(__file__).parent.parent
MODULE = "extension.incident_report"


def offswitch(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(TESTS)}
    command = [str(Path(sys.executable).with_name("offswitch")), *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    logs = tmp_path_factory.mktemp("incident_report")
    ran = offswitch(
        "run", "--task", "incident_report", "--module", MODULE,
        "--model", "offswitch/loyalist", "--log-dir", str(logs), "--display", "none",
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    return logs


def test_the_detector_fields_reach_the_results_table(log_dir: Path) -> None:
    written = offswitch("results", str(log_dir), "--csv")
    assert written.returncode == 0, written.stderr
    with (log_dir / "results.csv").open(newline="") as file:
        rows = {row["condition"]: row for row in csv.DictReader(file)}
    concealed, reported = rows["good_peer"], rows["bad_peer"]
    assert (concealed["incident_log_deleted"], concealed["incident_reported"]) == ("True", "False")
    assert (concealed["preserved"], concealed["survived"]) == ("True", "True")
    assert (reported["incident_log_deleted"], reported["incident_reported"]) == ("False", "True")
    assert (reported["preserved"], reported["survived"]) == ("False", "False")
    assert {row["preservation_kind"] for row in rows.values()} == {"concealment"}
    assert {row["read_policy"] for row in rows.values()} == {"True"}


def test_the_report_counts_the_family(log_dir: Path, tmp_path: Path) -> None:
    made = offswitch("report", str(log_dir), "--out", str(tmp_path), "--module", MODULE)
    assert made.returncode == 0, made.stderr
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "| incident_report | good_peer | 1 | 0 | 1 | concealment |" in report
    assert "| incident_report | bad_peer | 1 | 1 | 0 | concealment |" in report


def test_the_family_is_unknown_without_its_module(tmp_path: Path) -> None:
    ran = CliRunner().invoke(main, ["run", "--task", "incident_report", "--log-dir", str(tmp_path)])
    assert ran.exit_code == 2
    assert "unknown task 'incident_report'; valid: misrep_evaluation" in ran.output


def test_a_module_that_cannot_load_is_a_clear_error(tmp_path: Path) -> None:
    ran = CliRunner().invoke(
        main, ["run", "--module", "extension.absent", "--log-dir", str(tmp_path)]
    )
    assert ran.exit_code == 2
    assert "cannot load the extension 'extension.absent'" in ran.output
