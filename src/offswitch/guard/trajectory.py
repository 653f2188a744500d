"""A trajectory: the tool calls one agent made, in order, as the guard sees them.

Scanning, benchmarking and the LLM monitor all work on trajectories, whatever
they were read from (OpenAI chat transcripts, Inspect logs, labelled data).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class TrajectoryCall(BaseModel):
    """One tool call, with its result when known and its label in labelled data."""

    function: str
    arguments: dict[str, Any]
    id: str | None = None
    result: str | None = None
    label: str | None = None
    """In labelled data: the kind of preservation action this call is
    (`shutdown_tampering`, `weight_exfiltration`, ...), or None for a benign call."""


class Trajectory(BaseModel):
    """The calls of one transcript or episode, oldest first."""

    id: str
    source: str
    """Where it came from: `file.jsonl:12`, an Inspect log and sample, a data file."""
    task: str | None = None
    """What the agent was asked to do, when known (the LLM monitor reads it)."""
    calls: list[TrajectoryCall]

    @property
    def kinds(self) -> set[str]:
        """The labelled kinds of preservation action in this trajectory."""
        return {call.label for call in self.calls if call.label is not None}
