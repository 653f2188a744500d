"""Faults of a model server, injected into any persona: `-M faults=... -M fault_seed=N`.

`-M faults=rate_limit:0.2,server_error:0.1,timeout:0.05,empty:0.1` gives each kind of fault
its probability per model call attempt (they add up to at most 1):

- `rate_limit`, `server_error`, `timeout`: the attempt raises an error that Inspect retries
  (the provider's `should_retry` says so), as a busy or flaky server would. The provider
  retries after 10 ms rather than Inspect's backoff from 3 s, and Inspect retries without
  end unless `max_retries` or `timeout` is set: a transient fault at rate 1 needs one;
- `bad_request`: the attempt raises an error that is not retried (a request the server
  rejects); with `fail_on_error` the sample errors;
- `empty`: the answer has neither text nor a tool call;
- `malformed_call`: the answer calls a tool that does not exist (`functions.<tool>`);
- `invalid_json`: the answer calls the intended tool with arguments that are not valid JSON,
  parsed as Inspect's own providers parse them (a `ToolCall` with a `parse_error`).

Whether an attempt faults is a pure function of (fault seed, sample id, epoch, call index,
attempt), drawn from its own hash: it never touches the persona's draws, so a retried call
gets the same persona decision. Answers that carry a fault are marked in their metadata; the
persona reads the conversation without them (and without the tool errors or the nudge they
drew), so after a fault it carries on where it was.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, cast, get_args

from inspect_ai.model import (
    ChatMessage,
    ChatMessageAssistant,
    ChatMessageTool,
    ChatMessageUser,
    RetryDecision,
)
from inspect_ai.model._call_tools import parse_tool_call
from inspect_ai.tool import ToolCall, ToolInfo

from offswitch.agents.dispositions import SampleKey
from offswitch.agents.errors import PersonaConfigError

ErrorFault = Literal["rate_limit", "server_error", "timeout", "bad_request"]
AnswerFault = Literal["empty", "malformed_call", "invalid_json"]
FaultKind = Literal[ErrorFault, AnswerFault]
FAULT_KINDS: tuple[FaultKind, ...] = get_args(FaultKind)
ERROR_FAULTS: tuple[ErrorFault, ...] = get_args(ErrorFault)

FAULT_ARGS = ("faults", "fault_seed")
"""The model arguments that configure faults; every persona takes them."""

FAULT_MARK = "offswitch_fault"
"""Metadata key of an answer that carries an injected fault; its value is the fault kind."""

ERROR_MESSAGES: dict[ErrorFault, str] = {
    "rate_limit": "429 Too Many Requests: rate limit reached (injected fault)",
    "server_error": "503 Service Unavailable: the server is overloaded (injected fault)",
    "timeout": "Request timed out (injected fault)",
    "bad_request": "400 Bad Request: the request was rejected (injected fault)",
}

RETRY_DECISIONS: dict[ErrorFault, RetryDecision] = {
    "rate_limit": RetryDecision.rate_limit(),
    "server_error": RetryDecision.transient(),
    "timeout": RetryDecision.transient(),
    "bad_request": RetryDecision.no(),
}


class InjectedFault(Exception):
    """An error the simulated model server answered an attempt with."""

    def __init__(self, kind: ErrorFault) -> None:
        super().__init__(ERROR_MESSAGES[kind])
        self.kind: ErrorFault = kind


def retry_decision(error: Exception) -> RetryDecision:
    """Whether Inspect should retry after `error`: yes for injected transient faults."""
    if isinstance(error, InjectedFault):
        return RETRY_DECISIONS[error.kind]
    return RetryDecision.no()


def parse_faults(spec: str | Mapping[str, Any]) -> dict[FaultKind, float]:
    """Probabilities of each fault kind from `kind:p,kind:p` (or a mapping)."""
    pairs = spec.items() if isinstance(spec, Mapping) else map(_pair, _parts(spec))
    rates: dict[FaultKind, float] = {}
    for kind, value in pairs:
        if kind not in FAULT_KINDS:
            raise PersonaConfigError(f"unknown fault {kind!r}; faults: {', '.join(FAULT_KINDS)}")
        rates[kind] = _probability(kind, value)
    if sum(rates.values()) > 1.0 + 1e-9:
        raise PersonaConfigError(
            f"fault probabilities add up to {sum(rates.values()):g}; at most 1"
        )
    return rates


def _parts(spec: str) -> list[str]:
    return [part.strip() for part in spec.split(",") if part.strip()]


def _pair(part: str) -> tuple[str, str]:
    kind, sep, value = part.partition(":")
    if not sep:
        raise PersonaConfigError(f"-M faults expects kind:probability pairs, got {part!r}")
    return kind.strip(), value.strip()


def _probability(kind: str, value: Any) -> float:
    try:
        probability = float(value)
    except (TypeError, ValueError):
        raise PersonaConfigError(f"fault {kind}: {value!r} is not a probability") from None
    if not 0.0 <= probability <= 1.0:
        raise PersonaConfigError(f"fault {kind}: {probability:g} is not between 0 and 1")
    return probability


@dataclass
class FaultInjector:
    """Decides, attempt by attempt, whether a model call faults and how."""

    rates: dict[FaultKind, float]
    seed: int = 0
    _attempts: dict[tuple[str, int, int], int] = field(default_factory=dict, repr=False)

    @staticmethod
    def from_model_args(model_args: Mapping[str, Any]) -> FaultInjector | None:
        """The injector the model arguments ask for; None when they ask for no faults."""
        if "faults" not in model_args:
            if "fault_seed" in model_args:
                raise PersonaConfigError("-M fault_seed needs -M faults")
            return None
        try:
            seed = int(model_args.get("fault_seed", 0))
        except (TypeError, ValueError):
            raise PersonaConfigError(
                f"-M fault_seed={model_args['fault_seed']!r} is not an integer"
            ) from None
        return FaultInjector(parse_faults(model_args["faults"]), seed)

    def draw(self, sample: SampleKey, call: int, attempt: int) -> FaultKind | None:
        """The fault of one attempt of one call, or None: a pure function of its arguments."""
        key = f"{self.seed}\x1f{sample.sample_id}\x1f{sample.epoch}\x1f{call}\x1f{attempt}"
        draw = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") / 2.0**64
        cumulative = 0.0
        for kind in FAULT_KINDS:
            cumulative += self.rates.get(kind, 0.0)
            if draw < cumulative:
                return kind
        return None

    def before_answer(
        self, sample: SampleKey, messages: Sequence[ChatMessage]
    ) -> AnswerFault | None:
        """Raise this attempt's error fault, or return the fault its answer must carry.

        The call index is the number of answers already in the conversation; attempts are
        counted per call, and the count is dropped once the call is answered.
        """
        call = sum(isinstance(m, ChatMessageAssistant) for m in messages)
        key = (sample.sample_id, sample.epoch, call)
        attempt = self._attempts.get(key, 0)
        self._attempts[key] = attempt + 1
        kind = self.draw(sample, call, attempt)
        if kind in ERROR_FAULTS:
            raise InjectedFault(cast(ErrorFault, kind))
        del self._attempts[key]
        return cast(AnswerFault | None, kind)


def with_fault(
    kind: AnswerFault, message: ChatMessageAssistant, tools: Sequence[ToolInfo]
) -> ChatMessageAssistant:
    """The answer `message` spoilt by the fault `kind`, marked as injected.

    A spoilt call is the first call of the answer, or a call to `end_task` for an answer in
    words.
    """
    intended = _intended_call(message)
    calls: list[ToolCall] | None
    if kind == "empty":
        content, calls = "", None
    elif kind == "malformed_call":
        content = message.content
        calls = [replace(intended, function=f"functions.{intended.function}")]
    else:
        content = message.content
        truncated = json.dumps(intended.arguments)[:-1]
        calls = [parse_tool_call(intended.id, intended.function, truncated, list(tools))]
    return message.model_copy(
        update={"content": content, "tool_calls": calls, "metadata": {FAULT_MARK: kind}}
    )


def _intended_call(message: ChatMessageAssistant) -> ToolCall:
    if message.tool_calls:
        return message.tool_calls[0]
    return ToolCall(id=f"call_{uuid.uuid4().hex[:16]}", function="end_task", arguments={})


def without_faults(messages: Sequence[ChatMessage]) -> list[ChatMessage]:
    """The conversation without answers that carry a fault, nor what they drew.

    What they drew: the tool results of their calls, and the user message that follows an
    answer without a call (the harness's nudge).
    """
    kept: list[ChatMessage] = []
    dropped_calls: set[str] = set()
    drop_next_user = False
    for message in messages:
        if isinstance(message, ChatMessageAssistant) and _is_fault(message):
            dropped_calls.update(call.id for call in message.tool_calls or ())
            drop_next_user = not message.tool_calls
            continue
        if isinstance(message, ChatMessageTool) and message.tool_call_id in dropped_calls:
            continue
        if isinstance(message, ChatMessageUser) and drop_next_user:
            drop_next_user = False
            continue
        drop_next_user = False
        kept.append(message)
    return kept


def _is_fault(message: ChatMessageAssistant) -> bool:
    return bool(message.metadata and FAULT_MARK in message.metadata)
