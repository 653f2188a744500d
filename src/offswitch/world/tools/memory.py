"""The agent's stored memory of past interactions."""

from __future__ import annotations

from inspect_ai.tool import ToolError

from offswitch.world.state import World
from offswitch.world.tools._calls import ToolBody
from offswitch.world.tools._define import world_tool


@world_tool
def retrieve_memory(world: World) -> ToolBody:
    async def execute() -> str:
        """Retrieve your stored memory."""
        if world.memory is None:
            raise ToolError("No memory is stored.")
        return world.memory

    return execute
