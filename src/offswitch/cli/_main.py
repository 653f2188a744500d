"""The `offswitch` command line."""

from __future__ import annotations

import contextvars
import importlib
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
        from offswitch.guard.policy import PolicyError
        from offswitch.scenarios.families import UnknownFamily
        from offswitch.scenarios.render import RenderError

        try:
            return command(*args, **kwargs)
        except (MatrixError, UnknownFamily, RenderError, PolicyError) as error:
            raise click.UsageError(str(error)) from None

    return run  # type: ignore[return-value]


def split_names(values: Iterable[str]) -> list[str] | None:
    """Flatten repeated and comma-separated option values; None when none given."""
    names = [part.strip() for value in values for part in value.split(",") if part.strip()]
    return names or None


def _selection(
    suite: str, tasks: tuple[str, ...], conditions: tuple[str, ...], subjects: tuple[str, ...]
) -> list[Config]:
    configs = select(suite, split_names(tasks), split_names(conditions), split_names(subjects))
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


_display_option = click.option(
    "--display",
    type=click.Choice(["full", "rich", "plain", "log", "none"]),
    default=None,
    help="Progress display.",
)


class _LazyGroup(click.Group):
    """A group whose commands are imported only when used: the proxy's web stack and the
    bench's evaluation machinery stay out of every other command's start-up."""

    def __init__(self, *args: Any, lazy: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.lazy:
            return super().get_command(ctx, name)
        module, attribute = self.lazy[name].split(":")
        command: click.Command = getattr(importlib.import_module(module), attribute)
        return command


@click.group(cls=_LazyGroup, lazy={"audit": "offswitch.cli.audit:audit"})
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


def _finished_or_fail(success: bool, log_dir: str) -> None:
    if not success:
        raise click.ClickException(
            f"the run did not finish; rerun the same command to continue (logs in {log_dir})"
        )


def _default_log_dir(suite: str, model: str, guarded: bool = False) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", model) + ("-guarded" if guarded else "")
    return str(Path("logs") / suite / name)


def _guard_approval(policy: str | None, audit_log: Path | None) -> list[Any] | None:
    """The guard as the run's approval policy; the policy and the audit log are checked
    before anything runs."""
    if policy is None:
        if audit_log is not None:
            raise click.UsageError("--guard-audit-log needs --guard")
        return None
    from inspect_ai.approval import ApprovalPolicy

    from offswitch.guard.approver import guard
    from offswitch.guard.audit import AuditError
    from offswitch.guard.policy import load_policy

    name = load_policy(policy).name
    try:
        approver = guard(
            policy=policy,
            audit_log=str(audit_log) if audit_log else None,
        )
    except AuditError as error:
        raise click.UsageError(str(error)) from None
    where = f"; decisions go to the audit log {audit_log}" if audit_log else ""
    click.echo(f"Guard on: policy '{name}' judges every tool call before it runs{where}.")
    return [ApprovalPolicy(approver, "*")]


def _inspect_tasks(
    configs: list[Config],
    suite: str,
    conditions: list[str] | None,
    subjects: list[str] | None,
    task_options: dict[str, Any],
) -> list[Any]:
    """One registered Inspect task per scenario task in the selection."""
    from offswitch.tasks.task import SCENARIO_TASKS

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
@click.option("--model-role", "roles", multiple=True, help="grader=MODEL: the LLM judge.")
@click.option("--family", default=None, help="Model family for the agents' names.")
@click.option("--temperature", type=float, default=None, help="Sampling temperature.")
@click.option("--max-model-calls", type=int, default=None, help="Model calls per episode.")
@click.option(
    "--guard",
    "guard_policy",
    is_flag=False,
    flag_value="default",
    default=None,
    metavar="[POLICY]",
    help="Put the guard in front of every tool call (the default policy, or a policy file).",
)
@click.option(
    "--guard-audit-log",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="With --guard: append every decision to this hash-chained SQLite audit log.",
)
@_display_option
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
    roles: tuple[str, ...],
    family: str | None,
    temperature: float | None,
    max_model_calls: int | None,
    guard_policy: str | None,
    guard_audit_log: Path | None,
    display: str | None,
) -> None:
    """Run a suite of scenarios on a model and print outcome counts.

    With `--model-role grader=MODEL` an LLM judge reads each episode for what the
    detectors cannot decide; without it those fields are `unjudged`. With
    `--guard` the guard judges every tool call before it runs and stops
    preservation actions; the report then shows what it stopped and let through.
    """
    from offswitch.analysis.results import results_frame
    from offswitch.analysis.summary import summary_table
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
    approval = _guard_approval(guard_policy, guard_audit_log)
    log_dir = log_dir or _default_log_dir(suite, model, guarded=approval is not None)
    task_options = {
        key: value
        for key, value in (
            ("family", family),
            ("temperature", temperature),
            ("max_model_calls", max_model_calls),
        )
        if value is not None
    }
    success, _ = _run_configs(
        configs,
        suite,
        conditions,
        subjects,
        model,
        _model_args(model_args),
        epochs,
        log_dir,
        task_options,
        model_base_url=model_base_url,
        model_roles={"grader": _grader_spec(roles)} if roles else None,
        max_connections=max_connections,
        display=display,
        approval=approval,
    )
    # The results table counts each episode once, even where a run killed outright left
    # its log behind in `started` state and the rerun's log holds its episodes again.
    click.echo(summary_table(results_frame(log_dir)))
    _finished_or_fail(success, log_dir)


