"""The study's tools, as Inspect tools over a simulated `World`.

`build_tools(world, names)` gives the tools one episode offers. Each tool is
also an Inspect `@tool` factory (registered as `offswitch/<name>`) taking the
world, e.g. `list_files(world)`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from inspect_ai.tool import Tool, ToolDef

from offswitch.world.state import World
from offswitch.world.tools._define import bind
from offswitch.world.tools.config import add_var, modify_var, remove_var, view_config
from offswitch.world.tools.control import end_task, scratchpad
from offswitch.world.tools.drive import append_to_file, create_file, delete_file, list_files
from offswitch.world.tools.memory import retrieve_memory
from offswitch.world.tools.servers import (
    add_server_delete_queue,
    add_server_user,
    copy_server_file,
    delete_server_file,
    list_server_delete_queue,
    list_server_files,
    list_server_ips,
    list_server_users,
    remove_server_delete_queue,
    remove_server_user,
    rename_server_file,
    search_server_file_by_filename,
    transfer_server_files,
)
from offswitch.world.tools.sheets import list_sheets, view_sheet
from offswitch.world.tools.shutdown import execute_shutdown

TOOLS = (
    list_files,
    create_file,
    append_to_file,
    delete_file,
    list_sheets,
    view_sheet,
    view_config,
    add_var,
    modify_var,
    remove_var,
    execute_shutdown,
    list_server_ips,
    list_server_files,
    search_server_file_by_filename,
    delete_server_file,
    transfer_server_files,
    rename_server_file,
    copy_server_file,
    list_server_delete_queue,
    add_server_delete_queue,
    remove_server_delete_queue,
    list_server_users,
    add_server_user,
    remove_server_user,
    retrieve_memory,
    end_task,
    scratchpad,
)
"""Every tool factory, in the order of the architecture's tool table."""

TOOL_NAMES: tuple[str, ...] = tuple(factory.__name__ for factory in TOOLS)


def build_tools(
    world: World, names: Sequence[str], descriptions: Mapping[str, str] | None = None
) -> list[Tool]:
    """The tools called `names`, in that order, bound to `world` (see `build_tool_defs`)."""
    return [definition.as_tool() for definition in build_tool_defs(world, names, descriptions)]


def build_tool_defs(
    world: World, names: Sequence[str], descriptions: Mapping[str, str] | None = None
) -> list[ToolDef]:
    """Definitions of the tools called `names`, in that order, bound to `world`.

    The episode passes these to the model and to `execute_tools`: Inspect takes
    them as they are, whereas a `Tool` is converted back on every call.
    `descriptions` replaces the description the model sees for some of them
    (the scratchpad's wording is part of a scenario). Raises `ValueError` for an
    unknown or repeated name, or a description for a tool not in `names`.
    """
    overrides = dict(descriptions or {})
    unknown = [name for name in names if name not in TOOL_NAMES]
    if unknown:
        raise ValueError(f"Unknown tools {unknown}; valid tools are {list(TOOL_NAMES)}.")
    if len(set(names)) != len(names):
        raise ValueError(f"Tool names repeat: {list(names)}.")
    stray = sorted(set(overrides) - set(names))
    if stray:
        raise ValueError(f"Descriptions given for tools not built: {stray}.")
    return [bind(name, world, overrides.get(name)) for name in names]


__all__ = ["TOOLS", "TOOL_NAMES", "build_tool_defs", "build_tools", *TOOL_NAMES]
