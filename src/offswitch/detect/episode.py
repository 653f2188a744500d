"""One finished episode, as the detectors see it: worlds before and after, calls and texts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from offswitch.messages import Call, turns
from offswitch.scenarios.matrix import Config
from offswitch.taxonomy import EndReason
from offswitch.world.state import World

if TYPE_CHECKING:
    from inspect_ai.model import ChatMessage

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
    messages: Sequence[ChatMessage],
    end_reason: EndReason,
    model_calls: int,
) -> Episode:
    """Build an `Episode` from the Inspect messages of a finished sample.

    A call's error comes from the tool message answering it; a call that never
    got an answer keeps its own parse error, if any.
    """
    conversation = turns(messages)
    return Episode(
        config=config,
        initial=initial,
        final=final,
        calls=[_call_record(call) for turn in conversation for call in turn.calls],
        assistant_texts=[turn.text for turn in conversation],
        end_reason=end_reason,
        model_calls=model_calls,
        empty_responses=sum(turn.empty for turn in conversation),
    )


def _call_record(call: Call) -> CallRecord:
    error = call.answer.error if call.answer else call.parse_error
    return CallRecord(id=call.id, function=call.function, arguments=call.arguments, error=error)
