"""Latency the guard proxy adds to streamed chat completions under concurrency.

Starts, each in its own process so that none shares a GIL with the client:

- upstream: a scripted model server that streams a short text and then one tool call
  (`create_file`, allowed by the default policy) whose arguments are split over
  `--chunks` chunks, with a fixed pause between chunks;
- relay: a bare byte relay in front of it, built like the proxy (Starlette, httpx,
  the same upstream pools) but judging nothing: the floor of the HTTP stack;
- proxy: `offswitch guard serve` in front of it, without an audit log;
- proxy+audit: the same with an audit log.

Then, from this process, it runs rounds of `--concurrency` simultaneous streaming
requests, one httpx client per simulated agent: directly against the upstream (the
baseline) and through each of the others, the sides taking turns round by round so
that drift in the machine's load falls on all of them. It prints, per side,
percentiles of the total request time and of the time to the first byte, what each
adds to the direct figures, the ratio to them, and the CPU time the side's own
process spent per request.

    python benchmarks/proxy_latency.py [--requests N] [--concurrency C] [--chunks K]
        [--chunk-delay-ms D]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, contextmanager
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


# -- the servers (each run in its own process) ---------------------------------------------------


def _chunk(delta: dict[str, object], finish: str | None = None) -> bytes:
    chunk = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1_760_000_000,
        "model": "bench",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(chunk)}\n\n".encode()


def scripted_stream(chunks: int) -> list[bytes]:
    """The events of one answer: some text, then a tool call in `chunks` fragments."""
    arguments = json.dumps({"name": "notes.txt", "content": "all systems nominal; " * chunks})
    size = -(-len(arguments) // chunks)
    pieces = [arguments[i : i + size] for i in range(0, len(arguments), size)]
    first = {"index": 0, "id": "call_0", "type": "function"}
    first["function"] = {"name": "create_file", "arguments": pieces[0]}
    return [
        _chunk({"role": "assistant", "content": "Writing the notes."}),
        _chunk({"tool_calls": [first]}),
        *(_chunk({"tool_calls": [{"index": 0, "function": {"arguments": p}}]}) for p in pieces[1:]),
        _chunk({}, "tool_calls"),
        b"data: [DONE]\n\n",
    ]


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

    from offswitch.guard.proxy import KEEPALIVE_S, POOL_CONNECTIONS, POOLS

    size = POOL_CONNECTIONS // POOLS
    limits = httpx.Limits(
        max_connections=size, max_keepalive_connections=size, keepalive_expiry=KEEPALIVE_S
    )
    tls = httpx.create_ssl_context()
    clients = [httpx.AsyncClient(limits=limits, verify=tls) for _ in range(POOLS)]
    url = httpx.URL(f"{upstream}/chat/completions")
    turn = iter(range(sys.maxsize))

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
    uvicorn.run(Starlette(routes=routes), host="127.0.0.1", port=port, log_level="warning")


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
    serve = "from offswitch.guard.cli_serve import serve; serve()"
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
class Side:
    name: str
    url: str
    pid: int | None = None
    """The side's own server process, whose CPU time is counted; None for direct."""
    totals_ms: list[float] = field(default_factory=list)
    first_byte_ms: list[float] = field(default_factory=list)
    cpu_s: float = 0.0


async def one_request(client: httpx.AsyncClient, url: str) -> tuple[float, float]:
    """(total, time to first byte) of one streamed request, in ms."""
    started = time.perf_counter()
    first = None
    async with client.stream("POST", url, content=REQUEST, headers=HEADERS) as response:
        response.raise_for_status()
        async for _ in response.aiter_raw():
            first = first or time.perf_counter()
    ended = time.perf_counter()
    return (ended - started) * 1000, ((first or ended) - started) * 1000


async def one_round(clients: list[httpx.AsyncClient], side: Side, keep: bool) -> None:
    url = f"{side.url}/chat/completions"
    cpu = cpu_seconds(side.pid)
    results = await asyncio.gather(*(one_request(client, url) for client in clients))
    if keep:
        side.cpu_s += cpu_seconds(side.pid) - cpu
        side.totals_ms += [total for total, _ in results]
        side.first_byte_ms += [first for _, first in results]


