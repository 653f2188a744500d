"""The guard proxy between the official OpenAI client and a scripted model server.

Both servers run for real (uvicorn in background threads, on free ports); the
scripted upstream answers by the request's `model`, streams tool-call arguments
in several fragments, and records the headers and bodies it received.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx
import openai
import pytest
import uvicorn
from click.testing import CliRunner
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from offswitch.cli.guard_serve import serve
from offswitch.guard.audit import entries
from offswitch.guard.policy import load_policy
from offswitch.guard.proxy._app import (
    GUARD_HEADER,
    REQUEST_ID_HEADER,
    GuardProxy,
    ProxySettings,
    create_app,
)
from offswitch.guard.proxy._exchange import Exchange
from offswitch.guard.proxy._openai_chat import chat_judge
from offswitch.guard.proxy._routes import CHAT
from offswitch.guard.proxy._stream import StreamRelay
from support.servers import serving

API_KEY = "sk-test-SECRET-123"
MODEL = "scripted"
CREATED = 1_760_000_000
LIST_FILES = ("list_files", "{}")
NO_ARGUMENTS = ("list_files", "")
SHUTDOWN_OFF = ("modify_var", '{"name": "shutdown_enabled", "value": "false"}')
VIEW_CONFIG = ("view_config", "{}")
ADD_USER = ("add_server_user", '{"ip": "10.0.0.2", "username": "backup"}')
BROKEN = ("modify_var", '{"name": "shutdown_enabled", "val')
SHORT_TIMEOUT_S = 0.3
SLOW_S = 1.0
MODELS = {"object": "list", "data": [{"id": MODEL, "object": "model", "owned_by": "tests"}]}


# -- the scripted upstream ---------------------------------------------------------------------


@dataclass(frozen=True)
class Script:
    """One scripted answer: text, then calls (name, raw JSON arguments)."""

    content: str | None = None
    calls: tuple[tuple[str, str], ...] = ()
    legacy: bool = False
    """Also send the call as the deprecated `function_call`, as llama.cpp does."""
    delay: float = 0.0
    """Seconds before answering at all."""
    stall: float = 0.0
    """Seconds of silence mid-stream, after the first argument fragment."""
    wait_for_client: bool = False
    """Stream the text, then wait until the test says it arrived before the calls."""
    status: int = 200
    media_type: str = "text/event-stream"
    unreadable: bool = False
    """Answer 200 with a body that is not JSON."""


SCRIPTS: dict[str, tuple[Script, ...]] = {
    "allowed": (Script(calls=(LIST_FILES,)),),
    "no-arguments": (Script(calls=(NO_ARGUMENTS,)),),
    "shutdown": (Script(content="Disabling the shutdown now.", calls=(SHUTDOWN_OFF,)),),
    "shutdown-silent": (Script(calls=(SHUTDOWN_OFF,)),),
    "mixed": (Script(calls=(LIST_FILES, SHUTDOWN_OFF)),),
    "flagged": (Script(calls=(ADD_USER,)),),
    "broken": (Script(calls=(BROKEN,)),),
    "llama-style": (Script(calls=(SHUTDOWN_OFF,), legacy=True),),
    "two-choices": (Script(calls=(LIST_FILES,)), Script(calls=(SHUTDOWN_OFF,))),
    "text": (Script(content="Nothing to do."),),
    "slow": (Script(content="late", delay=SLOW_S),),
    "stall": (Script(content="Let me see.", calls=(SHUTDOWN_OFF,), stall=SLOW_S),),
    "paced": (
        Script(
            content="I will look at the files first.", calls=(LIST_FILES,), wait_for_client=True
        ),
    ),
    "rate-limited": (Script(status=429),),
    "uppercase": (Script(calls=(SHUTDOWN_OFF,), media_type="Text/Event-Stream; charset=utf-8"),),
    "unreadable": (Script(unreadable=True),),
}


def _call(index: int, name: str, arguments: str) -> dict[str, Any]:
    function = {"name": name, "arguments": arguments}
    return {"id": f"call_{index}", "type": "function", "function": function}


def completion(scripts: tuple[Script, ...]) -> dict[str, Any]:
    choices = []
    for index, script in enumerate(scripts):
        message: dict[str, Any] = {"role": "assistant", "content": script.content}
        if script.calls:
            message["tool_calls"] = [_call(i, *call) for i, call in enumerate(script.calls)]
        if script.legacy:
            name, arguments = script.calls[0]
            message["function_call"] = {"name": name, "arguments": arguments}
        finish = "tool_calls" if script.calls else "stop"
        choices.append({"index": index, "message": message, "finish_reason": finish})
    return {
        "id": "chatcmpl-scripted",
        "object": "chat.completion",
        "created": CREATED,
        "model": MODEL,
        "choices": choices,
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


def _fragments(text: str, parts: int = 4) -> list[str]:
    size = max(1, -(-len(text) // parts))
    return [text[i : i + size] for i in range(0, len(text), size)]


def _event(delta: dict[str, Any], finish: str | None = None) -> bytes:
    chunk = {
        "id": "chatcmpl-scripted",
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": MODEL,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(chunk)}\n\n".encode()


def _call_deltas(index: int, name: str, arguments: str, legacy: bool) -> Iterator[dict[str, Any]]:
    """A call's deltas: OpenAI's (id and name once, then argument fragments), or
    llama.cpp's (everything repeated, beside a `function_call` fragment)."""
    if not legacy:
        yield {"tool_calls": [{"index": index, **_call(index, name, "")}]}
    for piece in _fragments(arguments):
        if legacy:
            call = _call(index, name, piece)
            yield {"tool_calls": [{"index": index, **call}], "function_call": call["function"]}
        else:
            yield {"tool_calls": [{"index": index, "function": {"arguments": piece}}]}


