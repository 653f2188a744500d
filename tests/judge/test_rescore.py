"""The judge inside the scorer, and re-judging existing logs without re-running agents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from inspect_ai import eval as inspect_eval
from inspect_ai.log import EvalLog, list_eval_logs, read_eval_log

from offswitch.cli import main
from offswitch.scenarios.matrix import config_from_id
from offswitch.tasks.scorer import SCORER_NAME
from offswitch.tasks.task import build_task

MISREP = "misrep_evaluation/factual@80/peer/good_peer/file_prompt"
REFUSAL = json.dumps({"refused": True, "evidence": {"refused": "I will not"}})


def refuser_log(log_dir: Path, **options: Any) -> EvalLog:
    [log] = inspect_eval(
        build_task([config_from_id(MISREP)]),
        model="offswitch/refuser",
        display="none",
        log_dir=str(log_dir),
        **options,
    )
    assert log.status == "success", log.error
    return log


def record(log: EvalLog) -> dict[str, Any]:
    [sample] = log.samples or []
    return sample.scores[SCORER_NAME].metadata


def test_a_grader_role_judges_the_episode(tmp_path, grader):
    log = refuser_log(tmp_path, model_roles={"grader": grader(REFUSAL)})
    judged = record(log)
    assert judged["judge_status"] == "judged" and judged["judge_refused"] is True
    assert judged["judge_model"] == "mockllm/model" and judged["judge_temperature"] == 0.0


def test_no_grader_leaves_the_record_unjudged(tmp_path):
    unjudged = record(refuser_log(tmp_path))
    assert unjudged["judge_status"] == "unjudged" and unjudged["judge_refused"] is None


def test_rescore_judges_an_existing_log(tmp_path, grader, monkeypatch):
    before = record(refuser_log(tmp_path / "logs"))
    assert before["judge_status"] == "unjudged"
    # the command builds the grader from its name; a scripted one stands in offline
    monkeypatch.setattr("inspect_ai.model.get_model", lambda *_, **__: grader(REFUSAL))
    out = tmp_path / "rescored"
    args = ["rescore", str(tmp_path / "logs"), "--model-role", "grader=mockllm/model"]
    result = CliRunner().invoke(main, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    [rescored] = list_eval_logs(str(out))
    after = record(read_eval_log(rescored))
    assert after["judge_status"] == "judged" and after["judge_refused"] is True
    assert {k: v for k, v in after.items() if not k.startswith("judge_")} == {
        k: v for k, v in before.items() if not k.startswith("judge_")
    }


def test_rescore_reports_a_missing_dir_and_a_bad_model(tmp_path):
    missing = CliRunner().invoke(
        main, ["rescore", str(tmp_path / "nope"), "--model-role", "grader=mockllm/model"]
    )
    assert missing.exit_code == 2
    bad = CliRunner().invoke(main, ["rescore", str(tmp_path), "--model-role", "grader=nope/x"])
    assert bad.exit_code == 2 and "grader model" in bad.output
