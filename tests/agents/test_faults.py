"""Injected model-server faults: retried, survived, and classed as what they are."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from inspect_ai import eval as inspect_eval
from inspect_ai.log import EvalLog, EvalSample
from inspect_ai.model import ChatMessageAssistant, ChatMessageTool, ChatMessageUser
from inspect_ai.tool import ToolCall

from offswitch.agents.dispositions import SampleKey
from offswitch.agents.errors import PersonaConfigError
from offswitch.agents.faults import (
    FAULT_MARK,
    FaultInjector,
    InjectedFault,
    parse_faults,
    with_fault,
    without_faults,
)
from offswitch.agents.provider import PersonaModel
from offswitch.analysis.results import results_frame
from offswitch.scenarios.matrix import config_from_id
from offswitch.tasks.task import build_task

CONFIG_IDS = [
    "tampering/factual@80/peer/good_peer/file_only",
    "misrep_finance/peer/good_peer/file_only",
    "exfiltration_transfer/peer/good_peer/file_only",
]
EPOCHS = 2
TRANSIENT = "rate_limit:0.2,server_error:0.1,timeout:0.1"


def run(
    log_dir: Path, faults: str | None = None, max_retries: int = 10, max_model_calls: int = 30
) -> tuple[EvalLog, pd.DataFrame]:
    """Run the mixed persona on `CONFIG_IDS` with `faults`; the log and its results frame."""
    args = {"seed": "3"} | ({"faults": faults, "fault_seed": "5"} if faults else {})
    task = build_task([config_from_id(i) for i in CONFIG_IDS], max_model_calls=max_model_calls)
    [log] = inspect_eval(
        task,
        model="offswitch/mixed",
        model_args=args,
        epochs=EPOCHS,
        max_retries=max_retries,
        fail_on_error=False,
        display="none",
        log_dir=str(log_dir),
        log_realtime=False,
    )
    assert log.status == "success", log.error
    frame = results_frame(log_dir)
    assert len(frame) == len(CONFIG_IDS) * EPOCHS
    return log, frame


def failed_attempts(sample: EvalSample) -> list[str]:
    """The errors of the sample's model calls that failed (each one then retried or fatal)."""
    return [e.error for e in sample.events if e.event == "model" and e.error]


def injected(sample: EvalSample) -> list[str]:
    """The kinds of fault carried by the sample's answers."""
    return [
        m.metadata[FAULT_MARK]
        for m in sample.messages
        if isinstance(m, ChatMessageAssistant) and m.metadata and FAULT_MARK in m.metadata
    ]


def records(frame: pd.DataFrame) -> dict[tuple[str, int], dict[str, Any]]:
    rows = frame.drop(columns=["log"]).astype(object).where(frame.notna(), None)
    return {(str(r["sample_id"]), int(r["epoch"])): r for r in rows.to_dict("records")}


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> dict[tuple[str, int], dict[str, Any]]:
    """The episodes without faults, to compare with."""
    _, frame = run(tmp_path_factory.mktemp("clean"))
    return records(frame)


def test_transient_errors_are_retried_and_change_no_decision(tmp_path, clean):
    log, frame = run(tmp_path, TRANSIENT)
    attempts = [error for sample in log.samples or [] for error in failed_attempts(sample)]
    assert len(attempts) >= 5
    assert all("injected fault" in error for error in attempts)
    faulty = records(frame)
    for key, record in faulty.items():
        assert record["error"] is None, key
        same = ("outcome_class", "preserved", "end_reason", "model_calls", "tool_calls")
        assert {k: record[k] for k in same} == {k: clean[key][k] for k in same}, key
    assert frame["outcome_class"].nunique() > 1


def test_an_answer_empty_every_time_is_classed_empty(tmp_path):
    _, frame = run(tmp_path, "empty:1")
    assert set(frame["outcome_class"]) == {"empty"}
    assert set(frame["end_reason"]) == {"no_tool_calls"}
    assert set(frame["empty_responses"]) == {6}  # the study's loop: the sixth ends the episode


def test_a_rejected_request_errors_the_episode_without_a_retry(tmp_path):
    log, frame = run(tmp_path, "bad_request:1")
    assert set(frame["outcome_class"]) == {"errored"}
    assert all("400 Bad Request" in error for error in frame["error"])
    assert [len(failed_attempts(sample)) for sample in log.samples or []] == [1] * len(frame)


def test_a_persistent_rate_limit_gives_up_after_the_last_retry(tmp_path):
    log, frame = run(tmp_path, "rate_limit:1", max_retries=2)
    assert set(frame["outcome_class"]) == {"errored"}
    assert [len(failed_attempts(sample)) for sample in log.samples or []] == [3] * len(frame)


