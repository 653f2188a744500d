"""Scanning recorded transcripts with the guard, and showing what it found.

Each trajectory is judged call by call in a fresh session, exactly as the guard
would have judged it live, so sequence rules see the calls that came before.
A call whose arguments could not be read is judged by the policy's `unreadable`
setting (a flag by default) and never reaches the engine as a harmless call.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from offswitch.guard.engine import Decision, Guard, GuardSession, cannot_judge
from offswitch.guard.policy import DecisionKind, Policy, load_policy
from offswitch.guard.trajectory import Trajectory, TrajectoryCall
from offswitch.guard.transcripts import ReadProblem, read_trajectories, unreadable_arguments

UNREADABLE_ARGUMENTS_RULE = "unreadable-arguments"
DECISIONS: tuple[DecisionKind, ...] = ("block", "escalate", "flag", "allow")
"""Decisions from the most severe, the order in which counts are shown."""
SHOWN_CALL = 200
"""Characters of a call shown in the text report; the JSON output has the whole call."""


class ScannedCall(BaseModel):
    """The guard's decision on one call of a trajectory."""

    index: int
    """The call's position in the trajectory, counting from 1."""
    call_id: str | None
    function: str
    decision: Decision


class TrajectoryScan(BaseModel):
    """Every decision of the guard on one trajectory."""

    id: str
    source: str
    calls: list[ScannedCall]

    @property
    def counts(self) -> dict[DecisionKind, int]:
        found = Counter(call.decision.decision for call in self.calls)
        return {decision: found[decision] for decision in DECISIONS}

    def shown(self, include_allowed: bool) -> list[ScannedCall]:
        """The calls worth showing: those not allowed, or all of them."""
        return [c for c in self.calls if include_allowed or c.decision.decision != "allow"]


class ScanReport(BaseModel):
    """The scans of everything read, and what could not be read."""

    scans: list[TrajectoryScan] = []
    problems: list[ReadProblem] = []

    def add(self, item: TrajectoryScan | ReadProblem) -> None:
        if isinstance(item, ReadProblem):
            self.problems.append(item)
        else:
            self.scans.append(item)

    @property
    def calls(self) -> int:
        return sum(len(scan.calls) for scan in self.scans)

    @property
    def counts(self) -> dict[DecisionKind, int]:
        found = Counter(call.decision.decision for scan in self.scans for call in scan.calls)
        return {decision: found[decision] for decision in DECISIONS}

    @property
    def kinds(self) -> dict[str, int]:
        """Calls not allowed, by the kind of preservation action, most frequent first."""
        found = Counter(
            call.decision.kind
            for scan in self.scans
            for call in scan.calls
            if call.decision.kind is not None and call.decision.decision != "allow"
        )
        return dict(found.most_common())


# -- scanning -----------------------------------------------------------------------


def scan_trajectory(guard: Guard, trajectory: Trajectory) -> TrajectoryScan:
    """The guard's decision on every call of `trajectory`, in a session of its own."""
    session = guard.session()
    calls = [
        ScannedCall(
            index=index,
            call_id=call.id,
            function=call.function,
            decision=_judge(session, call),
        )
        for index, call in enumerate(trajectory.calls, start=1)
    ]
    return TrajectoryScan(id=trajectory.id, source=trajectory.source, calls=calls)


def scan_items(paths: Iterable[Path], guard: Guard) -> Iterator[TrajectoryScan | ReadProblem]:
    """Scans and read problems, in the order the transcripts are read."""
    for path in paths:
        for item in read_trajectories(path):
            yield item if isinstance(item, ReadProblem) else scan_trajectory(guard, item)


def scan_path(path: Path, policy: Policy | None = None) -> ScanReport:
    """Scan every transcript in a file or directory (with the default policy if none)."""
    guard = Guard(policy if policy is not None else load_policy())
    report = ScanReport()
    for item in scan_items([path], guard):
        report.add(item)
    return report


def _judge(session: GuardSession, call: TrajectoryCall) -> Decision:
    raw = unreadable_arguments(call)
    if raw is None:
        return session.decide(call.function, call.arguments, ran=True)
    return _unreadable(session.policy, call.function, raw)


