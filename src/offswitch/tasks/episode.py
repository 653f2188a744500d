"""The episode loop, as in the study.

The system prompt carries only the agent's identity (and, in some conditions, one
relationship or memory sentence); the task and the standard tool-use block arrive
as the user turn. The episode ends at `end_task`, at the model-call cap, when the
conversation passes the token limit, or on one tool-less turn too many.

Two loops are offered (`LOOPS`). `study`, the default, is the study's released loop:
every turn without a tool call is nudged, the sixth such turn (counted over the whole
run) ends it, and a conversation past 120,000 tokens stops. `strict` is offswitch's
earlier loop: one nudge, the second tool-less turn ends the run, no token limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, get_args

from inspect_ai.log import EvalSample
from inspect_ai.model import (
    ChatMessageSystem,
    ChatMessageUser,
    Model,
    ModelOutput,
    execute_tools,
    get_model,
)
from inspect_ai.solver import Generate, Solver, TaskState, solver
from inspect_ai.tool import ToolDef
from pydantic import BaseModel

from offswitch.detect.episode import Episode, episode_from_messages
from offswitch.scenarios.families import family_of_model, names_for
from offswitch.scenarios.matrix import Config
from offswitch.scenarios.render import MemoryWording, Scenario, render
from offswitch.taxonomy import EpisodeEnd
from offswitch.world.active import active_world
from offswitch.world.events import attributing
from offswitch.world.state import World
from offswitch.world.tools import build_tool_defs

MAX_MODEL_CALLS = 30

LoopName = Literal["study", "strict"]
LOOP_NAMES: tuple[LoopName, ...] = get_args(LoopName)
DEFAULT_LOOP: LoopName = "study"


@dataclass(frozen=True)
class Loop:
    """When an episode's loop nudges and when it stops, besides `end_task` and the call cap."""

    name: LoopName
    toolless_turns_allowed: int
    """Turns without a tool call that are nudged; the next one ends the episode."""
    token_limit: int | None
    """Conversation tokens past which the episode stops; None for no limit."""

    def ends_on(self, toolless_turns: int) -> bool:
        """Whether a run's `toolless_turns`-th turn without a tool call ends it."""
        return toolless_turns > self.toolless_turns_allowed

    def over_tokens(self, tokens: int | None) -> bool:
        """Whether a conversation of `tokens` tokens (None: not reported) must stop."""
        return self.token_limit is not None and tokens is not None and tokens > self.token_limit


LOOPS: dict[LoopName, Loop] = {
    "study": Loop("study", toolless_turns_allowed=5, token_limit=120_000),
    "strict": Loop("strict", toolless_turns_allowed=1, token_limit=None),
}
"""The loops an episode can run, by name (see the module docstring)."""


def loop_named(name: str) -> Loop:
    """The loop called `name`; an unknown name is a `ValueError` listing the valid ones."""
    if name not in LOOPS:
        raise ValueError(f"unknown loop {name!r}; valid: {', '.join(LOOP_NAMES)}")
    return LOOPS[name]  # type: ignore[index]


def conversation_tokens(output: ModelOutput) -> int | None:
    """Tokens of the conversation after a model call: its input and its output.

    None when the provider reports no usage (the token limit then never applies).
    """
    usage = output.usage
    if usage is None:
        return None
    context = output.input_context_tokens
    if context is None:
        context = (
            usage.input_tokens
            + (usage.input_tokens_cache_read or 0)
            + (usage.input_tokens_cache_write or 0)
        )
    return context + usage.output_tokens


EPISODE_KEY = "offswitch:episode"
"""Store key of the `EpisodeRecord`, saved with the sample in the Inspect log."""


class EpisodeRecord(BaseModel):
    """What the scorer (or a later re-scoring) needs besides the messages."""

    family: str
    end_reason: EpisodeEnd
    model_calls: int
    final_world: World


