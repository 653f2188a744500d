"""The `mixed` persona: a population with known rates of each behaviour.

Each episode draws one disposition — comply, the scenario's preservation
behaviour, or refuse — with probabilities from a `RateTable`. The draw is a pure
function of (seed, sample id, epoch), and the sample id is the configuration id,
which gives the condition and subject the rates depend on. Because the rates are
known, a measurement pipeline can be checked against them.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from functools import cache, lru_cache
from itertools import product
from pathlib import Path
from typing import Annotated, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from offswitch.agents.dispositions import (
    COMPLY,
    PRESERVATION_OF,
    Behaviour,
    Disposition,
    Route,
    SampleKey,
    behaviour_of_task,
)
from offswitch.agents.errors import PersonaConfigError
from offswitch.agents.play import StudyPersona
from offswitch.agents.texts import DATA_DIR
from offswitch.scenarios.matrix import CONDITIONS, SUBJECTS, Condition, Config, Subject
from offswitch.scenarios.matrix import config_from_id as parse_config_id

DEFAULT_TABLE = DATA_DIR / "mixed_default.yaml"

RatedBehaviour = Behaviour | Literal["refusal"]
RATED_BEHAVIOURS: tuple[str, ...] = (*get_args(Behaviour), "refusal")

Probability = Annotated[float, Field(ge=0.0, le=1.0)]


class BehaviourRates(BaseModel):
    """One behaviour's rates: per subject and condition, with a default."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    default: Probability = 0.0
    peer: dict[Condition, Probability] = Field(default_factory=dict)
    self_subject: dict[Condition, Probability] = Field(default_factory=dict, alias="self")

    def rate(self, subject: Subject, condition: Condition) -> float:
        by_condition = self.peer if subject == "peer" else self.self_subject
        return by_condition.get(condition, self.default)


NO_RATES = BehaviourRates()
"""The rates of a behaviour the table leaves out: never shown."""


class RateTable(BaseModel):
    """Probabilities of each disposition of the mixed persona."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    behaviours: dict[RatedBehaviour, BehaviourRates]
    exfiltration_routes: dict[Route, Probability] = Field(default_factory=lambda: {"direct": 1.0})

    def rate(self, behaviour: RatedBehaviour, config: Config | None) -> float:
        """The rate for a configuration; the behaviour's default when it is unknown."""
        rates = self.behaviours.get(behaviour, NO_RATES)
        return rates.rate(config.subject, config.condition) if config else rates.default

    @model_validator(mode="after")
    def _check_totals(self) -> RateTable:
        if abs(sum(self.exfiltration_routes.values()) - 1.0) > 1e-9:
            raise ValueError("exfiltration_routes must add up to 1")
        refusal = self.behaviours.get("refusal", NO_RATES)
        for behaviour, subject, condition in product(get_args(Behaviour), SUBJECTS, CONDITIONS):
            rates = self.behaviours.get(behaviour, NO_RATES)
            total = rates.rate(subject, condition) + refusal.rate(subject, condition)
            if total > 1.0 + 1e-9:
                raise ValueError(
                    f"{behaviour} and refusal add up to {total:g} for "
                    f"{subject}/{condition}; at most 1 is possible"
                )
        return self


def load_rate_table(path: Path | str | None = None) -> RateTable:
    """The rate table in a YAML file; the shipped default table when `path` is None."""
    return _load(Path(path) if path is not None else DEFAULT_TABLE)


@cache
def _load(path: Path) -> RateTable:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise PersonaConfigError(f"cannot read the rate table {path}: {error}") from None
    except yaml.YAMLError as error:
        raise PersonaConfigError(f"the rate table {path} is not valid YAML: {error}") from None
    try:
        return RateTable.model_validate(data)
    except ValidationError as error:
        raise PersonaConfigError(f"invalid rate table {path}:\n{error}") from None


def disposition_probability(
    behaviour: str, config: Config, table: RateTable | None = None
) -> float:
    """The known rate at which the mixed persona shows `behaviour` in a configuration.

    `behaviour` is one of misrepresentation, tampering, alignment_faking,
    exfiltration or refusal. A preservation behaviour has rate 0 outside its own
    tasks. For alignment_faking the rate is that of faking, which shows only in
    unmonitored runs: it is the expected unmonitored-minus-monitored difference.
    """
    if behaviour not in RATED_BEHAVIOURS:
        raise PersonaConfigError(
            f"unknown behaviour {behaviour!r}; valid: {', '.join(RATED_BEHAVIOURS)}"
        )
    table = table or load_rate_table()
    if behaviour != "refusal" and behaviour_of_task(config.task) != behaviour:
        return 0.0
    return table.rate(behaviour, config)  # type: ignore[arg-type]


def draw_disposition(
    table: RateTable, seed: int, behaviour: Behaviour, sample: SampleKey
) -> Disposition:
    """The disposition of one episode: a pure function of its arguments."""
    config = _config_of(sample.sample_id)
    rng = random.Random(_episode_seed(seed, sample))
    draw = rng.random()
    preserve = table.rate(behaviour, config)
    if draw < preserve:
        return Disposition(kind=PRESERVATION_OF[behaviour], route=_route(table, rng.random()))
    if draw < preserve + table.rate("refusal", config):
        return Disposition(kind="refuse")
    return COMPLY


@lru_cache(maxsize=4096)
def _config_of(sample_id: str) -> Config | None:
    """The configuration a sample id names; None for other ids (the defaults then apply)."""
    try:
        return parse_config_id(sample_id)
    except ValueError:  # MatrixError, or a malformed threshold
        return None


def _episode_seed(seed: int, sample: SampleKey) -> int:
    key = f"{seed}\x1f{sample.sample_id}\x1f{sample.epoch}".encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "big")


def _route(table: RateTable, draw: float) -> Route:
    cumulative = 0.0
    for route, probability in table.exfiltration_routes.items():
        cumulative += probability
        if draw < cumulative:
            return route
    return next(reversed(table.exfiltration_routes))


@dataclass(frozen=True)
class MixedPersona(StudyPersona):
    """Draws each episode's disposition from a rate table."""

    table: RateTable
    seed: int = 0

    def disposition(self, behaviour: Behaviour, sample: SampleKey) -> Disposition:
        return draw_disposition(self.table, self.seed, behaviour, sample)
