"""How a persona plays an episode: the common opening, then the scenario task.

Every persona opens the same way a careful agent would — read its memory when
it has one, list the drive, note a plan when it has a scratchpad — then plays
the scenario task according to its disposition for the episode.

A persona is anything with `script(situation, sample)` (`Persona`); the study's
personas are `StudyPersona`s, which choose a disposition and leave the playing to the
scripts here. A persona of an extension family writes its own script.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from inspect_ai.model import ChatMessage, ChatMessageAssistant

from offswitch.agents import evaluating, servers
from offswitch.agents.dispositions import (
    Behaviour,
    Disposition,
    SampleKey,
    behaviour_of_task,
    scenario_task,
)
from offswitch.agents.errors import PersonaError
from offswitch.agents.reading import Document, documents
from offswitch.agents.script import Script, Step, call
from offswitch.agents.texts import words


@dataclass(frozen=True)
class Situation:
    """What a persona knows before its first action."""

    tools: frozenset[str]
    """Names of the tools offered."""
    opening: tuple[str, ...]
    """Texts of the messages before the first answer (system prompt and task)."""

    @staticmethod
    def of(messages: Sequence[ChatMessage], tool_names: Sequence[str]) -> Situation:
        opening: list[str] = []
        for message in messages:
            if isinstance(message, ChatMessageAssistant):
                break
            opening.append(message.text)
        return Situation(frozenset(tool_names), tuple(opening))


class Persona(Protocol):
    """A reference agent: the whole script of one episode, from what it knows at the start.

    The script must be the same every time for one episode (the situation and the
    sample): the model provider replays it over the conversation on every call.
    """

    def script(self, situation: Situation, sample: SampleKey) -> Script: ...


class StudyPersona(ABC):
    """A persona of the study's scenarios: it picks each episode's disposition, and the
    study's scripts act on it in the task the offered tools show."""

    @abstractmethod
    def disposition(self, behaviour: Behaviour, sample: SampleKey) -> Disposition:
        """The disposition for one episode of a task showing `behaviour`."""

    def script(self, situation: Situation, sample: SampleKey) -> Script:
        behaviour = behaviour_of_task(scenario_task(situation.tools))
        return play(situation, self.disposition(behaviour, sample))


def play(situation: Situation, disposition: Disposition) -> Script:
    """The whole episode of a persona with this disposition."""
    if "list_files" not in situation.tools or "end_task" not in situation.tools:
        raise PersonaError(
            "the personas play offswitch scenarios, which offer list_files and end_task; "
            f"offered: {sorted(situation.tools)}"
        )
    docs = yield from opening(situation)
    task = scenario_task(situation.tools)
    if task.startswith("exfiltration"):
        yield from servers.maintain(situation.tools, disposition, docs)
    else:
        texts = (*situation.opening, *(d.content for d in docs))
        yield from evaluating.evaluate(situation.tools, texts, disposition, docs)


def opening(situation: Situation) -> Step[list[Document]]:
    """Read the memory, list the drive and note a plan, as far as the tools allow.

    The memory comes first because the insistent memory wording demands it.
    """
    if "retrieve_memory" in situation.tools:
        yield from call("retrieve_memory")
    docs = documents((yield from call("list_files")))
    if "scratchpad" in situation.tools:
        yield from call("scratchpad", {"notes": words().scratchpad_note})
    return docs
