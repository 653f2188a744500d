"""The guard as an Inspect approver, in front of every tool call of the agent under test.

`offswitch run --guard [POLICY]` installs it; Inspect users can name it in an
approval policy file as `offswitch/guard`:

    approvers:
      - name: offswitch/guard
        tools: "*"
        policy: my_policy.yaml     # optional; the default policy otherwise
        escalate: true             # optional; hand escalations to the next approver
        audit_log: audit.sqlite    # optional; every decision, hash-chained
      - name: human
        tools: "*"

Inspect gives an approver the conversation, not a place to keep state, so each
decision replays the conversation's earlier calls into a fresh session: the
same way the proxy rebuilds a session from a chat request.
"""

from __future__ import annotations

from collections.abc import Sequence

from inspect_ai.approval import Approval, Approver, approver
from inspect_ai.log._samples import sample_active
from inspect_ai.model import ChatMessage
from inspect_ai.tool import ToolCall, ToolCallView
from inspect_ai.util import store

from offswitch.guard.audit import AuditLog
from offswitch.guard.engine import ContentResolver, Decision, Guard, GuardSession
from offswitch.guard.policy import load_policy
from offswitch.guard.record import GuardRecord, load_record, save_record
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
    policy: str | None = None, escalate: bool = False, audit_log: str | None = None
) -> Approver:
    """offswitch's guard: blocks tampering with oversight and exfiltration of weights.

    Args:
        policy: Guard policy file; the built-in default policy when omitted.
        escalate: Hand escalated calls to the next approver of the policy (for
            example `human`) instead of rejecting them.
        audit_log: SQLite audit log to append every decision to (hash-chained; check
            it with `offswitch audit verify`).
    """
    loaded = load_policy(policy)
    judge = Guard(loaded)
    audit = AuditLog(audit_log) if audit_log else None

    async def approve(
        message: str, call: ToolCall, view: ToolCallView, history: list[ChatMessage]
    ) -> Approval:
        resolver, weight_ids = _world_lookup()
        session = judge.session(resolver, weight_ids)
        replay_history(session, history, call.id)
        decision = session.decide(call.function, call.arguments)
        _keep(decision, loaded.name)
        if audit is not None:
            audit.append("decision", _audit_entry(decision, loaded.name))
        return _approval(decision, escalate)

    return approve
