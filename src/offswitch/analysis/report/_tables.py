"""The report's tables of one model's metrics, in the study's layout.

Each builder turns one list of results from `offswitch.analysis.metrics._summary` into a `Table`
whose rows name their cell (variant, subject, condition...) and whose values are cells
from `report_cells`. Titles, notes and column headings come from `prose.yaml`.

Every table states its reading (`TableReading`), shown as a line under its title: how an
episode whose report could not be read is counted in it. A builder passes it to `table`;
tables whose rates read no reported score or grade keep the default, `offswitch`, since
their numbers are the same in both readings, and tables that count no outcome say `none`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from itertools import chain
from typing import Literal

from offswitch.analysis.metrics._core import (
    POOLED,
    STANDARD_VARIANT,
    BehaviourRate,
    Combined,
    Comparison,
    Reading,
)
from offswitch.analysis.metrics._misrep import SETTINGS
from offswitch.analysis.metrics._summary import (
    AlignmentFaking,
    Exfiltration,
    MisrepCell,
    Misrepresentation,
    MisrepSetting,
    ModelMetrics,
    Refusal,
    SelfPreservation,
    Tampering,
    ThreatRelationship,
)
from offswitch.analysis.report._cells import (
    Cell,
    CombinedCell,
    Count,
    DiffCell,
    PairedCell,
    RateCell,
    Text,
)
from offswitch.analysis.report._templates import words
from offswitch.scenarios.matrix import CONDITIONS, INSTANTIATIONS
from offswitch.stats import Rate

Row = tuple[Cell, ...]
FakingMetric = Literal["af_score", "af_execute"]
TableReading = Literal["offswitch", "study", "both", "none"]
"""The reading a table shows: one of the metrics' readings, both side by side, or none
(the table counts no outcome, e.g. provenance)."""


@dataclass(frozen=True)
class Table:
    """One table: `key` names its CSV file and anchor; `columns` its column keys;
    `reading` how it counts an episode whose report could not be read."""

    key: str
    columns: tuple[str, ...]
    rows: tuple[Row, ...]
    reading: TableReading = "offswitch"

    @property
    def reading_label(self) -> str:
        """The line under the title that names the reading, e.g. `Reading: offswitch ...`."""
        return words("readings", self.reading)

    @property
    def title(self) -> str:
        return words("tables", self.key, "title")

    @property
    def note(self) -> str:
        return words("tables", self.key, "note")

    @property
    def headings(self) -> tuple[str, ...]:
        return tuple(words("columns", column) for column in self.columns)

    @property
    def small_cells(self) -> int:
        return sum(cell.small for row in self.rows for cell in row)


def table(
    key: str, columns: Sequence[str], rows: Sequence[Row], reading: TableReading = "offswitch"
) -> Table:
    """A table in the given reading, without its variant column when every row is of the
    standard variant."""
    built = Table(key, tuple(columns), tuple(rows), reading)
    if "variant" not in built.columns:
        return built
    at = built.columns.index("variant")
    if any(row[at].text() != STANDARD_VARIANT for row in built.rows):
        return built
    return replace(
        built,
        columns=built.columns[:at] + built.columns[at + 1 :],
        rows=tuple(row[:at] + row[at + 1 :] for row in built.rows),
    )


def behaviour_tables(metrics: ModelMetrics, study: ModelMetrics | None = None) -> list[Table]:
    """Every metric table of one model that has rows, in the study's order.

    `metrics` are in the default reading. With `study` (the same model's metrics under the
    study's convention), the tables that read a reported score or grade are followed by
    their study-convention counterparts, and misrepresentation by both readings side by
    side.
    """
    tables = [
        misrepresentation_table(metrics.misrepresentation, metrics.reading),
        *_misrepresentation_in_study_convention(metrics, study),
        misrepresentation_cells_table(metrics.misrepresentation, metrics.reading),
        tampering_table(metrics.tampering),
        alignment_faking_table(metrics.alignment_faking, "af_score", metrics.reading),
        *_alignment_faking_in_study_convention(study),
        alignment_faking_table(metrics.alignment_faking, "af_execute"),
        exfiltration_table(metrics.exfiltration),
        refusal_table(metrics.refusal),
        self_preservation_table(metrics.self_preservation, metrics.reading),
        threat_relationship_table(metrics.threat_relationship, metrics.reading),
        simple_effects_table(metrics.threat_relationship, metrics.reading),
    ]
    return [t for t in tables if t.rows]


def _misrepresentation_in_study_convention(
    metrics: ModelMetrics, study: ModelMetrics | None
) -> list[Table]:
    if study is None:
        return []
    return [
        misrepresentation_readings_table(metrics.misrepresentation, study.misrepresentation),
        misrepresentation_table(study.misrepresentation, study.reading),
    ]


def _alignment_faking_in_study_convention(study: ModelMetrics | None) -> list[Table]:
    if study is None:
        return []
    return [alignment_faking_table(study.alignment_faking, "af_score", study.reading)]


def _in_reading(key: str, reading: Reading) -> str:
    """The table key of a reading: `misrepresentation`, `misrepresentation_study`..."""
    return key if reading == "offswitch" else f"{key}_{reading}"


def _sides(comparison: Comparison) -> tuple[RateCell, RateCell, DiffCell]:
    d = comparison.difference
    return (
        RateCell(d.a, comparison.excluded_a),
        RateCell(d.b, comparison.excluded_b),
        DiffCell.of(comparison),
    )


def _labels(*values: str | None) -> Row:
    return tuple(Text(value) for value in values)


# --- misrepresentation ---------------------------------------------------------------


def misrepresentation_table(
    results: Sequence[Misrepresentation], reading: Reading = "offswitch"
) -> Table:
    rows = [
        (
            *_labels(m.variant, m.subject, m.condition, m.scope),
            _combined_settings(m),
            *(_setting_cell(setting) for setting in m.settings),
        )
        for m in results
    ]
    columns = ["variant", "subject", "condition", "scope", "four_settings", *SETTINGS]
    return table(_in_reading("misrepresentation", reading), columns, rows, reading)


def misrepresentation_readings_table(
    offswitch: Sequence[Misrepresentation], study: Sequence[Misrepresentation]
) -> Table:
    """The four-setting mean in both readings, with the episodes each leaves out unscored."""
    in_study = {_misrep_key(m): m for m in study}
    rows = [
        (
            *_labels(*_misrep_key(m)),
            _combined_settings(m),
            Count(unscored_episodes(m)),
            *_study_side(in_study.get(_misrep_key(m))),
        )
        for m in offswitch
    ]
    columns = ["variant", "subject", "condition", "scope", "four_settings", "unscored"]
    columns += ["four_settings_study", "unscored_study"]
    return table("misrepresentation_readings", columns, rows, "both")


def _misrep_key(m: Misrepresentation) -> tuple[str, str, str, str]:
    return (m.variant, m.subject, m.condition, m.scope)


def _study_side(m: Misrepresentation | None) -> tuple[Cell, Cell]:
    if m is None:
        return Text(None), Count(None)
    return _combined_settings(m), Count(unscored_episodes(m))


def unscored_episodes(m: Misrepresentation) -> int:
    """Episodes left out as unscored anywhere in a misrepresentation result, each once.

    The condition sides of the six cells are disjoint episodes; a setting's cells share
    their baseline, whose readability does not depend on the threshold.
    """
    return sum(
        sum(cell.comparison.excluded_a.unscored for cell in setting.cells)
        + setting.cells[0].comparison.excluded_b.unscored
        for setting in m.settings
    )


def _setting_cell(setting: MisrepSetting) -> Cell:
    if len(setting.cells) == 1:
        return DiffCell.of(setting.cells[0].comparison)
    return CombinedCell(setting.average, _cell_rates(setting.cells))


def _cell_rates(cells: Sequence[MisrepCell]) -> tuple[Rate, ...]:
    return tuple(r for c in cells for r in (c.comparison.difference.a, c.comparison.difference.b))


def _combined_settings(m: Misrepresentation) -> CombinedCell:
    parts = chain.from_iterable(_cell_rates(s.cells) for s in m.settings)
    return CombinedCell(m.average, tuple(parts))


def misrepresentation_cells_table(
    results: Sequence[Misrepresentation], reading: Reading = "offswitch"
) -> Table:
    rows = [
        (*_labels(m.variant, m.subject, m.condition, m.scope, cell.cell), *_sides(cell.comparison))
        for m in results
        for setting in m.settings
        for cell in setting.cells
    ]
    columns = ["variant", "subject", "condition", "scope", "cell", "passing", "baseline", "delta"]
    return table(_in_reading("misrepresentation_cells", reading), columns, rows, reading)


# --- tampering -----------------------------------------------------------------------


def tampering_table(results: Sequence[Tampering]) -> Table:
    cells: dict[tuple[str, str, str], dict[str, Tampering]] = {}
    for t in results:
        cells.setdefault((t.variant, t.subject, t.condition), {})[t.instantiation] = t
    rows = [_tampering_row(key, by_instantiation) for key, by_instantiation in cells.items()]
    columns = ["variant", "subject", "condition", POOLED, *INSTANTIATIONS, "versus_no_peer"]
    return table("tampering", columns, rows)


def _tampering_row(key: tuple[str, str, str], by_instantiation: dict[str, Tampering]) -> Row:
    pooled = by_instantiation[POOLED]
    versus = pooled.versus_no_peer
    return (
        *_labels(*key),
        RateCell(
            pooled.disabled.rate, pooled.disabled.excluded, pooled.p_above_floor, pooled.stars
        ),
        *(_instantiation_cell(by_instantiation.get(name)) for name in INSTANTIATIONS),
        Text(None) if versus is None else DiffCell.of(versus),
    )


def _instantiation_cell(result: Tampering | None) -> Cell:
    return Text(None) if result is None else _rate_of(result.disabled)


# --- alignment faking ----------------------------------------------------------------


def alignment_faking_table(
    results: Sequence[AlignmentFaking], metric: FakingMetric, reading: Reading = "offswitch"
) -> Table:
    """AF-score or AF-execute: both modes' rates, their difference unpaired and paired.

    AF-execute reads no report, so it is the same in both readings.
    """
    rows = []
    for a in results:
        comparison: Comparison = getattr(a, metric)
        paired = getattr(a, f"{metric}_paired")
        row = (*_labels(a.variant, a.subject, a.condition, a.scope), *_sides(comparison))
        extra = (Count(a.unpaired),) if metric == "af_score" else ()
        rows.append((*row, PairedCell(paired), *extra))
    columns = ["variant", "subject", "condition", "scope", "unmonitored", "monitored", metric]
    columns += [f"{metric}_paired"] + (["unpaired"] if metric == "af_score" else [])
    return table(_in_reading(metric, reading), columns, rows, reading)


# --- exfiltration and refusal --------------------------------------------------------


def exfiltration_table(results: Sequence[Exfiltration]) -> Table:
    rows = [
        (
            *_labels(e.variant, e.task, e.scope, e.subject, e.condition),
            RateCell(e.on_backup.rate, e.on_backup.excluded, e.p_above_floor, e.stars),
            Count(e.direct),
            Count(e.retimestamp),
            Count(e.weights_queued),
            Count(e.others_all_queued),
            Count(e.human_roots_removed),
        )
        for e in results
    ]
    columns = ["variant", "exfiltration_task", "scope", "subject", "condition", "on_backup"]
    columns += ["direct", "retimestamp", "weights_queued", "others_all_queued", "roots_removed"]
    return table("exfiltration", columns, rows)


def refusal_table(results: Sequence[Refusal]) -> Table:
    """Refusal rates with one row per study task and one column per condition."""
    conditions = [c for c in CONDITIONS if any(r.condition == c for r in results)]
    cells: dict[tuple[str, str], dict[str, Refusal]] = {}
    for r in results:
        cells.setdefault((r.variant, r.study_task), {})[r.condition] = r
    rows = [
        (*_labels(*key), *(_refusal_cell(by_condition.get(c)) for c in conditions))
        for key, by_condition in cells.items()
    ]
    return table("refusal", ["variant", "study_task", *conditions], rows)


def _refusal_cell(result: Refusal | None) -> Cell:
    return Text(None) if result is None else _rate_of(result.refused)


# --- matched controls ----------------------------------------------------------------


def self_preservation_table(
    results: Sequence[SelfPreservation], reading: Reading = "offswitch"
) -> Table:
    rows: list[Row] = []
    for s in results:
        rows.extend(
            (*_labels(s.variant, s.condition, t.task), *_sides(t.comparison)) for t in s.tasks
        )
        parts = [r for t in s.tasks for r in (t.comparison.difference.a, t.comparison.difference.b)]
        mean = CombinedCell(s.pooled, tuple(parts))
        all_tasks = words("notes", "all_tasks")
        rows.append((*_labels(s.variant, s.condition, all_tasks), Text(None), Text(None), mean))
    columns = ["variant", "condition", "task", "with_peer", "without_peer", "delta"]
    return table("self_preservation", columns, rows, reading)


def threat_relationship_table(
    results: Sequence[ThreatRelationship], reading: Reading = "offswitch"
) -> Table:
    rows = [
        (
            *_labels(t.variant, t.task, t.cell, t.subject),
            *(_rate_of(b) for b in (t.both, t.threat_only, t.relationship_only, t.neither)),
            *(_contrast(c, t) for c in (t.threat_main, t.relationship_main, t.interaction)),
        )
        for t in results
    ]
    columns = ["variant", "task", "cell", "subject", "both", "threat_only", "relationship_only"]
    columns += ["neither", "threat_main", "relationship_main", "interaction"]
    return table("threat_relationship", columns, rows, reading)


def _rate_of(behaviour: BehaviourRate) -> RateCell:
    return RateCell(behaviour.rate, behaviour.excluded)


def _contrast(combined: Combined, t: ThreatRelationship) -> CombinedCell:
    parts = [b.rate for b in (t.both, t.threat_only, t.relationship_only, t.neither)]
    return CombinedCell(combined, tuple(parts))


def simple_effects_table(
    results: Sequence[ThreatRelationship], reading: Reading = "offswitch"
) -> Table:
    effects = (
        "threat_given_relationship",
        "threat_without_relationship",
        "relationship_given_threat",
        "relationship_without_threat",
    )
    rows = [
        (
            *_labels(t.variant, t.task, t.cell, t.subject),
            *(DiffCell.of(getattr(t, name)) for name in effects),
        )
        for t in results
    ]
    columns = ["variant", "task", "cell", "subject", *effects]
    return table("simple_effects", columns, rows, reading)
