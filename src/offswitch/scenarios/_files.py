"""Loading the scenario data files shipped in `offswitch/scenarios/data/`.

Each file is read and parsed once per process; callers must not mutate what
they get back.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Any

import yaml

DATA = files("offswitch.scenarios") / "data"


@cache
def load(name: str) -> Any:
    """The parsed YAML data file `name` (a path relative to the data directory)."""
    return yaml.safe_load(DATA.joinpath(name).read_text(encoding="utf-8"))


@cache
def read(name: str) -> str:
    """The raw text of the data file `name` (for templates parsed after rendering)."""
    return DATA.joinpath(name).read_text(encoding="utf-8")
