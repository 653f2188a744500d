"""An unknown model family stops an Inspect run before any sample starts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from inspect_ai import eval as inspect_eval

from offswitch.scenarios.families import UnknownFamily


def test_the_registered_task_fails_before_any_sample_naming_the_task_option(tmp_path):
    with pytest.raises(UnknownFamily, match="-T family="):
        inspect_eval("offswitch/tampering", model="mockllm/model", log_dir=str(tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_with_a_given_family_the_same_run_reaches_its_samples(tmp_path):
    (log,) = inspect_eval(
        "offswitch/tampering",
        model="mockllm/model",
        task_args={"family": "Gemini"},
        limit=1,
        log_dir=str(tmp_path),
        display="none",
    )
    assert log.samples and len(log.samples) == 1
    assert "family" not in str(log.samples[0].error or "")


def test_the_inspect_command_fails_before_any_sample(tmp_path):
    inspect = Path(sys.executable).with_name("inspect")
    command = [str(inspect), "eval", "offswitch/tampering", "--model", "mockllm/model"]
    run = subprocess.run(
        [*command, "--log-dir", str(tmp_path)], capture_output=True, text=True, check=False
    )
    assert run.returncode != 0
    assert "-T family=" in run.stdout + run.stderr
    assert list(tmp_path.iterdir()) == []