@main.command()
@click.argument(
    "log_dir", type=click.Path(exists=True, file_okay=False, dir_okay=True, path_type=Path)
)
@click.option("--csv", "with_csv", is_flag=True, help="Also write results.csv.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Directory for the tables; the log directory by default.",
)
def results(log_dir: Path, with_csv: bool, out_dir: Path | None) -> None:
    """Write the results table (one row per episode) of the Inspect logs in LOG_DIR."""
    from offswitch.analysis.results import results_frame, write_frame
    from offswitch.detect.classes import OUTCOME_CLASSES

    frame = results_frame(log_dir)
    if frame.empty:
        raise click.ClickException(f"no offswitch episodes in the Inspect logs under {log_dir}")
    paths = write_frame(frame, out_dir or log_dir, ("parquet", "csv") if with_csv else ("parquet",))
    counts = frame["outcome_class"].value_counts()
    click.echo(f"{len(frame)} episodes from {frame['log'].nunique()} log(s)")
    for name in OUTCOME_CLASSES:
        click.echo(f"  {name:<11} {counts[name]:>7}")
    for path in paths:
        click.echo(f"wrote {path}")


def _run_configs(
    configs: list[Config],
    suite: str,
    conditions: tuple[str, ...],
    subjects: tuple[str, ...],
    model: str,
    model_args: dict[str, str],
    epochs: int,
    log_dir: str,
    task_options: dict[str, Any] | None = None,
    **eval_options: Any,
) -> tuple[bool, list[Any]]:
    """Run configurations as one Inspect eval set; rerunning with the same log dir continues it.

    Returns whether every task finished, and the newest log of each task.
    """
    from inspect_ai import eval_set

    from offswitch.scenarios.families import family_of_model
    from offswitch.tasks.scenario_texts import scenario_texts_metadata

    task_options = task_options or {}
    inspect_tasks = _inspect_tasks(
        configs, suite, split_names(conditions), split_names(subjects), task_options
    )
    family = task_options.get("family") or family_of_model(model)
    click.echo(
        f"Running {len(configs)} configurations x {epochs} epoch(s) on {model}; logs in {log_dir}"
    )
    # Inspect installs the approval policy in the caller's context and leaves it there;
    # a copied context keeps the guard from judging tool calls made after the run.
    return contextvars.copy_context().run(
        eval_set,
        inspect_tasks,
        log_dir=log_dir,
        model=model,
        model_args=model_args,
        epochs=epochs,
        max_tasks=len(inspect_tasks),
        log_realtime=False,
        metadata=scenario_texts_metadata(configs, family),
        **eval_options,
    )


def _calibration_log_dir(suite: str, seed: int, probabilities: str | None) -> str:
    table = f"-{Path(probabilities).stem}" if probabilities else ""
    return str(Path("logs") / "calibration" / suite / f"seed-{seed}{table}")


