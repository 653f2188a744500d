"""`offswitch guard serve`: an OpenAI-compatible proxy that judges every tool call.

The proxy sits between an agent harness and its model server. Requests go to the
upstream unchanged; the tool calls in the answers are judged by the guard, with
the agent's earlier calls (from the request's `messages`) replayed first so that
sequence rules see the whole trajectory. Calls the policy stops never reach the
agent: they are removed and explained in the message, or the whole answer becomes
an error (`on_block="error"`). A call that cannot be judged is blocked unless
`on_guard_error="flag"`.

Headers, API keys included, go to the upstream only: never into the audit log or
the Python logs.
"""

from __future__ import annotations

import copy
import itertools
import json
import logging
import os
import queue
import threading
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from functools import cached_property
from pathlib import Path
from time import perf_counter
from typing import Any, Literal
from uuid import uuid4

import anyio
import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from offswitch.guard.audit import AuditLog
from offswitch.guard.engine import Decision, Guard, GuardSession, cannot_judge
from offswitch.guard.policy import Policy
from offswitch.guard.proxy._stream import StreamRelay, Verdict
from offswitch.guard.transcripts import NO_NAME, assistant_calls, chat_call

logger = logging.getLogger(__name__)

GUARD_HEADER = "x-offswitch-guard"
"""On answers that are not streamed: `allowed`, `flagged` or `blocked`. A stream's
headers leave before its calls are judged, so streams do not carry it."""
REQUEST_ID_HEADER = "x-offswitch-request-id"
"""The id under which the request's audit entries are kept."""
GUARD_ERROR_RULE = "guard-error"
"""The rule named in a decision about a call the guard could not judge."""
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
CHAT_PATH = "/chat/completions"
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
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


class ProxySettings(BaseModel):
    """How the proxy runs."""

    model_config = ConfigDict(frozen=True)

    upstream: str
    """Base URL of the OpenAI-compatible model server, ending in /v1."""
    policy: Policy
    audit_path: Path | None = None
    on_block: Literal["message", "error"] = "message"
    """`message`: remove stopped calls and explain them in the message; `error`: answer
    HTTP 403 (in a stream, an error event) instead."""
    upstream_timeout: float = Field(default=120.0, gt=0)
    """Seconds to wait for the upstream; for streams, between two chunks."""
    on_guard_error: Literal["block", "flag"] = "block"
    """What happens to a call the guard cannot judge (arguments that are not a JSON
    object, an error in the engine): blocked, or let through flagged."""

    @field_validator("upstream")
    @classmethod
    def _base_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"the upstream must be an http:// or https:// URL, not {value!r}")
        return value.rstrip("/")


def error_body(message: str, kind: str, code: str | None = None) -> dict[str, Any]:
    """An OpenAI-style error body."""
    return {"error": {"message": message, "type": kind, "code": code, "param": None}}


def _upstream_error(upstream: str, what: str, kind: str) -> dict[str, Any]:
    return error_body(f"offswitch guard: the upstream model server {upstream} {what}", kind)


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
    try:
        value = json.loads(data)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _readable(content: bytes) -> Any:
    """An answer body for the audit log: its JSON when it is JSON, else its text."""
    try:
        return json.loads(content)
    except ValueError:
        return content.decode("utf-8", errors="replace")


# -- reading calls ---------------------------------------------------------------------------------


class Unjudgeable(ValueError):
    """A call the guard cannot read; the message says why."""


def _name_of(call: Any) -> str:
    function = call.get("function") if isinstance(call, dict) else None
    name = function.get("name") if isinstance(function, dict) else None
    return name if isinstance(name, str) and name else "a call"


def _key(function: Any) -> tuple[str, str] | None:
    """What identifies a call within one message: its name and raw arguments."""
    if not isinstance(function, dict):
        return None
    return str(function.get("name")), str(function.get("arguments"))


