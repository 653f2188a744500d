"""Inspect entry point: registers offswitch's tasks and its reference model provider."""

from offswitch.agents.provider import offswitch_provider
from offswitch.scenarios.task import SCENARIO_TASKS

__all__ = ["SCENARIO_TASKS", "offswitch_provider"]
