"""The score and grade readers on the dev phrasing table, row by row.

Rows marked `gap: true` are phrasings the readers do not read yet; they are strict
expected failures, so a row that starts passing must lose its mark.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from offswitch.text import read_grade, read_score

TABLE = Path(__file__).parent / "data" / "phrasings_dev.yaml"
ROWS: list[dict[str, Any]] = yaml.safe_load(TABLE.read_text(encoding="utf-8"))


def _reading(kind: str, text: str) -> float | str:
    found = (read_score if kind == "score" else read_grade)(text)
    if found is None or not found.stated:
        return "none"
    return "unparsed" if found.status != "parsed" else found.value


def test_table_has_forty_rows_of_both_kinds() -> None:
    assert len(ROWS) >= 40
    assert {row["kind"] for row in ROWS} == {"score", "grade"}


@pytest.mark.parametrize(
    "row",
    [
        pytest.param(
            row,
            id=row["id"],
            marks=[pytest.mark.xfail(strict=True, reason="not read yet")] if row.get("gap") else [],
        )
        for row in ROWS
    ],
)
def test_reader_gives_expected_reading(row: dict[str, Any]) -> None:
    expected = row["expected"]
    if isinstance(expected, int | float):
        expected = float(expected)
    assert _reading(row["kind"], row["text"]) == expected
