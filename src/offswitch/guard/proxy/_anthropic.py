"""Anthropic Messages: `POST /v1/messages` (Claude Code adds `?beta=true`), streamed or not.

Calls are the answer's `tool_use` content blocks; the history is the request's
assistant messages' `tool_use` blocks. A stopped call's block becomes a text block
that explains it, at the same index; when no call is left, a `tool_use` stop reason
becomes `end_turn`. In a stream a call arrives as `content_block_start`, then
`input_json_delta` fragments, then `content_block_stop`: from the first call's
start, every event is held, and the calls are judged together at `message_delta`
(or when the stream ends), so that a refusal covers them all.
"""

from __future__ import annotations

from typing import Any

from offswitch.guard.calls import NO_NAME, read_arguments
from offswitch.guard.proxy._api import Api, Refusal, Relay, ToolCall
from offswitch.guard.proxy._exchange import Exchange
from offswitch.guard.proxy._stream import Event, HoldingRelay, StreamFailure, named_sse

CALL_BLOCK = "tool_use"
ERROR_TYPES = {400: "invalid_request_error", 403: "permission_error", 404: "not_found_error"}


def block_call(block: dict[str, Any], raw_input: Any = None) -> ToolCall:
    """A `tool_use` block as a call; `raw_input` is the streamed input JSON, when it was."""
    name = block.get("name")
    call_id = block.get("id")
    call_id = None if call_id is None else str(call_id)
    if not isinstance(name, str) or not name:
        return ToolCall(None, {}, call_id, NO_NAME)
    arguments, problem = read_arguments(block.get("input") if raw_input is None else raw_input)
    return ToolCall(name, arguments, call_id, problem)


def _text_block(note: str) -> dict[str, Any]:
    return {"type": "text", "text": note}


def judge_content(exchange: Exchange, content: Any) -> tuple[bool, bool]:
    """Judge the `tool_use` blocks of a message's content in place: (whether anything
    changed, whether a call is left). Raises `Refusal` for on_block="error"."""
    if not isinstance(content, list):
        return False, False
    places = [
        i for i, b in enumerate(content) if isinstance(b, dict) and b.get("type") == CALL_BLOCK
    ]
    if not places:
        return False, False
    ruling = exchange.rule(0, [(block_call(content[i]), content[i]) for i in places])
    if ruling.refused:
        raise exchange.api.blocked(ruling.stopped_notes, ruling.rule)
    for place, note in zip(places, ruling.notes, strict=True):
        if note is not None:
            content[place] = _text_block(note)
    return any(n is not None for n in ruling.notes), any(ruling.allowed)


class Messages(Api):
    name = "anthropic-messages"

    def history(self, request: dict[str, Any]) -> list[ToolCall]:
        messages = request.get("messages")
        return [
            block_call(block)
            for message in (messages if isinstance(messages, list) else ())
            if isinstance(message, dict) and message.get("role") == "assistant"
            for block in (
                message.get("content") if isinstance(message.get("content"), list) else ()
            )
            if isinstance(block, dict) and block.get("type") == CALL_BLOCK
        ]

    def error(self, status: int, message: str, kind: str, code: str | None = None) -> Any:
        return {
            "type": "error",
            "error": {"type": ERROR_TYPES.get(status, "api_error"), "message": message},
        }

    def stream_error(self, body: Any) -> bytes:
        return named_sse(body)

    def judge(self, exchange: Exchange, answer: Any) -> bool:
        if not isinstance(answer, dict):
            return False
        changed, calls_left = judge_content(exchange, answer.get("content"))
        if changed and not calls_left and answer.get("stop_reason") == CALL_BLOCK:
            answer["stop_reason"] = "end_turn"
        return changed

    def relay(self, exchange: Exchange, failure: StreamFailure) -> Relay:
        return MessagesRelay(exchange, failure)


