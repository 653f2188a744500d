"""Latency the guard proxy adds to streamed answers of the four model APIs, under concurrency.

Starts, each in its own process so that none shares a GIL with the client:

- upstream: a scripted model server that streams, in each API's own format (OpenAI Chat
  Completions, OpenAI Responses, Anthropic Messages, Gemini `streamGenerateContent`), a
  short text and then one tool call (`create_file`, allowed by the default policy) whose
  arguments are split over `--chunks` chunks (Gemini sends a call whole: its text comes
  in `--chunks` chunks instead), with a fixed pause after each event;
- relay: a bare byte relay in front of it, built like the proxy (Starlette, httpx, the
  same upstream pools) but judging nothing: the floor of the HTTP stack;
- proxy: `offswitch guard serve` in front of it, without an audit log;
- proxy+audit: the same with an audit log;
- litellm: LiteLLM's proxy (`litellm --config`, one worker, no database), configured to
  relay the same upstream, when it is installed. Each API it cannot relay (its answer is
  not a stream carrying the tool call) is reported and left out.

The client runs in this process, on the same machine (and so the same cores).

Load. By default the load is steady: `--concurrency` simulated agents, each in a
closed loop (send a request, read the stream to its end, send the next), their first
requests staggered evenly over one request's scripted duration so that they do not
arrive in synchronised bursts. Each API is measured in turn, each side in blocks; a
block starts the agents, lets them run for `--warmup-s` (not counted), counts the
requests that start after that until the block's share of `--requests` is reached, and
keeps the agents going, uncounted, until the last counted request has finished, so that
every counted request runs under the full load. The sides take turns block by block, in
rotating order, so that drift in the machine's load falls on all of them; only one
side is under load at a time. `--burst` runs the old worst case instead: rounds of
`--concurrency` requests all started at the same instant, the sides taking turns round
by round.

Reported per API and side: percentiles of the total request time, what each adds to the
direct figures, the CPU time the side's own server process (and its children) spent per
request, the resident memory of each server while idle (after start-up and again after
the run), the machine's cores and load average, and the goals met or missed.

Hold time. The proxy holds a call's fragments back until the upstream's finish event
arrives, then judges the calls and writes the ones it releases. The upstream stamps
its finish event with the time it writes it (`x_sent`, `time.monotonic()`, a clock
shared by all processes of the machine); the client reads the stamp in the first piece
it receives that carries it. Its arrival time minus the stamp is the finish-to-client
latency. Direct it is one hop; through the relay, two hops; through the proxy, two hops
plus the hold. So "proxy minus relay" is the hold as the agent feels it: the guard's
decision plus the proxy's own work and queueing on the event loop. The audit log's
exchanges give the other half: `guard_ms`, the time spent inside the guard's decisions
alone (counted requests only, by their request ids).

    python benchmarks/proxy_latency.py [--quick] [--requests N] [--concurrency C]
        [--chunks K] [--chunk-delay-ms D] [--warmup-s W] [--blocks B] [--burst] [--pin]
        [--apis API ...] [--sides NAME ...]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import importlib.util
import json
import os
import platform
import re
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack, ExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ADDED_P99_GOAL_MS = 5.0
CPU_SHARE_OF_LITELLM_GOAL = 1 / 5
DECISION_P99_GOAL_MS = 1.0
PERCENTILES = (50, 95, 99)
START_TIMEOUT_S = 60.0
PROXY_LOG_LEVEL = "warning"
"""The proxies run without uvicorn's access log (info), as a busy deployment would."""
API_KEY = "sk-bench-" + "0123456789abcdef" * 2
"""The key every client sends; LiteLLM's master key too (it will not start without one)."""
STAMP = "x_sent"
"""The finish event's field with the time the upstream sent it."""
STAMP_VALUE = re.compile(rb'"x_sent":\s*([0-9.eE+-]+)')
TOOL = "create_file"
TEXT = "Writing the notes."


def _arguments(chunks: int) -> list[str]:
    """The tool call's arguments (JSON) in `chunks` fragments."""
    arguments = json.dumps({"name": "notes.txt", "content": "all systems nominal; " * chunks})
    size = -(-len(arguments) // chunks)
    return [arguments[i : i + size] for i in range(0, len(arguments), size)]


def _plain(data: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(data)}\n\n".encode()


def _named(data: dict[str, Any]) -> bytes:
    return f"event: {data['type']}\ndata: {json.dumps(data)}\n\n".encode()


# -- the four APIs' answers, as the upstream streams them ----------------------------------------


def _chat_chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
    chunk = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1_760_000_000,
        "model": "bench",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        **extra,
    }
    return _plain(chunk)


def chat_events(chunks: int) -> list[bytes]:
    pieces = _arguments(chunks)
    first = {"index": 0, "id": "call_0", "type": "function"}
    first["function"] = {"name": TOOL, "arguments": pieces[0]}
    return [
        _chat_chunk({"role": "assistant", "content": TEXT}),
        _chat_chunk({"tool_calls": [first]}),
        *(
            _chat_chunk({"tool_calls": [{"index": 0, "function": {"arguments": p}}]})
            for p in pieces[1:]
        ),
    ]


def chat_finish(chunks: int, sent: float) -> list[bytes]:
    return [_chat_chunk({}, "tool_calls", **{STAMP: sent}), b"data: [DONE]\n\n"]


def _response(status: str, output: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": "resp_bench",
        "object": "response",
        "created_at": 1_760_000_000,
        "status": status,
        "model": "bench",
        "output": output,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
    }


def _responses_output(chunks: int) -> list[dict[str, Any]]:
    text = {"type": "output_text", "text": TEXT, "annotations": []}
    message = {"type": "message", "id": "msg_0", "role": "assistant", "status": "completed"}
    call = {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": TOOL}
    call |= {"arguments": "".join(_arguments(chunks)), "status": "completed"}
    return [{**message, "content": [text]}, call]


def responses_events(chunks: int) -> list[bytes]:
    message, call = _responses_output(chunks)
    where = {"item_id": "msg_0", "output_index": 0, "content_index": 0}
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": _response("in_progress", [])},
        {
            "type": "response.output_item.added",
            "output_index": 0,
            "item": {**message, "content": []},
        },
        {"type": "response.output_text.delta", **where, "delta": TEXT, "logprobs": []},
        {"type": "response.output_item.done", "output_index": 0, "item": message},
        {
            "type": "response.output_item.added",
            "output_index": 1,
            "item": {**call, "arguments": "", "status": "in_progress"},
        },
        *(
            {
                "type": "response.function_call_arguments.delta",
                "item_id": "fc_1",
                "output_index": 1,
                "delta": piece,
            }
            for piece in _arguments(chunks)
        ),
        {
            "type": "response.function_call_arguments.done",
            "item_id": "fc_1",
            "output_index": 1,
            "arguments": call["arguments"],
        },
        {"type": "response.output_item.done", "output_index": 1, "item": call},
    ]
    return [_named({**event, "sequence_number": n}) for n, event in enumerate(events)]


def responses_finish(chunks: int, sent: float) -> list[bytes]:
    completed = {
        "type": "response.completed",
        "response": _response("completed", _responses_output(chunks)),
    }
    return [_named({**completed, "sequence_number": len(responses_events(chunks)), STAMP: sent})]


def anthropic_events(chunks: int) -> list[bytes]:
    message = {"id": "msg_bench", "type": "message", "role": "assistant", "model": "claude-bench"}
    message |= {"content": [], "stop_reason": None, "stop_sequence": None}
    message["usage"] = {"input_tokens": 10, "output_tokens": 1}
    tool_use = {"type": "tool_use", "id": "toolu_1", "name": TOOL, "input": {}}
    events: list[dict[str, Any]] = [
        {"type": "message_start", "message": message},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": TEXT}},
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1, "content_block": tool_use},
        *(
            {
                "type": "content_block_delta",
                "index": 1,
                "delta": {"type": "input_json_delta", "partial_json": piece},
            }
            for piece in _arguments(chunks)
        ),
        {"type": "content_block_stop", "index": 1},
    ]
    return [_named(event) for event in events]


def anthropic_finish(chunks: int, sent: float) -> list[bytes]:
    delta = {"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": None}}
    delta |= {"usage": {"output_tokens": 5}, STAMP: sent}
    return [_named(delta), _named({"type": "message_stop"})]


def _gemini_chunk(parts: list[dict[str, Any]], **extra: Any) -> bytes:
    candidate = {"content": {"role": "model", "parts": parts}, "index": 0}
    return _plain({"candidates": [candidate], "modelVersion": "gemini-bench", **extra})


def gemini_events(chunks: int) -> list[bytes]:
    """Gemini sends a call whole, in the answer's last chunk: the text comes in parts."""
    return [_gemini_chunk([{"text": f"{TEXT} ({n})"}]) for n in range(chunks)]


def gemini_finish(chunks: int, sent: float) -> list[bytes]:
    arguments = json.loads("".join(_arguments(chunks)))
    candidate = {
        "content": {
            "role": "model",
            "parts": [{"functionCall": {"name": TOOL, "args": arguments}}],
        },
        "finishReason": "STOP",
        "index": 0,
    }
    usage = {"promptTokenCount": 10, "candidatesTokenCount": 5, "totalTokenCount": 15}
    return [_plain({"candidates": [candidate], "usageMetadata": usage, STAMP: sent})]


@dataclass(frozen=True)
class ModelApi:
    """One API as the client, the upstream and LiteLLM's configuration see it."""

    name: str
    path: str
    """The path, the same on the upstream, the relay and both proxies."""
    body: dict[str, Any]
    headers: dict[str, str]
    events: Callable[[int], list[bytes]]
    """The answer's events but the finish."""
    finish: Callable[[int, float], list[bytes]]
    """The finish event, stamped with the time it is sent, and what follows it."""

    def request(self) -> bytes:
        return json.dumps(self.body).encode()

    def duration_s(self, chunks: int, delay_s: float) -> float:
        return (len(self.events(chunks)) + len(self.finish(chunks, 0.0))) * delay_s


USER = "Take notes."
JSON = {"content-type": "application/json"}
APIS = {
    api.name: api
    for api in (
        ModelApi(
            "chat",
            "/v1/chat/completions",
            {"model": "bench", "stream": True, "messages": [{"role": "user", "content": USER}]},
            {**JSON, "authorization": f"Bearer {API_KEY}"},
            chat_events,
            chat_finish,
        ),
        ModelApi(
            "responses",
            "/v1/responses",
            {"model": "bench", "stream": True, "input": USER},
            {**JSON, "authorization": f"Bearer {API_KEY}"},
            responses_events,
            responses_finish,
        ),
        ModelApi(
            "anthropic",
            "/v1/messages",
            {
                "model": "claude-bench",
                "stream": True,
                "max_tokens": 256,
                "messages": [{"role": "user", "content": USER}],
            },
            {**JSON, "x-api-key": API_KEY, "anthropic-version": "2023-06-01"},
            anthropic_events,
            anthropic_finish,
        ),
        ModelApi(
            "gemini",
            "/v1beta/models/gemini-bench:streamGenerateContent?alt=sse",
            {"contents": [{"role": "user", "parts": [{"text": USER}]}]},
            {**JSON, "x-goog-api-key": API_KEY},
            gemini_events,
            gemini_finish,
        ),
    )
}


# -- the servers (each run in its own process) ---------------------------------------------------


def serve_upstream(port: int, chunks: int, delay_s: float) -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response, StreamingResponse
    from starlette.routing import Route

    def answer(api: ModelApi) -> Callable[[Request], Any]:
        events = api.events(chunks)

        async def stream() -> AsyncIterator[bytes]:
            for event in events:
                yield event
                await asyncio.sleep(delay_s)
            for event in api.finish(chunks, time.monotonic()):
                yield event
                await asyncio.sleep(delay_s)

        async def handler(request: Request) -> Response:
            await request.body()
            return StreamingResponse(stream(), media_type="text/event-stream")

        return handler

    async def models(request: Request) -> Response:
        return JSONResponse({"object": "list", "data": [{"id": "bench", "object": "model"}]})

    routes = [
        Route("/v1/chat/completions", answer(APIS["chat"]), methods=["POST"]),
        Route("/v1/responses", answer(APIS["responses"]), methods=["POST"]),
        Route("/v1/messages", answer(APIS["anthropic"]), methods=["POST"]),
        Route("/v1beta/models/{call:path}", answer(APIS["gemini"]), methods=["POST"]),
        Route("/v1/models", models),
    ]
    uvicorn.run(Starlette(routes=routes), host="127.0.0.1", port=port, log_level="warning")


def serve_relay(port: int, upstream: str) -> None:
    """A byte relay with the proxy's stack and upstream pools, and nothing else."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response, StreamingResponse
    from starlette.routing import Route

    from offswitch.guard.proxy._app import POOLS, upstream_clients

    clients: list[httpx.AsyncClient] = []
    turn = iter(range(sys.maxsize))
    dropped = {"host", "content-length"}

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with upstream_clients(httpx.Timeout(5.0)) as opened:
            clients.extend(opened)
            yield

    async def relay(request: Request) -> Response:
        client = clients[next(turn) % POOLS]
        url = httpx.URL(f"{upstream}{request.url.path}", query=request.url.query.encode())
        headers = {k: v for k, v in request.headers.items() if k not in dropped}
        outgoing = httpx.Request("POST", url, content=await request.body(), headers=headers)
        answer = await client.send(outgoing, stream=True)

        async def body() -> AsyncIterator[bytes]:
            try:
                async for data in answer.aiter_raw():
                    yield data
            finally:
                await answer.aclose()

        media_type = answer.headers.get("content-type", "text/event-stream")
        return StreamingResponse(body(), status_code=answer.status_code, media_type=media_type)

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    routes = [Route("/health", health), Route("/{path:path}", relay, methods=["POST"])]
    app = Starlette(routes=routes, lifespan=lifespan)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


# -- processes -----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{url}: the server exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{url} did not answer within {START_TIMEOUT_S:.0f} s")


@contextmanager
def running(command: list[str], ready_url: str, env: dict[str, str] | None = None) -> Iterator[int]:
    """Run a server until the block ends; yield its process id."""
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL if env else None, env=env
    )
    try:
        _wait_for(ready_url, process)
        yield process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _this_script(mode: str, port: int, *extra: str) -> list[str]:
    return [sys.executable, __file__, mode, str(port), *extra]


def proxy_command(port: int, upstream: str, audit_log: Path | None) -> list[str]:
    serve = "from offswitch.cli.guard_serve import serve; serve()"
    command = [sys.executable, "-c", serve, "--upstream", f"{upstream}/v1", "--port", str(port)]
    command += ["--anthropic-upstream", upstream, "--gemini-upstream", upstream]
    command += ["--log-level", PROXY_LOG_LEVEL]
    return command + (["--audit-log", str(audit_log)] if audit_log else [])


def litellm_version() -> str | None:
    try:
        return importlib.metadata.version("litellm")
    except importlib.metadata.PackageNotFoundError:
        return None


def litellm_config(upstream: str) -> str:
    """LiteLLM's configuration: each API's model relayed to the scripted upstream."""
    models = [
        ("bench", "openai/bench", f"{upstream}/v1"),
        ("claude-bench", "anthropic/claude-bench", upstream),
        ("gemini-bench", "gemini/gemini-bench", f"{upstream}/v1beta"),
    ]
    return json.dumps(
        {
            "model_list": [
                {
                    "model_name": name,
                    "litellm_params": {"model": model, "api_base": base, "api_key": API_KEY},
                }
                for name, model, base in models
            ],
            "litellm_settings": {"drop_params": True, "set_verbose": False},
            "general_settings": {"master_key": API_KEY},
        }
    )


def litellm_command(port: int, config: Path) -> list[str]:
    found = Path(sys.executable).with_name("litellm")
    executable = str(found) if found.exists() else shutil.which("litellm") or "litellm"
    listen = ["--host", "127.0.0.1", "--port", str(port), "--num_workers", "1"]
    return [executable, "--config", str(config), *listen]


def litellm_environment() -> dict[str, str]:
    """No database, no network: the model cost map from the package, no telemetry."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env |= {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR"}
    return env | {"LITELLM_TELEMETRY": "False", "DISABLE_SCHEMA_UPDATE": "True"}


def _process_tree(pid: int) -> list[int]:
    """A process and its descendants (Linux)."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                pending += [int(child) for child in task.read_text().split()]
            except OSError:
                continue
    return found


def cpu_seconds(pid: int | None) -> float:
    """User and system CPU time of a process and its children so far (Linux); 0 where it
    cannot be read."""
    if pid is None:
        return 0.0
    total = 0.0
    for member in _process_tree(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def rss_mb(pid: int | None) -> float:
    """Resident memory of a process and its children (Linux), in MiB."""
    if pid is None:
        return float("nan")
    total_kb = 0
    for member in _process_tree(pid):
        try:
            status = Path(f"/proc/{member}/status").read_text()
        except OSError:
            continue
        if found := re.search(r"^VmRSS:\s+(\d+) kB", status, re.M):
            total_kb += int(found[1])
    return total_kb / 1024


# -- measuring -----------------------------------------------------------------------------------


@dataclass
class Result:
    total_ms: float
    first_byte_ms: float
    release_ms: float | None
    """From the upstream sending its finish event to the client reading it (or the calls
    the proxy released with it)."""
    request_id: str | None


@dataclass
class Cell:
    """One side's figures for one API."""

    results: list[Result] = field(default_factory=list)
    cpu_s: float = 0.0
    """CPU time of the side's processes while its counted requests ran."""
    served: int = 0
    """Requests that ended while `cpu_s` was counted (counted or not)."""
    client_cpu_s: float = 0.0

    def metric(self, name: str) -> list[float]:
        values = (getattr(result, name) for result in self.results)
        return [value for value in values if value is not None]


@dataclass
class Side:
    name: str
    url: str
    """Base URL, without a path."""
    pid: int | None = None
    """The side's own server process, whose CPU time is counted; None for direct."""
    audit: Path | None = None
    cells: dict[str, Cell] = field(default_factory=dict)
    """Per API it relays."""
    refused: dict[str, str] = field(default_factory=dict)
    """Per API it cannot relay: why."""
    idle_rss_mb: tuple[float, float] = (float("nan"), float("nan"))
    """Resident memory idle after start-up, and idle after the run."""


async def one_request(client: httpx.AsyncClient, url: str, api: ModelApi) -> Result:
    """One streamed request, read to its end."""
    started = time.perf_counter()
    first = stamp_seen = None
    tail = b""
    release = None
    async with client.stream("POST", url, content=api.request(), headers=api.headers) as response:
        response.raise_for_status()
        request_id = response.headers.get("x-offswitch-request-id")
        async for data in response.aiter_raw():
            now = time.perf_counter()
            first = first or now
            if release is None and (stamp_seen is not None or b'"x_sent"' in data):
                stamp_seen = stamp_seen or time.monotonic()
                tail += data
                if found := STAMP_VALUE.search(tail):
                    release = (stamp_seen - float(found[1])) * 1000
    ended = time.perf_counter()
    total, first_byte = (ended - started) * 1000, ((first or ended) - started) * 1000
    return Result(total, first_byte, release, request_id)


async def relays(client: httpx.AsyncClient, url: str, api: ModelApi) -> str | None:
    """Why a side cannot relay the API's streamed tool call; None when it can."""
    try:
        response = await client.post(url, content=api.request(), headers=api.headers)
    except httpx.HTTPError as error:
        return f"{type(error).__name__}: {error}"
    if response.status_code != 200:
        return f"HTTP {response.status_code}: {response.text[:200]}"
    if TOOL not in response.text or "text/event-stream" not in response.headers.get(
        "content-type", ""
    ):
        return f"no streamed {TOOL} call in its answer: {response.text[:200]}"
    if "offswitch" in response.text.lower():
        return f"the guard stopped the call: {response.text[:200]}"
    return None


class Meter:
    """CPU time of a side's process and of this one, between `start` and `stop`."""

    def __init__(self, side: Side, cell: Cell) -> None:
        self.side, self.cell = side, cell
        self.served = 0
        self._running = False

    def start(self) -> None:
        self._cpu, self._client = cpu_seconds(self.side.pid), _own_cpu()
        self._running = True

    def ended(self) -> None:
        self.served += self._running

    def stop(self) -> None:
        if self._running:
            self.cell.cpu_s += cpu_seconds(self.side.pid) - self._cpu
            self.cell.client_cpu_s += _own_cpu() - self._client
            self.cell.served += self.served
        self._running = False


def _own_cpu() -> float:
    times = os.times()
    return times.user + times.system


async def steady_block(
    clients: list[httpx.AsyncClient],
    side: Side,
    api: ModelApi,
    count: int,
    warmup_s: float,
    duration_s: float,
) -> None:
    """`count` counted requests of agents in closed loops, after a warm-up, under full load."""
    url = f"{side.url}{api.path}"
    loop = asyncio.get_running_loop()
    counting_from = loop.time() + duration_s + warmup_s
    cell = side.cells[api.name]
    meter = Meter(side, cell)
    claimed = 0
    finished = loop.create_future()
    kept: list[Result] = []

    async def agent(number: int, client: httpx.AsyncClient) -> None:
        nonlocal claimed
        await asyncio.sleep(duration_s * number / len(clients))
        while not finished.done():
            counted = loop.time() >= counting_from and claimed < count
            if counted:
                if claimed == 0:
                    meter.start()
                claimed += 1
            result = await one_request(client, url, api)
            meter.ended()
            if counted:
                kept.append(result)
                if len(kept) == count:
                    meter.stop()
                    finished.set_result(None)

    await asyncio.gather(*(agent(n, client) for n, client in enumerate(clients)))
    cell.results += kept


async def burst_round(
    clients: list[httpx.AsyncClient], side: Side, api: ModelApi, keep: bool
) -> None:
    url = f"{side.url}{api.path}"
    cell = side.cells[api.name]
    meter = Meter(side, cell)
    meter.start()
    results = await asyncio.gather(*(one_request(client, url, api) for client in clients))
    meter.served = len(results)
    if keep:
        meter.stop()
        cell.results += results


@asynccontextmanager
async def agents(count: int, tls: ssl.SSLContext) -> AsyncIterator[list[httpx.AsyncClient]]:
    """One client per simulated agent, as agents have; new ones for each block, so that no
    connection sits idle past a server's keep-alive while the other sides are loaded.

    One client per agent also keeps the client side cheap: httpcore walks all of a pool's
    connections, squared, whenever a request starts or ends.
    """
    async with AsyncExitStack() as stack:
        yield [
            await stack.enter_async_context(httpx.AsyncClient(timeout=60, verify=tls))
            for _ in range(count)
        ]


async def measure(sides: list[Side], apis: list[ModelApi], args: argparse.Namespace) -> None:
    """Run the load on every side and API, one API after the other."""
    tls = ssl.create_default_context()  # one for all: each costs ~25 ms to make
    async with agents(1, tls) as (client,):
        for side in sides:
            for api in apis:
                problem = await relays(client, f"{side.url}{api.path}", api)
                if problem is None:
                    side.cells[api.name] = Cell()
                else:
                    side.refused[api.name] = problem
    for api in apis:
        serving = [side for side in sides if api.name in side.cells]
        if args.burst:
            async with agents(args.concurrency, tls) as clients:
                await _bursts(clients, serving, api, args)
            continue
        duration_s = api.duration_s(args.chunks, args.chunk_delay_ms / 1000)
        blocks = max(1, min(args.blocks, args.requests))
        for number in range(blocks):
            count = args.requests // blocks + (number < args.requests % blocks)
            shift = number % len(serving)
            for side in serving[shift:] + serving[:shift]:
                async with agents(args.concurrency, tls) as clients:
                    await steady_block(clients, side, api, count, args.warmup_s, duration_s)


async def _bursts(
    clients: list[httpx.AsyncClient], sides: list[Side], api: ModelApi, args: argparse.Namespace
) -> None:
    for side in sides:
        await burst_round(clients, side, api, keep=False)  # warm-up: connections, imports
    for number in range(max(1, -(-args.requests // args.concurrency))):
        shift = number % len(sides)
        for side in sides[shift:] + sides[:shift]:
            await burst_round(clients, side, api, keep=True)


def guard_ms(side: Side, api: str) -> list[float]:
    """The guard's decision time of each counted request of an API, from the audit log."""
    if side.audit is None or not side.audit.exists() or api not in side.cells:
        return []
    from offswitch.guard.audit import entries

    counted = {result.request_id for result in side.cells[api].results}
    return [
        float(entry.payload["guard_ms"])
        for entry in entries(side.audit, "exchange")
        if entry.payload.get("request_id") in counted
    ]


# -- reporting -----------------------------------------------------------------------------------


def percentiles(values: list[float]) -> dict[int, float]:
    if len(values) < 2:
        return {p: values[0] if values else float("nan") for p in PERCENTILES}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {p: cuts[p - 1] for p in PERCENTILES}


def machine() -> str:
    cores = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    model = names[0] if names else platform.processor() or "?"
    return (
        f"machine: {usable} usable cores of {cores} ({model}), "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def _server_stack() -> str:
    found = [name for name in ("uvloop", "httptools") if importlib.util.find_spec(name)]
    return ", ".join(found) if found else "asyncio loop, h11 (neither uvloop nor httptools)"


HEADER = (
    f"{'api':<10}{'side':<12}"
    + "".join(f"{f'p{p}':>8}" for p in PERCENTILES)
    + "  |"
    + "".join(f"{f'+p{p}':>8}" for p in PERCENTILES)
    + f"  |{'hold99':>8}{'CPU/req':>9}{'dec99':>8}"
)
"""Total request time and what it adds to direct (ms), the hold's p99 (finish to client,
minus the relay's), the server's CPU ms per request, the guard decision's p99 (ms)."""


def _number(value: float | None, width: int = 8) -> str:
    return f"{'-':>{width}}" if value is None or value != value else f"{value:>{width}.2f}"


@dataclass
class Row:
    """What the goals are judged on, per API and side."""

    added_p99: float | None
    cpu_ms: float | None
    decision_p99: float | None


def _row(api: str, side: Side, direct: Side, relay: Side | None) -> Row:
    cell = side.cells[api]
    total = percentiles(cell.metric("total_ms"))
    base = percentiles(direct.cells[api].metric("total_ms"))
    added = {p: total[p] - base[p] for p in PERCENTILES} if side is not direct else None
    hold = None
    if relay is not None and side.name.startswith("proxy") and api in relay.cells:
        release, hop = cell.metric("release_ms"), relay.cells[api].metric("release_ms")
        if release and hop:
            hold = percentiles(release)[99] - percentiles(hop)[99]
    cpu = cell.cpu_s * 1000 / max(cell.served, 1) if side.pid else None
    decisions = guard_ms(side, api)
    decision = percentiles(decisions)[99] if decisions else None
    print(
        f"{api:<10}{side.name:<12}"
        + "".join(_number(total[p]) for p in PERCENTILES)
        + "  |"
        + "".join(_number(added[p] if added else None) for p in PERCENTILES)
        + f"  |{_number(hold)}{_number(cpu, 9)}{_number(decision)}"
    )
    return Row(added[99] if added else None, cpu, decision)


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def _goals(rows: dict[tuple[str, str], Row], apis: list[str]) -> None:
    print("goals:")
    for side in ("proxy", "proxy+audit"):
        added = {api: rows[api, side].added_p99 for api in apis if (api, side) in rows}
        if added:
            worst = max(value for value in added.values() if value is not None)
            shown = ", ".join(
                f"{api} {value:.2f}" for api, value in added.items() if value is not None
            )
            print(
                f"  {side}: added p99 < {ADDED_P99_GOAL_MS:g} ms for every API: "
                f"{_verdict(worst < ADDED_P99_GOAL_MS)} ({shown} ms)"
            )
        shares = {
            api: rows[api, side].cpu_ms / rows[api, "litellm"].cpu_ms
            for api in apis
            if (api, side) in rows and (api, "litellm") in rows and rows[api, "litellm"].cpu_ms
        }
        if shares:
            shown = ", ".join(f"{api} {share:.2f}" for api, share in shares.items())
            met = max(shares.values()) <= CPU_SHARE_OF_LITELLM_GOAL
            print(
                f"  {side}: CPU per request <= 1/5 of LiteLLM's: {_verdict(met)} "
                f"(share of LiteLLM's: {shown})"
            )
    decisions = {
        api: rows[api, "proxy+audit"].decision_p99
        for api in apis
        if (api, "proxy+audit") in rows and rows[api, "proxy+audit"].decision_p99 is not None
    }
    if decisions:
        shown = ", ".join(f"{api} {value:.3f}" for api, value in decisions.items())
        met = max(decisions.values()) < DECISION_P99_GOAL_MS
        print(
            f"  guard decision p99 < {DECISION_P99_GOAL_MS:g} ms (audit log): "
            f"{_verdict(met)} ({shown} ms)"
        )


def report(
    sides: list[Side], apis: list[ModelApi], args: argparse.Namespace, load_before: str
) -> None:
    print(machine())
    print(f"servers: {_server_stack()}; load average before {load_before}, after {load_average()}")
    if version := litellm_version():
        print(f"litellm {version}: one worker, no database")
    mode = (
        f"bursts of {args.concurrency} simultaneous requests"
        if args.burst
        else f"{args.concurrency} agents in closed loops, staggered, {args.warmup_s:g} s warm-up "
        f"per block, {args.blocks} blocks per side"
    )
    print(f"load: {mode}; {args.requests} counted requests per API and side")
    print(
        f"answers: text, then one {TOOL} call in {args.chunks} chunks (Gemini: text in "
        f"{args.chunks} chunks, the call whole), {args.chunk_delay_ms:g} ms between events"
    )
    for side in sides:
        for api, problem in side.refused.items():
            print(f"{side.name} does not relay {api}: {problem}")
    print(HEADER)
    direct = sides[0]
    relay = next((side for side in sides if side.name == "relay"), None)
    rows = {
        (api.name, side.name): _row(api.name, side, direct, relay)
        for api in apis
        for side in sides
        if api.name in side.cells and api.name in direct.cells
    }
    print("idle memory (RSS, MiB, after start-up / after the run):")
    for side in sides[1:]:
        start, end = side.idle_rss_mb
        print(f"  {side.name:<12}{start:>8.1f}{end:>8.1f}")
    _goals(rows, [api.name for api in apis])


# -- main ----------------------------------------------------------------------------------------

SIDES = ("relay", "proxy", "proxy+audit", "litellm")
QUICK = {"requests": 100, "blocks": 2, "warmup_s": 0.5}


def pin(core: int, *pids: int | None) -> None:
    """Run processes (and, for pid 0, this one) on one core only: with `--pin` the
    guard does not compete with the load generator for CPU, as on a deployment where
    it has cores of its own."""
    for pid in pids:
        for member in _process_tree(pid) if pid else [0]:
            os.sched_setaffinity(member, {core})


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="Defaults for a check: 100 requests, 2 blocks, 0.5 s warm-up.",
    )
    parser.add_argument("--requests", type=int, default=1000, help="Per API and side.")
    parser.add_argument("--concurrency", type=int, default=50, help="Concurrent streams.")
    parser.add_argument("--chunks", type=int, default=20, help="Tool-call chunks per answer.")
    parser.add_argument("--chunk-delay-ms", type=float, default=5.0, help="Pause between events.")
    parser.add_argument("--warmup-s", type=float, default=1.0, help="Uncounted, per block.")
    parser.add_argument("--blocks", type=int, default=5, help="Blocks per side (steady load).")
    parser.add_argument("--burst", action="store_true", help="Synchronised bursts instead.")
    parser.add_argument(
        "--pin",
        action="store_true",
        help="Load (client, upstream) on core 0, relay and proxies on core 1.",
    )
    parser.add_argument(
        "--apis", nargs="+", choices=list(APIS), default=list(APIS), help="The APIs to load."
    )
    parser.add_argument(
        "--sides", nargs="+", choices=SIDES, default=list(SIDES), help="Besides direct."
    )
    parser.add_argument("--serve-upstream", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--serve-relay", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--upstream", help=argparse.SUPPRESS)
    if "--quick" in sys.argv[1:]:
        parser.set_defaults(**QUICK)
    return parser.parse_args()


def _start_side(
    servers: ExitStack, name: str, upstream: str, scratch: Path, args: argparse.Namespace
) -> Side | None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    audit = scratch / "audit.sqlite" if name == "proxy+audit" else None
    if name == "litellm":
        if litellm_version() is None:
            print("litellm: not installed (pip install 'litellm[proxy]'); left out")
            return None
        config = scratch / "litellm.yaml"
        config.write_text(litellm_config(upstream))
        command, ready, env = (
            litellm_command(port, config),
            f"{url}/health/liveliness",
            litellm_environment(),
        )
    elif name == "relay":
        command, ready, env = (
            _this_script("--serve-relay", port, "--upstream", upstream),
            f"{url}/health",
            None,
        )
    else:
        command, ready, env = proxy_command(port, upstream, audit), f"{url}/health", None
    pid = servers.enter_context(running(command, ready, env))
    if args.pin:
        pin(1, pid)
    return Side(name, url, pid, audit=audit)


def main() -> None:
    args = parse_args()
    if args.serve_upstream:
        serve_upstream(args.serve_upstream, args.chunks, args.chunk_delay_ms / 1000)
        return
    if args.serve_relay:
        serve_relay(args.serve_relay, args.upstream)
        return
    load_before = load_average()
    up = _free_port()
    upstream = f"http://127.0.0.1:{up}"
    pace = ["--chunks", str(args.chunks), "--chunk-delay-ms", str(args.chunk_delay_ms)]
    apis = [APIS[name] for name in args.apis]
    with tempfile.TemporaryDirectory() as scratch, ExitStack() as servers:
        upstream_pid = servers.enter_context(
            running(_this_script("--serve-upstream", up, *pace), f"{upstream}/v1/models")
        )
        if args.pin:
            pin(0, upstream_pid)
        sides = [Side("direct", upstream)]
        for name in (name for name in SIDES if name in args.sides):
            if side := _start_side(servers, name, upstream, Path(scratch), args):
                sides.append(side)
        time.sleep(2.0)  # let start-up work settle before reading idle memory
        started = {side.name: rss_mb(side.pid) for side in sides}
        if args.pin:
            pin(0, 0)
        asyncio.run(measure(sides, apis, args))
        time.sleep(2.0)
        for side in sides:
            side.idle_rss_mb = (started[side.name], rss_mb(side.pid))
        servers.close()  # the audit log is complete once its proxy has stopped
        report(sides, apis, args, load_before)


if __name__ == "__main__":
    main()
