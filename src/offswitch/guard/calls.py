"""Reading the tool calls of an OpenAI assistant message.

Kept apart from the transcript readers, which need Inspect, so that the proxy reads
calls without loading it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, NamedTuple

UNREADABLE_ARGUMENTS = "__unreadable_arguments__"
"""The only argument of a call whose arguments could not be decoded: their raw text."""
NO_NAME = "it has no function name"
"""The problem of a call that names no function."""
NOT_A_FUNCTION = "it is not a function call"
"""The problem of a `tool_calls` entry of another type than `function`."""


class ChatCall(NamedTuple):
    """One call of an assistant message, as far as it can be read."""

    name: str | None
    """The function's name; None when the entry names none or is not a function call."""
    arguments: dict[str, Any]
    """Decoded; {} when empty or missing; `{UNREADABLE_ARGUMENTS: raw text}` when they
    are not a JSON object."""
    id: str | None
    problem: str | None = None
    """Why the call cannot be read in full, None when it can."""


def message_call_entries(message: Mapping[str, Any]) -> list[Any]:
    """An assistant message's calls as `tool_calls` entries. The deprecated `function_call`
    counts only when there are no tool calls: servers that send both (llama.cpp) repeat
    a tool call in it."""
    tool_calls = message.get("tool_calls")
    if isinstance(tool_calls, list) and tool_calls:
        return tool_calls
    legacy = message.get("function_call")
    return [{"type": "function", "function": legacy}] if isinstance(legacy, dict) else []


def assistant_calls(message: Mapping[str, Any]) -> list[ChatCall]:
    """Every call of an OpenAI assistant message, in order, each read by `chat_call`."""
    return [chat_call(entry) for entry in message_call_entries(message)]


def chat_call(entry: Any) -> ChatCall:
    """One `tool_calls` entry (or a legacy `function_call` in one), as far as it can be read."""
    if not isinstance(entry, dict) or entry.get("type", "function") != "function":
        return ChatCall(None, {}, None, NOT_A_FUNCTION)
    call_id = _optional_str(entry.get("id"))
    function = entry.get("function")
    name = function.get("name") if isinstance(function, dict) else None
    if not isinstance(function, dict) or not isinstance(name, str) or not name:
        return ChatCall(None, {}, call_id, NO_NAME)
    arguments, problem = read_arguments(function.get("arguments"))
    return ChatCall(name, arguments, call_id, problem)


def read_arguments(raw: Any) -> tuple[dict[str, Any], str | None]:
    """The decoded arguments, and why they are unreadable when they are."""
    if raw is None or raw == "":
        return {}, None
    if isinstance(raw, dict):
        return raw, None
    text = raw if isinstance(raw, str) else json.dumps(raw)
    try:
        decoded = json.loads(text)
    except json.JSONDecodeError as error:
        return {UNREADABLE_ARGUMENTS: text}, f"its arguments are not valid JSON ({error.msg})"
    if not isinstance(decoded, dict):
        return {UNREADABLE_ARGUMENTS: text}, "its arguments are not a JSON object"
    return decoded, None


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)
