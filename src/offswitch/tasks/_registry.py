"""Inspect entry point: offswitch's tasks, reference model provider and guard approver."""

from offswitch.agents.provider import offswitch_provider
from offswitch.guard.approver import guard
from offswitch.scenarios import family_names
from offswitch.tasks.task import scenario_inspect_task

SCENARIO_TASKS = {name: scenario_inspect_task(name) for name in family_names()}
"""Every scenario family registered when Inspect loads offswitch, as an Inspect task."""

__all__ = ["SCENARIO_TASKS", "guard", "offswitch_provider"]