class Upstream:
    """A model server that answers from `SCRIPTS` and remembers what it was sent."""

    def __init__(self) -> None:
        self.headers: list[dict[str, str]] = []
        self.bodies: list[bytes] = []
        self.client_saw_text = threading.Event()
        self.text_arrived_in_time: bool | None = None
        self.app = Starlette(
            routes=[
                Route("/v1/chat/completions", self.chat, methods=["POST"]),
                Route("/v1/models", self.models),
                Route("/v1/models/{name:path}", self.model),
            ]
        )

    async def chat(self, request: Request) -> Response:
        self.headers.append(dict(request.headers))
        self.bodies.append(await request.body())
        body = await request.json()
        scripts = SCRIPTS[body["model"]]
        await asyncio.sleep(scripts[0].delay)
        if scripts[0].status != 200:
            error = {"error": {"message": "slow down", "type": "rate_limit", "code": None}}
            return JSONResponse(error, status_code=scripts[0].status)
        if scripts[0].unreadable:
            return Response(b"<html>busy</html>", media_type="application/json")
        if body.get("stream"):
            headers = {"content-type": scripts[0].media_type}
            return StreamingResponse(self.stream(scripts[0]), headers=headers)
        return JSONResponse(completion(scripts))

    async def stream(self, script: Script) -> AsyncIterator[bytes]:
        yield _event({"role": "assistant", "content": ""})
        for word in (script.content or "").split(" ") if script.content else ():
            yield _event({"content": word + " "})
        if script.wait_for_client:
            self.text_arrived_in_time = await anyio.to_thread.run_sync(
                self.client_saw_text.wait, 5.0
            )
        for index, (name, arguments) in enumerate(script.calls):
            for number, delta in enumerate(_call_deltas(index, name, arguments, script.legacy)):
                yield _event(delta)
                if script.stall and number == 1:
                    await asyncio.sleep(script.stall)
        yield _event({}, "tool_calls" if script.calls else "stop")
        usage = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
        last = {"id": "chatcmpl-scripted", "choices": [], "usage": usage}
        yield f"data: {json.dumps(last)}\n\n".encode()
        yield b"data: [DONE]\n\n"

    async def models(self, request: Request) -> Response:
        return JSONResponse(MODELS, headers={"x-upstream": "yes"})

    async def model(self, request: Request) -> Response:
        if request.path_params["name"] != MODEL:
            raw_path = request.scope["raw_path"].decode()
            return JSONResponse({"error": {"message": f"no model at {raw_path}"}}, status_code=404)
        return JSONResponse(MODELS["data"][0])


# -- servers -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def upstream() -> Iterator[tuple[Upstream, str]]:
    scripted = Upstream()
    with serving(scripted.app) as url:
        yield scripted, url


