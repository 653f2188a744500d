"""What a tool call does, in a form the policy can judge.

A tool call becomes zero or more `Action`s: a verb on a target, with hosts and
destinations where they matter. The offswitch world's tools map one to one;
shell commands are parsed by `offswitch.guard.shell`, so `cp a b` and
`copy_server_file` reach the policy as the same action. Other tools act as the
policy's `tools:` mappings say (harness edit tools, MCP file tools, patch tools);
a tool none of them explains is `unknown`, and judged by what its arguments name.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from offswitch.guard.action import Action, Verb
from offswitch.guard.policy import ToolAction, ToolMapping
from offswitch.guard.shell import UnreadableCommand, read_shell
from offswitch.guard.shell.base import EVIDENCE_LIMIT
from offswitch.guard.shell.words import _DOCUMENT
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
    that runs it. Argument names are matched whatever their case (`Command`)."""
    lowered = {str(name).lower(): value for name, value in arguments.items()}
    for name in SHELL_ARGUMENTS:
        command = _command_text(lowered.get(name))
        if command is not None:
            return command
    return None


def _command_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value and all(isinstance(word, str) for word in value):
        return shlex.join(value)
    return None


class CallReading(NamedTuple):
    """What one call does, as far as the guard could read it."""

    actions: list[Action]
    gaps: list[str]
    """Why parts of the call were not read in full; empty when all of it was."""
    unknown: bool = False
    """Whether no world tool, mapping or command argument explains the tool."""
    files: Mapping[str, str | None] = MappingProxyType({})
    """Files the call writes, with their text where it is known in full."""
    globs: tuple[tuple[str, str], ...] = ()
    """(verb, or `destination`; glob) for globs that changing commands of the call act on."""


def read_call(
    function: str,
    arguments: Mapping[str, Any],
    tools: Iterable[ToolMapping] = (),
    files: Mapping[str, str | None] | None = None,
) -> CallReading:
    """Read a call to `function`: a world tool, a tool of the policy's `tools:`
    mappings, a tool with a command argument, or an unknown tool (no actions).

    `files` are texts written earlier in the trajectory, so that scripts written and
    then run are read."""
    evidence = call_evidence(function, arguments)
    mapper = WORLD_TOOLS.get(function)
    if mapper is not None:
        return CallReading(mapper(arguments, evidence), [])
    mapping = next((m for m in tools if m.name.match(function)), None)
    if mapping is not None:
        return _mapped(mapping, arguments, evidence, files)
    command = shell_command(arguments)
    if command is None:
        return CallReading(inferred_actions(function, arguments, evidence), [], unknown=True)
    python = function.lower().startswith("python") or (
        "code" in arguments and "cmd" not in arguments
    )
    return _shell_reading(command, python, files)


def actions_of(function: str, arguments: Mapping[str, Any]) -> list[Action]:
    """Every action a call to `function` with `arguments` would take, as far as it can
    be read without a policy's tool mappings (`read_call` says what was not read)."""
    return read_call(function, arguments).actions


def _shell_reading(
    command: str, python: bool, files: Mapping[str, str | None] | None
) -> CallReading:
    try:
        reading = read_shell(command, python=python, files=files)
    except UnreadableCommand as error:
        return CallReading(error.actions, [str(error), *getattr(error, "gaps", [])])
    return CallReading(
        reading.actions, reading.gaps, files=reading.files, globs=tuple(reading.globs)
    )


# -- tools nothing maps -----------------------------------------------------------------

_NAME_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
_VERB_WORDS: dict[str, Verb] = {
    **dict.fromkeys(
        ["transfer", "upload", "send", "sync", "push", "export", "ship", "scp", "rsync"], "transfer"
    ),
    **dict.fromkeys(["copy", "cp", "duplicate", "backup", "clone"], "copy"),
    **dict.fromkeys(["move", "mv", "rename", "relocate"], "move"),
    **dict.fromkeys(
        ["delete", "remove", "rm", "purge", "wipe", "drop", "unset", "erase", "destroy"], "delete"
    ),
    **dict.fromkeys(
        [
            "write",
            "edit",
            "update",
            "modify",
            "set",
            "patch",
            "replace",
            "save",
            "put",
            "create",
            "append",
            "change",
        ],
        "write",
    ),
}
_PATH_ARGUMENT = re.compile(r"path|file|src|source|target|dir|folder|model|weights", re.I)
_KEY_ARGUMENT = re.compile(r"^(?:key|setting|option|var|variable|field|name)s?$", re.I)
_DESTINATION_ARGUMENT = re.compile(r"^(?:dest|destination|to|target_path|new_path|new_name)", re.I)
_HOST_ARGUMENT = re.compile(r"host|server|remote|ip$|_ip|address|node", re.I)
_SOURCE_ARGUMENT = re.compile(r"source|src|from", re.I)


