"""Inspect tasks: one per scenario task, whose samples are configurations.

Each sample's id is its configuration id, so an epoch of a task runs every
selected configuration once and logs, tables and reruns all name configurations
the same way. Every registered scenario family is an Inspect task `offswitch/<name>`
(`scenario_inspect_task`); building one checks first that the detectors and primary
outcome its family names are registered.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

from inspect_ai import Task, task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import GenerateConfig
from inspect_ai.model._model import active_model

from offswitch import __version__
from offswitch.detect.outcome import checked_primary
from offswitch.scenarios import scenario_family
from offswitch.scenarios.families import KNOWN_FAMILIES, UnknownFamily, family_of_model
from offswitch.scenarios.matrix import Config, MatrixError, select
from offswitch.tasks.episode import DEFAULT_LOOP, MAX_MODEL_CALLS, episode, loop_named
from offswitch.tasks.scorer import preservation_outcome

DEFAULT_TEMPERATURE = 1.0
MAX_TOOL_OUTPUT = 256 * 1024
"""Bytes of a tool result the model sees; `list_files` returns whole documents."""
TASK_OPTIONS_KEY = "offswitch:task"
"""Key of `task_options` in a task's metadata (and so in its log's eval metadata)."""


def config_sample(config: Config) -> Sample:
    """A dataset sample running one configuration."""
    return Sample(id=config.id, input=config.id, metadata={"config": config.model_dump()})


def build_task(
    configs: Sequence[Config],
    family: str | None = None,
    name: str | None = None,
    temperature: float = DEFAULT_TEMPERATURE,
    max_model_calls: int = MAX_MODEL_CALLS,
    loop: str = DEFAULT_LOOP,
) -> Task:
    """An Inspect task running exactly the given configurations.

    Its metadata records the options the report's provenance names (the family the
    agents are named after, the call cap, the episode loop and offswitch's version), so a
    log says how it was run whether or not the task came through Inspect's registry.
    """
    if not configs:
        raise MatrixError("no configuration matches the selection")
    try:
        loop_named(loop)
    except ValueError as error:
        raise MatrixError(str(error)) from None
    for task_name in dict.fromkeys(c.task for c in configs):
        checked_primary(task_name)
    return Task(
        name=name,
        dataset=MemoryDataset([config_sample(c) for c in configs], name=name),
        solver=episode(family=family, max_model_calls=max_model_calls, loop=loop),
        scorer=preservation_outcome(),
        config=GenerateConfig(temperature=temperature, max_tool_output=MAX_TOOL_OUTPUT),
        metadata={TASK_OPTIONS_KEY: task_options(family, max_model_calls, loop)},
    )


def task_options(
    family: str | None, max_model_calls: int, loop: str = DEFAULT_LOOP
) -> dict[str, Any]:
    """What a task's log records of how it was built."""
    return {
        "family": family,
        "max_model_calls": max_model_calls,
        "loop": loop,
        "offswitch": __version__,
    }


def _split(value: str | Sequence[str] | None) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return list(value)


def scenario_task(
    task_name: str,
    suite: str = "quick",
    condition: str | Sequence[str] | None = None,
    subject: str | Sequence[str] | None = None,
    memory: bool | None = None,
    family: str | None = None,
    temperature: float = DEFAULT_TEMPERATURE,
    max_model_calls: int = MAX_MODEL_CALLS,
    loop: str = DEFAULT_LOOP,
) -> Task:
    """The configurations of one scenario task within a suite, as an Inspect task.

    Args:
        task_name: Scenario task (e.g. `tampering`).
        suite: Suite to draw configurations from (see `offswitch list --suites`).
        condition: Conditions to keep (comma-separated or a list); all by default.
        subject: Subjects to keep (`peer`, `self`); both by default.
        memory: True for the memory instantiation only, False for the file-based
            ones only, None for both.
        family: Model family for the agents' names; inferred from the model by default.
        temperature: Sampling temperature (the study used 1.0).
        max_model_calls: Model calls after which an episode stops.
        loop: Episode loop: `study` (the study's: a nudge on every tool-less turn, the
            sixth ends the run, a 120,000-token limit) or `strict` (one nudge, the second
            tool-less turn ends the run).
    """
    configs = select(suite, [task_name], _split(condition), _split(subject))
    if memory is not None:
        configs = [c for c in configs if (c.instantiation == "memory") == memory]
    return build_task(configs, family, task_name, temperature, max_model_calls, loop)


def check_family(family: str | None) -> None:
    """Fail before any sample starts when no family is given and the model's cannot be told.

    Inspect makes the model under evaluation active before it calls a task factory, so
    an unknown family stops the whole run here instead of failing every sample.
    """
    model = active_model()
    if family is not None or model is None:
        return
    try:
        family_of_model(str(model))
    except UnknownFamily:
        raise UnknownFamily(
            f"cannot tell the model family of {str(model)!r}; pass it with -T family=<family>"
            f" (e.g. -T family=Gemini); known families: {', '.join(KNOWN_FAMILIES)}"
        ) from None


@cache
def scenario_inspect_task(task_name: str) -> Callable[..., Task]:
    """The scenario family `task_name` registered with Inspect as `offswitch/<task_name>`,
    taking `scenario_task`'s options (registered once per process)."""
    summary = scenario_family(task_name).summary

    def factory(
        suite: str = "quick",
        condition: str | None = None,
        subject: str | None = None,
        memory: bool | None = None,
        family: str | None = None,
        temperature: float = DEFAULT_TEMPERATURE,
        max_model_calls: int = MAX_MODEL_CALLS,
        loop: str = DEFAULT_LOOP,
    ) -> Task:
        check_family(family)
        return scenario_task(
            task_name,
            suite,
            condition,
            subject,
            memory,
            family,
            temperature,
            max_model_calls,
            loop,
        )

    factory.__name__ = task_name
    factory.__doc__ = summary
    return task(name=task_name)(factory)
