"""Relaying streamed answers while holding their tool calls back.

`StreamRelay` relays a streamed chat completion; `EventRelay` and `HoldingRelay` are
the machinery the other APIs' streams share (events whose calls arrive in parts are
held until the call is complete and judged).

For chat completions:

Text reaches the client the moment it arrives. Tool-call fragments are collected
per choice and call index and held back; when the choice finishes (or the stream
ends) the complete calls are judged, and only the calls that may run are sent on,
each whole in one delta, followed by the explanation of those that were stopped
and the finish chunk. A stream that breaks off ends with an error event instead:
calls are never released unjudged.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

T = TypeVar("T")
R = TypeVar("R")

DONE = b"[DONE]"
CALL_MARKERS = (b'"tool_calls"', b'"function_call"', b'"error"', b"\\u")
"""Byte strings whose absence shows, without decoding, that an event's data carries no
call and no error. A JSON key can only be spelled otherwise with a `\\u` escape, which
is itself one of them."""
CALL_KEYS = ("tool_calls", "function_call")
"""Delta fields that carry calls: tool calls, and the deprecated single function call
that some servers (llama.cpp among them) still send beside them."""


async def judging(off_loop: bool, work: Callable[[T], R], what: T) -> R:
    """`work(what)`, in a worker thread when `off_loop`: judging that may wait for the
    LLM monitor must not hold up the proxy's other requests; the rules alone are fast
    enough to run on the loop."""
    if off_loop:
        return await asyncio.to_thread(work, what)
    return work(what)


@dataclass(frozen=True)
class Verdict:
    """What the guard lets through of the calls of one assistant message."""

    tool_calls: list[dict[str, Any]]
    """The tool calls that may run, as they came, in their original order."""
    function_call: dict[str, Any] | None
    """The deprecated `function_call`, when there was one and it may run."""
    notes: list[str]
    """One line per stopped call, for the message's content."""
    error: dict[str, Any] | None = None
    """An OpenAI-style error body that replaces the whole response (on_block="error")."""

    @property
    def has_calls(self) -> bool:
        return bool(self.tool_calls) or self.function_call is not None


Judge = Callable[[int, list[dict[str, Any]], dict[str, Any] | None], Verdict]
"""(choice index, its complete tool calls, its legacy function call) -> verdict."""
Failure = Callable[[httpx.TransportError], dict[str, Any]]
"""The error body to send when the upstream breaks off mid-stream."""


