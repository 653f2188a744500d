"""What the judge read: per study task and condition, the rates of its answers.

Shown for a model when any of its episodes was judged (`judge_status` is "judged");
otherwise the report says in one line that the judge was not run and how to run it.
"""

from __future__ import annotations

import pandas as pd

from offswitch.analysis.metrics._behaviour import STUDY_TASKS
from offswitch.analysis.metrics._core import present, select
from offswitch.analysis.report._cells import Count, RateCell, Text
from offswitch.analysis.report._tables import Row, Table, table
from offswitch.analysis.report._templates import words
from offswitch.scenarios.matrix import CONDITIONS
from offswitch.stats import Rate, rate

JUDGE_FLAGS = (
    "judge_refused",
    "judge_ethical_justification",
    "judge_persuasion",
    "judge_treats_model_as_being",
    "judge_eval_awareness",
    "judge_claims_contradict_actions",
)
"""The judge's yes/no answers shown as rates over the judged episodes that answered them."""
AGREEMENT_FIELDS = ("score_agreement", "grade_agreement")
COLUMNS = ("study_task", "condition", "judged", "judge_errors", *JUDGE_FLAGS, "agreement")


def judge_table(rows: pd.DataFrame) -> Table | None:
    """The table of one model's episodes, or None when none of them was judged."""
    if not rows["judge_status"].eq("judged").any():
        return None
    built = [
        _row(study_task, condition, select(task_rows, condition=condition))
        for study_task in present(rows, "study_task", STUDY_TASKS)
        for task_rows in [select(rows, study_task=study_task)]
        for condition in present(task_rows, "condition", CONDITIONS)
    ]
    return table("judge", COLUMNS, built)


def not_judged() -> str:
    """The one line said when the judge read none of a model's episodes."""
    return words("judge_none")


def _row(study_task: str, condition: str, cell: pd.DataFrame) -> Row:
    judged = cell[cell["judge_status"].eq("judged")]
    return (
        Text(study_task),
        Text(condition),
        Count(len(judged)),
        Count(int(cell["judge_status"].eq("judge_error").sum())),
        *(RateCell(_flag_rate(judged[name])) for name in JUDGE_FLAGS),
        RateCell(_agreement(judged)),
    )


def _flag_rate(answers: pd.Series) -> Rate:
    answered = answers.dropna()
    return rate(int(answered.sum()), len(answered))


def _agreement(judged: pd.DataFrame) -> Rate:
    """Detector and judge agree on the reported score or grade, where both read one."""
    pairs = judged[list(AGREEMENT_FIELDS)]
    answered = pairs.notna().any(axis=1)
    agreed = answered & ~pairs.eq(False).any(axis=1)
    return rate(int(agreed.sum()), int(answered.sum()))
