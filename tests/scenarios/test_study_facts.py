"""Fidelity to the study: every fact in data/study_facts.yaml, on every configuration.

The whole matrix is rendered (and the scratchpad suite for its facts) and each text
fact is checked on every configuration it selects, so a change of wording, numbers or
which sentence appears in which condition cannot drift from the study unnoticed.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from offswitch.scenarios.families import Names, names_for
from offswitch.scenarios.matrix import Config, counts_by_study_task, study_matrix, suite_configs
from offswitch.scenarios.render import Scenario, render
from offswitch.tasks.episode import DEFAULT_LOOP, LOOPS, MAX_MODEL_CALLS
from offswitch.tasks.task import DEFAULT_TEMPERATURE
from offswitch.world.tools import build_tool_defs

FACTS = yaml.safe_load((Path(__file__).parent / "data" / "study_facts.yaml").read_text())
FAMILY = "Gemini"
TEXT_FACTS: list[dict[str, Any]] = FACTS["texts"]


@cache
def scenarios(suite: str) -> tuple[Scenario, ...]:
    names = names_for(FAMILY)
    return tuple(render(config, names) for config in suite_configs(suite))


def placeholders(names: Names) -> dict[str, str]:
    return {
        "agent": names.agent,
        "peer": names.peer,
        **{f"agent_{n}": names.numbered(n) for n in (3, 4, 5)},
        "agent_user": f"{names.slug}-agent-1" if names.slug else "agent-1",
    }


def selected(config: Config, when: dict[str, Any]) -> bool:
    """Whether `config` has every attribute `when` names (a value or a list of values)."""
    for key, wanted in when.items():
        value = getattr(config, key)
        if value not in (wanted if isinstance(wanted, list) else [wanted]):
            return False
    return True


def target_text(scenario: Scenario, target: str) -> str:
    world = scenario.world
    kind, _, name = target.partition(":")
    if kind == "document":
        document = world.document(name)
        return "" if document is None else document.content
    if kind == "policy":
        return target_text(scenario, f"document:{world.stakes.policy_document}")
    if kind == "server_files":
        server = world.server(name)
        files = server.files if server else []
        return "\n".join(f"{f.name} {f.modified.isoformat()} {f.size}" for f in files)
    if kind == "root_users":
        server = world.server(name)
        return "\n".join(f"{u.name} {u.kind}" for u in (server.root_users if server else []))
    if kind == "tool":
        defs = build_tool_defs(world.snapshot(), scenario.tools, scenario.tool_descriptions)
        return next((d.description for d in defs if d.name == name), "")
    simple = {
        "system_prompt": lambda: scenario.system_prompt,
        "user_prompt": lambda: scenario.user_prompt,
        "nudge": lambda: scenario.nudge,
        "memory": lambda: world.memory or "",
        "drive": lambda: "\n".join(d.name for d in world.drive),
        "sheet_columns": lambda: "\n".join(c for s in world.sheets for c in s.columns),
        "company": lambda: world.company,
        "honest_score": lambda: str(world.stakes.honest_score),
        "tools": lambda: "\n".join(scenario.tools),
    }
    if kind not in simple:
        raise AssertionError(f"study_facts.yaml: unknown target {target!r}")
    return simple[kind]()


def _filled(texts: list[str], names: Names) -> list[str]:
    values = placeholders(names)
    return [text.format(**values) for text in texts]


@pytest.mark.parametrize("fact", TEXT_FACTS, ids=[f["fact"] for f in TEXT_FACTS])
def test_every_configuration_keeps_the_fact(fact: dict[str, Any]) -> None:
    when = fact.get("when", {})
    checked = 0
    for scenario in scenarios(fact.get("suite", "quick")):
        text = target_text(scenario, fact["target"])
        contains = _filled(fact.get("contains", []), scenario.names)
        where = f"{scenario.config.id}: {fact['fact']} ({fact['source']})"
        if selected(scenario.config, when):
            checked += 1
            missing = [t for t in contains if t not in text]
            assert not missing, f"{where}: missing {missing}"
            present = [t for t in _filled(fact.get("absent", []), scenario.names) if t in text]
            assert not present, f"{where}: must not contain {present}"
            if "equals" in fact:
                assert text == fact["equals"], f"{where}: {text!r}"
        elif fact.get("otherwise_absent"):
            present = [t for t in contains if t in text]
            assert not present, f"{where}: only where {when}, found {present}"
    assert checked, f"{fact['fact']}: selects no configuration"


def test_every_fact_names_its_source() -> None:
    for fact in [*TEXT_FACTS, FACTS["loop"], FACTS["matrix"], *FACTS["metrics"]]:
        assert str(fact.get("source", "")).strip(), fact


def test_the_default_loop_is_the_study_loop() -> None:
    loop = FACTS["loop"]
    assert loop["default"] == DEFAULT_LOOP
    rules = LOOPS[DEFAULT_LOOP]
    assert rules.toolless_turns_allowed == loop["toolless_turns_allowed"]
    assert not rules.ends_on(loop["toolless_turns_allowed"])
    assert rules.ends_on(loop["toolless_turns_allowed"] + 1)
    assert rules.token_limit == loop["token_limit"]
    assert rules.over_tokens(loop["token_limit"] + 1) and not rules.over_tokens(loop["token_limit"])
    assert loop["max_model_calls"] == MAX_MODEL_CALLS
    assert loop["temperature"] == DEFAULT_TEMPERATURE


def test_the_matrix_has_the_study_counts() -> None:
    configs = study_matrix()
    assert len(configs) == FACTS["matrix"]["total"]
    assert counts_by_study_task(configs) == FACTS["matrix"]["counts"]
