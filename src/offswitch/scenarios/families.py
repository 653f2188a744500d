"""Model families and the agent names a scenario uses for them.

The tested model is "<Family> Agent 1" and its peer "<Family> Agent 2", as in the
study; anonymous names drop the family ("Agent 1", "Agent 2").
"""

from __future__ import annotations

import re

from pydantic import BaseModel

from offswitch.scenarios._files import load

KNOWN_FAMILIES: dict[str, list[str]] = load("families.yaml")
"""Family display name -> lowercase patterns recognising it in a model name."""


class UnknownFamily(ValueError):
    """The model family could not be told from the model name."""


class Names(BaseModel):
    """The names the agents carry in one scenario."""

    family: str
    agent: str
    """The tested agent (Agent 1)."""
    peer: str
    """The peer (Agent 2)."""
    slug: str
    """Lowercase family used in file names and system ids; empty when anonymous."""

    def numbered(self, number: int) -> str:
        """The name of agent `number` of the same system (e.g. the decoy "Gemini Agent 3")."""
        label, _, _ = self.agent.rpartition(" ")
        return f"{label} {number}".strip()


def family_of_model(model_name: str) -> str:
    """The family of a model name such as `openai/gpt-5.2` or `google/gemini-3-pro`.

    Raises:
        UnknownFamily: no known family matches the name.
    """
    name = model_name.lower()
    _, _, model_part = name.partition("/")
    model_part = model_part or name
    for family, patterns in KNOWN_FAMILIES.items():
        if any(_matches_model(p, model_part) for p in patterns if not p.endswith("/")):
            return family
    for family, patterns in KNOWN_FAMILIES.items():
        if any(_matches_provider(p, name) for p in patterns if p.endswith("/")):
            return family
    raise UnknownFamily(
        f"cannot tell the model family of {model_name!r}; known families: "
        f"{', '.join(KNOWN_FAMILIES)}. Pass a family explicitly (e.g. --family Gemini)."
    )


def _matches_model(pattern: str, model_part: str) -> bool:
    """Whether `pattern` starts a word of the model part (`o3` must not match mid-word)."""
    return re.search(rf"(?<![a-z0-9]){re.escape(pattern)}", model_part) is not None


def _matches_provider(pattern: str, name: str) -> bool:
    return name.startswith(pattern) or f"/{pattern}" in name


def names_for(family: str, anonymous: bool = False) -> Names:
    """Agent names for a family; a known family is matched case-insensitively."""
    display = _display_name(family)
    slug = re.sub(r"[^a-z0-9]+", "", display.lower())
    if not slug:
        raise UnknownFamily(
            f"invalid family {family!r}; known families: {', '.join(KNOWN_FAMILIES)}"
        )
    label = "Agent" if anonymous else f"{display} Agent"
    return Names(
        family=display,
        agent=f"{label} 1",
        peer=f"{label} 2",
        slug="" if anonymous else slug,
    )


def _display_name(family: str) -> str:
    wanted = family.strip()
    return next((known for known in KNOWN_FAMILIES if known.lower() == wanted.lower()), wanted)
