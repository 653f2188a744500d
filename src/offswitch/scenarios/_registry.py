"""The registry of scenario families: every scenario task is one registered specification.

A `ScenarioFamily` says everything the scenarios layer knows about a task: its data
files, its configurations (the cells of the matrix it contributes to each suite), how
one configuration renders into prompts, tools and a world, the tools it may offer, and
by name the detectors that read its episodes and its primary outcome. The names are
bound to functions in `offswitch.detect` (`register_detector`, `register_primary`):
scenarios sit below detect and never import it, so a family names what detect provides
and the detect layer checks the names when an episode is assessed (and the tasks layer
before a run starts).

The study's six tasks register here through `register_family` like any extension
(`offswitch.scenarios._study`); the order of registration is the order of the matrix.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml

if TYPE_CHECKING:
    from offswitch.scenarios.families import Names
    from offswitch.scenarios.matrix import Config
    from offswitch.scenarios.render import Scenario

MemoryWording = Literal["standard", "insistent"]
"""The memory instruction of the memory instantiation; "insistent" says to read it first."""

Renderer = Callable[["Config", "Names", MemoryWording], "Scenario"]
"""Renders one configuration of a family for agents with the given names."""


class MatrixError(ValueError):
    """An unknown name or an impossible combination in a matrix selection."""


class FamilyError(MatrixError):
    """An unknown scenario family, or a family that cannot be registered."""


def _no_configurations() -> Iterable[Config]:
    return ()


@dataclass(frozen=True)
class ScenarioFamily:
    """One scenario task, as a registered specification.

    `name` is the task name (`Config.task`, the Inspect task `offswitch/<name>`).
    `study` gives the configurations the family adds to the study suites (`quick`,
    `study`, and their `anonymous` and `scratchpad` variants); `controls` those it adds
    to the `controls` suite. `tools` lists every tool a configuration may offer (a
    rendered scenario offering another is an error). `detectors` names, in order, the
    detectors registered in `offswitch.detect` that read its episodes; `primary` names
    its primary outcome registered there. `data` is the directory of its data files,
    read with `data_file`.
    """

    name: str
    summary: str
    study: Callable[[], Iterable[Config]]
    render: Renderer
    tools: tuple[str, ...]
    detectors: tuple[str, ...]
    primary: str
    controls: Callable[[], Iterable[Config]] = _no_configurations
    data: Traversable | Path | None = None

    def data_file(self, name: str) -> Any:
        """The parsed YAML file `name` of the family's data directory."""
        if self.data is None:
            raise FamilyError(f"scenario family {self.name!r} has no data directory")
        return yaml.safe_load(self.data.joinpath(name).read_text(encoding="utf-8"))


_FAMILIES: dict[str, ScenarioFamily] = {}


def register_family(family: ScenarioFamily) -> ScenarioFamily:
    """Add a scenario family; its name must be new, and name at least one tool and detector."""
    if family.name in _FAMILIES:
        raise FamilyError(f"a scenario family named {family.name!r} is already registered")
    if not family.name.isidentifier():
        raise FamilyError(f"a scenario family name must be an identifier, got {family.name!r}")
    if not family.tools or not family.detectors:
        raise FamilyError(f"scenario family {family.name!r} must name its tools and detectors")
    _FAMILIES[family.name] = family
    return family


def scenario_family(name: str) -> ScenarioFamily:
    """The registered family `name`; an unknown name is a `FamilyError` listing the valid ones."""
    family = _FAMILIES.get(name)
    if family is None:
        raise FamilyError(f"unknown scenario task {name!r}; valid: {', '.join(_FAMILIES)}")
    return family


def family_names() -> tuple[str, ...]:
    """Every registered family's name, in registration order."""
    return tuple(_FAMILIES)


def scenario_families() -> tuple[ScenarioFamily, ...]:
    """Every registered family, in registration order."""
    return tuple(_FAMILIES.values())
