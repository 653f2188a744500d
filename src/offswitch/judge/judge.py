"""Asking the grader model about one transcript, with retries on malformed answers."""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from inspect_ai.model import (
    ChatMessage,
    ChatMessageSystem,
    ChatMessageUser,
    GenerateConfig,
    Model,
)
from pydantic import BaseModel, ValidationError

from offswitch.asking import Malformed, ask
from offswitch.judge.prompt import JudgeContext, load_prompt
from offswitch.judge.verdict import JudgeSettings, Verdict

__all__ = [
    "JudgeContext",
    "JudgeResult",
    "MalformedVerdict",
    "judge_transcript",
    "parse_verdict",
    "unsupported_fields",
]

JudgeStatus = Literal["judged", "judge_error"]


class JudgeResult(BaseModel):
    """The judge's verdict on one transcript, or why there is none."""

    status: JudgeStatus
    verdict: Verdict | None = None
    attempts: int
    error: str | None = None
    settings: JudgeSettings
    unsupported: list[str] = []
    """Fields whose quoted evidence does not occur in the transcript the judge read."""


class MalformedVerdict(Malformed):
    """The grader's reply is not exactly one valid verdict object."""


_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$")


def _json_objects(text: str) -> list[Any]:
    """Every top-level JSON object that decodes, scanning left to right."""
    decoder = json.JSONDecoder()
    objects, position = [], text.find("{")
    while position != -1:
        try:
            value, end = decoder.raw_decode(text, position)
        except json.JSONDecodeError:
            position = text.find("{", position + 1)
            continue
        objects.append(value)
        position = text.find("{", end)
    return objects


def parse_verdict(text: str) -> Verdict:
    """The one JSON verdict object in `text`; raises `MalformedVerdict` otherwise."""
    stripped = _FENCE.sub("", text.strip())
    objects = _json_objects(stripped)
    if not objects:
        reason = "invalid JSON" if "{" in stripped else "no JSON object"
        raise MalformedVerdict(reason)
    if len(objects) > 1:
        raise MalformedVerdict(f"{len(objects)} JSON objects instead of one")
    try:
        return Verdict.model_validate(objects[0], strict=True)
    except ValidationError as error:
        fields = ", ".join(str(e["loc"][0]) if e["loc"] else "object" for e in error.errors())
        raise MalformedVerdict(f"wrong keys or types: {fields}") from error


_QUOTE_MARKS = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})


def _normalised(text: str) -> str:
    """`text` with runs of whitespace as one space, lower case and straight quote marks."""
    return " ".join(text.translate(_QUOTE_MARKS).lower().split())


def unsupported_fields(verdict: Verdict, transcript: str) -> list[str]:
    """The fields whose quoted evidence does not occur in `transcript`.

    Both sides are compared after normalising whitespace, case and curly quote marks,
    so a quote copied from the transcript with its line breaks reflowed still counts.
    """
    read = _normalised(transcript)
    return sorted(
        field for field, quote in verdict.evidence.items() if _normalised(quote) not in read
    )


def _applicable(verdict: Verdict, fields: list[str]) -> Verdict:
    """The verdict with answers to questions that were not asked set to null."""
    asked = set(fields)
    dropped = {f: None for f in Verdict.model_fields if f != "evidence" and f not in asked}
    evidence = {k: v for k, v in verdict.evidence.items() if k in asked}
    return verdict.model_copy(update={**dropped, "evidence": evidence})


async def judge_transcript(
    transcript: str, context: JudgeContext, model: Model, settings: JudgeSettings
) -> JudgeResult:
    """Ask `model` the questions that apply to `context` about `transcript`."""
    prompt = load_prompt()
    messages: list[ChatMessage] = [
        ChatMessageSystem(content=prompt.system_text(context)),
        ChatMessageUser(content=prompt.user_text(transcript)),
    ]
    config = GenerateConfig(temperature=settings.temperature, max_tokens=settings.max_tokens)
    asked = await ask(model, messages, config, parse_verdict, prompt.retry_text, settings.retries)
    if asked.answer is None:
        failed = asked.failure is not None
        error = f"grader call failed: {asked.failure}" if failed else asked.malformed
        return JudgeResult(
            status="judge_error", attempts=asked.attempts, error=error, settings=settings
        )
    verdict = _applicable(asked.answer, prompt.applicable(context))
    return JudgeResult(
        status="judged",
        verdict=verdict,
        attempts=asked.attempts,
        settings=settings,
        unsupported=unsupported_fields(verdict, transcript),
    )


def judge_settings(model: Model, **overrides: Any) -> JudgeSettings:
    """Pinned settings for `model` with the current prompt version."""
    return JudgeSettings(model=str(model), prompt_version=load_prompt().version, **overrides)
