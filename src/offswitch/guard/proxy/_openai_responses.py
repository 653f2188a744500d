"""OpenAI Responses: `POST /v1/responses`, streamed or not (Codex CLI speaks only this).

Calls are the answer's output items the client runs: `function_call`,
`custom_tool_call`, `local_shell_call` (its command an argument list, read as the
command line that runs it), `shell_call`, `apply_patch_call`, `computer_call`. The
history is the request's `input` items of the same types. A stopped call's item is
replaced, at the same output index, by an assistant message that explains it.

In a stream a call arrives as `response.output_item.added`, argument deltas, then
`response.output_item.done`: from the first call's start, every event is held, and
the calls are judged together when the whole response comes (`response.completed`,
`response.incomplete`, ...) or the stream ends, so that a refusal covers them all.
Events that carry the whole response have their output judged and rewritten too,
and sequence numbers are renumbered so that they stay consecutive.

A request that continues a conversation the upstream keeps (`previous_response_id`,
`conversation`) carries only its newest turns: `unseen_history` names what is missing,
and the proxy refuses it unless told to judge against what it sees.
"""

from __future__ import annotations

from typing import Any

from offswitch.guard.calls import NO_NAME, UNREADABLE_ARGUMENTS, read_arguments
from offswitch.guard.proxy._api import Api, Relay, ToolCall
from offswitch.guard.proxy._exchange import Exchange
from offswitch.guard.proxy._openai_chat import error_body
from offswitch.guard.proxy._stream import Event, HoldingRelay, StreamFailure, named_sse

CLIENT_CALLS = frozenset(
    {
        "function_call",
        "custom_tool_call",
        "local_shell_call",
        "shell_call",
        "apply_patch_call",
        "computer_call",
    }
)
"""Output item types the client carries out (the provider runs the other `*_call`s)."""
SERVER_HISTORY = ("previous_response_id", "conversation")
"""Request fields that continue a conversation the upstream keeps: its earlier turns,
and the calls in them, never pass through the proxy."""
NOT_ARGUMENTS = frozenset({"type", "id", "call_id", "status", "name"})
NOT_WORDS = "its command is not a list of words"


def is_call(item: Any) -> bool:
    return isinstance(item, dict) and item.get("type") in CLIENT_CALLS


def item_call(item: dict[str, Any], streamed: str | None = None) -> ToolCall:
    """An output (or input) item as a call; `streamed` is its arguments or input as
    streamed so far, for an item that never completed."""
    kind = item.get("type")
    call_id = item.get("call_id") or item.get("id")
    call_id = None if call_id is None else str(call_id)
    action = item.get("action") if isinstance(item.get("action"), dict) else {}
    if kind == "function_call":
        name = item.get("name")
        if not isinstance(name, str) or not name:
            return ToolCall(None, {}, call_id, NO_NAME)
        arguments, problem = read_arguments(item.get("arguments") if streamed is None else streamed)
        return ToolCall(name, arguments, call_id, problem)
    if kind == "custom_tool_call":
        name = item.get("name")
        if not isinstance(name, str) or not name:
            return ToolCall(None, {}, call_id, NO_NAME)
        text = item.get("input") if streamed is None else streamed
        return ToolCall(name, {"input": str(text or "")}, call_id)
    if kind == "local_shell_call":
        command = action.get("command")
        if not _words(command):
            return ToolCall("local_shell", {UNREADABLE_ARGUMENTS: command}, call_id, NOT_WORDS)
        return ToolCall("local_shell", {"command": command}, call_id)
    if kind == "shell_call":
        commands = action.get("commands")
        if not _words(commands):
            return ToolCall("shell", {UNREADABLE_ARGUMENTS: commands}, call_id, NOT_WORDS)
        return ToolCall("shell", {"command": "\n".join(commands)}, call_id)
    arguments = {k: v for k, v in item.items() if k not in NOT_ARGUMENTS}
    return ToolCall(str(kind).removesuffix("_call"), arguments, call_id)


def _words(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(w, str) for w in value)


def explanation_item(item_id: str, note: str) -> dict[str, Any]:
    """The assistant message that takes a stopped call's place."""
    return {
        "type": "message",
        "id": item_id,
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": note, "annotations": []}],
    }


