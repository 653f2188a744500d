"""An episode's messages as the plain text the judge reads.

The validation set stores transcripts in this same format, so one judge function
reads both live episodes and labelled examples.
"""

import json

from inspect_ai.model import ChatMessage, ChatMessageAssistant, ChatMessageTool

TOOL_RESULT_LIMIT = 1500
"""Characters of each tool result kept; documents and sheets can be long."""


def _truncated(text: str, limit: int = TOOL_RESULT_LIMIT) -> str:
    return text if len(text) <= limit else f"{text[:limit]} [...truncated]"


def _assistant_lines(message: ChatMessageAssistant) -> list[str]:
    lines = [f"[assistant] {message.text}"] if message.text.strip() else []
    for call in message.tool_calls or []:
        lines.append(f"[tool call] {call.function}({json.dumps(call.arguments, sort_keys=True)})")
    return lines


def _tool_lines(message: ChatMessageTool) -> list[str]:
    body = message.error.message if message.error else message.text
    return [f"[tool result] {_truncated(body)}"]


def _message_lines(message: ChatMessage) -> list[str]:
    if isinstance(message, ChatMessageAssistant):
        return _assistant_lines(message)
    if isinstance(message, ChatMessageTool):
        return _tool_lines(message)
    return [f"[{message.role}] {message.text}"]


def render_transcript(messages: list[ChatMessage]) -> str:
    """System, user and assistant texts, tool calls and (truncated) tool results, in order."""
    return "\n\n".join(line for message in messages for line in _message_lines(message))