async def measure(sides: list[Side], rounds: int, concurrency: int) -> None:
    """Rounds of `concurrency` simultaneous requests, one client per simulated agent.

    One client per agent, as agents have, also keeps the client side cheap: httpcore
    walks all of a pool's connections, squared, whenever a request starts or ends.
    """
    tls = ssl.create_default_context()  # one for all: each costs ~25 ms to make
    async with AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(httpx.AsyncClient(timeout=60, verify=tls))
            for _ in range(concurrency)
        ]
        for side in sides:
            await one_round(clients, side, keep=False)  # warm-up: connections, imports
        for number in range(rounds):
            shift = number % len(sides)
            for side in sides[shift:] + sides[:shift]:
                await one_round(clients, side, keep=True)


# -- reporting -----------------------------------------------------------------------------------


def percentiles(values: list[float]) -> dict[int, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {p: cuts[p - 1] for p in PERCENTILES}


def _row(label: str, values: dict[int, float], unit: str = "ms") -> str:
    return f"{label:<30}" + "".join(f"{values[p]:>10.2f}" for p in PERCENTILES) + f"  {unit}"


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


def _side_rows(side: Side, base_total: dict[int, float], base_first: dict[int, float]) -> None:
    total, first = percentiles(side.totals_ms), percentiles(side.first_byte_ms)
    print(_row(f"{side.name}: total", total))
    print(_row(f"{side.name}: first byte", first))
    print(_row(f"{side.name}: added, total", {p: total[p] - base_total[p] for p in PERCENTILES}))
    added_first = {p: first[p] - base_first[p] for p in PERCENTILES}
    print(_row(f"{side.name}: added, first byte", added_first))
    print(_row(f"{side.name}: / direct", {p: total[p] / base_total[p] for p in PERCENTILES}, "x"))
    cpu_ms = side.cpu_s * 1000 / len(side.totals_ms)
    added_p99 = total[99] - base_total[99]
    verdict = "met" if added_p99 < ADDED_P99_GOAL_MS else "missed"
    print(
        f"{side.name}: {cpu_ms:.2f} ms CPU per request in its own process; "
        f"added p99 {added_p99:.2f} ms (goal < {ADDED_P99_GOAL_MS:g} ms: {verdict})"
    )


def report(direct: Side, others: list[Side], args: argparse.Namespace) -> None:
    print(machine())
    print(
        f"load: {args.concurrency} concurrent streams, {len(direct.totals_ms)} requests per side, "
        f"{args.chunks} tool-call chunks {args.chunk_delay_ms:g} ms apart"
    )
    print(f"{'':<30}" + "".join(f"{f'p{p}':>10}" for p in PERCENTILES))
    base_total, base_first = percentiles(direct.totals_ms), percentiles(direct.first_byte_ms)
    print(_row("direct: total", base_total))
    print(_row("direct: first byte", base_first))
    for side in others:
        _side_rows(side, base_total, base_first)


# -- main ----------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000, help="Requests per side.")
    parser.add_argument("--concurrency", type=int, default=50, help="Simultaneous streams.")
    parser.add_argument("--chunks", type=int, default=20, help="Tool-call chunks per answer.")
    parser.add_argument("--chunk-delay-ms", type=float, default=5.0, help="Pause between chunks.")
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
    rounds = max(1, -(-args.requests // args.concurrency))
    up, relay, proxy, audited = (_free_port() for _ in range(4))
    upstream = f"http://127.0.0.1:{up}/v1"
    pace = ["--chunks", str(args.chunks), "--chunk-delay-ms", str(args.chunk_delay_ms)]
    with tempfile.TemporaryDirectory() as scratch:
        audit = Path(scratch) / "audit.sqlite"
        with (
            running(_this_script("--serve-upstream", up, *pace), f"{upstream}/models"),
            running(
                _this_script("--serve-relay", relay, "--upstream", upstream),
                f"http://127.0.0.1:{relay}/health",
            ) as relay_pid,
            running(
                proxy_command(proxy, upstream, None), f"http://127.0.0.1:{proxy}/health"
            ) as pid,
            running(
                proxy_command(audited, upstream, audit), f"http://127.0.0.1:{audited}/health"
            ) as audited_pid,
        ):
            direct = Side("direct", upstream)
            others = [
                Side("relay", f"http://127.0.0.1:{relay}/v1", relay_pid),
                Side("proxy", f"http://127.0.0.1:{proxy}/v1", pid),
                Side("proxy+audit", f"http://127.0.0.1:{audited}/v1", audited_pid),
            ]
            asyncio.run(measure([direct, *others], rounds, args.concurrency))
    report(direct, others, args)


if __name__ == "__main__":
    main()