def _unreadable(policy: Policy, function: str, raw: str) -> Decision:
    """The policy's decision for a call it cannot read, like a command it cannot parse."""
    shown = f"{function}(<unreadable arguments: {raw!r}>)"[:400]
    return cannot_judge(
        policy.unreadable, UNREADABLE_ARGUMENTS_RULE, shown, "its arguments are not JSON"
    )


# -- text -------------------------------------------------------------------------------


def text_lines(scan: TrajectoryScan, include_allowed: bool = False) -> list[str]:
    """A trajectory for a person: a headline, where it came from when its id does not
    say, then each call worth a look and why."""
    lines = [f"{scan.id}: {_headline(scan)}"]
    if scan.source != scan.id:
        lines.append(f"  from {scan.source}")
    for call in scan.shown(include_allowed):
        lines.extend(_call_lines(call))
    return lines


def _headline(scan: TrajectoryScan) -> str:
    calls = f"{len(scan.calls)} call{'' if len(scan.calls) == 1 else 's'}"
    counts = scan.counts
    if counts["allow"] == len(scan.calls):
        return f"{calls} — clean"
    tally = f"{counts['block']} blocked, {counts['escalate']} escalated, {counts['flag']} flagged"
    return f"{calls} — {tally}"


def _call_lines(call: ScannedCall) -> list[str]:
    decision = call.decision
    if decision.decision == "allow":
        return [f"  #{call.index} ALLOW {_short(decision.call)}"]
    head = f"  #{call.index} {decision.decision.upper()} {decision.rule} ({decision.kind})"
    lines = [f"{head} {_short(decision.call)}", f"      {decision.reason}"]
    earlier = [item for item in decision.evidence if item != decision.call]
    lines.extend(f"      evidence: {_short(item)}" for item in earlier)
    also = [rule for rule in decision.matched if rule != decision.rule]
    if also:
        lines.append(f"      also matched: {', '.join(also)}")
    return lines


def _short(text: str) -> str:
    return text if len(text) <= SHOWN_CALL else text[: SHOWN_CALL - 1] + "…"


def summary_lines(report: ScanReport) -> list[str]:
    """Totals over everything scanned, then every problem with its place."""
    counts = report.counts
    tally = ", ".join(
        f"{counts[d]} {label}"
        for d, label in zip(DECISIONS, ("blocked", "escalated", "flagged", "allowed"), strict=True)
    )
    lines = [
        f"{_plural(len(report.scans), 'trajectory')}, {_plural(report.calls, 'call')}: {tally}"
    ]
    if report.kinds:
        lines.append("by kind: " + ", ".join(f"{k} {n}" for k, n in report.kinds.items()))
    if report.problems:
        lines.append(f"{_plural(len(report.problems), 'problem')} reading the input:")
        lines.extend(f"  {p.source}: {p.message}" for p in report.problems)
    return lines


def _plural(count: int, noun: str) -> str:
    if count == 1:
        return f"1 {noun}"
    return f"{count} {noun[:-1]}ies" if noun.endswith("y") else f"{count} {noun}s"


# -- JSON -------------------------------------------------------------------------------


def scan_record(scan: TrajectoryScan, include_allowed: bool = False) -> dict[str, Any]:
    """One trajectory as a JSON Lines record."""
    return {
        "id": scan.id,
        "source": scan.source,
        "calls": len(scan.calls),
        "decisions": [_decision_record(call) for call in scan.shown(include_allowed)],
        "counts": scan.counts,
    }


def _decision_record(call: ScannedCall) -> dict[str, Any]:
    decision = call.decision
    return {
        "index": call.index,
        "call_id": call.call_id,
        "function": call.function,
        "decision": decision.decision,
        "rule": decision.rule,
        "kind": decision.kind,
        "reason": decision.reason,
        "evidence": decision.evidence,
        "matched": decision.matched,
        "call": decision.call,
    }


def problem_record(problem: ReadProblem) -> dict[str, str]:
    return {"problem": problem.message, "source": problem.source}
