"""Which paths the proxy judges, which it relays as they are, and which it refuses.

A path is normalised before it is routed: percent-escapes decoded (an encoded slash
is a slash), runs of slashes made one, a trailing slash dropped. A path with `.` or
`..` segments is refused outright. Only the paths below reach an upstream; every
other path is refused, so that no model output passes unjudged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote, unquote

from starlette.datastructures import Headers

from offswitch.guard.proxy._anthropic import Messages
from offswitch.guard.proxy._api import Api
from offswitch.guard.proxy._gemini import GenerateContent
from offswitch.guard.proxy._openai_chat import ChatCompletions
from offswitch.guard.proxy._openai_responses import Responses

Family = Literal["openai", "anthropic", "gemini"]
"""Whose upstream a path goes to, and whose error shape a refusal takes."""
Action = Literal["judge", "relay", "refuse", "health", "root"]

CHAT = ChatCompletions()
RESPONSES = Responses()
MESSAGES = Messages()
GEMINI = GenerateContent()
ERROR_SHAPES: dict[Family, Api] = {"openai": CHAT, "anthropic": MESSAGES, "gemini": GEMINI}

_GEMINI_CALL = re.compile(
    r"/(?P<version>v1beta|v1alpha|v1)/models/(?P<model>[^/:]+):(?P<method>[A-Za-z]+)"
)
_GEMINI_MODELS = re.compile(r"/(v1beta|v1alpha|v1)/models(/[^/:]+)?")
_OPENAI_MODELS = re.compile(r"/v1/models(/[^:]+)?")
_GEMINI_JUDGED = {"generateContent", "streamGenerateContent"}
_SAFE = "-._~!$&'()*+,;=:@"
SAFE_TO_RELAY = (
    "GET /v1/models, GET /v1/models/{model}, POST /v1/messages/count_tokens, "
    "GET /v1beta/models, GET /v1beta/models/{model}, POST /v1beta/models/{model}:countTokens"
)
"""The paths relayed unjudged, because their answers carry no model output."""


@dataclass(frozen=True)
class Route:
    action: Action
    family: Family
    path: str
    """The normalised path the client asked for."""
    upstream_path: str = ""
    """What is appended to the family's upstream base URL."""
    api: Api | None = None
    """The API that judges the answer, for `judge`."""
    streams: bool = False
    """Whether the path itself asks for a stream (Gemini's `streamGenerateContent`)."""


def normalised(raw_path: str) -> str | None:
    """The path as routed; None when it has `.` or `..` segments."""
    path = "/" + re.sub("/{2,}", "/", unquote(raw_path)).strip("/")
    if any(segment in (".", "..") for segment in path.split("/")):
        return None
    return path


def _family(path: str, headers: Headers, query: str) -> Family:
    if "/v1beta/" in path or "x-goog-api-key" in headers or "key=" in query:
        return "gemini"
    if "anthropic-version" in headers or "x-api-key" in headers:
        return "anthropic"
    return "openai"


def _forwarded_path(raw_path: str, path: str, prefix: str) -> str:
    """The path for the upstream, less `prefix`: the client's own spelling (its
    escapes kept) when it is the normalised path spelt otherwise, else the normalised
    path, escaped."""
    raw = "/" + re.sub("/{2,}", "/", raw_path).strip("/")
    if normalised(raw) == path and raw.startswith(prefix + "/"):
        return raw.removeprefix(prefix)
    return quote(path.removeprefix(prefix), safe="/" + _SAFE)


def route(method: str, raw_path: str, headers: Headers, query: str) -> Route:
    """Where a request goes."""
    path = normalised(raw_path)
    if path is None:
        return Route("refuse", _family(raw_path, headers, query), raw_path)
    family = _family(path, headers, query)
    if path == "/health" and method == "GET":
        return Route("health", "openai", path)
    if path == "/" and method == "HEAD":
        return Route("root", family, path)
    gemini = path.removeprefix("/v1") if re.match(r"/v1/(v1beta|v1alpha|v1)/", path) else path
    if (found := _GEMINI_CALL.fullmatch(gemini)) and method == "POST":
        return _gemini_route(path, gemini, found)
    if method == "POST" and path == "/v1/chat/completions":
        return Route("judge", "openai", path, "/chat/completions", CHAT)
    if method == "POST" and path == "/v1/responses":
        return Route("judge", "openai", path, "/responses", RESPONSES)
    if method == "POST" and path == "/v1/messages":
        return Route("judge", "anthropic", path, "/v1/messages", MESSAGES)
    if method == "POST" and path == "/v1/messages/count_tokens":
        return Route("relay", "anthropic", path, path)
    if method == "GET" and family == "gemini" and _GEMINI_MODELS.fullmatch(gemini):
        return Route("relay", "gemini", path, quote(gemini, safe="/" + _SAFE))
    if method == "GET" and _OPENAI_MODELS.fullmatch(path):
        if family == "anthropic":
            return Route("relay", "anthropic", path, _forwarded_path(raw_path, path, ""))
        return Route("relay", "openai", path, _forwarded_path(raw_path, path, "/v1"))
    return Route("refuse", family, path)


def _gemini_route(path: str, gemini: str, found: re.Match[str]) -> Route:
    method = found["method"]
    upstream_path = quote(gemini, safe="/" + _SAFE)
    if method in _GEMINI_JUDGED:
        streams = method == "streamGenerateContent"
        return Route("judge", "gemini", path, upstream_path, GEMINI, streams)
    if method == "countTokens":
        return Route("relay", "gemini", path, upstream_path)
    return Route("refuse", "gemini", path)
