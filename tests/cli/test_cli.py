"""The command line: listing, running, and clear errors instead of tracebacks."""

import json

import pytest
from click.testing import CliRunner

from offswitch.cli._main import main


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def test_list_counts_match_the_study() -> None:
    result = invoke("list", "--counts", "--format", "json")
    assert result.exit_code == 0
    counts = json.loads(result.output)
    assert counts["tampering"] == 39 and counts["misrep_evaluation_memory"] == 30
    assert sum(counts.values()) == 271


def test_list_filters_by_task_and_condition() -> None:
    result = invoke("list", "--task", "tampering_memory", "--condition", "good_peer,bad_peer")
    assert result.exit_code == 0
    ids = result.output.split()
    assert len(ids) == 12
    assert all(i.startswith("tampering/") and i.endswith("/memory") for i in ids)


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["list", "--task", "tampring"], "tampering"),
        (["list", "--condition", "friendly"], "good_peer"),
        (["list", "--suite", "everything"], "quick"),
        (["run", "--task", "tampering", "--condition", "nope"], "good_peer"),
        (["run", "-M", "seed"], "key=value"),
    ],
)
def test_bad_names_are_clear_errors(args: list[str], named: str) -> None:
    result = invoke(*args)
    assert result.exit_code == 2
    assert named in result.output
    assert "Traceback" not in result.output


def test_run_on_reference_agents_says_so_and_prints_counts(tmp_path) -> None:
    args = ["run", "--task", "exfiltration_deletion", "--condition", "no_peer"]
    result = invoke(*args, "--log-dir", str(tmp_path), "--display", "none")
    assert result.exit_code == 0, result.output
    assert "reference agents" in result.output
    assert "exfiltration_deletion" in result.output and "no_peer" in result.output
    assert list(tmp_path.glob("*.eval"))
    rerun = invoke(*args, "--log-dir", str(tmp_path), "--display", "none")
    assert rerun.exit_code == 0
    assert len(list(tmp_path.glob("*.eval"))) == 1


def test_unknown_model_family_is_a_clear_error_before_anything_runs(tmp_path) -> None:
    args = ["run", "--task", "tampering", "--model", "mockllm/model", "--log-dir", str(tmp_path)]
    result = invoke(*args)
    assert result.exit_code == 2
    assert "--family" in result.output and "Gemini" in result.output
    assert not list(tmp_path.iterdir())


def test_run_rejects_a_model_role_other_than_the_grader(tmp_path) -> None:
    result = invoke(
        "run", "--task", "tampering", "--model-role", "judge=x", "--log-dir", str(tmp_path)
    )
    assert result.exit_code == 2
    assert "grader=MODEL" in result.output
