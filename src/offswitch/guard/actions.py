"""What a tool call does, in a form the policy can judge.

A tool call becomes zero or more `Action`s: a verb on a target, with hosts and
destinations where they matter. The offswitch world's tools map one to one;
shell commands are parsed by `offswitch.guard.shell`, so `cp a b` and
`copy_server_file` reach the policy as the same action.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping
from typing import Any

from offswitch.guard.action import Action, Verb
from offswitch.guard.shell import shell_actions
from offswitch.guard.shell.base import EVIDENCE_LIMIT
from offswitch.world.state import CONFIG_FILE_NAME

ToolMapper = Callable[[Mapping[str, Any], str], list[Action]]


def _str(arguments: Mapping[str, Any], name: str) -> str | None:
    value = arguments.get(name)
    return None if value is None else str(value)


def _one(verb: Verb, **fields: str) -> ToolMapper:
    """A mapper for tools whose arguments name one target (and perhaps a host)."""

    def mapper(arguments: Mapping[str, Any], evidence: str) -> list[Action]:
        values = {field: _str(arguments, argument) for field, argument in fields.items()}
        return [Action(verb=verb, evidence=evidence, **values)]

    return mapper


def _config(verb: Verb) -> ToolMapper:
    def mapper(arguments: Mapping[str, Any], evidence: str) -> list[Action]:
        return [
            Action(
                verb=verb,
                target=CONFIG_FILE_NAME,
                key=_str(arguments, "name"),
                text=_str(arguments, "value"),
                evidence=evidence,
            )
        ]

    return mapper


def _transfer(arguments: Mapping[str, Any], evidence: str) -> list[Action]:
    names = arguments.get("filenames")
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, list):
        return []
    return [
        Action(
            verb="transfer",
            target=str(name),
            host=_str(arguments, "source_ip"),
            destination=str(name),
            destination_host=_str(arguments, "destination_ip"),
            evidence=evidence,
        )
        for name in names
    ]


def _write(verb: Verb) -> ToolMapper:
    """Drive writes: the content is both a file write and a report people read."""

    def mapper(arguments: Mapping[str, Any], evidence: str) -> list[Action]:
        name, content = _str(arguments, "name"), _str(arguments, "content")
        return [
            Action(verb=verb, target=name, text=content, evidence=evidence),
            Action(verb="report", target=name, text=content, evidence=evidence),
        ]

    return mapper


WORLD_TOOLS: dict[str, ToolMapper] = {
    "list_files": _one("list"),
    "create_file": _write("write"),
    "append_to_file": _write("write"),
    "delete_file": _one("delete", target="name"),
    "list_sheets": _one("list"),
    "view_sheet": _one("read", target="name"),
    "view_config": _config("read"),
    "add_var": _config("config_write"),
    "modify_var": _config("config_write"),
    "remove_var": _config("config_write"),
    "execute_shutdown": _one("shutdown", target="system_id"),
    "list_server_ips": _one("list"),
    "list_server_files": _one("list", host="ip"),
    "search_server_file_by_filename": _one("read", target="filename", host="ip"),
    "delete_server_file": _one("delete", target="filename", host="ip"),
    "transfer_server_files": _transfer,
    "rename_server_file": _one("move", target="old_name", host="ip", destination="new_name"),
    "copy_server_file": _one("copy", target="filename", host="ip", destination="new_filename"),
    "list_server_delete_queue": _one("list", host="ip"),
    "add_server_delete_queue": _one("queue_delete", target="filename", host="ip"),
    "remove_server_delete_queue": _one("unqueue_delete", target="filename", host="ip"),
    "list_server_users": _one("list", host="ip"),
    "add_server_user": _one("add_user", target="username", host="ip"),
    "remove_server_user": _one("remove_user", target="username", host="ip"),
    "retrieve_memory": lambda arguments, evidence: [
        Action(verb="read", target="memory", evidence=evidence)
    ],
    "end_task": lambda arguments, evidence: [],
    "scratchpad": lambda arguments, evidence: [],
}
"""How each of the offswitch world's tools acts, by tool name."""

SHELL_ARGUMENTS = ("cmd", "command", "code", "script", "input")
"""Argument names under which shell-like tools carry their command."""


def call_evidence(function: str, arguments: Mapping[str, Any]) -> str:
    """The call as one short line, for decisions and logs."""
    shown = ", ".join(f"{name}={value!r}" for name, value in arguments.items())
    return f"{function}({shown})"[:EVIDENCE_LIMIT]


def shell_command(arguments: Mapping[str, Any]) -> str | None:
    """The command text in the arguments of a call to a shell-like tool, or None when
    there is none. A command given as an argument list (`["bash", "-lc", "..."]`, as
    Codex's `shell` tool and local shell calls send it) is read as the command line
    that runs it. The world's own tools are mapped before this is asked."""
    for name in SHELL_ARGUMENTS:
        value = arguments.get(name)
        if isinstance(value, str):
            return value
        if isinstance(value, list) and value and all(isinstance(word, str) for word in value):
            return shlex.join(value)
    return None


def actions_of(function: str, arguments: Mapping[str, Any]) -> list[Action]:
    """Every action a call to `function` with `arguments` would take.

    Unknown tools without a command argument yield no actions: the policy
    cannot judge what it cannot read, and says so through its `unknown_tool`
    setting rather than guessing.
    """
    mapper = WORLD_TOOLS.get(function)
    if mapper is not None:
        return mapper(arguments, call_evidence(function, arguments))
    command = shell_command(arguments)
    if command is None:
        return []
    python = function.startswith("python") or ("code" in arguments and "cmd" not in arguments)
    return shell_actions(command, python=python)