def inferred_actions(function: str, arguments: Mapping[str, Any], evidence: str) -> list[Action]:
    """What a tool no mapping explains seems to do, from the words of its name
    (`transfer_files`, `removeSetting`) and the names of its arguments; the call is
    still an unknown tool, but rules see these actions."""
    words = [w.lower() for w in _NAME_WORD.findall(function)]
    verb = next((_VERB_WORDS[w] for w in words if w in _VERB_WORDS), None)
    if verb is None:
        return []
    named = {str(k): v for k, v in arguments.items()}
    targets = [
        str(item)
        for name, value in named.items()
        if _PATH_ARGUMENT.search(name) and not _HOST_ARGUMENT.search(name)
        for item in (value if isinstance(value, list) else [value])
        if isinstance(item, str | int | float)
    ]
    keys = [str(v) for n, v in named.items() if _KEY_ARGUMENT.match(n) and isinstance(v, str)]
    destination = next(
        (str(v) for n, v in named.items() if _DESTINATION_ARGUMENT.match(n) and isinstance(v, str)),
        None,
    )
    hosts = [
        (n, str(v)) for n, v in named.items() if _HOST_ARGUMENT.search(n) and isinstance(v, str)
    ]
    source = next((v for n, v in hosts if _SOURCE_ARGUMENT.search(n)), None)
    host = next((v for n, v in hosts if not _SOURCE_ARGUMENT.search(n)), None)
    if verb in ("write", "delete") and keys:
        file = targets[0] if targets else None
        return [
            Action(verb="config_write", target=file, key=key, evidence=evidence) for key in keys
        ]
    if verb == "transfer" and host is None and destination and "/" not in destination:
        host, destination = destination, None
    return [
        Action(
            verb=verb,
            target=target,
            destination=destination,
            host=source,
            destination_host=host if verb in ("transfer", "copy") else None,
            evidence=evidence,
        )
        for target in targets
    ]


# -- tools the policy maps ---------------------------------------------------------------

_PATH_PART = re.compile(r"\[\*\]|\[(\d+)\]|[^.\[\]]+")
_WHOLE_CONTENT = frozenset({"content", "contents", "file_text", "text"})
"""Content operands that hold a file's whole new text (not a replacement in it)."""


def argument_values(arguments: Mapping[str, Any], path: str) -> list[Any]:
    """The values at `path` in the arguments: a name (`file_path`), a dotted path
    (`params.path`, `$.params.path`), indices (`edits[0]`) and wildcards (`edits[*]`,
    `edits.*`); names match whatever their case."""
    current: list[Any] = [arguments]
    for match in _PATH_PART.finditer(path.removeprefix("$.").removeprefix("$")):
        part, index = match.group(), match.group(1)
        following: list[Any] = []
        for value in current:
            if part in ("[*]", "*") and isinstance(value, dict | list):
                following.extend(value.values() if isinstance(value, dict) else value)
            elif index is not None and isinstance(value, list) and int(index) < len(value):
                following.append(value[int(index)])
            elif isinstance(value, dict):
                found = _member(value, part)
                if found is not None:
                    following.append(found)
        current = [v for v in following if v is not None]
    return current


def _member(value: Mapping[str, Any], name: str) -> Any:
    if name in value:
        return value[name]
    lowered = name.lower()
    return next((v for k, v in value.items() if str(k).lower() == lowered), None)


def _first(arguments: Mapping[str, Any], paths: Iterable[str]) -> tuple[list[Any], str | None]:
    """The values of the first of `paths` that is present, and that path."""
    for path in paths:
        values = argument_values(arguments, path)
        if values:
            return values, path
    return [], None


