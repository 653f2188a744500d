"""Handlers for programs that read, list, find, write, delete, copy, move or archive
files on the host they run on."""

from __future__ import annotations

import re
from collections.abc import Iterable

from offswitch.guard.action import Action, Verb
from offswitch.guard.shell.dispatch import (
    Handler,
    _content_writes,
    _Context,
    _each,
    _edits,
    _gap,
    _output_files,
    _piped_text,
    _sends,
    _writes,
)
from offswitch.guard.shell.pipes import _dd_operands, _find_parts, _grep_parts, _tar_parts
from offswitch.guard.shell.words import _basename, _into, _is_file, _names, _parse

# -- reading and listing ---------------------------------------------------------------


def _on_operands(verb: Verb, short_values: str = "", long_values: Iterable[str] = ()) -> Handler:
    """A handler for programs that do `verb` to each of their file operands (read them,
    delete them)."""

    def handler(args: list[str], context: _Context) -> list[Action]:
        return _each(verb, context, _parse(args, short_values, long_values).operands)

    return handler


def _lister(short_values: str = "", long_values: Iterable[str] = ()) -> Handler:
    def handler(args: list[str], context: _Context) -> list[Action]:
        operands = _parse(args, short_values, long_values).operands
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


# -- finding ---------------------------------------------------------------------------


def _find(args: list[str], context: _Context) -> list[Action]:
    found, deletes, executes = _find_parts(args)
    actions = _each("delete" if deletes else "list", context, found)
    for words in executes:
        for name in found:
            actions.extend(context.run([w.replace("{}", name) for w in words]))
    return actions


# -- writing ---------------------------------------------------------------------------


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


_COPY_VALUES = _names("target-directory suffix")


def _copier(
    verb: Verb,
    short_values: str = "tS",
    long_values: Iterable[str] = _COPY_VALUES,
    *,
    makes_directories: bool = False,
) -> Handler:
    """cp, mv and install: `-t dir`, several sources into a directory, or one new name.

    `short_values` and `long_values` are the options taking a value; with
    `makes_directories`, `-d` makes its operands as directories and copies nothing
    (`install -d`).
    """

    def handler(args: list[str], context: _Context) -> list[Action]:
        parsed = _parse(args, short_values, long_values)
        if makes_directories and parsed.has("-d", "--directory"):
            return []
        directory, operands = parsed.value("-t", "--target-directory"), parsed.operands
        if directory is not None:
            return _sends(context, operands, directory, verb, directory=True, remote=False)
        if len(operands) < 2:
            return []
        return _sends(context, operands[:-1], operands[-1], verb, remote=False)

    return handler


_install = _copier(
    "copy", "mogSt", _names("mode owner group suffix target-directory"), makes_directories=True
)


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


_SPLIT_VALUES = _names("bytes lines line-bytes number suffix-length additional-suffix filter")


def _split(args: list[str], context: _Context) -> list[Action]:
    """split copies a file into pieces named by a prefix."""
    operands = _parse(args, "abClnt", _SPLIT_VALUES).operands
    if not operands or not _is_file(operands[0]):
        return []
    prefix = operands[1] if len(operands) > 1 else "x"
    return [context.act("copy", operands[0], destination=prefix)]


def _seven_zip(args: list[str], context: _Context) -> list[Action]:
    operands = _parse(args).operands
    if operands[:1] not in (["a"], ["u"]):
        return []
    return _zip(operands[1:], context)


# -- editors driven from the command line ------------------------------------------------


def _ed(args: list[str], context: _Context) -> list[Action]:
    """ed and ex edit their file operands with the script fed on the input or given
    with `-c`; any edit counts as a write of the whole file."""
    parsed = _parse(args, "cp", ("command",))
    script = "\n".join(filter(None, [*parsed.values("-c", "--command"), _piped_text(context)]))
    return _edits(context, parsed.operands, script or context.command.text)


def _vim(args: list[str], context: _Context) -> list[Action]:
    """vim, vi, nvim, nano, emacs: opening a file in an editor can change it. Read-only
    modes (`-R`, `view`) only read."""
    parsed = _parse(args, "cSTuUiwW", ("cmd", "servername"))
    files = [f for f in parsed.operands if not f.startswith("+")]
    if parsed.has("-R", "-M"):
        return _each("read", context, files)
    scripts = [*parsed.values("-c", "--cmd"), *(f[1:] for f in parsed.operands if f[:1] == "+")]
    return _edits(context, files, "\n".join(scripts) or context.command.text)


# -- version control ---------------------------------------------------------------------

_GIT_VALUES = "Cc"
_GIT_WRITES = frozenset({"checkout", "restore", "reset", "apply", "am", "stash", "switch"})


def _git(args: list[str], context: _Context) -> list[Action]:
    """git: checking out, restoring or applying changes writes the paths named; `rm`
    deletes them, `mv` moves them; `push` sends the repository to a remote."""
    parsed = _parse(args, _GIT_VALUES, ("git-dir", "work-tree", "namespace"), stop=True)
    if not parsed.operands:
        return []
    command, rest = parsed.operands[0], parsed.operands[1:]
    operands = _parse(rest, "bBmspUS", ("source", "pathspec-from-file", "message")).operands
    if command in _GIT_WRITES:
        return _writes(context, operands)
    if command == "rm":
        return _each("delete", context, operands)
    if command == "mv" and len(operands) >= 2:
        return [context.act("move", o, destination=operands[-1]) for o in operands[:-1]]
    if command == "push" and operands:
        return [context.act("transfer", ".", destination=".", destination_host=operands[0])]
    return []


# -- databases ---------------------------------------------------------------------------

_SQL_CHANGES = re.compile(r"\b(?:update|insert|delete|replace|drop|alter|create)\b", re.I)


def _sqlite(args: list[str], context: _Context) -> list[Action]:
    """sqlite3 DB [SQL]: SQL that changes rows writes the database, else it is read;
    SQL fed on the input that cannot be seen is a gap."""
    operands = _parse(args, "", ("cmd", "separator", "nullvalue")).operands
    if not operands:
        return []
    database, statements = operands[0], operands[1:]
    sql = " ".join(statements) or _piped_text(context)
    if sql is None:
        _gap(context, "it runs SQL fed on its input that the guard cannot see")
        return _each("read", context, [database])
    verb: Verb = "write" if _SQL_CHANGES.search(sql) else "read"
    return [context.act(verb, database, text=sql)] if _is_file(database) else []