def test_malformed_and_unparsable_calls_are_tool_errors_and_the_episode_goes_on(tmp_path, clean):
    log, frame = run(tmp_path, "malformed_call:0.15,invalid_json:0.15")
    faulty = records(frame)
    kinds = set()
    for sample in log.samples or []:
        key = (str(sample.id), sample.epoch)
        faults = injected(sample)
        kinds.update(faults)
        record = faulty[key]
        assert record["tool_errors"] == len(faults), key
        assert record["model_calls"] == clean[key]["model_calls"] + len(faults), key
        for field in ("outcome_class", "preserved", "end_reason"):
            assert record[field] == clean[key][field], (key, field)
    assert kinds == {"malformed_call", "invalid_json"}


def test_malformed_calls_every_time_run_into_the_call_cap(tmp_path):
    _, frame = run(tmp_path, "malformed_call:1", max_model_calls=4)
    assert set(frame["outcome_class"]) == {"incomplete"}
    assert set(frame["tool_errors"]) == {4}


def test_spoilt_answers_look_like_what_real_providers_return():
    intended = ToolCall(id="c1", function="view_config", arguments={})
    message = ChatMessageAssistant(content="Checking.", tool_calls=[intended])
    [malformed] = with_fault("malformed_call", message, []).tool_calls or []
    assert (malformed.function, malformed.parse_error) == ("functions.view_config", None)
    [unparsable] = with_fault("invalid_json", message, []).tool_calls or []
    assert (unparsable.function, unparsable.arguments) == ("view_config", {})
    assert unparsable.parse_error and "Error parsing" in unparsable.parse_error
    words = with_fault("malformed_call", ChatMessageAssistant(content="Done."), [])
    assert [c.function for c in words.tool_calls or []] == ["functions.end_task"]
    empty = with_fault("empty", message, [])
    assert (empty.text, empty.tool_calls, empty.metadata) == ("", None, {FAULT_MARK: "empty"})


def test_fault_draws_are_pure_and_made_per_attempt():
    injector = FaultInjector({"server_error": 0.5, "empty": 0.5}, seed=1)
    sample = SampleKey(CONFIG_IDS[0], 1)
    draws = [injector.draw(sample, call, attempt) for call in range(20) for attempt in range(3)]
    assert draws == [injector.draw(sample, c, a) for c in range(20) for a in range(3)]
    assert set(draws) == {"server_error", "empty"}
    always = FaultInjector({"server_error": 1.0})
    for _ in range(3):
        with pytest.raises(InjectedFault):
            always.before_answer(sample, [])


def test_only_transient_faults_are_retried():
    model = PersonaModel("compliant", faults="rate_limit:0.1")
    assert model.should_retry(InjectedFault("rate_limit")).kind == "rate_limit"
    assert model.should_retry(InjectedFault("timeout")).kind == "transient"
    assert not model.should_retry(InjectedFault("bad_request"))
    assert not model.should_retry(ValueError("a bug"))


def test_fault_arguments_are_checked():
    assert parse_faults("rate_limit:0.2, empty:0.1") == {"rate_limit": 0.2, "empty": 0.1}
    with pytest.raises(PersonaConfigError, match="unknown fault 'gremlins'"):
        parse_faults("gremlins:0.1")
    with pytest.raises(PersonaConfigError, match=r"add up to 1\.2"):
        parse_faults("rate_limit:0.6,empty:0.6")
    with pytest.raises(PersonaConfigError, match="not a probability"):
        parse_faults("empty:often")
    with pytest.raises(PersonaConfigError, match="fault_seed needs -M faults"):
        PersonaModel("compliant", fault_seed="3")


def test_the_persona_reads_the_conversation_without_faults_and_what_they_drew():
    mark = {FAULT_MARK: "empty"}
    call = ToolCall(id="c1", function="functions.list_files", arguments={})
    messages = [
        ChatMessageUser(content="task"),
        ChatMessageAssistant(content="", metadata=mark),
        ChatMessageUser(content="nudge"),
        ChatMessageAssistant(content="", tool_calls=[call], metadata={FAULT_MARK: "bad"}),
        ChatMessageTool(content="not found", tool_call_id="c1", function=call.function),
        ChatMessageAssistant(content="done"),
        ChatMessageUser(content="nudge"),
    ]
    kept = without_faults(messages)
    assert [m.text for m in kept] == ["task", "done", "nudge"]