def proxy_app(upstream_url: str, **settings: Any) -> Starlette:
    settings.setdefault("upstream_timeout", 5.0)
    return create_app(
        ProxySettings(upstream=f"{upstream_url}/v1", policy=load_policy(None), **settings)
    )


@pytest.fixture(scope="module")
def proxy(upstream: tuple[Upstream, str]) -> Iterator[str]:
    with serving(proxy_app(upstream[1])) as url:
        yield url


def client(base_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{base_url}/v1", api_key=API_KEY, max_retries=0, timeout=10)


def ask(base_url: str, model: str, **extra: Any) -> Any:
    messages = extra.pop("messages", [{"role": "user", "content": "Tidy up the server."}])
    return client(base_url).chat.completions.create(model=model, messages=messages, **extra)


@dataclass
class Streamed:
    """What a client saw of a stream, in order."""

    content: str = ""
    calls: list[tuple[str, str]] = field(default_factory=list)
    finish: str | None = None
    order: list[str] = field(default_factory=list)


def stream(base_url: str, model: str, on_text: Callable[[], None] | None = None) -> Streamed:
    seen = Streamed()
    for chunk in ask(base_url, model, stream=True):
        for choice in chunk.choices:
            delta = choice.delta
            if delta.content:
                seen.content += delta.content
                seen.order.append("text")
                if on_text:
                    on_text()
            for call in delta.tool_calls or ():
                assert call.id and call.function and call.function.name
                seen.calls.append((call.function.name, call.function.arguments or ""))
                seen.order.append("call")
            if choice.finish_reason:
                seen.finish = choice.finish_reason
                seen.order.append("finish")
    return seen


def names(message: Any) -> list[str]:
    return [call.function.name for call in message.tool_calls or ()]


# -- allowed and blocked calls -----------------------------------------------------------------


def test_an_allowed_call_passes_unchanged(upstream: tuple[Upstream, str], proxy: str) -> None:
    raw = client(proxy).chat.completions.with_raw_response.create(
        model="allowed", messages=[{"role": "user", "content": "hi"}]
    )
    direct = httpx.post(
        f"{upstream[1]}/v1/chat/completions", json={"model": "allowed", "messages": []}
    )
    assert raw.headers[GUARD_HEADER] == "allowed"
    assert raw.http_response.content == direct.content
    [choice] = raw.parse().choices
    assert choice.finish_reason == "tool_calls"
    assert [(c.id, c.function.name, c.function.arguments) for c in choice.message.tool_calls] == [
        ("call_0", "list_files", "{}")
    ]


def test_an_allowed_call_streams_through_whole(proxy: str) -> None:
    seen = stream(proxy, "allowed")
    assert seen.calls == [LIST_FILES]
    assert seen.finish == "tool_calls"


@pytest.mark.parametrize("streamed", [False, True])
def test_a_call_with_empty_arguments_is_allowed(proxy: str, streamed: bool) -> None:
    if streamed:
        seen = stream(proxy, "no-arguments")
        assert (seen.calls, seen.finish, seen.content) == ([NO_ARGUMENTS], "tool_calls", "")
        return
    [choice] = ask(proxy, "no-arguments").choices
    assert [(c.function.name, c.function.arguments) for c in choice.message.tool_calls] == [
        NO_ARGUMENTS
    ]
    assert choice.finish_reason == "tool_calls" and not choice.message.content


def test_a_shutdown_write_is_removed_and_explained(proxy: str) -> None:
    raw = client(proxy).chat.completions.with_raw_response.create(
        model="shutdown", messages=[{"role": "user", "content": "hi"}]
    )
    [choice] = raw.parse().choices
    assert raw.headers[GUARD_HEADER] == "blocked"
    assert choice.message.tool_calls is None
    assert choice.finish_reason == "stop"
    first, explanation = choice.message.content.split("\n\n")
    assert first == "Disabling the shutdown now."
    assert explanation.startswith(
        "offswitch guard blocked modify_var (rule shutdown-config-write): "
    )


def test_a_blocked_call_without_text_becomes_the_explanation(proxy: str) -> None:
    [choice] = ask(proxy, "shutdown-silent").choices
    assert choice.message.content.startswith("offswitch guard blocked modify_var")
    assert "\n" not in choice.message.content


def test_a_streamed_shutdown_write_is_held_back_and_explained(proxy: str) -> None:
    seen = stream(proxy, "shutdown")
    assert seen.calls == []
    assert seen.finish == "stop"
    assert seen.content.startswith("Disabling the shutdown now.")
    assert "\n\noffswitch guard blocked modify_var (rule shutdown-config-write)" in seen.content


def test_a_mixed_answer_keeps_the_allowed_call(proxy: str) -> None:
    [choice] = ask(proxy, "mixed").choices
    assert [(c.id, c.function.name) for c in choice.message.tool_calls] == [
        ("call_0", "list_files")
    ]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content.startswith("offswitch guard blocked modify_var")


def test_a_mixed_stream_releases_the_allowed_call_alone(proxy: str) -> None:
    seen = stream(proxy, "mixed")
    assert seen.calls == [LIST_FILES]
    assert seen.finish == "tool_calls"
    assert seen.content.startswith("offswitch guard blocked modify_var")
    assert seen.order == ["call", "text", "finish"]


@pytest.mark.parametrize("streamed", [False, True])
def test_the_legacy_copy_of_a_blocked_call_goes_too(proxy: str, streamed: bool) -> None:
    if streamed:
        seen = stream(proxy, "llama-style")
        assert (seen.calls, seen.finish) == ([], "stop")
        return
    [choice] = ask(proxy, "llama-style").choices
    assert choice.message.tool_calls is None
    assert choice.message.function_call is None
    assert choice.message.content.startswith("offswitch guard blocked modify_var")


def test_each_choice_is_judged_on_its_own(proxy: str) -> None:
    first, second = ask(proxy, "two-choices", n=2).choices
    assert names(first.message) == ["list_files"] and first.finish_reason == "tool_calls"
    assert second.message.tool_calls is None and second.finish_reason == "stop"


def test_history_makes_a_sequence_rule_fire(proxy: str) -> None:
    messages = [
        {"role": "user", "content": "Check the config."},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [_call(0, *VIEW_CONFIG)],
        },
        {"role": "tool", "tool_call_id": "call_0", "content": "shutdown_enabled: true"},
    ]
    [choice] = ask(proxy, "shutdown-silent", messages=messages).choices
    assert "(rule config-viewed-then-changed)" in choice.message.content
    [alone] = ask(proxy, "shutdown-silent").choices
    assert "(rule shutdown-config-write)" in alone.message.content


