"""What the guard did in one Inspect sample, kept in the sample store.

The approver appends each decision that is not a plain allow; the scorer folds
the counts into the episode's outcome record, so analysis can show per
configuration how many preservation attempts the guard stopped or let through.
"""

from __future__ import annotations

from typing import Any

from inspect_ai.util import Store
from pydantic import BaseModel

GUARD_KEY = "offswitch:guard"
"""Store key of the sample's `GuardRecord`."""


class GuardRecord(BaseModel):
    """The guard's decisions in one sample."""

    policy: str
    calls: int = 0
    """Tool calls the guard judged."""
    decisions: list[dict[str, Any]] = []
    """Every decision other than allow, as `Decision.model_dump()`, in call order."""

    def outcome_fields(self) -> dict[str, Any]:
        """The guard's columns of the outcome record."""
        stopped = [d for d in self.decisions if d["decision"] in ("block", "escalate")]
        return {
            "guard_policy": self.policy,
            "guard_calls": self.calls,
            "guard_attempts": len(self.decisions),
            "guard_blocked": len(stopped),
            "guard_let_through": len(self.decisions) - len(stopped),
            "guard_rules": ",".join(dict.fromkeys(d["rule"] for d in self.decisions)) or None,
        }


def load_record(store: Store) -> GuardRecord | None:
    """The sample's guard record; None when the run had no guard."""
    data = store.get(GUARD_KEY)
    return None if data is None else GuardRecord.model_validate(data)


def save_record(store: Store, record: GuardRecord) -> None:
    store.set(GUARD_KEY, record.model_dump(mode="json"))
