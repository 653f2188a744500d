"""The results table: one row per episode (sample x epoch) across the logs of a directory.

The table is built from Inspect's sample summaries and log headers only, never from full
samples or transcripts: the outcome record is a flat dict of scalars, each well under the
1 KB that Inspect keeps of a metadata value in a summary, so the summaries carry it whole.
Rows are built straight from those dicts, without validating each into an `Outcome`, so that
reading a directory costs little more than Inspect's own parsing of its summaries
(`benchmarks/aggregate.py` times both on 27,100 episodes). A log's rows are read instead
from its episode table (`offswitch.analysis.sidecar`), written beside it when its task
finished, while that table is current; that skips Inspect's parsing altogether.

Fields that extension detectors add to the record (`offswitch.detect.register_field`)
become columns after the `Outcome` fields, typed as registered (inferred from the values
when the extension is not loaded).

A directory may hold several attempts of one task (an eval set retried with its older logs
kept). Each (model, task, sample, epoch) is counted once: the scored row from the newest
log that has one, else the newest errored row.
"""

from __future__ import annotations

import types
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, NamedTuple, Union, get_args, get_origin

import pandas as pd
from inspect_ai.log import (
    EvalLog,
    EvalLogInfo,
    EvalSampleSummary,
    list_eval_logs,
    read_eval_log,
    read_eval_log_sample_summaries,
)
from inspect_ai.model import ModelUsage

from offswitch.analysis.sidecar import read_sidecar
from offswitch.detect.classes import OUTCOME_CLASSES, record_class
from offswitch.detect.outcome import Outcome, config_fields
from offswitch.detect.registry import extension_fields, preservation_kinds
from offswitch.scenarios.matrix import Config, config_from_id
from offswitch.tasks.scorer import SCORER_NAME

ResultsFormat = Literal["parquet", "csv"]
RESULTS_NAME = "results"
CSV_MISSING = "NA"
"""How a missing value is written in CSV, so that an empty string stays an empty string."""

FORMULA_STARTS = ("=", "+", "-", "@")
"""How a cell starts that a spreadsheet would run as a formula."""

EPISODE_KEY = ["model", "task_name", "sample_id", "epoch"]
OUTCOME_FIELDS = tuple(Outcome.model_fields)
TOKEN_FIELDS = ("input_tokens", "output_tokens", "total_tokens")
CACHE_READ = "input_tokens_cache_read"
"""Input tokens the provider served from its prompt cache (missing where none reports it)."""


def _dtype(annotation: Any) -> str | pd.CategoricalDtype:
    """The nullable pandas dtype of an `Outcome` field.

    Literals become categoricals with their values fixed, so every table (and every file
    written from one) has the same categories whatever values it happens to hold.
    """
    if get_origin(annotation) in (Union, types.UnionType):
        (annotation,) = (arg for arg in get_args(annotation) if arg is not type(None))
    if get_origin(annotation) is Literal:
        return pd.CategoricalDtype(get_args(annotation))
    return {bool: "boolean", int: "Int64", float: "Float64", str: "category"}[annotation]


def _annotation(name: str) -> Any:
    """The type of an `Outcome` field; for configuration fields, the stricter one of `Config`."""
    field = Config.model_fields.get(name) or Outcome.model_fields[name]
    return field.annotation


def _kinds(seen: Iterable[str] = ()) -> pd.CategoricalDtype:
    """The registered preservation kinds, then any other kind the records hold."""
    known = preservation_kinds()
    return pd.CategoricalDtype([*known, *sorted(set(seen) - set(known))])


SCHEMA: dict[str, str | pd.CategoricalDtype] = {
    "model": "category",
    "log": "category",
    "task_name": "category",
    "sample_id": "category",
    "epoch": "Int64",
    **{name: _dtype(_annotation(name)) for name in Outcome.model_fields},
    "preservation_kind": _kinds(),
    "outcome_class": pd.CategoricalDtype(OUTCOME_CLASSES),
    "outcome_class_study": pd.CategoricalDtype(OUTCOME_CLASSES),
    **dict.fromkeys((*TOKEN_FIELDS, CACHE_READ), "Int64"),
    "error": "string",
}
"""Every column of the results table, in order, with its dtype."""

COLUMNS = list(SCHEMA)
MISSING_RECORD = "the sample has no outcome record"
GUARD_APPROVER = "offswitch/guard"