def sse(data: Any) -> bytes:
    """One server-sent event carrying `data` as compact JSON."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return f"data: {text}\n\n".encode()


@dataclass
class _Fragments:
    """One call as it streams in: id, type and name as first given, arguments joined."""

    id: str = ""
    type: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)

    def add(self, delta: dict[str, Any], function: dict[str, Any]) -> None:
        # Names are taken once: some servers repeat the whole name in every fragment.
        self.id = self.id or str(delta.get("id") or "")
        self.type = self.type or str(delta.get("type") or "")
        self.name = self.name or str(function.get("name") or "")
        if function.get("arguments"):
            self.arguments.append(str(function["arguments"]))

    def function_call(self) -> dict[str, Any]:
        return {"name": self.name, "arguments": "".join(self.arguments)}

    def tool_call(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type or "function", "function": self.function_call()}


@dataclass
class _Choice:
    """One choice of the stream: what is held back, and what the client has seen."""

    index: int
    calls: dict[int, _Fragments] = field(default_factory=dict)
    legacy: _Fragments | None = None
    role: str = "assistant"
    content: list[str] = field(default_factory=list)
    sent_tool_calls: list[dict[str, Any]] = field(default_factory=list)
    sent_function_call: dict[str, Any] | None = None
    finish_reason: str | None = None

    @property
    def holding(self) -> bool:
        return bool(self.calls) or self.legacy is not None

    def note(self, delta: dict[str, Any]) -> None:
        """Keep what the client is shown of this delta, for the record."""
        if isinstance(delta.get("role"), str):
            self.role = delta["role"]
        if isinstance(delta.get("content"), str):
            self.content.append(delta["content"])

    def hold(self, tool_calls: Any, function_call: Any) -> None:
        for delta in tool_calls if isinstance(tool_calls, list) else ():
            if isinstance(delta, dict):
                index = delta.get("index")
                slot = self.calls.setdefault(index if isinstance(index, int) else 0, _Fragments())
                function = delta.get("function")
                slot.add(delta, function if isinstance(function, dict) else {})
        if isinstance(function_call, dict):
            self.legacy = self.legacy or _Fragments()
            self.legacy.add({}, function_call)

    def take(self) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """The complete held calls, which are no longer held."""
        calls = [self.calls[index].tool_call() for index in sorted(self.calls)]
        legacy = self.legacy.function_call() if self.legacy else None
        self.calls, self.legacy = {}, None
        return calls, legacy

    def record(self) -> dict[str, Any]:
        """The assembled message as the client received it."""
        message: dict[str, Any] = {"role": self.role, "content": "".join(self.content) or None}
        if self.sent_tool_calls:
            message["tool_calls"] = self.sent_tool_calls
        if self.sent_function_call:
            message["function_call"] = self.sent_function_call
        return {"index": self.index, "message": message, "finish_reason": self.finish_reason}


def _says_something(delta: dict[str, Any]) -> bool:
    return any(value not in (None, "", []) for value in delta.values())


class StreamRelay:
    """Relays one upstream SSE stream, judging its calls before they leave."""

    off_loop = False
    """Whether events are judged in a worker thread (see `judging`)."""

    def __init__(self, judge: Judge, failure: Failure, recording: bool = True) -> None:
        self._judge = judge
        self._failure = failure
        self._recording = recording
        """Whether `record` will be asked for; if not, what only the record needs of the
        events passed on undecoded is never worked out."""
        self._choices: dict[int, _Choice] = {}
        self._latest: dict[str, Any] = {}
        """The latest chunk, whose chunk-level fields (id, model, created, ...) the
        chunks made up at the end of the stream repeat."""
        self.error: dict[str, Any] | None = None
        """The error the stream ended with, if it did."""
        self.done = False
        """Whether the upstream sent `[DONE]`."""
        self._deferred: list[bytes] = []
        """The data of events passed on as they came without being decoded (no calls,
        no error, nothing held back); decoded, in order, only when their effect is
        needed: before the next chunk that is decoded (whether a choice has text decides
        how an explanation is joined to it), or for `record`."""

    async def relay(self, upstream: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        """What to send the client: one piece per read from the upstream, so that a
        read holding many events costs one write."""
        pending = b""
        try:
            async for data in upstream:
                if self.done:
                    continue  # read to the end, so that the connection can be used again
                pending, events = _split_events(pending + data)
                out = await judging(self.off_loop, self._events, events)
                if out:
                    yield out
                if self.error is not None:
                    return
        except httpx.TransportError as error:
            if not self.done:
                yield self._end_with_error(self._failure(error))
            return
        if not self.done:
            out = await judging(self.off_loop, self._last, pending)
            if out:
                yield out

    def _last(self, pending: bytes) -> bytes:
        """What to send for the stream's unterminated rest, and the calls held back."""
        out = self._events([pending])
        if self.error is None:
            out += b"".join(self._release_all())
        return out

    def record(self) -> dict[str, Any]:
        """The response as the client received it, assembled, for the audit log (of a
        relay that is `recording`)."""
        self._catch_up()
        choices = [self._choices[index].record() for index in sorted(self._choices)]
        return {**_fields(self._latest), "choices": choices, "error": self.error}

    # -- events ------------------------------------------------------------------

    def _events(self, events: list[bytes]) -> bytes:
        """What to send for complete events; nothing after an error."""
        out: list[bytes] = []
        for event in events:
            out += self._event(event)
            if self.error is not None:
                break
        return b"".join(out)

    def _event(self, event: bytes) -> list[bytes]:
        event = event.strip(b"\n")
        if not event:
            return []
        raw = event + b"\n\n"
        lines = event.split(b"\n")
        data_lines = [line[5:].removeprefix(b" ") for line in lines if line.startswith(b"data:")]
        if not data_lines:
            return [raw]
        data = b"\n".join(data_lines)
        if self._plain(data):
            self._deferred.append(data)
            return [raw]
        if data == DONE:
            # Nothing is held back (else no event would have been deferred), so the
            # deferred events matter to the record only.
            self._end_of_deferred()
            self.done = True
            released = list(self._release_all())
            return released if self.error is not None else [*released, raw]
        self._catch_up()
        try:
            chunk = json.loads(data)
        except ValueError:
            return [raw]
        if not isinstance(chunk, dict):
            return [raw]
        if chunk.get("error"):
            # The upstream's own error: pass it on, alone (a chunk may carry calls beside
            # it), and drop whatever is held back.
            self.error = chunk["error"]
            return [raw] if chunk.keys() == {"error"} else [self._end_event()]
        choices = chunk.get("choices")
        if not isinstance(choices, list) or not choices:
            return [raw]
        self._latest = chunk
        return self._chunk(chunk, choices, raw)

    def _plain(self, data: bytes) -> bool:
        """Whether an event goes on unchanged whatever it says: it carries no call and no
        error, is not the end, and no choice holds calls back that it could finish."""
        if data == DONE or any(marker in data for marker in CALL_MARKERS):
            return False
        return not any(state.holding for state in self._choices.values())

    def _end_of_deferred(self) -> None:
        """At the end of the stream: the deferred events taken into the record, or, when
        there is no record, dropped undecoded."""
        if self._recording:
            self._catch_up()
        else:
            self._deferred = []

    def _catch_up(self) -> None:
        """Take the deferred events into the record, in the order they came."""
        deferred, self._deferred = self._deferred, []
        for data in deferred:
            try:
                chunk = json.loads(data)
            except ValueError:
                continue
            choices = chunk.get("choices") if isinstance(chunk, dict) else None
            if not isinstance(choices, list) or not choices:
                continue
            self._latest = chunk
            self._chunk(chunk, choices, b"")

    def _chunk(self, chunk: dict[str, Any], choices: list[Any], raw: bytes) -> list[bytes]:
        """The chunk as it came when it carries no calls; otherwise rewritten."""
        sent: list[dict[str, Any]] = []
        rewritten = False
        for choice in choices:
            if not isinstance(choice, dict):
                continue
            parts = self._choice(choice)
            rewritten = rewritten or parts is not None
            sent.extend([choice] if parts is None else parts)
            if self.error is not None:
                return [*self._chunks(sent, _fields(chunk)), self._end_event()]
        return self._chunks(sent, chunk) if rewritten else [raw]

    def _choice(self, choice: dict[str, Any]) -> list[dict[str, Any]] | None:
        """What to send for one choice of a chunk; None to send it unchanged."""
        index = choice.get("index", 0)
        state = self._choices.setdefault(index, _Choice(index))
        delta = choice.get("delta")
        delta = delta if isinstance(delta, dict) else {}
        state.note(delta)
        tool_calls, function_call = delta.get("tool_calls"), delta.get("function_call")
        finish = choice.get("finish_reason")
        if not tool_calls and not function_call and not (finish and state.holding):
            state.finish_reason = finish or state.finish_reason
            return None
        state.hold(tool_calls, function_call)
        rest = {k: v for k, v in delta.items() if k not in CALL_KEYS}
        parts = [{**choice, "delta": rest, "finish_reason": None}] if _says_something(rest) else []
        if finish:
            parts.extend(self._release(state, finish))
        return parts

    # -- releasing held calls ----------------------------------------------------------

    def _release(self, state: _Choice, finish: str | None) -> list[dict[str, Any]]:
        """Judge a choice's held calls: the choices to send for what survives, the
        explanation and the finish; or nothing, when the verdict is an error."""
        tool_calls, function_call = state.take()
        verdict = self._judge(state.index, tool_calls, function_call)
        if verdict.error is not None:
            self.error = verdict.error
            return []
        parts = []
        if verdict.has_calls:
            parts.append(self._calls_choice(state, verdict))
        if verdict.notes:
            text = ("\n\n" if any(state.content) else "") + "\n".join(verdict.notes)
            state.content.append(text)
            parts.append({"index": state.index, "delta": {"content": text}, "finish_reason": None})
        state.finish_reason = _finish_reason(finish, verdict)
        parts.append({"index": state.index, "delta": {}, "finish_reason": state.finish_reason})
        return parts

    def _calls_choice(self, state: _Choice, verdict: Verdict) -> dict[str, Any]:
        delta: dict[str, Any] = {}
        if verdict.tool_calls:
            delta["tool_calls"] = [{"index": i, **c} for i, c in enumerate(verdict.tool_calls)]
            state.sent_tool_calls.extend(verdict.tool_calls)
        if verdict.function_call is not None:
            delta["function_call"] = verdict.function_call
            state.sent_function_call = verdict.function_call
        return {"index": state.index, "delta": delta, "finish_reason": None}

    def _release_all(self) -> Iterator[bytes]:
        """At the end of the stream: judge and release what choices still hold."""
        self._end_of_deferred()
        for state in list(self._choices.values()):
            if not state.holding:
                continue
            parts = self._release(state, None)
            if self.error is not None:
                yield self._end_event()
                return
            yield from self._chunks(parts, _fields(self._latest))

    # -- output ---------------------------------------------------------------------------

    def _chunks(self, choices: list[dict[str, Any]], chunk: dict[str, Any]) -> list[bytes]:
        """One chunk per choice, with the chunk-level fields of `chunk`; the last one
        carries its usage, if it had one."""
        base = _fields(chunk)
        out = [{**base, "choices": [choice]} for choice in choices]
        if "usage" in chunk:
            if out:
                out[-1]["usage"] = chunk["usage"]
            else:
                out.append({**base, "choices": [], "usage": chunk["usage"]})
        return [sse(item) for item in out]

    def _end_event(self) -> bytes:
        return sse({"error": self.error})

    def _end_with_error(self, error: dict[str, Any]) -> bytes:
        self.error = error
        return self._end_event()


