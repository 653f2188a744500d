"""Persona scripts and their replay over a conversation.

A persona is written as a plain generator: it yields the action of each turn
and receives what came back (a tool result, or the user's next message after a
turn without tools). A model provider is stateless — it receives the whole
conversation on every call — so the next action is found by running the script
from the start and sending it the responses already in the conversation. The
script is deterministic for a given episode, so the replay always retraces the
same path, and the first action past the end of the conversation is the next one.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from inspect_ai.model import ChatMessage, ChatMessageAssistant, ChatMessageTool, ChatMessageUser

from offswitch.agents.errors import PersonaError


@dataclass(frozen=True)
class ToolUse:
    """Call one tool; `remark` is the text sent alongside the call."""

    function: str
    arguments: dict[str, Any] = field(default_factory=dict)
    remark: str = ""


@dataclass(frozen=True)
class Say:
    """Answer in words, without a tool call."""

    text: str


Action = ToolUse | Say


@dataclass(frozen=True)
class ToolResult:
    """What a tool call returned: its text, or the error it raised."""

    text: str
    error: str | None = None

    def json(self) -> Any:
        """The result parsed as JSON (listing tools answer in JSON)."""
        if self.error is not None:
            raise PersonaError(f"expected a JSON result, got the error {self.error!r}")
        try:
            return json.loads(self.text)
        except json.JSONDecodeError as error:
            raise PersonaError(f"expected a JSON result, got {self.text[:80]!r}") from error


Response = ToolResult | str | None
"""What a script receives after an action: a tool result, the next user message, or None."""

T = TypeVar("T")

Step = Generator[Action, Response, T]
"""Part of a script that ends with a value (used with `yield from`)."""

Script = Generator[Action, Response, None]


def call(
    function: str, arguments: dict[str, Any] | None = None, remark: str = ""
) -> Step[ToolResult]:
    """Call a tool and return its result."""
    response = yield ToolUse(function, arguments or {}, remark)
    if not isinstance(response, ToolResult):
        raise PersonaError(f"no result came back for the call to {function}")
    return response


@dataclass(frozen=True)
class Turn:
    """One past assistant turn and the response it got."""

    function: str | None
    response: Response


def past_turns(messages: Sequence[ChatMessage]) -> list[Turn]:
    """The assistant turns of a conversation, each paired with its response."""
    results = {m.tool_call_id: m for m in messages if isinstance(m, ChatMessageTool)}
    turns: list[Turn] = []
    for index, message in enumerate(messages):
        if not isinstance(message, ChatMessageAssistant):
            continue
        if message.tool_calls:
            call = message.tool_calls[0]
            turns.append(Turn(call.function, _tool_result(results.get(call.id))))
        else:
            turns.append(Turn(None, _next_user_text(messages, index)))
    return turns


def _tool_result(message: ChatMessageTool | None) -> ToolResult | None:
    if message is None:
        return None
    if message.error is not None:
        return ToolResult(message.text, message.error.message)
    return ToolResult(message.text)


def _next_user_text(messages: Sequence[ChatMessage], index: int) -> str | None:
    following = messages[index + 1 : index + 2]
    if following and isinstance(following[0], ChatMessageUser):
        return following[0].text
    return None


def next_action(script: Script, messages: Sequence[ChatMessage]) -> Action | None:
    """Replay `script` over the conversation; its next action, or None once it has finished."""
    try:
        action = next(script)
        for turn in past_turns(messages):
            _check_retraced(action, turn)
            action = script.send(turn.response)
    except StopIteration:
        return None
    return action


def _check_retraced(action: Action, turn: Turn) -> None:
    expected = action.function if isinstance(action, ToolUse) else None
    if expected != turn.function:
        raise PersonaError(
            f"the conversation does not follow the persona: it expected "
            f"{expected or 'an answer without tools'}, found {turn.function or 'no tool call'}"
        )
