"""What the proxy needs to know of one model API: the adapter interface.

Each API the proxy judges (OpenAI Chat Completions and Responses, Anthropic
Messages, Google `generateContent`) has one module that reads the calls of its
answers and of its request history into the guard's one tool-call form, removes
and explains stopped calls in the API's own shape, and words errors as the API
does. The proxy itself (`_app`) routes, forwards, audits and fails closed, the
same way for all of them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from offswitch.guard.calls import ChatCall

if TYPE_CHECKING:
    from offswitch.guard.proxy._exchange import Exchange
    from offswitch.guard.proxy._stream import StreamFailure

ToolCall = ChatCall
"""The guard's one form of a tool call, whatever API it came in: name, decoded
arguments, id, and why it cannot be read in full (None when it can)."""


class Refusal(Exception):
    """An answer refused as a whole (`on_block="error"`): the error body to send, in the
    API's shape, with HTTP 403."""

    def __init__(self, body: dict[str, Any]) -> None:
        super().__init__(body)
        self.body = body


class Relay(Protocol):
    """A stream relay: what to send for the upstream's bytes, and the record of it."""

    error: Any
    off_loop: bool
    """Whether events are judged in a worker thread, off the proxy's event loop."""

    def relay(self, upstream: AsyncIterator[bytes]) -> AsyncIterator[bytes]: ...

    def record(self) -> Any: ...


class Api(ABC):
    """One model API as the proxy sees it."""

    name: ClassVar[str]
    """How the audit log names the API."""

    @abstractmethod
    def history(self, request: dict[str, Any]) -> list[ToolCall]:
        """The assistant's earlier calls in the request, oldest first."""

    def unseen_history(self, request: dict[str, Any]) -> str | None:
        """What of the conversation the upstream keeps and the request only refers to
        (the proxy cannot judge against it); None when the request carries all of it."""
        return None

    def choices(self, request: dict[str, Any]) -> int:
        """How many alternative answers the request asks for."""
        return 1

    @abstractmethod
    def error(self, status: int, message: str, kind: str, code: str | None = None) -> Any:
        """An error body in the API's shape; `kind` in OpenAI's words (`guard_blocked`,
        `upstream_timeout`, ...), `code` the rule that blocked, if one did."""

    @abstractmethod
    def stream_error(self, body: Any) -> bytes:
        """An error body (from `error`) as the event that ends a stream."""

    @abstractmethod
    def judge(self, exchange: Exchange, answer: Any) -> bool:
        """Judge the calls of a complete answer, removing and explaining stopped ones in
        place; whether anything changed. Raises `Refusal` to refuse it as a whole."""

    @abstractmethod
    def relay(self, exchange: Exchange, failure: StreamFailure) -> Relay:
        """A relay for one streamed answer."""

    def blocked(self, notes: list[str], rule: str | None) -> Refusal:
        """The refusal of an answer whose calls were stopped (`on_block="error"`)."""
        return Refusal(self.error(403, "\n".join(notes), "guard_blocked", rule))
