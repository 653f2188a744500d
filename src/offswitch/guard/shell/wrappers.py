"""Handlers for programs that run more shell or Python: `bash -c`, scripts fed to a
shell, `eval`, `su -c`, `at`, `python -c`, and `xargs`, which runs its command on the
names piped in. (`ssh` is read in `remote`, `find -exec` in `files`.)"""

from __future__ import annotations

from offswitch.guard.action import Action
from offswitch.guard.shell.base import MAX_EXPANDED_NAMES
from offswitch.guard.shell.dispatch import _Context, _piped_text
from offswitch.guard.shell.pipes import _emitted_names
from offswitch.guard.shell.python import _python_actions
from offswitch.guard.shell.words import _parse


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
    return _python_actions(code, context.host, context.depth + 1, context.handlers) if code else []


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
