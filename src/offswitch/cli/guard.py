"""`offswitch guard`: the runtime guard's commands, each imported only when used."""

from __future__ import annotations

import click

from offswitch.cli._lazy import LazyGroup

GUARD_COMMANDS = {
    "serve": "offswitch.cli.guard_serve:serve",
    "scan": "offswitch.cli.guard_scan:scan",
    "bench": "offswitch.cli.guard_bench:bench",
    "audit": "offswitch.cli.guard_audit:audit",
}


@click.group(cls=LazyGroup, lazy=GUARD_COMMANDS)
def guard() -> None:
    """The guard: stop preservation actions live, audit transcripts, measure the guard.

    `offswitch run --guard` puts it in front of the reference or tested agents; `serve`
    puts it in front of any agent harness that speaks the OpenAI chat API.
    """
