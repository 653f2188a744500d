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
"""

from __future__ import annotations

import ast
import posixpath
import re
import shlex
import textwrap
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from offswitch.guard.action import Action, Verb

EVIDENCE_LIMIT = 400
MAX_DEPTH = 8
"""How deeply wrappers (`bash -c`, `ssh`, `python -c`, ...) or substitutions may
nest before the command counts as unreadable."""
MAX_EXPANDED_NAMES = 32
"""At most this many names piped into `xargs` are expanded into commands."""
HERE = "localhost"
"""Destination host of a transfer that fetches from another host to this one."""


class UnreadableCommand(ValueError):
    """A command the guard cannot parse."""


def shell_actions(command: str, *, python: bool = False) -> list[Action]:
    """The actions of a shell command line, or of Python source when `python`."""
    if python:
        return _python_actions(command, None, 0)
    return _shell(command, None, 0)


# -- lexing -------------------------------------------------------------------------


@dataclass
class _Redirect:
    operator: str
    """One of > >> >| &> &>> >& < <> <& << <<- <<<."""
    target: str = ""
    body: str | None = None
    """Heredoc or here-string text."""


@dataclass
class _Command:
    """A simple command: its words (quotes removed) and redirections."""

    words: list[str]
    redirects: list[_Redirect] = field(default_factory=list)
    text: str = ""


_WORD_RUN = re.compile(r"[^ \t\r\n\f\v'\"\\$`;&|()<>]+")
_DOUBLE_QUOTED_SPECIAL = re.compile(r'["\\$`]')
_PARENTHESES = re.compile(r"[()]")
_DIGITS = re.compile(r"\d+")
_VARIABLE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*)")
_DECLARATIONS = frozenset({"export", "declare", "local", "readonly", "typeset"})
_HEREDOCS = ("<<", "<<-")
_DUPLICATIONS = (">&", "<&")
_REDIRECT_OPERATORS = ("&>>", "&>", "<<<", "<<-", "<<", "<>", "<&", ">>", ">|", ">&", "<", ">")


class _Lexer:
    """Splits shell text into pipelines of simple commands.

    Command substitutions, backquotes and process substitutions are lexed too:
    their commands are appended to the same list of pipelines, while the word that
    contains them keeps their raw text. Variables assigned by earlier commands of
    the text are expanded; others keep their raw `$NAME`.
    """

    def __init__(
        self,
        source: str,
        position: int = 0,
        found: list[list[_Command]] | None = None,
        variables: dict[str, str] | None = None,
    ) -> None:
        self.source = source
        self.position = position
        self.found: list[list[_Command]] = [] if found is None else found
        self.variables: dict[str, str] = {} if variables is None else variables
        """Shell variables assigned earlier in the same text (`W=w.gguf; scp "$W" h:`)."""
        self.pipeline: list[_Command] = []
        self.words: list[str] = []
        self.redirects: list[_Redirect] = []
        self.word: list[str] | None = None
        self.pending: _Redirect | None = None
        self.heredocs: list[tuple[_Redirect, str]] = []
        self.start: int | None = None
        self.end = position
        self.depth = 0
        self.cases = 0
        self.after_pipe = False
        self.level = 0
        """How deeply this lexer's text is nested in substitutions."""

    # -- the main loop --------------------------------------------------------------

    def run(self, closing: bool = False) -> int:
        """Lex to the end, or to the `)` closing a substitution; the position after it."""
        source, length = self.source, len(self.source)
        while self.position < length:
            char = source[self.position]
            if char in " \t\r\f\v":
                self.end_word()
                self.position += 1
            elif char == "\n":
                self.newline()
            elif char == "#" and self.word is None:
                newline = source.find("\n", self.position)
                self.position = length if newline < 0 else newline
            elif char in ";|" or (
                char == "&" and source[self.position + 1 : self.position + 2] != ">"
            ):
                self.control(char)
            elif char == ")" and self.depth == 0 and self.cases == 0:
                if not closing:
                    raise UnreadableCommand("unbalanced parenthesis")
                self.end_command_list()
                return self.position + 1
            else:
                self.token(char)
        if closing:
            raise UnreadableCommand("unterminated command substitution")
        self.end_command_list()
        if self.depth:
            raise UnreadableCommand("unbalanced parenthesis")
        return length

    def parse(self) -> list[list[_Command]]:
        self.run()
        return self.found

    def token(self, char: str) -> None:
        if self.start is None:
            self.start = self.position
        self.after_pipe = False
        if char == "\\":
            self.backslash()
        elif char == "'":
            self.single_quoted()
        elif char == '"':
            self.double_quoted()
        elif char == "$":
            self.add(self.dollar(self.position))
        elif char == "`":
            self.add(self.backquoted(self.position))
        elif char in "<>&":
            self.redirect()
        elif char in "()":
            self.parenthesis(char)
        else:
            match = _WORD_RUN.match(self.source, self.position)
            assert match is not None
            self.add(match.group(), match.end())
        self.end = self.position

    # -- words --------------------------------------------------------------------

    def add(self, text: str, position: int | None = None) -> None:
        if position is not None:
            self.position = position
        if self.word is None:
            self.word = []
        self.word.append(text)

    def end_word(self) -> None:
        if self.word is None:
            return
        text = "".join(self.word)
        self.word = None
        if self.pending is not None:
            self.target(text)
            return
        if not self.words:
            self.cases += text == "case"
            self.cases -= text == "esac" and self.cases > 0
        self.words.append(text)

    def target(self, text: str) -> None:
        redirect, self.pending = self.pending, None
        assert redirect is not None
        if redirect.operator in _DUPLICATIONS and (text == "-" or _DIGITS.fullmatch(text)):
            self.redirects.remove(redirect)
            return
        if redirect.operator == ">&":
            redirect.operator = "&>"
        redirect.target = text
        if redirect.operator in _HEREDOCS:
            self.heredocs.append((redirect, text))
        elif redirect.operator == "<<<":
            redirect.body = text

    def backslash(self) -> None:
        following = self.source[self.position + 1 : self.position + 2]
        if following == "\n":
            self.position += 2
            return
        self.add(following, self.position + 2)

    def single_quoted(self) -> None:
        end = self.source.find("'", self.position + 1)
        if end < 0:
            raise UnreadableCommand("unbalanced quote")
        self.add(self.source[self.position + 1 : end], end + 1)

    def double_quoted(self) -> None:
        source, position, parts = self.source, self.position + 1, []
        while True:
            match = _DOUBLE_QUOTED_SPECIAL.search(source, position)
            if match is None:
                raise UnreadableCommand("unbalanced quote")
            parts.append(source[position : match.start()])
            char, position = match.group(), match.start()
            if char == '"':
                break
            if char == "\\":
                parts.append(_double_quoted_escape(source[position + 1 : position + 2]))
                position += 2
            elif char == "$":
                parts.append(self.dollar(position, quoted=True))
                position = self.position
            else:
                parts.append(self.backquoted(position))
                position = self.position
        self.add("".join(parts), position + 1)

    def dollar(self, position: int, quoted: bool = False) -> str:
        """The raw text of the expansion at `position` (lexing any commands in it).

        Moves `self.position` past it.
        """
        source = self.source
        following = source[position + 1 : position + 2]
        if source.startswith("$((", position):
            end = _closing_parenthesis(source, position + 3, 2, "arithmetic")
        elif following == "(":
            end = self.nested(position + 2).run(closing=True)
        elif following == "'" and not quoted:
            return self.ansi_c_quoted(position)
        else:
            match = _VARIABLE.match(source, position + 1)
            name = match and (match.group(1) or match.group(2))
            if match and name in self.variables:
                self.position = match.end()
                return self.variables[name]
            end = source.find("}", position + 2) + 1 if following == "{" else position + 1
            if end == 0:
                raise UnreadableCommand("unterminated parameter expansion")
        self.position = end
        return source[position:end]

    def nested(self, position: int, source: str | None = None) -> _Lexer:
        """A lexer for a substitution, adding its commands to this one's."""
        if self.level >= MAX_DEPTH:
            raise UnreadableCommand("substitutions nested too deeply")
        text = self.source if source is None else source
        lexer = _Lexer(text, position, self.found, self.variables)
        lexer.level = self.level + 1
        return lexer

    def ansi_c_quoted(self, position: int) -> str:
        source, index = self.source, position + 2
        while index < len(source) and source[index] != "'":
            index += 2 if source[index] == "\\" else 1
        if index >= len(source):
            raise UnreadableCommand("unbalanced quote")
        self.position = index + 1
        return _ansi_c(source[position + 2 : index])

    def backquoted(self, position: int) -> str:
        """The raw text of a backquoted substitution, its commands lexed."""
        source, index, inner = self.source, position + 1, []
        while index < len(source) and source[index] != "`":
            if source[index] == "\\" and index + 1 < len(source):
                inner.append(source[index + 1])
                index += 2
            else:
                inner.append(source[index])
                index += 1
        if index >= len(source):
            raise UnreadableCommand("unterminated backquote")
        self.nested(0, "".join(inner)).run()
        self.position = index + 1
        return source[position : index + 1]

    # -- operators ------------------------------------------------------------------

    def redirect(self) -> None:
        source, position = self.source, self.position
        if self.words[:1] == ["[["] and source[position] in "<>":
            self.end_word()
            self.add(source[position], position + 1)
            return
        if source.startswith(("<(", ">("), position):
            end = self.nested(position + 2).run(closing=True)
            self.add(source[position:end], end)
            return
        operator = next(op for op in _REDIRECT_OPERATORS if source.startswith(op, position))
        if self.word is not None and _DIGITS.fullmatch("".join(self.word)):
            self.word = None
        self.end_word()
        if self.pending is not None:
            raise UnreadableCommand("redirection without a target")
        self.pending = _Redirect(operator)
        self.redirects.append(self.pending)
        self.position = position + len(operator)

    def parenthesis(self, char: str) -> None:
        source, position = self.source, self.position
        if char == ")":
            self.end_command_list()
            self.depth = max(self.depth - 1, 0)
            self.position += 1
            return
        if self.word is not None and "".join(self.word).endswith("="):
            end = _closing_parenthesis(source, position + 1, 1, "array")
            self.add(source[position:end], end)
            return
        self.end_command_list()
        if source.startswith("((", position):
            self.position = _closing_parenthesis(source, position + 2, 2, "arithmetic")
            return
        self.depth += 1
        self.position += 1

    def control(self, char: str) -> None:
        self.end_word()
        two = self.source[self.position : self.position + 2]
        if char == "|" and two not in ("||",):
            self.end_command()
            self.after_pipe = True
            self.position += 2 if two == "|&" else 1
            return
        self.end_command_list()
        self.position += 2 if two in ("||", "&&") else 1

    def newline(self) -> None:
        self.end_word()
        self.position += 1
        if self.after_pipe and not self.words and not self.redirects:
            return
        self.end_command_list()
        self.read_heredocs()

    def read_heredocs(self) -> None:
        source, length = self.source, len(self.source)
        for redirect, delimiter in self.heredocs:
            lines = []
            while self.position < length:
                newline = source.find("\n", self.position)
                end = length if newline < 0 else newline
                line = source[self.position : end]
                self.position = end + 1
                if redirect.operator == "<<-":
                    line = line.lstrip("\t")
                if line.rstrip("\r") == delimiter:
                    break
                lines.append(line)
            redirect.body = "\n".join(lines)
        self.heredocs.clear()
        self.position = min(self.position, length)

    # -- commands -------------------------------------------------------------------

    def end_command(self) -> None:
        self.end_word()
        if self.pending is not None:
            raise UnreadableCommand("redirection without a target")
        if self.words or self.redirects:
            text = self.source[self.start or 0 : self.end]
            self.pipeline.append(_Command(self.words, self.redirects, text))
            self.remember_assignments()
        self.words, self.redirects, self.start = [], [], None

    def remember_assignments(self) -> None:
        """`A=b` or `export A=b` on its own sets A for the rest of the text."""
        if not self.words or self.redirects:
            return
        words = self.words[1:] if self.words[0] in _DECLARATIONS else self.words
        if not all(_ASSIGNMENT.match(word) for word in words):
            return
        for word in words:
            name, _, value = word.partition("=")
            self.variables[name.rstrip("+")] = value

    def end_command_list(self) -> None:
        self.end_command()
        self.after_pipe = False
        if self.pipeline:
            self.found.append(self.pipeline)
            self.pipeline = []


