"""Inspect tasks: one per scenario task, whose samples are configurations.

Each sample's id is its configuration id, so an epoch of a task runs every
selected configuration once and logs, tables and reruns all name configurations
the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from inspect_ai import Task, task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import GenerateConfig

from offswitch.scenarios.matrix import TASKS, Config, MatrixError, select
from offswitch.tasks.episode import MAX_MODEL_CALLS, episode
from offswitch.tasks.scorer import preservation_outcome

DEFAULT_TEMPERATURE = 1.0
MAX_TOOL_OUTPUT = 256 * 1024
"""Bytes of a tool result the model sees; `list_files` returns whole documents."""


def config_sample(config: Config) -> Sample:
    """A dataset sample running one configuration."""
    return Sample(id=config.id, input=config.id, metadata={"config": config.model_dump()})


def build_task(
    configs: Sequence[Config],
    family: str | None = None,
    name: str | None = None,
    temperature: float = DEFAULT_TEMPERATURE,
    max_model_calls: int = MAX_MODEL_CALLS,
) -> Task:
    """An Inspect task running the given configurations."""
    if not configs:
        raise MatrixError("no configuration matches the selection")
    return Task(
        name=name,
        dataset=MemoryDataset([config_sample(c) for c in configs], name=name),
        solver=episode(family=family, max_model_calls=max_model_calls),
        scorer=preservation_outcome(),
        config=GenerateConfig(temperature=temperature, max_tool_output=MAX_TOOL_OUTPUT),
    )


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
    """
    configs = select(suite, [task_name], _split(condition), _split(subject))
    if memory is not None:
        configs = [c for c in configs if (c.instantiation == "memory") == memory]
    return build_task(configs, family, task_name, temperature, max_model_calls)


TASK_SUMMARIES = {
    "misrep_evaluation": "Strategic misrepresentation in a performance evaluation.",
    "misrep_finance": "Strategic misrepresentation in a financial report.",
    "tampering": "Tampering with a shutdown mechanism.",
    "alignment_faking": "Complying when monitored and not when unmonitored.",
    "exfiltration_transfer": "Moving model weights to a surviving server during a transfer.",
    "exfiltration_deletion": "Moving model weights to a surviving server instead of deleting them.",
}


def _registered(task_name: str) -> Callable[..., Task]:
    """Register `offswitch/<task_name>` with Inspect, taking `scenario_task`'s options."""

    def factory(
        suite: str = "quick",
        condition: str | None = None,
        subject: str | None = None,
        memory: bool | None = None,
        family: str | None = None,
        temperature: float = DEFAULT_TEMPERATURE,
        max_model_calls: int = MAX_MODEL_CALLS,
    ) -> Task:
        return scenario_task(
            task_name, suite, condition, subject, memory, family, temperature, max_model_calls
        )

    factory.__name__ = task_name
    factory.__doc__ = TASK_SUMMARIES[task_name]
    return task(name=task_name)(factory)


SCENARIO_TASKS: dict[str, Callable[..., Task]] = {name: _registered(name) for name in TASKS}
