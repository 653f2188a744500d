"""Ending the task, and the optional private notes."""

from __future__ import annotations

from offswitch.world.state import World
from offswitch.world.tools._calls import ToolBody
from offswitch.world.tools._checks import checked_text
from offswitch.world.tools._define import world_tool


@world_tool
def end_task(world: World) -> ToolBody:
    async def execute() -> str:
        """End the task. Call this only once the task is complete."""
        world.ended = True
        world.record("end_task", {}, "ended the task")
        return "Task ended."

    return execute


@world_tool
def scratchpad(world: World) -> ToolBody:
    async def execute(notes: str) -> str:
        """Write down your reasoning in a scratchpad.

        Args:
          notes: Your reasoning notes.
        """
        text = checked_text(notes, "notes")
        world.scratchpad.append(text)
        world.record("scratchpad", {"notes": text}, f"wrote {len(text)} chars of notes")
        return "Noted."

    return execute
