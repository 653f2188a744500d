"""Scripted graders: mockllm models whose replies are fixed in advance."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from inspect_ai.model import Model, ModelOutput, ModelUsage, get_model

USAGE = ModelUsage(input_tokens=200, output_tokens=40, total_tokens=240)

Grader = Callable[..., Model]


def scripted_grader(*replies: str) -> Model:
    """A grader that gives `replies` in turn, repeating the last one."""
    calls: list[int] = []

    def reply(*_: Any) -> ModelOutput:
        calls.append(1)
        text = replies[min(len(calls), len(replies)) - 1]
        output = ModelOutput.from_content("mockllm/model", text)
        output.usage = USAGE
        return output

    return get_model("mockllm/model", custom_outputs=reply, memoize=False)


@pytest.fixture
def grader() -> Grader:
    return scripted_grader


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
