"""OpenAI Chat Completions: `POST /v1/chat/completions`, streamed or not.

Calls are the assistant message's `tool_calls` (and the deprecated `function_call`,
which servers such as llama.cpp send beside them); the history is the request's
assistant messages. Stopped calls are removed and explained in the message's
content; streams are relayed by `StreamRelay`.
"""

from __future__ import annotations

from typing import Any

import httpx

from offswitch.guard.calls import assistant_calls, chat_call
from offswitch.guard.engine import Decision
from offswitch.guard.proxy._api import Api, Refusal, ToolCall
from offswitch.guard.proxy._exchange import Exchange, stopped_line
from offswitch.guard.proxy._stream import Judge, StreamFailure, StreamRelay, Verdict, sse


def error_body(message: str, kind: str, code: str | None = None) -> dict[str, Any]:
    """An OpenAI-style error body."""
    return {"error": {"message": message, "type": kind, "code": code, "param": None}}


def _name_of(call: Any) -> str:
    function = call.get("function") if isinstance(call, dict) else None
    name = function.get("name") if isinstance(function, dict) else None
    return name if isinstance(name, str) and name else "a call"


def _key(function: Any) -> tuple[str, str] | None:
    """What identifies a call within one message: its name and raw arguments."""
    if not isinstance(function, dict):
        return None
    return str(function.get("name")), str(function.get("arguments"))


def chat_judge(exchange: Exchange) -> Judge:
    """Judges the calls of one choice's message in order, after the history."""

    def judge(choice: int, tool_calls: list[Any], function_call: dict[str, Any] | None) -> Verdict:
        kept: list[Any] = []
        stopped: list[tuple[str, Decision]] = []
        by_call: dict[tuple[str, str] | None, Decision] = {}
        for call in tool_calls:
            [decision] = exchange.rule(choice, [(chat_call(call), call)]).decisions
            by_call[_key(call.get("function") if isinstance(call, dict) else None)] = decision
            if decision.stops:
                stopped.append((_name_of(call), decision))
            else:
                kept.append(call)
        legacy = function_call
        if function_call is not None:
            # Servers that send both forms repeat a tool call here: same call, same decision.
            decision = by_call.get(_key(function_call))
            if decision is None:
                call = {"type": "function", "function": function_call}
                [decision] = exchange.rule(choice, [(chat_call(call), call)]).decisions
                if decision.stops:
                    stopped.append((_name_of(call), decision))
            legacy = None if decision.stops else function_call
        notes = [stopped_line(name, decision) for name, decision in stopped]
        if not stopped or exchange.on_block == "message":
            return Verdict(kept, legacy, notes)
        error = error_body("\n".join(notes), "guard_blocked", stopped[0][1].rule)["error"]
        return Verdict(kept, legacy, notes, error)

    return judge


def apply_verdict(choice: dict[str, Any], message: dict[str, Any], verdict: Verdict) -> None:
    """Remove the stopped calls from a message and explain them in its content."""
    if verdict.tool_calls:
        message["tool_calls"] = verdict.tool_calls
    else:
        message.pop("tool_calls", None)
    if verdict.function_call is None:
        message.pop("function_call", None)
    explanation = "\n".join(verdict.notes)
    content = message.get("content")
    has_text = isinstance(content, str) and content
    message["content"] = f"{content}\n\n{explanation}" if has_text else explanation
    if not verdict.has_calls:
        choice["finish_reason"] = "stop"


def _choices(completion: Any) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(choice, message) of each choice of a chat completion that has a message."""
    choices = completion.get("choices") if isinstance(completion, dict) else None
    return [
        (choice, choice["message"])
        for choice in (choices if isinstance(choices, list) else ())
        if isinstance(choice, dict) and isinstance(choice.get("message"), dict)
    ]


class ChatCompletions(Api):
    name = "openai-chat"

    def history(self, request: dict[str, Any]) -> list[ToolCall]:
        messages = request.get("messages")
        return [
            call
            for message in (messages if isinstance(messages, list) else ())
            if isinstance(message, dict) and message.get("role") == "assistant"
            for call in assistant_calls(message)
        ]

    def choices(self, request: dict[str, Any]) -> int:
        n = request.get("n")
        return n if isinstance(n, int) and n > 1 else 1

    def error(self, status: int, message: str, kind: str, code: str | None = None) -> Any:
        return error_body(message, kind, code)

    def stream_error(self, body: Any) -> bytes:
        return sse(body)

    def judge(self, exchange: Exchange, answer: Any) -> bool:
        judge = chat_judge(exchange)
        changed = False
        choices = _choices(answer)
        exchange.choices = max(exchange.choices, len(choices))
        for choice, message in choices:
            tool_calls = message.get("tool_calls") or []
            function_call = message.get("function_call") or None
            if not tool_calls and function_call is None:
                continue
            calls = tool_calls if isinstance(tool_calls, list) else [tool_calls]
            verdict = judge(choice.get("index", 0), calls, function_call)
            if verdict.error is not None:
                raise Refusal({"error": verdict.error})
            if verdict.notes:
                apply_verdict(choice, message, verdict)
                changed = True
        return changed

    def relay(self, exchange: Exchange, failure: StreamFailure) -> StreamRelay:

        def inner(error: httpx.TransportError) -> Any:
            return failure(error)["error"]  # the relay words the event itself

        return StreamRelay(chat_judge(exchange), inner, recording=exchange.recording)
