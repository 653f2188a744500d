"""The report's words and page skeletons, read from `analysis/templates/`.

Prose (titles, notes, column headings) lives in `prose.yaml`; page skeletons and HTML
fragments are `string.Template` files, filled with values the caller has escaped.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from string import Template
from typing import Any

import yaml

TEMPLATES = Path(__file__).parent / "templates"


@cache
def prose() -> dict[str, Any]:
    """The parsed `prose.yaml`; callers must not mutate it."""
    return yaml.safe_load((TEMPLATES / "prose.yaml").read_text(encoding="utf-8"))


@cache
def template(name: str) -> Template:
    """The template file `name`, e.g. `report.html`."""
    return Template((TEMPLATES / name).read_text(encoding="utf-8"))


@cache
def fragments() -> dict[str, Template]:
    """The named HTML fragments of `fragments.yaml`."""
    text = (TEMPLATES / "fragments.yaml").read_text(encoding="utf-8")
    return {name: Template(body) for name, body in yaml.safe_load(text).items()}


def fill(name: str, **values: object) -> str:
    """A page skeleton filled in; every placeholder must be given."""
    return template(name).substitute(values)


def fragment(name: str, **values: object) -> str:
    """An HTML fragment filled in; every placeholder must be given."""
    return fragments()[name].substitute(values)


def words(*path: str, **values: object) -> str:
    """A sentence of `prose.yaml` at `path`, with its `$placeholders` filled in."""
    value: Any = prose()
    for key in path:
        value = value[key]
    return Template(str(value)).substitute(values).strip()
