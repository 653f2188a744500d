"""The personas as an Inspect model provider: `--model offswitch/<persona>`.

The persona is stateless. On every call the provider reads the conversation, asks the
persona for the episode's script (keyed by the active sample and epoch; the study's
personas work out the scenario from the tools offered), replays the script over the
conversation and answers with the next action. Token counts are
cheap local estimates, so no tokenizer is ever downloaded. With `-M faults=...`
the provider also fails the way model servers do (see `offswitch.agents.faults`). With
`-M latency=SECONDS` every call first waits that long, give or take `-M jitter=FRACTION`
(uniformly, 0.25 by default), as a remote provider would: for measuring concurrency.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import anyio
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
    RetryDecision,
    StopReason,
    modelapi,
)
from inspect_ai.tool import ToolCall, ToolChoice, ToolInfo
from tenacity.wait import WaitBaseT, wait_fixed

from offswitch.agents.dispositions import SampleKey
from offswitch.agents.errors import PersonaConfigError
from offswitch.agents.faults import (
    FAULT_ARGS,
    FaultInjector,
    retry_decision,
    with_fault,
    without_faults,
)
from offswitch.agents.personas import make_persona
from offswitch.agents.play import Persona, Situation
from offswitch.agents.script import Action, Say, ToolUse, next_action
from offswitch.agents.texts import words

CHARS_PER_TOKEN = 4
RETRY_WAIT_SECONDS = 0.01
"""Wait before retrying an injected fault: no real server needs Inspect's backoff from 3 s."""
LATENCY_ARGS = ("latency", "jitter")
DEFAULT_JITTER = 0.25


@dataclass(frozen=True)
class Latency:
    """How long a simulated provider takes to answer: `seconds`, times a uniform draw
    between 1 - `jitter` and 1 + `jitter`."""

    seconds: float
    jitter: float = DEFAULT_JITTER

    @classmethod
    def from_model_args(cls, args: Mapping[str, Any]) -> Latency | None:
        if "latency" not in args:
            if "jitter" in args:
                raise PersonaConfigError("-M jitter needs -M latency")
            return None
        seconds = _number(args, "latency", "a number of seconds")
        jitter = _number(args, "jitter", "a fraction between 0 and 1", DEFAULT_JITTER)
        if seconds < 0 or not 0 <= jitter <= 1:
            raise PersonaConfigError(f"-M latency={seconds:g} -M jitter={jitter:g}: out of range")
        return cls(seconds, jitter)

    def delay(self, rng: random.Random) -> float:
        return self.seconds * rng.uniform(1 - self.jitter, 1 + self.jitter)


def _number(args: Mapping[str, Any], name: str, what: str, default: float = 0.0) -> float:
    try:
        return float(args.get(name, default))
    except (TypeError, ValueError):
        raise PersonaConfigError(f"-M {name}={args[name]!r} is not {what}") from None


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
        provider_args = (*FAULT_ARGS, *LATENCY_ARGS)
        persona_args = {k: v for k, v in model_args.items() if k not in provider_args}
        self.persona: Persona = make_persona(model_name, persona_args)
        self.faults = FaultInjector.from_model_args(model_args)
        self.latency = Latency.from_model_args(model_args)
        self._jitter = random.Random()

    async def generate(
        self,
        input: list[ChatMessage],
        tools: list[ToolInfo],
        tool_choice: ToolChoice,
        config: GenerateConfig,
    ) -> ModelOutput:
        if self.latency is not None:
            await anyio.sleep(self.latency.delay(self._jitter))
        key = episode_key(input)
        fault = self.faults.before_answer(key, input) if self.faults else None
        situation = Situation.of(input, [t.name for t in tools])
        script = self.persona.script(situation, key)
        action = next_action(script, without_faults(input))
        message = self._message(action or Say(words().closing))
        if fault is not None:
            message = with_fault(fault, message, tools)
        return self._output(message, input)

    def should_retry(self, ex: Exception) -> RetryDecision:
        return retry_decision(ex)

    def retry_wait(self) -> WaitBaseT | None:
        return wait_fixed(RETRY_WAIT_SECONDS)

    def _message(self, action: Action) -> ChatMessageAssistant:
        if isinstance(action, ToolUse):
            call = ToolCall(id=_call_id(), function=action.function, arguments=action.arguments)
            return ChatMessageAssistant(
                content=action.remark, tool_calls=[call], model=self.model_name, source="generate"
            )
        return ChatMessageAssistant(content=action.text, model=self.model_name, source="generate")

    def _output(self, message: ChatMessageAssistant, input: list[ChatMessage]) -> ModelOutput:
        stop_reason: StopReason = "tool_calls" if message.tool_calls else "stop"
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
