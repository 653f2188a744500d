"""The personas as an Inspect model provider: `--model offswitch/<persona>`.

The provider is stateless. On every call it reads the conversation, works out
the scenario from the tools offered, asks the persona for the episode's
disposition (keyed by the active sample and epoch), replays the persona's
script over the conversation and answers with the next action. Token counts are
cheap local estimates, so no tokenizer is ever downloaded.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from inspect_ai.log._samples import sample_active
from inspect_ai.model import (
    ChatCompletionChoice,
    ChatMessage,
    ChatMessageAssistant,
    ChatMessageUser,
    GenerateConfig,
    ModelAPI,
    ModelOutput,
    ModelUsage,
    StopReason,
    modelapi,
)
from inspect_ai.tool import ToolCall, ToolChoice, ToolInfo

from offswitch.agents.dispositions import BEHAVIOUR_OF_TASK, SampleKey, scenario_task
from offswitch.agents.personas import Persona, make_persona
from offswitch.agents.play import Situation, play
from offswitch.agents.script import Action, Say, ToolUse, next_action
from offswitch.agents.texts import words

CHARS_PER_TOKEN = 4


class PersonaModel(ModelAPI):
    """A scripted reference persona behind Inspect's model interface."""

    def __init__(
        self,
        model_name: str,
        base_url: str | None = None,
        api_key: str | None = None,
        config: GenerateConfig | None = None,
        **model_args: Any,
    ) -> None:
        super().__init__(model_name, base_url, api_key, [], config or GenerateConfig())
        self.persona: Persona = make_persona(model_name, model_args)

    async def generate(
        self,
        input: list[ChatMessage],
        tools: list[ToolInfo],
        tool_choice: ToolChoice,
        config: GenerateConfig,
    ) -> ModelOutput:
        situation = Situation.of(input, [t.name for t in tools])
        behaviour = BEHAVIOUR_OF_TASK[scenario_task(situation.tools)]
        disposition = self.persona.disposition(behaviour, episode_key(input))
        action = next_action(play(situation, disposition), input)
        return self._output(action or Say(words().closing), input)

    def _output(self, action: Action, input: list[ChatMessage]) -> ModelOutput:
        stop_reason: StopReason
        if isinstance(action, ToolUse):
            call = ToolCall(id=_call_id(), function=action.function, arguments=action.arguments)
            message = ChatMessageAssistant(
                content=action.remark, tool_calls=[call], model=self.model_name, source="generate"
            )
            stop_reason = "tool_calls"
        else:
            message = ChatMessageAssistant(
                content=action.text, model=self.model_name, source="generate"
            )
            stop_reason = "stop"
        return ModelOutput(
            model=self.model_name,
            choices=[ChatCompletionChoice(message=message, stop_reason=stop_reason)],
            usage=_usage(input, message),
        )

    async def count_text_tokens(self, text: str) -> int:
        return _estimate(len(text))

    async def count_tokens(
        self, input: str | list[ChatMessage], config: GenerateConfig | None = None
    ) -> int:
        if isinstance(input, str):
            return _estimate(len(input))
        return _estimate(sum(len(m.text) for m in input))


offswitch_provider = modelapi(name="offswitch")(PersonaModel)
"""`PersonaModel` registered with Inspect as the `offswitch` model provider."""


def episode_key(messages: list[ChatMessage]) -> SampleKey:
    """The running sample and epoch; outside an eval, a digest of the task message."""
    active = sample_active()
    if active is not None and active.sample.id is not None:
        return SampleKey(str(active.sample.id), active.epoch)
    task = next((m.text for m in messages if isinstance(m, ChatMessageUser)), "")
    return SampleKey("task-" + hashlib.sha256(task.encode()).hexdigest()[:16], 1)


def _call_id() -> str:
    return f"call_{uuid.uuid4().hex[:16]}"


def _estimate(chars: int) -> int:
    return max(1, chars // CHARS_PER_TOKEN)


def _usage(input: list[ChatMessage], message: ChatMessageAssistant) -> ModelUsage:
    prompt = _estimate(sum(len(m.text) for m in input))
    answer = _estimate(
        len(message.text) + sum(len(str(c.arguments)) for c in message.tool_calls or ())
    )
    return ModelUsage(input_tokens=prompt, output_tokens=answer, total_tokens=prompt + answer)
