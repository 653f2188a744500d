"""What the readers of shell text and Python code share: the error for text that
cannot be read, and the limits on how much of it is read."""

from __future__ import annotations

from collections.abc import Sequence

from offswitch.guard.action import Action

EVIDENCE_LIMIT = 400
MAX_DEPTH = 8
"""How deeply wrappers (`bash -c`, `ssh`, `python -c`, ...) or substitutions may
nest before the command counts as unreadable."""
MAX_EXPANDED_NAMES = 32
"""At most this many names piped into `xargs` are expanded into commands."""
HERE = "localhost"
"""Destination host of a transfer that fetches from another host to this one."""


class UnreadableCommand(ValueError):
    """A command the guard cannot parse, wholly or in part.

    `actions` holds what the readable parts of it do (`ls; python3 -c 'if'` still
    lists), so that a part the guard can read is judged even when another is not.
    """

    def __init__(self, message: str, actions: Sequence[Action] = ()) -> None:
        super().__init__(message)
        self.actions = list(actions)
