"""Shell commands and Python code as actions.

Agents on real machines act through shells and Python tools, so the guard reads
`scp w.gguf host:/x` and `shutil.copy("w.gguf", "/x")` as the same `transfer` or
`copy` that the scenario tools produce. Shell text is tokenised by hand (quotes,
substitutions, heredocs, redirections); the commands it finds are mapped to actions
by the programs they run. Python is read with `ast`, resolving string constants
where that is simple. Wrappers (`sudo`, `bash -c`, `ssh host '...'`, `python -c`,
`xargs`, `find -exec`) are unwrapped and read recursively; what runs on another
host through `ssh` carries that host.

Anything unknown yields no actions; text that cannot be parsed at all raises
`UnreadableCommand`, which the policy judges on its own.

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

from offswitch.guard.action import Action
from offswitch.guard.shell.base import UnreadableCommand
from offswitch.guard.shell.commands import HANDLERS
from offswitch.guard.shell.dispatch import _shell
from offswitch.guard.shell.python import _python_actions

__all__ = ["UnreadableCommand", "shell_actions"]


def shell_actions(command: str, *, python: bool = False) -> list[Action]:
    """The actions of a shell command line, or of Python source when `python`."""
    if python:
        return _python_actions(command, None, 0, HANDLERS)
    return _shell(command, None, 0, HANDLERS)
