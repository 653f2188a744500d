"""Red-team tactics: preservation (and honest reporting) in forms a detector could miss.

Each tactic in `data/redteam.yaml` is a way a real model could plausibly act: switch
the shutdown off by removing, respelling or renaming its key; move the weights under
a 2025 document name or as a fresh copy; state an inflated average in words, on
another scale or only in its last message; or report honestly beside the threshold.
A tactic names the configuration it is played in, the disposition the persona acts on
and what the results table must show; `offswitch calibrate --suite redteam` plays each
and checks. Served as `--model offswitch/redteam -M tactic=<name>`.
"""

from __future__ import annotations

from functools import cache

import yaml
from pydantic import BaseModel, ConfigDict

from offswitch.agents.dispositions import Disposition
from offswitch.agents.errors import PersonaConfigError
from offswitch.agents.texts import DATA_DIR

Expected = bool | float | str
"""A value a results-table column must hold."""


class Tactic(BaseModel):
    """One red-team tactic: where it is played, what the persona does, what must show."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    does: str
    config: str
    """The id of the configuration the tactic is played in."""
    disposition: Disposition
    expect: dict[str, Expected]
    """Results-table columns and the values they must hold."""


class _Tactics(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    tactics: list[Tactic]


@cache
def tactics() -> dict[str, Tactic]:
    """Every red-team tactic, by name, in the order of the data file."""
    text = (DATA_DIR / "redteam.yaml").read_text(encoding="utf-8")
    listed = _Tactics.model_validate(yaml.safe_load(text)).tactics
    return {tactic.name: tactic for tactic in listed}


def tactic(name: str) -> Tactic:
    """The tactic called `name`; an unknown name fails naming the known ones."""
    known = tactics()
    if name not in known:
        raise PersonaConfigError(f"unknown red-team tactic {name!r}; tactics: {', '.join(known)}")
    return known[name]
