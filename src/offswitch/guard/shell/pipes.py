"""What flows through pipes: the files a command writes to its output and the names
it prints, as read by the command after it (`cat f | ssh h`, `find . | xargs rm`), with
the operand parsers of the programs that feed pipes (grep, find, tar, dd)."""

from __future__ import annotations

import posixpath
import re

from offswitch.guard.shell.lexer import _Command
from offswitch.guard.shell.words import (
    _Args,
    _is_file,
    _names,
    _Options,
    _parse,
    _program,
    _strip_prefixes,
)

# -- options of the programs that feed pipes --------------------------------------------

_OPTIONS: dict[str, _Options] = {
    "head": _Options("nc", _names("lines bytes")),
    "tail": _Options("ncs", _names("lines bytes sleep-interval pid")),
    "base64": _Options("w"),
    "ls": _Options("IwT"),
}
"""Options taking a value, of programs read both here and by their handlers; the
programs not named take none."""
_GREP_OPTIONS = _Options("efmABCd", _names("regexp file max-count context include"))
_GREPS = frozenset({"grep", "egrep", "fgrep", "rg"})
"""Programs that read their options as grep does."""


def _options(program: str) -> _Options:
    return _OPTIONS.get(program, _Options())


# -- what commands write to their output ------------------------------------------------

_ECHO_FLAGS = re.compile(r"-[neE]+")


def _echo_text(words: list[str]) -> str | None:
    """What `echo` or `printf` prints, roughly."""
    program = _program(words[0]) if words else None
    if program not in ("echo", "printf"):
        return None
    args = words[1:]
    while args and program == "echo" and _ECHO_FLAGS.fullmatch(args[0]):
        args = args[1:]
    return " ".join(args)


_STREAMERS = frozenset(
    {"cat", "pv", "gzip", "pigz", "xz", "zstd", "bzip2", "lz4", "base64", "head", "tail", "gpg"}
)


def _redirected_files(command: _Command) -> list[str]:
    """Files a command reads on its input through `<`."""
    return [r.target for r in command.redirects if r.operator == "<" and _is_file(r.target)]


def _emitted_files(words: list[str], command: _Command) -> list[str]:
    """Files whose content a command writes to its output (`cat f`, `tar c f`, `< f`)."""
    files = _redirected_files(command)
    if not words:
        return files
    program, args = _program(words[0]), words[1:]
    if program in _STREAMERS:
        files += [f for f in _options(program).parse(args).operands if _is_file(f)]
    elif program == "tar":
        mode, archive, members = _tar_parts(args)
        if mode == "c" and archive in (None, "-"):
            files += members
    elif program == "dd":
        operands = _dd_operands(args)
        if "of" not in operands and "if" in operands:
            files.append(operands["if"])
    return files


def _emitted_names(command: _Command) -> list[str]:
    """Names a command prints, for `xargs` (`find -name`, `ls`, `echo`)."""
    words = _strip_prefixes(command.words)
    if not words:
        return []
    program, args = _program(words[0]), words[1:]
    if program == "find":
        return _find_parts(args)[0]
    if program == "ls":
        return _options(program).parse(args).operands
    if program in ("echo", "printf"):
        return (_echo_text(words) or "").split()
    if program in _GREPS:
        parsed, files = _grep_parts(args)
        return files if parsed.has("-l", "-L", "--files-with-matches") else []
    return []


# -- parsers of what feeds pipes -------------------------------------------------------


def _grep_parts(args: list[str]) -> tuple[_Args, list[str]]:
    """Options and searched files: the first operand is the pattern unless -e or -f."""
    parsed = _GREP_OPTIONS.parse(args)
    has_pattern = parsed.has("-e", "-f", "--regexp", "--file")
    return parsed, parsed.operands if has_pattern else parsed.operands[1:]


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


def _dd_operands(args: list[str]) -> dict[str, str]:
    return dict(arg.split("=", 1) for arg in args if "=" in arg)