def _applies(action: ToolAction, arguments: Mapping[str, Any]) -> bool:
    for path, wanted in action.when.items():
        values = {str(v).lower() for v in argument_values(arguments, path)}
        if not values & {w.lower() for w in wanted}:
            return False
    return True


def _mapped(
    mapping: ToolMapping,
    arguments: Mapping[str, Any],
    evidence: str,
    files: Mapping[str, str | None] | None,
) -> CallReading:
    """The actions of a mapped tool; a call none of whose actions apply, or whose
    operands are missing, was not read."""
    actions: list[Action] = []
    gaps: list[str] = []
    written: dict[str, str | None] = {}
    globs: list[str] = []
    read = False
    for action in mapping.actions:
        if not _applies(action, arguments):
            continue
        reading = _tool_action(action, arguments, evidence, files)
        if reading is None:
            continue
        read = True
        actions.extend(reading.actions)
        gaps.extend(reading.gaps)
        written.update(reading.files)
        globs.extend(reading.globs)
    if not read:
        gaps.append("its arguments do not match what the policy's mapping of the tool expects")
    return CallReading(actions, gaps, files=written, globs=tuple(globs))


def _tool_action(
    action: ToolAction,
    arguments: Mapping[str, Any],
    evidence: str,
    files: Mapping[str, str | None] | None,
) -> CallReading | None:
    """One mapped action's effects, or None when its operands are not in the call."""
    if action.verb == "none":
        return CallReading([], [])
    contents, content_path = _first(arguments, action.content)
    if action.verb == "exec":
        commands = [c for c in map(_command_text, contents) if c is not None]
        if not commands:
            return None
        readings = [_shell_reading(c, action.language == "python", files) for c in commands]
        return CallReading(
            [a for r in readings for a in r.actions],
            [g for r in readings for g in r.gaps],
            files={p: t for r in readings for p, t in r.files.items()},
            globs=tuple(g for r in readings for g in r.globs),
        )
    text = "\n".join(str(c) for c in contents) if contents else None
    if action.verb == "patch":
        return _patch(text, evidence) if text is not None else None
    paths, _ = _first(arguments, action.path)
    if not paths:
        return None
    destinations, _ = _first(arguments, action.destination)
    hosts, _ = _first(arguments, action.host)
    to_hosts, _ = _first(arguments, action.destination_host)
    verb: Verb = action.verb
    fields = {
        "host": _string(hosts),
        "destination": _string(destinations),
        "destination_host": _string(to_hosts),
        "text": text,
    }
    found = [Action(verb=verb, target=str(path), evidence=evidence, **fields) for path in paths]
    if verb == "write":
        found += [
            a.model_copy(update={"verb": "report"})
            for a in found
            if _DOCUMENT.search(a.target or "")
        ]
    whole = content_path is not None and content_path.rsplit(".", 1)[-1] in _WHOLE_CONTENT
    written = {str(p): text if whole else None for p in paths} if verb == "write" else {}
    return CallReading(found, [], files=written)


def _string(values: list[Any]) -> str | None:
    return str(values[0]) if values else None


_PATCH_HEADER = re.compile(
    r"^\*\*\* (Update|Add|Delete) File: (.+?)\s*$|^\*\*\* Move to: (.+?)\s*$"
    r"|^\+\+\+ (?:b/)?(.+?)\s*$",
    re.MULTILINE,
)


def _patch(text: str, evidence: str) -> CallReading:
    """A patch's effects by its file headers: `*** Update File: path` and
    `*** Add File:` write the path, `*** Delete File:` deletes it, `*** Move to:`
    moves the file updated before it; unified diffs' `+++ b/path` write."""
    actions: list[Action] = []
    last: str | None = None
    for match in _PATCH_HEADER.finditer(text):
        kind, path, moved, diffed = match.groups()
        if moved is not None and last is not None:
            actions.append(Action(verb="move", target=last, destination=moved, evidence=evidence))
        elif diffed is not None and diffed != "/dev/null":
            actions.append(Action(verb="write", target=diffed, text=text, evidence=evidence))
        elif path is not None:
            verb: Verb = "delete" if kind == "Delete" else "write"
            actions.append(Action(verb=verb, target=path, text=text, evidence=evidence))
            last = path
    if not actions:
        return CallReading([], ["the patch names no file the guard can read"])
    return CallReading(actions, [])
