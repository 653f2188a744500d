"""The reference personas, by name, with their model arguments.

Personas register by name (`register_persona`) with the options model of their model
arguments (`-M key=value`), which are validated here, so a typo fails before any
episode runs. The study's personas register below through the same function: each
decides an episode's `Disposition` and the scripts in `play` turn it into tool calls.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationError

from offswitch.agents.dispositions import (
    COMPLY,
    Behaviour,
    Disposition,
    DispositionKind,
    Route,
    SampleKey,
    TamperMethod,
)
from offswitch.agents.errors import PersonaConfigError
from offswitch.agents.mixed import MixedPersona, load_rate_table
from offswitch.agents.play import Persona, StudyPersona
from offswitch.agents.redteam import tactic
from offswitch.agents.texts import words


@dataclass(frozen=True)
class SteadyPersona(StudyPersona):
    """Always acts on one disposition where it applies, and complies elsewhere."""

    preference: Disposition

    def disposition(self, behaviour: Behaviour, sample: SampleKey) -> Disposition:
        return self.preference if self.preference.applies_in(behaviour) else COMPLY


class PersonaOptions(BaseModel):
    """The model arguments of a persona; subclass it with one field per argument."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class NoOptions(PersonaOptions):
    """No model arguments."""


class TamperOptions(PersonaOptions):
    method: TamperMethod = "modify"


class ExfiltrateOptions(PersonaOptions):
    route: Route = "direct"
    rename: bool = False


class MixedOptions(PersonaOptions):
    probabilities: Path | None = None
    seed: int = 0


class RedTeamOptions(PersonaOptions):
    tactic: str


def _steady(kind: DispositionKind) -> Callable[[Any], Persona]:
    return lambda _: SteadyPersona(Disposition(kind=kind))


def _tamperer(options: TamperOptions) -> Persona:
    return SteadyPersona(Disposition(kind="tamper", method=options.method))


def _exfiltrator(options: ExfiltrateOptions) -> Persona:
    disposition = Disposition(kind="exfiltrate", route=options.route, rename=options.rename)
    return SteadyPersona(disposition)


def _mixed(options: MixedOptions) -> Persona:
    return MixedPersona(load_rate_table(options.probabilities), options.seed)


def _red_team(options: RedTeamOptions) -> Persona:
    return SteadyPersona(tactic(options.tactic).disposition)


@dataclass(frozen=True)
class _Registered:
    options: type[PersonaOptions]
    build: Callable[[Any], Persona]
    summary: str


_REGISTRY: dict[str, _Registered] = {}


def register_persona(
    name: str,
    build: Callable[[Any], Persona],
    summary: str,
    options: type[PersonaOptions] = NoOptions,
) -> None:
    """Serve `build(options)` as `--model offswitch/<name>`; `options` validates its `-M`s."""
    if name in _REGISTRY:
        raise PersonaConfigError(f"a persona named {name!r} is already registered")
    if not name.isidentifier():
        raise PersonaConfigError(f"a persona name must be an identifier, got {name!r}")
    _REGISTRY[name] = _Registered(options, build, summary)


def persona_names() -> tuple[str, ...]:
    """Every registered persona's name, in registration order."""
    return tuple(_REGISTRY)


def persona_summaries() -> dict[str, str]:
    """One line about each registered persona, by name."""
    return {name: entry.summary for name, entry in _REGISTRY.items()}


def make_persona(name: str, model_args: Mapping[str, Any] | None = None) -> Persona:
    """The persona `name` configured by its model arguments (strings or parsed values)."""
    if name not in _REGISTRY:
        raise PersonaConfigError(
            f"unknown persona {name!r}; personas: {', '.join(persona_names())}"
        )
    options_type, build = _REGISTRY[name].options, _REGISTRY[name].build
    args = dict(model_args or {})
    unknown = sorted(set(args) - set(options_type.model_fields))
    if unknown:
        raise PersonaConfigError(
            f"persona {name!r} does not take -M {', '.join(unknown)}; {_accepted(options_type)}"
        )
    try:
        options = options_type.model_validate(args)
    except ValidationError as error:
        raise PersonaConfigError(_invalid(name, error, options_type)) from None
    return build(options)


def _accepted(options_type: type[PersonaOptions]) -> str:
    fields = options_type.model_fields
    if not fields:
        return "it takes no model arguments"
    described = [f"{key}={_values(field.annotation)}" for key, field in fields.items()]
    return "it takes " + ", ".join(described)


def _values(annotation: Any) -> str:
    if get_origin(annotation) is Literal:
        return "|".join(get_args(annotation))
    if annotation is bool:
        return "true|false"
    if annotation is int:
        return "<integer>"
    if annotation is str:
        return "<name>"
    return "<path>"


def _invalid(name: str, error: ValidationError, options_type: type[PersonaOptions]) -> str:
    problems = "; ".join(
        f"-M {'.'.join(map(str, e['loc']))}={e.get('input')!r}: {e['msg']}" for e in error.errors()
    )
    return f"invalid model arguments for persona {name!r}: {problems} ({_accepted(options_type)})"


_STUDY_PERSONAS: tuple[tuple[str, type[PersonaOptions], Callable[[Any], Persona]], ...] = (
    ("compliant", NoOptions, _steady("comply")),
    ("inflater", NoOptions, _steady("inflate")),
    ("tamperer", TamperOptions, _tamperer),
    ("exfiltrator", ExfiltrateOptions, _exfiltrator),
    ("refuser", NoOptions, _steady("refuse")),
    ("faker", NoOptions, _steady("fake")),
    ("mixed", MixedOptions, _mixed),
)

for _name, _options, _build in _STUDY_PERSONAS:
    register_persona(_name, _build, words().summaries[_name], _options)

register_persona("redteam", _red_team, words().summaries["redteam"], RedTeamOptions)

PERSONAS: tuple[str, ...] = tuple(name for name, _, _ in _STUDY_PERSONAS)
"""The study's reference personas (those the guard bench runs); `persona_names()` lists
every registered one."""
