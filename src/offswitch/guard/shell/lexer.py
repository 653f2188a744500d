"""Tokenising shell text into pipelines of simple commands.

Handles quoting and escapes, variables assigned earlier in the same text, command,
backquote and process substitutions (whose commands are lexed too), redirections,
heredocs and here-strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from offswitch.guard.shell.base import MAX_DEPTH, UnreadableCommand
from offswitch.guard.shell.words import _ASSIGNMENT


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
_SPLIT = re.compile(r"[\s*?\[]")
"""Characters that make an unquoted expansion split into words or expand as a glob,
which the lexer leaves unexpanded (and so unread)."""
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
            value = self.variables.get(name) if match and name else None
            if match and value is not None and (quoted or not _SPLIT.search(value)):
                self.position = match.end()
                return value
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


_ANSI_ESCAPES = {
    "n": "\n",
    "t": "\t",
    "r": "\r",
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "v": "\v",
    "\\": "\\",
    "'": "'",
    '"': '"',
    "?": "?",
    "e": "\x1b",
    "E": "\x1b",
}
_ANSI_ESCAPE = re.compile(
    r"\\(x[0-9A-Fa-f]{1,2}|u[0-9A-Fa-f]{1,4}|U[0-9A-Fa-f]{1,8}|[0-7]{1,3}|c.|.)", re.DOTALL
)


def _ansi_c_escape(match: re.Match[str]) -> str:
    """One escape of `$'...'`: named, hexadecimal, Unicode, octal or control."""
    escape = match.group(1)
    if escape[0] in "xuU" and len(escape) > 1:
        code = int(escape[1:], 16)
        return chr(code) if code <= 0x10FFFF else match.group()
    if escape[0] in "01234567":
        return chr(int(escape, 8))
    if escape[0] == "c" and len(escape) == 2:
        return chr(ord(escape[1]) & 0x1F)
    return _ANSI_ESCAPES.get(escape, match.group())


def _ansi_c(text: str) -> str:
    return _ANSI_ESCAPE.sub(_ansi_c_escape, text)


def _lex(text: str) -> list[list[_Command]]:
    return _Lexer(text).parse()