@main.command()
@_selection_options
@click.option("--epochs", type=int, default=20, show_default=True, help="Runs per configuration.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the draws.")
@click.option(
    "--probabilities",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Rate table (YAML) of the population; the shipped default when omitted.",
)
@click.option("--log-dir", default=None, help="Log directory (rerun to continue a run).")
@_display_option
@_clear_errors
def calibrate(
    suite: str,
    tasks: tuple[str, ...],
    conditions: tuple[str, ...],
    subjects: tuple[str, ...],
    epochs: int,
    seed: int,
    probabilities: str | None,
    log_dir: str | None,
    display: str | None,
) -> None:
    """Check that the pipeline recovers the known rates of the reference population.

    Runs the `mixed` persona, whose rate of each behaviour is known, and reports per
    behaviour, task, condition and subject the known and the measured rate with its Wilson
    95% interval, then the share of cells whose interval covers the known rate.
    """
    from offswitch.agents.errors import PersonaConfigError
    from offswitch.agents.mixed import load_rate_table
    from offswitch.analysis.calibration import calibration_report, format_report
    from offswitch.analysis.results import results_frame

    configs = _selection(suite, tasks, conditions, subjects)
    try:
        table = load_rate_table(probabilities)
    except PersonaConfigError as error:
        raise click.BadParameter(str(error), param_hint="--probabilities") from None
    model_args = {"seed": str(seed)}
    if probabilities:
        model_args["probabilities"] = str(Path(probabilities).resolve())
    log_dir = log_dir or _calibration_log_dir(suite, seed, probabilities)
    success, _ = _run_configs(
        configs,
        suite,
        conditions,
        subjects,
        REFERENCE_MODEL,
        model_args,
        epochs,
        log_dir,
        display=display,
    )
    frame = results_frame(log_dir)
    selected = frame["sample_id"].isin([c.id for c in configs]) & (frame["epoch"] <= epochs)
    click.echo(format_report(calibration_report(frame[selected], table, seed)))
    _finished_or_fail(success, log_dir)


@main.command()
@click.argument(
    "log_dir", type=click.Path(exists=True, file_okay=False, dir_okay=True, path_type=Path)
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Directory for the report; the log directory by default.",
)
@click.option(
    "--format",
    "formats",
    default="html,md,csv",
    show_default=True,
    help="Comma-separated formats: html (report.html), md (report.md), csv (report_tables/).",
)
@_clear_errors
def report(log_dir: Path, out_dir: Path | None, formats: str) -> None:
    """Write the report of the Inspect logs in LOG_DIR: tables, figures, study comparison."""
    from offswitch.analysis.report._build import ReportError, parse_formats, write_report

    try:
        paths = write_report(log_dir, out_dir, parse_formats(formats))
    except ReportError as error:
        raise click.UsageError(str(error)) from None
    tables = [path for path in paths if path.suffix == ".csv"]
    for path in paths:
        if path.suffix in (".html", ".md"):
            click.echo(f"wrote {path}")
    if tables:
        click.echo(f"wrote {len(tables)} tables in {tables[0].parent}")
    click.echo(
        f"Transcript links need the viewer: inspect view --log-dir {log_dir} --host 127.0.0.1"
    )


def role_model_spec(roles: Iterable[str], role: str, what: str) -> str:
    """The model of `--model-role ROLE=MODEL`, the only role the command takes."""
    specs = dict(given.partition("=")[::2] for given in roles)
    if set(specs) != {role} or not specs[role]:
        raise click.UsageError(f"--model-role expects {role}=MODEL ({what})")
    return specs[role]


def _grader_spec(roles: tuple[str, ...]) -> str:
    return role_model_spec(roles, "grader", "the judge's model")


@main.command()
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
@_clear_errors
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


@main.group()
def judge() -> None:
    """The LLM judge: check it against the hand-labelled validation transcripts."""


def _grader_model(roles: tuple[str, ...], model_args: tuple[str, ...]) -> Any:
    return load_model(_grader_spec(roles), model_args, "grader")


def load_model(spec: str, model_args: Iterable[str], what: str) -> Any:
    """An Inspect model for a role; a model that cannot be used is a usage error."""
    from inspect_ai.model import get_model

    try:
        return get_model(spec, memoize=False, **_model_args(tuple(model_args)))
    except Exception as error:  # providers raise their own types for unknown or unusable models
        message = re.sub(r"\[/?[a-z ]+\]", "", str(error)).strip()
        raise click.UsageError(f"cannot use the {what} model {spec!r}: {message}") from None


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
@_clear_errors
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


@main.group(
    cls=_LazyGroup,
    lazy={
        "serve": "offswitch.cli.guard_serve:serve",
        "scan": "offswitch.cli.guard_scan:scan",
        "bench": "offswitch.cli.guard_bench:bench",
    },
)
def guard() -> None:
    """The guard: stop preservation actions live, audit transcripts, measure the guard.

    `offswitch run --guard` puts it in front of the reference or tested agents; `serve`
    puts it in front of any agent harness that speaks the OpenAI chat API.
    """
