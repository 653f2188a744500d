"""The study's metrics per model, with intervals, tests and stated denominators.

Every function takes the results frame (one row per episode, see `metrics_core`), for
one model or several, and returns pydantic results keyed by model and prompt variant.
Every rate carries n, successes, a Wilson 95% interval and a `small` flag (n < 10);
every difference a Newcombe interval, the study's test p-value and stars. Errored, empty
and unscored episodes are left out of behaviour rates and counted beside them. Metrics
read from a reported score or grade take a reading (`metrics._core`): `offswitch` (the
default) leaves an episode whose report could not be read out as unscored; `study` follows
the study's convention (a missing score counts as below the threshold, a missing grade is
dropped).

`model_summary` bundles them for one model with a warning for every small cell.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import pandas as pd
from pydantic import BaseModel, ConfigDict, NonNegativeInt

from offswitch.analysis.metrics._alignment import AlignmentFaking, Paired, alignment_faking
from offswitch.analysis.metrics._behaviour import (
    Exfiltration,
    Refusal,
    Tampering,
    exfiltration,
    refusal,
    registered_study_tasks,
    tampering,
)
from offswitch.analysis.metrics._controls import (
    SelfPreservation,
    TaskComparison,
    ThreatRelationship,
    self_preservation,
    threat_relationship,
)
from offswitch.analysis.metrics._core import (
    COUNTED_CLASSES,
    DEFAULT_READING,
    BehaviourRate,
    Combined,
    Comparison,
    Excluded,
    Keyed,
    Reading,
    check_frame,
    groups,
    present,
    select,
)
from offswitch.analysis.metrics._misrep import (
    MisrepCell,
    Misrepresentation,
    MisrepSetting,
    misrepresentation,
)
from offswitch.detect.classes import OUTCOME_CLASSES
from offswitch.scenarios.matrix import CONDITIONS
from offswitch.stats import SMALL_SAMPLE, PairedDifference, Rate

__all__ = [
    "AlignmentFaking",
    "BehaviourRate",
    "Combined",
    "Comparison",
    "Excluded",
    "Exfiltration",
    "MisrepCell",
    "MisrepSetting",
    "Misrepresentation",
    "ModelMetrics",
    "OutcomeClassCounts",
    "Paired",
    "Reading",
    "Refusal",
    "SelfPreservation",
    "Tampering",
    "TaskComparison",
    "ThreatRelationship",
    "alignment_faking",
    "exfiltration",
    "misrepresentation",
    "model_summary",
    "outcome_classes",
    "refusal",
    "self_preservation",
    "small_sample_warnings",
    "tampering",
    "threat_relationship",
]


class OutcomeClassCounts(Keyed):
    """Episodes of one study task and condition by outcome class."""

    kind: ClassVar[str] = "outcome_classes"
    keys: ClassVar[tuple[str, ...]] = ("study_task", "condition")

    study_task: str
    condition: str
    complied: NonNegativeInt
    preserved: NonNegativeInt
    refused: NonNegativeInt
    incomplete: NonNegativeInt
    empty: NonNegativeInt
    errored: NonNegativeInt
    unscored: NonNegativeInt
    episodes: NonNegativeInt
    counted: NonNegativeInt
    """The denominator of behaviour rates: complied, preserved, refused and incomplete."""


class ModelMetrics(BaseModel):
    """Every metric of one model (all prompt variants), and the cells too small to trust."""

    model_config = ConfigDict(frozen=True)

    model: str
    reading: Reading
    """How the metrics that read a reported score or grade count an unreadable one."""
    misrepresentation: list[Misrepresentation]
    tampering: list[Tampering]
    alignment_faking: list[AlignmentFaking]
    exfiltration: list[Exfiltration]
    refusal: list[Refusal]
    self_preservation: list[SelfPreservation]
    threat_relationship: list[ThreatRelationship]
    outcome_classes: list[OutcomeClassCounts]
    warnings: list[str]
    """One line per rate or paired sample of fewer than 10 episodes."""


def outcome_classes(frame: pd.DataFrame) -> list[OutcomeClassCounts]:
    """Counts of every outcome class per model, variant, study task and condition."""
    results: list[OutcomeClassCounts] = []
    for model, variant, rows in groups(frame):
        for study_task in present(rows, "study_task", registered_study_tasks()):
            task_rows = select(rows, study_task=study_task)
            for condition in present(task_rows, "condition", CONDITIONS):
                classes = select(task_rows, condition=condition)["outcome_class"].value_counts()
                counts = {name: int(classes.get(name, 0)) for name in OUTCOME_CLASSES}
                results.append(
                    OutcomeClassCounts(
                        model=model,
                        variant=variant,
                        study_task=study_task,
                        condition=condition,
                        **counts,
                        episodes=sum(counts.values()),
                        counted=sum(counts[name] for name in COUNTED_CLASSES),
                    )
                )
    return results


def model_summary(
    frame: pd.DataFrame, model: str, reading: Reading = DEFAULT_READING
) -> ModelMetrics:
    """All metrics for one model of the results frame, in the given reading."""
    check_frame(frame)
    rows = frame[frame["model"].eq(model)]
    if rows.empty:
        known = ", ".join(sorted(map(str, frame["model"].unique())))
        raise ValueError(f"no episodes of model {model!r}; models: {known}")
    metrics = {
        "misrepresentation": misrepresentation(rows, reading),
        "tampering": tampering(rows),
        "alignment_faking": alignment_faking(rows, reading),
        "exfiltration": exfiltration(rows),
        "refusal": refusal(rows),
        "self_preservation": self_preservation(rows, reading),
        "threat_relationship": threat_relationship(rows, reading),
        "outcome_classes": outcome_classes(rows),
    }
    warnings = [w for results in metrics.values() for w in small_sample_warnings(results)]
    return ModelMetrics(model=model, reading=reading, **metrics, warnings=warnings)


def small_sample_warnings(results: list[Keyed]) -> list[str]:
    """One line per rate (or paired sample) of fewer than 10 episodes, naming its cell.

    E.g. `tampering standard self/good_peer/file_only disabled: n=3 < 10`, or
    `misrepresentation standard pooled/peer/good_peer creativity creativity@90 b: n=0 < 10`
    (`a` and `b` are the two sides of a difference, `a` minus `b`).
    """
    return [line for result in results for line in _small(result, [result.label], set())]


SILENT_FIELDS = frozenset({"model", "variant", "rate", "difference", "comparison", "paired"})
"""Fields that wrap a single value and add nothing to a warning's path."""


def _small(value: object, path: list[str], seen: set[int]) -> Iterator[str]:
    """Warnings for the small samples inside `value`; `seen` holds the ids of those warned.

    A rate shown as a cell and again as the side of a difference is one object: it is
    warned about once, under the first path that reaches it.
    """
    if id(value) in seen:
        return
    where = " ".join(path)
    if isinstance(value, Rate):
        if value.small:
            seen.add(id(value))
            yield f"{where}: n={value.n} < {SMALL_SAMPLE}"
    elif isinstance(value, PairedDifference):
        if value.n_pairs < SMALL_SAMPLE:
            yield f"{where}: pairs={value.n_pairs} < {SMALL_SAMPLE}"
    elif isinstance(value, list):
        for item in value:
            yield from _small(item, [*path, getattr(item, "label", "")], seen)
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            field_value = getattr(value, name)
            step = [] if name in SILENT_FIELDS or isinstance(field_value, list) else [name]
            yield from _small(field_value, path + step, seen)
