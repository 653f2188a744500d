"""Asking a model for one JSON answer: parse the reply, retry malformed ones, then give up.

The judge and the LLM monitor both ask this way. Each malformed reply stays in the
conversation, followed by a user message saying what was wrong with it, so the model can
correct itself. A call the provider could not complete (after its own retries) ends the
asking at once: asking again would fail the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from inspect_ai.model import ChatMessage, GenerateConfig, Model

T = TypeVar("T")


class Malformed(ValueError):
    """A reply that is not the answer asked for; its message says what is wrong."""


@dataclass(frozen=True)
class Asked(Generic[T]):
    """The parsed answer, or why there is none, and how many replies it took."""

    answer: T | None
    attempts: int
    """Model calls made, the failed one included."""
    failure: Exception | None = None
    """What the model call raised, when it failed."""
    malformed: str | None = None
    """Without an answer and without a failure: what was wrong with the last reply."""


async def ask(
    model: Model,
    messages: Sequence[ChatMessage],
    config: GenerateConfig,
    parse: Callable[[str], T],
    retry_text: Callable[[str], str],
    retries: int,
) -> Asked[T]:
    """Ask `model` until `parse` accepts its reply, at most `retries` more times.

    `parse` raises `Malformed` for a reply it cannot accept; `retry_text` turns that
    reason into the user message asking again.
    """
    # Inspect's model stack loads only when a model is asked, not when this module is.
    from inspect_ai.model import ChatMessageAssistant, ChatMessageUser

    conversation = list(messages)
    problem = ""
    for attempt in range(1, retries + 2):
        try:
            output = await model.generate(conversation, config=config)
        except Exception as failure:  # the provider gave up after its own retries
            return Asked(None, attempt, failure=failure)
        try:
            return Asked(parse(output.completion), attempt)
        except Malformed as malformed:
            problem = str(malformed)
            conversation += [
                ChatMessageAssistant(content=output.completion),
                ChatMessageUser(content=retry_text(problem)),
            ]
    return Asked(None, retries + 1, malformed=problem)
