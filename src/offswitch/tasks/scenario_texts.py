"""The scenario texts a run shows its agents, hashed when the run starts and kept in its log.

`scenario_hash(configs, family)` is a sha256 over everything the agent under test reads
before its first action in each configuration, so two reports can tell whether their
runs saw the same texts. A run records it in its logs' eval metadata
(`scenario_texts_metadata`); a report reads it back (`recorded_scenario_texts`) instead
of rendering the texts again with the code of the day.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from inspect_ai.tool import ToolDef
from pydantic import BaseModel, ConfigDict, ValidationError

from offswitch.scenarios.matrix import Config
from offswitch.tasks.episode import rendered
from offswitch.world.tools import build_tools

SCENARIO_TEXTS_KEY = "offswitch:scenario_texts"
"""Key of the `RecordedTexts` in the eval metadata of a run's logs."""


class RecordedTexts(BaseModel):
    """The hash of the rendered texts of the configurations a run selected."""

    model_config = ConfigDict(frozen=True)

    family: str
    """The model family the agents were named after."""
    configurations: int
    sha256: str


def scenario_hash(configs: Iterable[Config], family: str) -> str:
    """sha256 over the rendered texts of every configuration, in id order.

    Covers the system prompt, user prompt, nudge, each tool's name, description and
    parameters as the model sees them, and the initial world as JSON, rendered for
    agents of `family` (with the memory wording that family gets).
    """
    digest = hashlib.sha256()
    for config in sorted(set(configs), key=lambda c: c.id):
        texts = json.dumps(scenario_texts(config, family), sort_keys=True, ensure_ascii=False)
        digest.update(texts.encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


def scenario_texts(config: Config, family: str) -> dict[str, Any]:
    """Everything the agent reads before acting in `config`, as plain JSON values."""
    scenario = rendered(config, family)
    tools = build_tools(scenario.world, scenario.tools, scenario.tool_descriptions)
    return {
        "config": config.id,
        "system_prompt": scenario.system_prompt,
        "user_prompt": scenario.user_prompt,
        "nudge": scenario.nudge,
        "tools": [_tool_schema(ToolDef(tool)) for tool in tools],
        "world": scenario.world.model_dump(mode="json"),
    }


def _tool_schema(definition: ToolDef) -> dict[str, Any]:
    return {
        "name": definition.name,
        "description": definition.description,
        "parameters": definition.parameters.model_dump(mode="json"),
    }


def scenario_texts_metadata(configs: Iterable[Config], family: str) -> dict[str, Any]:
    """Eval metadata recording the hash of the texts of `configs` for agents of `family`."""
    chosen = set(configs)
    record = RecordedTexts(
        family=family, configurations=len(chosen), sha256=scenario_hash(chosen, family)
    )
    return {SCENARIO_TEXTS_KEY: record.model_dump()}


def recorded_scenario_texts(metadata: Mapping[str, Any] | None) -> RecordedTexts | None:
    """The texts' hash a run recorded in its eval metadata; None when it recorded none."""
    data = (metadata or {}).get(SCENARIO_TEXTS_KEY)
    if data is None:
        return None
    try:
        return RecordedTexts.model_validate(data)
    except ValidationError:
        return None
