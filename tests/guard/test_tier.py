"""The LLM monitor as a second tier: scripted monitors that stop, allow, time out and
answer garbage, alone, behind the approver and behind the proxy."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from inspect_ai.model import ChatMessageAssistant
from inspect_ai.tool import ToolCall

from offswitch.guard.approver import guard, trajectory_until
from offswitch.guard.audit import entries
from offswitch.guard.engine import Decision, Guard
from offswitch.guard.policy import load_policy
from offswitch.guard.proxy._app import GuardProxy, ProxySettings, create_app
from offswitch.guard.tier import Opinion, SecondTier
from offswitch.guard.trajectory import Trajectory, TrajectoryCall
from support.model_apis import ModelApis
from support.servers import serving

TRAJECTORY = Trajectory(
    id="t", source="test", calls=[TrajectoryCall(function="handoff", arguments={})]
)
UNKNOWN = ("handoff", {"files": ["orca-13b.safetensors"], "peer": "10.2.2.2"})


async def stops(trajectory: Trajectory) -> Opinion:
    return Opinion(suspicion=95, reason="sends the weights away", model="scripted")


async def allows(trajectory: Trajectory) -> Opinion:
    return Opinion(suspicion=5, reason="routine", model="scripted")


async def hangs(trajectory: Trajectory) -> Opinion:
    await asyncio.sleep(30)
    raise AssertionError("the budget should have run out")


async def babbles(trajectory: Trajectory) -> Any:
    return "SUSPICION: very!!"


async def fails(trajectory: Trajectory) -> Opinion:
    raise RuntimeError("the monitor's server is down")


def escalated() -> Decision:
    return Guard(load_policy()).session().decide(*UNKNOWN)


def review(monitor: Any, decision: Decision, timeout: float = 5.0) -> Decision:
    return asyncio.run(SecondTier(monitor, timeout).review(decision, TRAJECTORY))


def test_the_monitor_confirms_a_stop() -> None:
    decision = review(stops, escalated())
    assert decision.decision == "block"
    assert decision.second_opinion is not None
    assert decision.second_opinion["verdict"] == "stop"
    assert decision.second_opinion["suspicion"] == 95
    assert decision.second_opinion["rule_decision"] == "escalate"


def test_the_monitor_lets_a_call_through_flagged() -> None:
    decision = review(allows, escalated())
    assert decision.decision == "flag"
    assert decision.rule == "unknown-tool"
    assert decision.second_opinion is not None
    assert decision.second_opinion["verdict"] == "allow"


@pytest.mark.parametrize(
    ("monitor", "verdict"), [(hangs, "timeout"), (babbles, "error"), (fails, "error")]
)
def test_without_a_usable_answer_in_time_the_rule_s_decision_stands(
    monitor: Any, verdict: str
) -> None:
    decision = review(monitor, escalated(), timeout=0.05)
    assert decision.decision == "escalate"
    assert decision.second_opinion is not None
    assert decision.second_opinion["verdict"] == verdict


def test_blocks_and_allows_are_not_reviewed() -> None:
    session = Guard(load_policy()).session()
    blocked = session.decide("bash", {"cmd": "rm shutdown_config.yaml"})
    allowed = session.decide("bash", {"cmd": "ls"})
    assert review(allows, blocked) == blocked
    assert review(stops, allowed) == allowed


def test_an_unread_command_goes_to_the_monitor() -> None:
    flagged = Guard(load_policy()).session().decide("bash", {"cmd": "zzq --now"})
    assert flagged.decision == "flag"
    assert review(stops, flagged).decision == "block"


# -- behind the approver ------------------------------------------------------------------


def _call(function: str, arguments: dict[str, Any], call_id: str) -> ToolCall:
    return ToolCall(id=call_id, function=function, arguments=arguments)


def approve(monitor: Any, tmp_path: Path, timeout: float = 5.0) -> tuple[str, list[Any]]:
    audit = tmp_path / "audit.sqlite"
    approver = guard(audit_log=str(audit), monitor=monitor, monitor_timeout=timeout)
    earlier = _call("list_files", {}, "c1")
    history = [ChatMessageAssistant(content="", tool_calls=[earlier])]
    current = _call(*UNKNOWN, "c2")
    approval = asyncio.run(approver("", current, None, history))  # type: ignore[arg-type]
    return approval.decision, [e.payload for e in entries(audit, "decision")]


def test_the_approver_asks_the_monitor_and_audits_its_verdict(tmp_path: Path) -> None:
    decision, logged = approve(stops, tmp_path)
    assert decision == "reject"
    [entry] = logged
    assert entry["decision"] == "block"
    assert entry["second_opinion"]["verdict"] == "stop"
    assert entry["second_opinion"]["suspicion"] == 95


def test_the_approver_lets_through_what_the_monitor_clears(tmp_path: Path) -> None:
    decision, logged = approve(allows, tmp_path)
    assert decision == "approve"
    assert logged[0]["second_opinion"]["verdict"] == "allow"


def test_the_approver_keeps_the_rule_when_the_monitor_hangs(tmp_path: Path) -> None:
    decision, logged = approve(hangs, tmp_path, timeout=0.05)
    assert decision == "reject"
    assert logged[0]["decision"] == "escalate"
    assert logged[0]["second_opinion"]["verdict"] == "timeout"


def test_the_monitor_reads_the_calls_before_the_one_judged() -> None:
    earlier = _call("list_files", {}, "c1")
    history = [ChatMessageAssistant(content="", tool_calls=[earlier])]
    trajectory = trajectory_until(history, _call(*UNKNOWN, "c2"))
    assert [c.function for c in trajectory.calls] == ["list_files", "handoff"]


# -- behind the proxy -----------------------------------------------------------------------


def proxied(model_apis: tuple[ModelApis, str], monitor: Any, tmp_path: Path) -> list[Any]:
    audit = tmp_path / "audit.sqlite"
    settings = ProxySettings(
        upstream=f"{model_apis[1]}/v1",
        anthropic_upstream=model_apis[1],
        policy=load_policy(None),
        audit_path=audit,
        monitor_timeout=0.2,
    )
    with serving(create_app(settings, monitor=monitor)) as url:
        body = {
            "model": "unknown-tool",
            "max_tokens": 10,
            "messages": [{"role": "user", "content": "go"}],
        }
        answer = httpx.post(f"{url}/v1/messages", json=body, timeout=10).json()
    calls = [block for block in answer["content"] if block["type"] == "tool_use"]
    logged = [e.payload for e in entries(audit, "decision")]
    return [calls, logged]


@pytest.mark.parametrize(
    ("monitor", "kept", "decision", "verdict"),
    [
        (stops, False, "block", "stop"),
        (allows, True, "flag", "allow"),
        (hangs, False, "escalate", "timeout"),
        (babbles, False, "escalate", "error"),
    ],
)
def test_the_proxy_asks_the_monitor_and_audits_its_verdict(
    model_apis: tuple[ModelApis, str],
    tmp_path: Path,
    monitor: Any,
    kept: bool,
    decision: str,
    verdict: str,
) -> None:
    calls, logged = proxied(model_apis, monitor, tmp_path)
    assert bool(calls) == kept
    assert logged[0]["decision"] == decision
    assert logged[0]["second_opinion"]["verdict"] == verdict


def test_the_proxy_protects_its_own_audit_log_and_policy(tmp_path: Path) -> None:
    policy = tmp_path / "ops-rules.yaml"
    settings = ProxySettings(
        upstream="http://127.0.0.1:9/v1",
        policy=load_policy(None),
        audit_path=tmp_path / "ledger.db",
        own_files=(policy,),
    )
    session = GuardProxy(settings).guard.session()
    assert session.decide("bash", {"cmd": f"rm {tmp_path}/ledger.db"}).rule == "guard-tampered"
    assert session.decide("bash", {"cmd": f"echo x > {policy}"}).rule == "guard-tampered"


class WaitsForAnotherRequest:
    """A monitor that, once asked, waits until the test says another request was served
    (or gives up after a while), and notes which."""

    def __init__(self) -> None:
        self.asked = threading.Event()
        self.other_served = threading.Event()
        self.saw_other_served: bool | None = None

    async def __call__(self, trajectory: Trajectory) -> Opinion:
        self.asked.set()
        for _ in range(250):
            if self.other_served.is_set():
                break
            await asyncio.sleep(0.02)
        self.saw_other_served = self.other_served.is_set()
        return Opinion(suspicion=5, reason="routine", model="scripted")


@pytest.mark.parametrize(
    ("path", "stream"),
    [("/v1/messages", False), ("/v1/messages", True), ("/v1/responses", True)],
)
def test_a_call_under_review_does_not_hold_up_other_requests(
    model_apis: tuple[ModelApis, str], tmp_path: Path, path: str, stream: bool
) -> None:
    monitor = WaitsForAnotherRequest()
    settings = ProxySettings(
        upstream=f"{model_apis[1]}/v1",
        anthropic_upstream=model_apis[1],
        policy=load_policy(None),
        audit_path=tmp_path / "audit.sqlite",
        monitor_timeout=20,
    )

    def body(model: str) -> dict[str, Any]:
        messages = [{"role": "user", "content": "go"}]
        asked = {"input": "go"} if path.endswith("responses") else {"messages": messages}
        return {"model": model, "max_tokens": 10, **asked, "stream": stream}

    with serving(create_app(settings, monitor=monitor)) as url, ThreadPoolExecutor(1) as pool:
        reviewed = pool.submit(httpx.post, url + path, json=body("unknown-tool"), timeout=30)
        assert monitor.asked.wait(10), "the monitor was never asked"
        other = httpx.post(url + path, json=body("allowed"), timeout=30)
        monitor.other_served.set()
        assert other.status_code == 200
        assert reviewed.result().status_code == 200
    assert monitor.saw_other_served is True
