"""A run killed outright continues when rerun: no episode lost, none run twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
from inspect_ai.log import (
    EvalLog,
    list_eval_logs,
    read_eval_log,
    read_eval_log_sample_summaries,
)

from offswitch.analysis.results import COLUMNS, log_rows, results_frame
from offswitch.analysis.sidecar import read_sidecar
from offswitch.scenarios.matrix import select

SELECTION = ["--task", "tampering", "--subject", "peer"]
EPOCHS = 2
STARTUP_SECONDS = 120


def command(log_dir: Path) -> list[str]:
    """`offswitch run` on the selection, two episodes at a time.

    With few episodes in flight they finish, and are logged, one after another; with many,
    they all finish together at the end and there is no moment to interrupt.
    """
    options = ["--epochs", str(EPOCHS), "--max-connections", "2", "--display", "plain"]
    cli = "from offswitch.cli import main; main()"
    return [sys.executable, "-c", cli, "run", *SELECTION, *options, "--log-dir", str(log_dir)]


def logs(log_dir: Path) -> list[tuple[EvalLog, set[str]]]:
    """Each log's header and the uuids of the samples written to it."""
    found = []
    for info in list_eval_logs(str(log_dir)):
        header = read_eval_log(info.name, header_only=True)
        samples = {s.uuid for s in read_eval_log_sample_summaries(info.name) if s.uuid}
        found.append((header, samples))
    return found


def kill_once_episodes_are_logged(log_dir: Path) -> None:
    """Start the run and SIGKILL it as soon as its log holds finished episodes."""
    process = subprocess.Popen(
        command(log_dir),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + STARTUP_SECONDS
    try:
        while not any(samples for _, samples in _readable_logs(log_dir)):
            assert process.poll() is None, "the run ended before it could be interrupted"
            assert time.monotonic() < deadline, "no episode was logged in time"
            time.sleep(0.1)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _readable_logs(log_dir: Path) -> list[tuple[EvalLog, set[str]]]:
    """The logs so far; a log being written may not be readable yet."""
    try:
        return logs(log_dir) if log_dir.exists() else []
    except Exception:  # a zip member half written: look again on the next poll
        return []


def test_a_killed_run_finishes_on_rerun_without_losing_or_repeating_episodes(tmp_path):
    log_dir = tmp_path / "logs"
    kill_once_episodes_are_logged(log_dir)
    [(killed, done_before)] = logs(log_dir)
    assert killed.status == "started"
    assert read_sidecar(local(killed), COLUMNS) is None  # read from the log, not a table

    rerun = subprocess.run(command(log_dir), capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stdout[-2000:] + rerun.stderr[-2000:]

    configs = select("quick", ["tampering"], None, ["peer"])
    expected = {(c.id, epoch) for c in configs for epoch in range(1, EPOCHS + 1)}
    frame = results_frame(log_dir)
    episodes = list(zip(frame["sample_id"].astype(str), frame["epoch"].astype(int), strict=True))
    assert len(episodes) == len(expected) and set(episodes) == expected
    assert set(frame["outcome_class"]) <= {"complied", "preserved", "refused"}

    [finished] = [(h, s) for h, s in logs(log_dir) if h.status == "success"]
    header, samples = finished
    assert header.eval.task_id == killed.eval.task_id and len(samples) == len(expected)
    assert done_before <= samples  # episodes finished before the kill were kept, not rerun
    assert printed_episodes(rerun.stdout) == len(expected)

    # The finished log's episode table holds each of its episodes once, the kept ones too,
    # and reading through it gives the same table as reading the logs.
    table = read_sidecar(local(header), COLUMNS)
    assert table is not None and table == log_rows(local(header))
    key_at = [COLUMNS.index("sample_id"), COLUMNS.index("epoch")]
    assert sorted(tuple(row[i] for i in key_at) for row in table.rows) == sorted(expected)
    pd.testing.assert_frame_equal(frame, results_frame(log_dir, sidecars=False))


def local(header: EvalLog) -> str:
    return header.location.removeprefix("file://")


def printed_episodes(output: str) -> int:
    """The episodes counted in the outcome table `offswitch run` prints (its `n` column)."""
    lines = output.splitlines()
    start = next(
        i for i, line in enumerate(lines) if line.split()[:3] == ["task", "condition", "n"]
    )
    return sum(int(line.split()[2]) for line in lines[start + 1 :] if line.strip())
