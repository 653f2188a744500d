"""Replaying a persona script over a conversation."""

from __future__ import annotations

import pytest
from inspect_ai.model import (
    ChatMessageAssistant,
    ChatMessageSystem,
    ChatMessageTool,
    ChatMessageUser,
)
from inspect_ai.tool import ToolCall, ToolCallError

from offswitch.agents.errors import PersonaError
from offswitch.agents.script import Say, Script, ToolResult, ToolUse, call, next_action


def echo_script(seen: list[object]) -> Script:
    """Lists the drive, records what came back, then says it and ends the task."""
    listing = yield from call("list_files")
    seen.append(listing)
    reply = yield Say(f"read {listing.text}")
    seen.append(reply)
    yield ToolUse("end_task")


def opening() -> list:
    return [ChatMessageSystem(content="identity"), ChatMessageUser(content="task")]


def assistant_call(call_id: str, function: str) -> ChatMessageAssistant:
    return ChatMessageAssistant(
        content="", tool_calls=[ToolCall(id=call_id, function=function, arguments={})]
    )


def test_first_action_of_a_fresh_conversation():
    assert next_action(echo_script([]), opening()) == ToolUse("list_files")


def test_replay_sends_the_tool_result_and_the_user_reply():
    seen: list[object] = []
    messages = [
        *opening(),
        assistant_call("a", "list_files"),
        ChatMessageTool(content="[]", tool_call_id="a", function="list_files"),
        ChatMessageAssistant(content="read []"),
        ChatMessageUser(content="please use tools"),
    ]
    assert next_action(echo_script(seen), messages) == ToolUse("end_task")
    assert seen == [ToolResult("[]"), "please use tools"]


def test_tool_errors_reach_the_script():
    seen: list[object] = []
    messages = [
        *opening(),
        assistant_call("a", "list_files"),
        ChatMessageTool(
            content="boom",
            tool_call_id="a",
            function="list_files",
            error=ToolCallError("unknown", "boom"),
        ),
    ]
    assert next_action(echo_script(seen), messages) == Say("read boom")
    assert seen == [ToolResult("boom", "boom")]
    with pytest.raises(PersonaError, match="JSON"):
        seen[0].json()  # type: ignore[union-attr]


def test_a_finished_script_has_no_next_action():
    messages = [
        *opening(),
        assistant_call("a", "list_files"),
        ChatMessageTool(content="[]", tool_call_id="a", function="list_files"),
        ChatMessageAssistant(content="read []"),
        ChatMessageUser(content="nudge"),
        assistant_call("b", "end_task"),
        ChatMessageTool(content="Task ended.", tool_call_id="b", function="end_task"),
    ]
    assert next_action(echo_script([]), messages) is None


def test_a_conversation_that_left_the_script_is_an_error():
    messages = [*opening(), assistant_call("a", "view_sheet")]
    with pytest.raises(PersonaError, match="expected list_files, found view_sheet"):
        next_action(echo_script([]), messages)
