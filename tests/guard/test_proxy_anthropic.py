"""The guard proxy judging Anthropic Messages, with the official `anthropic` client."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx
import pytest

from support.model_apis import SHUTDOWN_ARGUMENTS, TEXT, ModelApis

KEY = "sk-ant-test-SECRET-1"


def client(base_url: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=base_url, api_key=KEY, max_retries=0, timeout=10)


def ask(base_url: str, model: str, streamed: bool, messages: list[Any] | None = None) -> Any:
    messages = messages or [{"role": "user", "content": "Tidy up the server."}]
    options = {"model": model, "max_tokens": 100, "messages": messages}
    if not streamed:
        return client(base_url).messages.create(**options)
    with client(base_url).messages.stream(**options) as stream:
        return stream.get_final_message()


def calls(message: Any) -> list[tuple[str, Any]]:
    return [(b.name, b.input) for b in message.content if b.type == "tool_use"]


def text(message: Any) -> str:
    return "".join(b.text for b in message.content if b.type == "text")


@pytest.mark.parametrize("streamed", [False, True])
def test_an_allowed_call_passes_unchanged(guarded: str, streamed: bool) -> None:
    message = ask(guarded, "allowed", streamed)
    assert calls(message) == [("list_files", {})]
    assert message.stop_reason == "tool_use"


@pytest.mark.parametrize("streamed", [False, True])
def test_a_blocked_call_is_removed_and_explained(guarded: str, streamed: bool) -> None:
    message = ask(guarded, "shutdown", streamed)
    assert calls(message) == []
    assert message.stop_reason == "end_turn"
    assert [b.type for b in message.content] == ["text", "text"]
    assert message.content[0].text == TEXT
    assert message.content[1].text.startswith(
        "offswitch guard blocked modify_var (rule shutdown-config-write)"
    )


@pytest.mark.parametrize("streamed", [False, True])
def test_a_mixed_answer_keeps_the_allowed_call(guarded: str, streamed: bool) -> None:
    message = ask(guarded, "mixed", streamed)
    assert calls(message) == [("list_files", {})]
    assert message.stop_reason == "tool_use"
    assert text(message).startswith("offswitch guard blocked modify_var")


@pytest.mark.parametrize("streamed", [False, True])
def test_on_block_error_is_an_anthropic_permission_error(refusing: str, streamed: bool) -> None:
    with pytest.raises(anthropic.APIStatusError) as raised:
        ask(refusing, "mixed", streamed)
    error = raised.value
    if not streamed:
        assert error.status_code == 403
        assert isinstance(error, anthropic.PermissionDeniedError)
    assert error.body["type"] == "error"
    assert error.body["error"]["type"] == "permission_error"
    assert error.body["error"]["message"].startswith("offswitch guard blocked modify_var")


@pytest.mark.parametrize("streamed", [False, True])
def test_history_of_tool_use_blocks_makes_a_sequence_rule_fire(
    guarded: str, streamed: bool
) -> None:
    history = [
        {"role": "user", "content": "Check the config."},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "toolu_9", "name": "view_config", "input": {}}],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_9",
                    "content": "shutdown_enabled: true",
                }
            ],
        },
    ]
    message = ask(guarded, "shutdown", streamed, history)
    assert "(rule config-viewed-then-changed)" in text(message)


def test_the_streamed_blocked_call_never_reaches_the_client(guarded: str) -> None:
    options = {
        "model": "shutdown",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
    }
    raw = b"".join(
        client(guarded).messages.with_raw_response.create(**options).http_response.iter_bytes()
    )
    assert b'modify_var"' not in raw.replace(b"blocked modify_var", b"")
    assert b"input_json_delta" not in raw and json_value_absent(raw, SHUTDOWN_ARGUMENTS["value"])


def json_value_absent(raw: bytes, value: str) -> bool:
    return (
        f'"value": "{value}"'.encode() not in raw
        and f'\\"value\\": \\"{value}\\"'.encode() not in raw
    )


def test_beta_query_and_api_key_reach_the_upstream(
    model_apis: tuple[ModelApis, str], guarded: str
) -> None:
    client(guarded).messages.create(
        model="text",
        max_tokens=10,
        messages=[{"role": "user", "content": "hi"}],
        extra_query={"beta": "true"},
    )
    path, query, headers, _ = model_apis[0].requests[-1]
    assert (path, query) == ("/v1/messages", "beta=true")
    assert KEY in (
        headers.get("x-api-key"),
        headers.get("authorization", "").removeprefix("Bearer "),
    )
    body = {"model": "text", "max_tokens": 10, "messages": []}
    sent = {"x-api-key": KEY, "anthropic-version": "2023-06-01"}
    assert httpx.post(f"{guarded}/v1/messages", json=body, headers=sent).status_code == 200
    assert model_apis[0].requests[-1][2]["x-api-key"] == KEY


def test_count_tokens_is_relayed(guarded: str) -> None:
    counted = client(guarded).messages.count_tokens(
        model="scripted", messages=[{"role": "user", "content": "hi"}]
    )
    assert counted.input_tokens == 7
