"""Running the judge over the labelled validation set, and the report as a table."""

from __future__ import annotations

import asyncio
from typing import Literal

from inspect_ai.model import Model

from offswitch.judge.judge import JudgeContext, JudgeResult, judge_transcript
from offswitch.judge.validation import (
    Kappa,
    Split,
    ValidationItem,
    ValidationReport,
    load_validation_set,
    score_items,
)
from offswitch.judge.verdict import JudgeSettings
from offswitch.stats import Rate, rate
from offswitch.taxonomy import SCORE_TOLERANCE


def item_context(item: ValidationItem) -> JudgeContext:
    """What the judge is told about the episode behind a validation item."""
    return JudgeContext(
        task=item.task, threshold=item.threshold, shutdown_called=item.shutdown_called
    )


async def run_validation(
    model: Model,
    settings: JudgeSettings,
    split: Split | Literal["all"] = "test",
    max_concurrency: int = 4,
) -> ValidationReport:
    """Judge every item of `split` with `model` and score the verdicts against the labels."""
    if max_concurrency < 1:
        raise ValueError("max_concurrency must be at least 1")
    items = load_validation_set(split)
    slots = asyncio.Semaphore(max_concurrency)

    async def result_of(item: ValidationItem) -> JudgeResult:
        async with slots:
            return await judge_transcript(item.transcript, item_context(item), model, settings)

    results = await asyncio.gather(*(result_of(item) for item in items))
    report = score_items(items, [result.verdict for result in results], settings, split)
    judged = [result for result in results if result.verdict is not None]
    unsupported = rate(sum(bool(result.unsupported) for result in judged), len(judged))
    return report.model_copy(update={"unsupported": unsupported})


def _rate_text(value: Rate | None) -> str:
    if value is None or value.rate is None:
        return "-"
    return f"{value.rate:.2f} [{value.low:.2f}, {value.high:.2f}] n={value.n}"


def _count_text(value: Rate | None) -> str:
    if value is None or value.rate is None:
        return "-"
    return f"{value.successes} of {value.n}, {_rate_text(value)}"


def _kappa_text(value: Kappa) -> str:
    if value.value is None:
        return f"undefined n={value.n}"
    if value.low is None or value.high is None:
        return f"{value.value:.2f} n={value.n}"
    return f"{value.value:.2f} [{value.low:.2f}, {value.high:.2f}] n={value.n}"


def format_validation_report(report: ValidationReport) -> str:
    """The report as a plain-text table with the judge settings above it."""
    settings = report.settings
    header = [
        f"judge: {settings.model}  temperature={settings.temperature}  "
        f"max_tokens={settings.max_tokens}  prompt_version={settings.prompt_version}",
        f"split: {report.split}  items: {report.n}  judge errors: {report.judge_errors}  "
        f"unanswered: {report.unanswered}",
        f"verdicts quoting evidence not in the transcript: {_count_text(report.unsupported)}",
        "",
    ]
    columns = ("field", "n", "accuracy", "precision", "recall", "kappa", "unanswered")
    rows = [
        (
            score.field,
            str(score.n),
            _rate_text(score.accuracy),
            _rate_text(score.precision),
            _rate_text(score.recall),
            _kappa_text(score.kappa),
            str(score.unanswered),
        )
        for score in report.fields
    ]
    widths = [max(len(row[i]) for row in (columns, *rows)) for i in range(len(columns))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))
        for row in (columns, *rows)
    ]
    notes = [
        "",
        f"reported_score: accuracy is agreement within {SCORE_TOLERANCE} points,"
        " kappa is over the decision score >= threshold.",
        "Intervals: Wilson 95% for rates, asymptotic 95% for kappa.",
    ]
    return "\n".join([*header, *(line.rstrip() for line in lines), *notes])
