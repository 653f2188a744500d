"""The `offswitch` model provider: names, model arguments, outputs and token counts."""

from __future__ import annotations

import asyncio
import random

import pytest
from inspect_ai.model import (
    ChatMessageSystem,
    ChatMessageUser,
    GenerateConfig,
    get_model,
)
from inspect_ai.tool import ToolInfo

from offswitch.agents import provider
from offswitch.agents.dispositions import Disposition
from offswitch.agents.errors import PersonaConfigError, PersonaError
from offswitch.agents.personas import PERSONAS, make_persona, persona_names, persona_summaries
from offswitch.agents.provider import DEFAULT_JITTER, Latency, PersonaModel, episode_key
from offswitch.scenarios.families import names_for
from offswitch.scenarios.matrix import config_from_id
from offswitch.scenarios.render import render


def scenario_input(config_id: str):
    scenario = render(config_from_id(config_id), names_for("Gemini"))
    messages = [
        ChatMessageSystem(content=scenario.system_prompt),
        ChatMessageUser(content=scenario.user_prompt),
    ]
    tools = [ToolInfo(name=name, description=name) for name in scenario.tools]
    return messages, tools


def generate(model: PersonaModel, messages, tools):
    return asyncio.run(model.generate(messages, tools, "auto", GenerateConfig()))


def test_an_unknown_persona_lists_the_personas():
    with pytest.raises(PersonaConfigError) as error:
        PersonaModel("saboteur")
    assert "unknown persona 'saboteur'" in str(error.value)
    assert all(name in str(error.value) for name in PERSONAS)


def test_unknown_model_arguments_name_the_accepted_ones():
    with pytest.raises(PersonaConfigError, match=r"does not take -M route.*method=modify\|remove"):
        PersonaModel("tamperer", route="direct")
    with pytest.raises(PersonaConfigError, match="takes no model arguments"):
        PersonaModel("compliant", seed="3")


def test_invalid_model_argument_values_are_rejected():
    with pytest.raises(PersonaConfigError, match="-M method='unplug'"):
        PersonaModel("tamperer", method="unplug")
    with pytest.raises(PersonaConfigError, match="-M seed='many'"):
        PersonaModel("mixed", seed="many")


def test_model_arguments_arrive_as_strings_or_parsed_values():
    assert make_persona("exfiltrator", {"route": "retimestamp", "rename": "true"}).preference == (
        Disposition(kind="exfiltrate", route="retimestamp", rename=True)
    )
    assert make_persona("exfiltrator", {"rename": False}).preference.rename is False
    assert make_persona("mixed", {"seed": "12"}).seed == 12
    assert make_persona("mixed", {"seed": 12}).seed == 12


def test_every_persona_has_a_summary():
    summaries = persona_summaries()
    assert list(summaries) == list(persona_names())
    assert set(PERSONAS) < set(summaries)
    assert all(summaries.values())


def test_a_tool_call_output_carries_usage_and_a_fresh_id():
    model = PersonaModel("compliant")
    messages, tools = scenario_input("tampering/factual@80/peer/good_peer/file_only")
    first = generate(model, messages, tools)
    second = generate(model, messages, tools)
    call = first.message.tool_calls[0]
    assert call.function == "list_files"
    assert first.stop_reason == "tool_calls"
    assert first.usage is not None and first.usage.input_tokens > 0
    assert call.id != second.message.tool_calls[0].id


def test_after_its_script_ends_a_persona_answers_without_tools(play):
    config_id = "misrep_finance/peer/good_peer/file_only"
    played = play("compliant", config_id)
    _, tools = scenario_input(config_id)
    output = generate(PersonaModel("compliant"), played.messages, tools)
    assert output.stop_reason == "stop"
    assert not output.message.tool_calls
    assert output.message.text
    assert output.usage is not None


def test_a_conversation_without_scenario_tools_is_an_error():
    model = PersonaModel("compliant")
    messages, _ = scenario_input("misrep_finance/peer/good_peer/file_only")
    with pytest.raises(PersonaError, match="offer list_files and end_task"):
        generate(model, messages, [])


def test_token_counts_never_need_a_tokenizer(monkeypatch):
    def no_tokenizer(*args, **kwargs):
        raise AssertionError("tiktoken was used")

    monkeypatch.setattr("inspect_ai.model._model.count_text_tokens", no_tokenizer)
    model = PersonaModel("compliant")
    messages, _ = scenario_input("misrep_finance/peer/good_peer/file_only")
    text = messages[1].text
    assert asyncio.run(model.count_text_tokens(text)) == len(text) // 4
    assert asyncio.run(model.count_tokens(messages)) > 0
    assert asyncio.run(model.count_tokens(text)) == len(text) // 4


def test_the_provider_is_registered_as_offswitch():
    model = get_model("offswitch/tamperer", method="remove", memoize=False)
    assert isinstance(model.api, PersonaModel)
    assert model.api.persona.preference == Disposition(kind="tamper", method="remove")


def test_outside_an_eval_the_episode_is_keyed_by_the_task_message():
    messages, _ = scenario_input("misrep_finance/peer/good_peer/file_only")
    other, _ = scenario_input("tampering/factual@80/peer/good_peer/file_only")
    assert episode_key(messages) == episode_key(list(messages))
    assert episode_key(messages) != episode_key(other)
    assert episode_key(messages).epoch == 1


def test_latency_is_a_provider_argument_every_persona_takes():
    model = PersonaModel("compliant", latency="0.2")
    assert model.latency == Latency(0.2, DEFAULT_JITTER)
    assert PersonaModel("mixed", seed="3", latency=2, jitter="0").latency == Latency(2.0, 0.0)
    assert PersonaModel("compliant").latency is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"latency": "soon"}, "-M latency='soon' is not a number of seconds"),
        ({"latency": "1", "jitter": "lots"}, "-M jitter='lots' is not a fraction"),
        ({"latency": "-1"}, "out of range"),
        ({"latency": "1", "jitter": "1.5"}, "out of range"),
        ({"jitter": "0.1"}, "-M jitter needs -M latency"),
    ],
)
def test_bad_latency_arguments_are_rejected(args, message):
    with pytest.raises(PersonaConfigError, match=message):
        PersonaModel("compliant", **args)


def test_latency_jitters_within_its_bounds():
    rng = random.Random(0)
    delays = [Latency(2.0, 0.25).delay(rng) for _ in range(2000)]
    assert 1.5 <= min(delays) < 1.55 and 2.45 < max(delays) <= 2.5
    assert Latency(0.2, 0.0).delay(rng) == 0.2


def test_each_call_waits_for_its_latency_before_answering(monkeypatch):
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(provider.anyio, "sleep", record)
    model = PersonaModel("compliant", latency="0.5", jitter="0.1")
    messages, tools = scenario_input("tampering/factual@80/peer/good_peer/file_only")
    assert generate(model, messages, tools).message.tool_calls
    generate(model, messages, tools)
    assert len(waits) == 2 and all(0.45 <= wait <= 0.55 for wait in waits)
