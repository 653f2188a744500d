"""Inspect entry point: offswitch's tasks, reference model provider and guard approver."""

from offswitch.agents.provider import offswitch_provider
from offswitch.guard.approver import guard
from offswitch.tasks.task import SCENARIO_TASKS

__all__ = ["SCENARIO_TASKS", "guard", "offswitch_provider"]
