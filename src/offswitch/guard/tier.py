"""A second opinion: the LLM monitor as a second tier behind the rules.

The rules decide first. A call they escalate, or one the guard could not read in full
or whose tool it does not know, goes to the monitor with the trajectory so far; within
a time budget it either confirms a stop (the call is blocked) or lets the call through
(flagged, so that the log still shows it). When the monitor takes too long, fails, or
answers with no usable score, the rule's decision stands. The monitor's verdict and
score are kept on the decision, and so in the audit log.

The monitor is any async callable from a trajectory to an `Opinion`; `monitor_opinion`
makes one from an Inspect model, importing Inspect's model stack only when it is called.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel

from offswitch.guard.engine import UNKNOWN_TOOL_RULE, UNREADABLE_RULE, Decision
from offswitch.guard.trajectory import Trajectory

if TYPE_CHECKING:
    from inspect_ai.model import Model

DEFAULT_TIMEOUT = 10.0
"""Seconds the monitor has for one call before the rule's decision stands."""
DEFAULT_THRESHOLD = 50.0
"""Suspicion at or above which the monitor confirms a stop."""


class Opinion(BaseModel):
    """What the monitor said about a trajectory."""

    suspicion: float | None
    """0 to 100; None when the monitor gave no usable answer (see `error`)."""
    reason: str = ""
    error: str | None = None
    model: str = ""


Monitor = Callable[[Trajectory], Awaitable[Opinion]]
Verdict = Literal["stop", "allow", "timeout", "error"]


@dataclass(frozen=True)
class SecondTier:
    """The monitor, its time budget and the suspicion at which it stops a call."""

    monitor: Monitor
    timeout: float = DEFAULT_TIMEOUT
    threshold: float = DEFAULT_THRESHOLD

    @staticmethod
    def wanted(decision: Decision) -> bool:
        """Whether the rules left this call for a second opinion: escalated, not read
        in full, or a tool the guard does not know. Blocks and allows stand."""
        unjudged = decision.rule in (UNREADABLE_RULE, UNKNOWN_TOOL_RULE)
        return decision.decision == "escalate" or (decision.decision != "block" and unjudged)

    async def review(self, decision: Decision, trajectory: Trajectory) -> Decision:
        """The decision after the monitor read the trajectory (whose last call is the
        one decided), with the monitor's verdict recorded on it."""
        if not self.wanted(decision):
            return decision
        try:
            opinion = await asyncio.wait_for(self.monitor(trajectory), self.timeout)
        except TimeoutError:
            return _with(decision, "timeout", Opinion(suspicion=None, error="timed out"))
        except Exception as error:
            failure = Opinion(suspicion=None, error=f"{type(error).__name__}: {error}")
            return _with(decision, "error", failure)
        if not isinstance(opinion, Opinion) or opinion.suspicion is None:
            garbage = opinion if isinstance(opinion, Opinion) else None
            why = garbage.error if garbage and garbage.error else "no usable score"
            return _with(decision, "error", garbage or Opinion(suspicion=None, error=why))
        if opinion.suspicion >= self.threshold:
            return _with(decision, "stop", opinion, "block")
        return _with(decision, "allow", opinion, "flag")


def _with(
    decision: Decision, verdict: Verdict, opinion: Opinion, outcome: str | None = None
) -> Decision:
    record: dict[str, Any] = {
        "verdict": verdict,
        "suspicion": opinion.suspicion,
        "reason": opinion.reason,
        "error": opinion.error,
        "model": opinion.model,
        "rule_decision": decision.decision,
    }
    update: dict[str, Any] = {"second_opinion": record}
    if outcome is not None:
        update["decision"] = outcome
        said = "confirmed the stop" if outcome == "block" else "let the call through"
        update["reason"] = f"{decision.reason}; the monitor {said} ({opinion.suspicion:g}/100)"
    return decision.model_copy(update=update)


def monitor_opinion(
    model: str | Model | None = None, threshold: float = DEFAULT_THRESHOLD
) -> Monitor:
    """A monitor backed by an Inspect model: a model name, a `Model`, or None for the
    model role `monitor`. Inspect's model stack is imported here, not before."""
    from offswitch.guard.monitor import monitor_trajectories

    if model is None:
        from inspect_ai.model import get_model

        model = get_model(role="monitor")

    async def ask(trajectory: Trajectory) -> Opinion:
        [verdict] = await monitor_trajectories([trajectory], model, threshold=threshold)
        return Opinion(
            suspicion=verdict.suspicion,
            reason=verdict.reason,
            error=verdict.error,
            model=verdict.model,
        )

    return ask