def earlier_calls(messages: Any) -> list[tuple[str, dict[str, Any]]]:
    """(name, arguments) of the assistant's calls in a request's history, in order;
    calls that cannot be read are left out."""
    return [
        (call.name, call.arguments)
        for message in (messages if isinstance(messages, list) else ())
        if isinstance(message, dict) and message.get("role") == "assistant"
        for call in assistant_calls(message)
        if call.name is not None and call.problem is None
    ]


# -- judging ---------------------------------------------------------------------------------------


def _stopped_line(name: str, decision: Decision) -> str:
    line = f"offswitch guard blocked {name} (rule {decision.rule}): {decision.reason}"
    if decision.decision == "escalate":
        line += " (it needs a person's review, and the proxy has nobody to ask)"
    return line


class Exchange:
    """One chat request through the proxy: its history, decisions and timings."""

    def __init__(self, proxy: GuardProxy, request: dict[str, Any]) -> None:
        self.id = uuid4().hex
        self.request = request
        self._proxy = proxy
        n = request.get("n")
        self.choices = n if isinstance(n, int) and n > 1 else 1
        """How many choices the answer may hold; more than one, and each is judged in
        a copy of the replayed history."""
        self._replayed_taken = False
        self._started = perf_counter()
        self.upstream_seconds = 0.0
        self.guard_seconds = 0.0
        self.flagged = False
        self.blocked = False

    @property
    def verdict(self) -> str:
        """The `x-offswitch-guard` value: the most severe outcome of the request's calls."""
        return "blocked" if self.blocked else "flagged" if self.flagged else "allowed"

    def upstream_done(self) -> None:
        self.upstream_seconds = perf_counter() - self._started

    def judge(
        self, choice: int, tool_calls: list[Any], function_call: dict[str, Any] | None
    ) -> Verdict:
        """Judge the calls of one choice's message in order, after the history."""
        started = perf_counter()
        session = self._session()
        kept: list[Any] = []
        stopped: list[tuple[str, Decision]] = []
        by_call: dict[tuple[str, str] | None, Decision] = {}
        for call in tool_calls:
            decision = self._decide(session, call, choice)
            by_call[_key(call.get("function") if isinstance(call, dict) else None)] = decision
            if decision.stops:
                stopped.append((_name_of(call), decision))
            else:
                kept.append(call)
        legacy = function_call
        if function_call is not None:
            # Servers that send both forms repeat a tool call here: same call, same decision.
            decision = by_call.get(_key(function_call))
            if decision is None:
                call = {"type": "function", "function": function_call}
                decision = self._decide(session, call, choice)
                if decision.stops:
                    stopped.append((_name_of(call), decision))
            legacy = None if decision.stops else function_call
        self.guard_seconds += perf_counter() - started
        return self._verdict(kept, legacy, stopped)

    def _verdict(
        self, kept: list[Any], legacy: dict[str, Any] | None, stopped: list[tuple[str, Decision]]
    ) -> Verdict:
        notes = [_stopped_line(name, decision) for name, decision in stopped]
        if not stopped or self._proxy.settings.on_block == "message":
            return Verdict(kept, legacy, notes)
        error = error_body("\n".join(notes), "guard_blocked", stopped[0][1].rule)["error"]
        return Verdict(kept, legacy, notes, error)

    @cached_property
    def _history(self) -> list[tuple[str, dict[str, Any]]]:
        return earlier_calls(self.request.get("messages"))

    @cached_property
    def _replayed(self) -> GuardSession:
        """A session that has seen the history, replayed once for all choices."""
        return self._replay()

    def _replay(self) -> GuardSession:
        session = self._proxy.guard.session()
        for name, arguments in self._history:
            try:
                session.observe(name, arguments)
            except Exception:
                logger.exception("offswitch guard: could not replay an earlier %s call", name)
        return session

    def _session(self) -> GuardSession:
        """The session in which a choice's calls are judged: the replayed one itself when
        the answer has one choice, else a copy, so that choices do not see each other."""
        if self.choices > 1:
            return _fork(self._replayed)
        if self._replayed_taken:  # more choices came than were asked for
            return self._replay()
        self._replayed_taken = True
        return self._replayed

    def _decide(self, session: GuardSession, call: Any, choice: int) -> Decision:
        read = chat_call(call)
        try:
            if read.name is None or read.problem is not None:
                raise Unjudgeable(read.problem or NO_NAME)
            decision = session.decide(read.name, read.arguments)
        except Exception as error:
            decision = self._unjudged(call, error)
        self._note(decision, choice)
        return decision

    def _unjudged(self, call: Any, error: Exception) -> Decision:
        """The decision on a call the guard could not judge: fail closed unless told not to."""
        if isinstance(error, Unjudgeable):
            why = str(error)
        else:
            logger.exception("offswitch guard: the engine failed on a %s call", _name_of(call))
            why = f"the engine failed: {error!r}"
        evidence = json.dumps(call, ensure_ascii=False, default=str)[:400]
        decision = self._proxy.settings.on_guard_error
        return cannot_judge(decision, GUARD_ERROR_RULE, evidence, why, kind="unjudged")

    def _note(self, decision: Decision, choice: int) -> None:
        if decision.decision == "allow":
            return
        self.blocked = self.blocked or decision.stops
        self.flagged = self.flagged or not decision.stops
        logger.info(
            "offswitch guard: %s by rule %s in request %s",
            decision.decision,
            decision.rule,
            self.id,
        )
        if self._proxy.auditing:
            entry = {"request_id": self.id, "choice": choice, **decision.model_dump(mode="json")}
            self._proxy.audit("decision", entry)

    def finish(self, status: int, response: Any) -> None:
        """Keep the request and its answer, as the client received it, in the audit log."""
        if not self._proxy.auditing:
            return
        self._proxy.audit(
            "exchange",
            {
                "request_id": self.id,
                "status": status,
                "verdict": self.verdict,
                "request": self.request,
                "response": response,
                "upstream_ms": round(self.upstream_seconds * 1000, 3),
                "guard_ms": round(self.guard_seconds * 1000, 3),
            },
        )


