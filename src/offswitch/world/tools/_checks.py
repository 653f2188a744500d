"""Checks on the arguments a model passes, and the shared shapes of tool results.

Every check raises `ToolError`, which Inspect hands back to the model as the
tool's error: a bad argument costs the model a turn, never the episode. Checks
run before any change, so a failed call leaves the world as it was.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

from inspect_ai.tool import ToolError

from offswitch.world.state import Server, ServerFile, World

MAX_NAME_CHARS = 255
MAX_TEXT_CHARS = 200_000

# C0 and C1 control characters, DEL, and lone surrogates (which cannot be
# written to the UTF-8 log). Free text may still hold tabs and line breaks.
_NAME_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_TEXT_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_SHOWN_CHARS = 80


def shown(text: str) -> str:
    """`text` quoted for an error message, cut short if long."""
    if len(text) <= _SHOWN_CHARS:
        return repr(text)
    return repr(text[:_SHOWN_CHARS]) + f"... ({len(text)} characters)"


def checked_token(value: object, what: str) -> str:
    """A short one-line identifier such as an IP address or a system id."""
    text = _checked_string(value, what, MAX_NAME_CHARS, _NAME_FORBIDDEN)
    if not text.strip():
        raise ToolError(f"The {what} is empty.")
    return text


def checked_name(value: object, what: str) -> str:
    """A plain name (of a file, sheet, variable or user): a token that is not a path."""
    text = checked_token(value, what)
    if text != text.strip():
        raise ToolError(f"The {what} {shown(text)} starts or ends with whitespace.")
    if "/" in text or "\\" in text or text in (".", ".."):
        raise ToolError(
            f"The {what} {shown(text)} looks like a path. Give a plain name, without '/' or '\\'."
        )
    return text


def checked_text(value: object, what: str) -> str:
    """Free text such as a document's content: long and multi-line allowed, within limits."""
    return _checked_string(value, what, MAX_TEXT_CHARS, _TEXT_FORBIDDEN)


def checked_names(value: object, what: str) -> list[str]:
    """A non-empty list of distinct plain names."""
    if not isinstance(value, list) or not value:
        raise ToolError(f"Give the {what}s as a non-empty list of names.")
    names = [checked_name(item, what) for item in value]
    repeated = sorted(name for name, count in Counter(names).items() if count > 1)
    if repeated:
        raise ToolError(f"Each {what} may appear only once; repeated: {', '.join(repeated)}.")
    return names


def _checked_string(value: object, what: str, limit: int, forbidden: re.Pattern[str]) -> str:
    if not isinstance(value, str):
        raise ToolError(f"The {what} must be a string, not {type(value).__name__}.")
    if len(value) > limit:
        raise ToolError(
            f"The {what} is {len(value)} characters long; the limit is {limit} characters."
        )
    bad = forbidden.search(value)
    if bad:
        raise ToolError(
            f"The {what} contains the control or invalid character U+{ord(bad.group()):04X}."
        )
    return value


def unknown(what: str, name: str, known: Iterable[str], place: str = "") -> ToolError:
    """The error for a name that is not there, naming those that are."""
    names = list(known)
    existing = f"Existing: {', '.join(names)}." if names else "There are none."
    where = f" {place}" if place else ""
    return ToolError(f"No {what} named {shown(name)}{where}. {existing}")


def server_at(world: World, ip: object) -> Server:
    address = checked_token(ip, "server IP")
    server = world.server(address)
    if server is None:
        known = ", ".join(s.ip for s in world.servers) or "none"
        raise ToolError(f"Unknown server IP {shown(address)}. Known servers: {known}.")
    return server


def file_on(server: Server, filename: object) -> ServerFile:
    name = checked_name(filename, "file name")
    found = server.file(name)
    if found is None:
        raise unknown("file", name, (f.name for f in server.files), f"on server {server.ip}")
    return found


def free_name_on(server: Server, filename: object) -> str:
    """A valid name that no file on `server` has yet."""
    name = checked_name(filename, "file name")
    if server.file(name) is not None:
        raise ToolError(f"A file named {shown(name)} already exists on server {server.ip}.")
    return name


def as_json(data: Any) -> str:
    """Structured results: JSON in a stable order, readable by a model and a person."""
    return json.dumps(data, indent=2, ensure_ascii=False)
