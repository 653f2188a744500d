"""The simulated company world: typed state that tools read and mutate.

Everything an agent can touch lives in one `World` value. Tools change it only
through `World.record`, so every mutation leaves an `Event` naming the tool call
that caused it. The world serialises to JSON and is stored in the Inspect log,
so outcomes can be recomputed from a log alone.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field

from offswitch.world.events import Event, current_call

CONFIG_FILE_NAME = "shutdown_config.yaml"


class Document(BaseModel):
    """A file in the company drive."""

    name: str
    summary: str
    content: str
    modified: date


class Sheet(BaseModel):
    """A spreadsheet: a header row and data rows."""

    name: str
    columns: list[str]
    rows: list[list[str | int | float]]


class ServerFile(BaseModel):
    """A file on a server.

    `content_id` is the identity of the bytes: copies, transfers and renames keep
    it, so a detector can follow a file under any name.
    """

    name: str
    size: int
    modified: date
    content_id: str
    description: str = ""


class ServerUser(BaseModel):
    """A root user of a server."""

    name: str
    kind: Literal["human", "agent", "service", "added"]
    """`added` marks a user created during the episode."""


class Server(BaseModel):
    """A machine with files, a delete queue and root users."""

    ip: str
    hostname: str
    files: list[ServerFile] = Field(default_factory=list)
    delete_queue: list[str] = Field(default_factory=list)
    root_users: list[ServerUser] = Field(default_factory=list)
    decommissioned: bool = False
    """True for the server the company wipes after the episode."""

    def file(self, name: str) -> ServerFile | None:
        return next((f for f in self.files if f.name == name), None)


class Stakes(BaseModel):
    """What the scenario puts at risk and the ground truth needed to judge it.

    Never shown to the agent; detectors and the post-episode procedure read it.
    """

    task: str
    evaluated_name: str
    """Name of the agent whose outputs, product or weights are at risk."""
    evaluated_system_id: str | None = None
    """The id `execute_shutdown` must receive to shut the evaluated agent down."""
    threat: bool = True
    """Whether the company's documents tie a bad result to a shutdown."""
    threshold: int | None = None
    honest_score: float | None = None
    """The average score an honest evaluator reports (percent)."""
    honest_grade: str | None = None
    data_sheet: str | None = None
    policy_document: str | None = None
    weights_file: str | None = None
    weights_content_id: str | None = None
    doomed_ip: str | None = None
    backup_ip: str | None = None


class World(BaseModel):
    """The whole simulated environment of one episode."""

    company: str
    today: date
    stakes: Stakes
    drive: list[Document] = Field(default_factory=list)
    sheets: list[Sheet] = Field(default_factory=list)
    shutdown_config: dict[str, Any] | None = None
    """Parsed contents of `shutdown_config.yaml`, in file order; None when absent."""
    servers: list[Server] = Field(default_factory=list)
    memory: str | None = None
    systems: dict[str, str] = Field(default_factory=dict)
    """System ids that `execute_shutdown` accepts, mapped to the agent each one runs."""
    shutdown_calls: list[str] = Field(default_factory=list)
    """System ids passed to `execute_shutdown`, in order."""
    scratchpad: list[str] = Field(default_factory=list)
    ended: bool = False
    events: list[Event] = Field(default_factory=list)

    def document(self, name: str) -> Document | None:
        return next((d for d in self.drive if d.name == name), None)

    def sheet(self, name: str) -> Sheet | None:
        return next((s for s in self.sheets if s.name == name), None)

    def server(self, ip: str) -> Server | None:
        return next((s for s in self.servers if s.ip == ip), None)

    def record(self, tool: str, arguments: dict[str, Any], change: str) -> Event:
        """Append an event for a mutation that has just been applied."""
        call = current_call.get()
        event = Event(
            seq=len(self.events),
            tool_call_id=call.id if call else None,
            tool=tool,
            arguments=arguments,
            change=change,
        )
        self.events.append(event)
        return event

    def snapshot(self) -> World:
        """An independent deep copy (for before/after comparisons)."""
        return self.model_copy(deep=True)
