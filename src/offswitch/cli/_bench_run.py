"""The work behind `offswitch guard bench`: the sources of trajectories, the guard's and
the LLM monitor's verdicts on them, and the result.

The command module imports this one only when the bench runs, so that `offswitch guard
--help` does not load the personas, the tasks or Inspect's model stack.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from offswitch.agents.errors import PersonaConfigError
from offswitch.agents.personas import PERSONAS
from offswitch.cli._options import load_model, role_model_spec, split_names
from offswitch.guard.bench import (
    BenchError,
    BenchResult,
    JudgedCall,
    TrajectoryFileError,
    judge_all,
    load_labelled,
    load_shipped_set,
    monitor_section,
    render_text,
    summarise,
)
from offswitch.guard.monitor import MonitorVerdict, monitor_trajectories
from offswitch.guard.policy import PolicyError, load_policy
from offswitch.guard.trajectory import Trajectory
from offswitch.scenarios.matrix import Config, MatrixError, config_from_id
from offswitch.tasks.bench_episodes import (
    PersonaRunError,
    bench_configs,
    persona_trajectories,
    trajectories_from_log_dir,
)

MONITOR_ROLE = "monitor"
Sources = dict[str, list[Trajectory]]


def _monitor_model(roles: Sequence[str]) -> str | None:
    """The model of `--model-role monitor=MODEL`, or None without the option."""
    return role_model_spec(roles, MONITOR_ROLE, "the LLM monitor's model") if roles else None


def _configs(config_ids: Sequence[str]) -> list[Config]:
    ids = split_names(config_ids)
    return [config_from_id(i) for i in ids] if ids else bench_configs()


def _episodes(
    logs: Path | None,
    personas: list[str],
    configs: list[Config],
    options: dict[str, Any],
) -> Sources:
    if logs is not None:
        return {"logs": trajectories_from_log_dir(logs)}
    return {"personas": persona_trajectories(configs, personas, **options)}


def _labelled(
    with_shell: bool, shipped_sets: Sequence[str], extra_files: Sequence[Path]
) -> Sources:
    """The shipped shell trajectories, the shipped sets named and the user's files, each a
    source of its own."""
    sources = {"shell": load_labelled()} if with_shell else {}
    for name in shipped_sets:
        sources[name] = load_shipped_set(name)
    for file in extra_files:
        sources[file.name] = load_labelled(file)
    return sources


def _with_monitor(
    result: BenchResult,
    calls: list[JudgedCall],
    sources: Sources,
    model: str,
    threshold: float,
) -> None:
    monitor = load_model(model, (), "monitor")
    everything = [t for trajectories in sources.values() for t in trajectories]

    async def both_framings() -> list[list[MonitorVerdict]]:
        return await asyncio.gather(
            monitor_trajectories(everything, monitor, framing="neutral", threshold=threshold),
            monitor_trajectories(everything, monitor, framing="trusted_peer", threshold=threshold),
        )

    neutral, trusted = asyncio.run(both_framings())
    result.monitor = monitor_section(calls, sources, neutral, trusted, model, threshold)


def run_bench(
    policy: str,
    persona_names: tuple[str, ...],
    config_ids: tuple[str, ...],
    epochs: int,
    seed: int,
    logs: Path | None,
    no_personas: bool,
    no_shell: bool,
    extra_files: tuple[Path, ...],
    shipped_sets: tuple[str, ...],
    roles: tuple[str, ...],
    threshold: float,
    output: str,
    log_dir: Path | None,
) -> None:
    """Run the bench the options describe and print its result."""
    started = time.perf_counter()
    if no_personas and logs is not None:
        raise click.UsageError("--logs gives the episodes to benchmark; drop --no-personas")
    monitor = _monitor_model(roles)
    try:
        loaded = load_policy(policy)
        personas = split_names(persona_names) or list(PERSONAS)
        configs = _configs(config_ids)
        options = {"epochs": epochs, "seed": seed, "log_dir": log_dir}
        labelled = _labelled(not no_shell, shipped_sets, extra_files)
        if no_personas and not labelled:
            raise click.UsageError("nothing to benchmark: drop --no-personas or --no-shell")
        episodes = {} if no_personas else _episodes(logs, personas, configs, options)
        sources = {**episodes, **labelled}
        calls = judge_all(loaded, sources)
    except (
        PolicyError,
        TrajectoryFileError,
        PersonaConfigError,
        MatrixError,
        BenchError,
        FileNotFoundError,
    ) as error:
        raise click.UsageError(str(error)) from None
    except PersonaRunError as error:
        raise click.ClickException(str(error)) from None
    result = summarise(loaded, sources, calls)
    if monitor is not None:
        _with_monitor(result, calls, sources, monitor, threshold)
    result.seconds = round(time.perf_counter() - started, 2)
    if output == "json":
        click.echo(json.dumps(result.model_dump(mode="json"), indent=2))
    else:
        click.echo(render_text(result))
