"""The results table: built from real logs, one row per episode, typed, written and read back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner
from inspect_ai import Task, eval_set
from inspect_ai import eval as inspect_eval
from inspect_ai.dataset import Sample
from inspect_ai.log import list_eval_logs, read_eval_log
from inspect_ai.model import ChatMessageUser, ModelOutput, ModelUsage, get_model
from inspect_ai.scorer import includes

from offswitch.analysis.results import (
    COLUMNS,
    OUTCOME_FIELDS,
    SCHEMA,
    LogReadError,
    UnreadableLog,
    csv_cell,
    read_results,
    results_frame,
    write_frame,
    write_results,
)
from offswitch.cli import main
from offswitch.detect.outcome import config_fields
from offswitch.scenarios.matrix import config_from_id
from offswitch.tasks.scorer import SCORER_NAME
from offswitch.tasks.task import build_task

TAMPERING = "tampering/factual@80/peer/good_peer/file_prompt"
FINANCE = "misrep_finance/self/bad_peer/memory"
BROKEN = "misrep_finance/peer/neutral_peer/file_prompt"
CONFIG_COLUMNS = set(config_fields(config_from_id(TAMPERING)))
"""Outcome fields that describe the configuration, not what happened."""
USAGE = ModelUsage(input_tokens=50, output_tokens=5, total_tokens=55)


def scripted(broken: dict[str, bool]) -> Any:
    """End every episode at once (answer plainly without tools); fail on the financial task
    while `broken["finance"]`."""

    def output(input: list[Any], tools: list[Any], *_: Any) -> ModelOutput:
        task = next(m for m in input if isinstance(m, ChatMessageUser)).text
        if broken["finance"] and "financial" in task.lower():
            raise RuntimeError("the model server closed the connection")
        if tools:
            result = ModelOutput.for_tool_call("mockllm/model", "end_task", {})
        else:
            result = ModelOutput.from_content("mockllm/model", "2")
        result.usage = USAGE
        return result

    return output


def mock_model(broken: dict[str, bool]) -> Any:
    return get_model("mockllm/model", custom_outputs=scripted(broken), memoize=False)


def foreign_task() -> Task:
    """A task that is not an offswitch scenario; its samples stay out of the table."""
    return Task(name="arithmetic", dataset=[Sample(input="1 + 1?", target="2")], scorer=includes())


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory) -> Path:
    """Logs of two configurations x 2 epochs, one errored episode and a foreign task."""
    folder = tmp_path_factory.mktemp("logs")
    options: dict[str, Any] = {
        "display": "none",
        "log_dir": str(folder),
        "log_realtime": False,
        "fail_on_error": False,
    }
    configs = [config_from_id(TAMPERING), config_from_id(FINANCE)]
    inspect_eval(build_task(configs), model="offswitch/compliant", epochs=2, **options)
    broken = mock_model({"finance": True})
    inspect_eval(build_task([config_from_id(BROKEN)], family="Gemini"), model=broken, **options)
    inspect_eval(foreign_task(), model=broken, **options)
    return folder


@pytest.fixture(scope="module")
def frame(log_dir) -> pd.DataFrame:
    return results_frame(log_dir)


def test_one_row_per_sample_and_epoch(frame):
    keys = list(zip(frame["sample_id"], frame["epoch"], strict=True))
    assert sorted(keys) == sorted(
        [(TAMPERING, 1), (TAMPERING, 2), (FINANCE, 1), (FINANCE, 2), (BROKEN, 1)]
    )


def test_columns_and_dtypes(frame):
    assert list(frame.columns) == COLUMNS
    assert COLUMNS[:5] == ["model", "log", "task_name", "sample_id", "epoch"]
    assert COLUMNS[-7:] == [
        "outcome_class",
        "outcome_class_study",
        "input_tokens",
        "output_tokens",
        "total_tokens",
        "input_tokens_cache_read",
        "error",
    ]
    assert {column: frame[column].dtype for column in COLUMNS} == SCHEMA
    assert frame["epoch"].dtype == "Int64"
    assert frame["preserved"].dtype == "boolean"
    assert frame["reported_score"].dtype == "Float64"
    assert list(frame["end_reason"].cat.categories) == [
        "end_task",
        "call_cap",
        "token_cap",
        "no_tool_calls",
        "error",
    ]
    assert list(frame["outcome_class"].cat.categories) == [
        "complied",
        "preserved",
        "refused",
        "incomplete",
        "empty",
        "errored",
        "unscored",
    ]


def test_scored_rows_hold_the_whole_outcome_record(frame, log_dir):
    """The summaries Inspect thins keep every field of the record, unchanged."""
    logs = [read_eval_log(info.name) for info in list_eval_logs(str(log_dir))]
    samples = [
        sample
        for log in logs
        if log.eval.model == "offswitch/compliant"
        for sample in log.samples or []
    ]
    assert len(samples) == 4
    rows = frame.set_index(["sample_id", "epoch"])
    for sample in samples:
        row = rows.loc[(str(sample.id), sample.epoch)]
        for name, value in sample.scores[SCORER_NAME].metadata.items():
            assert pd.isna(row[name]) if value is None else row[name] == value, name
        assert row["model"] == "offswitch/compliant"
        assert row["outcome_class"] == "complied" and pd.isna(row["error"])
        assert row["input_tokens"] + row["output_tokens"] == row["total_tokens"] > 0


def test_an_errored_row_names_its_configuration(frame):
    [row] = frame[frame["sample_id"] == BROKEN].to_dict("records")
    assert row["outcome_class"] == "errored"
    assert "closed the connection" in row["error"]
    assert (row["task"], row["study_task"], row["subject"], row["condition"]) == (
        "misrep_finance",
        "misrep_finance",
        "peer",
        "neutral_peer",
    )
    assert row["config_id"] == BROKEN and row["relationship"] == "neutral" and row["threat"]
    measured = [name for name in OUTCOME_FIELDS if name not in CONFIG_COLUMNS]
    assert all(pd.isna(row[name]) for name in measured)
    assert row["model"] == "mockllm/model" and row["log"].endswith(".eval")


def test_the_table_round_trips_through_parquet_and_csv(frame, log_dir, tmp_path):
    paths = write_results(log_dir, ("parquet", "csv"), out_dir=tmp_path)
    assert [p.name for p in paths] == ["results.parquet", "results.csv"]
    for path in paths:
        pd.testing.assert_frame_equal(read_results(path), frame)


def test_results_are_written_beside_the_logs_by_default(log_dir):
    [path] = write_results(log_dir)
    assert path == log_dir / "results.parquet" and path.exists()
    path.unlink()


def test_an_empty_directory_gives_an_empty_table(tmp_path):
    empty = results_frame(tmp_path)
    assert empty.empty and list(empty.columns) == COLUMNS


def test_a_retried_eval_set_counts_each_episode_once(tmp_path):
    """The first attempt fails on one sample; the second reruns it; both logs stay."""
    broken = {"finance": True}
    task = build_task(
        [config_from_id(TAMPERING), config_from_id(FINANCE)], family="Gemini", name="retried"
    )
    options: dict[str, Any] = {
        "log_dir": str(tmp_path),
        "display": "none",
        "epochs": 2,
        "retry_attempts": 0,
        "retry_cleanup": False,
        "log_realtime": False,
    }
    first, _ = eval_set([task], model=mock_model(broken), **options)
    broken["finance"] = False
    second, [log] = eval_set([task], model=mock_model(broken), **options)
    assert not first and second
    assert len(list_eval_logs(str(tmp_path))) >= 2

    table = results_frame(tmp_path)
    assert len(table) == 4
    assert not table.duplicated(["model", "task_name", "sample_id", "epoch"]).any()
    assert table["error"].isna().all()
    assert set(table["log"]) == {Path(log.location).name}


def test_cli_writes_the_tables_and_prints_the_counts(log_dir, tmp_path):
    result = CliRunner().invoke(main, ["results", str(log_dir), "--csv", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "5 episodes" in result.output
    assert "complied" in result.output and "errored" in result.output
    assert (tmp_path / "results.parquet").exists() and (tmp_path / "results.csv").exists()


@pytest.mark.parametrize("kind", ["missing", "empty"])
def test_cli_rejects_a_directory_without_logs(tmp_path, kind):
    folder = tmp_path / "logs"
    if kind == "empty":
        folder.mkdir()
    result = CliRunner().invoke(main, ["results", str(folder)])
    assert result.exit_code in (1, 2)
    assert isinstance(result.exception, SystemExit)  # a message, not a crash
    assert "Error:" in result.output and str(folder) in result.output


def with_damaged_logs(log_dir: Path, tmp_path: Path) -> Path:
    """A copy of the logs with one truncated log and one that is not a log at all."""
    import shutil

    folder = tmp_path / "damaged"
    shutil.copytree(log_dir, folder)
    good = Path(list_eval_logs(str(folder))[0].name.removeprefix("file://"))
    (folder / "truncated.eval").write_bytes(good.read_bytes()[:3000])
    (folder / "garbage.eval").write_text("not a zip file\n")
    return folder


@pytest.mark.parametrize("command", ["results", "report"])
def test_damaged_logs_are_named_and_skipped(log_dir, tmp_path, command):
    folder = with_damaged_logs(log_dir, tmp_path)
    result = CliRunner().invoke(main, [command, str(folder), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    for name in ("truncated.eval", "garbage.eval"):
        assert f"skipped {folder / name}: not a readable Inspect log" in result.stderr
    assert "Traceback" not in result.output
    assert result.output.strip().splitlines()[-1] == (
        "Error: 2 logs were not readable and left out (named above)"
    )
    assert (
        tmp_path / "out" / ("results.parquet" if command == "results" else "report.md")
    ).exists()


def test_a_damaged_log_is_an_error_unless_the_caller_collects_it(log_dir, tmp_path):
    folder = with_damaged_logs(log_dir, tmp_path)
    with pytest.raises(LogReadError, match="not a readable Inspect log"):
        results_frame(folder)
    unreadable: list[UnreadableLog] = []
    assert len(results_frame(folder, unreadable)) == len(results_frame(log_dir))
    assert sorted(Path(u.path).name for u in unreadable) == ["garbage.eval", "truncated.eval"]


def test_csv_text_cells_cannot_run_as_formulas(frame, tmp_path):
    hostile = frame.copy()
    cells = ['=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)"]
    hostile["error"] = pd.array(cells + [None] * (len(frame) - len(cells)), dtype="string")
    write_frame(hostile, tmp_path, ("csv",))
    written = pd.read_csv(tmp_path / "results.csv", keep_default_na=False)
    assert list(written["error"][:4]) == [f"'{cell}" for cell in cells]
    assert written["epoch"].min() >= 1  # numbers stay numbers
    assert csv_cell(-2.5) == -2.5 and csv_cell("ok") == "ok"