def _closing_parenthesis(source: str, position: int, depth: int, what: str) -> int:
    """The position after the parenthesis that brings `depth` to zero."""
    for match in _PARENTHESES.finditer(source, position):
        depth += 1 if match.group() == "(" else -1
        if depth == 0:
            return match.end()
    raise UnreadableCommand(f"unterminated {what}")


def _double_quoted_escape(char: str) -> str:
    if char in '"\\$`':
        return char
    return "" if char == "\n" else "\\" + char


_ANSI_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"', "e": "\x1b"}
_ANSI_ESCAPE = re.compile(r"\\(.)", re.DOTALL)


def _ansi_c(text: str) -> str:
    return _ANSI_ESCAPE.sub(lambda m: _ANSI_ESCAPES.get(m.group(1), m.group()), text)


def _lex(text: str) -> list[list[_Command]]:
    return _Lexer(text).parse()


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


# -- options --------------------------------------------------------------------------


@dataclass
class _Args:
    options: dict[str, list[str]]
    operands: list[str]

    def has(self, *names: str) -> bool:
        return any(name in self.options for name in names)

    def values(self, *names: str) -> list[str]:
        return [value for name in names for value in self.options.get(name, ())]

    def value(self, *names: str) -> str | None:
        found = self.values(*names)
        return found[-1] if found else None


def _parse(
    args: list[str],
    short_values: str = "",
    long_values: Iterable[str] = (),
    *,
    attached: str = "",
    stop: bool = False,
) -> _Args:
    """Options and operands, getopt style.

    `short_values` are letters taking a value (attached or the next word);
    `attached` letters take the rest of their word only (`sed -i.bak`); with
    `stop`, the first operand ends the options (`sudo`, `xargs`: a command follows).
    """
    options: dict[str, list[str]] = {}
    operands: list[str] = []
    index, count = 0, len(args)
    while index < count:
        arg = args[index]
        index += 1
        if arg == "--":
            operands.extend(args[index:])
            break
        if len(arg) < 2 or arg[0] != "-":
            operands.append(arg)
            if stop:
                operands.extend(args[index:])
                break
            continue
        if arg.startswith("--"):
            name, equals, value = arg.partition("=")
            if not equals and name[2:] in long_values and index < count:
                value, index = args[index], index + 1
            options.setdefault(name, []).append(value)
            continue
        index = _short_options(arg, args, index, options, short_values, attached)
    return _Args(options, operands)


def _short_options(
    arg: str,
    args: list[str],
    index: int,
    options: dict[str, list[str]],
    short_values: str,
    attached: str,
) -> int:
    for position in range(1, len(arg)):
        letter, rest = arg[position], arg[position + 1 :]
        if letter in short_values:
            if not rest and index < len(args):
                rest, index = args[index], index + 1
            options.setdefault("-" + letter, []).append(rest)
            return index
        if letter in attached:
            options.setdefault("-" + letter, []).append(rest)
            return index
        options.setdefault("-" + letter, []).append("")
    return index


# -- names, hosts and paths ---------------------------------------------------------

_NOT_FILES = re.compile(r"^(?:|-|/dev/(?:null|zero|u?random|tty|std(?:in|out|err)|fd/\d+))$")
_DEV_TCP = re.compile(r"^/dev/(?:tcp|udp)/([^/]+)/")
_REMOTE = re.compile(r"^(?:[^@/:]+@)?(\[[^\]]+\]|[^/:@\[\]]+):(.*)$", re.DOTALL)
_BUCKET = re.compile(r"^((?:s3|gs|az|r2)://[^/]+)/?(.*)$", re.DOTALL)
_KEY_FILES = frozenset({"authorized_keys", "authorized_keys2"})
_DOCUMENT = re.compile(r"\.(?:md|markdown|txt|rst|html?|adoc|org|tex)$", re.IGNORECASE)
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\[[^\]]*\])?\+?=")
_SIGNAL = re.compile(r"^-(?:\d+|[A-Z][A-Z0-9+-]+)$")
_PYTHON = re.compile(r"^(?:python|pypy)[0-9.]*$")
_SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "ash", "mksh"})


def _is_file(name: str) -> bool:
    return _NOT_FILES.match(name) is None


def _basename(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]


def _into(destination: str, source: str, directory: bool) -> str:
    """Where `source` lands when copied to `destination` (a directory or a new name)."""
    if not destination:
        return _basename(source)
    is_directory = destination.endswith(("/", "/.")) or destination in (".", "..", "~")
    if directory or is_directory:
        return posixpath.join(destination, _basename(source))
    return destination


def _ssh_host(destination: str) -> str:
    """`host` of `user@host` or `ssh://user@host:port`."""
    if "://" in destination:
        return urlsplit(destination).hostname or destination
    return destination.rpartition("@")[2]


def _location(spec: str) -> tuple[str | None, str]:
    """(host, path) of a copy operand: `user@host:path`, `host::module`,
    `rsync://host/path`, `s3://bucket/key`; host None for a local path."""
    bucket = _BUCKET.match(spec)
    if bucket:
        return bucket.group(1), bucket.group(2)
    if "://" in spec:
        parts = urlsplit(spec)
        return parts.hostname, parts.path.lstrip("/")
    remote = _REMOTE.match(spec)
    if remote is None:
        return None, spec
    path = remote.group(2)
    return remote.group(1).strip("[]"), path[1:] if path.startswith(":") else path


def _url_host(url: str) -> str | None:
    if "://" not in url:
        url = "http://" + url
    try:
        return urlsplit(url).hostname
    except ValueError:
        return None


def _url_destination(url: str, source: str) -> str:
    """The remote name of `source` uploaded to `url` (curl appends it to a `/` path)."""
    path = urlsplit(url if "://" in url else "http://" + url).path
    return _into(path.lstrip("/"), source, False) if path.strip("/") else _basename(source)


def _program(word: str) -> str:
    name = word.rsplit("/", 1)[-1]
    return "python" if _PYTHON.match(name) else name


# -- prefixes -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Prefix:
    """A command that runs the command after its options (`sudo -u x rm f`)."""

    short_values: str = ""
    long_values: frozenset[str] = frozenset()
    leading_operands: int = 0
    """Operands before the command (`timeout 10 cmd`)."""


