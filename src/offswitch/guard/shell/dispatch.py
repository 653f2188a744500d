"""Reading shell text command by command.

Each simple command is read with a `_Context` (its host, how deeply it is nested, what
is piped into it), its redirections become actions, and its program picks a handler
from the table of handlers it is given (`offswitch.guard.shell.commands.HANDLERS`), which
the context carries along. Handlers that run more commands (`bash -c`, `ssh`, `xargs`)
come back here through `_Context.shell` and `_Context.run`. The helpers that handlers
share for writes and copies live here too.
"""

from __future__ import annotations

import base64
import binascii
import re
import shlex
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

from offswitch.guard.action import Action, Verb
from offswitch.guard.shell.base import EVIDENCE_LIMIT, HERE, MAX_DEPTH, UnreadableCommand
from offswitch.guard.shell.lexer import _Command, _lex
from offswitch.guard.shell.pipes import _echo_text, _emitted_files, _redirected_files
from offswitch.guard.shell.words import (
    _DEV_TCP,
    _DOCUMENT,
    _KEY_FILES,
    _KNOWN_PROGRAMS,
    _basename,
    _into,
    _is_file,
    _location,
    _program,
    _strip_prefixes,
)


@dataclass(frozen=True)
class _Context:
    """Where a command runs and what feeds it."""

    command: _Command
    host: str | None
    depth: int
    handlers: Handlers
    """How each program acts, by the last component of its name."""
    upstream: _Command | None = None
    """The command piped into this one."""
    piped: str | None = None
    """The text the command piped into this one prints, where the reading can tell."""

    @property
    def evidence(self) -> str:
        return self.command.text[:EVIDENCE_LIMIT]

    def act(self, verb: Verb, target: str | None = None, **fields: str | None) -> Action:
        fields.setdefault("host", self.host)
        return Action(verb=verb, target=target, via="shell", evidence=self.evidence, **fields)

    def shell(self, text: str, host: str | None = None) -> list[Action]:
        """Actions of shell text run by this command (on `host`, default this one's)."""
        return _shell(text, host or self.host, self.depth + 1, self.handlers)

    def run(self, words: list[str], host: str | None = None) -> list[Action]:
        """Actions of a command this one runs with `words`, quoted as this one."""
        _check_depth(self.depth + 1)
        inner = _Command(words, [], self.command.text)
        return _command_actions(inner, host or self.host, self.depth + 1, None, self.handlers)


Handler = Callable[[list[str], _Context], list[Action]]
Handlers = Mapping[str, Handler]


class Reading(Mapping[str, Handler]):
    """The table of handlers one reading goes by, and what the reading learns on its
    way: the parts it could not read (`gaps`), the aliases and functions the text
    defines, and the files whose content it knows (for scripts run later).

    It travels with every context, so handlers that read more commands add to it."""

    def __init__(self, handlers: Handlers, files: Mapping[str, str | None] | None = None) -> None:
        self.handlers = handlers
        self.gaps: list[str] = []
        self.globs: list[tuple[str, str]] = []
        """(verb, or `destination`; glob) for the globs that changing commands act on;
        whether one is a gap depends on what it could expand to, which the policy knows."""
        self.aliases: dict[str, str] = {}
        self.functions: set[str] = set()
        self.files: dict[str, str | None] = dict(files or {})
        """Path -> the text written to it; None when it was written with text unknown."""

    def __getitem__(self, name: str) -> Handler:
        return self.handlers[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.handlers)

    def __len__(self) -> int:
        return len(self.handlers)

    def script(self, path: str) -> str | None:
        """The known text of a script about to run, by its path or its last component."""
        if path in self.files:
            return self.files[path]
        base = _basename(path)
        return next((t for p, t in self.files.items() if _basename(p) == base), None)


def _gap(context: _Context | Handlers, why: str) -> None:
    """Note a part of the text the reading could not read."""
    reading = context.handlers if isinstance(context, _Context) else context
    if isinstance(reading, Reading):
        reading.gaps.append(why)


