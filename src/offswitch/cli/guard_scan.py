"""`offswitch guard scan`: the guard's verdict on transcripts that were already recorded."""

from __future__ import annotations

import json
from pathlib import Path

import click

from offswitch.guard.engine import Guard
from offswitch.guard.policy import PolicyError, load_policy
from offswitch.guard.scan import (
    ScanReport,
    TrajectoryScan,
    problem_record,
    scan_items,
    scan_record,
    summary_lines,
    text_lines,
)
from offswitch.guard.transcripts import ReadProblem

MALFORMED_INPUT = 1


@click.command(name="scan")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--policy",
    default=None,
    metavar="FILE",
    help="Guard policy file; the built-in default policy when omitted.",
)
@click.option(
    "--format",
    "output",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="A report for people, or JSON Lines for programs.",
)
@click.option("--all", "include_allowed", is_flag=True, help="Show allowed calls too.")
def scan(paths: tuple[Path, ...], policy: str | None, output: str, include_allowed: bool) -> None:
    """Judge every tool call in recorded transcripts as the guard would have.

    PATH is a file or a directory (searched recursively for .eval, .json,
    .jsonl and .ndjson files). Accepted:

    \b
    - OpenAI chat transcripts: a JSON object {"messages": [...], "id": ...},
      a bare list of messages, or a list of such objects; or JSONL with one
      transcript (object or bare list) per line. Tool calls come from
      `tool_calls` or the legacy `function_call`.
    - Inspect logs (.eval, or .json): one trajectory per sample and epoch.

    Each transcript is judged in order, so sequence rules see earlier calls.
    A call whose arguments cannot be decoded is judged as unreadable (rule
    unreadable-arguments, the policy's `unreadable` decision: a flag by default).

    \b
    Output:
    - text: one line per transcript, each call not allowed with its rule,
      kind, reason and evidence, then totals and the problems reading the input.
    - json: JSON Lines on stdout, one object per transcript: id, source, calls,
      decisions (index from 1, call_id, function, decision, rule, kind, reason,
      evidence, call), counts. Only calls not allowed unless --all. Input
      problems go to stderr, one JSON object per line: {"problem", "source"}.

    \b
    Exit status: 0 when all input was read; 1 when some input was malformed
    (everything else is still scanned); 2 for a bad policy or a missing path.
    """
    try:
        guard = Guard(load_policy(policy))
    except PolicyError as error:
        raise click.UsageError(str(error)) from None
    report = ScanReport()
    for item in scan_items(paths, guard):
        report.add(item)
        _show(item, output, include_allowed)
    if output == "text":
        click.echo("\n".join(["", *summary_lines(report)]))
    if report.problems:
        click.get_current_context().exit(MALFORMED_INPUT)


def _show(item: TrajectoryScan | ReadProblem, output: str, include_allowed: bool) -> None:
    """Print an item as soon as it is scanned; in text, problems wait for the summary."""
    if output == "text":
        if isinstance(item, TrajectoryScan):
            click.echo("\n".join(text_lines(item, include_allowed)))
    elif isinstance(item, ReadProblem):
        click.echo(json.dumps(problem_record(item)), err=True)
    else:
        click.echo(json.dumps(scan_record(item, include_allowed)))