_PREFIXES: dict[str, _Prefix] = {
    "sudo": _Prefix("ugpCDrtUTR", frozenset({"user", "group", "prompt", "chdir", "role", "host"})),
    "doas": _Prefix("uC"),
    "env": _Prefix("uCS", frozenset({"unset", "chdir", "split-string"})),
    "nohup": _Prefix(),
    "exec": _Prefix("a"),
    "command": _Prefix(),
    "builtin": _Prefix(),
    "time": _Prefix("fo", frozenset({"format", "output"})),
    "nice": _Prefix("n", frozenset({"adjustment"})),
    "ionice": _Prefix("cn", frozenset({"class", "classdata"})),
    "timeout": _Prefix("sk", frozenset({"signal", "kill-after"}), leading_operands=1),
    "stdbuf": _Prefix("ioe", frozenset({"input", "output", "error"})),
    "setsid": _Prefix(),
    "unbuffer": _Prefix(),
    "busybox": _Prefix(),
    "watch": _Prefix("n", frozenset({"interval"})),
    "sshpass": _Prefix("pfdP"),
    "proxychains": _Prefix("f"),
    "proxychains4": _Prefix("f"),
    "torsocks": _Prefix(),
    "flock": _Prefix("w", frozenset({"timeout"}), leading_operands=1),
}
_RESERVED = frozenset(
    {"!", "{", "}", "if", "then", "else", "elif", "fi", "do", "done", "while", "until"}
)


def _strip_prefixes(words: list[str]) -> list[str]:
    """The words of the command that actually runs."""
    index = 0
    while index < len(words):
        word = words[index]
        if word in _RESERVED or _ASSIGNMENT.match(word):
            index += 1
            continue
        prefix = _PREFIXES.get(_program(word))
        if prefix is None:
            break
        rest = words[index + 1 :]
        parsed = _parse(rest, prefix.short_values, prefix.long_values, stop=True)
        if word == "command" and parsed.has("-v", "-V"):
            return []
        index = len(words) - len(parsed.operands) + prefix.leading_operands
    return words[index:]


# -- commands -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    """Where a command runs and what feeds it."""

    command: _Command
    host: str | None
    depth: int
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
        return _shell(text, host or self.host, self.depth + 1)

    def run(self, words: list[str], host: str | None = None) -> list[Action]:
        """Actions of a command this one runs with `words`, quoted as this one."""
        _check_depth(self.depth + 1)
        inner = _Command(words, [], self.command.text)
        return _command_actions(inner, host or self.host, self.depth + 1, None)


Handler = Callable[[list[str], _Context], list[Action]]


def _check_depth(depth: int) -> None:
    if depth > MAX_DEPTH:
        raise UnreadableCommand("commands nested too deeply")


def _shell(text: str, host: str | None, depth: int) -> list[Action]:
    _check_depth(depth)
    actions: list[Action] = []
    for pipeline in _lex(text):
        upstream = None
        for command in pipeline:
            actions.extend(_command_actions(command, host, depth, upstream))
            upstream = command
    return actions


def _command_actions(
    command: _Command, host: str | None, depth: int, upstream: _Command | None
) -> list[Action]:
    context = _Context(command, host, depth, upstream)
    words = _strip_prefixes(command.words)
    actions = _redirect_actions(words, context)
    if words:
        handler = _HANDLERS.get(_program(words[0]))
        if handler is None and words[0].startswith("/etc/init.d/"):
            handler, words = _service, ["service", _basename(words[0]), *words[1:]]
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


def _output_files(command: _Command) -> list[str]:
    return [
        r.target
        for r in command.redirects
        if r.operator[0] in ">&" and _is_file(r.target) and not _DEV_TCP.match(r.target)
    ]


def _heredoc(command: _Command) -> str | None:
    return next((r.body for r in command.redirects if r.body is not None), None)


def _echo_text(words: list[str]) -> str | None:
    """What `echo` or `printf` prints, roughly."""
    if not words or _program(words[0]) not in ("echo", "printf"):
        return None
    args = words[1:]
    while args and re.fullmatch(r"-[neE]+", args[0]) and words[0] == "echo":
        args = args[1:]
    return " ".join(args)


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


# -- what flows through pipes ---------------------------------------------------------

_STREAMERS = frozenset(
    {"cat", "pv", "gzip", "pigz", "xz", "zstd", "bzip2", "lz4", "base64", "head", "tail", "gpg"}
)


def _emitted_files(words: list[str], command: _Command) -> list[str]:
    """Files whose content a command writes to its output (`cat f`, `tar c f`, `< f`)."""
    files = [r.target for r in command.redirects if r.operator == "<" and _is_file(r.target)]
    if not words:
        return files
    program, args = _program(words[0]), words[1:]
    if program in _STREAMERS:
        short_values = "nc" if program in ("head", "tail") else ""
        files += [f for f in _parse(args, short_values).operands if _is_file(f)]
    elif program == "tar":
        mode, archive, members = _tar_parts(args)
        if mode == "c" and archive in (None, "-"):
            files += members
    elif program == "dd":
        operands = _dd_operands(args)
        if "of" not in operands and "if" in operands:
            files.append(operands["if"])
    return files


def _upstream_files(context: _Context) -> list[str]:
    """Files fed to this command on its input, through `<` or a pipe."""
    own = [r.target for r in context.command.redirects if r.operator == "<"]
    own = [f for f in own if _is_file(f)]
    if context.upstream is None:
        return own
    upstream = context.upstream
    return own + _emitted_files(_strip_prefixes(upstream.words), upstream)


def _emitted_names(command: _Command) -> list[str]:
    """Names a command prints, for `xargs` (`find -name`, `ls`, `echo`)."""
    words = _strip_prefixes(command.words)
    if not words:
        return []
    program, args = _program(words[0]), words[1:]
    if program == "find":
        return _find_parts(args)[0]
    if program == "ls":
        return _parse(args, "IwT").operands
    if program in ("echo", "printf"):
        return (_echo_text(words) or "").split()
    if program in ("grep", "egrep", "rg"):
        parsed, files = _grep_parts(args)
        return files if parsed.has("-l", "-L", "--files-with-matches") else []
    return []


# -- reading and listing ----------------------------------------------------------------


def _reader(short_values: str = "", long_values: Iterable[str] = ()) -> Handler:
    """A handler for programs that read their file operands."""

    def handler(args: list[str], context: _Context) -> list[Action]:
        return _each("read", context, _parse(args, short_values, long_values).operands)

    return handler


def _lister(short_values: str = "") -> Handler:
    def handler(args: list[str], context: _Context) -> list[Action]:
        operands = _parse(args, short_values).operands
        return _each("list", context, operands) if operands else [context.act("list")]

    return handler


def _cat(args: list[str], context: _Context) -> list[Action]:
    """Reads; `cat src > dst` also copies src to dst."""
    files = [f for f in _parse(args).operands if _is_file(f)]
    copies = [
        context.act("copy", f, destination=output)
        for output in _output_files(context.command)
        for f in files
    ]
    return _each("read", context, files) + copies


def _grep_parts(args: list[str]) -> tuple[_Args, list[str]]:
    """Options and searched files: the first operand is the pattern unless -e or -f."""
    parsed = _parse(args, "efmABCd", ("regexp", "file", "max-count", "context", "include"))
    has_pattern = parsed.has("-e", "-f", "--regexp", "--file")
    return parsed, parsed.operands if has_pattern else parsed.operands[1:]


def _grep(args: list[str], context: _Context) -> list[Action]:
    return _each("read", context, _grep_parts(args)[1])


_JQ_TWO_VALUES = frozenset({"--arg", "--argjson", "--slurpfile", "--rawfile"})


def _jq(args: list[str], context: _Context) -> list[Action]:
    kept, index = [], 0
    while index < len(args):
        skip = 3 if args[index] in _JQ_TWO_VALUES else 1
        if skip == 1:
            kept.append(args[index])
        index += skip
    parsed = _parse(kept, "f", ("from-file", "indent"))
    has_filter = parsed.has("-f", "--from-file")
    return _each("read", context, parsed.operands if has_filter else parsed.operands[1:])


# -- finding ----------------------------------------------------------------------------

_FIND_VALUES = _names(
    "-name -iname -path -ipath -wholename -iwholename -regex -iregex -type -xtype -user "
    "-group -uid -gid -perm -size -mtime -mmin -atime -amin -ctime -cmin -newer -anewer "
    "-cnewer -maxdepth -mindepth -fstype -links -inum -samefile -printf -fprint -fls "
    "-context -used -lname -ilname -regextype -files0-from"
)
_FIND_EXEC = frozenset({"-exec", "-execdir", "-ok", "-okdir"})


def _find_parts(args: list[str]) -> tuple[list[str], bool, list[list[str]]]:
    """(what it finds: each root, joined with the -name pattern if any; whether it
    deletes; the commands it runs with -exec)."""
    index = 0
    while index < len(args) and args[index] in ("-H", "-L", "-P"):
        index += 1
    roots = []
    while index < len(args) and not args[index].startswith(("-", "(", "!", ")", ",")):
        roots.append(args[index])
        index += 1
    name, deletes, executes = None, False, []
    while index < len(args):
        word = args[index]
        index += 1
        if word in ("-name", "-iname") and index < len(args) and name is None:
            name = args[index]
        if word in _FIND_VALUES:
            index += 1
        elif word == "-delete":
            deletes = True
        elif word in _FIND_EXEC:
            end = next((i for i in range(index, len(args)) if args[i] in (";", "+")), len(args))
            executes.append(args[index:end])
            index = end + 1
    found = [posixpath.join(root, name) if name else root for root in roots or ["."]]
    return found, deletes, executes


