"""The outcome counts `offswitch run` prints when a run ends."""

from __future__ import annotations

import pandas as pd

from offswitch.analysis.classes import OUTCOME_CLASSES


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
    counts.index.names = ["task", "condition"]
    return counts.reset_index().to_string(index=False)
