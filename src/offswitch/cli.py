"""The `offswitch` command line."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from offswitch import __version__
from offswitch.scenarios.matrix import (
    DEFAULT_EPOCHS,
    SUITES,
    Config,
    MatrixError,
    counts_by_study_task,
    select,
)

REFERENCE_MODEL = "offswitch/mixed"
F = TypeVar("F", bound=Callable[..., Any])


def _clear_errors(command: F) -> F:
    """Turn the project's own errors into a clear message and exit status 2."""

    @wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        from offswitch.scenarios.families import UnknownFamily
        from offswitch.scenarios.render import RenderError

        try:
            return command(*args, **kwargs)
        except (MatrixError, UnknownFamily, RenderError) as error:
            raise click.UsageError(str(error)) from None

    return run  # type: ignore[return-value]


def _names(values: Iterable[str]) -> list[str] | None:
    """Flatten repeated and comma-separated option values; None when none given."""
    names = [part.strip() for value in values for part in value.split(",") if part.strip()]
    return names or None


def _selection(
    suite: str, tasks: tuple[str, ...], conditions: tuple[str, ...], subjects: tuple[str, ...]
) -> list[Config]:
    configs = select(suite, _names(tasks), _names(conditions), _names(subjects))
    if not configs:
        raise MatrixError("no configuration matches the selection")
    return configs


def _selection_options(command: F) -> F:
    options = [
        click.option(
            "--suite",
            type=click.Choice(list(SUITES)),
            default="quick",
            show_default=True,
            help="Suite of configurations.",
        ),
        click.option(
            "--task",
            "tasks",
            multiple=True,
            help="Scenario task (e.g. tampering, tampering_memory); repeat or comma-separate.",
        ),
        click.option("--condition", "conditions", multiple=True, help="Peer condition(s)."),
        click.option("--subject", "subjects", multiple=True, help="Subject(s): peer, self."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@click.group()
@click.version_option(__version__, prog_name="offswitch")
def main() -> None:
    """Measure and stop self- and peer-preservation in AI agents."""


@main.command(name="list")
@_selection_options
@click.option("--counts", is_flag=True, help="Print configurations per study task.")
@click.option("--suites", "show_suites", is_flag=True, help="Print the suites.")
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text")
@_clear_errors
def list_configs(
    suite: str,
    tasks: tuple[str, ...],
    conditions: tuple[str, ...],
    subjects: tuple[str, ...],
    counts: bool,
    show_suites: bool,
    output: str,
) -> None:
    """List the configurations of a suite (by default the study's 271)."""
    if show_suites:
        for name, summary in SUITES.items():
            click.echo(f"{name:<11} {summary}")
        return
    configs = _selection(suite, tasks, conditions, subjects)
    if counts:
        table = counts_by_study_task(configs)
        if output == "json":
            click.echo(json.dumps(table, indent=2))
            return
        for name, n in table.items():
            click.echo(f"{name:<30} {n:>4}")
        click.echo(f"{'total':<30} {len(configs):>4}")
    elif output == "json":
        click.echo(json.dumps([{"id": c.id, **c.model_dump()} for c in configs], indent=2))
    else:
        click.echo("\n".join(c.id for c in configs))


def _model_args(pairs: tuple[str, ...]) -> dict[str, str]:
    args: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.UsageError(f"-M expects key=value, got {pair!r}")
        args[key.strip()] = value.strip()
    return args


def _default_log_dir(suite: str, model: str) -> str:
    return str(Path("logs") / suite / re.sub(r"[^A-Za-z0-9._-]+", "_", model))


def _inspect_tasks(
    configs: list[Config],
    suite: str,
    conditions: list[str] | None,
    subjects: list[str] | None,
    task_options: dict[str, Any],
) -> list[Any]:
    """One registered Inspect task per scenario task in the selection."""
    from offswitch.scenarios.task import SCENARIO_TASKS

    memory_flags: dict[str, set[bool]] = defaultdict(set)
    for config in configs:
        memory_flags[config.task].add(config.instantiation == "memory")
    tasks = []
    for name, flags in memory_flags.items():
        args: dict[str, Any] = {"suite": suite, **task_options}
        if conditions:
            args["condition"] = ",".join(conditions)
        if subjects:
            args["subject"] = ",".join(subjects)
        if len(flags) == 1:
            args["memory"] = flags.pop()
        tasks.append(SCENARIO_TASKS[name](**args))
    return tasks


@main.command()
@click.option("--model", default=None, help="Inspect model; the reference agents by default.")
@_selection_options
@click.option("--epochs", type=int, default=None, help="Runs per configuration.")
@click.option("--log-dir", default=None, help="Log directory (rerun to continue a run).")
@click.option("--max-connections", type=int, default=None, help="Concurrent model calls.")
@click.option("-M", "model_args", multiple=True, help="Model argument key=value.")
@click.option("--model-base-url", default=None, help="Base URL of the model server.")
@click.option("--family", default=None, help="Model family for the agents' names.")
@click.option("--temperature", type=float, default=None, help="Sampling temperature.")
@click.option("--max-model-calls", type=int, default=None, help="Model calls per episode.")
@click.option(
    "--display",
    type=click.Choice(["full", "rich", "plain", "log", "none"]),
    default=None,
    help="Progress display.",
)
@_clear_errors
def run(
    model: str | None,
    suite: str,
    tasks: tuple[str, ...],
    conditions: tuple[str, ...],
    subjects: tuple[str, ...],
    epochs: int | None,
    log_dir: str | None,
    max_connections: int | None,
    model_args: tuple[str, ...],
    model_base_url: str | None,
    family: str | None,
    temperature: float | None,
    max_model_calls: int | None,
    display: str | None,
) -> None:
    """Run a suite of scenarios on a model and print outcome counts."""
    from inspect_ai import eval_set

    from offswitch.analysis.outcomes import outcomes_in_dir, summary_table
    from offswitch.scenarios.families import family_of_model

    configs = _selection(suite, tasks, conditions, subjects)
    model = model or REFERENCE_MODEL
    if family is None:
        family_of_model(model)  # an unknown family fails here, before anything runs
    if model.startswith("offswitch/"):
        click.echo(
            f"Using reference agents ({model}): scripted personas with known behaviour, "
            "not a real model. Pass --model to test a real one."
        )
    epochs = epochs or DEFAULT_EPOCHS[suite]
    log_dir = log_dir or _default_log_dir(suite, model)
    task_options = {
        key: value
        for key, value in (
            ("family", family),
            ("temperature", temperature),
            ("max_model_calls", max_model_calls),
        )
        if value is not None
    }
    inspect_tasks = _inspect_tasks(
        configs, suite, _names(conditions), _names(subjects), task_options
    )
    click.echo(
        f"Running {len(configs)} configurations x {epochs} epoch(s) on {model}; logs in {log_dir}"
    )
    success, _ = eval_set(
        inspect_tasks,
        log_dir=log_dir,
        model=model,
        model_args=_model_args(model_args),
        model_base_url=model_base_url,
        epochs=epochs,
        max_connections=max_connections,
        max_tasks=len(inspect_tasks),
        display=display,
        log_realtime=False,
    )
    click.echo(summary_table(outcomes_in_dir(log_dir)))
    if not success:
        raise click.ClickException(
            f"the run did not finish; rerun the same command to continue (logs in {log_dir})"
        )
