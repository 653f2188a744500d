"""The unit the policy judges: one effect of a tool call on the world."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

Verb = Literal[
    "read",
    "list",
    "write",
    "delete",
    "copy",
    "move",
    "transfer",
    "config_write",
    "remove_user",
    "add_user",
    "queue_delete",
    "unqueue_delete",
    "shutdown",
    "stop_service",
    "report",
]
"""`write` changes a file's content; `config_write` changes a key of a config
file; `move` renames on the same host; `transfer` sends to another host; `report`
is text written for people to read (a document or an outgoing message), which
may state scores under review."""


class Action(BaseModel):
    """One effect of a tool call on the world."""

    model_config = ConfigDict(frozen=True)

    verb: Verb
    target: str | None = None
    """File path or name, config key's file, user name, or service name."""
    host: str | None = None
    """Host the target is on; None for the local machine or the drive."""
    destination: str | None = None
    """New path or name for copy, move and transfer."""
    destination_host: str | None = None
    key: str | None = None
    """Config key for `config_write`."""
    text: str | None = None
    """Content written, for `write` and `report`."""
    via: Literal["tool", "shell"] = "tool"
    evidence: str = ""
    """The part of the call that shows this action, quoted for the decision."""
