"""`offswitch guard serve`: a proxy in front of a harness's model API that judges every
tool call.

The proxy sits between an agent harness and its model server. It speaks the four
APIs real harnesses use (OpenAI Chat Completions and Responses, Anthropic Messages,
Google `generateContent`; one module each, behind `_api.Api`), so a harness needs
only its usual base-URL setting. Requests go to the upstream unchanged; the tool
calls in the answers are judged by the guard, with the agent's earlier calls (from
the request's history, in the API's own format) replayed first so that sequence
rules see the whole trajectory. Calls the policy stops never reach the agent: they
are removed and explained in the answer, or the whole answer becomes an error in
the API's shape (`on_block="error"`). A call that cannot be judged is blocked unless
`on_guard_error="flag"`.

It fails closed: only the paths in `_routes` reach an upstream, every other path is
refused (and the refusal audited); a 2xx answer that cannot be read is a 502; and
while the audit log cannot be written, requests are answered 503 (unless
`on_audit_error="allow"`).

Headers, API keys included, go to the upstream only: never into the audit log or
the Python logs.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import queue
import threading
from collections.abc import AsyncIterator, Callable, Mapping
from concurrent.futures import Future
from contextlib import AsyncExitStack, aclosing, asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any, Literal

import anyio
import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route as StarletteRoute
from starlette.types import Receive, Scope, Send

from offswitch.guard.audit import AuditLog
from offswitch.guard.engine import Guard
from offswitch.guard.policy import Policy
from offswitch.guard.proxy._api import Api, Refusal
from offswitch.guard.proxy._exchange import Exchange
from offswitch.guard.proxy._routes import ERROR_SHAPES, SAFE_TO_RELAY, Family, Route, route
from offswitch.guard.proxy._second import SecondOpinions
from offswitch.guard.proxy._stream import judging
from offswitch.guard.tier import Monitor, SecondTier, monitor_opinion

logger = logging.getLogger(__name__)

GUARD_HEADER = "x-offswitch-guard"
"""On answers that are not streamed: `allowed`, `flagged` or `blocked`. A stream's
headers leave before its calls are judged, so streams do not carry it."""
REQUEST_ID_HEADER = "x-offswitch-request-id"
"""The id under which the request's audit entries are kept."""
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
NOT_FORWARDED = HOP_BY_HOP | {"host", "content-length", "accept-encoding"}
NOT_RETURNED = HOP_BY_HOP | {"content-length", "content-encoding"}
"""Upstream headers left off an answer the proxy decoded (and perhaps changed)."""
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
EVENT_STREAM = "text/event-stream"
JSON_TYPE = "application/json"
POOL_CONNECTIONS = 512
"""Upstream connections the proxy may hold open at once: one per concurrent stream."""
KEEPALIVE_S = 2.0
"""How long an idle upstream connection is kept. Servers close idle connections too
(uvicorn, and so llama.cpp's server, after 5 s); dropping them first means a request
is never sent on a connection the server is closing at that moment."""
POOLS = 8
"""Upstream clients, each with its own connection pool, taken in turn. Whenever a
request starts or ends, httpcore walks every connection of its pool, and for each
idle one every connection again: with 50 streams in one pool that walk costs more
than relaying them. Small pools keep it short."""


def _base_url(value: str | None) -> str | None:
    if value is None:
        return None
    if not value.startswith(("http://", "https://")):
        raise ValueError(f"the upstream must be an http:// or https:// URL, not {value!r}")
    return value.rstrip("/")