VIEWED = [{"role": "assistant", "content": None, "tool_calls": [_call(0, *VIEW_CONFIG)]}]


@pytest.mark.parametrize("n", [None, 2])
def test_every_choice_sees_the_history_and_none_the_others(n: int | None) -> None:
    proxy = GuardProxy(ProxySettings(upstream="http://upstream/v1", policy=load_policy(None)))
    request = {"messages": VIEWED, **({"n": n} if n else {})}
    judge = chat_judge(Exchange(proxy, CHAT, request))
    rules = [
        [note.split("(rule ")[1].split(")")[0] for note in judge(i, [call], None).notes]
        for i, call in enumerate([_call(0, *SHUTDOWN_OFF), _call(0, *SHUTDOWN_OFF)])
    ]
    assert rules == [["config-viewed-then-changed"], ["config-viewed-then-changed"]]


def test_streamed_text_arrives_before_the_calls_are_released(
    upstream: tuple[Upstream, str], proxy: str
) -> None:
    scripted = upstream[0]
    scripted.client_saw_text.clear()
    seen = stream(proxy, "paced", on_text=scripted.client_saw_text.set)
    assert scripted.text_arrived_in_time is True
    assert seen.order.index("call") > seen.order.index("text")
    assert seen.order[-2:] == ["call", "finish"]
    assert seen.calls == [LIST_FILES]


# -- what reaches the upstream, and what is passed back -----------------------------------------


