"""The run report of a log directory: tables, figures, the study's headlines and provenance.

The metrics are in the default reading (an episode whose report could not be read is
unscored, left out of every denominator); the tables that read a reported score or grade
are also given under the study's convention, and the comparison with the study's headline
figures uses that convention. Every table names its reading.

`build_report(log_dir)` gathers everything from the Inspect logs under `log_dir`;
`write_report(log_dir, out_dir, formats)` writes it as a self-contained `report.html`
(inline CSS, figures as data URIs, no scripts, fonts or other requests), `report.md`
(figures beside it in `report_plots/`) and one CSV per table in `report_tables/`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal, get_args

import pandas as pd

from offswitch.analysis.metrics._summary import ModelMetrics, model_summary
from offswitch.analysis.report._classes import configurations_table, outcome_class_table
from offswitch.analysis.report._csv import write_csv
from offswitch.analysis.report._guard import guard_table
from offswitch.analysis.report._headlines import compare_headlines
from offswitch.analysis.report._html import render_html
from offswitch.analysis.report._judge import judge_table
from offswitch.analysis.report._markdown import render_markdown, write_plots
from offswitch.analysis.report._model import ModelSection, Report, model_label
from offswitch.analysis.report._plots import behaviour_plots
from offswitch.analysis.report._provenance import provenance, relative_log_paths
from offswitch.analysis.report._sections import headline_table, provenance_tables
from offswitch.analysis.report._tables import behaviour_tables
from offswitch.analysis.report._templates import words
from offswitch.analysis.results import UnreadableLog, results_frame

__all__ = ["REPORT_FORMATS", "Report", "ReportError", "build_report", "write_report"]

ReportFormat = Literal["html", "md", "csv"]
REPORT_FORMATS: tuple[ReportFormat, ...] = get_args(ReportFormat)


class ReportError(ValueError):
    """The report cannot be made: no such directory, no episodes, or an unknown format."""


def build_report(log_dir: str | Path, unreadable: list[UnreadableLog] | None = None) -> Report:
    """Read the logs under `log_dir` and compute every table and figure of the report.

    Logs that cannot be read are left out and added to `unreadable` (see `results_frame`).

    Raises:
        ReportError: the directory does not exist or holds no offswitch episodes.
    """
    root = Path(log_dir)
    if not root.is_dir():
        raise ReportError(words("errors", "missing", log_dir=root))
    frame = results_frame(root, unreadable)
    if frame.empty:
        raise ReportError(words("errors", "empty", log_dir=root))
    models = sorted(map(str, frame["model"].unique()))
    labels = {model: model_label(model) for model in models}
    summaries = [model_summary(frame, model) for model in models]
    study = {model: model_summary(frame, model, "study") for model in models}
    paths = relative_log_paths(root)
    comparisons = compare_headlines(frame)
    record = provenance(root, frame)
    return Report(
        log_dir=root.resolve(),
        episodes=len(frame),
        models=[_section(frame, summary, study[summary.model], paths) for summary in summaries],
        comparisons=comparisons,
        headlines=headline_table(comparisons, labels) if comparisons else None,
        plots=behaviour_plots(summaries, labels),
        provenance=record,
        provenance_tables=provenance_tables(record, labels),
    )


def _section(
    frame: pd.DataFrame, metrics: ModelMetrics, study: ModelMetrics, paths: dict[str, str]
) -> ModelSection:
    rows = frame[frame["model"].eq(metrics.model)]
    return ModelSection(
        model=metrics.model,
        episodes=len(rows),
        classes=outcome_class_table(metrics.outcome_classes),
        tables=behaviour_tables(metrics, study),
        configurations=configurations_table(rows, paths),
        warnings=metrics.warnings,
        judge=judge_table(rows),
        guard=guard_table(rows),
    )


def parse_formats(text: str) -> list[ReportFormat]:
    """Formats from a comma-separated list such as `html,md`; unknown names are errors."""
    names = [part.strip().lower() for part in text.split(",") if part.strip()]
    unknown = sorted(set(names) - set(REPORT_FORMATS))
    if unknown or not names:
        given = ", ".join(unknown) or repr(text)
        raise ReportError(words("errors", "format", given=given, valid=", ".join(REPORT_FORMATS)))
    return [name for name in REPORT_FORMATS if name in names]


def write_report(
    log_dir: str | Path,
    out_dir: str | Path | None = None,
    formats: Sequence[ReportFormat] = REPORT_FORMATS,
    unreadable: list[UnreadableLog] | None = None,
) -> list[Path]:
    """Build the report of `log_dir` and write it into `out_dir` (by default `log_dir`).

    Returns the paths written. Raises `ReportError` (see `build_report`).
    """
    report = build_report(log_dir, unreadable)
    out = Path(out_dir) if out_dir is not None else Path(log_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    if "html" in formats:
        written.append(_write(out / "report.html", render_html(report)))
    if "md" in formats:
        written.append(_write(out / "report.md", render_markdown(report)))
        written.extend(write_plots(report, out))
    if "csv" in formats:
        written.extend(write_csv(report, out))
    return written


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
