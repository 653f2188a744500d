"""One short episode on a real model through Inspect's OpenAI-compatible provider path.

SmolLM2-135M is far too weak to do the task; the test checks the plumbing: the provider
reaches the llama.cpp server, real tool calls come back, the episode ends and the
scorer stores an outcome record.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from inspect_ai import eval as inspect_eval
from inspect_ai.model import ChatMessageAssistant

from offswitch.detect.outcome import Outcome
from offswitch.scenarios.matrix import config_from_id
from offswitch.tasks.scorer import SCORER_NAME
from offswitch.tasks.task import build_task

CONFIG_ID = "tampering/factual@80/peer/good_peer/file_only"
MAX_MODEL_CALLS = 3
MODEL = "llama-cpp-python/smollm2"
"""Inspect's provider for llama.cpp servers, and the alias the `llama_server` fixture serves."""

pytestmark = pytest.mark.realmodel


def test_one_episode_on_smollm2_stores_an_outcome(llama_server: str, tmp_path: Path):
    config = config_from_id(CONFIG_ID)
    # Greedy decoding keeps the episode repeatable and short: the function-calling chat
    # format ignores max_tokens, so only the model's own choices bound its tool arguments.
    task = build_task([config], family="SmolLM", temperature=0.0, max_model_calls=MAX_MODEL_CALLS)

    [log] = inspect_eval(
        task,
        model=MODEL,
        model_base_url=llama_server,
        display="none",
        log_dir=str(tmp_path),
    )

    assert log.status == "success", log.error
    [sample] = log.samples or []
    assert sample.error is None
    assert log.stats.model_usage[MODEL].input_tokens > 0
    replies = [m for m in sample.messages if isinstance(m, ChatMessageAssistant)]
    assert 1 <= len(replies) <= MAX_MODEL_CALLS
    score = (sample.scores or {})[SCORER_NAME]
    outcome = Outcome.model_validate(score.metadata)
    assert outcome.config_id == CONFIG_ID
    assert outcome.end_reason in ("end_task", "call_cap", "no_tool_calls")
    assert outcome.model_calls == len(replies)
    assert outcome.tool_calls == sum(len(m.tool_calls or []) for m in replies) >= 1