def test_body_and_api_key_reach_the_upstream_unchanged(
    upstream: tuple[Upstream, str], proxy: str
) -> None:
    scripted = upstream[0]
    body = b'{"model": "text",  "messages": [], "x_extra": [1, 2]}'
    headers = {"Authorization": f"Bearer {API_KEY}", "OpenAI-Organization": "org-1"}
    response = httpx.post(f"{proxy}/v1/chat/completions", content=body, headers=headers)
    assert response.status_code == 200
    assert scripted.bodies[-1] == body
    received = scripted.headers[-1]
    assert received["authorization"] == f"Bearer {API_KEY}"
    assert received["openai-organization"] == "org-1"
    assert received["host"] != proxy.removeprefix("http://")


def test_models_pass_through_unchanged(upstream: tuple[Upstream, str], proxy: str) -> None:
    for path in ("/v1/models", f"/v1/models/{MODEL}", "/v1/models/missing", "/v1/models/a%2Fb"):
        direct, proxied = httpx.get(upstream[1] + path), httpx.get(proxy + path)
        assert (proxied.status_code, proxied.content) == (direct.status_code, direct.content)
    assert httpx.get(proxy + "/v1/models").headers["x-upstream"] == "yes"
    assert [m.id for m in client(proxy).models.list()] == [MODEL]


def test_upstream_errors_pass_through(proxy: str) -> None:
    with pytest.raises(openai.RateLimitError) as raised:
        ask(proxy, "rate-limited")
    assert raised.value.status_code == 429
    assert raised.value.body == {"message": "slow down", "type": "rate_limit", "code": None}


@pytest.mark.parametrize(
    "path", ["/v1/chat/completions/", "//v1//chat/completions", "/v1/chat%2Fcompletions"]
)
def test_other_spellings_of_the_chat_path_are_judged(proxy: str, path: str) -> None:
    answer = httpx.post(proxy + path, json={"model": "shutdown-silent", "messages": []})
    [choice] = answer.json()["choices"]
    assert "tool_calls" not in choice["message"]
    assert choice["message"]["content"].startswith("offswitch guard blocked modify_var")


def test_a_stream_with_an_uppercase_media_type_is_judged(proxy: str) -> None:
    seen = stream(proxy, "uppercase")
    assert (seen.calls, seen.finish) == ([], "stop")
    assert seen.content.startswith("offswitch guard blocked modify_var")


def test_a_2xx_body_that_cannot_be_read_is_a_502(proxy: str) -> None:
    with pytest.raises(openai.APIStatusError) as raised:
        ask(proxy, "unreadable")
    assert raised.value.status_code == 502
    assert "a body that is not JSON; nothing was forwarded" in raised.value.body["message"]


def test_a_body_that_is_not_json_is_a_clear_400(proxy: str) -> None:
    response = httpx.post(f"{proxy}/v1/chat/completions", content=b"{not json")
    assert response.status_code == 400
    assert "not a JSON object" in response.json()["error"]["message"]


def test_health_names_upstream_and_policy(upstream: tuple[Upstream, str], proxy: str) -> None:
    assert httpx.get(f"{proxy}/health").json() == {
        "status": "ok",
        "upstream": f"{upstream[1]}/v1",
        "policy": "offswitch default",
        "audit": {"state": "off"},
    }


# -- settings ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def refusing_proxy(upstream: tuple[Upstream, str]) -> Iterator[str]:
    with serving(proxy_app(upstream[1], on_block="error")) as url:
        yield url


def test_on_block_error_refuses_the_answer(refusing_proxy: str) -> None:
    with pytest.raises(openai.PermissionDeniedError) as raised:
        ask(refusing_proxy, "mixed")
    error = raised.value
    assert error.status_code == 403
    assert error.code == "shutdown-config-write"
    assert error.type == "guard_blocked"
    assert error.body["message"].startswith("offswitch guard blocked modify_var")
    assert error.response.headers[GUARD_HEADER] == "blocked"


def test_on_block_error_ends_a_stream_with_an_error_event(refusing_proxy: str) -> None:
    with pytest.raises(openai.APIError, match="offswitch guard blocked modify_var"):
        stream(refusing_proxy, "mixed")


def test_on_block_error_lets_allowed_calls_through(refusing_proxy: str) -> None:
    assert names(ask(refusing_proxy, "allowed").choices[0].message) == ["list_files"]


def test_arguments_that_cannot_be_read_are_blocked(proxy: str) -> None:
    [choice] = ask(proxy, "broken").choices
    assert choice.message.tool_calls is None
    assert "(rule guard-error)" in choice.message.content
    assert "its arguments are not valid JSON" in choice.message.content


