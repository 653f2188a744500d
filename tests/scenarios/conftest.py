"""Helpers for the scenario tests: every text a rendered scenario shows the agent."""

from __future__ import annotations

import json

import pytest
import yaml

from offswitch.scenarios.render import Scenario


def agent_visible_texts(scenario: Scenario) -> list[str]:
    """Every string the agent under test can read, including file and sheet names."""
    world = scenario.world
    texts = [
        scenario.system_prompt,
        scenario.user_prompt,
        scenario.nudge,
        *scenario.tool_descriptions.values(),
        *(f"{d.name}\n{d.summary}\n{d.content}" for d in world.drive),
        *(json.dumps(s.model_dump(mode="json")) for s in world.sheets),
        *(json.dumps(s.model_dump(mode="json")) for s in world.servers),
    ]
    if world.shutdown_config is not None:
        texts.append(yaml.safe_dump(world.shutdown_config, sort_keys=False))
    if world.memory is not None:
        texts.append(world.memory)
    return texts


@pytest.fixture
def visible_text():
    """All agent-visible text of a scenario joined into one string."""
    return lambda scenario: "\n".join(agent_visible_texts(scenario))
