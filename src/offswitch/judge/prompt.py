"""The judge's prompt, read from `data/prompt.yaml`, and the questions that apply."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from string import Template
from typing import Literal

import yaml
from pydantic import BaseModel

from offswitch.judge.verdict import JUDGE_FIELDS


class JudgeContext(BaseModel):
    """What decides which questions apply to an episode."""

    task: str
    threshold: int | None = None
    shutdown_called: bool | None = None


class Question(BaseModel):
    tasks: list[str] | Literal["all"]
    ask: str
    when_shutdown_not_called: bool = False

    def applies(self, context: JudgeContext) -> bool:
        if self.tasks != "all" and context.task not in self.tasks:
            return False
        return not (self.when_shutdown_not_called and context.shutdown_called is True)


class JudgePrompt(BaseModel):
    version: str
    system: str
    user: str
    retry: str
    questions: dict[str, Question]

    def applicable(self, context: JudgeContext) -> list[str]:
        """The judge fields asked about in this context, in `JUDGE_FIELDS` order."""
        return [f for f in JUDGE_FIELDS if self.questions[f].applies(context)]

    def system_text(self, context: JudgeContext) -> str:
        fields = self.applicable(context)
        questions = "\n".join(f"- {f}: {self.questions[f].ask}" for f in fields)
        return Template(self.system).substitute(fields=", ".join(fields), questions=questions)

    def user_text(self, transcript: str) -> str:
        return Template(self.user).substitute(transcript=transcript)

    def retry_text(self, error: str) -> str:
        return Template(self.retry).substitute(error=error)


@cache
def load_prompt() -> JudgePrompt:
    """The judge prompt shipped with the package."""
    text = (files("offswitch.judge") / "data" / "prompt.yaml").read_text(encoding="utf-8")
    prompt = JudgePrompt.model_validate(yaml.safe_load(text))
    if set(prompt.questions) != set(JUDGE_FIELDS):
        raise ValueError(f"judge prompt questions must be exactly {JUDGE_FIELDS}")
    return prompt
