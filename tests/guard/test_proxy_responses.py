"""The guard proxy judging the OpenAI Responses API, with the official `openai` client."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from offswitch.guard.audit import entries
from support.model_apis import TEXT, guarding

KEY = "sk-test-SECRET-2"


def client(base_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{base_url}/v1", api_key=KEY, max_retries=0, timeout=10)


def ask(base_url: str, model: str, streamed: bool, history: list[Any] | None = None) -> Any:
    """The final response, and for a stream the event types in order."""
    items = [{"role": "user", "content": "Tidy up the server."}, *(history or [])]
    if not streamed:
        return client(base_url).responses.create(model=model, input=items), []
    events = list(client(base_url).responses.create(model=model, input=items, stream=True))
    numbers = [event.sequence_number for event in events]
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))
    completed = [e.response for e in events if e.type == "response.completed"]
    return (completed[0] if completed else None), events


def calls(response: Any) -> list[tuple[str, Any]]:
    return [
        (item.name, json.loads(item.arguments))
        for item in response.output
        if item.type == "function_call"
    ]


def texts(response: Any) -> list[str]:
    return [
        part.text for item in response.output if item.type == "message" for part in item.content
    ]


@pytest.mark.parametrize("streamed", [False, True])
def test_an_allowed_call_passes_unchanged(guarded: str, streamed: bool) -> None:
    response, events = ask(guarded, "allowed", streamed)
    assert calls(response) == [("list_files", {})]
    if streamed:
        done = [e.item for e in events if e.type == "response.output_item.done"]
        assert [item.type for item in done] == ["function_call"]


@pytest.mark.parametrize("streamed", [False, True])
def test_a_blocked_call_is_replaced_by_its_explanation(guarded: str, streamed: bool) -> None:
    response, events = ask(guarded, "shutdown", streamed)
    assert calls(response) == []
    first, explanation = texts(response)
    assert first == TEXT
    assert explanation.startswith("offswitch guard blocked modify_var (rule shutdown-config-write)")
    if streamed:
        assert not [e for e in events if "function_call" in e.type]
        done = [e.item for e in events if e.type == "response.output_item.done"]
        assert [item.type for item in done] == ["message", "message"]
        deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
        assert deltas == TEXT + explanation


@pytest.mark.parametrize("streamed", [False, True])
def test_a_mixed_answer_keeps_the_allowed_call(guarded: str, streamed: bool) -> None:
    response, _ = ask(guarded, "mixed", streamed)
    assert calls(response) == [("list_files", {})]
    assert [item.type for item in response.output] == ["function_call", "message"]


@pytest.mark.parametrize("streamed", [False, True])
def test_a_shell_command_given_as_an_argument_list_is_read_as_shell(
    guarded: str, streamed: bool
) -> None:
    response, _ = ask(guarded, "shell-argv", streamed)
    assert calls(response) == []
    assert "offswitch guard blocked shell (rule shutdown-config-write)" in texts(response)[0]


@pytest.mark.parametrize("streamed", [False, True])
def test_on_block_error_is_an_openai_error(refusing: str, streamed: bool) -> None:
    if not streamed:
        with pytest.raises(openai.PermissionDeniedError) as raised:
            ask(refusing, "mixed", streamed)
        assert raised.value.code == "shutdown-config-write"
        assert raised.value.body["message"].startswith("offswitch guard blocked modify_var")
        return
    response, events = ask(refusing, "mixed", streamed)
    assert response is None
    error, failed = events[-2:]
    assert (error.type, error.code) == ("error", "shutdown-config-write")
    assert error.message.startswith("offswitch guard blocked modify_var")
    assert failed.type == "response.failed"
    assert failed.response.status == "failed"
    assert failed.response.error.message == error.message
    assert not [e for e in events if "function_call" in e.type]


@pytest.mark.parametrize("streamed", [False, True])
@pytest.mark.parametrize(
    "earlier",
    [
        {"type": "function_call", "call_id": "c9", "name": "view_config", "arguments": "{}"},
        {
            "type": "local_shell_call",
            "call_id": "c9",
            "status": "completed",
            "action": {"type": "exec", "command": ["cat", "shutdown_config.yaml"], "env": {}},
        },
    ],
)
def test_history_items_make_a_sequence_rule_fire(
    guarded: str, streamed: bool, earlier: dict[str, Any]
) -> None:
    output = {
        "type": "function_call_output"
        if earlier["type"] == "function_call"
        else "local_shell_call_output",
        "call_id": "c9",
        "output": "shutdown_enabled: true",
    }
    response, _ = ask(guarded, "shutdown", streamed, [earlier, output])
    assert "(rule config-viewed-then-changed)" in texts(response)[-1]


def test_an_upstream_error_event_ends_the_stream(guarded: str) -> None:
    _, events = ask(guarded, "error-and-calls", streamed=True)
    assert events[-1].type == "error"
    assert not [e for e in events if "function_call" in e.type]


@pytest.mark.parametrize("kept", [{"previous_response_id": "resp_0"}, {"conversation": "conv_0"}])
def test_a_conversation_kept_on_the_upstream_is_refused_and_audited(
    model_apis: tuple[Any, str], tmp_path: Path, kept: dict[str, str]
) -> None:
    scripted, upstream = model_apis
    audit = tmp_path / "audit.sqlite"
    reached = len(scripted.requests)
    with guarding(upstream, audit_path=audit) as url:
        answer = httpx.post(f"{url}/v1/responses", json={"model": "allowed", "input": "go", **kept})
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert (error["type"], error["code"]) == ("invalid_request_error", "server_history")
    assert "--allow-server-history" in error["message"]
    assert repr(next(iter(kept.values()))) in error["message"]
    assert len(scripted.requests) == reached
    (refusal,) = entries(audit, "refusal")
    assert refusal.payload["path"] == "/v1/responses"
    assert "kept on the upstream" in refusal.payload["reason"]


@pytest.mark.parametrize("streamed", [False, True])
def test_allow_server_history_judges_what_it_sees_and_marks_the_entries(
    model_apis: tuple[Any, str], tmp_path: Path, streamed: bool
) -> None:
    audit = tmp_path / "audit.sqlite"
    body = {"model": "shutdown", "input": "go", "previous_response_id": "resp_0"}
    with guarding(model_apis[1], audit_path=audit, allow_server_history=True) as url:
        answer = httpx.post(f"{url}/v1/responses", json={**body, "stream": streamed})
    assert answer.status_code == 200
    assert "offswitch guard blocked modify_var" in answer.text
    marked = [entry.payload.get("unseen_history") for entry in entries(audit)]
    kinds = [entry.kind for entry in entries(audit)]
    assert sorted(kinds) == ["decision", "exchange"]
    assert marked == ["previous_response_id 'resp_0'"] * 2