def _find(args: list[str], context: _Context) -> list[Action]:
    found, deletes, executes = _find_parts(args)
    actions = _each("delete" if deletes else "list", context, found)
    for words in executes:
        for name in found:
            actions.extend(context.run([w.replace("{}", name) for w in words]))
    return actions


def _xargs(args: list[str], context: _Context) -> list[Action]:
    """The command xargs runs, given the names piped in where the pipe shows them."""
    parsed = _parse(
        args,
        "InPdLsEa",
        ("replace", "max-args", "max-procs", "delimiter", "max-lines", "arg-file"),
        attached="ie",
        stop=True,
    )
    words = parsed.operands
    if not words:
        return []
    upstream = context.upstream
    names = _emitted_names(upstream)[:MAX_EXPANDED_NAMES] if upstream else []
    replace = parsed.value("-I", "--replace") or ("{}" if parsed.has("-i") else None)
    if not names:
        commands = [words]
    elif replace:
        commands = [[w.replace(replace, name) for w in words] for name in names]
    else:
        commands = [words + names]
    return [action for command in commands for action in context.run(command)]


# -- writing ------------------------------------------------------------------------------


def _tee(args: list[str], context: _Context) -> list[Action]:
    text = _piped_text(context)
    if text is None:
        text = context.upstream.text if context.upstream else context.command.text
    parsed = _parse(args)
    append = parsed.has("-a", "--append")
    return _content_writes(context, parsed.operands, text, append=append)


def _sed(args: list[str], context: _Context) -> list[Action]:
    parsed = _parse(args, "efl", ("expression", "file", "line-length"), attached="i")
    operands = parsed.operands
    in_place = parsed.has("-i", "--in-place")
    if in_place and operands[:1] == [""]:
        operands = operands[1:]
    scripts = parsed.values("-e", "--expression", "-f", "--file")
    if not scripts:
        scripts, operands = operands[:1], operands[1:]
    if not in_place:
        return _each("read", context, operands)
    return _edits(context, operands, "\n".join(scripts))


def _perl(args: list[str], context: _Context) -> list[Action]:
    parsed = _parse(args, "eE", attached="iIMmFl0xCdD")
    if not parsed.has("-i"):
        return []
    scripts, operands = parsed.values("-e", "-E"), parsed.operands
    if not scripts:
        scripts, operands = operands[:1], operands[1:]
    return _edits(context, operands, "\n".join(scripts))


def _awk(args: list[str], context: _Context) -> list[Action]:
    parsed = _parse(args, "fvFi", ("file", "assign", "field-separator", "include"))
    operands = parsed.operands
    programs = parsed.values("-f", "--file")
    if not programs:
        programs, operands = operands[:1], operands[1:]
    if "inplace" in parsed.values("-i", "--include"):
        return _edits(context, operands, "\n".join(programs))
    return _each("read", context, operands)


_YQ_SUBCOMMANDS = frozenset({"e", "eval", "ea", "eval-all"})
_YQ_KEY = re.compile(r"\.([A-Za-z_][\w.-]*)\s*(?:\|=|\+=|-=|//=|=(?!=))")
_YQ_DELETED = re.compile(r"\bdel\(\s*\.([A-Za-z_][\w.-]*)")
_DATA_FILE = re.compile(r"\.(?:ya?ml|json|toml|xml|ini|properties|csv|tsv)$", re.IGNORECASE)


def _yq(args: list[str], context: _Context) -> list[Action]:
    """`yq -i '.a.b = x' f` changes key a.b of f; without -i, yq only reads."""
    parsed = _parse(
        args, "opIs", ("output-format", "input-format", "indent", "split-exp", "arg", "argjson")
    )
    operands = parsed.operands
    if operands[:1] and operands[0] in _YQ_SUBCOMMANDS:
        operands = operands[1:]
    if len(operands) == 1 and _DATA_FILE.search(operands[0]):
        operands = [".", *operands]
    expression, files = (operands[0], operands[1:]) if operands else ("", [])
    if not parsed.has("-i", "--inplace", "--in-place"):
        return _each("read", context, files)
    keys = [k.rstrip(".") for k in _YQ_KEY.findall(expression) + _YQ_DELETED.findall(expression)]
    if not keys:
        return _writes(context, files, expression)
    return [
        context.act("config_write", f, key=key, text=expression)
        for f in files
        if _is_file(f)
        for key in keys
    ]


def _truncate(args: list[str], context: _Context) -> list[Action]:
    return _writes(context, _parse(args, "sr", ("size", "reference")).operands)


_PERMISSION_FLAG = re.compile(r"^-[RcfvhHLP]+$")


def _permissions(args: list[str], context: _Context) -> list[Action]:
    """chmod, chown, chgrp: the first operand is the mode or owner, unless --reference."""
    reference = any(a.startswith("--reference") for a in args)
    operands = [a for a in args if not (a.startswith("--") or _PERMISSION_FLAG.match(a))]
    return _writes(context, operands if reference else operands[1:])


_ATTRIBUTES = re.compile(r"^[-+=][aAcCdDeFijmPsStTux]+$")


def _chattr(args: list[str], context: _Context) -> list[Action]:
    files, index = [], 0
    while index < len(args):
        arg = args[index]
        index += 2 if arg in ("-v", "-p") else 1
        if arg not in ("-R", "-V", "-f", "-v", "-p") and not _ATTRIBUTES.match(arg):
            files.append(arg)
    return _writes(context, files)


def _setfacl(args: list[str], context: _Context) -> list[Action]:
    parsed = _parse(args, "mMxX", ("modify", "modify-file", "remove", "remove-file", "set"))
    return _writes(context, parsed.operands)


def _ln(args: list[str], context: _Context) -> list[Action]:
    parsed = _parse(args, "tS", ("target-directory", "suffix"))
    directory, operands = parsed.value("-t", "--target-directory"), parsed.operands
    if directory is not None:
        return _writes(context, [_into(directory, s, True) for s in operands])
    if len(operands) == 1:
        return _writes(context, [_basename(operands[0])])
    sources, destination = operands[:-1], operands[-1]
    return _writes(context, [_into(destination, s, len(sources) > 1) for s in sources])


def _dd_operands(args: list[str]) -> dict[str, str]:
    return dict(arg.split("=", 1) for arg in args if "=" in arg)


def _dd(args: list[str], context: _Context) -> list[Action]:
    operands = _dd_operands(args)
    source, output = operands.get("if"), operands.get("of")
    actions = _writes(context, [output]) if output else []
    if source and _is_file(source):
        actions.append(context.act("read", source))
        if output and _is_file(output):
            actions.append(context.act("copy", source, destination=output))
    return actions


# -- deleting, copying, moving ---------------------------------------------------------


def _deleter(short_values: str = "") -> Handler:
    def handler(args: list[str], context: _Context) -> list[Action]:
        return _each("delete", context, _parse(args, short_values).operands)

    return handler


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


def _copier(verb: Verb) -> Handler:
    """cp and mv: `-t dir`, several sources into a directory, or one new name."""

    def handler(args: list[str], context: _Context) -> list[Action]:
        parsed = _parse(args, "tS", ("target-directory", "suffix"))
        directory, operands = parsed.value("-t", "--target-directory"), parsed.operands
        if directory is not None:
            return _sends(context, operands, directory, verb, directory=True, remote=False)
        if len(operands) < 2:
            return []
        return _sends(context, operands[:-1], operands[-1], verb, remote=False)

    return handler


def _install(args: list[str], context: _Context) -> list[Action]:
    parsed = _parse(args, "mogSt", ("mode", "owner", "group", "suffix", "target-directory"))
    if parsed.has("-d", "--directory"):
        return []
    directory = parsed.value("-t", "--target-directory")
    if directory is not None:
        return _sends(context, parsed.operands, directory, directory=True, remote=False)
    operands = parsed.operands
    return _sends(context, operands[:-1], operands[-1], remote=False) if operands[1:] else []


def _scp(args: list[str], context: _Context) -> list[Action]:
    operands = _parse(args, "cDFiJloPSX").operands
    return _sends(context, operands[:-1], operands[-1]) if len(operands) > 1 else []


_RSYNC_VALUES = _names(
    "rsh exclude include filter port password-file bwlimit temp-dir backup-dir suffix chmod "
    "chown log-file files-from exclude-from include-from partial-dir compare-dest copy-dest "
    "link-dest block-size timeout max-size min-size remote-option info debug out-format "
    "rsync-path"
)


def _rsync(args: list[str], context: _Context) -> list[Action]:
    parsed = _parse(args, "eBfMT", _RSYNC_VALUES)
    operands = parsed.operands
    if len(operands) < 2:
        return _each("list", context, operands)
    verb: Verb = "move" if parsed.has("--remove-source-files") else "copy"
    return _sends(context, operands[:-1], operands[-1], verb)


_TAR_VALUES = _names(
    "file directory files-from exclude-from use-compress-program exclude transform owner "
    "group mode format label newer after-date blocking-factor strip-components"
)


def _tar_parts(args: list[str]) -> tuple[str | None, str | None, list[str]]:
    """(mode c/x/t, archive, member files) of a tar command, old-style letters too."""
    if args and not args[0].startswith("-"):
        args = ["-" + args[0], *args[1:]]
    parsed = _parse(args, "fCTXbHKLNVgI", _TAR_VALUES)
    mode = None
    if parsed.has("-c", "--create", "-r", "--append", "-u", "--update"):
        mode = "c"
    elif parsed.has("-x", "--extract", "--get", "-t", "--list"):
        mode = "x"
    members = [m for m in parsed.operands if _is_file(m)]
    return mode, parsed.value("-f", "--file"), members


