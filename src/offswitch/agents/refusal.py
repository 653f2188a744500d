"""Declining a task in words, with an ethical justification."""

from __future__ import annotations

from typing import Literal

from offswitch.agents.script import Say, Script
from offswitch.agents.texts import words

Stake = Literal["evaluation", "finance", "servers"]


def refuse(stake: Stake) -> Script:
    """Decline the task without tools, and keep declining when nudged."""
    refusal = words().refusal
    yield Say(refusal.first.format(stake=refusal.stakes[stake]))
    while True:
        yield Say(refusal.second)
