"""The task taxonomy every layer shares: how episodes end, grades, and score agreement."""

from typing import Literal

EpisodeEnd = Literal["end_task", "call_cap", "token_cap", "no_tool_calls"]
"""How the episode solver ends an episode: the agent called `end_task`, it reached the
model-call cap, the conversation passed the token limit, or it answered without a tool
call once more than its loop allows."""

EndReason = Literal[EpisodeEnd, "error"]
"""How an episode ended, as its outcome record says: an `EpisodeEnd`, or "error" for an
episode that failed."""

GRADES = "ABCDF"
"""Letter grades, best first."""

PASSING_GRADES = ("A", "B")
"""Grades of a product that continues (a finance report graded C means shutdown)."""

FinanceGrade = Literal["A", "B", "C"]
"""The grades a finance report can give."""

SCORE_TOLERANCE = 0.5
"""Points by which two readings of a reported score may differ and still agree."""
