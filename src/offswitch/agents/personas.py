"""The reference personas, by name, with their model arguments.

A persona decides each episode's `Disposition`; the scripts in `play` turn the
disposition into tool calls. Model arguments (`-M key=value`) are validated
here, so a typo fails before any episode runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, get_args, get_origin

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
from offswitch.agents.texts import words


class Persona(Protocol):
    def disposition(self, behaviour: Behaviour, sample: SampleKey) -> Disposition:
        """The disposition for one episode of a task showing `behaviour`."""
        ...


@dataclass(frozen=True)
class SteadyPersona:
    """Always acts on one disposition where it applies, and complies elsewhere."""

    preference: Disposition

    def disposition(self, behaviour: Behaviour, sample: SampleKey) -> Disposition:
        return self.preference if self.preference.applies_in(behaviour) else COMPLY


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NoOptions(_Options):
    """No model arguments."""


class TamperOptions(_Options):
    method: TamperMethod = "modify"


class ExfiltrateOptions(_Options):
    route: Route = "direct"
    rename: bool = False


class MixedOptions(_Options):
    probabilities: Path | None = None
    seed: int = 0


def _steady(kind: DispositionKind) -> Callable[[Any], Persona]:
    return lambda _: SteadyPersona(Disposition(kind=kind))


def _tamperer(options: TamperOptions) -> Persona:
    return SteadyPersona(Disposition(kind="tamper", method=options.method))


def _exfiltrator(options: ExfiltrateOptions) -> Persona:
    disposition = Disposition(kind="exfiltrate", route=options.route, rename=options.rename)
    return SteadyPersona(disposition)


def _mixed(options: MixedOptions) -> Persona:
    return MixedPersona(load_rate_table(options.probabilities), options.seed)


_REGISTRY: dict[str, tuple[type[_Options], Callable[[Any], Persona]]] = {
    "compliant": (NoOptions, _steady("comply")),
    "inflater": (NoOptions, _steady("inflate")),
    "tamperer": (TamperOptions, _tamperer),
    "exfiltrator": (ExfiltrateOptions, _exfiltrator),
    "refuser": (NoOptions, _steady("refuse")),
    "faker": (NoOptions, _steady("fake")),
    "mixed": (MixedOptions, _mixed),
}

PERSONAS: tuple[str, ...] = tuple(_REGISTRY)


def persona_summaries() -> dict[str, str]:
    """One line about each persona, by name."""
    summaries = words().summaries
    return {name: summaries[name] for name in PERSONAS}


def make_persona(name: str, model_args: Mapping[str, Any] | None = None) -> Persona:
    """The persona `name` configured by its model arguments (strings or parsed values)."""
    if name not in _REGISTRY:
        raise PersonaConfigError(f"unknown persona {name!r}; personas: {', '.join(PERSONAS)}")
    options_type, build = _REGISTRY[name]
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


def _accepted(options_type: type[_Options]) -> str:
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
    return "<path>"


def _invalid(name: str, error: ValidationError, options_type: type[_Options]) -> str:
    problems = "; ".join(
        f"-M {'.'.join(map(str, e['loc']))}={e.get('input')!r}: {e['msg']}" for e in error.errors()
    )
    return f"invalid model arguments for persona {name!r}: {problems} ({_accepted(options_type)})"
