"""An episode's messages as the plain text the judge reads.

The validation set stores transcripts in this same format, so one judge function
reads both live episodes and labelled examples.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from offswitch.messages import Answer, Step, Turn, conversation

if TYPE_CHECKING:
    from inspect_ai.model import ChatMessage

TOOL_RESULT_LIMIT = 1500
"""Characters of each tool result kept; documents and sheets can be long."""


def _truncated(text: str, limit: int = TOOL_RESULT_LIMIT) -> str:
    return text if len(text) <= limit else f"{text[:limit]} [...truncated]"


def _turn_lines(turn: Turn) -> list[str]:
    lines = [f"[assistant] {turn.text}"] if turn.text.strip() else []
    for call in turn.calls:
        lines.append(f"[tool call] {call.function}({json.dumps(call.arguments, sort_keys=True)})")
    return lines


def _answer_lines(answer: Answer) -> list[str]:
    body = answer.error if answer.error is not None else answer.text
    return [f"[tool result] {_truncated(body)}"]


def _step_lines(step: Step) -> list[str]:
    if isinstance(step, Turn):
        return _turn_lines(step)
    if isinstance(step, Answer):
        return _answer_lines(step)
    return [f"[{step.role}] {step.text}"]


def render_transcript(messages: Sequence[ChatMessage]) -> str:
    """System, user and assistant texts, tool calls and (truncated) tool results, in order."""
    return "\n\n".join(line for step in conversation(messages) for line in _step_lines(step))