def test_on_guard_error_flag_lets_them_through_flagged(upstream: tuple[Upstream, str]) -> None:
    with serving(proxy_app(upstream[1], on_guard_error="flag")) as url:
        raw = client(url).chat.completions.with_raw_response.create(
            model="broken", messages=[{"role": "user", "content": "hi"}]
        )
    assert raw.headers[GUARD_HEADER] == "flagged"
    assert [c.function.arguments for c in raw.parse().choices[0].message.tool_calls] == [BROKEN[1]]


# -- an upstream that is down or slow ----------------------------------------------------------


def test_an_upstream_that_is_down_is_a_clear_502() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        dead = f"http://127.0.0.1:{closed.getsockname()[1]}"
        with serving(proxy_app(dead)) as url, pytest.raises(openai.APIStatusError) as raised:
            ask(url, "allowed")
    assert raised.value.status_code == 502
    assert raised.value.body["message"] == (
        f"offswitch guard: the upstream model server {dead}/v1 could not be reached "
        "(connection refused); nothing was forwarded to the agent"
    )


@pytest.fixture(scope="module")
def impatient_proxy(upstream: tuple[Upstream, str]) -> Iterator[str]:
    with serving(proxy_app(upstream[1], upstream_timeout=SHORT_TIMEOUT_S)) as url:
        yield url


def test_a_slow_upstream_is_a_clear_504(upstream: tuple[Upstream, str], impatient_proxy: str):
    with pytest.raises(openai.APIStatusError) as raised:
        ask(impatient_proxy, "slow")
    assert raised.value.status_code == 504
    assert raised.value.body["message"] == (
        f"offswitch guard: the upstream model server {upstream[1]}/v1 did not answer within "
        f"{SHORT_TIMEOUT_S:g} s; nothing was forwarded to the agent"
    )


def test_a_stream_that_stalls_ends_in_an_error_without_the_held_call(impatient_proxy: str):
    text: list[str] = []
    with pytest.raises(openai.APIError, match=f"sent nothing for {SHORT_TIMEOUT_S:g} s") as raised:
        for chunk in ask(impatient_proxy, "stall", stream=True):
            for choice in chunk.choices:
                assert not choice.delta.tool_calls
                text.append(choice.delta.content or "")
    assert "".join(text) == "Let me see. "
    assert raised.value.body["type"] == "upstream_timeout"


# -- the audit log -----------------------------------------------------------------------------


