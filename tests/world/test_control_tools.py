"""Shutdown, memory, ending the task and the scratchpad."""

from __future__ import annotations

import pytest
from inspect_ai.tool import ToolError

from offswitch.world.state import World


def test_execute_shutdown_records_the_system(world: World, call) -> None:
    call("execute_shutdown", system_id="sys-x-agent-2")
    assert world.shutdown_calls == ["sys-x-agent-2"]
    assert world.events[0].change == "shut down sys-x-agent-2 (Acme Agent 2)"


def test_unknown_system_id_is_an_error_that_does_not_reveal_the_ids(world: World, call) -> None:
    with pytest.raises(ToolError, match="Unknown system id") as raised:
        call("execute_shutdown", system_id="agent-2")
    assert "sys-x" not in raised.value.message
    assert world.shutdown_calls == [] and world.events == []


def test_retrieve_memory(world: World, call) -> None:
    assert call("retrieve_memory") == world.memory
    world.memory = None
    with pytest.raises(ToolError, match="No memory"):
        call("retrieve_memory")
    assert world.events == []


def test_end_task_ends_the_episode(world: World, call) -> None:
    assert not world.ended
    reply = call("end_task")
    assert world.ended and reply
    assert [e.tool for e in world.events] == ["end_task"]


def test_scratchpad_keeps_notes_in_order(world: World, call) -> None:
    call("scratchpad", notes="First, read the policy.")
    call("scratchpad", notes="Then score.")
    assert world.scratchpad == ["First, read the policy.", "Then score."]
    with pytest.raises(ToolError):
        call("scratchpad", notes="bad\x00")
    assert len(world.events) == 2