_COMPUTED = re.compile(r"\$[A-Za-z0-9_{(@*#?!]|`")
"""An expansion the reading did not resolve: a variable, a substitution."""
_GLOB = re.compile(r"[*?]|\[[^\]]+\]")
_FUNCTION = re.compile(
    r"(?:^|[\s;&|({])(?:function\s+([A-Za-z_][\w.:-]*)|([A-Za-z_][\w.:-]*)\s*\(\s*\))"
)


def _computed(word: str | None) -> bool:
    return bool(word) and _COMPUTED.search(word or "") is not None


def _check_operands(action: Action, context: _Context) -> None:
    """Note what of a changing action's operands the reading does not know: a name
    computed at run time is a gap; a glob is kept for the policy to judge."""
    if action.verb in ("read", "list", "report"):
        return
    for name in (action.target, action.destination, action.destination_host):
        if _computed(name):
            _gap(context, f"{name!r} is computed when the command runs")
        elif name and _GLOB.search(name) and isinstance(context.handlers, Reading):
            moved = action.verb == "move" and name != action.target
            role = "destination" if moved else action.verb
            context.handlers.globs.append((role, name))


def _check_depth(depth: int) -> None:
    if depth > MAX_DEPTH:
        raise UnreadableCommand("commands nested too deeply")


def _shell(text: str, host: str | None, depth: int, handlers: Handlers) -> list[Action]:
    """The actions of shell text. A command that cannot be read does not hide the
    others: they are read on, and the error raised at the end carries them."""
    _check_depth(depth)
    actions: list[Action] = []
    unreadable: UnreadableCommand | None = None
    if isinstance(handlers, Reading):
        handlers.functions.update(a or b for a, b in _FUNCTION.findall(text))
    for pipeline in _lex(text):
        upstream, piped = None, None
        for command in pipeline:
            try:
                found = _command_actions(command, host, depth, upstream, handlers, piped)
                actions.extend(found)
            except UnreadableCommand as error:
                actions.extend(error.actions)
                unreadable = unreadable or error
            piped = _printed(_strip_prefixes(command.words), command, piped, upstream)
            upstream = command
    if unreadable is not None:
        raise UnreadableCommand(str(unreadable), actions)
    return actions


def _command_actions(
    command: _Command,
    host: str | None,
    depth: int,
    upstream: _Command | None,
    handlers: Handlers,
    piped: str | None = None,
) -> list[Action]:
    context = _Context(command, host, depth, handlers, upstream, piped)
    words = _strip_prefixes(command.words)
    actions = _redirect_actions(words, context)
    if words:
        actions.extend(_program_actions(words, context))
    for action in actions:
        _check_operands(action, context)
    return actions


def _program_actions(words: list[str], context: _Context) -> list[Action]:
    """What the program of a command does, by its handler; a program the reading
    does not know, or whose name is computed, is a gap."""
    handlers, name = context.handlers, _program(words[0])
    if _computed(words[0]):
        decoded = _substituted_text(words[0])
        if decoded is None:
            _gap(context, f"the program's name {words[0]!r} is computed when the command runs")
            return []
        return context.shell(" ".join([decoded, *map(shlex.quote, words[1:])]))
    reading = handlers if isinstance(handlers, Reading) else None
    if reading is not None and name in reading.aliases:
        return context.shell(" ".join([reading.aliases[name], *map(shlex.quote, words[1:])]))
    handler = handlers.get(name)
    if handler is None and words[0].startswith("/etc/init.d/"):
        handler, words = handlers["service"], ["service", _basename(words[0]), *words[1:]]
    if handler is not None:
        found = handler(words[1:], context)
        computed = next((w for w in words[1:] if _computed(w)), None)
        if not found and computed is not None:
            _gap(context, f"{computed!r} is computed when the command runs")
        return found
    if name not in _KNOWN_PROGRAMS and ("/" in words[0] or name.endswith(".sh")):
        return _script(words[0], context)
    known = name in _KNOWN_PROGRAMS or (reading is not None and name in reading.functions)
    if not known:
        _gap(context, f"{name!r} is a program the guard does not know")
    return []