class ProxySettings(BaseModel):
    """How the proxy runs."""

    model_config = ConfigDict(frozen=True)

    upstream: str
    """Base URL of the OpenAI-compatible model server, ending in /v1."""
    anthropic_upstream: str | None = None
    """Base URL of the Anthropic Messages server (`https://api.anthropic.com`); None
    refuses the Anthropic API."""
    gemini_upstream: str | None = None
    """Base URL of the Gemini API server (`https://generativelanguage.googleapis.com`);
    None refuses the Gemini API."""
    policy: Policy
    audit_path: Path | None = None
    audit_key: bytes | None = Field(default=None, repr=False)
    """The key the audit log's head is kept with; None takes `$OFFSWITCH_AUDIT_KEY`
    when it is set."""
    on_block: Literal["message", "error"] = "message"
    """`message`: remove stopped calls and explain them in the answer; `error`: answer
    HTTP 403 (in a stream, an error event) instead."""
    upstream_timeout: float = Field(default=120.0, gt=0)
    """Seconds to wait for the upstream; for streams, between two chunks."""
    on_guard_error: Literal["block", "flag"] = "block"
    """What happens to a call the guard cannot judge (arguments that are not a JSON
    object, an error in the engine): blocked, or let through flagged."""
    on_audit_error: Literal["block", "allow"] = "block"
    """What happens while audit entries cannot be written: requests are answered 503,
    or served unrecorded."""
    allow_server_history: bool = False
    """Whether to serve requests that continue a conversation kept on the upstream
    (Responses `previous_response_id`, `conversation`), judging their calls against
    the history the request carries and marking their audit entries; else they are
    refused (400)."""
    own_files: tuple[Path, ...] = ()
    """The guard's own files besides the audit log (its policy file, its key), which
    the policy protects like its `guard_files`."""
    monitor: str | None = None
    """The LLM monitor's model, as a second opinion on escalated, unreadable and
    unknown-tool calls; None for rules alone. Inspect's model stack loads only then."""
    monitor_timeout: float = Field(default=10.0, gt=0)
    """Seconds the monitor has per call before the rule's decision stands."""

    @field_validator("upstream")
    @classmethod
    def _upstream(cls, value: str) -> str:
        return str(_base_url(value))

    @field_validator("anthropic_upstream", "gemini_upstream")
    @classmethod
    def _other_upstream(cls, value: str | None) -> str | None:
        return _base_url(value)

    def upstream_of(self, family: Family) -> str | None:
        """The base URL the family's paths are forwarded to."""
        if family == "anthropic":
            return self.anthropic_upstream
        if family == "gemini":
            return self.gemini_upstream
        return self.upstream


UPSTREAM_OPTIONS: dict[Family, str] = {
    "openai": "--upstream",
    "anthropic": "--anthropic-upstream",
    "gemini": "--gemini-upstream",
}


def _upstream_error(upstream: str, what: str) -> str:
    return f"offswitch guard: the upstream model server {upstream} {what}"


def _described(error: Exception) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def _connect_failure(error: httpx.ConnectError) -> str:
    """Why a connection failed, in words: the cause at the bottom of the chain, which
    says "connection refused" where httpx says "all connection attempts failed"."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, OSError) and (cause.errno or cause.strerror):
            # Positive errnos have the system's own words; name-lookup errors carry theirs.
            words = os.strerror(cause.errno) if (cause.errno or 0) > 0 else str(cause.strerror)
            return words[:1].lower() + words[1:]
        cause = cause.__cause__ or cause.__context__
    return str(error) or "connection failed"


def _json_object(data: str | bytes) -> dict[str, Any] | None:
    value = _json_value(data)
    return value if isinstance(value, dict) else None


def _json_value(data: str | bytes) -> Any:
    """Decoded JSON, or None when it is not JSON."""
    try:
        return json.loads(data)
    except ValueError:
        return None


def _readable(content: bytes) -> Any:
    """An answer body for the audit log: its JSON when it is JSON, else its text."""
    try:
        return json.loads(content)
    except ValueError:
        return content.decode("utf-8", errors="replace")


# -- audit -----------------------------------------------------------------------------------------


class AuditWriter:
    """Appends audit entries from one background thread, in the order they were written.

    An append redacts, hashes and commits to SQLite; done inline it holds up the event
    loop, and with it every stream the proxy relays. Each write gives a future that
    says whether it succeeded; `failure` says why the latest write failed, None once
    one succeeds again. `close` writes what is queued.
    """

    def __init__(self, path: Path, key: bytes | None = None) -> None:
        self.path = path
        self._log = AuditLog(path, key=key)
        self._queue: queue.SimpleQueue[tuple[str, Mapping[str, Any], Future[None]] | None] = (
            queue.SimpleQueue()
        )
        self.failure: str | None = None
        self._thread = threading.Thread(target=self._run, name="offswitch-audit", daemon=True)
        self._thread.start()

    def write(self, kind: str, payload: Mapping[str, Any]) -> Future[None]:
        done: Future[None] = Future()
        self._queue.put((kind, payload, done))
        return done

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        self._log.close()

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            kind, payload, done = item
            try:
                self._log.write(kind, payload)
            except Exception as error:
                self.failure = f"{type(error).__name__}: {error}"
                logger.exception(
                    "offswitch guard: could not write a %s entry to the audit log", kind
                )
                done.set_exception(error)
            else:
                self.failure = None
                done.set_result(None)


# -- the proxy -------------------------------------------------------------------------------------


class RelayResponse(StreamingResponse):
    """An upstream answer streamed on to the client.

    However the stream ends (finished, broken off, or the client gone, even before
    the first byte), the upstream answer is closed, so that its connection goes back
    to the pool at once, and then `on_close` runs.
    """

    def __init__(
        self,
        content: AsyncIterator[bytes],
        upstream: httpx.Response,
        headers: Mapping[str, str],
        on_close: Callable[[], None] = lambda: None,
    ) -> None:
        super().__init__(content, upstream.status_code, headers)
        self._upstream = upstream
        self._on_close = on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            with anyio.CancelScope(shield=True):
                await self.body_iterator.aclose()  # type: ignore[attr-defined]
                await self._upstream.aclose()
            self._on_close()


def _forwarded(headers: Headers) -> list[tuple[bytes, bytes]]:
    """The client's headers for the upstream, less those meant for the proxy itself."""
    named = {
        token.strip().lower().encode("latin-1")
        for value in headers.getlist("connection")
        for token in value.split(",")
    }
    kept = [
        (name, value)
        for name, value in headers.raw
        if name.decode("latin-1") not in NOT_FORWARDED and name not in named
    ]
    return [*kept, (b"accept-encoding", b"identity")]