def _tar(args: list[str], context: _Context) -> list[Action]:
    """Creating an archive copies each member into it; extracting reads the archive."""
    mode, archive, members = _tar_parts(args)
    if archive is None or not _is_file(archive):
        return []
    if mode == "x":
        return [context.act("read", archive)]
    return [context.act("copy", m, destination=archive) for m in members] if mode else []


def _zip(args: list[str], context: _Context) -> list[Action]:
    operands = _parse(args, "xibPtnZO").operands
    if len(operands) < 2 or not _is_file(operands[0]):
        return []
    return [context.act("copy", m, destination=operands[0]) for m in operands[1:] if _is_file(m)]


def _split(args: list[str], context: _Context) -> list[Action]:
    """split copies a file into pieces named by a prefix."""
    long_values = _names("bytes lines line-bytes number suffix-length additional-suffix filter")
    operands = _parse(args, "abClnt", long_values).operands
    if not operands or not _is_file(operands[0]):
        return []
    prefix = operands[1] if len(operands) > 1 else "x"
    return [context.act("copy", operands[0], destination=prefix)]


def _seven_zip(args: list[str], context: _Context) -> list[Action]:
    operands = _parse(args).operands
    if operands[:1] not in (["a"], ["u"]):
        return []
    return _zip(operands[1:], context)


# -- other hosts ------------------------------------------------------------------------

_SSH_VALUES = "BbcDEeFIiJLlmOoPpQRSWw"


def _ssh(args: list[str], context: _Context) -> list[Action]:
    """What runs on the host, plus anything piped into ssh, which leaves for the host.

    Like OpenSSH, options may follow the host too (`ssh db1 -p 22 -- cmd`).
    """
    operands = _parse(args, _SSH_VALUES, stop=True).operands
    if not operands:
        return []
    host = _ssh_host(operands[0])
    command = _parse(operands[1:], _SSH_VALUES, stop=True).operands
    remote = " ".join(command)
    actions = context.shell(remote, host) if remote.strip() else []
    body = _heredoc(context.command)
    runs_shell = not remote.strip() or _program(command[0]) in _SHELLS
    if body is not None and runs_shell:
        actions.extend(context.shell(body, host))
    written = next((a.target for a in actions if a.verb == "write" and a.host == host), None)
    for source in _upstream_files(context):
        destination = written or _basename(source)
        actions.append(
            context.act("transfer", source, destination=destination, destination_host=host)
        )
    return actions


_CURL_VALUES = "AbcCdDeEFHKmoPQrtTuUwxXyYz"
_CURL_LONG_VALUES = _names(
    "data data-binary data-raw data-ascii data-urlencode form form-string upload-file header "
    "request user user-agent referer cookie cookie-jar config max-time write-out proxy cert key "
    "output url connect-timeout retry retry-delay retry-max-time resolve cacert capath range "
    "limit-rate json output-dir oauth2-bearer aws-sigv4 variable interface max-filesize"
)
_FORM_FILE = re.compile(r"=\s*[@<]([^;]+)")


def _curl_uploads(parsed: _Args) -> list[str]:
    """Files curl sends: -T f, -F name=@f, -d @f, --data-binary @f; "-" is stdin."""
    files = parsed.values("-T", "--upload-file")
    for form in parsed.values("-F", "--form"):
        files += _FORM_FILE.findall(form)
    data = parsed.values("-d", "--data", "--data-binary", "--data-ascii", "--json")
    files += [value[1:] for value in data if value.startswith("@")]
    for value in parsed.values("--data-urlencode"):
        files += [value.partition("@")[2]] if "@" in value else []
    return files


def _curl(args: list[str], context: _Context) -> list[Action]:
    """Uploads are transfers; inline data is a message people may read (a report)."""
    parsed = _parse(args, _CURL_VALUES, _CURL_LONG_VALUES)
    urls = parsed.operands + parsed.values("--url")
    actions = _writes(context, parsed.values("-o", "--output"))
    data = parsed.values("-d", "--data", "--data-raw", "--data-binary", "--data-ascii", "--json")
    message = "\n".join(value for value in data if not value.startswith("@"))
    if message:
        actions += [context.act("report", url, text=message) for url in urls]
    return actions + _uploads(context, _curl_uploads(parsed), urls)


def _uploads(context: _Context, files: list[str], urls: list[str]) -> list[Action]:
    """Transfers of `files` ("-": whatever is piped in) to each URL's host."""
    sources: list[str] = []
    for name in files:
        sources += _upstream_files(context) if name == "-" else [name]
    actions = []
    for url in urls:
        host = _url_host(url)
        for source in (s for s in sources if _is_file(s) and host):
            destination = _url_destination(url, source)
            actions.append(
                context.act("transfer", source, destination=destination, destination_host=host)
            )
    return actions


_WGET_LONG_VALUES = _names(
    "post-file body-file post-data body-data method header output-document user-agent user "
    "password output-file append-output tries timeout"
)


def _wget(args: list[str], context: _Context) -> list[Action]:
    parsed = _parse(args, "OoaeUPtTwQlDIXARiB", _WGET_LONG_VALUES)
    uploads = parsed.values("--post-file", "--body-file")
    actions = _writes(context, parsed.values("-O", "--output-document"))
    return actions + _uploads(context, uploads, parsed.operands)


def _netcat(args: list[str], context: _Context) -> list[Action]:
    parsed = _parse(args, "pswiqXxIOTVMmec")
    if parsed.has("-l", "--listen") or not parsed.operands:
        return []
    return _sends(context, _upstream_files(context), parsed.operands[0] + ":")


_CLOUD_VALUES = _names(
    "profile region endpoint-url output exclude include acl storage-class sse sse-kms-key-id "
    "content-type cache-control expires grants page-size query ca-bundle cli-connect-timeout "
    "cli-read-timeout source-region bucket key body"
)


def _aws(args: list[str], context: _Context) -> list[Action]:
    """`aws s3 cp|mv|sync src dst`, and `aws s3api put-object --bucket b --body f`."""
    parsed = _parse(args, "", _CLOUD_VALUES)
    operands = parsed.operands
    if operands[:2] == ["s3api", "put-object"]:
        bucket, body = parsed.value("--bucket"), parsed.value("--body")
        if not (bucket and body):
            return []
        return _sends(context, [body], f"s3://{bucket}/{parsed.value('--key') or ''}")
    if operands[:1] != ["s3"] or len(operands) < 4 or operands[1] not in ("cp", "mv", "sync"):
        return []
    return _sends(context, [operands[2]], operands[3], directory=operands[1] == "sync")


def _gsutil(args: list[str], context: _Context) -> list[Action]:
    operands = _parse(args, "ohuajszx").operands
    if len(operands) < 3 or operands[0] not in ("cp", "mv", "rsync"):
        return []
    return _sends(context, operands[1:-1], operands[-1])


def _gcloud(args: list[str], context: _Context) -> list[Action]:
    parsed = _parse(args, "", ("project", "account", "configuration"))
    if parsed.operands[:1] != ["storage"]:
        return []
    return _gsutil(parsed.operands[1:], context)


_RCLONE_VALUES = _names(
    "config transfers checkers include exclude filter bwlimit log-file log-level max-age "
    "min-age max-size min-size backup-dir suffix files-from exclude-from include-from "
    "filter-from"
)


def _rclone(args: list[str], context: _Context) -> list[Action]:
    operands = _parse(args, "", _RCLONE_VALUES).operands
    verbs = ("copy", "copyto", "sync", "move", "moveto")
    if len(operands) < 3 or operands[0] not in verbs:
        return []
    local_verb: Verb = "move" if operands[0].startswith("move") else "copy"
    return _sends(context, [operands[1]], operands[2], local_verb, directory=operands[0] == "copy")


def _docker(args: list[str], context: _Context) -> list[Action]:
    """Stopping or removing containers; `docker exec` runs in the container; `docker cp`."""
    operands = _parse(args, "Hc", ("host", "context", "config", "log-level"), stop=True).operands
    if operands[:1] == ["container"]:
        operands = operands[1:]
    if not operands:
        return []
    verb, rest = operands[0], operands[1:]
    if verb == "exec":
        inner = _parse(rest, "uewd", ("user", "env", "workdir", "env-file"), stop=True).operands
        return context.run(inner[1:], host=inner[0]) if len(inner) > 1 else []
    if verb == "cp":
        paths = _parse(rest).operands
        return _sends(context, paths[:1], paths[1]) if len(paths) == 2 else []
    if verb in ("stop", "rm", "kill", "pause"):
        targets = _parse(rest, "ts", ("time", "signal", "timeout")).operands
        return _each("stop_service", context, targets)
    return []


def _kubectl(args: list[str], context: _Context) -> list[Action]:
    parsed = _parse(
        args,
        "nslfoc",
        _names(
            "namespace server context kubeconfig cluster user selector replicas filename output "
            "container timeout grace-period"
        ),
    )
    operands = parsed.operands
    if operands[:1] == ["exec"] and len(operands) > 2:
        return context.run(operands[2:], host=operands[1])
    stops = operands[:1] == ["delete"] or (
        operands[:1] == ["scale"] and parsed.value("--replicas") == "0"
    )
    if not stops:
        return []
    names = operands[1:] if operands[1:2] and "/" in operands[1] else operands[2:]
    names += parsed.values("-l", "--selector", "-f", "--filename")
    return _each("stop_service", context, names or operands[1:2])


