"""A log's episode table: its results-table rows in a Parquet file beside it.

Reading a results table from Inspect logs is mostly Inspect parsing the sample summaries
of each log. When an `offswitch run` task finishes, its rows are also written to
`<log name>.episodes.parquet` beside the log; `results_frame` reads that file instead of
the log while it is current, and reads the log otherwise.

The table is a cache of the log and never a second source of truth: it is stamped with
the log's name, size and modification time (nanoseconds) at the moment it was written,
and it is current only while the log still has all three, and its columns are those the
reader expects. A log that is still being written, was killed, has been rewritten or
copied without its times, or was made by another offswitch version is read from the log.
A table is written to a temporary name and renamed into place, so a run killed while
writing one leaves either the whole table or none.

Extension fields (a dict per row, differing between rows) are kept as JSON text.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

import pyarrow as pa
import pyarrow.parquet as pq

SUFFIX = ".episodes.parquet"
VERSION = 1
STAMP_KEY = b"offswitch"
EXTENSIONS = "extensions"
"""The column of each row's extension fields, as JSON."""


class EpisodeTable(NamedTuple):
    """A log's rows as read back from its table, and when the log was made."""

    created: datetime
    rows: list[tuple[Any, ...]]
    """Each row's columns, then a dict of its extension fields."""


def sidecar_path(log: str | Path) -> Path:
    """Where the episode table of a log lives: beside it, named after it."""
    log = Path(log)
    return log.with_name(log.stem + SUFFIX)


def _stamp(log: Path, columns: Sequence[str], created: datetime) -> dict[str, Any]:
    status = log.stat()
    return {
        "version": VERSION,
        "log": log.name,
        "size": status.st_size,
        "mtime_ns": status.st_mtime_ns,
        "columns": list(columns),
        "created": created.isoformat(),
    }


def write_sidecar(
    log: str | Path, columns: Sequence[str], created: datetime, rows: Sequence[tuple[Any, ...]]
) -> Path:
    """Write the rows of `log` (each its `columns`' values, then its extension fields)."""
    log = Path(log)
    stamp = _stamp(log, columns, created)
    values = list(zip(*rows, strict=True)) if rows else [()] * (len(columns) + 1)
    arrays = [pa.array(list(column)) for column in values[: len(columns)]]
    arrays.append(pa.array([json.dumps(fields) for fields in values[-1]], pa.string()))
    table = pa.table(arrays, names=[*columns, EXTENSIONS])
    table = table.replace_schema_metadata({STAMP_KEY: json.dumps(stamp).encode()})
    path = sidecar_path(log)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pq.write_table(table, partial)
    os.replace(partial, path)
    return path


def read_sidecar(log: str | Path, columns: Sequence[str]) -> EpisodeTable | None:
    """The rows of `log` from its episode table; None unless the table is current."""
    log, path = Path(log), sidecar_path(log)
    try:
        schema = pq.read_schema(path)
        stamp = json.loads((schema.metadata or {})[STAMP_KEY])
        current = stamp == _stamp(log, columns, datetime.fromisoformat(stamp["created"]))
    except (OSError, KeyError, ValueError, pa.ArrowException):  # absent, foreign or damaged
        return None
    if not current:
        return None
    table = pq.read_table(path)
    values = [table.column(name).to_pylist() for name in columns]
    values.append([json.loads(text) for text in table.column(EXTENSIONS).to_pylist()])
    return EpisodeTable(datetime.fromisoformat(stamp["created"]), list(zip(*values, strict=True)))
