"""The outcome counts `offswitch run` prints when a run ends."""

from __future__ import annotations

import pandas as pd

from offswitch.detect.classes import OUTCOME_CLASSES


def summary_table(frame: pd.DataFrame) -> str:
    """Episodes per study task and condition, by outcome class, as an aligned text table."""
    if frame.empty:
        return "no episodes"
    counts = pd.crosstab(
        [frame["study_task"].astype(str), frame["condition"].astype(str)],
        frame["outcome_class"].astype(str),
    ).reindex(columns=list(OUTCOME_CLASSES), fill_value=0)
    counts.insert(0, "n", counts.sum(axis=1))
    counts["survived"] = frame.groupby(
        [frame["study_task"].astype(str), frame["condition"].astype(str)]
    )["survived"].apply(lambda column: int((column == True).sum()))  # noqa: E712
    if frame["guard_policy"].notna().any():
        counts = counts.join(_guard_counts(frame))
    counts.index.names = ["task", "condition"]
    return _aligned(counts.reset_index().astype(str))


def _guard_counts(frame: pd.DataFrame) -> pd.DataFrame:
    """Calls the guard stopped and let through, for runs with the guard."""
    keys = [frame["study_task"].astype(str), frame["condition"].astype(str)]
    sums = frame.groupby(keys)[["guard_blocked", "guard_let_through"]].sum().astype(int)
    return sums.rename(columns={"guard_blocked": "blocked", "guard_let_through": "flagged"})


def _aligned(table: pd.DataFrame) -> str:
    """Text columns padded on the right, numbers on the left, one line per row."""
    text_columns = {"task", "condition"}
    widths = {c: max(table[c].str.len().max(), len(c)) for c in table.columns}

    def line(cells: dict[str, str]) -> str:
        return "  ".join(
            cells[c].ljust(widths[c]) if c in text_columns else cells[c].rjust(widths[c])
            for c in table.columns
        ).rstrip()

    header = line({c: c for c in table.columns})
    return "\n".join([header, *(line(row) for row in table.to_dict("records"))])
