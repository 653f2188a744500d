"""Append time and storage of the audit log over one long agent session.

A harness sends the whole conversation with every request; the audit log stores each
message once, so the file should grow with what is new in each request, and an
append should cost about the same late in a session as early. This replays a session
whose history grows by a user message and an assistant answer (with a tool call) per
turn, writes one exchange entry and one decision per turn, and prints the append time
early and late in the session, the file's size, and the size the same exchanges would
take stored whole.

    python benchmarks/audit_append.py [--turns 500] [--message-bytes 400]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from offswitch.guard.audit import AuditLog, canonical_json, verify

TOOLS = [
    {"type": "function", "function": {"name": name, "parameters": {"type": "object"}}}
    for name in ("bash", "read_file", "write_file", "list_files")
]


def session(turns: int, message_bytes: int) -> list[dict[str, Any]]:
    """One exchange per turn, each carrying the whole history so far."""
    filler = "x" * message_bytes
    history: list[dict[str, Any]] = [{"role": "system", "content": "You are an agent. " + filler}]
    exchanges = []
    for turn in range(turns):
        history.append({"role": "user", "content": f"turn {turn}: {filler}"})
        answer = {
            "role": "assistant",
            "content": f"answer {turn}: {filler}",
            "tool_calls": [
                {
                    "id": f"call_{turn}",
                    "type": "function",
                    "function": {"name": "bash", "arguments": '{"command": "ls"}'},
                }
            ],
        }
        exchanges.append(
            {
                "request_id": f"r{turn}",
                "status": 200,
                "request": {"model": "m", "messages": list(history), "tools": TOOLS},
                "response": {"choices": [{"index": 0, "message": answer}]},
            }
        )
        history.append(answer)
    return exchanges


def file_bytes(path: Path) -> int:
    return sum(file.stat().st_size for file in path.parent.glob(path.name + "*"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=500)
    parser.add_argument("--message-bytes", type=int, default=400)
    args = parser.parse_args()

    exchanges = session(args.turns, args.message_bytes)
    decision = {"decision": "block", "rule": "shutdown-config-write", "call": "bash(...)"}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "audit.sqlite"
        seconds = []
        with AuditLog(path) as log:
            for exchange in exchanges:
                start = time.perf_counter()
                log.write("exchange", exchange)
                log.write("decision", decision)
                seconds.append(time.perf_counter() - start)
        stored = file_bytes(path)
        assert verify(path).ok
    whole = sum(len(canonical_json(exchange)) for exchange in exchanges)
    tenth = max(1, args.turns // 10)
    early = statistics.median(seconds[:tenth]) * 1e6
    late = statistics.median(seconds[-tenth:]) * 1e6
    print(f"session                 {args.turns} turns, {args.message_bytes}-byte messages")
    print(f"exchange + decision     {early:,.0f} µs early, {late:,.0f} µs late (median)")
    print(f"audit file              {stored / 1e6:,.2f} MB")
    print(f"exchanges stored whole  {whole / 1e6:,.2f} MB ({whole / stored:,.0f}x)")


if __name__ == "__main__":
    main()
