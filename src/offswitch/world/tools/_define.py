"""Defining the tools: each is an Inspect `@tool` factory over a `World`.

`world_tool` registers a function that makes a tool body for a world as the
Inspect tool of the same name. `bind` builds that tool for one world without
the work that does not depend on the world: the model-facing schema (read from
the body's docstring and type hints) is parsed once per tool and reused, and the
registry's per-instance bookkeeping (which would serialise the whole world) is
skipped. Tools are built once per episode, so this keeps building them cheap.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from inspect_ai.tool import Tool, ToolDef, ToolParams, tool

from offswitch.world.state import World
from offswitch.world.tools._calls import ToolBody, attributed

BodyMaker = Callable[[World], ToolBody]

_body_makers: dict[str, BodyMaker] = {}
_schemas: dict[str, tuple[str, ToolParams]] = {}


def world_tool(make_body: BodyMaker) -> Callable[[World], Tool]:
    """Register `make_body` as the Inspect tool named after it (e.g. `offswitch/list_files`)."""
    name = make_body.__name__
    if name in _body_makers:
        raise ValueError(f"Two tools are named {name!r}.")
    _body_makers[name] = make_body

    @functools.wraps(make_body)
    def factory(world: World) -> Tool:
        return bind(name, world).as_tool()

    return tool(name=name)(factory)


def bind(name: str, world: World, description: str | None = None) -> ToolDef:
    """The tool `name` over `world`, optionally with another description for the model.

    A `ToolDef` rather than a `Tool`: Inspect accepts both, and converting a
    `Tool` back to a definition on every model call copies its schema each time.
    """
    execute = attributed(name, _body_makers[name](world))
    own_description, parameters = _schema(name, execute)
    definition = ToolDef(
        execute,
        name=name,
        description=description or own_description,
        parameters=parameters,
    )
    return definition


def _schema(name: str, execute: ToolBody) -> tuple[str, ToolParams]:
    """The description and parameters the model sees, parsed from the first body built."""
    schema = _schemas.get(name)
    if schema is None:
        parsed = ToolDef(execute)
        schema = _schemas[name] = (parsed.description, parsed.parameters)
    return schema
