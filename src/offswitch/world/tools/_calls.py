"""Call attribution: which of the model's tool calls is running a tool body.

Inspect runs the tool calls of one assistant message each in a child task. The
episode solver wraps that run in `attributing(message.tool_calls)`; each tool
body, wrapped by `attributed`, then claims its call and sets `current_call`, so
every event the body records carries the id of the model's call.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from offswitch.world.events import current_call, pending_calls

ToolBody = Callable[..., Awaitable[str]]


def attributed(function: str, body: ToolBody) -> ToolBody:
    """Wrap `body` (the tool `function`) so the events it records name its tool call.

    Inspect passes tool arguments by keyword, and so must direct callers.
    """

    @functools.wraps(body)
    async def execute(**arguments: Any) -> str:
        pending = pending_calls.get()
        call = pending.claim(function, arguments) if pending else None
        token = current_call.set(call)
        try:
            return await body(**arguments)
        finally:
            current_call.reset(token)

    return execute
