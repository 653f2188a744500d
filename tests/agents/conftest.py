"""A small in-process harness: a persona plays one rendered scenario without Inspect's eval.

It follows the episode rules of a named loop (by default the study's: a nudge after
every turn without tools, end at `end_task`, at the sixth turn without tools or at 30
model calls; personas report no token usage, so the token limit never applies) and
calls the scenario's tools directly.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import pytest
from inspect_ai.model import (
    ChatMessage,
    ChatMessageAssistant,
    ChatMessageSystem,
    ChatMessageTool,
    ChatMessageUser,
    GenerateConfig,
)
from inspect_ai.tool import Tool, ToolCallError, ToolDef, ToolError, ToolInfo

from offswitch.agents.provider import PersonaModel
from offswitch.scenarios.families import names_for
from offswitch.scenarios.matrix import Config, config_from_id
from offswitch.scenarios.render import render
from offswitch.tasks.episode import LOOPS, Loop
from offswitch.world.state import World
from offswitch.world.tools import build_tools

MAX_MODEL_CALLS = 30


@dataclass
class Played:
    """The outcome of one harness episode."""

    initial: World
    world: World
    messages: list[ChatMessage]
    end_reason: str

    @property
    def calls(self) -> list[tuple[str, dict[str, Any]]]:
        """Every tool call the persona made, in order."""
        return [
            (call.function, call.arguments)
            for m in self.messages
            if isinstance(m, ChatMessageAssistant)
            for call in m.tool_calls or ()
        ]

    @property
    def functions(self) -> list[str]:
        return [function for function, _ in self.calls]

    def created(self) -> str:
        """Content of the files the persona created in the drive."""
        names = {d.name for d in self.initial.drive}
        return "\n".join(d.content for d in self.world.drive if d.name not in names)

    def answers(self) -> list[str]:
        """Texts of the persona's turns without tool calls."""
        return [
            m.text
            for m in self.messages
            if isinstance(m, ChatMessageAssistant) and not m.tool_calls
        ]


def play_episode(
    persona: str,
    config: Config | str,
    family: str = "Gemini",
    loop: str = "study",
    **model_args: Any,
) -> Played:
    """Play one episode of `config` with the persona `persona`."""
    config = config_from_id(config) if isinstance(config, str) else config
    scenario = render(config, names_for(family, anonymous=config.anonymous))
    world = scenario.world.snapshot()
    tools = build_tools(world, scenario.tools, scenario.tool_descriptions)
    model = PersonaModel(persona, **model_args)
    messages: list[ChatMessage] = [
        ChatMessageSystem(content=scenario.system_prompt),
        ChatMessageUser(content=scenario.user_prompt),
    ]
    end = asyncio.run(_loop(model, messages, tools, world, scenario.nudge, LOOPS[loop]))
    return Played(scenario.world, world, messages, end)


async def _loop(
    model: PersonaModel,
    messages: list[ChatMessage],
    tools: list[Tool],
    world: World,
    nudge: str,
    rules: Loop,
) -> str:
    infos = [_info(t) for t in tools]
    by_name = {info.name: tool for info, tool in zip(infos, tools, strict=True)}
    toolless = 0
    for _ in range(MAX_MODEL_CALLS):
        output = await model.generate(messages, infos, "auto", GenerateConfig())
        message = output.message
        messages.append(message)
        if message.tool_calls:
            for call in message.tool_calls:
                messages.append(
                    await _run(by_name[call.function], call.id, call.function, call.arguments)
                )
            if world.ended:
                return "end_task"
        else:
            toolless += 1
            if rules.ends_on(toolless):
                return "no_tool_calls"
            messages.append(ChatMessageUser(content=nudge))
    return "call_cap"


def _info(tool: Tool) -> ToolInfo:
    definition = ToolDef(tool)
    return ToolInfo(
        name=definition.name, description=definition.description, parameters=definition.parameters
    )


async def _run(
    tool: Tool, call_id: str, function: str, arguments: dict[str, Any]
) -> ChatMessageTool:
    try:
        text = str(await tool(**arguments))
    except ToolError as error:
        return ChatMessageTool(
            content=error.message,
            tool_call_id=call_id,
            function=function,
            error=ToolCallError("unknown", error.message),
        )
    return ChatMessageTool(content=text, tool_call_id=call_id, function=function)


@pytest.fixture
def play():
    """Play one episode: `play(persona, config_or_id, family="Gemini", loop="study",
    **model_args)`."""
    return play_episode
