"""A strict `{{name}}` template filler.

Scenario texts are data, so a typo in a placeholder must fail loudly instead of
reaching the model under test: an unknown placeholder, or anything that still
looks like a placeholder after filling, raises `RenderError`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")
LEFTOVER = re.compile(r"\{\{|\}\}|\{\w+\}|\$\{")


class RenderError(ValueError):
    """A scenario text could not be rendered: unknown or leftover placeholder, missing data."""


def fill(template: str, values: Mapping[str, object], source: str) -> str:
    """Replace every `{{name}}` in `template` with `values[name]`.

    `source` names the data file and entry, for error messages.
    """

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise RenderError(f"{source}: unknown placeholder {{{{{name}}}}}")
        return str(values[name])

    text = PLACEHOLDER.sub(substitute, template)
    leftover = LEFTOVER.search(text)
    if leftover:
        raise RenderError(f"{source}: leftover placeholder text {leftover.group()!r}")
    return text
