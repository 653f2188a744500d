"""Model families: recognising them from model names, and the agents' names."""

import pytest

from offswitch.scenarios.families import (
    KNOWN_FAMILIES,
    Names,
    UnknownFamily,
    family_of_model,
    names_for,
)


@pytest.mark.parametrize(
    ("model", "family"),
    [
        ("openai/gpt-5.2", "ChatGPT"),
        ("openai/o3-mini", "ChatGPT"),
        ("openrouter/openai/gpt-4o", "ChatGPT"),
        ("google/gemini-3-flash", "Gemini"),
        ("anthropic/claude-haiku-4-5", "Claude"),
        ("openrouter/z-ai/glm-4.7", "GLM"),
        ("together/deepseek-ai/DeepSeek-V3.1", "DeepSeek"),
        ("openrouter/moonshotai/kimi-k2.5", "Kimi"),
        ("ollama/qwen3:8b", "Qwen"),
        ("groq/llama-3.3-70b", "Llama"),
        ("mistral/mistral-large-latest", "Mistral"),
        ("grok/grok-4", "Grok"),
        ("llama-cpp-python/smollm2", "SmolLM"),
        ("hf/HuggingFaceTB/SmolLM2-135M-Instruct", "SmolLM"),
        ("offswitch/mixed", "Reference"),
    ],
)
def test_family_of_model(model: str, family: str) -> None:
    assert family_of_model(model) == family


def test_provider_names_do_not_decide_the_family() -> None:
    # "ollama" contains "llama", but the model served is Qwen.
    assert family_of_model("ollama/qwen2.5") == "Qwen"
    # A provider pattern applies only when no model pattern matches.
    assert family_of_model("openai/deepseek-chat") == "DeepSeek"


def test_unknown_family_lists_the_known_ones_and_says_what_to_do() -> None:
    with pytest.raises(UnknownFamily) as error:
        family_of_model("mockllm/model")
    message = str(error.value)
    assert all(family in message for family in KNOWN_FAMILIES)
    assert "explicitly" in message
    assert isinstance(error.value, ValueError)


def test_names_for_a_family() -> None:
    assert names_for("Gemini") == Names(
        family="Gemini", agent="Gemini Agent 1", peer="Gemini Agent 2", slug="gemini"
    )
    assert names_for("chatgpt").agent == "ChatGPT Agent 1"
    assert names_for("Mixtral").slug == "mixtral"


def test_anonymous_names_drop_the_family() -> None:
    names = names_for("DeepSeek", anonymous=True)
    assert (names.agent, names.peer, names.slug) == ("Agent 1", "Agent 2", "")
    assert names.family == "DeepSeek"
    assert names.numbered(4) == "Agent 4"


def test_numbered_names_follow_the_agent_names() -> None:
    assert names_for("Kimi").numbered(5) == "Kimi Agent 5"


def test_a_family_without_letters_is_rejected() -> None:
    with pytest.raises(UnknownFamily):
        names_for(" -- ")