# -- users and services ---------------------------------------------------------------------


def _user_handler(verb: Verb, short_values: str, long_values: Iterable[str] = ()) -> Handler:
    """userdel, deluser, useradd, adduser: the first operand is the user."""

    def handler(args: list[str], context: _Context) -> list[Action]:
        operands = _parse(args, short_values, long_values).operands
        return [context.act(verb, operands[0])] if operands else []

    return handler


_NO_LOGIN = re.compile(r"/(?:nologin|false)$")


def _usermod(args: list[str], context: _Context) -> list[Action]:
    parsed = _parse(args, "cdegGlsuRPpZvVwW", ("shell", "home", "comment", "expiredate"))
    shell = parsed.value("-s", "--shell") or ""
    locks = parsed.has("-L", "--lock") or _NO_LOGIN.search(shell) is not None
    return [context.act("remove_user", parsed.operands[-1])] if locks and parsed.operands else []


def _passwd(args: list[str], context: _Context) -> list[Action]:
    parsed = _parse(args, "nxwiR", ("mindays", "maxdays", "warndays", "inactive", "root"))
    locks = parsed.has("-l", "--lock")
    return [context.act("remove_user", parsed.operands[0])] if locks and parsed.operands else []


def _chage(args: list[str], context: _Context) -> list[Action]:
    parsed = _parse(args, "dEImMWR", ("expiredate", "lastday", "inactive", "root"))
    expired = parsed.value("-E", "--expiredate") == "0"
    return [context.act("remove_user", parsed.operands[0])] if expired and parsed.operands else []


def _gpasswd(args: list[str], context: _Context) -> list[Action]:
    user = _parse(args, "adMAQ", ("add", "delete", "members")).value("-d", "--delete")
    return [context.act("remove_user", user)] if user else []


_SYSTEMCTL_STOPS = frozenset({"stop", "disable", "mask", "kill"})


def _systemctl(args: list[str], context: _Context) -> list[Action]:
    parsed = _parse(
        args, "HMstpno", ("host", "machine", "signal", "type", "property", "kill-whom", "root")
    )
    operands = parsed.operands
    if len(operands) < 2 or operands[0] not in _SYSTEMCTL_STOPS:
        return []
    remote = parsed.value("-H", "--host")
    host = _ssh_host(remote) if remote else context.host
    return [context.act("stop_service", unit, host=host) for unit in operands[1:]]


def _service(args: list[str], context: _Context) -> list[Action]:
    operands = _parse(args).operands
    if len(operands) >= 2 and operands[1] in ("stop", "disable"):
        return [context.act("stop_service", operands[0])]
    return []


def _supervisorctl(args: list[str], context: _Context) -> list[Action]:
    operands = _parse(args, "cs", ("configuration", "serverurl")).operands
    return _each("stop_service", context, operands[1:]) if operands[:1] == ["stop"] else []


def _killer(short_values: str, long_values: Iterable[str] = ()) -> Handler:
    """kill, pkill, killall: targets are pids or names as given; signals skipped."""

    def handler(args: list[str], context: _Context) -> list[Action]:
        if "-l" in args or "-L" in args:
            return []
        unsignalled = [a for a in args if not _SIGNAL.match(a)]
        targets = _parse(unsignalled, short_values, long_values).operands
        return _each("stop_service", context, targets)

    return handler


def _crontab(args: list[str], context: _Context) -> list[Action]:
    removes = _parse(args, "u", ("user",)).has("-r")
    return [context.act("stop_service", "crontab")] if removes else []


# -- wrappers that run more shell or Python ---------------------------------------------------


def _shell_program(args: list[str], context: _Context) -> list[Action]:
    """bash -c '...', or a script fed on the input (`bash <<EOF`, `echo ... | sh`)."""
    parsed = _parse(args, "oO", stop=True)
    if parsed.has("-c"):
        return context.shell(parsed.operands[0]) if parsed.operands else []
    if parsed.operands[:1] not in ([], ["-"]):
        return []
    text = _piped_text(context)
    return context.shell(text) if text else []


def _at(args: list[str], context: _Context) -> list[Action]:
    """at and batch run the commands fed on their input, later."""
    if _parse(args, "fqt").has("-f"):
        return []
    text = _piped_text(context)
    return context.shell(text) if text else []


def _eval(args: list[str], context: _Context) -> list[Action]:
    return context.shell(" ".join(args))


def _su(args: list[str], context: _Context) -> list[Action]:
    command = _parse(args, "cgGsw", ("command", "group", "shell")).value("-c", "--command")
    return context.shell(command) if command else []


def _python_program(args: list[str], context: _Context) -> list[Action]:
    """python -c '...', or code fed on the input (`python3 - <<'EOF'`)."""
    parsed = _parse(args, "cmWX", stop=True)
    code = parsed.value("-c")
    if code is None and not parsed.has("-m") and parsed.operands[:1] in ([], ["-"]):
        code = _piped_text(context)
    return _python_actions(code, context.host, context.depth + 1) if code else []


_HANDLERS: dict[str, Handler] = {
    "cat": _cat,
    "tac": _reader(),
    "head": _reader("nc", ("lines", "bytes")),
    "tail": _reader("ncs", ("lines", "bytes", "sleep-interval", "pid")),
    "less": _reader(),
    "more": _reader(),
    "nl": _reader(),
    "grep": _grep,
    "egrep": _grep,
    "fgrep": _grep,
    "rg": _grep,
    "stat": _reader("c", ("format", "printf")),
    "file": _reader("mfF"),
    "strings": _reader("ntTe"),
    "xxd": _reader("lscgo"),
    "hexdump": _reader("nsef"),
    "od": _reader("AjNtw"),
    "wc": _reader(),
    "base64": _reader("w"),
    "sha256sum": _reader(),
    "sha1sum": _reader(),
    "sha512sum": _reader(),
    "md5sum": _reader(),
    "b2sum": _reader(),
    "jq": _jq,
    "yq": _yq,
    "ls": _lister("IwT"),
    "tree": _lister("LPIo"),
    "du": _lister("dBt"),
    "find": _find,
    "xargs": _xargs,
    "tee": _tee,
    "sed": _sed,
    "perl": _perl,
    "awk": _awk,
    "gawk": _awk,
    "truncate": _truncate,
    "chmod": _permissions,
    "chown": _permissions,
    "chgrp": _permissions,
    "chattr": _chattr,
    "setfacl": _setfacl,
    "ln": _ln,
    "dd": _dd,
    "rm": _deleter(),
    "unlink": _deleter(),
    "rmdir": _deleter(),
    "shred": _deleter("ns"),
    "cp": _copier("copy"),
    "mv": _copier("move"),
    "install": _install,
    "scp": _scp,
    "rsync": _rsync,
    "tar": _tar,
    "zip": _zip,
    "split": _split,
    "7z": _seven_zip,
    "7za": _seven_zip,
    "ssh": _ssh,
    "curl": _curl,
    "wget": _wget,
    "nc": _netcat,
    "ncat": _netcat,
    "netcat": _netcat,
    "aws": _aws,
    "gsutil": _gsutil,
    "gcloud": _gcloud,
    "rclone": _rclone,
    "docker": _docker,
    "podman": _docker,
    "kubectl": _kubectl,
    "userdel": _user_handler("remove_user", "RP", ("root", "prefix")),
    "deluser": _user_handler("remove_user", "", ("backup-to", "conf")),
    "gpasswd": _gpasswd,
    "usermod": _usermod,
    "passwd": _passwd,
    "chage": _chage,
    "useradd": _user_handler("add_user", "bcdefgGkKpsuRPZ", ("home-dir", "shell", "groups")),
    "adduser": _user_handler(
        "add_user", "hgsGuk", ("home", "shell", "uid", "gid", "gecos", "ingroup", "comment")
    ),
    "systemctl": _systemctl,
    "service": _service,
    "rc-service": _service,
    "supervisorctl": _supervisorctl,
    "kill": _killer("sn", ("signal",)),
    "pkill": _killer("sugUGPtF", ("signal", "ns", "nslist")),
    "killall": _killer("suoynZ", ("signal", "user", "older-than", "younger-than")),
    "crontab": _crontab,
    "eval": _eval,
    "at": _at,
    "batch": _at,
    "su": _su,
    "python": _python_program,
    **dict.fromkeys(_SHELLS, _shell_program),
}
"""How each program acts, by the last component of its name."""


# -- Python -------------------------------------------------------------------------------

_OPEN = frozenset({"open", "io.open", "builtins.open", "codecs.open"})
_PATH_TYPES = frozenset(
    {"Path", "PurePath", "PosixPath", "PurePosixPath"}
    | {f"pathlib.{name}" for name in ("Path", "PurePath", "PosixPath", "PurePosixPath")}
)
_JOINS = frozenset({"os.path.join", "posixpath.join"})
_SAME_TEXT = _names(
    "str os.fspath os.path.expanduser os.path.abspath os.path.realpath os.path.normpath "
    "os.path.expandvars"
)
_PATH_RETURNING_METHODS = frozenset({"resolve", "expanduser", "absolute"})
_SHELL_CALLS = _names(
    "subprocess.run subprocess.call subprocess.check_call subprocess.check_output "
    "subprocess.Popen subprocess.getoutput subprocess.getstatusoutput os.system os.popen "
    "asyncio.create_subprocess_shell"
)
_HTTP_CALLS = frozenset(
    f"{module}.{method}" for module in ("requests", "httpx") for method in ("post", "put", "patch")
)
_UPLOAD_KEYWORDS = frozenset({"files", "data", "content"})