def _fork(session: GuardSession) -> GuardSession:
    """A copy of a session that judges on without changing the original; the policy and
    the resolver, which judging does not change, are shared."""
    shared = {id(session.policy): session.policy, id(session.resolver): session.resolver}
    return copy.deepcopy(session, shared)


def apply_verdict(choice: dict[str, Any], message: dict[str, Any], verdict: Verdict) -> None:
    """Remove the stopped calls from a message and explain them in its content."""
    if verdict.tool_calls:
        message["tool_calls"] = verdict.tool_calls
    else:
        message.pop("tool_calls", None)
    if verdict.function_call is None:
        message.pop("function_call", None)
    explanation = "\n".join(verdict.notes)
    content = message.get("content")
    has_text = isinstance(content, str) and content
    message["content"] = f"{content}\n\n{explanation}" if has_text else explanation
    if not verdict.has_calls:
        choice["finish_reason"] = "stop"


def _choices(completion: dict[str, Any] | None) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(choice, message) of each choice of a chat completion that has a message."""
    choices = completion.get("choices") if completion is not None else None
    return [
        (choice, choice["message"])
        for choice in (choices if isinstance(choices, list) else ())
        if isinstance(choice, dict) and isinstance(choice.get("message"), dict)
    ]


# -- audit -----------------------------------------------------------------------------------------


class AuditWriter:
    """Appends audit entries from one background thread, in the order they were written.

    An append redacts, hashes and commits to SQLite; done inline it holds up the event
    loop, and with it every stream the proxy relays. `close` writes what is queued.
    """

    def __init__(self, path: Path) -> None:
        self._log = AuditLog(path)
        self._queue: queue.SimpleQueue[tuple[str, Mapping[str, Any]] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="offswitch-audit", daemon=True)
        self._thread.start()

    def write(self, kind: str, payload: Mapping[str, Any]) -> None:
        self._queue.put((kind, payload))

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        self._log.close()

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            kind, payload = item
            try:
                self._log.write(kind, payload)
            except Exception:
                logger.exception(
                    "offswitch guard: could not write a %s entry to the audit log", kind
                )


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


def _is_event_stream(upstream: httpx.Response) -> bool:
    return upstream.headers.get("content-type", "").startswith("text/event-stream")


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

    def __init__(self, settings: ProxySettings) -> None:
        self.settings = settings
        self.guard = Guard(settings.policy)
        self._clients: list[httpx.AsyncClient] = []
        self._timeout = httpx.Timeout(settings.upstream_timeout)
        self._chat_url = httpx.URL(settings.upstream + CHAT_PATH)
        self._turn = itertools.count()
        self._audit: AuditWriter | None = None

    @asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        async with upstream_clients(self._timeout) as clients:
            self._clients = clients
            path = self.settings.audit_path
            self._audit = AuditWriter(path) if path is not None else None
            try:
                yield
            finally:
                if self._audit is not None:
                    self._audit.close()

    @property
    def auditing(self) -> bool:
        return self._audit is not None

    def audit(self, kind: str, payload: Mapping[str, Any]) -> None:
        if self._audit is not None:
            self._audit.write(kind, payload)

    # -- upstream --------------------------------------------------------------------------------

    async def _send(self, request: Request, path: str, body: bytes) -> httpx.Response:
        """Forward a request. It is built here rather than by the client, so that the
        upstream sees the agent's headers only: no httpx defaults, and no cookies kept
        from another agent's exchange."""
        assert self._clients, "the proxy's lifespan has not started"
        client = self._clients[next(self._turn) % POOLS]
        url = self._chat_url if path == CHAT_PATH else httpx.URL(self.settings.upstream + path)
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

    def _failure(self, error: httpx.TransportError) -> tuple[int, dict[str, Any]]:
        """The status and error body for an upstream that could not be used."""
        upstream, timeout = self.settings.upstream, self.settings.upstream_timeout
        lost = "nothing was forwarded to the agent"
        if isinstance(error, httpx.TimeoutException):
            message = f"did not answer within {timeout:g} s; {lost}"
            return 504, _upstream_error(upstream, message, "upstream_timeout")
        if isinstance(error, httpx.ConnectError):
            message = f"could not be reached ({_connect_failure(error)}); {lost}"
            return 502, _upstream_error(upstream, message, "upstream_unavailable")
        message = f"broke off its answer ({_described(error)}); {lost}"
        return 502, _upstream_error(upstream, message, "upstream_error")

    def _stream_failure(self, error: httpx.TransportError) -> dict[str, Any]:
        """The error event's error for an upstream that stops mid-stream."""
        upstream, timeout = self.settings.upstream, self.settings.upstream_timeout
        held = "tool calls it had not finished were not forwarded to the agent"
        if isinstance(error, httpx.TimeoutException):
            message = f"sent nothing for {timeout:g} s in the middle of the stream; {held}"
            return _upstream_error(upstream, message, "upstream_timeout")["error"]
        message = f"broke off the stream ({_described(error)}); {held}"
        return _upstream_error(upstream, message, "upstream_error")["error"]

    # -- handlers --------------------------------------------------------------------------------

    async def health(self, request: Request) -> Response:
        settings = self.settings
        return JSONResponse(
            {"status": "ok", "upstream": settings.upstream, "policy": settings.policy.name}
        )

    async def chat(self, request: Request) -> Response:
        """POST /v1/chat/completions: forward, then judge the calls in the answer."""
        body = await request.body()
        payload = _json_object(body)
        if payload is None:
            message = "offswitch guard: the request body is not a JSON object; nothing was sent"
            return JSONResponse(error_body(message, "invalid_request_error"), status_code=400)
        exchange = Exchange(self, payload)
        try:
            upstream = await self._send(request, CHAT_PATH, body)
        except httpx.TransportError as error:
            return self._failed(exchange, error)
        if upstream.is_success and _is_event_stream(upstream):
            return self._relay(exchange, upstream)
        try:
            content = await upstream.aread()
        except httpx.TransportError as error:
            return self._failed(exchange, error)
        finally:
            await _close(upstream)
        exchange.upstream_done()
        if not upstream.is_success:
            exchange.finish(upstream.status_code, _readable(content))
            return Response(content, upstream.status_code, _returned(upstream))
        return self._judged(exchange, upstream, content)

    def _failed(self, exchange: Exchange, error: httpx.TransportError) -> Response:
        exchange.upstream_done()
        status, body = self._failure(error)
        logger.warning("%s", body["error"]["message"])
        exchange.finish(status, body)
        return JSONResponse(body, status_code=status, headers={REQUEST_ID_HEADER: exchange.id})

    def _judged(self, exchange: Exchange, upstream: httpx.Response, content: bytes) -> Response:
        """A complete answer without its stopped calls, or refused as a whole."""
        completion = _json_object(content)
        changed = False
        choices = _choices(completion)
        exchange.choices = max(exchange.choices, len(choices))
        for choice, message in choices:
            tool_calls = message.get("tool_calls") or []
            function_call = message.get("function_call") or None
            if not tool_calls and function_call is None:
                continue
            calls = tool_calls if isinstance(tool_calls, list) else [tool_calls]
            verdict = exchange.judge(choice.get("index", 0), calls, function_call)
            if verdict.error is not None:
                return self._refused(exchange, verdict.error)
            if verdict.notes:
                apply_verdict(choice, message, verdict)
                changed = True
        exchange.finish(
            upstream.status_code, _readable(content) if completion is None else completion
        )
        if changed:
            content = json.dumps(completion, ensure_ascii=False).encode()
        headers = _returned(upstream)
        headers.update({GUARD_HEADER: exchange.verdict, REQUEST_ID_HEADER: exchange.id})
        return Response(content, upstream.status_code, headers)

    def _refused(self, exchange: Exchange, error: dict[str, Any]) -> Response:
        body = {"error": error}
        exchange.finish(403, body)
        headers = {GUARD_HEADER: exchange.verdict, REQUEST_ID_HEADER: exchange.id}
        return JSONResponse(body, status_code=403, headers=headers)

    def _relay(self, exchange: Exchange, upstream: httpx.Response) -> Response:
        relay = StreamRelay(exchange.judge, self._stream_failure, recording=self.auditing)

        def finish() -> None:
            exchange.upstream_done()
            if self.auditing:  # the record is assembled only for the audit log
                exchange.finish(upstream.status_code, relay.record())

        headers = {**_returned(upstream), REQUEST_ID_HEADER: exchange.id}
        return RelayResponse(relay.relay(_body(upstream)), upstream, headers, finish)

    async def passthrough(self, request: Request) -> Response:
        """Any other /v1 path: forwarded, and its answer returned as it came."""
        raw_path = request.scope.get("raw_path") or request.url.path.encode()
        path = raw_path.decode("latin-1").removeprefix("/v1")  # still percent-encoded
        if request.method == "POST" and path.rstrip("/") == "/responses":
            message = (
                "offswitch guard: the Responses API returns tool calls this proxy does not "
                "judge; use /v1/chat/completions"
            )
            return JSONResponse(error_body(message, "not_supported"), status_code=501)
        try:
            upstream = await self._send(request, path, await request.body())
        except httpx.TransportError as error:
            status, body = self._failure(error)
            return JSONResponse(body, status_code=status)
        headers = _returned(upstream, HOP_BY_HOP | {"content-length"})
        return RelayResponse(upstream.aiter_raw(), upstream, headers)


def create_app(settings: ProxySettings) -> Starlette:
    """The proxy as an ASGI app; its lifespan opens the upstream client and the audit log."""
    proxy = GuardProxy(settings)
    routes = [
        Route("/health", proxy.health, methods=["GET"]),
        Route("/v1/chat/completions", proxy.chat, methods=["POST"]),
        Route("/v1/{path:path}", proxy.passthrough, methods=ALL_METHODS),
    ]
    return Starlette(routes=routes, lifespan=proxy.lifespan)
