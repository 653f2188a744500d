"""Shell commands as actions (placeholder until the parser lands)."""

from __future__ import annotations

from offswitch.guard.action import Action


class UnreadableCommand(ValueError):
    """A command the guard cannot parse."""


def shell_actions(command: str, *, python: bool = False) -> list[Action]:
    return []
