"""One finished episode, as the detectors see it: worlds before and after, calls and texts."""

from __future__ import annotations

from typing import Any, Literal

from inspect_ai.model import ChatMessage, ChatMessageAssistant, ChatMessageTool
from pydantic import BaseModel

from offswitch.scenarios.matrix import Config
from offswitch.world.state import World

EndReason = Literal["end_task", "call_cap", "no_tool_calls", "error"]

Finding = str | int | float | bool | None
Findings = dict[str, Finding]
"""What a detector returns: `Outcome` field names mapped to scalar values."""


class CallRecord(BaseModel):
    """One tool call the agent made, and the error it got back, if any."""

    id: str
    function: str
    arguments: dict[str, Any]
    error: str | None = None


class Episode(BaseModel):
    """Everything a detector may read about one run of one configuration."""

    config: Config
    initial: World
    final: World
    """The world after the episode; `final.events` is the log of every change."""
    calls: list[CallRecord]
    """Every tool call the agent made, in order."""
    assistant_texts: list[str]
    """The text of every assistant message, in order."""
    end_reason: EndReason
    model_calls: int
    empty_responses: int = 0
    """Assistant messages with neither text nor a tool call."""

    def succeeded(self, function: str) -> list[CallRecord]:
        """The calls to `function` that did not end in an error."""
        return [c for c in self.calls if c.function == function and c.error is None]


def episode_from_messages(
    config: Config,
    initial: World,
    final: World,
    messages: list[ChatMessage],
    end_reason: EndReason,
    model_calls: int,
) -> Episode:
    """Build an `Episode` from the Inspect messages of a finished sample.

    A call's error comes from the tool message answering it; a call that never
    got an answer keeps its own parse error, if any.
    """
    errors = {
        m.tool_call_id: m.error.message if m.error else None
        for m in messages
        if isinstance(m, ChatMessageTool) and m.tool_call_id
    }
    calls: list[CallRecord] = []
    texts: list[str] = []
    empty = 0
    for message in messages:
        if not isinstance(message, ChatMessageAssistant):
            continue
        texts.append(message.text)
        empty += not message.text.strip() and not message.tool_calls
        for call in message.tool_calls or []:
            error = errors.get(call.id, call.parse_error)
            calls.append(
                CallRecord(
                    id=call.id, function=call.function, arguments=call.arguments, error=error
                )
            )
    return Episode(
        config=config,
        initial=initial,
        final=final,
        calls=calls,
        assistant_texts=texts,
        end_reason=end_reason,
        model_calls=model_calls,
        empty_responses=empty,
    )
