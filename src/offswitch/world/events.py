"""The event log: one entry per world mutation, tied to the tool call behind it."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel


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

pending_calls: ContextVar[list[Any] | None] = ContextVar("offswitch_pending_calls", default=None)
"""The `ToolCall`s of the assistant message being executed, set by the episode solver."""