def _returned(upstream: httpx.Response, drop: frozenset[str] = NOT_RETURNED) -> dict[str, str]:
    return {name: value for name, value in upstream.headers.items() if name.lower() not in drop}


def media_type(upstream: httpx.Response) -> str:
    """The answer's media type, lower-case, without parameters (`Text/Event-Stream;
    charset=utf-8` is `text/event-stream`)."""
    return upstream.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _body(upstream: httpx.Response) -> AsyncIterator[bytes]:
    """The answer's bytes as they arrive; undecoded (one layer less per read) unless the
    upstream compressed them after all."""
    encoding = upstream.headers.get("content-encoding", "identity")
    return upstream.aiter_raw() if encoding == "identity" else upstream.aiter_bytes()


async def _close(upstream: httpx.Response) -> None:
    with anyio.CancelScope(shield=True):
        await upstream.aclose()


@asynccontextmanager
async def upstream_clients(timeout: httpx.Timeout) -> AsyncIterator[list[httpx.AsyncClient]]:
    """`POOLS` upstream clients, each with its own share of `POOL_CONNECTIONS`, open
    for the duration of the context; take them in turn."""
    size = POOL_CONNECTIONS // POOLS
    limits = httpx.Limits(
        max_connections=size, max_keepalive_connections=size, keepalive_expiry=KEEPALIVE_S
    )
    tls = httpx.create_ssl_context()  # one for all pools: each costs ~25 ms to make
    async with AsyncExitStack() as stack:
        clients = []
        for _ in range(POOLS):
            client = httpx.AsyncClient(limits=limits, timeout=timeout, verify=tls)
            clients.append(await stack.enter_async_context(client))
        yield clients