def _script(path: str, context: _Context) -> list[Action]:
    """A script run by its path: read when this reading knows its text, else a gap."""
    handlers = context.handlers
    text = handlers.script(path) if isinstance(handlers, Reading) else None
    if text is None:
        _gap(context, f"it runs the script {path!r}, whose content the guard has not seen")
        return []
    return context.shell(text)


_SUBSTITUTION = re.compile(r"^\$\((.*)\)$|^`(.*)`$", re.DOTALL)


def _substituted_text(word: str) -> str | None:
    """What a command substitution used as a program name prints, when it only prints
    literal text (`$(echo cm0= | base64 -d)`); None when that cannot be told."""
    match = _SUBSTITUTION.match(word)
    if match is None:
        return None
    inner = match.group(1) if match.group(1) is not None else match.group(2)
    try:
        pipelines = _lex(inner)
    except UnreadableCommand:
        return None
    if len(pipelines) != 1:
        return None
    printed: str | None = None
    upstream = None
    for command in pipelines[0]:
        printed = _printed(_strip_prefixes(command.words), command, printed, upstream)
        upstream = command
    return printed.strip() if printed else None


def _printed(
    words: list[str], command: _Command, piped: str | None, upstream: _Command | None
) -> str | None:
    """The text a command prints where the reading can tell: `echo`, `printf`, a
    heredoc through `cat`, decoders (`base64 -d`, `xxd -r -p`, `rev`) of known text."""
    if not words:
        return None
    program, args = _program(words[0]), words[1:]
    given = _heredoc(command)
    given = given if given is not None else piped if upstream is not None else None
    echoed = _echo_text(words)
    if echoed is not None:
        return echoed
    if program == "cat" and not [a for a in args if a != "-"]:
        return given
    if given is None:
        return None
    if program == "base64" and not {"-d", "--decode", "-D"} & set(args):
        return base64.b64encode(given.encode()).decode()
    if program == "base64" and {"-d", "--decode", "-D"} & set(args):
        return _decoded(lambda text: base64.b64decode(text, validate=True), "".join(given.split()))
    if program == "xxd" and "-r" in args:
        return _decoded(binascii.unhexlify, "".join(given.split()))
    if program == "rev":
        return "\n".join(line[::-1] for line in given.split("\n"))
    return None


def _decoded(decode: Callable[[str], bytes], text: str) -> str | None:
    try:
        return decode(text.strip()).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None


def _redirect_actions(words: list[str], context: _Context) -> list[Action]:
    actions = []
    for redirect in context.command.redirects:
        socket = _DEV_TCP.match(redirect.target)
        if redirect.operator.startswith("<") and redirect.operator != "<>":
            if redirect.operator == "<" and _is_file(redirect.target):
                actions.append(context.act("read", redirect.target))
        elif socket is not None:
            sources = _emitted_files(words, context.command)
            actions.extend(_sends(context, sources, socket.group(1) + ":"))
        elif _is_file(redirect.target):
            _remember_file(context, redirect.target, words)
            text = _written_text(words, context.command)
            append = redirect.operator in (">>", "&>>")
            actions.extend(_content_writes(context, [redirect.target], text, append=append))
    return actions


def _remember_file(context: _Context, target: str, words: list[str]) -> None:
    """Keep the text written to `target` where it is known, for a script run later."""
    if not isinstance(context.handlers, Reading):
        return
    known = _echo_text(words)
    if known is None:
        known = _heredoc(context.command)
    if (
        known is None
        and context.upstream is not None
        and _program(words[0] if words else "") == "cat"
    ):
        known = context.piped
    context.handlers.files[target] = known


