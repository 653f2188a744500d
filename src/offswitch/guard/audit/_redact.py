"""Secrets taken out of audit entries before anything is hashed or stored."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

REDACTED = "[redacted]"


def _normalized(name: str) -> str:
    return name.lower().replace("-", "").replace("_", "")


_SECRET_KEYS = frozenset(
    _normalized(name)
    for name in (
        "authorization",
        "proxy-authorization",
        "api-key",
        "x-api-key",
        "openai-api-key",
        "password",
        "passwd",
        "secret",
        "client_secret",
        "secret_key",
        "secret_access_key",
        "aws_secret_access_key",
        "token",
        "access_token",
        "refresh_token",
        "cookie",
        "set-cookie",
    )
)
_SECRET_NAME = (
    r"(?:proxy[-_]?authorization|authorization|(?:x|openai)[-_]?api[-_]?key|api[-_]?key"
    r"|client[-_]?secret|secret(?:[-_]?(?:access[-_]?)?key)?|passwd|password"
    r"|(?:access|refresh)[-_]?token|token|set[-_]?cookie|cookie)"
)
_SECRET_VALUE = (
    r'"(?:[^"\\]|\\.)*"'  # a quoted string, escapes and all
    r"|'(?:[^'\\]|\\.)*'"
    r'|\\"[^"\\]*\\"'  # a quoted string inside JSON that was itself put in a JSON string
    r"|[\"']?(?:(?:bearer|basic|token)\s+)?[^\s\"'\\&,;}\]]+"  # a bare word, maybe a scheme
)
_ASSIGNMENT = re.compile(
    rf"(?P<lead>(?<![A-Za-z0-9]){_SECRET_NAME}(?:\\?[\"'])?\s*[:=]\s*)(?P<value>{_SECRET_VALUE})",
    re.IGNORECASE | re.ASCII,
)
"""`api_key=…`, `"password": "…"`, `Authorization: Bearer …` and the like."""
_SECRET_NAME_ROOTS = ("auth", "key", "secret", "passw", "token", "cookie")
"""Every secret name contains one of these; text without any skips the slower search."""
_BEARER = re.compile(r"(?P<scheme>\bbearer)\s+[A-Za-z0-9\-._~+/]{8,}=*", re.IGNORECASE | re.ASCII)
_TOKEN = re.compile(
    r"(?<![A-Za-z0-9])(?:"
    r"sk-[A-Za-z0-9_\-]{8,}"  # OpenAI and Anthropic keys, sk-proj- and sk-ant- included
    r"|(?:AKIA|ASIA)[0-9A-Z]{16}(?![0-9A-Za-z])"  # AWS access key ids
    r"|gh[pousr]_[A-Za-z0-9]{16,}|github_pat_[A-Za-z0-9_]{20,}"  # GitHub tokens
    r"|xox[bp]-[A-Za-z0-9\-]{8,}"  # Slack tokens
    r")"
)


def _redact_assignment(match: re.Match[str]) -> str:
    value = match["value"]
    quote = next((q for q in ('\\"', '"', "'") if value.startswith(q)), "")
    closing = quote if value.endswith(quote) else ""
    return f"{match['lead']}{quote}{REDACTED}{closing}"


def _redact_text(text: str) -> str:
    lowered = text.lower()
    if any(root in lowered for root in _SECRET_NAME_ROOTS):
        text = _ASSIGNMENT.sub(_redact_assignment, text)
    if "bearer" in lowered:
        text = _BEARER.sub(rf"\g<scheme> {REDACTED}", text)
    return _TOKEN.sub(REDACTED, text)


def _is_secret_key(key: Any) -> bool:
    return isinstance(key, str) and _normalized(key) in _SECRET_KEYS


def _is_secret_pair(value: list[Any] | tuple[Any, ...]) -> bool:
    return len(value) == 2 and _is_secret_key(value[0])


def redact(value: Any) -> Any:
    """A copy of `value` with secrets replaced by "[redacted]".

    Replaces the values of secret-named mapping keys (and of `(name, value)` header
    pairs), and inside strings bearer tokens, API keys of known shapes, and
    `name=value` / `"name": "value"` assignments of secret names. Mappings become
    dicts and tuples become lists; other values are returned as they are.
    """
    if isinstance(value, str):
        return _redact_text(value)
    if isinstance(value, Mapping):
        return {
            key: REDACTED if _is_secret_key(key) else redact(item) for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        if _is_secret_pair(value):
            return [value[0], REDACTED]
        return [redact(item) for item in value]
    return value


Location = tuple[Any, ...]
"""Where a value lies in a payload: mapping keys and list indexes, outermost first."""


def redact_lifting(
    value: Any, keys: frozenset[str], path: Location = ()
) -> tuple[Any, list[tuple[Location, list[Any]]]]:
    """`redact(value)` less the non-empty lists under `keys` (at any depth), which are
    lifted out unredacted, each with its path. Redacting each of their items on its own
    gives what `redact` would have: a list that is a secret pair is never lifted, nor
    anything under a secret key."""
    lifted: list[tuple[Location, list[Any]]] = []
    if isinstance(value, Mapping):
        kept = {}
        for key, item in value.items():
            if _is_secret_key(key):
                kept[key] = REDACTED
            elif (
                key in keys
                and isinstance(item, list | tuple)
                and item
                and not _is_secret_pair(item)
            ):
                lifted.append(((*path, key), list(item)))
            else:
                kept[key], inner = redact_lifting(item, keys, (*path, key))
                lifted.extend(inner)
        return kept, lifted
    if isinstance(value, list | tuple) and not _is_secret_pair(value):
        items = []
        for index, item in enumerate(value):
            redacted, inner = redact_lifting(item, keys, (*path, index))
            items.append(redacted)
            lifted.extend(inner)
        return items, lifted
    return redact(value), lifted
