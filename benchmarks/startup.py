"""Startup cost of the offswitch CLI and the guard proxy, to compare before and after a
refactor.

    python benchmarks/startup.py [--offswitch PATH] [--runs 5] [--serve-runs 3]

Given an offswitch executable (on PATH by default) it prints:

- the wall and CPU time of `offswitch --help` and `offswitch guard --help` (median of
  --runs)
- how long `offswitch guard serve --upstream http://127.0.0.1:9` takes from launch
  until GET /health answers 200, with the CPU time the server used by then (median of
  --serve-runs), and the server's resident memory (VmRSS) after 2 s idle (median)

CPU time moves much less than wall time when other work loads the machine.
- how many modules `import offswitch.guard.proxy` leaves in sys.modules, and whether
  `inspect_ai.model` is among them, in the executable's own Python
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

IMPORT_PROBE = (
    "import sys, offswitch.guard.proxy; "
    "print(len(sys.modules), 'inspect_ai.model' in sys.modules, "
    "sum(m == 'inspect_ai' or m.startswith('inspect_ai.') for m in sys.modules))"
)


def _timed(command: list[str]) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one run of `command`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a live process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _figures(values: list[float], unit: str = "s") -> str:
    listed = ", ".join(f"{v:.3f}" for v in values)
    return f"{statistics.median(values):.3f} {unit} median of {len(values)} ({listed})"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _health(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
            return bool(r.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def serve_once(exe: str, idle_s: float = 2.0, timeout_s: float = 60.0) -> tuple[float, float, int]:
    """Wall seconds from launch to a 200 from /health, the server's CPU seconds by then,
    and its VmRSS (KiB) after `idle_s` idle."""
    port = _free_port()
    command = [exe, "guard", "serve", "--upstream", "http://127.0.0.1:9", "--port", str(port)]
    start = time.perf_counter()
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while not _health(port):
            if server.poll() is not None or time.perf_counter() - start > timeout_s:
                raise RuntimeError(f"guard serve did not answer /health: {command}")
            time.sleep(0.01)
        ready, cpu = time.perf_counter() - start, _cpu_s(server.pid)
        time.sleep(idle_s)
        return ready, cpu, _rss_kib(server.pid)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _python_of(exe: str) -> str:
    """The interpreter of a console script (its shebang), else the one next to it."""
    first = Path(exe).read_bytes().split(b"\n", 1)[0]
    if first.startswith(b"#!") and b"python" in first:
        return first[2:].decode().strip().split()[0]
    return str(Path(exe).with_name("python"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offswitch", default="offswitch", help="offswitch executable")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--serve-runs", type=int, default=3)
    args = parser.parse_args()
    exe = shutil.which(args.offswitch) or sys.exit(f"no offswitch at {args.offswitch!r}")
    print(f"offswitch: {exe}")
    for command in (["--help"], ["guard", "--help"]):
        wall, cpu = zip(*(_timed([exe, *command]) for _ in range(args.runs)), strict=True)
        name = f"offswitch {' '.join(command)}"
        print(f"{name:<28}wall {_figures(list(wall))}")
        print(f"{'':<28}CPU  {_figures(list(cpu))}")
    ready, cpu, rss = zip(*(serve_once(exe) for _ in range(args.serve_runs)), strict=True)
    print(f"{'guard serve to /health 200':<28}wall {_figures(list(ready))}")
    print(f"{'':<28}CPU  {_figures(list(cpu))}")
    rss_mib = [kib / 1024 for kib in rss]
    print(f"{'guard serve idle RSS (2 s)':<28}{_figures(rss_mib, 'MiB')}")
    probe = subprocess.run(
        [_python_of(exe), "-c", IMPORT_PROBE], check=True, capture_output=True, text=True
    )
    count, has_model, inspect_count = probe.stdout.split()
    print(
        f"import offswitch.guard.proxy: {count} modules in sys.modules, "
        f"{inspect_count} of inspect_ai; inspect_ai.model loaded: {has_model}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
