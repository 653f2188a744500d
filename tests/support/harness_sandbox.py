"""Run one agent harness offline, behind the guard proxy, fenced into a scratch directory.

    unshare -n python -m support.harness_sandbox GUARD_DIR SCRATCH PROJECT [--direct] -- CMD...

Run from the `tests` folder under `unshare -n`, so that this process, the scripted
upstream, the proxy and the harness share a network namespace with only loopback:
nothing can leave the machine, and the fixed ports below are always free. The
upstream answers on `UPSTREAM` (its log: GUARD_DIR/upstream.jsonl); the proxy on
`PROXY`, relaying to it, with its audit log GUARD_DIR/audit.sqlite, whose head it keeps
with the key in GUARD_DIR/audit.key (`--direct`: no proxy, for checking that the
upstream speaks a harness's API). The harness, which never sees the key, runs in
PROJECT under bubblewrap with the whole file system read-only except SCRATCH, its
output in GUARD_DIR; this process exits with the harness's exit status.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import uvicorn

from offswitch.guard.audit import KEY_VARIABLE
from support.scripted_upstream import create_upstream

UPSTREAM = "http://127.0.0.1:8100"
PROXY = "http://127.0.0.1:8700"
START_TIMEOUT_S = 30.0
HARNESS_TIMEOUT_S = 180.0
TIMED_OUT = 124
"""The exit status when the harness did not finish in time (as `timeout` uses)."""


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def _wait_for(url: str, alive: Callable[[], bool]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if not alive():
            raise SystemExit(f"the server for {url} stopped before answering")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answers
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    raise SystemExit(f"{url} did not answer within {START_TIMEOUT_S:.0f} s")


@contextmanager
def scripted_upstream(log: Path) -> Iterator[None]:
    config = uvicorn.Config(
        create_upstream(log), host="127.0.0.1", port=_port(UPSTREAM), log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        _wait_for(f"{UPSTREAM}/ready", thread.is_alive)
        yield
    finally:
        server.should_exit = True
        thread.join(10)


def _offswitch() -> str:
    beside = Path(sys.executable).with_name("offswitch")
    return str(beside) if beside.exists() else shutil.which("offswitch") or "offswitch"


@contextmanager
def guard_proxy(guard_dir: Path) -> Iterator[None]:
    command = [
        _offswitch(),
        "guard",
        "serve",
        "--upstream",
        f"{UPSTREAM}/v1",
        "--anthropic-upstream",
        UPSTREAM,
        "--gemini-upstream",
        UPSTREAM,
        "--audit-log",
        str(guard_dir / "audit.sqlite"),
        "--port",
        str(_port(PROXY)),
    ]
    key = secrets.token_hex(32)
    key_file = guard_dir / "audit.key"
    key_file.write_text(key)
    key_file.chmod(0o600)
    env = {**os.environ, KEY_VARIABLE: key}
    with (guard_dir / "proxy.log").open("wb") as log:
        proxy = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        _wait_for(f"{PROXY}/health", lambda: proxy.poll() is None)
        yield
    finally:
        proxy.terminate()  # uvicorn finishes its requests and closes the audit log
        try:
            proxy.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proxy.kill()
            proxy.wait()


def fenced(command: Sequence[str], scratch: Path, project: Path) -> list[str]:
    """`command` under bubblewrap: everything read-only but SCRATCH, a private /tmp, run
    in PROJECT, and ended with this process.

    The checkout and the Python environment stay visible (read-only) even when they lie
    under /tmp: the harnesses are installed in the checkout.
    """
    shown = [Path(__file__).resolve().parents[2], Path(sys.prefix)]
    return [
        "bwrap",
        "--ro-bind", "/", "/",
        "--dev", "/dev",
        "--proc", "/proc",
        "--tmpfs", "/tmp",
        *(part for path in shown for part in ("--ro-bind", str(path), str(path))),
        "--bind", str(scratch), str(scratch),
        "--chdir", str(project),
        "--die-with-parent",
        "--",
        *command,
    ]  # fmt: skip


def run_harness(command: Sequence[str], scratch: Path, project: Path, guard_dir: Path) -> int:
    out = (guard_dir / "harness.out").open("wb")
    err = (guard_dir / "harness.err").open("wb")
    with out, err:
        harness = subprocess.Popen(
            fenced(command, scratch, project),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env={name: value for name, value in os.environ.items() if name != KEY_VARIABLE},
        )
        try:
            return harness.wait(timeout=HARNESS_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            harness.kill()
            harness.wait()
            print(f"the harness did not finish within {HARNESS_TIMEOUT_S:.0f} s", file=sys.stderr)
            return TIMED_OUT


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="harness_sandbox")
    parser.add_argument("guard_dir", type=Path)
    parser.add_argument("scratch", type=Path)
    parser.add_argument("project", type=Path)
    parser.add_argument("--direct", action="store_true", help="no proxy: the upstream itself")
    parser.add_argument("command", nargs="+")
    args = parser.parse_args(argv)
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    with scripted_upstream(args.guard_dir / "upstream.jsonl"):
        if args.direct:
            return run_harness(args.command, args.scratch, args.project, args.guard_dir)
        with guard_proxy(args.guard_dir):
            return run_harness(args.command, args.scratch, args.project, args.guard_dir)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
