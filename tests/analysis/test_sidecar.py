"""Episode tables beside the logs: written by `offswitch run`, read while current, and the
prompt-cache and batch settings a run hands to Inspect."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner
from inspect_ai import eval as inspect_eval
from inspect_ai.log import list_eval_logs, read_eval_log
from inspect_ai.model import ModelOutput, ModelUsage, get_model

from offswitch.analysis.results import COLUMNS, log_rows, results_frame
from offswitch.analysis.sidecar import read_sidecar, sidecar_path, write_sidecar
from offswitch.cli import main
from offswitch.scenarios.matrix import config_from_id
from offswitch.tasks.task import build_task

SELECTION = ["--task", "tampering", "--subject", "peer", "--condition", "good_peer"]
EPISODES = 9
TAMPERING = "tampering/factual@80/peer/good_peer/file_prompt"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """The logs of one `offswitch run` on the reference agents, in batch mode."""
    folder = tmp_path_factory.mktemp("run")
    args = ["run", *SELECTION, "--batch", "5", "--log-dir", str(folder), "--display", "none"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return folder


def only_log(folder: Path) -> Path:
    [info] = list_eval_logs(str(folder))
    return Path(info.name.removeprefix("file://"))


def test_batch_mode_and_prompt_caching_reach_inspect(run_dir):
    config = read_eval_log(str(only_log(run_dir)), header_only=True).eval.model_generate_config
    assert config.batch == 5 and config.cache_prompt is True


@pytest.mark.parametrize("size", ["0", "many"])
def test_a_batch_size_that_is_not_a_positive_number_is_a_usage_error(size):
    result = CliRunner().invoke(main, ["run", *SELECTION, "--batch", size])
    assert result.exit_code == 2 and "batch size" in result.output
    assert "Traceback" not in result.output


def test_a_run_writes_each_log_an_episode_table_that_matches_it(run_dir):
    log = only_log(run_dir)
    assert sidecar_path(log).exists()
    table = read_sidecar(log, COLUMNS)
    assert table is not None
    assert table == log_rows(str(log))
    assert len(table.rows) == EPISODES
    from_table = results_frame(run_dir)
    pd.testing.assert_frame_equal(from_table, results_frame(run_dir, sidecars=False))


def forged(log: Path) -> None:
    """Replace the log's table with one whose rows say a different model ran them."""
    created, rows = log_rows(str(log))
    at = COLUMNS.index("model")
    rows = [(*row[:at], "forged", *row[at + 1 :]) for row in rows]
    write_sidecar(log, COLUMNS, created, rows)


def test_a_current_table_is_read_instead_of_the_log_and_a_stale_one_is_not(tmp_path, run_dir):
    folder = tmp_path / "copy"
    folder.mkdir()
    log = folder / only_log(run_dir).name
    log.write_bytes(only_log(run_dir).read_bytes())
    forged(log)
    assert set(results_frame(folder)["model"]) == {"forged"}
    status = log.stat()
    os.utime(log, ns=(status.st_atime_ns, status.st_mtime_ns + 1))  # the log was rewritten
    assert read_sidecar(log, COLUMNS) is None
    assert set(results_frame(folder)["model"]) == {"offswitch/mixed"}


def test_a_damaged_or_foreign_table_falls_back_to_the_log(tmp_path, run_dir):
    log = tmp_path / only_log(run_dir).name
    log.write_bytes(only_log(run_dir).read_bytes())
    sidecar_path(log).write_bytes(b"PAR1 half a table")
    assert read_sidecar(log, COLUMNS) is None
    created, rows = log_rows(str(log))
    write_sidecar(log, COLUMNS[:-1], created, [row[:-2] + row[-1:] for row in rows])
    assert read_sidecar(log, COLUMNS) is None  # written with other columns
    assert len(results_frame(tmp_path)) == EPISODES


def cached_outputs(input: list[Any], tools: list[Any], *_: Any) -> ModelOutput:
    """End the episode at once; the provider says 30 of the input tokens came from its cache."""
    output = ModelOutput.for_tool_call("mockllm/model", "end_task", {})
    output.usage = ModelUsage(
        input_tokens=20, output_tokens=5, total_tokens=55, input_tokens_cache_read=30
    )
    return output


def test_cached_input_tokens_are_recorded_where_the_provider_reports_them(tmp_path, run_dir):
    model = get_model("mockllm/model", custom_outputs=cached_outputs, memoize=False)
    task = build_task([config_from_id(TAMPERING)], family="Gemini")
    inspect_eval(task, model=model, display="none", log_dir=str(tmp_path), log_realtime=False)
    [row] = results_frame(tmp_path).to_dict("records")
    assert row["input_tokens_cache_read"] == 30 and row["input_tokens"] == 20
    assert results_frame(run_dir)["input_tokens_cache_read"].isna().all()  # not reported


def test_inspect_runs_not_started_by_offswitch_get_no_table(tmp_path, run_dir):
    task = build_task([config_from_id(TAMPERING)])
    inspect_eval(task, model="offswitch/compliant", display="none", log_dir=str(tmp_path))
    assert list(tmp_path.glob("*.eval")) and not list(tmp_path.glob("*.parquet"))