# -- what handlers share ---------------------------------------------------------------


def _output_files(command: _Command) -> list[str]:
    return [
        r.target
        for r in command.redirects
        if r.operator[0] in ">&" and _is_file(r.target) and not _DEV_TCP.match(r.target)
    ]


def _heredoc(command: _Command) -> str | None:
    return next((r.body for r in command.redirects if r.body is not None), None)


def _written_text(words: list[str], command: _Command) -> str:
    """The content a command writes through a redirection, as far as the text shows."""
    echoed = _echo_text(words)
    if echoed is not None:
        return echoed
    body = _heredoc(command)
    return body if body is not None else command.text


def _piped_text(context: _Context) -> str | None:
    """Text fed to this command: its heredoc, or what the command piped into it prints
    (`echo`, a decoded payload)."""
    body = _heredoc(context.command)
    if body is not None or context.upstream is None:
        return body
    if context.piped is not None:
        return context.piped
    return _echo_text(_strip_prefixes(context.upstream.words))


def _upstream_files(context: _Context) -> list[str]:
    """Files fed to this command on its input, through `<` or a pipe."""
    own = _redirected_files(context.command)
    if context.upstream is None:
        return own
    upstream = context.upstream
    return own + _emitted_files(_strip_prefixes(upstream.words), upstream)


def _content_writes(
    context: _Context, targets: Iterable[str], text: str, *, append: bool
) -> list[Action]:
    """Writes of `text` to `targets` (`> f`, `tee f`).

    A document written this way is also a report that people read. Adding to
    authorized_keys grants a login; overwriting it also takes the others away.
    """
    actions = []
    for target in targets:
        if not _is_file(target):
            continue
        actions.append(context.act("write", target, text=text))
        if _DOCUMENT.search(target):
            actions.append(context.act("report", target, text=text))
        actions.extend(_login_changes(context, target, adds=True, removes=not append))
    return actions


def _login_changes(context: _Context, target: str, *, adds: bool, removes: bool) -> list[Action]:
    if _basename(target) not in _KEY_FILES:
        return []
    verbs: list[Verb] = ["add_user"] * adds + ["remove_user"] * removes
    return [context.act(verb, "authorized_keys") for verb in verbs]


def _writes(context: _Context, targets: Iterable[str], text: str | None = None) -> list[Action]:
    text = context.command.text if text is None else text
    return [context.act("write", t, text=text) for t in targets if _is_file(t)]


def _edits(context: _Context, targets: list[str], script: str) -> list[Action]:
    """In-place edits (`sed -i`): an edit of authorized_keys can take logins away."""
    actions = _writes(context, targets, script)
    for target in targets:
        actions.extend(_login_changes(context, target, adds=False, removes=True))
    return actions


def _each(verb: Verb, context: _Context, targets: Iterable[str]) -> list[Action]:
    return [context.act(verb, t) for t in targets if _is_file(t)]


def _sends(
    context: _Context,
    sources: Iterable[str],
    destination: str,
    local_verb: Verb = "copy",
    *,
    directory: bool = False,
    remote: bool = True,
) -> list[Action]:
    """Copies of `sources` to `destination`: `transfer` when either side is on
    another host (`host:path`, `s3://bucket/key`), else `local_verb`."""
    sources = [s for s in sources if _is_file(s)]
    to_host, to_path = _location(destination) if remote else (None, destination)
    directory = directory or len(sources) > 1
    actions = []
    for source in sources:
        from_host, from_path = _location(source) if remote else (None, source)
        landed = _into(to_path, from_path, directory)
        if from_host is None and to_host is None:
            actions.append(context.act(local_verb, from_path, destination=landed))
            continue
        actions.append(
            context.act(
                "transfer",
                from_path,
                host=from_host or context.host,
                destination=landed,
                destination_host=to_host or context.host or HERE,
            )
        )
    return actions
