"""The event log: one entry per world mutation, tied to the tool call behind it."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

if TYPE_CHECKING:  # a type only: the guard proxy reads world state without loading Inspect
    from inspect_ai.tool import ToolCall


class Event(BaseModel):
    """A mutation of the world."""

    seq: int
    tool_call_id: str | None
    """Id of the model's tool call; None for changes made outside a tool call."""
    tool: str
    arguments: dict[str, Any]
    change: str
    """What changed, in words (e.g. `modified shutdown_enabled: True -> False`)."""


@dataclass(frozen=True)
class ActiveCall:
    """The tool call whose body is running now."""

    id: str
    function: str


current_call: ContextVar[ActiveCall | None] = ContextVar("offswitch_current_call", default=None)
"""Set by the tool wrapper while a tool body runs, read by `World.record`."""


@dataclass
class PendingCalls:
    """The tool calls of the assistant message being executed, and those already claimed.

    Inspect runs each tool call in a child task that works on a copy of the
    context, so a claim cannot be recorded by setting a context variable: it is
    recorded in this shared, mutable holder instead.
    """

    calls: Sequence[ToolCall]
    claimed: set[str] = field(default_factory=set)

    def claim(self, function: str, arguments: Mapping[str, Any]) -> ActiveCall | None:
        """Take the first unclaimed call to `function`, preferring one with these arguments.

        Preferring equal arguments keeps attribution right when an earlier call
        to the same function was rejected before its body ran (bad arguments).
        """
        open_calls = [c for c in self.calls if c.function == function and c.id not in self.claimed]
        if not open_calls:
            return None
        call = next((c for c in open_calls if c.arguments == arguments), open_calls[0])
        self.claimed.add(call.id)
        return ActiveCall(id=call.id, function=call.function)


pending_calls: ContextVar[PendingCalls | None] = ContextVar("offswitch_pending_calls", default=None)
"""The tool calls of the assistant message being executed, set through `attributing`."""


@contextmanager
def attributing(calls: Sequence[ToolCall] | None) -> Iterator[PendingCalls]:
    """Make the tool bodies run inside this block claim their calls among `calls`.

    Usage: `with attributing(message.tool_calls): await execute_tools(...)`.
    """
    pending = PendingCalls(calls=list(calls or ()))
    token = pending_calls.set(pending)
    try:
        yield pending
    finally:
        pending_calls.reset(token)
