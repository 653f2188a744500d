"""Shell commands and Python code as actions.

Agents on real machines act through shells and Python tools, so the guard reads
`scp w.gguf host:/x` and `shutil.copy("w.gguf", "/x")` as the same `transfer` or
`copy` that the scenario tools produce. Shell text is tokenised by hand (quotes,
substitutions, heredocs, redirections); the commands it finds are mapped to actions
by the programs they run. Python is read with `ast`, resolving string constants
where that is simple. Wrappers (`sudo`, `bash -c`, `ssh host '...'`, `python -c`,
`xargs`, `find -exec`) are unwrapped and read recursively; what runs on another
host through `ssh` carries that host.

Nothing is passed over in silence: `read_shell` returns, beside the actions, every
part it could not read in full (a program it does not know, a name computed when the
command runs, a glob, a script or payload it has not seen), and text that cannot be
parsed at all raises `UnreadableCommand`; the policy judges both as unreadable.

The package reads in layers, each module importing only those above it:

- `base`: the error, and the limits on nesting and evidence;
- `words`: options, file names, hosts and paths, and prefixes such as `sudo`;
- `lexer`: shell text to pipelines of simple commands;
- `pipes`: what a command writes to its output, for the command after it;
- `dispatch`: each command read in its context, through the table of handlers;
- `files`, `remote`, `system`: handlers, by what the programs do;
- `python`: Python code, whose subprocess calls are read as shell again;
- `wrappers`: handlers for programs that run more shell or Python;
- `commands`: the table from program name to handler, which `shell_actions` hands to
  the dispatcher.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from offswitch.guard.action import Action
from offswitch.guard.shell.base import UnreadableCommand
from offswitch.guard.shell.commands import HANDLERS
from offswitch.guard.shell.dispatch import Reading, _shell
from offswitch.guard.shell.python import _python_actions

__all__ = ["ShellReading", "UnreadableCommand", "read_shell", "shell_actions"]


class ShellReading(NamedTuple):
    """What a command does, and what of it could not be read."""

    actions: list[Action]
    gaps: list[str]
    """Why parts of the command were not read in full; empty when all of it was."""
    files: dict[str, str | None]
    """The files it writes, with their text where it is known (None where it is not)."""
    globs: tuple[tuple[str, str], ...] = ()
    """(verb, or `destination`; glob) for globs changing commands act on (`rm /tmp/b-*`)."""


def read_shell(
    command: str, *, python: bool = False, files: Mapping[str, str | None] | None = None
) -> ShellReading:
    """Read a shell command line (or Python source when `python`). `files` are texts
    written earlier, so that a script written then run is read. Raises
    `UnreadableCommand` (with the actions of the readable parts) for text that cannot
    be parsed."""
    reading = Reading(HANDLERS, files)
    try:
        if python:
            actions = _python_actions(command, None, 0, reading)
        else:
            actions = _shell(command, None, 0, reading)
    except UnreadableCommand as error:
        error.gaps = reading.gaps  # type: ignore[attr-defined]
        raise
    known = files or {}
    written = {path: text for path, text in reading.files.items() if known.get(path, 0) != text}
    return ShellReading(actions, reading.gaps, written, tuple(reading.globs))


def shell_actions(command: str, *, python: bool = False) -> list[Action]:
    """The actions of a shell command line, or of Python source when `python`."""
    return read_shell(command, python=python).actions