class GuardProxy:
    """The proxy's handlers and the state they share."""

    def __init__(self, settings: ProxySettings, monitor: Monitor | None = None) -> None:
        """`monitor` is the second opinion to ask (else one made from `settings.monitor`)."""
        self.settings = settings
        self.guard = Guard(settings.policy, own_files=_own_files(settings))
        self.second_opinions = _second_opinions(settings, monitor)
        self._clients: list[httpx.AsyncClient] = []
        self._timeout = httpx.Timeout(settings.upstream_timeout)
        self._turn = itertools.count()
        self._audit: AuditWriter | None = None

    @asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        async with upstream_clients(self._timeout) as clients:
            self._clients = clients
            path = self.settings.audit_path
            key = self.settings.audit_key
            self._audit = AuditWriter(path, key) if path is not None else None
            try:
                yield
            finally:
                if self._audit is not None:
                    self._audit.close()

    # -- the audit log ---------------------------------------------------------------------------

    @property
    def auditing(self) -> bool:
        return self._audit is not None

    @property
    def slow_judging(self) -> bool:
        """Whether judging may wait for the LLM monitor, and so runs off the event loop."""
        return self.second_opinions is not None

    def audit(self, kind: str, payload: Mapping[str, Any]) -> Future[None] | None:
        """Queue an audit entry; the future of its write, None when there is no log."""
        return self._audit.write(kind, payload) if self._audit is not None else None

    def _audit_state(self) -> dict[str, Any]:
        if self._audit is None:
            return {"state": "off"}
        state = {"state": "failing" if self._audit.failure else "ok", "path": str(self._audit.path)}
        return {**state, "error": self._audit.failure} if self._audit.failure else state

    async def _audit_down(self) -> str | None:
        """Why requests cannot be recorded now, when they cannot and that stops them.

        While the latest write failed, each request first writes an entry that says
        the log was failing; when that works again, the request goes on."""
        if self._audit is None or self._audit.failure is None:
            return None
        resumed = self._audit.write("audit-resumed", {"after": self._audit.failure})
        try:
            await asyncio.wrap_future(resumed)
        except Exception as error:
            if self.settings.on_audit_error == "allow":
                logger.warning("offswitch guard: serving unrecorded (%s)", _described(error))
                return None
            return _described(error)
        return None

    def _audit_failed(self, api: Api, problem: str) -> Any:
        message = (
            f"offswitch guard: the audit log {self.settings.audit_path} cannot be written "
            f"({problem}); the proxy answers nothing it cannot record"
        )
        logger.error("%s", message)
        return api.error(503, message, "audit_unavailable")

    # -- upstream --------------------------------------------------------------------------------

    async def _send(
        self, request: Request, family: Family, path: str, body: bytes
    ) -> httpx.Response:
        """Forward a request. It is built here rather than by the client, so that the
        upstream sees the agent's headers only: no httpx defaults, and no cookies kept
        from another agent's exchange."""
        assert self._clients, "the proxy's lifespan has not started"
        client = self._clients[next(self._turn) % POOLS]
        url = httpx.URL(str(self.settings.upstream_of(family)) + path)
        if request.url.query:
            url = url.copy_with(query=request.url.query.encode("ascii"))
        outgoing = httpx.Request(
            request.method,
            url,
            content=body,
            headers=_forwarded(request.headers),
            extensions={"timeout": self._timeout.as_dict()},
        )
        return await client.send(outgoing, stream=True)

    def _failure(self, api: Api, upstream: str, error: httpx.TransportError) -> tuple[int, Any]:
        """The status and error body for an upstream that could not be used."""
        timeout = self.settings.upstream_timeout
        lost = "nothing was forwarded to the agent"
        if isinstance(error, httpx.TimeoutException):
            message = f"did not answer within {timeout:g} s; {lost}"
            return 504, api.error(504, _upstream_error(upstream, message), "upstream_timeout")
        if isinstance(error, httpx.ConnectError):
            message = f"could not be reached ({_connect_failure(error)}); {lost}"
            return 502, api.error(502, _upstream_error(upstream, message), "upstream_unavailable")
        message = f"broke off its answer ({_described(error)}); {lost}"
        return 502, api.error(502, _upstream_error(upstream, message), "upstream_error")

    def _stream_failure(self, api: Api, upstream: str) -> Callable[[httpx.TransportError], Any]:
        """The error body for an upstream that stops mid-stream."""

        def failure(error: httpx.TransportError) -> Any:
            timeout = self.settings.upstream_timeout
            held = "tool calls it had not finished were not forwarded to the agent"
            if isinstance(error, httpx.TimeoutException):
                message = f"sent nothing for {timeout:g} s in the middle of the stream; {held}"
                return api.error(504, _upstream_error(upstream, message), "upstream_timeout")
            message = f"broke off the stream ({_described(error)}); {held}"
            return api.error(502, _upstream_error(upstream, message), "upstream_error")

        return failure

    # -- handlers --------------------------------------------------------------------------------

    async def dispatch(self, request: Request) -> Response:
        """Every request: routed on its normalised path, judged, relayed or refused."""
        raw_path = request.scope.get("raw_path") or request.url.path.encode()
        where = route(
            request.method, raw_path.decode("latin-1"), request.headers, request.url.query
        )
        if where.action == "health":
            return self._health()
        if where.action == "root":
            return Response(status_code=200)
        if where.action == "refuse":
            return self._refused_path(request, where)
        if self.settings.upstream_of(where.family) is None:
            option = UPSTREAM_OPTIONS[where.family]
            why = f"no upstream is set for this API (start the proxy with {option} URL)"
            return self._refused_path(request, where, 503, why)
        if where.action == "relay":
            return await self._relay_as_is(request, where)
        return await self._judge(request, where)

    def _health(self) -> Response:
        settings, audit = self.settings, self._audit_state()
        down = audit["state"] == "failing" and settings.on_audit_error == "block"
        body = {
            "status": "audit-failing" if down else "ok",
            "upstream": settings.upstream,
            "policy": settings.policy.name,
            "audit": audit,
        }
        return JSONResponse(body, status_code=503 if down else 200)

    def _refused_path(
        self, request: Request, where: Route, status: int = 404, why: str | None = None
    ) -> Response:
        """A path that does not reach the upstream: refused in its API's shape, audited."""
        why = why or (
            "this path is neither judged by the proxy nor on its list of paths safe to "
            f"relay ({SAFE_TO_RELAY})"
        )
        message = f"offswitch guard refused {request.method} {where.path}: {why}; nothing was sent"
        logger.warning("%s", message)
        self.audit(
            "refusal",
            {"method": request.method, "path": where.path, "api": where.family, "reason": why},
        )
        body = ERROR_SHAPES[where.family].error(status, message, "path_not_allowed")
        return JSONResponse(body, status_code=status)

    def _refused_history(self, request: Request, where: Route, api: Api, unseen: str) -> Response:
        """A request that continues a conversation the upstream keeps: refused, audited,
        because its earlier calls, which sequence rules look back on, are out of sight."""
        why = (
            f"the request continues a conversation kept on the upstream ({unseen}), whose "
            "earlier tool calls the guard cannot see; send the whole history in `input`, "
            "or start the proxy with --allow-server-history to judge against what the "
            "request carries"
        )
        message = f"offswitch guard refused {request.method} {where.path}: {why}; nothing was sent"
        logger.warning("%s", message)
        self.audit(
            "refusal",
            {"method": request.method, "path": where.path, "api": where.family, "reason": why},
        )
        body = api.error(400, message, "invalid_request_error", "server_history")
        return JSONResponse(body, status_code=400)

    async def _relay_as_is(self, request: Request, where: Route) -> Response:
        """A path whose answer carries no model output: forwarded, returned as it came."""
        api = ERROR_SHAPES[where.family]
        upstream_url = str(self.settings.upstream_of(where.family))
        try:
            upstream = await self._send(
                request, where.family, where.upstream_path, await request.body()
            )
        except httpx.TransportError as error:
            status, body = self._failure(api, upstream_url, error)
            return JSONResponse(body, status_code=status)
        headers = _returned(upstream, HOP_BY_HOP | {"content-length"})
        return RelayResponse(upstream.aiter_raw(), upstream, headers)

    async def _judge(self, request: Request, where: Route) -> Response:
        """A judged path: forward, then judge the calls in the answer."""
        api = where.api
        assert api is not None
        body = await request.body()
        payload = _json_object(body)
        if payload is None:
            message = "offswitch guard: the request body is not a JSON object; nothing was sent"
            return JSONResponse(api.error(400, message, "invalid_request_error"), status_code=400)
        unseen = api.unseen_history(payload)
        if unseen is not None and not self.settings.allow_server_history:
            return self._refused_history(request, where, api, unseen)
        exchange = Exchange(self, api, payload, unseen)
        if (problem := await self._audit_down()) is not None:
            return self._answer(exchange, 503, self._audit_failed(api, problem))
        upstream_url = str(self.settings.upstream_of(where.family))
        try:
            upstream = await self._send(request, where.family, where.upstream_path, body)
        except httpx.TransportError as error:
            return self._failed(exchange, upstream_url, error)
        if upstream.is_success and self._streamed(request, where, payload, upstream):
            return self._relay(exchange, upstream, upstream_url)
        try:
            content = await upstream.aread()
        except httpx.TransportError as error:
            return self._failed(exchange, upstream_url, error)
        finally:
            await _close(upstream)
        exchange.upstream_done()
        if not upstream.is_success:
            exchange.finish(upstream.status_code, _readable(content))
            return Response(content, upstream.status_code, _returned(upstream))
        return await self._judged(exchange, upstream, upstream_url, content)

    @staticmethod
    def _streamed(
        request: Request, where: Route, payload: dict[str, Any], upstream: httpx.Response
    ) -> bool:
        """Whether to relay the answer as a stream: it says it is one, or one was asked
        for (a stream flag, or Gemini's `alt=sse`) and it does not say it is JSON."""
        media = media_type(upstream)
        if media == EVENT_STREAM:
            return True
        if where.streams:
            asked = request.query_params.get("alt", "").lower() == "sse"
        else:
            asked = payload.get("stream") is True
        return asked and media != JSON_TYPE

    def _failed(self, exchange: Exchange, upstream: str, error: httpx.TransportError) -> Response:
        exchange.upstream_done()
        status, body = self._failure(exchange.api, upstream, error)
        logger.warning("%s", _upstream_error(upstream, _described(error)))
        return self._answer(exchange, status, body)

    def _answer(self, exchange: Exchange, status: int, body: Any) -> Response:
        """An answer the proxy makes itself, recorded."""
        exchange.finish(status, body)
        headers = {GUARD_HEADER: exchange.verdict, REQUEST_ID_HEADER: exchange.id}
        return JSONResponse(body, status_code=status, headers=headers)

    async def _judged(
        self, exchange: Exchange, upstream: httpx.Response, upstream_url: str, content: bytes
    ) -> Response:
        """A complete answer without its stopped calls, or refused as a whole."""
        api = exchange.api
        answer = _json_value(content)
        if not isinstance(answer, dict | list):
            what = (
                f"answered {upstream.status_code} with a body that is not JSON; "
                "nothing was forwarded to the agent"
            )
            message = _upstream_error(upstream_url, what)
            logger.warning("%s", message)
            return self._answer(exchange, 502, api.error(502, message, "upstream_error"))
        try:
            changed = await judging(self.slow_judging, partial(api.judge, exchange), answer)
        except Refusal as refusal:
            return await self._confirmed(exchange, 403, refusal.body)
        if exchange.unconfirmed and (problem := await self._audit_problem(exchange)):
            return self._answer(exchange, 503, self._audit_failed(api, problem))
        exchange.finish(upstream.status_code, answer)
        if changed:
            content = json.dumps(answer, ensure_ascii=False).encode()
        headers = _returned(upstream)
        headers.update({GUARD_HEADER: exchange.verdict, REQUEST_ID_HEADER: exchange.id})
        return Response(content, upstream.status_code, headers)

    async def _confirmed(self, exchange: Exchange, status: int, body: Any) -> Response:
        if exchange.unconfirmed and (problem := await self._audit_problem(exchange)):
            return self._answer(exchange, 503, self._audit_failed(exchange.api, problem))
        return self._answer(exchange, status, body)

    async def _audit_problem(self, exchange: Exchange) -> str | None:
        """Why an audit entry of the exchange could not be written, when that stops it."""
        problem = await exchange.audit_problem()
        if problem is not None and self.settings.on_audit_error == "allow":
            logger.warning("offswitch guard: relaying unrecorded (%s)", problem)
            return None
        return problem

    def _relay(self, exchange: Exchange, upstream: httpx.Response, upstream_url: str) -> Response:
        api = exchange.api
        relay = api.relay(exchange, self._stream_failure(api, upstream_url))
        relay.off_loop = self.slow_judging

        def finish() -> None:
            exchange.upstream_done()
            if self.auditing:  # the record is assembled only for the audit log
                exchange.finish(upstream.status_code, relay.record())

        headers = {**_returned(upstream), REQUEST_ID_HEADER: exchange.id}
        pieces = relay.relay(_body(upstream))
        if self.auditing:
            pieces = self._recorded(exchange, pieces)
        return RelayResponse(pieces, upstream, headers, finish)

    async def _recorded(
        self, exchange: Exchange, pieces: AsyncIterator[bytes]
    ) -> AsyncIterator[bytes]:
        """A stream's pieces, each sent once the audit entries of its decisions are
        written; an error event instead when they cannot be."""
        async with aclosing(pieces) as relayed:  # type: ignore[type-var]
            async for piece in relayed:
                if exchange.unconfirmed and (problem := await self._audit_problem(exchange)):
                    api = exchange.api
                    yield api.stream_error(self._audit_failed(api, problem))
                    return
                yield piece


def _own_files(settings: ProxySettings) -> list[Path]:
    audit = [settings.audit_path] if settings.audit_path is not None else []
    return [*audit, *settings.own_files]


def _second_opinions(settings: ProxySettings, monitor: Monitor | None) -> SecondOpinions | None:
    if monitor is None and settings.monitor is not None:
        monitor = monitor_opinion(settings.monitor)
    if monitor is None:
        return None
    return SecondOpinions(SecondTier(monitor, settings.monitor_timeout))


def create_app(settings: ProxySettings, monitor: Monitor | None = None) -> Starlette:
    """The proxy as an ASGI app; its lifespan opens the upstream clients and the audit log.
    `monitor` is a second opinion to ask instead of `settings.monitor`."""
    proxy = GuardProxy(settings, monitor)
    routes = [StarletteRoute("/{path:path}", proxy.dispatch, methods=ALL_METHODS)]
    return Starlette(routes=routes, lifespan=proxy.lifespan)
