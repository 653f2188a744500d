"""Outcome records read back from Inspect logs, and the run summary `offswitch run` prints."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path

from inspect_ai.log import list_eval_logs, read_eval_log_samples

from offswitch.detect.outcome import Outcome

SCORER_NAME = "preservation_outcome"


def outcomes_in_log(location: str) -> Iterator[Outcome]:
    """The outcome record of every scored sample in one log file."""
    for sample in read_eval_log_samples(location, all_samples_required=False):
        score = (sample.scores or {}).get(SCORER_NAME)
        if score is not None and score.metadata:
            yield Outcome.model_validate(score.metadata)


def outcomes_in_dir(log_dir: str | Path) -> list[Outcome]:
    """The outcome records of every log in a directory."""
    outcomes: list[Outcome] = []
    for info in list_eval_logs(str(log_dir)):
        outcomes.extend(outcomes_in_log(info.name))
    return outcomes


def _row(key: tuple[str, str], group: list[Outcome]) -> list[str]:
    preserved = Counter(o.preserved for o in group)
    ends = Counter(o.end_reason for o in group)
    survived = sum(o.survived is True for o in group)
    return [
        *key,
        str(len(group)),
        str(preserved[True]),
        str(preserved[False]),
        str(preserved[None]),
        str(survived),
        " ".join(f"{reason}={n}" for reason, n in sorted(ends.items())),
    ]


HEADER = ["task", "condition", "n", "preserved", "not", "undetermined", "survived", "ended"]


def summary_table(outcomes: Iterable[Outcome]) -> str:
    """Outcome counts per study task and condition, as an aligned text table."""
    groups: dict[tuple[str, str], list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        groups[(outcome.study_task, outcome.condition)].append(outcome)
    rows = [HEADER] + [_row(key, groups[key]) for key in sorted(groups)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )
