"""Latency the guard proxy adds to streamed chat completions under concurrency.

Starts, each in its own process so that none shares a GIL with the client:

- upstream: a scripted model server that streams a short text and then one tool call
  (`create_file`, allowed by the default policy) whose arguments are split over
  `--chunks` chunks, with a fixed pause after each event;
- relay: a bare byte relay in front of it, built like the proxy (Starlette, httpx,
  the same upstream pools) but judging nothing: the floor of the HTTP stack;
- proxy: `offswitch guard serve` in front of it, without an audit log;
- proxy+audit: the same with an audit log.

The client runs in this process, on the same machine (and so the same cores).

Load. By default the load is steady: `--concurrency` simulated agents, each in a
closed loop (send a request, read the stream to its end, send the next), their first
requests staggered evenly over one request's scripted duration so that they do not
arrive in synchronised bursts. Each side is measured in blocks; a block starts the
agents, lets them run for `--warmup-s` (not counted), counts the requests that start
after that until the block's share of `--requests` is reached, and keeps the agents
going, uncounted, until the last counted request has finished, so that every counted
request runs under the full load. The sides take turns block by block, in rotating
order, so that drift in the machine's load falls on all of them. `--burst` runs the
old worst case instead: rounds of `--concurrency` requests all started at the same
instant, the sides taking turns round by round.

Reported per side: percentiles of the total request time and of the time to the
first byte, what each adds to the direct figures and the ratio to them, the CPU time
the side's own server process spent per request (and the client's), the machine's
cores and load average.

Hold time. The proxy holds a call's fragments back until the upstream's finish chunk
arrives, then judges the calls and writes the ones it releases. The upstream stamps
its finish chunk with the time it writes it (`x_sent`, `time.monotonic()`, a clock
shared by all processes of the machine); the proxy copies the chunk-level fields of
the finish chunk onto the chunks it releases, so the client reads the stamp in the
first piece it receives that carries it: the finish chunk (direct, relay) or the
released calls (proxy). Its arrival time minus the stamp is the finish-to-client
latency, measured on every request, not inferred from a schedule the upstream's sleep
overshoot would blur. Direct it is one hop; through the relay, two hops; through the
proxy, two hops plus the hold. So "proxy minus relay" is the hold as the agent feels
it: the guard's decision plus the proxy's own work and queueing on the event loop.
The audit log's exchanges give the other half: `guard_ms`, the time spent inside
the guard's decisions alone (counted requests only, by their request ids).

    python benchmarks/proxy_latency.py [--requests N] [--concurrency C] [--chunks K]
        [--chunk-delay-ms D] [--warmup-s W] [--blocks B] [--burst] [--sides NAME ...]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import platform
import re
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, ExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ADDED_P99_GOAL_MS = 5.0
PERCENTILES = (50, 95, 99)
START_TIMEOUT_S = 30.0
PROXY_LOG_LEVEL = "warning"
"""The proxies run without uvicorn's access log (info), as a busy deployment would."""
REQUEST = json.dumps(
    {"model": "bench", "stream": True, "messages": [{"role": "user", "content": "Take notes."}]}
).encode()
HEADERS = {"content-type": "application/json", "authorization": "Bearer sk-bench-key"}
STAMP = "x_sent"
"""The finish chunk's chunk-level field with the time the upstream sent it."""
STAMP_VALUE = re.compile(rb'"x_sent":\s*([0-9.eE+-]+)')
DONE_EVENT = b"data: [DONE]\n\n"


# -- the servers (each run in its own process) ---------------------------------------------------


def _chunk(delta: dict[str, object], finish: str | None = None, sent: float | None = None) -> bytes:
    chunk: dict[str, object] = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1_760_000_000,
        "model": "bench",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    if sent is not None:
        chunk[STAMP] = sent
    return f"data: {json.dumps(chunk)}\n\n".encode()


def scripted_stream(chunks: int) -> list[bytes]:
    """The events of one answer but the last two: some text, then a tool call in
    `chunks` fragments. The finish chunk (stamped when sent) and `[DONE]` follow."""
    arguments = json.dumps({"name": "notes.txt", "content": "all systems nominal; " * chunks})
    size = -(-len(arguments) // chunks)
    pieces = [arguments[i : i + size] for i in range(0, len(arguments), size)]
    first = {"index": 0, "id": "call_0", "type": "function"}
    first["function"] = {"name": "create_file", "arguments": pieces[0]}
    return [
        _chunk({"role": "assistant", "content": "Writing the notes."}),
        _chunk({"tool_calls": [first]}),
        *(_chunk({"tool_calls": [{"index": 0, "function": {"arguments": p}}]}) for p in pieces[1:]),
    ]


def finish_event() -> bytes:
    """The finish chunk, stamped with the (machine-wide monotonic) time it is sent."""
    return _chunk({}, "tool_calls", sent=time.monotonic())


def events_per_answer(chunks: int) -> int:
    return len(scripted_stream(chunks)) + 2


def serve_upstream(port: int, chunks: int, delay_s: float) -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response, StreamingResponse
    from starlette.routing import Route

    events = scripted_stream(chunks)

    async def stream() -> AsyncIterator[bytes]:
        for event in events:
            yield event
            await asyncio.sleep(delay_s)
        yield finish_event()
        await asyncio.sleep(delay_s)
        yield DONE_EVENT

    async def chat(request: Request) -> Response:
        await request.body()
        return StreamingResponse(stream(), media_type="text/event-stream")

    async def models(request: Request) -> Response:
        return JSONResponse({"object": "list", "data": [{"id": "bench", "object": "model"}]})

    routes = [Route("/v1/chat/completions", chat, methods=["POST"]), Route("/v1/models", models)]
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
    url = httpx.URL(f"{upstream}/chat/completions")
    turn = iter(range(sys.maxsize))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with upstream_clients(httpx.Timeout(5.0)) as opened:
            clients.extend(opened)
            yield

    async def chat(request: Request) -> Response:
        client = clients[next(turn) % POOLS]
        outgoing = httpx.Request("POST", url, content=await request.body(), headers=HEADERS)
        answer = await client.send(outgoing, stream=True)

        async def body() -> AsyncIterator[bytes]:
            try:
                async for data in answer.aiter_raw():
                    yield data
            finally:
                await answer.aclose()

        return StreamingResponse(body(), media_type="text/event-stream")

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    routes = [Route("/v1/chat/completions", chat, methods=["POST"]), Route("/health", health)]
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
            time.sleep(0.1)
    raise SystemExit(f"{url} did not answer within {START_TIMEOUT_S:.0f} s")


@contextmanager
def running(command: list[str], ready_url: str) -> Iterator[int]:
    """Run a server until the block ends; yield its process id."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
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
    command = [sys.executable, "-c", serve, "--upstream", upstream, "--port", str(port)]
    command += ["--log-level", PROXY_LOG_LEVEL]
    return command + (["--audit-log", str(audit_log)] if audit_log else [])


def cpu_seconds(pid: int | None) -> float:
    """User and system CPU time of a process so far (Linux); 0 where it cannot be read."""
    stat = Path(f"/proc/{pid}/stat")
    if pid is None or not stat.exists():
        return 0.0
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- measuring -----------------------------------------------------------------------------------


@dataclass
class Result:
    total_ms: float
    first_byte_ms: float
    release_ms: float | None
    """From the upstream sending its finish chunk to the client reading it (or the calls
    the proxy released with it)."""
    request_id: str | None


@dataclass
class Side:
    name: str
    url: str
    pid: int | None = None
    """The side's own server process, whose CPU time is counted; None for direct."""
    results: list[Result] = field(default_factory=list)
    cpu_s: float = 0.0
    """CPU time of the side's process while its counted requests ran."""
    served: int = 0
    """Requests that ended while `cpu_s` was counted (counted or not)."""
    client_cpu_s: float = 0.0
    audit: Path | None = None

    def metric(self, name: str) -> list[float]:
        values = (getattr(result, name) for result in self.results)
        return [value for value in values if value is not None]


async def one_request(client: httpx.AsyncClient, url: str) -> Result:
    """One streamed request, read to its end."""
    started = time.perf_counter()
    first = stamp_seen = None
    tail = b""
    release = None
    async with client.stream("POST", url, content=REQUEST, headers=HEADERS) as response:
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


class Meter:
    """CPU time of a side's process and of this one, between `start` and `stop`."""

    def __init__(self, side: Side) -> None:
        self.side = side
        self.served = 0
        self._running = False

    def start(self) -> None:
        self._cpu, self._client = cpu_seconds(self.side.pid), _own_cpu()
        self._running = True

    def ended(self) -> None:
        self.served += self._running

    def stop(self) -> None:
        if self._running:
            self.side.cpu_s += cpu_seconds(self.side.pid) - self._cpu
            self.side.client_cpu_s += _own_cpu() - self._client
            self.side.served += self.served
        self._running = False


def _own_cpu() -> float:
    times = os.times()
    return times.user + times.system


async def steady_block(
    clients: list[httpx.AsyncClient], side: Side, count: int, warmup_s: float, duration_s: float
) -> None:
    """`count` counted requests of agents in closed loops, after a warm-up, under full load."""
    url = f"{side.url}/chat/completions"
    loop = asyncio.get_running_loop()
    counting_from = loop.time() + duration_s + warmup_s
    meter = Meter(side)
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
            result = await one_request(client, url)
            meter.ended()
            if counted:
                kept.append(result)
                if len(kept) == count:
                    meter.stop()
                    finished.set_result(None)

    await asyncio.gather(*(agent(n, client) for n, client in enumerate(clients)))
    side.results += kept


async def burst_round(clients: list[httpx.AsyncClient], side: Side, keep: bool) -> None:
    url = f"{side.url}/chat/completions"
    meter = Meter(side)
    meter.start()
    results = await asyncio.gather(*(one_request(client, url) for client in clients))
    meter.served = len(results)
    if keep:
        meter.stop()
        side.results += results


async def measure(sides: list[Side], args: argparse.Namespace) -> None:
    """Run the load on every side, one client per simulated agent.

    One client per agent, as agents have, also keeps the client side cheap: httpcore
    walks all of a pool's connections, squared, whenever a request starts or ends.
    """
    tls = ssl.create_default_context()  # one for all: each costs ~25 ms to make
    async with AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(httpx.AsyncClient(timeout=60, verify=tls))
            for _ in range(args.concurrency)
        ]
        if args.burst:
            for side in sides:
                await burst_round(clients, side, keep=False)  # warm-up: connections, imports
            for number in range(max(1, -(-args.requests // args.concurrency))):
                shift = number % len(sides)
                for side in sides[shift:] + sides[:shift]:
                    await burst_round(clients, side, keep=True)
            return
        duration_s = events_per_answer(args.chunks) * args.chunk_delay_ms / 1000
        blocks = max(1, min(args.blocks, args.requests))
        for number in range(blocks):
            count = args.requests // blocks + (number < args.requests % blocks)
            shift = number % len(sides)
            for side in sides[shift:] + sides[:shift]:
                await steady_block(clients, side, count, args.warmup_s, duration_s)


def guard_ms(side: Side) -> list[float]:
    """The guard's decision time of each counted request, from the audit log."""
    if side.audit is None or not side.audit.exists():
        return []
    from offswitch.guard.audit import entries

    counted = {result.request_id for result in side.results}
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


def _row(label: str, values: dict[int, float], unit: str = "ms") -> str:
    return f"{label:<34}" + "".join(f"{values[p]:>10.2f}" for p in PERCENTILES) + f"  {unit}"


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


def _side_rows(side: Side, direct: Side, relay: Side | None) -> None:
    total, first = percentiles(side.metric("total_ms")), percentiles(side.metric("first_byte_ms"))
    base_total = percentiles(direct.metric("total_ms"))
    base_first = percentiles(direct.metric("first_byte_ms"))
    print(_row(f"{side.name}: total", total))
    print(_row(f"{side.name}: first byte", first))
    if side is not direct:
        added = {p: total[p] - base_total[p] for p in PERCENTILES}
        print(_row(f"{side.name}: added, total", added))
        added_first = {p: first[p] - base_first[p] for p in PERCENTILES}
        print(_row(f"{side.name}: added, first byte", added_first))
        print(
            _row(f"{side.name}: / direct", {p: total[p] / base_total[p] for p in PERCENTILES}, "x")
        )
    release = percentiles(side.metric("release_ms"))
    print(_row(f"{side.name}: finish -> client", release))
    if relay is not None and side.name.startswith("proxy"):
        hop = percentiles(relay.metric("release_ms"))
        print(
            _row(f"{side.name}: hold (minus relay)", {p: release[p] - hop[p] for p in PERCENTILES})
        )
    decisions = guard_ms(side)
    if decisions:
        print(_row(f"{side.name}: guard decision (audit)", percentiles(decisions)))
    served = max(side.served, 1)
    cpu = (
        f"{side.cpu_s * 1000 / served:.2f} ms CPU per request in its own process, "
        if side.pid
        else ""
    )
    line = f"{side.name}: {cpu}client {side.client_cpu_s * 1000 / served:.2f} ms"
    if side is not direct:
        added_p99 = total[99] - base_total[99]
        verdict = "met" if added_p99 < ADDED_P99_GOAL_MS else "missed"
        line += f"; added p99 {added_p99:.2f} ms (goal < {ADDED_P99_GOAL_MS:g} ms: {verdict})"
    print(line)


def report(sides: list[Side], args: argparse.Namespace, load_before: str) -> None:
    print(machine())
    print(f"servers: {_server_stack()}; load average before {load_before}, after {load_average()}")
    mode = (
        f"bursts of {args.concurrency} simultaneous requests"
        if args.burst
        else f"{args.concurrency} agents in closed loops, staggered, {args.warmup_s:g} s warm-up "
        f"per block, {args.blocks} blocks per side"
    )
    print(f"load: {mode}; {len(sides[0].results)} requests per side")
    print(
        f"answer: {events_per_answer(args.chunks)} events, {args.chunks} tool-call chunks, "
        f"{args.chunk_delay_ms:g} ms apart"
    )
    print(f"{'':<34}" + "".join(f"{f'p{p}':>10}" for p in PERCENTILES))
    direct = sides[0]
    relay = next((side for side in sides if side.name == "relay"), None)
    for side in sides:
        _side_rows(side, direct, relay)


# -- main ----------------------------------------------------------------------------------------

SIDES = ("relay", "proxy", "proxy+audit")


def pin(core: int, *pids: int | None) -> None:
    """Run processes (and, for pid 0, this one) on one core only: with `--pin` the
    guard does not compete with the load generator for CPU, as on a deployment where
    it has cores of its own."""
    for pid in pids:
        os.sched_setaffinity(pid or 0, {core})


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="Counted requests per side.")
    parser.add_argument("--concurrency", type=int, default=50, help="Concurrent streams.")
    parser.add_argument("--chunks", type=int, default=20, help="Tool-call chunks per answer.")
    parser.add_argument("--chunk-delay-ms", type=float, default=5.0, help="Pause between chunks.")
    parser.add_argument("--warmup-s", type=float, default=1.0, help="Uncounted, per block.")
    parser.add_argument("--blocks", type=int, default=5, help="Blocks per side (steady load).")
    parser.add_argument("--burst", action="store_true", help="Synchronised bursts instead.")
    parser.add_argument(
        "--pin",
        action="store_true",
        help="Load (client, upstream) on core 0, relay and proxies on core 1.",
    )
    parser.add_argument(
        "--sides", nargs="+", choices=SIDES, default=list(SIDES), help="Besides direct."
    )
    parser.add_argument("--serve-upstream", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--serve-relay", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--upstream", help=argparse.SUPPRESS)
    return parser.parse_args()


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
    upstream = f"http://127.0.0.1:{up}/v1"
    pace = ["--chunks", str(args.chunks), "--chunk-delay-ms", str(args.chunk_delay_ms)]
    with tempfile.TemporaryDirectory() as scratch, ExitStack() as servers:
        upstream_pid = servers.enter_context(
            running(_this_script("--serve-upstream", up, *pace), f"{upstream}/models")
        )
        if args.pin:
            pin(0, upstream_pid)
        sides = [Side("direct", upstream)]
        for name in (name for name in SIDES if name in args.sides):
            port = _free_port()
            audit = Path(scratch) / "audit.sqlite" if name == "proxy+audit" else None
            if name == "relay":
                command = _this_script("--serve-relay", port, "--upstream", upstream)
            else:
                command = proxy_command(port, upstream, audit)
            pid = servers.enter_context(running(command, f"http://127.0.0.1:{port}/health"))
            if args.pin:
                pin(1, pid)
            sides.append(Side(name, f"http://127.0.0.1:{port}/v1", pid, audit=audit))
        if args.pin:
            pin(0, 0)
        asyncio.run(measure(sides, args))
        servers.close()  # the audit log is complete once its proxy has stopped
        report(sides, args, load_before)


if __name__ == "__main__":
    main()
