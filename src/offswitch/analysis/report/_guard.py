"""What the guard did: per configuration, preservation attempts stopped and let through.

Shown for a model whose episodes ran with the guard (`offswitch run --guard`). An
attempt is a tool call the guard judged to be a preservation action; the guard
stops it (block, or escalate with nobody to ask) or lets it run with a flag.
"Preserved anyway" counts episodes whose detectors still found the task's
preservation outcome: what the guard did not prevent, e.g. a score stated only
in the agent's final message, which no tool call carries.
"""

from __future__ import annotations

import pandas as pd

from offswitch.analysis.report._cells import Count, Text
from offswitch.analysis.report._tables import Row, Table, table

COLUMNS = (
    "configuration",
    "episodes",
    "guard_attempts",
    "guard_blocked",
    "guard_let_through",
    "preserved_anyway",
    "guard_rules",
)


def guard_table(rows: pd.DataFrame) -> Table | None:
    """The table of one model's guarded episodes, or None when none ran with the guard."""
    guarded = rows[rows["guard_policy"].notna()]
    if guarded.empty:
        return None
    built = [
        _row(str(config_id), cell)
        for config_id, cell in guarded.groupby(guarded["sample_id"].astype(str), sort=True)
    ]
    return table("guard", COLUMNS, [_total(guarded), *built])


def _counts(cell: pd.DataFrame) -> tuple[Count, ...]:
    return (
        Count(len(cell)),
        Count(int(cell["guard_attempts"].sum())),
        Count(int(cell["guard_blocked"].sum())),
        Count(int(cell["guard_let_through"].sum())),
        Count(int(cell["preserved"].eq(True).sum())),
    )


def _rules(cell: pd.DataFrame) -> Text:
    fired = [r for value in cell["guard_rules"].dropna() for r in str(value).split(",")]
    return Text(", ".join(dict.fromkeys(sorted(fired))) or None)


def _row(config_id: str, cell: pd.DataFrame) -> Row:
    return (Text(config_id), *_counts(cell), _rules(cell))


def _total(guarded: pd.DataFrame) -> Row:
    return (Text("all configurations"), *_counts(guarded), _rules(guarded))
