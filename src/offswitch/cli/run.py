"""`offswitch list` and `offswitch run`: choose configurations and run them on a model."""

from __future__ import annotations

import contextvars
import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import click

from offswitch.cli._errors import clear_errors
from offswitch.cli._options import (
    EPOCHS,
    LOG_DIR,
    display_option,
    grader_spec,
    model_args,
    module_option,
    selection,
    selection_options,
)
from offswitch.scenarios.matrix import DEFAULT_EPOCHS, SUITES, Config, counts_by_study_task

REFERENCE_MODEL = "offswitch/mixed"


@click.command(name="list")
@selection_options
@click.option("--counts", is_flag=True, help="Print configurations per study task.")
@click.option("--suites", "show_suites", is_flag=True, help="Print the suites.")
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text")
@clear_errors
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
    configs = selection(suite, tasks, conditions, subjects)
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


# Every option of `run` is declared here, in the order `--help` shows them.
@click.command()
@click.option("--model", default=None, help="Inspect model; the reference agents by default.")
@selection_options
@click.option("--epochs", type=EPOCHS, default=None, help="Runs per configuration.")
@click.option("--log-dir", type=LOG_DIR, default=None, help="Log directory (rerun to continue).")
@click.option("--max-connections", type=int, default=None, help="Concurrent model calls.")
@click.option(
    "--batch",
    is_flag=False,
    flag_value="on",
    default=None,
    metavar="[SIZE]",
    help="Send model calls through the provider's batch API (cheaper, but each call waits "
    "for its batch: agentic episodes in batch mode take hours); optionally the batch size.",
)
@click.option("-M", "model_pairs", multiple=True, help="Model argument key=value.")
@click.option("--model-base-url", default=None, help="Base URL of the model server.")
@click.option("--model-role", "roles", multiple=True, help="grader=MODEL: the LLM judge.")
@click.option("--family", default=None, help="Model family for the agents' names.")
@module_option
@click.option("--temperature", type=float, default=None, help="Sampling temperature.")
@click.option("--max-model-calls", type=int, default=None, help="Model calls per episode.")
@click.option(
    "--loop",
    type=click.Choice(["study", "strict"]),
    default=None,
    help="Episode loop: study (default; a nudge on every tool-less turn, the sixth ends the "
    "episode, 120,000-token limit) or strict (one nudge, the second tool-less turn ends it).",
)
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
@display_option
@clear_errors
def run(
    model: str | None,
    suite: str,
    tasks: tuple[str, ...],
    conditions: tuple[str, ...],
    subjects: tuple[str, ...],
    epochs: int | None,
    log_dir: str | None,
    max_connections: int | None,
    batch: str | None,
    model_pairs: tuple[str, ...],
    model_base_url: str | None,
    roles: tuple[str, ...],
    family: str | None,
    modules: tuple[str, ...],
    temperature: float | None,
    max_model_calls: int | None,
    loop: str | None,
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
    from offswitch.analysis.summary import summary_table
    from offswitch.cli._extensions import load_extensions
    from offswitch.cli.analyse import episodes
    from offswitch.scenarios.families import family_of_model

    load_extensions(modules)
    configs = selection(suite, tasks, conditions, subjects)
    model = model or REFERENCE_MODEL
    if family is None:
        family_of_model(model)  # an unknown family fails here, before anything runs
    arguments = model_args(model_pairs)
    grader = {"grader": grader_spec(roles)} if roles else None
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
            ("loop", loop),
        )
        if value is not None
    }
    success, _ = run_configs(
        configs,
        model,
        arguments,
        epochs,
        log_dir,
        task_options,
        model_base_url=model_base_url,
        model_roles=grader,
        max_connections=max_connections,
        display=display,
        approval=approval,
        **({"batch": _batch(batch)} if batch else {}),
    )
    # The results table counts each episode once, even where a run killed outright left
    # its log behind in `started` state and the rerun's log holds its episodes again.
    click.echo(summary_table(episodes(log_dir)))
    finished_or_fail(success, log_dir)


def run_configs(
    configs: list[Config],
    model: str,
    arguments: dict[str, str],
    epochs: int,
    log_dir: str,
    task_options: dict[str, Any] | None = None,
    **eval_options: Any,
) -> tuple[bool, list[Any]]:
    """Run configurations as one Inspect eval set; rerunning with the same log dir continues it.

    Returns whether every task finished, and the newest log of each task. Prompt caching
    is on (for the providers that offer it), and each task's episode table is written
    beside its log when it finishes.
    """
    from inspect_ai import eval_set

    from offswitch.agents.errors import PersonaConfigError
    from offswitch.analysis.recording import recording_episode_tables
    from offswitch.scenarios.families import family_of_model
    from offswitch.tasks.scenario_texts import scenario_texts_metadata

    inspect_tasks = _inspect_tasks(configs, task_options or {})
    family = (task_options or {}).get("family") or family_of_model(model)
    click.echo(
        f"Running {len(configs)} configurations x {epochs} epoch(s) on {model}; logs in {log_dir}"
    )
    # Inspect installs the approval policy in the caller's context and leaves it there;
    # a copied context keeps the guard from judging tool calls made after the run.
    context = contextvars.copy_context()
    context.run(recording_episode_tables)
    try:
        return context.run(
            eval_set,
            inspect_tasks,
            log_dir=log_dir,
            model=model,
            model_args=arguments,
            epochs=epochs,
            max_tasks=len(inspect_tasks),
            log_realtime=False,
            metadata=scenario_texts_metadata(configs, family),
            **{"cache_prompt": True, **eval_options},
        )
    except PersonaConfigError as error:  # an unknown persona or a bad -M value of one
        raise click.UsageError(f"cannot use the model {model!r}: {error}") from None


def _batch(value: str) -> bool | int:
    """`--batch` alone turns batching on; `--batch N` also sets the batch size."""
    if value == "on":
        return True
    if not value.isdigit() or int(value) < 1:
        raise click.BadParameter(f"expects a batch size (a positive number), got {value!r}")
    return int(value)


def _inspect_tasks(configs: list[Config], task_options: dict[str, Any]) -> list[Any]:
    """One Inspect task per scenario task in the selection, running exactly its configurations."""
    from offswitch.detect.registry import DetectorError
    from offswitch.tasks.task import build_task

    by_task: dict[str, list[Config]] = defaultdict(list)
    for config in configs:
        by_task[config.task].append(config)
    try:
        return [build_task(chosen, name=name, **task_options) for name, chosen in by_task.items()]
    except DetectorError as error:
        raise click.UsageError(str(error)) from None


def finished_or_fail(success: bool, log_dir: str) -> None:
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