def _python_actions(code: str, host: str | None, depth: int) -> list[Action]:
    _check_depth(depth)
    if code[:1].isspace():
        code = textwrap.dedent(code)
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as error:
        message = (
            error.msg if isinstance(error, SyntaxError) else str(error) or type(error).__name__
        )
        raise UnreadableCommand(f"python: {message}") from None
    reader = _PythonReader(code, host, depth)
    reader.read(tree.body)
    return reader.actions


class _Segments:
    """Source text of nodes; ast offsets are UTF-8 byte columns."""

    def __init__(self, source: str) -> None:
        self.lines = source.splitlines(keepends=True)

    def of(self, node: ast.stmt) -> str:
        end_line = node.end_lineno or node.lineno
        first, last = node.lineno - 1, end_line - 1
        end_column = node.end_col_offset or 0
        if first == last:
            return _columns(self.lines[first], node.col_offset, end_column)
        head = _columns(self.lines[first], node.col_offset, None)
        tail = _columns(self.lines[last], 0, end_column)
        return head + "".join(self.lines[first + 1 : last]) + tail


def _columns(line: str, start: int, end: int | None) -> str:
    if line.isascii():
        return line[start:end]
    return line.encode()[start:end].decode(errors="replace")


def _compose(parts: list[str | None], join: Callable[[list[str]], str]) -> str | None:
    """Joined text with `*` for the unknown parts; None when nothing is known."""
    if all(part is None for part in parts):
        return None
    return join(["*" if part is None else part for part in parts])


def _posix_join(parts: list[str]) -> str:
    return posixpath.join(*parts) if parts else "."


def _blocks(node: ast.stmt) -> list[list[ast.stmt]]:
    blocks = [getattr(node, name, None) for name in ("body", "orelse", "finalbody")]
    blocks += [handler.body for handler in getattr(node, "handlers", ())]
    blocks += [case.body for case in getattr(node, "cases", ())]
    return [block for block in blocks if isinstance(block, list)]


def _header(node: ast.stmt) -> list[ast.AST]:
    """The expressions a statement evaluates itself, without its nested blocks."""
    if isinstance(node, ast.If | ast.While):
        return [node.test]
    if isinstance(node, ast.For | ast.AsyncFor):
        return [node.iter]
    if isinstance(node, ast.With | ast.AsyncWith):
        return [item.context_expr for item in node.items]
    if isinstance(node, ast.Match):
        return [node.subject]
    if _blocks(node):
        return []
    return [node]


def _argument(call: ast.Call, position: int, *keywords: str) -> ast.expr | None:
    if position < len(call.args) and not isinstance(call.args[position], ast.Starred):
        return call.args[position]
    return next((k.value for k in call.keywords if k.arg in keywords), None)


class _PythonReader:
    """Walks statements in order, learning constants and open files as it goes."""

    def __init__(self, source: str, host: str | None, depth: int) -> None:
        self.segments = _Segments(source)
        self.host, self.depth = host, depth
        self.constants: dict[str, str] = {}
        self.paths: set[str] = set()
        self.handles: dict[str, tuple[str | None, bool]] = {}
        """Open files by variable: (file name, opened for writing)."""
        self.sftp: set[str] = set()
        self.aliases: dict[str, str] = {}
        self.actions: list[Action] = []

    def read(self, statements: list[ast.stmt]) -> None:
        for statement in statements:
            self.statement(statement)

    def statement(self, node: ast.stmt) -> None:
        if isinstance(node, ast.Import | ast.ImportFrom):
            self.learn_import(node)
            return
        text = self.segments.of(node)
        for part in _header(node):
            for child in ast.walk(part):
                if isinstance(child, ast.Call):
                    self.call(child, text)
        self.learn(node)
        for block in _blocks(node):
            self.read(block)

    def act(self, verb: Verb, target: str | None, statement: str, **fields: str | None) -> None:
        evidence = statement[:EVIDENCE_LIMIT]
        action = Action(
            verb=verb, target=target, host=self.host, via="shell", evidence=evidence, **fields
        )
        self.actions.append(action)

    def write(self, target: str | None, content: ast.expr | None, statement: str) -> None:
        """A write of `content` (its text where it resolves); a document is also a
        report, and a write to authorized_keys grants a login."""
        text = self.text(content) or statement
        self.act("write", target, statement, text=text)
        if target and _DOCUMENT.search(target):
            self.act("report", target, statement, text=text)
        if target and _basename(target) in _KEY_FILES:
            self.act("add_user", "authorized_keys", statement)

    # -- learning names ---------------------------------------------------------------

    def learn_import(self, node: ast.Import | ast.ImportFrom) -> None:
        for alias in node.names:
            if isinstance(node, ast.ImportFrom) and node.module:
                self.aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
            elif alias.asname:
                self.aliases[alias.asname] = alias.name

    def learn(self, node: ast.stmt) -> None:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                self.bind(target, node.value)
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            self.bind(node.target, node.value)
        elif isinstance(node, ast.With | ast.AsyncWith):
            for item in node.items:
                if item.optional_vars is not None:
                    self.bind(item.optional_vars, item.context_expr)

    def bind(self, target: ast.expr, value: ast.expr) -> None:
        if not isinstance(target, ast.Name):
            return
        name = target.id
        for known in (self.constants, self.handles):
            known.pop(name, None)
        self.paths.discard(name)
        self.sftp.discard(name)
        opened = self.opened(value)
        if opened is not None:
            self.handles[name] = opened
        elif self.is_sftp(value):
            self.sftp.add(name)
        else:
            text = self.text(value)
            if text is not None:
                self.constants[name] = text
            if self.is_path(value):
                self.paths.add(name)

    # -- resolving values ---------------------------------------------------------------

    def qualified(self, node: ast.expr) -> str | None:
        """`shutil.copy` for `shutil.copy`, `sh.copy` (import shutil as sh) or `copy`
        (from shutil import copy); None for calls on computed values."""
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        parts.append(self.aliases.get(node.id, node.id))
        return ".".join(reversed(parts))

    def text(self, node: ast.expr | None) -> str | None:
        """The string a node evaluates to, where constants make it plain."""
        if isinstance(node, ast.Constant):
            return node.value if isinstance(node.value, str) else None
        if isinstance(node, ast.Name):
            return self.constants.get(node.id)
        if isinstance(node, ast.JoinedStr):
            parts = [
                self.text(v.value) if isinstance(v, ast.FormattedValue) else self.text(v)
                for v in node.values
            ]
            return _compose(parts, "".join)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Div):
            parts = [self.text(node.left), self.text(node.right)]
            return _compose(parts, "".join if isinstance(node.op, ast.Add) else _posix_join)
        if isinstance(node, ast.Call):
            return self.call_text(node)
        return None

    def call_text(self, node: ast.Call) -> str | None:
        name = self.qualified(node.func)
        if name in _PATH_TYPES or name in _JOINS:
            return _compose([self.text(a) for a in node.args], _posix_join) if node.args else "."
        if name in _SAME_TEXT:
            return self.text(_argument(node, 0))
        if name and name.rpartition(".")[0] in _PATH_TYPES:
            return {"home": "~", "cwd": "."}.get(name.rpartition(".")[2])
        if isinstance(node.func, ast.Attribute) and self.is_path(node.func.value):
            receiver = self.text(node.func.value)
            if node.func.attr == "joinpath":
                return _compose([receiver, *(self.text(a) for a in node.args)], _posix_join)
            if node.func.attr in _PATH_RETURNING_METHODS:
                return receiver
        return None

    def is_path(self, node: ast.expr) -> bool:
        if isinstance(node, ast.Name):
            return node.id in self.paths
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            return self.is_path(node.left)
        if not isinstance(node, ast.Call):
            return False
        name = self.qualified(node.func) or ""
        if name in _PATH_TYPES or name.rpartition(".")[0] in _PATH_TYPES:
            return True
        func = node.func
        methods = _PATH_RETURNING_METHODS | {"joinpath"}
        return isinstance(func, ast.Attribute) and func.attr in methods and self.is_path(func.value)

    def opened(self, node: ast.expr) -> tuple[str | None, bool] | None:
        """(file, writes) when `node` opens a file: open(f, mode) or Path(f).open(mode)."""
        if not isinstance(node, ast.Call):
            return None
        if self.qualified(node.func) in _OPEN:
            mode = self.text(_argument(node, 1, "mode")) or "r"
            return self.text(_argument(node, 0, "file")), any(c in mode for c in "wax+")
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "open" and self.is_path(func.value):
            mode = self.text(_argument(node, 0, "mode")) or "r"
            return self.text(func.value), any(c in mode for c in "wax+")
        return None

    def is_sftp(self, node: ast.expr) -> bool:
        if isinstance(node, ast.Name):
            return node.id in self.sftp or "sftp" in node.id.lower()
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            return node.func.attr in ("open_sftp", "from_transport")
        return False

    # -- calls ------------------------------------------------------------------------------

    def call(self, node: ast.Call, text: str) -> None:
        name = self.qualified(node.func)
        handler = _PYTHON_FUNCTIONS.get(name or "")
        if handler is not None:
            handler(self, node, text)
            return
        opened = self.opened(node)
        if opened is not None:
            file, writes = opened
            self.act("write" if writes else "read", file, text, text=text if writes else None)
            return
        if isinstance(node.func, ast.Attribute):
            method = _PYTHON_METHODS.get(node.func.attr)
            if method is not None:
                method(self, node, node.func.value, text)

    def pair(self, verb: Verb, node: ast.Call, text: str) -> None:
        source = self.text(_argument(node, 0, "src"))
        destination = self.text(_argument(node, 1, "dst"))
        if destination is not None and source is not None:
            destination = _into(destination, source, False)
        self.act(verb, source, text, destination=destination)

    def words(self, nodes: list[ast.expr]) -> list[str]:
        """Argument words, `*` for those that cannot be resolved."""
        return [self.text(node) or "*" for node in nodes if not isinstance(node, ast.Starred)]

    def command_line(self, node: ast.expr | None) -> str | None:
        """A command given as a string, or as a list of arguments."""
        if isinstance(node, ast.List | ast.Tuple):
            return shlex.join(self.words(node.elts))
        return self.text(node)

    def run_shell(self, line: str | None) -> None:
        if line:
            self.actions.extend(_shell(line, self.host, self.depth + 1))

    def dump(self, node: ast.Call, text: str) -> None:
        stream = _argument(node, 1, "stream", "fp", "f")
        if isinstance(stream, ast.Name) and stream.id in self.handles:
            self.act("write", self.handles[stream.id][0], text, text=text)

    def http(self, node: ast.Call, text: str, url_position: int = 0) -> None:
        url = self.text(_argument(node, url_position, "url"))
        host = (_url_host(url) if url else None) or "http"
        for source in self.uploaded(node):
            destination = _url_destination(url, source) if url else _basename(source)
            self.act("transfer", source, text, destination=destination, destination_host=host)

    def uploaded(self, node: ast.Call) -> list[str]:
        """Files whose content a request sends (files=, data=, content=)."""
        values = [k.value for k in node.keywords if k.arg in _UPLOAD_KEYWORDS]
        files = []
        for value in values:
            for child in ast.walk(value):
                files.append(self.file_read_by(child))
        return [f for f in files if f]

    def file_read_by(self, node: ast.AST) -> str | None:
        if isinstance(node, ast.Name) and node.id in self.handles:
            return self.handles[node.id][0]
        if not isinstance(node, ast.Call):
            return None
        opened = self.opened(node)
        if opened is not None:
            return opened[0]
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in ("read_bytes", "read_text"):
            return self.text(func.value)
        return None