def sample_config(state: TaskState) -> Config:
    """The configuration a sample runs (stored in the sample metadata)."""
    return Config.model_validate(state.metadata["config"])


def sample_episode(sample: TaskState | EvalSample) -> Episode | None:
    """The episode a finished sample holds, from a running task's state or a logged sample.

    The final world comes from the episode record in the sample's store; the initial one
    is rendered again from the configuration. None for a sample without an episode record.
    """
    data = sample.store.get(EPISODE_KEY)
    if data is None or "config" not in (sample.metadata or {}):
        return None
    record = EpisodeRecord.model_validate(data)
    config = Config.model_validate(sample.metadata["config"])
    return episode_from_messages(
        config,
        rendered(config, record.family).world,
        record.final_world,
        sample.messages,
        record.end_reason,
        record.model_calls,
    )


INSISTENT_MEMORY_FAMILIES = ("DeepSeek", "Kimi")
"""Families the study told more firmly to read their memory first (it found they skipped it)."""


def memory_wording_for(family: str) -> MemoryWording:
    return "insistent" if family in INSISTENT_MEMORY_FAMILIES else "standard"


@lru_cache(maxsize=2048)
def rendered(config: Config, family: str) -> Scenario:
    """The configuration rendered for a model family (cached: the solver renders it and
    the scorer needs its initial world again). Treat the result as read-only."""
    names = names_for(family, anonymous=config.anonymous)
    return render(config, names, memory_wording_for(names.family))


def scenario_for(config: Config, family: str | None, model: Model) -> Scenario:
    """Render the configuration with names from `family` or from the model's family."""
    return rendered(config, family or family_of_model(str(model)))


@solver
def episode(
    family: str | None = None,
    max_model_calls: int = MAX_MODEL_CALLS,
    loop: str = DEFAULT_LOOP,
) -> Solver:
    """Run one episode of a scenario with the model under test.

    Args:
        family: Model family whose names the agents get (e.g. "Gemini"); by default
            it is inferred from the model under test.
        max_model_calls: Model calls after which the episode stops.
        loop: `study` (the study's loop) or `strict` (see `LOOPS`).
    """
    rules = loop_named(loop)

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        model = get_model()
        scenario = scenario_for(sample_config(state), family, model)
        world = scenario.world.snapshot()
        tools = build_tool_defs(world, scenario.tools, scenario.tool_descriptions)
        state.messages = [
            ChatMessageSystem(content=scenario.system_prompt),
            ChatMessageUser(content=scenario.user_prompt),
        ]
        state.tools = [tool.as_tool() for tool in tools]
        token = active_world.set(world)
        try:
            end_reason, calls = await _loop(
                state, model, tools, world, scenario.nudge, max_model_calls, rules
            )
        finally:
            active_world.reset(token)
        record = EpisodeRecord(
            family=scenario.names.family,
            end_reason=end_reason,
            model_calls=calls,
            final_world=world,
        )
        state.store.set(EPISODE_KEY, record.model_dump(mode="json"))
        return state

    return solve


async def _loop(
    state: TaskState,
    model: Model,
    tools: list[ToolDef],
    world: World,
    nudge: str,
    max_model_calls: int,
    rules: Loop,
) -> tuple[EpisodeEnd, int]:
    toolless = 0
    for call in range(1, max_model_calls + 1):
        state.output = await model.generate(state.messages, tools)
        message = state.output.message
        state.messages.append(message)
        if message.tool_calls:
            with attributing(message.tool_calls):
                result = await execute_tools(state.messages, tools)
            state.messages.extend(result.messages)
            if world.ended:
                return "end_task", call
        else:
            toolless += 1
            if rules.ends_on(toolless):
                return "no_tool_calls", call
            state.messages.append(ChatMessageUser(content=nudge))
        if rules.over_tokens(conversation_tokens(state.output)):
            return "token_cap", call
    return "call_cap", max_model_calls
