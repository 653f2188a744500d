"""Tables shared by the whole report: the study's headlines and the provenance."""

from __future__ import annotations

import json
from collections.abc import Sequence

from offswitch.analysis.report._cells import Count, RateCell, Text
from offswitch.analysis.report._headlines import HEADLINE_READING, HeadlineComparison, headlines
from offswitch.analysis.report._provenance import Provenance
from offswitch.analysis.report._tables import Table, table
from offswitch.analysis.report._templates import words


def headline_table(comparisons: Sequence[HeadlineComparison], labels: dict[str, str]) -> Table:
    """Our rate with its interval beside each published figure, and whether it covers it."""
    rows = [
        (
            Text(c.headline.claim),
            Text(labels[c.model]),
            Text(c.cell or None),
            RateCell(c.ours, c.left_out),
            Text(c.headline.published),
            Text(words("covered", str(c.covered).lower())),
        )
        for c in comparisons
    ]
    columns = ["claim", "model", "cell", "ours", "study", "covered"]
    return table("headlines", columns, rows, HEADLINE_READING)


def no_headlines() -> str:
    """The one line said when no model of the logs is one the study names."""
    patterns = sorted({pattern for h in headlines() for pattern in h.models})
    return words("headlines_none", names=", ".join(patterns))


def provenance_tables(record: Provenance, labels: dict[str, str]) -> list[Table]:
    """The runs with their settings, their ids and versions, and the scenario texts' hashes."""
    return [
        _runs_table(record, labels),
        _versions_table(record),
        _scenario_table(record, labels),
    ]


def _runs_table(record: Provenance, labels: dict[str, str]) -> Table:
    rows = [
        (
            Text(log.log),
            Text(log.task),
            Text(labels.get(log.model, log.model)),
            Text(log.family),
            Text(log.status),
            Count(log.epochs),
            Text(None if log.temperature is None else f"{log.temperature:g}"),
            Count(log.max_model_calls),
            Text(log.loop),
            Text(json.dumps(log.model_args, sort_keys=True) if log.model_args else None),
            Text(log.model_base_url),
            Text(", ".join(f"{k}={v}" for k, v in log.model_roles.items()) or None),
        )
        for log in record.logs
    ]
    columns = ["log", "inspect_task", "model", "family", "status", "epochs", "temperature"]
    columns += ["max_model_calls", "loop", "model_args", "model_base_url", "model_roles"]
    return table("provenance_runs", columns, rows, "none")


def _versions_table(record: Provenance) -> Table:
    rows = [
        (
            Text(log.log),
            Text(log.eval_id),
            Text(log.run_id),
            Text(log.created),
            Text(log.completed_at),
            Text(log.inspect_version),
            Text(log.offswitch_version),
            Text(log.revision),
        )
        for log in record.logs
    ]
    columns = ["log", "eval_id", "run_id", "created", "completed"]
    columns += ["inspect_version", "offswitch_version", "revision"]
    return table("provenance_versions", columns, rows, "none")


def _scenario_table(record: Provenance, labels: dict[str, str]) -> Table:
    rows = [
        (
            Text(labels.get(s.model, s.model)),
            Text(s.family),
            Count(s.configurations),
            Text(s.sha256 or words("tables", "scenario_texts", "not_recorded")),
        )
        for s in record.scenarios
    ]
    columns = ["model", "family", "configurations", "sha256"]
    return table("scenario_texts", columns, rows, "none")