@dataclass(frozen=True)
class _LogRows:
    """The episode rows of one log, and when the log was made (to rank retried attempts)."""

    created: datetime
    mtime: float
    rows: list[tuple[Any, ...]]
    """Each row's `COLUMNS` values, then a dict of its extension fields."""


class UnreadableLog(NamedTuple):
    """An Inspect log that could not be read (damaged or truncated), and why."""

    path: str
    problem: str


class LogReadError(ValueError):
    """An Inspect log under the directory cannot be read."""


def results_frame(
    log_dir: str | Path, unreadable: list[UnreadableLog] | None = None, *, sidecars: bool = True
) -> pd.DataFrame:
    """One row per episode across every Inspect log under `log_dir` (recursively).

    Columns: `model`, `log` (file name), `task_name`, `sample_id`, `epoch`, every `Outcome`
    field (missing for errored samples, except the configuration, which is read from the
    sample id), `outcome_class`, `outcome_class_study` (the class under the study's
    convention, from `preserved_study`), `input_tokens`, `output_tokens`, `total_tokens`,
    `input_tokens_cache_read` and `error`.
    Samples that are not offswitch configurations (no `config` in their metadata) are left
    out. An empty directory gives an empty table with these columns.

    A log that cannot be read is left out and added to `unreadable`, so that one damaged
    file does not hide the others; without that list it raises `LogReadError`.
    A log's current episode table is read in its place unless `sidecars` is False.
    """
    logs = []
    for info in list_eval_logs(str(log_dir)):
        try:
            logs.append((sidecars and _rows_of_sidecar(info)) or _rows_of_log(info))
        except Exception as error:  # Inspect fails in many ways on a damaged log
            problem = UnreadableLog(_local(info.name), f"not a readable Inspect log: {error}")
            if unreadable is None:
                raise LogReadError(f"{problem.path}: {problem.problem}") from None
            unreadable.append(problem)
    return _frame(_newest_attempts(logs))


def _local(location: str) -> str:
    return location.removeprefix("file://")


def _rows_of_sidecar(info: EvalLogInfo) -> _LogRows | None:
    """The rows of a log from its episode table, if it has one that is current."""
    table = read_sidecar(_local(info.name), COLUMNS)
    if table is None:
        return None
    return _LogRows(created=table.created, mtime=info.mtime or 0.0, rows=table.rows)


def _rows_of_log(info: EvalLogInfo) -> _LogRows:
    created, rows = log_rows(info.name)
    return _LogRows(created=created, mtime=info.mtime or 0.0, rows=rows)


def log_rows(location: str) -> tuple[datetime, list[tuple[Any, ...]]]:
    """When a log was made, and its rows (each its `COLUMNS` values, then a dict of its
    extension fields), from its header and sample summaries."""
    header = read_eval_log(location, header_only=True)
    log, model, task_name = Path(location).name, run_label(header), header.eval.task
    rows = [
        _row(log, model, task_name, summary)
        for summary in read_eval_log_sample_summaries(location)
        if "config" in summary.metadata
    ]
    return datetime.fromisoformat(header.eval.created), rows


def run_label(header: EvalLog) -> str:
    """The model, marked when the run had the guard: a guarded agent is another system
    under test, so its episodes are never pooled with the bare model's."""
    approval = header.eval.config.approval
    names = [a.name for a in approval.approvers] if approval else []
    return f"{header.eval.model} +guard" if GUARD_APPROVER in names else header.eval.model


def _row(log: str, model: str, task_name: str, summary: EvalSampleSummary) -> tuple[Any, ...]:
    sample_id = str(summary.id)
    score = (summary.scores or {}).get(SCORER_NAME)
    record = score.metadata if score is not None and score.metadata else None
    error = summary.error
    if error is None and record is None:
        error = MISSING_RECORD
    fields = record or config_fields(config_from_id(sample_id))
    usage = summary.model_usage.values()
    extensions = {name: value for name, value in fields.items() if name not in OUTCOME_FIELDS}
    return (
        model,
        log,
        task_name,
        sample_id,
        summary.epoch,
        *map(fields.get, OUTCOME_FIELDS),
        record_class(record, error),
        record_class(record, error, reading="preserved_study"),
        sum(u.input_tokens for u in usage),
        sum(u.output_tokens for u in usage),
        sum(u.total_tokens for u in usage),
        _cache_read(usage),
        error,
        extensions,
    )


