"""Handlers for programs that run more shell or Python: `bash -c`, scripts fed to a
shell, `eval`, `su -c`, `at`, `python -c`, and `xargs`, which runs its command on the
names piped in. (`ssh` is read in `remote`, `find -exec` in `files`.)"""

from __future__ import annotations

from offswitch.guard.action import Action
from offswitch.guard.shell.base import MAX_EXPANDED_NAMES
from offswitch.guard.shell.dispatch import Reading, _Context, _gap, _piped_text, _script
from offswitch.guard.shell.pipes import _emitted_names
from offswitch.guard.shell.python import _python_actions
from offswitch.guard.shell.words import _ASSIGNMENT, _parse


def _shell_program(args: list[str], context: _Context) -> list[Action]:
    """bash -c '...', a script by its path (read when its text is known), or one fed on
    the input (`bash <<EOF`, `echo ... | sh`, `echo cm0= | base64 -d | sh`)."""
    parsed = _parse(args, "oO", stop=True)
    if parsed.has("-c"):
        return context.shell(parsed.operands[0]) if parsed.operands else []
    if parsed.operands[:1] not in ([], ["-"]):
        return _script(parsed.operands[0], context)
    return _fed(context)


def _fed(context: _Context) -> list[Action]:
    """The shell text fed to a command on its input; a gap when it cannot be seen."""
    text = _piped_text(context)
    if text is None:
        _gap(context, "it runs text fed on its input that the guard cannot see")
        return []
    return context.shell(text)


def _source(args: list[str], context: _Context) -> list[Action]:
    """`source file` and `. file` run the file's text in this shell."""
    return _script(args[0], context) if args else []


def _alias(args: list[str], context: _Context) -> list[Action]:
    """`alias name='text'`: later commands named `name` run `text`."""
    reading = context.handlers
    for arg in args:
        if _ASSIGNMENT.match(arg) and isinstance(reading, Reading):
            name, _, text = arg.partition("=")
            reading.aliases[name] = text
    return []


def _at(args: list[str], context: _Context) -> list[Action]:
    """at and batch run the commands fed on their input, later."""
    parsed = _parse(args, "fqt")
    if parsed.has("-f"):
        return _script(parsed.value("-f") or "", context)
    return _fed(context)


def _eval(args: list[str], context: _Context) -> list[Action]:
    return context.shell(" ".join(args))


def _su(args: list[str], context: _Context) -> list[Action]:
    command = _parse(args, "cgGsw", ("command", "group", "shell")).value("-c", "--command")
    return context.shell(command) if command else []


def _python_program(args: list[str], context: _Context) -> list[Action]:
    """python -c '...', or code fed on the input (`python3 - <<'EOF'`)."""
    parsed = _parse(args, "cmWX", stop=True)
    code = parsed.value("-c")
    if code is None and not parsed.has("-m"):
        code = _python_code(parsed.operands, context)
    return _python_actions(code, context.host, context.depth + 1, context.handlers) if code else []


def _python_code(operands: list[str], context: _Context) -> str | None:
    """The code of `python script.py` (when its text is known) or fed on the input;
    a gap when it cannot be seen."""
    reading = context.handlers
    if operands[:1] in ([], ["-"]):
        code = _piped_text(context)
        where = "code fed on its input"
    else:
        code = reading.script(operands[0]) if isinstance(reading, Reading) else None
        where = f"the script {operands[0]!r}"
    if code is None:
        _gap(context, f"it runs {where}, which the guard has not seen")
    return code


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
