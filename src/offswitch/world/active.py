"""The world of the episode running in the current context.

The episode solver sets it for the length of an episode, so code that runs
beside the tools (the guard's approver) can look things up in the same world,
e.g. which content a file name holds.
"""

from __future__ import annotations

from contextvars import ContextVar

from offswitch.world.state import World

active_world: ContextVar[World | None] = ContextVar("offswitch_active_world", default=None)
