"""Google Gemini: `POST /v1beta/models/M:generateContent` and `:streamGenerateContent`
(`?alt=sse` for server-sent events, else one JSON array of responses).

Calls are the candidates' `functionCall` parts; the history is the request's `model`
turns' `functionCall` parts. A stopped call's part becomes a text part that explains
it. Gemini streams each call whole, in one chunk, so a stream is judged chunk by
chunk without holding anything back; a call streamed in parts (`willContinue`,
`partialArgs`, which only Vertex sends) cannot be judged whole and is treated as
unreadable.
"""

from __future__ import annotations

from typing import Any

from offswitch.guard.calls import NO_NAME, read_arguments
from offswitch.guard.proxy._api import Api, Refusal, Relay, ToolCall
from offswitch.guard.proxy._exchange import Exchange
from offswitch.guard.proxy._stream import Event, EventRelay, StreamFailure, sse

STATUSES = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
IN_PARTS = "it was streamed in parts, which the proxy cannot judge whole"


def _function_call(part: Any) -> dict[str, Any] | None:
    if not isinstance(part, dict):
        return None
    call = part.get("functionCall", part.get("function_call"))
    return call if isinstance(call, dict) else None


def part_call(call: dict[str, Any]) -> ToolCall:
    """A `functionCall` as a call."""
    name, call_id = call.get("name"), call.get("id")
    call_id = None if call_id is None else str(call_id)
    if not isinstance(name, str) or not name:
        return ToolCall(None, {}, call_id, NO_NAME)
    arguments, problem = read_arguments(call.get("args"))
    if call.get("willContinue", call.get("will_continue")) or call.get(
        "partialArgs", call.get("partial_args")
    ):
        problem = IN_PARTS
    return ToolCall(name, arguments, call_id, problem)


def _parts(candidate: Any) -> list[Any] | None:
    content = candidate.get("content") if isinstance(candidate, dict) else None
    parts = content.get("parts") if isinstance(content, dict) else None
    return parts if isinstance(parts, list) else None


def judge_response(exchange: Exchange, response: Any) -> bool:
    """Judge the calls of one `GenerateContentResponse` in place; whether anything
    changed. Raises `Refusal` for on_block="error"."""
    candidates = response.get("candidates") if isinstance(response, dict) else None
    changed = False
    for position, candidate in enumerate(candidates if isinstance(candidates, list) else ()):
        parts = _parts(candidate)
        places = [i for i, part in enumerate(parts or ()) if _function_call(part) is not None]
        if parts is None or not places:
            continue
        index = candidate.get("index", position)
        choice = index if isinstance(index, int) else position
        calls = [(part_call(_function_call(parts[i]) or {}), parts[i]) for i in places]
        ruling = exchange.rule(choice, calls)
        if ruling.refused:
            raise exchange.api.blocked(ruling.stopped_notes, ruling.rule)
        for place, note in zip(places, ruling.notes, strict=True):
            if note is not None:
                parts[place] = {"text": note}
                changed = True
    return changed


class GenerateContent(Api):
    name = "gemini-generate-content"

    def history(self, request: dict[str, Any]) -> list[ToolCall]:
        contents = request.get("contents")
        return [
            part_call(call)
            for content in (contents if isinstance(contents, list) else ())
            if isinstance(content, dict) and content.get("role") == "model"
            for part in (content.get("parts") if isinstance(content.get("parts"), list) else ())
            if (call := _function_call(part)) is not None
        ]

    def choices(self, request: dict[str, Any]) -> int:
        config = request.get("generationConfig", request.get("generation_config"))
        count = config.get("candidateCount") if isinstance(config, dict) else None
        return count if isinstance(count, int) and count > 1 else 1

    def error(self, status: int, message: str, kind: str, code: str | None = None) -> Any:
        return {
            "error": {
                "code": status,
                "message": message,
                "status": STATUSES.get(status, "INTERNAL"),
            }
        }

    def stream_error(self, body: Any) -> bytes:
        return sse(body)

    def judge(self, exchange: Exchange, answer: Any) -> bool:
        if isinstance(answer, list):  # a stream asked for without alt=sse: one JSON array
            changed = [judge_response(exchange, response) for response in answer]
            return any(changed)
        return judge_response(exchange, answer)

    def relay(self, exchange: Exchange, failure: StreamFailure) -> Relay:
        return GenerateContentRelay(exchange, failure)


class GenerateContentRelay(EventRelay):
    """Relays a `?alt=sse` stream, judging each chunk's calls as it comes."""

    def __init__(self, exchange: Exchange, failure: StreamFailure) -> None:
        super().__init__(failure)
        self._exchange = exchange
        self._sent: list[Any] = []
        """The chunks as the client received them, for the record."""

    def event(self, event: Event) -> list[bytes]:
        data = event.data
        if isinstance(data, dict) and data.get("error"):
            # The upstream's own error, passed on alone (a chunk may carry calls beside it).
            self.error = data["error"]
            return [event.raw if data.keys() == {"error"} else sse({"error": data["error"]})]
        try:
            changed = judge_response(self._exchange, data)
        except Refusal as refusal:
            return self.refuse(refusal.body)
        if self._exchange.recording and data is not None:
            self._sent.append(data)
        return [sse(data) if changed else event.raw]

    def error_event(self, error: Any) -> bytes:
        return sse(error)

    def record(self) -> dict[str, Any]:
        return {"chunks": self._sent, "error": self.error}
