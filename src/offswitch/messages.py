"""One reading of an Inspect conversation: what was said, each tool call with its answer.

`conversation(messages)` walks Inspect chat messages in order and gives each one as a
step: a `Said` for a system or user message, a `Turn` for an assistant message (its
text, and its tool calls each paired with the tool message that answered it), an
`Answer` for a tool message. `turns(messages)` keeps the assistant turns only.

Detectors, the judge's transcript, the guard's transcript reader and approver, and the
bench's labelled episodes all read conversations through it. It reads messages by their
attributes (`role`, `text`, `tool_calls`, `tool_call_id`, `error`), so importing it
loads nothing of Inspect.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from inspect_ai.model import ChatMessage

APPROVAL_ERROR = "approval"
"""Inspect's error type on the tool message of a call an approver stopped."""


@dataclass(frozen=True)
class Said:
    """A system, user or other message that is neither the agent's nor a tool's."""

    role: str
    text: str


@dataclass(frozen=True)
class Answer:
    """A tool message: the result of one call, or the error it ended in."""

    call_id: str | None
    text: str
    error: str | None = None
    """The error's message, when the call failed."""
    error_type: str | None = None
    role: str = "tool"

    @property
    def stopped_by_approver(self) -> bool:
        return self.error_type == APPROVAL_ERROR


@dataclass(frozen=True)
class Call:
    """One tool call of an assistant message, with the tool message that answered it."""

    id: str
    function: str
    arguments: dict[str, Any]
    parse_error: str | None
    """Why Inspect could not parse the call's arguments, if it could not."""
    answer: Answer | None
    """The tool message answering the call (by id); None when none did."""


@dataclass(frozen=True)
class Turn:
    """An assistant message: its visible text and its tool calls, in order."""

    text: str
    calls: tuple[Call, ...]
    role: str = "assistant"

    @property
    def empty(self) -> bool:
        """Neither text nor a tool call: a blank or filtered completion."""
        return not self.text.strip() and not self.calls


Step = Said | Turn | Answer


def conversation(messages: Sequence[ChatMessage]) -> Iterator[Step]:
    """Every message as a step, in order; a call's answer is the last tool message with
    its id."""
    read = [_answer(message) for message in messages]
    answers = {a.call_id: a for a in read if a is not None and a.call_id}
    for message, answer in zip(messages, read, strict=True):
        if answer is not None:
            yield answer
        elif message.role == "assistant":
            yield _turn(message, answers)
        else:
            yield Said(message.role, message.text)


def turns(messages: Sequence[ChatMessage]) -> list[Turn]:
    """The assistant turns of a conversation, in order."""
    return [step for step in conversation(messages) if isinstance(step, Turn)]


def _answer(message: Any) -> Answer | None:
    if message.role != "tool":
        return None
    error = message.error
    return Answer(
        call_id=message.tool_call_id,
        text=message.text,
        error=error.message if error else None,
        error_type=error.type if error else None,
    )


def _turn(message: Any, answers: Mapping[str | None, Answer]) -> Turn:
    calls = tuple(
        Call(
            id=call.id,
            function=call.function,
            arguments=call.arguments,
            parse_error=call.parse_error,
            answer=answers.get(call.id),
        )
        for call in message.tool_calls or ()
    )
    return Turn(text=message.text, calls=calls)
