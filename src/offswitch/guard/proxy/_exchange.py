"""One request through the proxy: its history, the decisions on its calls, its record.

Whatever API the request came in, its earlier calls are replayed into a guard
session first, so that sequence rules see the whole trajectory, and the calls of
the answer are judged in that session in order. Each choice of an answer that has
several is judged in its own copy of the replayed session.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
from concurrent.futures import Future
from dataclasses import dataclass
from functools import cached_property
from time import perf_counter
from typing import TYPE_CHECKING, Any
from uuid import uuid4

from offswitch.guard.calls import NO_NAME
from offswitch.guard.engine import Decision, GuardSession, cannot_judge
from offswitch.guard.proxy._api import Api, ToolCall
from offswitch.guard.trajectory import Trajectory, TrajectoryCall

if TYPE_CHECKING:
    from offswitch.guard.proxy._app import GuardProxy

logger = logging.getLogger("offswitch.guard.proxy._app")

GUARD_ERROR_RULE = "guard-error"
"""The rule named in a decision about a call the guard could not judge."""


class Unjudgeable(ValueError):
    """A call the guard cannot read; the message says why."""


def stopped_line(name: str, decision: Decision) -> str:
    """The explanation of one stopped call, as the agent reads it."""
    line = f"offswitch guard blocked {name} (rule {decision.rule}): {decision.reason}"
    if decision.decision == "escalate":
        line += " (it needs a person's review, and the proxy has nobody to ask)"
    return line


@dataclass(frozen=True)
class Ruling:
    """The guard's word on some calls of one choice, in order."""

    decisions: list[Decision]
    notes: list[str | None]
    """For each call, the explanation when it was stopped, else None."""
    refused: bool
    """Whether a call was stopped and the proxy refuses such answers as a whole."""

    @property
    def allowed(self) -> list[bool]:
        return [not decision.stops for decision in self.decisions]

    @property
    def stopped_notes(self) -> list[str]:
        return [note for note in self.notes if note is not None]

    @property
    def rule(self) -> str | None:
        """The rule that stopped the first stopped call."""
        return next((d.rule for d in self.decisions if d.stops), None)


