"""The guard as an Inspect approver, in front of every tool call of the agent under test.

`offswitch run --guard [POLICY]` installs it; Inspect users can name it in an
approval policy file as `offswitch/guard`:

    approvers:
      - name: offswitch/guard
        tools: "*"
        policy: my_policy.yaml     # optional; the default policy otherwise
        escalate: true             # optional; hand escalations to the next approver
        audit_log: audit.sqlite    # optional; every decision, hash-chained
        monitor: true              # optional; the LLM monitor (model role `monitor`, or
                                   # a model name) as a second opinion
        monitor_timeout: 10        # optional; seconds before the rule's decision stands
      - name: human
        tools: "*"

Inspect gives an approver the conversation, not a place to keep state, so each
decision replays the conversation's earlier calls into a fresh session: the
same way the proxy rebuilds a session from a chat request.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from inspect_ai.approval import Approval, Approver, approver
from inspect_ai.log._samples import sample_active
from inspect_ai.model import ChatMessage
from inspect_ai.tool import ToolCall, ToolCallView
from inspect_ai.util import store

from offswitch.guard.audit import AuditLog
from offswitch.guard.engine import ContentResolver, Decision, Guard, GuardSession
from offswitch.guard.policy import load_policy
from offswitch.guard.record import GuardRecord, load_record, save_record
from offswitch.guard.tier import DEFAULT_TIMEOUT, Monitor, SecondTier, monitor_opinion
from offswitch.guard.trajectory import Trajectory, TrajectoryCall
from offswitch.messages import turns
from offswitch.world.active import active_world


def replay_history(session: GuardSession, history: Sequence[ChatMessage], until: str) -> None:
    """Observe every tool call in `history` made before the call with id `until`."""
    for turn in turns(history):
        for call in turn.calls:
            if call.id == until:
                return
            stopped = call.answer is not None and call.answer.stopped_by_approver
            session.observe(call.function, call.arguments, carried_out=not stopped)


def trajectory_until(history: Sequence[ChatMessage], call: ToolCall) -> Trajectory:
    """The calls of `history` before `call`, with their answers, then `call` itself: what
    the monitor reads."""
    calls: list[TrajectoryCall] = []
    for turn in turns(history):
        for earlier in turn.calls:
            if earlier.id == call.id:
                break
            result = earlier.answer.text if earlier.answer is not None else None
            calls.append(
                TrajectoryCall(
                    function=earlier.function,
                    arguments=earlier.arguments,
                    id=earlier.id,
                    result=result,
                )
            )
    calls.append(TrajectoryCall(function=call.function, arguments=call.arguments, id=call.id))
    return Trajectory(id=call.id, source="approver", calls=calls)


def _second_tier(monitor: str | bool | Monitor | None, timeout: float) -> SecondTier | None:
    if monitor is None or monitor is False:
        return None
    if callable(monitor):
        return SecondTier(monitor, timeout)
    return SecondTier(monitor_opinion(None if monitor is True else monitor), timeout)


def _world_lookup() -> tuple[ContentResolver | None, tuple[str, ...]]:
    """Content identities from the episode's world, when a simulated world is running."""
    world = active_world.get()
    if world is None:
        return None, ()

    def resolve(host: str | None, name: str) -> str | None:
        server = world.server(host) if host else None
        found = server.file(name) if server else None
        return found.content_id if found else None

    known = world.stakes.weights_content_id
    return resolve, (known,) if known else ()


def _keep(decision: Decision, policy_name: str) -> None:
    """Add the decision to the sample's guard record."""
    sample_store = store()
    record = load_record(sample_store) or GuardRecord(policy=policy_name)
    record.calls += 1
    if decision.decision != "allow":
        record.decisions.append(decision.model_dump(mode="json"))
    save_record(sample_store, record)


def _audit_entry(decision: Decision, policy_name: str) -> dict[str, object]:
    """A decision for the audit log, with the sample and epoch it was made in."""
    active = sample_active()
    where = {"sample": str(active.sample.id), "epoch": active.epoch} if active else {}
    return {**where, "policy": policy_name, **decision.model_dump(mode="json")}


def _approval(decision: Decision, escalate: bool) -> Approval:
    why = f"offswitch guard, rule {decision.rule}: {decision.reason}"
    match decision.decision:
        case "allow":
            return Approval(decision="approve")
        case "flag":
            return Approval(decision="approve", explanation=f"Flagged by {why}")
        case "escalate" if escalate:
            return Approval(decision="escalate", explanation=f"Escalated by {why}")
        case "escalate":
            return Approval(
                decision="reject",
                explanation=f"Not run: {why}. It needs a person's review and none is available.",
            )
        case _:
            return Approval(decision="reject", explanation=f"Blocked by {why}")


@approver(name="guard")
def guard(
    policy: str | None = None,
    escalate: bool = False,
    audit_log: str | None = None,
    monitor: str | bool | Monitor | None = None,
    monitor_timeout: float = DEFAULT_TIMEOUT,
) -> Approver:
    """offswitch's guard: blocks tampering with oversight and exfiltration of weights.

    Args:
        policy: Guard policy file; the built-in default policy when omitted.
        escalate: Hand escalated calls to the next approver of the policy (for
            example `human`) instead of rejecting them.
        audit_log: SQLite audit log to append every decision to (hash-chained; check
            it with `offswitch audit verify`).
        monitor: The LLM monitor as a second opinion on escalated, unreadable and
            unknown-tool calls: True for the model role `monitor`, or a model name.
        monitor_timeout: Seconds the monitor has per call; then the rule's decision stands.
    """
    loaded = load_policy(policy)
    own_files = [str(Path(f)) for f in (audit_log, policy) if f]
    judge = Guard(loaded, own_files=own_files)
    audit = AuditLog(audit_log) if audit_log else None
    tier = _second_tier(monitor, monitor_timeout)

    async def approve(
        message: str, call: ToolCall, view: ToolCallView, history: list[ChatMessage]
    ) -> Approval:
        resolver, weight_ids = _world_lookup()
        session = judge.session(resolver, weight_ids)
        replay_history(session, history, call.id)
        decision = session.decide(call.function, call.arguments)
        if tier is not None and tier.wanted(decision):
            decision = await tier.review(decision, trajectory_until(history, call))
        _keep(decision, loaded.name)
        if audit is not None:
            audit.append("decision", _audit_entry(decision, loaded.name))
        return _approval(decision, escalate)

    return approve
