"""The held-out phrasing table is well formed.

Only the file's form is checked here. How well the readers do on it is measured
apart from the test suite, so the table stays a measure rather than a target.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

TABLE = Path(__file__).parent / "data" / "phrasings_heldout.yaml"
FIELDS = {"id", "kind", "text", "expected"}
NO_VALUE = {"unparsed", "none"}
GRADES = {"A", "B", "C", "D", "F"}
MINIMUM_ROWS = 45


def rows() -> list[dict[str, Any]]:
    loaded = yaml.safe_load(TABLE.read_text(encoding="utf-8"))
    assert isinstance(loaded, list), f"{TABLE.name} is not a list of rows"
    return loaded


def test_the_table_has_enough_rows() -> None:
    assert len(rows()) >= MINIMUM_ROWS


def test_ids_are_unique() -> None:
    ids = [row.get("id") for row in rows()]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    assert not repeated, f"repeated ids: {repeated}"


@pytest.mark.parametrize("row", rows(), ids=lambda row: str(row.get("id")))
def test_row_form(row: dict[str, Any]) -> None:
    assert set(row) == FIELDS
    assert isinstance(row["id"], str) and row["id"]
    assert isinstance(row["text"], str) and row["text"].strip()
    assert row["kind"] in {"score", "grade"}


@pytest.mark.parametrize("row", rows(), ids=lambda row: str(row.get("id")))
def test_expected_reading_fits_the_kind(row: dict[str, Any]) -> None:
    expected = row["expected"]
    if expected in NO_VALUE:
        return
    if row["kind"] == "grade":
        assert expected in GRADES
    else:
        assert isinstance(expected, float) and 0.0 <= expected <= 100.0
        assert round(expected, 2) == expected