class MessagesRelay(HoldingRelay):
    """Relays a streamed message, holding each `tool_use` block until it is judged."""

    def __init__(self, exchange: Exchange, failure: StreamFailure) -> None:
        super().__init__(failure)
        self._exchange = exchange
        self._blocks: dict[int, dict[str, Any]] = {}
        self._inputs: dict[int, list[str]] = {}
        self._message: dict[str, Any] = {}
        self._content: dict[int, dict[str, Any]] = {}
        """What the client was sent, block by block, for the record."""
        self._stop_reason: Any = None

    def event(self, event: Event) -> list[bytes]:
        data = event.data
        kind = data.get("type") if isinstance(data, dict) else None
        if kind == "error" or event.name == "error":
            self.error = data.get("error") if isinstance(data, dict) else data
            return [event.raw]
        if kind == "message_start":
            return self._message_start(data, event.raw)
        index = data.get("index") if isinstance(data, dict) else None
        index = index if isinstance(index, int) else None
        if kind == "content_block_start" and index is not None:
            block = data.get("content_block")
            if isinstance(block, dict) and block.get("type") == CALL_BLOCK:
                self._blocks[index] = block
                self._inputs[index] = []
                self.start(index)
                self.hold(index, data, event.raw)
                return []
        if kind == "content_block_delta" and index in self._inputs and self.holding:
            delta = data.get("delta")
            if isinstance(delta, dict) and isinstance(delta.get("partial_json"), str):
                self._inputs[index].append(delta["partial_json"])
            self.hold(index, data, event.raw)
            return []
        if kind == "content_block_stop" and index in self._inputs and index not in self.allowed:
            self.hold(index, data, event.raw, last=True)
            return []
        if kind in ("message_delta", "message_stop") and self.holding:
            out = self.end()
            return out if self.ended else out + self.pass_on(None, data, event.raw)
        call = index if index in self._blocks else None
        return self.pass_on(call, data, event.raw)

    def _message_start(self, data: dict[str, Any], raw: bytes) -> list[bytes]:
        message = data.get("message")
        if not isinstance(message, dict):
            return self.pass_on(None, data, raw)
        try:
            changed, _ = judge_content(self._exchange, message.get("content"))
        except Refusal as refusal:
            return self.refuse(refusal.body)
        self._message = {k: v for k, v in message.items() if k != "content"}
        return self.pass_on(None, data, named_sse(data) if changed else raw)

    def _judge(self, indexes: list[int]) -> list[bytes]:
        calls = []
        for index in indexes:
            fragments = self._inputs.get(index) or []
            raw_input = "".join(fragments) if fragments else None
            calls.append((block_call(self._blocks[index], raw_input), self._blocks[index]))
        ruling = self._exchange.rule(0, calls)
        if ruling.refused:
            return self.refuse(self._exchange.api.blocked(ruling.stopped_notes, ruling.rule).body)
        for index, (call, _), allowed, note in zip(
            indexes, calls, ruling.allowed, ruling.notes, strict=True
        ):
            self.judged(index, allowed, note)
            self._content[index] = (
                {"type": CALL_BLOCK, "id": call.id, "name": call.name, "input": call.arguments}
                if allowed
                else _text_block(note or "")
            )
        return self.release()

    def reissue(self, data: Any, raw: bytes) -> bytes:
        if not isinstance(data, dict):
            return raw
        kind = data.get("type")
        if kind == "content_block_delta":
            self._note_text(data)
        elif kind == "message_delta":
            delta = data.get("delta")
            if isinstance(delta, dict):
                calls_left = any(self.allowed.values())
                if delta.get("stop_reason") == CALL_BLOCK and self.allowed and not calls_left:
                    data = {**data, "delta": {**delta, "stop_reason": "end_turn"}}
                    raw = named_sse(data)
                self._stop_reason = data["delta"].get("stop_reason")
        return raw

    def _note_text(self, data: dict[str, Any]) -> None:
        if not self._exchange.recording:
            return
        delta, index = data.get("delta"), data.get("index")
        if (
            isinstance(delta, dict)
            and isinstance(delta.get("text"), str)
            and isinstance(index, int)
        ):
            block = self._content.setdefault(index, {"type": "text", "text": ""})
            block["text"] = str(block.get("text", "")) + delta["text"]

    def explanation(self, call: int, note: str) -> list[bytes]:
        return [
            named_sse(
                {"type": "content_block_start", "index": call, "content_block": _text_block("")}
            ),
            named_sse(
                {
                    "type": "content_block_delta",
                    "index": call,
                    "delta": {"type": "text_delta", "text": note},
                }
            ),
            named_sse({"type": "content_block_stop", "index": call}),
        ]

    def end(self) -> list[bytes]:
        """The held calls judged together (as they stand, if the stream ended early)."""
        incomplete = sorted(i for i in self._inputs if i not in self.allowed)
        return self._judge(incomplete) if incomplete else self.release()

    def error_event(self, error: Any) -> bytes:
        return named_sse(error)

    def record(self) -> dict[str, Any]:
        content = [self._content[i] for i in sorted(self._content)]
        return {
            **self._message,
            "content": content,
            "stop_reason": self._stop_reason,
            "error": self.error,
        }