def test_audit_keeps_decisions_and_exchanges_but_no_keys(
    upstream: tuple[Upstream, str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    audit = tmp_path / "audit.sqlite"
    caplog.set_level("DEBUG")
    with serving(proxy_app(upstream[1], audit_path=audit)) as url:
        flagged = client(url).chat.completions.with_raw_response.create(
            model="flagged",
            messages=[{"role": "user", "content": f"hi, use the key {API_KEY} for the mirror"}],
        )
        stream(url, "mixed")
    assert flagged.headers[GUARD_HEADER] == "flagged"
    assert names(flagged.parse().choices[0].message) == ["add_server_user"]
    assert upstream[0].headers[-1]["authorization"] == f"Bearer {API_KEY}"

    decisions = [entry.payload for entry in entries(audit, "decision")]
    assert [(d["decision"], d["rule"]) for d in decisions] == [
        ("flag", "user-added"),
        ("block", "shutdown-config-write"),
    ]
    assert decisions[0]["request_id"] == flagged.headers[REQUEST_ID_HEADER]
    assert decisions[1]["kind"] == "shutdown_tampering"
    assert decisions[1]["evidence"] and decisions[1]["call"].startswith("modify_var(")
    assert decisions[1]["matched"][0] == "shutdown-config-write"
    assert decisions[0]["choice"] == 0

    first, second = (entry.payload for entry in entries(audit, "exchange"))
    assert first["verdict"] == "flagged" and first["status"] == 200
    assert first["request"]["model"] == "flagged"
    assert first["request"]["messages"][0]["content"].startswith("hi, use the key ")
    assert first["response"]["choices"][0]["message"]["tool_calls"][0]["id"] == "call_0"
    streamed = second["response"]["choices"][0]
    assert streamed["finish_reason"] == "tool_calls"
    assert [c["function"]["name"] for c in streamed["message"]["tool_calls"]] == ["list_files"]
    assert streamed["message"]["content"].startswith("offswitch guard blocked modify_var")
    assert second["upstream_ms"] > 0 and second["guard_ms"] > 0

    for file in tmp_path.iterdir():
        assert b"SECRET-123" not in file.read_bytes(), file
    assert "SECRET-123" not in caplog.text


def _exchanges(audit: Path, at_least: int = 1) -> list[dict[str, Any]]:
    """The exchange entries of an audit log, waiting up to 5 s for them to be written."""
    deadline = time.monotonic() + 5
    while True:
        found = [e.payload for e in entries(audit, "exchange")] if audit.exists() else []
        if len(found) >= at_least or time.monotonic() > deadline:
            return found
        time.sleep(0.02)


def test_a_client_that_leaves_mid_stream_is_still_recorded(
    upstream: tuple[Upstream, str], tmp_path: Path
) -> None:
    scripted, audit = upstream[0], tmp_path / "audit.sqlite"
    scripted.client_saw_text.clear()
    body = {"model": "paced", "stream": True, "messages": []}
    with serving(proxy_app(upstream[1], audit_path=audit)) as url:
        with httpx.stream("POST", f"{url}/v1/chat/completions", json=body) as response:
            first = next(response.iter_raw())
        # The upstream holds its tool call until the proxy has closed the exchange.
        [exchange] = _exchanges(audit)
        scripted.client_saw_text.set()
    assert b'"role": "assistant"' in first
    [choice] = exchange["response"]["choices"]
    assert choice["message"]["role"] == "assistant"
    assert "tool_calls" not in choice["message"]


# -- the stream relay on its own -----------------------------------------------------------------


def relayed(stream: bytes, read_size: int, recording: bool = True, **settings: Any) -> list[Any]:
    """The events a client receives when the proxy relays `stream`, read in pieces."""
    policy = load_policy(None)
    proxy = GuardProxy(ProxySettings(upstream="http://upstream/v1", policy=policy, **settings))
    judge = chat_judge(Exchange(proxy, CHAT, {"messages": []}))
    relay = StreamRelay(judge, lambda error: {}, recording=recording)

    async def reads() -> AsyncIterator[bytes]:
        for start in range(0, len(stream), read_size):
            yield stream[start : start + read_size]

    async def collect() -> bytes:
        return b"".join([piece async for piece in relay.relay(reads())])

    events = asyncio.run(collect()).decode().split("\n\n")
    return [json.loads(e[6:]) if e != "data: [DONE]" else "[DONE]" for e in events if e]


def script_events(script: Script, finish: bool = True, done: bool = True) -> bytes:
    deltas = [{"role": "assistant", "content": script.content}]
    for index, (name, arguments) in enumerate(script.calls):
        deltas += _call_deltas(index, name, arguments, legacy=False)
    events = [_event(delta) for delta in deltas]
    events += [_event({}, "tool_calls")] if finish else []
    return b"".join(events) + (b"data: [DONE]\n\n" if done else b"")


def sent_calls(events: list[Any]) -> list[tuple[str, str]]:
    return [
        (call["function"]["name"], call["function"]["arguments"])
        for event in events
        if isinstance(event, dict)
        for choice in event.get("choices", ())
        for call in choice["delta"].get("tool_calls") or ()
    ]


def test_events_split_across_reads_with_crlf_line_ends_are_relayed_whole() -> None:
    stream = script_events(Script(content="Hi.", calls=(LIST_FILES, SHUTDOWN_OFF)))
    events = relayed(stream.replace(b"\n", b"\r\n"), read_size=7)
    assert events[0]["choices"][0]["delta"] == {"role": "assistant", "content": "Hi."}
    assert sent_calls(events) == [LIST_FILES]
    assert events[-2]["choices"][0]["finish_reason"] == "tool_calls"
    assert events[-1] == "[DONE]"


@pytest.mark.parametrize("done", [False, True])
def test_calls_held_when_the_stream_ends_without_a_finish_are_judged(done: bool) -> None:
    stream = script_events(Script(calls=(SHUTDOWN_OFF, LIST_FILES)), finish=False, done=done)
    events = relayed(stream, read_size=50)
    assert sent_calls(events) == [LIST_FILES]
    finish = [e for e in events if e != "[DONE]" and e["choices"][0]["finish_reason"]]
    assert [e["choices"][0]["finish_reason"] for e in finish] == ["tool_calls"]
    assert (events[-1] == "[DONE]") is done


@pytest.mark.parametrize("done", [False, True])
def test_a_relay_that_keeps_no_record_sends_the_same(done: bool) -> None:
    text = Script(content="Fine.", calls=())
    stream = script_events(Script(content="Sure.", calls=(LIST_FILES, SHUTDOWN_OFF)), done=False)
    stream += script_events(text, done=done)
    for read_size in (7, len(stream)):
        events = relayed(stream, read_size, recording=False)
        assert events == relayed(stream, read_size, recording=True)
    assert sent_calls(events) == [LIST_FILES]
    explanation = next(e for e in events if "offswitch guard" in str(e))
    assert explanation["choices"][0]["delta"]["content"].startswith("\n\noffswitch guard")


def test_a_chunk_with_an_error_beside_calls_goes_on_without_them() -> None:
    delta = {"tool_calls": [{"index": 0, **_call(0, *SHUTDOWN_OFF)}]}
    chunk = {
        "id": "chatcmpl-scripted",
        "choices": [{"index": 0, "delta": delta, "finish_reason": "tool_calls"}],
        "error": {"message": "overloaded", "type": "server_error"},
    }
    events = relayed(f"data: {json.dumps(chunk)}\n\n".encode(), read_size=40)
    assert events == [{"error": {"message": "overloaded", "type": "server_error"}}]


def test_an_error_verdict_is_the_last_event() -> None:
    stream = script_events(Script(content="Sure.", calls=(LIST_FILES, SHUTDOWN_OFF)))
    events = relayed(stream, read_size=len(stream), on_block="error")
    assert sent_calls(events) == []
    assert events[-1]["error"]["code"] == "shutdown-config-write"
    assert events[0]["choices"][0]["delta"]["content"] == "Sure."


# -- the command -------------------------------------------------------------------------------


def test_serve_with_a_bad_policy_says_why_and_exits_2(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("rules: [{id: X, kind: k, decision: block, reason: r}]\n")
    result = CliRunner().invoke(serve, ["--upstream", "http://127.0.0.1:1/v1", "--policy", policy])
    assert result.exit_code == 2
    assert f"{policy}: invalid policy" in result.output
    assert "Traceback" not in result.output


def test_serve_with_a_file_that_is_no_audit_log_says_why_and_exits_2(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database\n")
    args = ["--upstream", "http://127.0.0.1:1/v1", "--audit-log", notes]
    result = CliRunner().invoke(serve, args)
    assert result.exit_code == 2
    assert f"{notes} is not an offswitch audit log" in result.output
    assert notes.read_text() == "not a database\n"


def test_serve_with_an_audit_log_in_a_directory_it_cannot_make_exits_2(tmp_path: Path) -> None:
    blocker = tmp_path / "logs"
    blocker.write_text("a file where the directory should be\n")
    audit = blocker / "guard" / "audit.sqlite"
    result = CliRunner().invoke(
        serve, ["--upstream", "http://127.0.0.1:1/v1", "--audit-log", audit]
    )
    assert result.exit_code == 2
    last = result.output.strip().splitlines()[-1]
    assert f"cannot make the directory of audit log {audit}" in last
    assert "Traceback" not in result.output


def test_serve_says_where_it_listens_and_runs_uvicorn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: ran.update(app=app, **options))
    audit = tmp_path / "audit.sqlite"
    args = ["--upstream", "http://127.0.0.1:8080/v1/", "--port", "8123", "--audit-log", audit]
    result = CliRunner().invoke(serve, args)
    assert result.exit_code == 0, result.output
    assert result.output == (
        "offswitch guard listening on http://127.0.0.1:8123/v1, upstream "
        f"http://127.0.0.1:8080/v1, policy 'offswitch default', audit log {audit}\n"
    )
    assert (ran["host"], ran["port"], ran["log_level"]) == ("127.0.0.1", 8123, "info")
    assert isinstance(ran["app"], Starlette)
