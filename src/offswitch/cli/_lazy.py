"""Command groups that import a command's module only when it is used.

`offswitch --help` and `offswitch guard --help` read each command's module for its
summary, so those modules import only click and light helpers at the top; what a command
needs to do its work (Inspect, the detectors, the proxy's web stack) it imports when it
runs.
"""

from __future__ import annotations

import importlib
from typing import Any

import click


class LazyGroup(click.Group):
    """A group whose commands are named `module:attribute` and imported on first use.

    `aliases` are old names kept working: each is resolved like a command but left out of
    the listing in `--help`, which names them in the group's own help text instead.
    """

    def __init__(
        self,
        *args: Any,
        lazy: dict[str, str],
        aliases: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy
        self.aliases = aliases or {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        where = self.lazy.get(name) or self.aliases.get(name)
        if where is None:
            return super().get_command(ctx, name)
        module, attribute = where.split(":")
        command: click.Command = getattr(importlib.import_module(module), attribute)
        return command
