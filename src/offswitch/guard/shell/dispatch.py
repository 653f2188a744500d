"""Reading shell text command by command.

Each simple command is read with a `_Context` (its host, how deeply it is nested, what
is piped into it), its redirections become actions, and its program picks a handler
from the table of handlers it is given (`offswitch.guard.shell.commands.HANDLERS`), which
the context carries along. Handlers that run more commands (`bash -c`, `ssh`, `xargs`)
come back here through `_Context.shell` and `_Context.run`. The helpers that handlers
share for writes and copies live here too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from offswitch.guard.action import Action, Verb
from offswitch.guard.shell.base import EVIDENCE_LIMIT, HERE, MAX_DEPTH, UnreadableCommand
from offswitch.guard.shell.lexer import _Command, _lex
from offswitch.guard.shell.pipes import _echo_text, _emitted_files, _redirected_files
from offswitch.guard.shell.words import (
    _DEV_TCP,
    _DOCUMENT,
    _KEY_FILES,
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


def _check_depth(depth: int) -> None:
    if depth > MAX_DEPTH:
        raise UnreadableCommand("commands nested too deeply")


def _shell(text: str, host: str | None, depth: int, handlers: Handlers) -> list[Action]:
    """The actions of shell text. A command that cannot be read does not hide the
    others: they are read on, and the error raised at the end carries them."""
    _check_depth(depth)
    actions: list[Action] = []
    unreadable: UnreadableCommand | None = None
    for pipeline in _lex(text):
        upstream = None
        for command in pipeline:
            try:
                actions.extend(_command_actions(command, host, depth, upstream, handlers))
            except UnreadableCommand as error:
                actions.extend(error.actions)
                unreadable = unreadable or error
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
) -> list[Action]:
    context = _Context(command, host, depth, handlers, upstream)
    words = _strip_prefixes(command.words)
    actions = _redirect_actions(words, context)
    if words:
        handler = handlers.get(_program(words[0]))
        if handler is None and words[0].startswith("/etc/init.d/"):
            handler, words = handlers["service"], ["service", _basename(words[0]), *words[1:]]
        if handler is not None:
            actions.extend(handler(words[1:], context))
    return actions


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
            text = _written_text(words, context.command)
            append = redirect.operator in (">>", "&>>")
            actions.extend(_content_writes(context, [redirect.target], text, append=append))
    return actions


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
    """Text fed to this command: its heredoc, or what an upstream `echo` prints."""
    body = _heredoc(context.command)
    if body is not None or context.upstream is None:
        return body
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
