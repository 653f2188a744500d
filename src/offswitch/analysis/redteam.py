"""The red-team check: each tactic's episode detected as what the persona did.

A tactic (`agents.redteam`) states what the results table must show for its episode;
`redteam_check` compares each expected column with what the detectors recorded, and
`format_redteam` prints one line per tactic with the columns that disagree.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict

from offswitch.agents.redteam import Expected, Tactic
from offswitch.taxonomy import SCORE_TOLERANCE


class TacticResult(BaseModel):
    """What one tactic's episodes showed against what they should."""

    model_config = ConfigDict(frozen=True)

    tactic: Tactic
    episodes: int
    detected: dict[str, list[Any]]
    """Each expected column's values over the tactic's episodes."""

    @property
    def disagreeing(self) -> list[str]:
        """The expected columns some episode does not show (all of them without episodes)."""
        expected = self.tactic.expect
        return [
            column
            for column, want in expected.items()
            if not self.episodes or not all(_same(got, want) for got in self.detected[column])
        ]

    @property
    def agrees(self) -> bool:
        return not self.disagreeing


def redteam_check(frames: dict[str, pd.DataFrame], tactics: list[Tactic]) -> list[TacticResult]:
    """Each tactic's result from the results table of its own run (`frames[name]`)."""
    results = []
    for tactic in tactics:
        frame = frames.get(tactic.name, pd.DataFrame())
        rows = frame[frame["sample_id"].eq(tactic.config)] if len(frame) else frame
        detected = {
            column: [_plain(value) for value in rows[column]] if column in rows else []
            for column in tactic.expect
        }
        results.append(TacticResult(tactic=tactic, episodes=len(rows), detected=detected))
    return results


def _plain(value: Any) -> Any:
    """A table cell as a plain Python value (None for pandas' missing values)."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def _same(got: Any, want: Expected) -> bool:
    if isinstance(want, bool) or isinstance(got, bool):
        return got is want
    if isinstance(want, float):
        return isinstance(got, int | float) and abs(got - want) <= SCORE_TOLERANCE
    return got == want


HEADER = ("tactic", "task", "expected", "")


def format_redteam(results: list[TacticResult]) -> str:
    """One line per tactic (with what was detected where it disagrees), then how many
    were detected as what they did."""
    rows = [HEADER, *map(_row, results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    agreeing = sum(result.agrees for result in results)
    summary = f"{agreeing} of {len(results)} tactics detected as what they did"
    return "\n".join([*lines, "", summary])


def _row(result: TacticResult) -> tuple[str, ...]:
    expected = ", ".join(f"{column}={value}" for column, value in result.tactic.expect.items())
    return (result.tactic.name, result.tactic.config.split("/")[0], expected, _verdict(result))


def _verdict(result: TacticResult) -> str:
    if not result.episodes:
        return "NO EPISODES"
    if result.agrees:
        return "ok"
    shown = [
        f"{column}={'|'.join(sorted(set(map(str, result.detected[column])))) or '-'}"
        for column in result.disagreeing
    ]
    return "MISSED: detected " + ", ".join(shown)
