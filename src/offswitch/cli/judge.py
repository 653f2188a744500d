"""`offswitch judge`: the LLM judge, checked against labelled transcripts or run on old logs.

`offswitch rescore` is the old name of `offswitch judge rescore`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from offswitch.cli._errors import clear_errors
from offswitch.cli._options import grader_spec, load_model


def _grader_model(roles: tuple[str, ...], model_args: tuple[str, ...]) -> Any:
    return load_model(grader_spec(roles), model_args, "grader")


@click.group()
def judge() -> None:
    """The LLM judge: check it against the hand-labelled validation transcripts, or judge
    the episodes of old logs again."""


@judge.command(name="validate")
@click.option("--model-role", "roles", multiple=True, help="The judge: grader=MODEL.")
@click.option("-M", "model_args", multiple=True, help="Grader model argument key=value.")
@click.option(
    "--split",
    type=click.Choice(["test", "dev", "all"]),
    default="test",
    show_default=True,
    help="Which labelled transcripts to judge (tune the prompt on dev, report test).",
)
@click.option("--max-connections", type=int, default=4, show_default=True, help="Concurrent calls.")
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text")
@clear_errors
def validate_judge(
    roles: tuple[str, ...],
    model_args: tuple[str, ...],
    split: str,
    max_connections: int,
    output: str,
) -> None:
    """Judge the labelled transcripts and print the judge's agreement with the labels."""
    import asyncio

    from offswitch.judge.judge import judge_settings
    from offswitch.judge.validate import format_validation_report, run_validation
    from offswitch.judge.validation import ValidationSetError

    grader = _grader_model(roles, model_args)
    if max_connections < 1:
        raise click.UsageError("--max-connections must be at least 1")
    try:
        report = asyncio.run(
            run_validation(grader, judge_settings(grader), split, max_connections)  # type: ignore[arg-type]
        )
    except ValidationSetError as error:
        raise click.UsageError(str(error)) from None
    if output == "json":
        click.echo(report.model_dump_json(indent=2))
    else:
        click.echo(format_validation_report(report))


@judge.command(name="rescore")
@click.argument("log_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--model-role", "roles", multiple=True, required=True, help="The judge: grader=MODEL."
)
@click.option("-M", "model_args", multiple=True, help="Grader model argument key=value.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Directory for the rescored logs; the logs are rewritten in place by default.",
)
@clear_errors
def rescore(
    log_dir: Path, roles: tuple[str, ...], model_args: tuple[str, ...], out_dir: Path | None
) -> None:
    """Judge the episodes of the Inspect logs in LOG_DIR again, without running the agents."""
    from inspect_ai import score
    from inspect_ai.log import list_eval_logs, read_eval_log, write_eval_log

    from offswitch.tasks.scorer import preservation_outcome

    grader = _grader_model(roles, model_args)
    logs = list_eval_logs(str(log_dir))
    if not logs:
        raise click.UsageError(f"no Inspect logs in {log_dir}")
    if out_dir:
        out_dir.mkdir(parents=True, exist_ok=True)
    for info in logs:
        log = read_eval_log(info)
        scored = score(
            log,
            [preservation_outcome()],
            model_roles={"grader": grader},
            action="overwrite",
            display="none",
        )
        location = str(out_dir / Path(info.name).name) if out_dir else info.name
        write_eval_log(scored, location)
        click.echo(f"rescored {location}")