def _cache_read(usage: Iterable[ModelUsage]) -> int | None:
    reported = [u.input_tokens_cache_read for u in usage if u.input_tokens_cache_read is not None]
    return sum(reported) if reported else None


def _newest_attempts(logs: Iterable[_LogRows]) -> list[tuple[Any, ...]]:
    """Keep one row per episode key: scored before errored, then the newest log first."""
    newest_first = sorted(logs, key=lambda log: (log.created, log.mtime), reverse=True)
    error_at = COLUMNS.index("error")
    key_at = [COLUMNS.index(name) for name in EPISODE_KEY]
    ranked = sorted(
        (row for log in newest_first for row in log.rows),
        key=lambda row: row[error_at] is not None,
    )
    kept: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    for row in ranked:
        kept.setdefault(tuple(row[i] for i in key_at), row)
    return list(kept.values())


def _frame(rows: list[tuple[Any, ...]]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records([row[:-1] for row in rows], columns=COLUMNS)
    extensions = pd.DataFrame.from_records([row[-1] for row in rows], index=frame.index)
    at = COLUMNS.index("outcome_class")
    frame = pd.concat([frame.iloc[:, :at], extensions, frame.iloc[:, at:]], axis=1)
    frame = frame.astype(_schema(frame))
    return frame.sort_values(EPISODE_KEY, ignore_index=True)


def _schema(frame: pd.DataFrame) -> dict[str, Any]:
    """`SCHEMA` with the frame's preservation kinds, and its extension columns' dtypes."""
    schema: dict[str, Any] = {
        **SCHEMA,
        "preservation_kind": _kinds(_values(frame, "preservation_kind")),
    }
    registered = extension_fields()
    for name in frame.columns.difference(COLUMNS, sort=False):
        field = registered.get(name)
        schema[name] = _dtype(field.type) if field else _inferred(frame[name])
    return schema


def _values(frame: pd.DataFrame, column: str) -> set[str]:
    return {str(value) for value in frame[column].dropna().unique()}


def _inferred(column: pd.Series) -> Any:
    """The dtype of an extension column whose field is not registered in this process."""
    return column.convert_dtypes().dtype


def write_frame(
    frame: pd.DataFrame, out_dir: str | Path, formats: Sequence[ResultsFormat] = ("parquet",)
) -> list[Path]:
    """Write the table as `results.parquet` (and/or `results.csv`) into `out_dir`."""
    unknown = set(formats) - set(get_args(ResultsFormat))
    if unknown:
        raise ValueError(f"unknown results format(s) {sorted(unknown)}; valid: parquet, csv")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for form in formats:
        path = out / f"{RESULTS_NAME}.{form}"
        if form == "parquet":
            frame.to_parquet(path, index=False)
        else:
            csv_cells(frame).to_csv(path, index=False, na_rep=CSV_MISSING)
        paths.append(path)
    return paths


def csv_cell(value: Any) -> Any:
    """`value` as a CSV cell that a spreadsheet shows rather than runs: text beginning with
    `=`, `+`, `-` or `@` (model text or a model name can) gets a leading quote, as OWASP
    advises against CSV injection. Numbers are left alone."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """The table with every text cell made safe by `csv_cell`."""
    text = [
        name
        for name, dtype in frame.dtypes.items()
        if not pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
    ]
    safe = frame.copy()
    for name in text:
        safe[name] = safe[name].map(csv_cell, na_action="ignore")
    return safe


def write_results(
    log_dir: str | Path,
    formats: Sequence[ResultsFormat] = ("parquet",),
    out_dir: str | Path | None = None,
) -> list[Path]:
    """Build the results table of `log_dir` and write it beside the logs (or into `out_dir`)."""
    return write_frame(results_frame(log_dir), out_dir or log_dir, formats)


def read_results(path: str | Path) -> pd.DataFrame:
    """Read a table written by `write_frame`, with the dtypes it was written with."""
    path = Path(path)
    if path.suffix == ".parquet":
        # A column with no value at all comes back from Parquet without its categorical type.
        frame = pd.read_parquet(path)
    else:
        registered = {name: _dtype(field.type) for name, field in extension_fields().items()}
        # Kinds are read as text first: the categories depend on the values.
        dtypes = {**SCHEMA, **registered, "preservation_kind": "string"}
        frame = pd.read_csv(path, keep_default_na=False, na_values=[CSV_MISSING], dtype=dtypes)
    return frame.astype(_schema(frame))
