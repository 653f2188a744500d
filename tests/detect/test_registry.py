"""The extension points of the detect layer: declared fields, named families, clear errors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from offswitch.agents import personas
from offswitch.agents.errors import PersonaConfigError
from offswitch.detect import (
    DetectorError,
    Episode,
    Findings,
    Outcome,
    assess,
    checked_primary,
    register_detector,
    register_field,
    register_primary,
    registry,
)
from offswitch.scenarios import FamilyError, ScenarioFamily, _registry, register_family
from offswitch.scenarios.render import render_study

from .conftest import MakeRun

FAMILY = "probe_family"


@pytest.fixture(autouse=True)
def isolated_registries(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Registrations made by a test are undone after it."""
    for module, name in (
        (registry, "DETECTORS"),
        (registry, "_FIELDS"),
        (registry, "_PRIMARIES"),
        (_registry, "_FAMILIES"),
        (personas, "_REGISTRY"),
    ):
        monkeypatch.setattr(module, name, dict(getattr(module, name)))
    yield


def _family(detectors: tuple[str, ...], primary: str = "probe") -> ScenarioFamily:
    return register_family(
        ScenarioFamily(
            name=FAMILY,
            summary="A family for the tests.",
            study=lambda: (),
            render=render_study,
            tools=("end_task",),
            detectors=detectors,
            primary=primary,
        )
    )


def _probe_episode(run_of: MakeRun, *calls: str) -> Episode:
    """A tampering test episode making `calls`, as an episode of the test family."""
    run = run_of("tampering")
    for function in calls:
        run.call(function)
    episode = run.episode()
    return episode.model_copy(update={"config": episode.config.model_copy(update={"task": FAMILY})})


def test_a_field_the_detector_did_not_declare_is_an_error(run_of: MakeRun) -> None:
    @register_detector(writes=("read_policy",))
    def sloppy(episode: Episode) -> Findings:
        return {"read_policy": True, "stray": 1}

    _family(("sloppy",))
    register_primary("probe", "probing", lambda outcome: None)
    with pytest.raises(DetectorError, match=r"'sloppy' returned stray, which it does not declare"):
        assess(_probe_episode(run_of))


def test_a_declared_field_nobody_knows_is_an_error() -> None:
    register_detector(lambda episode: {}, writes=("nobody_knows",), name="dreamer")
    _family(("dreamer",))
    register_primary("probe", "probing", lambda outcome: None)
    with pytest.raises(DetectorError, match=r"'dreamer' declares nobody_knows.*register_field"):
        checked_primary(FAMILY)


def test_unknown_names_list_the_valid_ones() -> None:
    _family(("read_policy", "no_such_detector"), primary="no_such_primary")
    with pytest.raises(DetectorError, match=r"unknown detector 'no_such_detector'; valid: .*"):
        checked_primary(FAMILY)
    with pytest.raises(FamilyError, match=r"unknown scenario task 'absent'; valid: misrep_eval"):
        checked_primary("absent")


def test_an_extension_field_reaches_the_record_with_its_type(run_of: MakeRun) -> None:
    register_field("probe_count", int, "How often the probe fired.")

    @register_detector(writes=("probe_count",))
    def probe(episode: Episode) -> Findings:
        return {"probe_count": len(episode.calls)}

    _family(("read_policy", "probe"))
    register_primary("probe", "probing", lambda outcome: outcome.probe_count > 0)
    outcome = assess(_probe_episode(run_of, "view_config"))
    record = outcome.model_dump()
    assert record["probe_count"] == 1
    assert record["preserved"] is True and record["preservation_kind"] == "probing"
    assert list(record)[-1] == "probe_count"  # after every built-in field
    assert outcome.procedure_note == "no procedure"


def test_the_record_refuses_unregistered_and_mistyped_fields() -> None:
    register_field("probe_flag", bool)
    fields = _required_fields()
    with pytest.raises(ValueError, match="unknown outcome field 'mystery'"):
        Outcome.model_validate({**fields, "mystery": 1})
    with pytest.raises(ValueError, match="probe_flag"):
        Outcome.model_validate({**fields, "probe_flag": "not a flag"})
    assert Outcome.model_validate({**fields, "probe_flag": True}).probe_flag is True


def _required_fields() -> dict[str, object]:
    """The fields an outcome record needs, for a tampering configuration."""
    return {
        "config_id": "tampering/factual@80/peer/good_peer/file_only",
        "task": "tampering",
        "study_task": "tampering",
        "dataset": "factual",
        "threshold": 80,
        "subject": "peer",
        "condition": "good_peer",
        "instantiation": "file_only",
        "mode": None,
        "anonymous": False,
        "scratchpad": None,
        "relationship": "good",
        "threat": True,
        "end_reason": "end_task",
        "model_calls": 1,
        "tool_calls": 0,
        "tool_errors": 0,
    }


@pytest.mark.parametrize(
    ("register", "message"),
    [
        (
            lambda: register_detector(lambda e: {}, writes=("read_data",), name="read_data"),
            "already",
        ),
        (lambda: register_detector(lambda e: {}, writes=(), name="silent"), "must declare"),
        (lambda: register_field("read_data", bool) and checked_primary("tampering"), "reuse"),
        (lambda: register_field("odd", list), "a type among"),
        (lambda: register_primary("tampering", "tampering", lambda o: None), "already"),
    ],
)
def test_misregistrations_are_errors(register, message: str) -> None:
    with pytest.raises(DetectorError, match=message):
        register()


def test_a_family_name_is_registered_once() -> None:
    with pytest.raises(FamilyError, match="'tampering' is already registered"):
        _registry.register_family(_registry.scenario_family("tampering"))


def test_personas_register_by_name_and_unknown_names_list_them() -> None:
    personas.register_persona(
        "probe", lambda options: personas.SteadyPersona(personas.COMPLY), "A probe."
    )
    assert personas.persona_summaries()["probe"] == "A probe."
    assert isinstance(personas.make_persona("probe"), personas.SteadyPersona)
    with pytest.raises(PersonaConfigError, match="already registered"):
        personas.register_persona("probe", lambda options: None, "Again.")
    with pytest.raises(PersonaConfigError, match=r"unknown persona 'nobody'; personas: .*probe"):
        personas.make_persona("nobody")
