"""`offswitch guard audit` (also `offswitch audit`): check and read the guard's audit logs.

Exit status of `verify` and `head`: 0 when the log is intact, 1 when it was tampered
with, 2 when the file is missing or is not an audit log, or the key cannot be read.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from pathlib import Path

import click

from offswitch.guard.audit import (
    AuditEntry,
    AuditError,
    Head,
    Verification,
    entries,
    read_key,
    verify,
)

_LOG_FILE = click.Path(dir_okay=False, path_type=Path)
_KEY_OPTION = click.option(
    "--audit-key",
    "key_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="File holding the key the head was kept with (default: $OFFSWITCH_AUDIT_KEY).",
)


class _Unreadable(click.ClickException):
    """The file is missing or is not an audit log: a clear message and exit status 2."""

    exit_code = 2


class _SavedHead(click.ParamType):
    name = "ENTRIES:HASH"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> Head:
        try:
            return value if isinstance(value, Head) else Head.parse(str(value))
        except ValueError as error:
            self.fail(str(error), param, ctx)


def _verified(file: Path, key_file: Path | None, expect: tuple[Head, ...] = ()) -> Verification:
    try:
        key = read_key(key_file) if key_file is not None else None
        return verify(file, key=key, expect=expect)
    except AuditError as error:
        raise _Unreadable(str(error)) from None


def _summary(result: Verification) -> str:
    if not result.ok:
        where = f" at entry {result.row}" if result.row is not None else ""
        return f"TAMPERED{where}: {result.problem}"
    noun = "entry" if result.entries == 1 else "entries"
    checked = ", head key checked" if result.keyed else ""
    if result.expected:
        checked += f", {result.expected} saved head{'s' if result.expected > 1 else ''} found"
    last = f" (last hash {result.last_hash[:12]}…)" if result.last_hash else ""
    return f"ok: {result.entries:,} {noun}, chain intact{checked}{last}"


@click.group()
def audit() -> None:
    """Check and read tamper-evident audit logs of the guard."""


@audit.command("verify")
@click.argument("file", type=_LOG_FILE)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
)
@_KEY_OPTION
@click.option(
    "--expect",
    type=_SavedHead(),
    multiple=True,
    help="A head saved earlier by `offswitch audit head`, which the log must still hold.",
)
@click.pass_context
def verify_command(
    context: click.Context,
    file: Path,
    output_format: str,
    key_file: Path | None,
    expect: tuple[Head, ...],
) -> None:
    """Check that no entry of FILE was changed, removed or moved.

    Exits 0 when the chain is intact, 1 when it is not, 2 when FILE is not an audit log.
    Without a key or a saved head, a cut-off tail with a rewritten head cannot be seen:
    a note on stderr says so.
    """
    result = _verified(file, key_file, expect)
    if output_format == "json":
        click.echo(result.model_dump_json())
    else:
        click.echo(_summary(result))
        if result.unchecked:
            click.echo(f"note: {result.unchecked}", err=True)
    context.exit(0 if result.ok else 1)


@audit.command("head")
@click.argument("file", type=_LOG_FILE)
@_KEY_OPTION
@click.pass_context
def head_command(context: click.Context, file: Path, key_file: Path | None) -> None:
    """Print FILE's head as ENTRIES:HASH, after verifying FILE, to keep elsewhere.

    Later, `offswitch audit verify FILE --expect ENTRIES:HASH` fails if FILE no longer
    holds that entry with that hash (its tail was cut off, or it was rewritten).
    """
    result = _verified(file, key_file)
    if not result.ok:
        click.echo(_summary(result), err=True)
        context.exit(1)
    click.echo(str(result.head))


@audit.command("show")
@click.argument("file", type=_LOG_FILE)
@click.option("--kind", help="Only entries of this kind.")
@click.option("--last", type=click.IntRange(min=1), help="Only the newest N entries.")
def show_command(file: Path, kind: str | None, last: int | None) -> None:
    """Print the entries of FILE as JSON lines: seq, time, kind, payload, hash.

    Does not check the chain; run `verify` for that.
    """
    try:
        selected: Iterable[AuditEntry] = entries(file, kind=kind)
        if last is not None:
            selected = deque(selected, maxlen=last)
        for entry in selected:
            click.echo(entry.json_line())
    except AuditError as error:
        raise _Unreadable(str(error)) from None