def _fields(chunk: dict[str, Any]) -> dict[str, Any]:
    """A chunk's own fields: all but its choices and usage."""
    return {k: v for k, v in chunk.items() if k not in ("choices", "usage")}


def _split_events(buffer: bytes) -> tuple[bytes, list[bytes]]:
    """(the incomplete rest, the complete events) of what was read so far.

    Line ends become `\\n`; a `\\r` at the very end waits for the next read, which
    may bring the `\\n` of the same line end.
    """
    if b"\r" in buffer:
        held = buffer.endswith(b"\r")
        body = (buffer[:-1] if held else buffer).replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        buffer = body + (b"\r" if held else b"")
    *events, rest = buffer.split(b"\n\n")
    return rest, events


def _finish_reason(upstream: str | None, verdict: Verdict) -> str:
    """The upstream's finish reason while calls survive; "stop" when none do."""
    if not verdict.has_calls:
        return "stop"
    if upstream:
        return upstream
    return "tool_calls" if verdict.tool_calls else "function_call"


# -- the machinery of the other APIs' streams ------------------------------------------------


@dataclass(frozen=True)
class Event:
    """One server-sent event: its `event:` name, its data decoded (None when it has no
    data or the data is not JSON), and its bytes as received."""

    name: str | None
    data: Any
    raw: bytes


def read_event(event: bytes) -> Event | None:
    """An event of a stream that `_split_events` split; None for a blank one."""
    event = event.strip(b"\n")
    if not event:
        return None
    name: str | None = None
    data_lines = []
    for line in event.split(b"\n"):
        if line.startswith(b"data:"):
            data_lines.append(line[5:].removeprefix(b" "))
        elif line.startswith(b"event:"):
            name = line[6:].strip().decode("utf-8", errors="replace")
    data = None
    if data_lines:
        try:
            data = json.loads(b"\n".join(data_lines))
        except ValueError:
            data = None
    return Event(name, data, event + b"\n\n")


def named_sse(data: dict[str, Any]) -> bytes:
    """One server-sent event named by its data's `type`, as Responses and Anthropic
    streams send them."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return f"event: {data.get('type')}\ndata: {text}\n\n".encode()


StreamFailure = Callable[[httpx.TransportError], Any]
"""The error body, in the API's shape, to end with when the upstream breaks off
mid-stream."""


class EventRelay:
    """Relays one upstream SSE stream event by event; subclasses say what each event
    becomes (`event`), what is sent when the stream ends (`end`), and how an error
    event looks (`error_event`). After an error nothing more is sent."""

    off_loop = False
    """Whether events are judged in a worker thread (see `judging`)."""

    def __init__(self, failure: StreamFailure) -> None:
        self._failure = failure
        self.error: Any = None
        """The error the stream ended with, if it did."""

    @property
    def ended(self) -> bool:
        return self.error is not None

    async def relay(self, upstream: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        """What to send the client, one piece per read from the upstream."""
        pending = b""
        try:
            async for data in upstream:
                pending, events = _split_events(pending + data)
                out = await judging(self.off_loop, self._events, events)
                if out:
                    yield out
                if self.ended:
                    return
        except httpx.TransportError as error:
            yield b"".join(self.refuse(self._failure(error)))
            return
        out = await judging(self.off_loop, self._last, pending)
        if out:
            yield out

    def _last(self, pending: bytes) -> bytes:
        """What to send for the stream's unterminated rest and its end."""
        out = self._events([pending])
        if not self.ended:
            out += b"".join(self.end())
        return out

    def _events(self, events: list[bytes]) -> bytes:
        out: list[bytes] = []
        for raw in events:
            event = read_event(raw)
            if event is not None:
                out += self.event(event)
            if self.ended:
                break
        return b"".join(out)

    def refuse(self, error: Any) -> list[bytes]:
        """End the stream with an error event in the API's shape."""
        self.error = error
        return [self.error_event(error)]

    def event(self, event: Event) -> list[bytes]:
        raise NotImplementedError

    def end(self) -> list[bytes]:
        return []

    def error_event(self, error: Any) -> bytes:
        raise NotImplementedError