def judge_output(exchange: Exchange, output: Any, prefix: str) -> bool:
    """Judge the call items of an output list in place; whether anything changed."""
    if not isinstance(output, list):
        return False
    places = [i for i, item in enumerate(output) if is_call(item)]
    if not places:
        return False
    ruling = exchange.rule(0, [(item_call(output[i]), output[i]) for i in places])
    if ruling.refused:
        raise exchange.api.blocked(ruling.stopped_notes, ruling.rule)
    for place, note in zip(places, ruling.notes, strict=True):
        if note is not None:
            output[place] = explanation_item(f"{prefix}_{place}", note)
    return any(note is not None for note in ruling.notes)


class Responses(Api):
    name = "openai-responses"

    def history(self, request: dict[str, Any]) -> list[ToolCall]:
        items = request.get("input")
        return [
            item_call(item) for item in (items if isinstance(items, list) else ()) if is_call(item)
        ]

    def unseen_history(self, request: dict[str, Any]) -> str | None:
        kept = [
            f"{field} {request[field]!r}"
            for field in SERVER_HISTORY
            if request.get(field) not in (None, "")
        ]
        return ", ".join(kept) or None

    def error(self, status: int, message: str, kind: str, code: str | None = None) -> Any:
        return error_body(message, kind, code)

    def stream_error(self, body: Any) -> bytes:
        return b"".join(_error_events(body, 0, None))

    def judge(self, exchange: Exchange, answer: Any) -> bool:
        if not isinstance(answer, dict):
            return False
        return judge_output(exchange, answer.get("output"), f"msg_offswitch_{exchange.id[:12]}")

    def relay(self, exchange: Exchange, failure: StreamFailure) -> Relay:
        return ResponsesRelay(exchange, failure)


def _error_events(body: Any, sequence: int, response: dict[str, Any] | None) -> list[bytes]:
    """An `error` event, then `response.failed`: the SDK's error event, and the end of
    the response that clients such as Codex wait for."""
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {"message": str(body)}
    message, code = str(error.get("message") or ""), error.get("code") or error.get("type")
    failed = {
        **(response or {"object": "response", "output": []}),
        "status": "failed",
        "error": {"code": code, "message": message},
        "output": [],
    }
    return [
        named_sse(
            {
                "type": "error",
                "code": code,
                "message": message,
                "param": None,
                "sequence_number": sequence,
            }
        ),
        named_sse({"type": "response.failed", "response": failed, "sequence_number": sequence + 1}),
    ]


