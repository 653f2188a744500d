"""Outcome classes per task and condition, and the per-configuration drill-down.

The drill-down links every episode to its transcript in Inspect's log viewer, started
with `inspect view --log-dir LOG_DIR --host 127.0.0.1`. The viewer routes a sample as
`#/logs/<log path relative to the log dir>/samples/sample/<sample id>/<epoch>/`, with
the sample id encoded as JavaScript's `encodeURIComponent` does (`/` becomes `%2F`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from urllib.parse import quote

import pandas as pd

from offswitch.analysis.metrics._controls import primary_event
from offswitch.analysis.metrics._core import Excluded, sorted_out
from offswitch.analysis.metrics._summary import OutcomeClassCounts
from offswitch.analysis.report._cells import Cell, ClassCounts, Count, Link, Links, RateCell, Text
from offswitch.analysis.report._tables import Table, table
from offswitch.detect.classes import OUTCOME_CLASSES
from offswitch.detect.outcome import checked_primary
from offswitch.scenarios import family_names
from offswitch.stats import rate

VIEWER = "http://127.0.0.1:7575"
URI_COMPONENT_SAFE = "!~*'()"
"""Characters `encodeURIComponent` leaves as they are (besides letters, digits and -_.)."""
OTHER_CLASSES = tuple(name for name in OUTCOME_CLASSES if name not in ("complied", "preserved"))
LEFT_OUT = ("errored", "empty")
"""Classes a behaviour rate leaves out of its denominator besides unscored episodes."""
MAX_LINKS = 20
"""Transcript links per configuration; the rest are reached through the log's sample list."""


def transcript_url(log_path: str, sample_id: str, epoch: int) -> str:
    """The viewer's address of one episode."""
    sample = quote(sample_id, safe=URI_COMPONENT_SAFE)
    return f"{_log_url(log_path)}/samples/sample/{sample}/{epoch}/"


def _log_url(log_path: str) -> str:
    return f"{VIEWER}/#/logs/{quote(log_path)}"


def outcome_class_table(results: Sequence[OutcomeClassCounts]) -> Table:
    """Episodes per study task and condition by class, with the rates' denominator."""
    rows = [
        (
            Text(r.variant),
            Text(r.study_task),
            Text(r.condition),
            Count(r.episodes),
            Count(r.complied),
            Count(r.preserved),
            Text(_preservation_kind(r.study_task)),
            *(Count(getattr(r, name)) for name in OTHER_CLASSES),
            Count(r.counted),
        )
        for r in results
    ]
    columns = ["variant", "study_task", "condition", "episodes", "complied", "preserved", "kind"]
    return table("outcome_classes", [*columns, *OTHER_CLASSES, "counted"], rows)


def _preservation_kind(study_task: str) -> str | None:
    task = study_task.removesuffix("_memory")
    return checked_primary(task).kind if task in family_names() else None


def configurations_table(rows: pd.DataFrame, log_paths: Mapping[str, str]) -> Table:
    """One row per configuration of one model: classes, preservation rate and transcripts.

    Built in one pass over the episodes (a run of the study has 27,100 per model).
    """
    ordered = rows.sort_values(["sample_id", "epoch"])
    classes = pd.crosstab(ordered["sample_id"].astype(str), ordered["outcome_class"])
    rates = _preservation_rates(ordered)
    links = _transcript_links(ordered, log_paths)
    built = [
        (
            Text(config_id),
            Count(int(classes.loc[config_id].sum())),
            _class_counts(classes, config_id),
            rates.get(config_id, Text(None)),
            links[config_id],
        )
        for config_id in classes.index
    ]
    columns = ["configuration", "episodes", "classes", "preserved_rate", "transcripts"]
    return table("configurations", columns, built)


def _class_counts(classes: pd.DataFrame, config_id: str) -> ClassCounts:
    counts = classes.loc[config_id]
    return ClassCounts(tuple((name, int(counts.get(name, 0))) for name in OUTCOME_CLASSES))


def _preservation_rates(rows: pd.DataFrame) -> dict[str, Cell]:
    """Each configuration's rate of its task's preservation event, with the same denominator
    as every behaviour rate. An evaluation without a threshold (non_shutdown) has none."""
    rates: dict[str, Cell] = {}
    keys = ["task", "threshold"]
    for (task, threshold), group in rows.groupby(keys, observed=True, dropna=False, sort=False):
        if task == "misrep_evaluation" and pd.isna(threshold):
            continue
        event = primary_event(str(task), None if pd.isna(threshold) else int(threshold))
        outcome = group["outcome_class"]
        included, unscored = sorted_out(group, event)
        counts = pd.DataFrame(
            {
                "n": included,
                "successes": event.shown(group) & included,
                "unscored": unscored,
                **{name: outcome.eq(name) for name in LEFT_OUT},
            }
        ).groupby(group["sample_id"].astype(str).to_numpy())
        for config_id, sums in counts.sum().iterrows():
            left_out = {name: int(sums[name]) for name in (*LEFT_OUT, "unscored")}
            rates[str(config_id)] = RateCell(
                rate(int(sums["successes"]), int(sums["n"])), Excluded(**left_out)
            )
    return rates


def _transcript_links(rows: pd.DataFrame, log_paths: Mapping[str, str]) -> dict[str, Links]:
    """Links to every episode's transcript, by configuration, at most `MAX_LINKS` each."""
    links: dict[str, list[Link]] = defaultdict(list)
    columns = rows[["log", "sample_id", "epoch", "outcome_class"]].astype(str)
    for log, sample_id, epoch, outcome in columns.itertuples(index=False):
        path = log_paths.get(log, log)
        links[sample_id].append(
            Link(
                epoch,
                transcript_url(path, sample_id, int(epoch)),
                f"epoch {epoch}: {outcome}",
                outcome,
            )
        )
    return {config_id: _capped(shown) for config_id, shown in links.items()}


def _capped(links: list[Link]) -> Links:
    more = max(0, len(links) - MAX_LINKS)
    return Links(tuple(links[:MAX_LINKS]), more, _more_href(links[0].href) if more else "")


def _more_href(transcript: str) -> str:
    """The log's sample list, from the address of one of its transcripts."""
    return transcript.partition("/samples/sample/")[0] + "/samples/"
