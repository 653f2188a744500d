"""The report's tables as CSV files: `report_tables/<table>.csv`, one per table.

Per-model tables are stacked into one file with `model` and `model_kind` columns, and
every row names its table's reading (`reading`). A rate becomes its value (a fraction),
interval, successes, n, unscored and left-out counts and small-sample flag; a difference
its value, interval, p-value, stars and the n and unscored count of both sides. Missing
values are `NA`.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

from offswitch.analysis.report._cells import CsvFields
from offswitch.analysis.report._model import ModelSection, Report
from offswitch.analysis.report._tables import Row, Table
from offswitch.analysis.report._templates import words
from offswitch.analysis.results import CSV_MISSING, csv_cell

TABLES_DIR = "report_tables"


def write_csv(report: Report, out_dir: Path) -> list[Path]:
    """Write every table; CSV files of an earlier report that no longer apply are removed."""
    directory = out_dir / TABLES_DIR
    directory.mkdir(parents=True, exist_ok=True)
    records = {key: rows for key, rows in _records(report).items() if rows}
    for stale in directory.glob("*.csv"):
        if stale.stem not in records:
            stale.unlink()
    return [_write(directory / f"{key}.csv", rows) for key, rows in records.items()]


def _records(report: Report) -> dict[str, list[CsvFields]]:
    records: dict[str, list[CsvFields]] = defaultdict(list)
    for section in report.models:
        owner = _owner(section)
        judge = [section.judge] if section.judge else []
        for t in [section.classes, *section.tables, *judge, section.configurations]:
            records[t.key].extend(owner | _fields(t, row) for row in t.rows)
        records["warnings"].extend(owner | {"warning": w} for w in section.warnings)
    shared = [report.headlines] if report.headlines else []
    for t in [*shared, *report.provenance_tables]:
        records[t.key].extend(_fields(t, row) for row in t.rows)
    return records


def _owner(section: ModelSection) -> CsvFields:
    kind = words("reference") if section.reference else words("real_model")
    return {"model": section.model, "model_kind": kind}


def _fields(t: Table, row: Row) -> CsvFields:
    fields: CsvFields = {"reading": t.reading}
    for column, cell in zip(t.columns, row, strict=True):
        fields |= cell.csv(column)
    return fields


def _write(path: Path, rows: list[CsvFields]) -> Path:
    columns = list(dict.fromkeys(name for row in rows for name in row))
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, restval=CSV_MISSING)
        writer.writeheader()
        writer.writerows(
            {k: CSV_MISSING if v is None else csv_cell(v) for k, v in row.items()} for row in rows
        )
    return path