@dataclass
class _Held:
    call: int | None
    """The output index of the call the event belongs to; None for other events."""
    data: Any
    raw: bytes
    last: bool
    """Whether the event completes its call (where an explanation takes its place)."""


class HoldingRelay(EventRelay):
    """An event relay for APIs that stream a call in parts, keyed by its output index.

    While any call is incomplete, every event is held, in order. When the last one
    is complete and judged, the held events go out: those of calls that may run as
    they came (through `reissue`), those of stopped calls replaced, at the event that
    completed them, by `explanation`.
    """

    def __init__(self, failure: StreamFailure) -> None:
        super().__init__(failure)
        self._incomplete: set[int] = set()
        self._held: list[_Held] = []
        self.allowed: dict[int, bool] = {}
        """Judged calls by output index: whether they may run."""
        self.notes: dict[int, str] = {}
        """The explanation of each stopped call, by output index."""

    @property
    def holding(self) -> bool:
        return bool(self._incomplete)

    def start(self, call: int) -> None:
        self._incomplete.add(call)

    def hold(self, call: int | None, data: Any, raw: bytes, last: bool = False) -> None:
        self._held.append(_Held(call, data, raw, last))

    def judged(self, call: int, allowed: bool, note: str | None) -> None:
        self._incomplete.discard(call)
        self.allowed[call] = allowed
        if note is not None:
            self.notes[call] = note

    def pass_on(self, call: int | None, data: Any, raw: bytes) -> list[bytes]:
        """An event to send now, or to hold while a call is incomplete."""
        if self.holding:
            self.hold(call, data, raw)
            return []
        if call is not None and not self.allowed.get(call, True):
            return []  # a late event of a stopped call
        return [self.reissue(data, raw)]

    def release(self) -> list[bytes]:
        """The held events, once no call is incomplete; else nothing yet."""
        if self.holding:
            return []
        out: list[bytes] = []
        held, self._held = self._held, []
        for item in held:
            if item.call is None or self.allowed.get(item.call, True):
                out.append(self.reissue(item.data, item.raw))
            elif item.last:
                out += self.explanation(item.call, self.notes.get(item.call, ""))
        return out

    def reissue(self, data: Any, raw: bytes) -> bytes:
        """An event to send as it came (subclasses may rewrite it)."""
        return raw

    def explanation(self, call: int, note: str) -> list[bytes]:
        raise NotImplementedError
