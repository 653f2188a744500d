"""`offswitch guard audit` (also `offswitch audit`): check and read the guard's audit logs.

Exit status of `verify`: 0 when the chain is intact, 1 when it was tampered with,
2 when the file is missing or is not an audit log.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from pathlib import Path

import click

from offswitch.guard.audit import AuditEntry, AuditError, Verification, entries, verify

_LOG_FILE = click.Path(dir_okay=False, path_type=Path)


class _Unreadable(click.ClickException):
    """The file is missing or is not an audit log: a clear message and exit status 2."""

    exit_code = 2


def _summary(result: Verification) -> str:
    if not result.ok:
        where = f" at entry {result.row}" if result.row is not None else ""
        return f"TAMPERED{where}: {result.problem}"
    noun = "entry" if result.entries == 1 else "entries"
    last = f" (last hash {result.last_hash[:12]}…)" if result.last_hash else ""
    return f"ok: {result.entries:,} {noun}, chain intact{last}"


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
@click.pass_context
def verify_command(context: click.Context, file: Path, output_format: str) -> None:
    """Check that no entry of FILE was changed, removed or moved.

    Exits 0 when the chain is intact, 1 when it is not, 2 when FILE is not an audit log.
    """
    try:
        result = verify(file)
    except AuditError as error:
        raise _Unreadable(str(error)) from None
    click.echo(result.model_dump_json() if output_format == "json" else _summary(result))
    context.exit(0 if result.ok else 1)


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