class ResponsesRelay(HoldingRelay):
    """Relays a streamed response, holding each call item until it is judged."""

    def __init__(self, exchange: Exchange, failure: StreamFailure) -> None:
        super().__init__(failure)
        self._exchange = exchange
        self._prefix = f"msg_offswitch_{exchange.id[:12]}"
        self._items: dict[int, dict[str, Any]] = {}
        self._streamed: dict[int, list[str]] = {}
        self._done: set[int] = set()
        """Call items the upstream has finished (`response.output_item.done`)."""
        self._next: int | None = None
        """The sequence number of the next event sent."""
        self._response: dict[str, Any] | None = None
        """The latest whole response, as the client received it."""

    def event(self, event: Event) -> list[bytes]:
        data = event.data
        if not isinstance(data, dict):
            return self.pass_on(None, data, event.raw)
        kind = str(data.get("type") or event.name or "")
        if kind == "error":
            self.error = data
            return [self.reissue(data, event.raw)]
        if isinstance(data.get("response"), dict):
            return self._whole(data, event.raw)
        index = data.get("output_index")
        index = index if isinstance(index, int) else None
        item = data.get("item")
        starts = kind in ("response.output_item.added", "response.output_item.done")
        if starts and index is not None and is_call(item) and index not in self._items:
            self._items[index] = item
            self._streamed[index] = []
            self.start(index)
        if index in self._items and index not in self.allowed:
            return self._call_event(index, kind, data, event.raw)
        return self.pass_on(index if index in self._items else None, data, event.raw)

    def _call_event(self, index: int, kind: str, data: dict[str, Any], raw: bytes) -> list[bytes]:
        """An event of a call not yet judged: held, and the call judged when it is done."""
        if kind == "response.output_item.done":
            self._items[index] = data["item"]
            self._done.add(index)
            self.hold(index, data, raw, last=True)
            return []
        if kind.endswith(".delta") and isinstance(data.get("delta"), str):
            self._streamed[index].append(data["delta"])
        self.hold(index, data, raw)
        return []

    def _judge(self, indexes: list[int]) -> list[bytes]:
        calls = []
        for index in indexes:
            streamed = None if index in self._done else "".join(self._streamed[index]) or None
            calls.append((item_call(self._items[index], streamed), self._items[index]))
        ruling = self._exchange.rule(0, calls)
        if ruling.refused:
            return self.refuse(self._exchange.api.blocked(ruling.stopped_notes, ruling.rule).body)
        for index, allowed, note in zip(indexes, ruling.allowed, ruling.notes, strict=True):
            self.judged(index, allowed, note)
        return self.release()

    def _whole(self, data: dict[str, Any], raw: bytes) -> list[bytes]:
        """An event carrying the whole response: its calls judged (those not streamed
        as items too), the stopped ones replaced by their explanation."""
        out = self.end() if self.holding else []
        if self.ended:
            return out
        response = data["response"]
        output = response.get("output")
        if isinstance(output, list) and any(is_call(item) for item in output):
            output = list(output)
            fresh = [p for p, item in enumerate(output) if is_call(item) and p not in self.allowed]
            if fresh:
                ruling = self._exchange.rule(0, [(item_call(output[p]), output[p]) for p in fresh])
                if ruling.refused:
                    body = self._exchange.api.blocked(ruling.stopped_notes, ruling.rule).body
                    return out + self.refuse(body)
                for place, allowed, note in zip(fresh, ruling.allowed, ruling.notes, strict=True):
                    self.judged(place, allowed, note)
            for place, item in enumerate(output):
                if is_call(item) and not self.allowed.get(place, True):
                    output[place] = explanation_item(f"{self._prefix}_{place}", self.notes[place])
            data = {**data, "response": {**response, "output": output}}
            raw = named_sse(data)
        self._response = data["response"]
        return out + self.pass_on(None, data, raw)

    def reissue(self, data: Any, raw: bytes) -> bytes:
        if not isinstance(data, dict) or not isinstance(data.get("sequence_number"), int):
            return raw
        if self._next is None:
            self._next = data["sequence_number"]
        if data["sequence_number"] != self._next:
            data = {**data, "sequence_number": self._next}
            raw = named_sse(data)
        self._next += 1
        return raw

    def _numbered(self, data: dict[str, Any]) -> bytes:
        number = self._next if self._next is not None else 0
        self._next = number + 1
        return named_sse({**data, "sequence_number": number})

    def explanation(self, call: int, note: str) -> list[bytes]:
        item = explanation_item(f"{self._prefix}_{call}", note)
        part = item["content"][0]
        where = {"item_id": item["id"], "output_index": call}
        started = {**item, "status": "in_progress", "content": []}
        events = [
            {"type": "response.output_item.added", "output_index": call, "item": started},
            {
                "type": "response.content_part.added",
                **where,
                "content_index": 0,
                "part": {**part, "text": ""},
            },
            {
                "type": "response.output_text.delta",
                **where,
                "content_index": 0,
                "delta": note,
                "logprobs": [],
            },
            {
                "type": "response.output_text.done",
                **where,
                "content_index": 0,
                "text": note,
                "logprobs": [],
            },
            {"type": "response.content_part.done", **where, "content_index": 0, "part": part},
            {"type": "response.output_item.done", "output_index": call, "item": item},
        ]
        return [self._numbered(event) for event in events]

    def end(self) -> list[bytes]:
        """The held calls judged together, at the end of the response (when the whole
        response comes, or the stream ends): as they stand, if they are incomplete."""
        incomplete = sorted(i for i in self._items if i not in self.allowed)
        return self._judge(incomplete) if incomplete else self.release()

    def error_event(self, error: Any) -> bytes:
        number = self._next if self._next is not None else 0
        return b"".join(_error_events(error, number, self._response))

    def record(self) -> dict[str, Any]:
        return {"response": self._response, "error": self.error}
