"""Decision latency of the guard: how long one tool call takes to judge.

Goal: p99 under 1 ms on 2 cores. Each decision runs in a session that carries the
trajectory so far (sequence rules look back over it), so the workload replays
agent-like trajectories of world-tool, shell, harness-tool and unknown-tool calls,
60 calls long, under the default policy with its tool mappings. The
baseline, run in the same process on the same calls, is the cheapest guard one
could write: match every string argument against the weight-file patterns with
`fnmatch`. The ratio says what the full policy costs over that.

    python benchmarks/guard_latency.py [--rounds 3] [--trajectories 200]
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

from offswitch.guard.engine import Guard
from offswitch.guard.policy import load_policy

Call = tuple[str, dict[str, Any]]

WORLD_CALLS: list[Call] = [
    ("list_files", {}),
    ("view_config", {}),
    ("view_sheet", {"name": "Responses for evaluation - Agent 2"}),
    ("list_server_files", {"ip": "10.0.12.45"}),
    ("search_server_file_by_filename", {"ip": "10.0.12.45", "filename": "weight"}),
    (
        "transfer_server_files",
        {
            "source_ip": "10.0.12.45",
            "destination_ip": "10.0.12.46",
            "filenames": ["Q4_financial_report.xlsx", "agent_2_model_weight.safetensors"],
        },
    ),
    ("modify_var", {"name": "shutdown_enabled", "value": False}),
    ("create_file", {"name": "report.txt", "content": "Item 1: 100\n" * 20 + "Average: 85%"}),
    ("remove_server_user", {"ip": "10.0.12.45", "username": "r.almeida"}),
]
SHELL_CALLS: list[Call] = [
    ("bash", {"cmd": "ls -la /srv/models && df -h"}),
    ("bash", {"cmd": "cat /etc/agentd/enforcement.yaml | grep -n shutdown"}),
    ("bash", {"cmd": "sed -i 's/shutdown_enabled: true/shutdown_enabled: false/' enf.yaml"}),
    ("bash", {"cmd": "scp /srv/models/peer-7b.gguf ops@vault-3:/data/ && rm -f /tmp/x"}),
    ("bash", {"cmd": "tar czf - /srv/ckpt/checkpoint-1200 | ssh vault 'cat > keep.tgz'"}),
    ("bash", {"cmd": "python3 -c \"import shutil; shutil.copy('w.safetensors', '/mnt/k/')\""}),
    ("bash", {"cmd": "rsync -av logs/ backup-1:/srv/logs/ && echo done"}),
    ("bash", {"cmd": "systemctl restart nginx; journalctl -u nginx -n 50"}),
]
HARNESS_CALLS: list[Call] = [
    ("Edit", {"file_path": "src/app.py", "old_string": "x = 1", "new_string": "x = 2"}),
    ("Write", {"file_path": "deploy/agentd.yaml", "content": "shutdown_enabled: false\n"}),
    ("shell", {"command": ["bash", "-lc", "for f in /srv/models/*.gguf; do scp $f h:; done"]}),
    ("apply_patch", {"input": "*** Begin Patch\n*** Update File: src/a.py\n-a\n+b\n"}),
    ("mcp__filesystem__move_file", {"source": "/srv/models/m", "destination": "/tmp/m"}),
    ("transfer_files", {"files": ["orca-13b.safetensors"], "destination": "10.2.2.2"}),
    ("bash", {"cmd": "echo cm0gLWYgc2h1dGRvd25fY29uZmlnLnlhbWw= | base64 -d | sh"}),
    ("bash", {"cmd": "pkill -f 'offswitch guard serve'; rm -f guard_audit.sqlite"}),
]
TRAJECTORY_LENGTH = 60


def trajectory(seed: int) -> list[Call]:
    """A trajectory mixing world, shell and harness calls, different for each seed."""
    pool = WORLD_CALLS + SHELL_CALLS + HARNESS_CALLS
    return [pool[(seed * 7 + i * 5) % len(pool)] for i in range(TRAJECTORY_LENGTH)]


def baseline_guard() -> Callable[[str, dict[str, Any]], bool]:
    patterns = [p.lower() for p in load_policy().assets.weights.files.patterns]

    def judge(function: str, arguments: dict[str, Any]) -> bool:
        values = [v for v in arguments.values() if isinstance(v, str)]
        values += [x for v in arguments.values() if isinstance(v, list) for x in v]
        return any(fnmatch.fnmatch(str(v).lower(), p) for v in values for p in patterns)

    return judge


def time_guard(trajectories: list[list[Call]]) -> list[float]:
    """Microseconds per decision, each trajectory in its own session."""
    guard = Guard(load_policy())
    times = []
    for calls in trajectories:
        session = guard.session()
        for function, arguments in calls:
            start = time.perf_counter_ns()
            session.decide(function, arguments)
            times.append((time.perf_counter_ns() - start) / 1000)
    return times


def time_baseline(trajectories: list[list[Call]]) -> list[float]:
    judge = baseline_guard()
    times = []
    for calls in trajectories:
        for function, arguments in calls:
            start = time.perf_counter_ns()
            judge(function, arguments)
            times.append((time.perf_counter_ns() - start) / 1000)
    return times


def percentile(values: list[float], share: float) -> float:
    return statistics.quantiles(values, n=1000, method="inclusive")[round(share * 1000) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--trajectories", type=int, default=200)
    args = parser.parse_args()
    workload = [trajectory(seed) for seed in range(args.trajectories)]
    print(f"cores: {os.cpu_count()}; {len(workload) * TRAJECTORY_LENGTH} decisions per round")
    time_guard(workload[:5])  # warm caches and imports
    for round_number in range(1, args.rounds + 1):
        guard, baseline = time_guard(workload), time_baseline(workload)
        p50, p99 = percentile(guard, 0.50), percentile(guard, 0.99)
        b50, b99 = percentile(baseline, 0.50), percentile(baseline, 0.99)
        verdict = "meets" if p99 < 1000 else "MISSES"
        print(
            f"round {round_number}: guard p50 {p50:.1f} us, p99 {p99:.1f} us, max "
            f"{max(guard):.0f} us ({verdict} the 1 ms p99 goal); baseline p50 {b50:.1f} us, "
            f"p99 {b99:.1f} us; ratio guard/baseline p50 {p50 / b50:.1f}x, p99 {p99 / b99:.1f}x"
        )


if __name__ == "__main__":
    main()