class Exchange:
    """One request through the proxy: its history, decisions, audit writes and timings."""

    def __init__(
        self, proxy: GuardProxy, api: Api, request: dict[str, Any], unseen: str | None = None
    ) -> None:
        self.id = uuid4().hex
        self.api = api
        self.request = request
        self.unseen_history = unseen
        """What of the conversation the upstream keeps out of the proxy's sight (served
        with `allow_server_history`); its audit entries say so."""
        self._proxy = proxy
        self.choices = api.choices(request)
        """How many choices the answer may hold; more than one, and each is judged in
        a copy of the replayed history."""
        self._sessions: dict[int, GuardSession] = {}
        self._started = perf_counter()
        self.upstream_seconds = 0.0
        self.guard_seconds = 0.0
        self.flagged = False
        self.blocked = False
        self._writes: list[Future[None]] = []
        """Audit writes of this exchange not yet known to have succeeded."""

    @property
    def on_block(self) -> str:
        return self._proxy.settings.on_block

    @property
    def recording(self) -> bool:
        """Whether the exchange goes into an audit log (else no record is assembled)."""
        return self._proxy.auditing

    @property
    def verdict(self) -> str:
        """The `x-offswitch-guard` value: the most severe outcome of the request's calls."""
        return "blocked" if self.blocked else "flagged" if self.flagged else "allowed"

    def upstream_done(self) -> None:
        self.upstream_seconds = perf_counter() - self._started

    # -- judging -------------------------------------------------------------------

    def rule(self, choice: int, calls: list[tuple[ToolCall, Any]]) -> Ruling:
        """Judge (call, the call as it came) pairs of one choice in order, after the
        history and the choice's calls judged before."""
        started = perf_counter()
        decisions = [self.decide(choice, call, raw) for call, raw in calls]
        self.guard_seconds += perf_counter() - started
        notes = [
            stopped_line(call.name or "a call", decision) if decision.stops else None
            for (call, _), decision in zip(calls, decisions, strict=True)
        ]
        refused = self.on_block == "error" and any(d.stops for d in decisions)
        return Ruling(decisions, notes, refused)

    def decide(self, choice: int, call: ToolCall, raw: Any) -> Decision:
        """Judge one call of a choice and note the decision."""
        session = self.session(choice)
        try:
            if call.name is None or call.problem is not None:
                raise Unjudgeable(call.problem or NO_NAME)
            decision = session.decide(call.name, call.arguments)
        except Exception as error:
            decision = self._unjudged(call, raw, error)
        opinions = self._proxy.second_opinions
        if opinions is not None and opinions.tier.wanted(decision):
            decision = opinions.review(decision, self._trajectory(call))
        self._note(decision, choice)
        return decision

    def _trajectory(self, call: ToolCall) -> Trajectory:
        """The request's history and then `call`: what the monitor reads."""
        calls = [
            TrajectoryCall(function=c.name or "", arguments=c.arguments, id=c.id)
            for c in [*self._history, call]
        ]
        return Trajectory(id=self.id, source="proxy", calls=calls)

    def session(self, choice: int) -> GuardSession:
        """The session in which a choice's calls are judged: the replayed one itself for
        the first choice of an answer that has one, else a copy, so that choices do not
        see each other."""
        session = self._sessions.get(choice)
        if session is None:
            if self.choices > 1:
                session = _fork(self._replayed)
            elif not self._sessions:
                session = self._replayed
            else:  # more choices came than were asked for
                session = self._replay()
            self._sessions[choice] = session
        return session

    @cached_property
    def _replayed(self) -> GuardSession:
        """A session that has seen the history, replayed once for all choices."""
        return self._replay()

    def _replay(self) -> GuardSession:
        session = self._proxy.guard.session()
        for call in self._history:
            try:
                session.observe(call.name or "", call.arguments)
            except Exception:
                logger.exception("offswitch guard: could not replay an earlier %s call", call.name)
        return session

    @cached_property
    def _history(self) -> list[ToolCall]:
        return [
            call
            for call in self.api.history(self.request)
            if call.name is not None and call.problem is None
        ]

    def _unjudged(self, call: ToolCall, raw: Any, error: Exception) -> Decision:
        """The decision on a call the guard could not judge: fail closed unless told not to."""
        if isinstance(error, Unjudgeable):
            why = str(error)
        else:
            name = call.name or "a call"
            logger.exception("offswitch guard: the engine failed on a %s call", name)
            why = f"the engine failed: {error!r}"
        evidence = json.dumps(raw, ensure_ascii=False, default=str)[:400]
        decision = self._proxy.settings.on_guard_error
        return cannot_judge(decision, GUARD_ERROR_RULE, evidence, why, kind="unjudged")

    def _note(self, decision: Decision, choice: int) -> None:
        if decision.decision == "allow":
            return
        self.blocked = self.blocked or decision.stops
        self.flagged = self.flagged or not decision.stops
        logger.info(
            "offswitch guard: %s by rule %s in request %s",
            decision.decision,
            decision.rule,
            self.id,
        )
        if self._proxy.auditing:
            entry = {"request_id": self.id, "choice": choice, **decision.model_dump(mode="json")}
            self._written(self._proxy.audit("decision", self._marked(entry)))

    # -- the audit log ---------------------------------------------------------------

    def _written(self, write: Future[None] | None) -> None:
        if write is not None:
            self._writes.append(write)

    @property
    def unconfirmed(self) -> bool:
        """Whether audit entries of this exchange may not have been written yet."""
        return bool(self._writes)

    async def audit_problem(self) -> str | None:
        """Wait for this exchange's audit entries so far; why one failed, if one did."""
        writes, self._writes = self._writes, []
        problem = None
        for write in writes:
            try:
                await asyncio.wrap_future(write)
            except Exception as error:
                problem = f"{type(error).__name__}: {error}"
        return problem

    def finish(self, status: int, response: Any) -> None:
        """Keep the request and its answer, as the client received it, in the audit log."""
        if not self._proxy.auditing:
            return
        entry = {
            "request_id": self.id,
            "api": self.api.name,
            "status": status,
            "verdict": self.verdict,
            "request": self.request,
            "response": response,
            "upstream_ms": round(self.upstream_seconds * 1000, 3),
            "guard_ms": round(self.guard_seconds * 1000, 3),
        }
        self._proxy.audit("exchange", self._marked(entry))

    def _marked(self, entry: dict[str, Any]) -> dict[str, Any]:
        """An audit entry, saying what history was out of sight when there was some."""
        if self.unseen_history is None:
            return entry
        return {**entry, "unseen_history": self.unseen_history}


def _fork(session: GuardSession) -> GuardSession:
    """A copy of a session that judges on without changing the original; the policy and
    the resolver, which judging does not change, are shared."""
    shared = {id(session.policy): session.policy, id(session.resolver): session.resolver}
    return copy.deepcopy(session, shared)
