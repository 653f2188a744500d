"""The command line: listing, running, and clear errors instead of tracebacks."""

import json

import pytest
from click.testing import CliRunner

from offswitch.cli import main


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


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--epochs", "-1"], "--epochs"),
        (["--model", "offswitch/nobody"], "unknown persona 'nobody'"),
        (["-M", "probabilities=/nonexistent"], "/nonexistent"),
        (["-M", "faults=rate_limit:abc"], "'abc' is not a probability"),
    ],
)
def test_bad_run_options_are_one_line_errors(tmp_path, args: list[str], named: str) -> None:
    selection = ["--task", "exfiltration_deletion", "--condition", "no_peer"]
    result = invoke("run", *selection, *args, "--log-dir", str(tmp_path), "--display", "none")
    assert result.exit_code == 2, result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("Error:") and named in last
    assert "Traceback" not in result.output


def test_a_log_dir_that_is_a_file_is_an_error(tmp_path) -> None:
    file = tmp_path / "logs"
    file.write_text("")
    result = invoke("run", "--task", "tampering", "--log-dir", str(file))
    assert result.exit_code == 2
    assert "is a file" in result.output.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("grouped", "alias"),
    [(["guard", "audit", "verify"], ["audit", "verify"]), (["judge", "rescore"], ["rescore"])],
)
def test_commands_are_grouped_and_old_names_still_work(grouped, alias) -> None:
    new, old = invoke(*grouped, "--help"), invoke(*alias, "--help")
    assert new.exit_code == 0 and old.exit_code == 0
    assert new.output.partition("\n")[2] == old.output.partition("\n")[2]


def test_old_names_are_named_as_aliases_not_listed() -> None:
    def listed(*group: str) -> list[str]:
        lines = invoke(*group, "--help").output.partition("Commands:")[2].splitlines()
        return [line.split()[0] for line in lines if line.strip()]

    assert "audit" not in listed() and "rescore" not in listed()
    assert "`offswitch audit` is `offswitch guard audit`" in invoke("--help").output
    assert "audit" in listed("guard") and "rescore" in listed("judge")


def test_run_logs_exactly_the_configurations_it_selected_and_how_it_built_them(tmp_path) -> None:
    from inspect_ai.log import read_eval_log

    from offswitch import __version__
    from offswitch.scenarios.matrix import select
    from offswitch.tasks.task import TASK_OPTIONS_KEY

    args = ["run", "--task", "tampering_memory", "--condition", "good_peer", "--subject", "peer"]
    result = invoke(*args, "--max-model-calls", "12", "--log-dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    (log_file,) = tmp_path.glob("*.eval")
    log = read_eval_log(str(log_file))
    expected = {c.id for c in select("quick", ["tampering_memory"], ["good_peer"], ["peer"])}
    assert {sample.id for sample in log.samples or ()} == expected
    recorded = log.eval.metadata[TASK_OPTIONS_KEY]
    assert recorded == {
        "family": None,
        "max_model_calls": 12,
        "loop": "study",
        "offswitch": __version__,
    }