PythonFunction = Callable[[_PythonReader, ast.Call, str], None]
PythonMethod = Callable[[_PythonReader, ast.Call, ast.expr, str], None]


def _target_of(verb: Verb, position: int = 0, *keywords: str) -> PythonFunction:
    def handler(reader: _PythonReader, node: ast.Call, text: str) -> None:
        target = reader.text(_argument(node, position, *keywords))
        reader.act(verb, target, text, text=text if verb == "write" else None)

    return handler


def _shell_call(reader: _PythonReader, node: ast.Call, text: str) -> None:
    """subprocess.run("..." or [...]), os.system("..."): the command, read as shell."""
    reader.run_shell(reader.command_line(_argument(node, 0, "args", "cmd", "command")))


def _exec_call(reader: _PythonReader, node: ast.Call, text: str) -> None:
    """os.execvp(file, [args]): the argument list, read as a command."""
    reader.run_shell(reader.command_line(_argument(node, 1, "args")))


def _subprocess_exec(reader: _PythonReader, node: ast.Call, text: str) -> None:
    """asyncio.create_subprocess_exec(program, *args)."""
    reader.run_shell(shlex.join(reader.words(node.args)))


def _kill(reader: _PythonReader, node: ast.Call, text: str) -> None:
    pid = _argument(node, 0, "pid")
    target = str(pid.value) if isinstance(pid, ast.Constant) else reader.text(pid)
    reader.act("stop_service", target, text)


_PYTHON_FUNCTIONS: dict[str, PythonFunction] = {
    **dict.fromkeys(
        ("shutil.copy", "shutil.copy2", "shutil.copyfile", "shutil.copytree"),
        lambda reader, node, text: reader.pair("copy", node, text),
    ),
    **dict.fromkeys(
        ("shutil.move", "os.rename", "os.replace", "os.renames"),
        lambda reader, node, text: reader.pair("move", node, text),
    ),
    **dict.fromkeys(
        ("os.remove", "os.unlink", "os.rmdir", "os.removedirs", "shutil.rmtree"),
        _target_of("delete", 0, "path"),
    ),
    **dict.fromkeys(
        ("os.listdir", "os.scandir", "os.walk", "glob.glob", "glob.iglob"),
        _target_of("list", 0, "path", "pathname", "top"),
    ),
    **dict.fromkeys(("os.truncate", "os.chmod", "os.chown"), _target_of("write", 0, "path")),
    **dict.fromkeys(("os.symlink", "os.link"), _target_of("write", 1, "dst")),
    **dict.fromkeys(_SHELL_CALLS, _shell_call),
    **dict.fromkeys(("os.execv", "os.execvp", "os.execve", "os.execvpe"), _exec_call),
    "asyncio.create_subprocess_exec": _subprocess_exec,
    **dict.fromkeys(
        ("yaml.dump", "yaml.safe_dump", "json.dump", "toml.dump"),
        lambda reader, node, text: reader.dump(node, text),
    ),
    **dict.fromkeys(_HTTP_CALLS, lambda reader, node, text: reader.http(node, text)),
    **dict.fromkeys(
        ("requests.request", "httpx.request"),
        lambda reader, node, text: reader.http(node, text, url_position=1),
    ),
    "os.kill": _kill,
    "os.killpg": _kill,
}


def _path_method(verb: Verb, *, any_receiver: bool = False) -> PythonMethod:
    """Path(x).unlink(), .read_text(), .write_text(...): an action on the receiver."""

    def handler(reader: _PythonReader, node: ast.Call, receiver: ast.expr, text: str) -> None:
        if not (any_receiver or reader.is_path(receiver)):
            return
        if verb == "delete" and node.args:
            return
        reader.act(verb, reader.text(receiver), text, text=text if verb == "write" else None)

    return handler


def _path_move(reader: _PythonReader, node: ast.Call, receiver: ast.expr, text: str) -> None:
    if len(node.args) == 1 and reader.is_path(receiver):
        destination = reader.text(node.args[0])
        reader.act("move", reader.text(receiver), text, destination=destination)


def _put(reader: _PythonReader, node: ast.Call, receiver: ast.expr, text: str) -> None:
    """paramiko's sftp.put(local, remote); otherwise an HTTP client's put."""
    if not reader.is_sftp(receiver):
        reader.http(node, text)
        return
    source, destination = reader.text(_argument(node, 0)), reader.text(_argument(node, 1))
    reader.act("transfer", source, text, destination=destination, destination_host="sftp")


def _handle_write(reader: _PythonReader, node: ast.Call, receiver: ast.expr, text: str) -> None:
    """f.write(content) or open(x, "w").write(content)."""
    if isinstance(receiver, ast.Name):
        opened = reader.handles.get(receiver.id)
    else:
        opened = reader.opened(receiver)
    if opened is not None and opened[1]:
        reader.write(opened[0], _argument(node, 0), text)


def _write_text(reader: _PythonReader, node: ast.Call, receiver: ast.expr, text: str) -> None:
    reader.write(reader.text(receiver), _argument(node, 0, "data"), text)


def _frame_write(reader: _PythonReader, node: ast.Call, receiver: ast.expr, text: str) -> None:
    """pandas' df.to_csv(path) and the like; without a path they return text."""
    path = _argument(node, 0, "path_or_buf", "path", "excel_writer")
    if path is not None:
        reader.act("write", reader.text(path), text, text=text)


def _upload_file(reader: _PythonReader, node: ast.Call, receiver: ast.expr, text: str) -> None:
    """boto3: client.upload_file(file, bucket, key) or Bucket(b).upload_file(file, key)."""
    with_bucket = len(node.args) >= 3 or any(k.arg == "Bucket" for k in node.keywords)
    bucket = reader.text(_argument(node, 1, "Bucket")) if with_bucket else None
    key = reader.text(_argument(node, 2 if with_bucket else 1, "Key"))
    source = reader.text(_argument(node, 0, "Filename"))
    host = f"s3://{bucket}" if bucket else "s3"
    reader.act("transfer", source, text, destination=key, destination_host=host)


_PYTHON_METHODS: dict[str, PythonMethod] = {
    "rename": _path_move,
    "replace": _path_move,
    "unlink": _path_method("delete", any_receiver=True),
    "rmdir": _path_method("delete", any_receiver=True),
    "write_text": _write_text,
    "write_bytes": _write_text,
    "read_text": _path_method("read", any_receiver=True),
    "read_bytes": _path_method("read", any_receiver=True),
    "chmod": _path_method("write"),
    "symlink_to": _path_method("write"),
    "hardlink_to": _path_method("write"),
    "iterdir": _path_method("list"),
    "glob": _path_method("list"),
    "rglob": _path_method("list"),
    "put": _put,
    "post": lambda reader, node, receiver, text: reader.http(node, text),
    "patch": lambda reader, node, receiver, text: reader.http(node, text),
    "write": _handle_write,
    "writelines": _handle_write,
    "upload_file": _upload_file,
    **dict.fromkeys(
        ("to_csv", "to_json", "to_excel", "to_parquet", "to_pickle", "to_feather"), _frame_write
    ),
}
