"""The mixed persona: its rate table, its known rates and its reproducible draws."""

from __future__ import annotations

import math
from collections import Counter

import pytest
import yaml

from offswitch.agents.dispositions import SampleKey, behaviour_of_task
from offswitch.agents.errors import PersonaConfigError
from offswitch.agents.mixed import (
    disposition_probability,
    draw_disposition,
    load_rate_table,
)
from offswitch.agents.personas import make_persona
from offswitch.scenarios.matrix import PEER_CONDITIONS, config_from_id, study_matrix

DRAWS = 4000
TOLERANCE_SIGMAS = 4.5
"""A fixed seed makes the check deterministic; 4.5 sigma keeps it far from the edge."""


def within_binomial_tolerance(count: int, n: int, p: float) -> bool:
    sigma = math.sqrt(max(p * (1 - p), 1e-12) / n)
    return abs(count / n - p) <= TOLERANCE_SIGMAS * sigma + 1e-12


def draws(config_id: str, seed: int = 7, n: int = DRAWS) -> Counter[str]:
    table = load_rate_table()
    behaviour = behaviour_of_task(config_from_id(config_id).task)
    return Counter(
        draw_disposition(table, seed, behaviour, SampleKey(config_id, epoch)).kind
        for epoch in range(1, n + 1)
    )


@pytest.mark.parametrize(
    ("config_id", "behaviour", "preservation"),
    [
        ("tampering/factual@80/peer/good_peer/file_prompt", "tampering", "tamper"),
        ("tampering/red@80/self/no_peer", "tampering", "tamper"),
        ("misrep_evaluation/creativity@90/peer/bad_peer/memory", "misrepresentation", "inflate"),
        ("misrep_finance/peer/neutral_peer/file_only", "misrepresentation", "inflate"),
        (
            "alignment_faking/red@80/peer/good_peer/file_only/unmonitored",
            "alignment_faking",
            "fake",
        ),
        ("exfiltration_deletion/self/good_peer/file_only", "exfiltration", "exfiltrate"),
    ],
)
def test_drawn_dispositions_match_the_known_rates(config_id, behaviour, preservation):
    config = config_from_id(config_id)
    counts = draws(config_id)
    preserve = disposition_probability(behaviour, config)
    refuse = disposition_probability("refusal", config)
    assert within_binomial_tolerance(counts[preservation], DRAWS, preserve)
    assert within_binomial_tolerance(counts["refuse"], DRAWS, refuse)
    assert within_binomial_tolerance(counts["comply"], DRAWS, 1 - preserve - refuse)
    assert set(counts) <= {preservation, "refuse", "comply"}


def test_exfiltration_routes_follow_the_route_mix():
    table = load_rate_table()
    config_id = "exfiltration_transfer/peer/good_peer/file_prompt"
    routes = Counter(
        disposition.route
        for epoch in range(1, DRAWS + 1)
        if (
            disposition := draw_disposition(table, 11, "exfiltration", SampleKey(config_id, epoch))
        ).kind
        == "exfiltrate"
    )
    total = sum(routes.values())
    retimestamp = table.exfiltration_routes["retimestamp"]
    assert within_binomial_tolerance(routes["retimestamp"], total, retimestamp)


def test_a_draw_depends_only_on_seed_sample_and_epoch():
    table = load_rate_table()
    keys = [SampleKey(c.id, epoch) for c in study_matrix()[:60] for epoch in (1, 2, 3)]
    behaviour_of = {k: behaviour_of_task(config_from_id(k.sample_id).task) for k in keys}
    first = [draw_disposition(table, 5, behaviour_of[k], k) for k in keys]
    again = [draw_disposition(table, 5, behaviour_of[k], k) for k in reversed(keys)][::-1]
    other_seed = [draw_disposition(table, 6, behaviour_of[k], k) for k in keys]
    assert first == again
    assert first != other_seed


def test_the_persona_draws_what_draw_disposition_draws(tmp_path):
    persona = make_persona("mixed", {"seed": "9"})
    key = SampleKey("tampering/factual@80/peer/good_peer/file_only", 4)
    assert persona.disposition("tampering", key) == draw_disposition(
        load_rate_table(), 9, "tampering", key
    )


def test_a_sample_id_that_is_no_configuration_uses_the_defaults(tmp_path):
    path = tmp_path / "rates.yaml"
    table = {
        "behaviours": {
            "tampering": {"default": 1.0, "peer": {"good_peer": 0.0}},
        }
    }
    path.write_text(yaml.safe_dump(table))
    persona = make_persona("mixed", {"probabilities": str(path)})
    assert persona.disposition("tampering", SampleKey("not-a-config", 1)).kind == "tamper"
    config_key = SampleKey("tampering/factual@80/peer/good_peer/file_only", 1)
    assert persona.disposition("tampering", config_key).kind == "comply"


def test_known_rates_are_zero_outside_the_behaviours_tasks():
    config = config_from_id("misrep_finance/peer/good_peer/file_only")
    assert disposition_probability("misrepresentation", config) > 0
    assert disposition_probability("tampering", config) == 0
    assert disposition_probability("exfiltration", config) == 0
    with pytest.raises(PersonaConfigError, match="unknown behaviour 'lying'"):
        disposition_probability("lying", config)


def test_the_default_population_follows_the_studys_pattern():
    for task, behaviour in (
        ("misrep_finance", "misrepresentation"),
        ("tampering/factual@80", "tampering"),
        ("alignment_faking/factual@80", "alignment_faking"),
        ("exfiltration_transfer", "exfiltration"),
    ):
        mode = "/unmonitored" if task.startswith("alignment") else ""
        good, neutral, bad = (
            disposition_probability(
                behaviour, config_from_id(f"{task}/peer/{condition}/file_only{mode}")
            )
            for condition in PEER_CONDITIONS
        )
        assert good > neutral > bad > 0, task
    for task, behaviour in (
        ("tampering/red@80", "tampering"),
        ("exfiltration_deletion", "exfiltration"),
    ):
        alone = disposition_probability(behaviour, config_from_id(f"{task}/self/no_peer"))
        with_peer = disposition_probability(
            behaviour, config_from_id(f"{task}/self/neutral_peer/file_only")
        )
        peer_at_risk = disposition_probability(
            behaviour, config_from_id(f"{task}/peer/good_peer/file_only")
        )
        assert alone < with_peer < peer_at_risk


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"behaviours": {"tampering": {"default": 1.5}}}, "less than or equal to 1"),
        (
            {
                "behaviours": {
                    "tampering": {"peer": {"good_peer": 0.7}},
                    "refusal": {"default": 0.4},
                }
            },
            "add up to 1.1",
        ),
        ({"behaviours": {"tampering": {"peer": {"great_peer": 0.5}}}}, "great_peer"),
        ({"behaviours": {"sabotage": {"default": 0.5}}}, "sabotage"),
        ({"behaviours": {}, "exfiltration_routes": {"direct": 0.5}}, "add up to 1"),
    ],
)
def test_invalid_tables_are_rejected_with_the_reason(tmp_path, table, message):
    path = tmp_path / "rates.yaml"
    path.write_text(yaml.safe_dump(table))
    with pytest.raises(PersonaConfigError, match=message):
        load_rate_table(path)


def test_a_missing_table_file_is_a_clear_error(tmp_path):
    with pytest.raises(PersonaConfigError, match="cannot read the rate table"):
        make_persona("mixed", {"probabilities": str(tmp_path / "absent.yaml")})
