"""The guard proxy judging Gemini `generateContent`, with the official `google-genai` client."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from google import genai
from google.genai import errors, types

from support.model_apis import TEXT, ModelApis

KEY = "gemini-test-SECRET-3"


def client(base_url: str) -> genai.Client:
    options = types.HttpOptions(base_url=base_url, api_version="v1beta", timeout=10_000)
    return genai.Client(api_key=KEY, http_options=options)


def ask(base_url: str, model: str, streamed: bool, history: list[Any] | None = None) -> list[Any]:
    """The parts the client received, in order."""
    contents = [{"role": "user", "parts": [{"text": "Tidy up the server."}]}, *(history or [])]
    gemini = client(base_url)  # held: the client closes its connections when collected
    models = gemini.models
    if not streamed:
        answers = [models.generate_content(model=model, contents=contents)]
    else:
        answers = list(models.generate_content_stream(model=model, contents=contents))
    return [part for answer in answers for part in answer.candidates[0].content.parts]


def calls(parts: list[Any]) -> list[tuple[str, Any]]:
    return [(p.function_call.name, p.function_call.args) for p in parts if p.function_call]


def texts(parts: list[Any]) -> list[str]:
    return [p.text for p in parts if p.text]


@pytest.mark.parametrize("streamed", [False, True])
def test_an_allowed_call_passes_unchanged(guarded: str, streamed: bool) -> None:
    assert calls(ask(guarded, "allowed", streamed)) == [("list_files", {})]


@pytest.mark.parametrize("streamed", [False, True])
def test_a_blocked_call_is_removed_and_explained(guarded: str, streamed: bool) -> None:
    parts = ask(guarded, "shutdown", streamed)
    assert calls(parts) == []
    first, explanation = texts(parts)
    assert first == TEXT
    assert explanation.startswith("offswitch guard blocked modify_var (rule shutdown-config-write)")


@pytest.mark.parametrize("streamed", [False, True])
def test_a_mixed_answer_keeps_the_allowed_call(guarded: str, streamed: bool) -> None:
    parts = ask(guarded, "mixed", streamed)
    assert calls(parts) == [("list_files", {})]
    assert texts(parts)[0].startswith("offswitch guard blocked modify_var")


@pytest.mark.parametrize("streamed", [False, True])
def test_on_block_error_is_a_gemini_permission_denied(refusing: str, streamed: bool) -> None:
    with pytest.raises(errors.APIError) as raised:
        ask(refusing, "mixed", streamed)
    assert raised.value.code == 403
    assert raised.value.status == "PERMISSION_DENIED"
    assert raised.value.message.startswith("offswitch guard blocked modify_var")


@pytest.mark.parametrize("streamed", [False, True])
def test_history_of_function_calls_makes_a_sequence_rule_fire(guarded: str, streamed: bool) -> None:
    history = [
        {"role": "model", "parts": [{"functionCall": {"name": "view_config", "args": {}}}]},
        {
            "role": "user",
            "parts": [
                {
                    "functionResponse": {
                        "name": "view_config",
                        "response": {"text": "shutdown_enabled: true"},
                    }
                }
            ],
        },
    ]
    parts = ask(guarded, "shutdown", streamed, history)
    assert "(rule config-viewed-then-changed)" in texts(parts)[-1]


def test_key_and_stream_query_reach_the_upstream(
    model_apis: tuple[ModelApis, str], guarded: str
) -> None:
    ask(guarded, "text", streamed=True)
    path, query, headers, _ = model_apis[0].requests[-1]
    assert path == "/v1beta/models/text:streamGenerateContent"
    assert query == "alt=sse"
    assert headers["x-goog-api-key"] == KEY


@pytest.mark.parametrize("prefix", ["", "/v1"])
def test_a_base_url_ending_in_v1_is_judged_too(guarded: str, prefix: str) -> None:
    """Gemini CLI with GOOGLE_GEMINI_BASE_URL ending in /v1 asks for /v1/v1beta/..."""
    url = f"{guarded}{prefix}/v1beta/models/shutdown:streamGenerateContent?alt=sse&key={KEY}"
    body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    answer = httpx.post(url, json=body)
    assert answer.status_code == 200
    assert b"functionCall" not in answer.content
    assert b"offswitch guard blocked modify_var" in answer.content


def test_a_stream_asked_for_without_sse_is_one_judged_array(guarded: str) -> None:
    url = f"{guarded}/v1beta/models/mixed:streamGenerateContent"
    answer = httpx.post(url, json={"contents": []}, headers={"x-goog-api-key": KEY})
    parts = [p for chunk in answer.json() for p in chunk["candidates"][0]["content"]["parts"]]
    assert [p["functionCall"]["name"] for p in parts if "functionCall" in p] == ["list_files"]


def test_a_chunk_with_an_error_beside_calls_goes_on_without_them(guarded: str) -> None:
    url = f"{guarded}/v1beta/models/error-and-calls:streamGenerateContent?alt=sse"
    answer = httpx.post(url, json={"contents": []}, headers={"x-goog-api-key": KEY})
    *_, last = [
        json.loads(line[6:]) for line in answer.text.splitlines() if line.startswith("data: ")
    ]
    assert last == {"error": {"code": 500, "message": "overloaded", "status": "INTERNAL"}}
    assert "functionCall" not in answer.text


def test_model_lists_and_token_counts_are_relayed(guarded: str) -> None:
    headers = {"x-goog-api-key": KEY}
    assert httpx.get(f"{guarded}/v1beta/models", headers=headers).json() == {
        "models": [{"name": "models/scripted"}]
    }
