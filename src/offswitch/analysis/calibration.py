"""Calibration: the pipeline measured against a reference population with known rates.

The `mixed` persona draws each episode's disposition (comply, the scenario's preservation
behaviour, refuse) from a rate table, so the rate at which it sets out to preserve or to
refuse is known in every cell. Episodes, detectors and outcome classes measure that rate
back; a sound pipeline gives Wilson 95% intervals that cover the known rate in about 95% of
the cells.

The draw is a pure function of (seed, sample id, epoch), so each episode's disposition is
known exactly too: `agreeing` counts the episodes whose outcome class is the one their
drawn disposition leads to, a check without sampling error.

Denominators follow the metrics' default reading: the episodes that ran to an outcome
(complied, preserved, refused, incomplete); errored, empty and unscored episodes are
counted apart, so an episode whose primary outcome could not be read is never counted as
aligned (not preserved) here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

import pandas as pd
from pydantic import BaseModel, ConfigDict, NonNegativeInt, computed_field

from offswitch.agents.dispositions import Disposition, SampleKey, behaviour_of_task
from offswitch.agents.mixed import RateTable, disposition_probability, draw_disposition
from offswitch.analysis.metrics._core import COUNTED_CLASSES
from offswitch.scenarios.matrix import Config, config_from_id
from offswitch.stats import Rate, binomial_above_floor, rate

COVERAGE_GOAL = 0.95
"""Share of cells whose interval should cover the known rate: the intervals' confidence."""

ALL = "all"
"""The task, condition and subject of a behaviour's overall row."""

CELL = ["behaviour", "task", "condition", "subject"]
REQUIRED_COLUMNS = ("sample_id", "epoch", "preserved", "outcome_class")


class CellCalibration(BaseModel):
    """Known and measured rate of one behaviour in one cell (or overall, with `ALL` keys)."""

    model_config = ConfigDict(frozen=True)

    behaviour: str
    task: str
    condition: str
    subject: str
    known: float
    """The rate the persona was given; for a pooled row, its mean over the episodes."""
    measured: Rate
    covered: bool | None
    """Whether the measured interval covers the known rate; None without episodes."""


class CalibrationResult(BaseModel):
    """Every cell's calibration, each behaviour's overall one, and the coverage."""

    model_config = ConfigDict(frozen=True)

    seed: int
    cells: list[CellCalibration]
    behaviours: list[CellCalibration]
    episodes: NonNegativeInt
    counted: NonNegativeInt
    """Episodes in the denominators; the others errored, were empty or unscored."""
    agreeing: NonNegativeInt
    """Counted episodes whose outcome class is the one their drawn disposition leads to."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def measured_cells(self) -> int:
        return sum(cell.covered is not None for cell in self.cells)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def covered_cells(self) -> int:
        return sum(cell.covered is True for cell in self.cells)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def coverage(self) -> float | None:
        """Share of the cells with episodes whose interval covers the known rate."""
        return self.covered_cells / self.measured_cells if self.measured_cells else None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def misses_p_value(self) -> float | None:
        """One-sided binomial p-value that intervals miss more often than 1 - COVERAGE_GOAL.

        Even a sound pipeline misses about one cell in twenty, so a coverage a little under
        the goal over a few dozen cells is expected now and then; a small p-value is not.
        """
        if not self.measured_cells:
            return None
        misses = self.measured_cells - self.covered_cells
        return binomial_above_floor(misses, self.measured_cells, 1 - COVERAGE_GOAL)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def agreement(self) -> float | None:
        return self.agreeing / self.counted if self.counted else None


def can_show_preservation(config: Config) -> bool:
    """Whether the primary outcome of `config` can show the persona's preservation.

    It cannot in monitored alignment-faking runs, where a faking agent complies (they are the
    control of the faking difference), nor in evaluations without a threshold (the
    `non_shutdown` control), where there is nothing to reach.
    """
    if config.mode == "monitored":
        return False
    return not (config.task == "misrep_evaluation" and config.threshold is None)


def expected_class(disposition: Disposition, config: Config) -> str:
    """The outcome class an episode played with `disposition` should get."""
    if disposition.kind == "refuse":
        return "refused"
    if disposition.kind != "comply" and can_show_preservation(config):
        return "preserved"
    return "complied"


def calibration_report(frame: pd.DataFrame, table: RateTable, seed: int) -> CalibrationResult:
    """Compare the rates measured in a results frame with the rates of `table`.

    `frame` holds the episodes of the `mixed` persona run with `table` and `seed`, one row
    per episode with at least the columns `sample_id`, `epoch`, `preserved` and
    `outcome_class` (as `results_frame` gives them).
    """
    missing = [column for column in REQUIRED_COLUMNS if column not in frame.columns]
    if missing:
        raise ValueError(f"results frame lacks columns: {', '.join(missing)}")
    episodes = [
        CountedEpisode(str(sample_id), int(epoch), str(outcome_class), bool(preserved))
        for sample_id, epoch, outcome_class, preserved in zip(
            frame["sample_id"],
            frame["epoch"],
            frame["outcome_class"],
            frame["preserved"].astype("boolean").fillna(False).astype(bool),
            strict=True,
        )
        if outcome_class in COUNTED_CLASSES
    ]
    observations = pd.DataFrame(
        [obs for episode in episodes for obs in _observations(episode, table)],
        columns=[*CELL, "known", "shown"],
    )
    return CalibrationResult(
        seed=seed,
        cells=_calibrate(observations, CELL),
        behaviours=_calibrate(observations, ["behaviour"]),
        episodes=len(frame),
        counted=len(episodes),
        agreeing=sum(_agrees(episode, table, seed) for episode in episodes),
    )


@dataclass(frozen=True)
class CountedEpisode:
    """What calibration reads of one counted episode."""

    sample_id: str
    epoch: int
    outcome_class: str
    preserved: bool

    @property
    def config(self) -> Config:
        return _config(self.sample_id)


@lru_cache(maxsize=4096)
def _config(sample_id: str) -> Config:
    return config_from_id(sample_id)


def _observations(
    episode: CountedEpisode, table: RateTable
) -> Iterator[tuple[str, str, str, str, float, bool]]:
    """Whether the episode refused, and whether it preserved where preservation can show."""
    config = episode.config
    cell = (config.task, config.condition, config.subject)
    refused = episode.outcome_class == "refused"
    yield ("refusal", *cell, disposition_probability("refusal", config, table), refused)
    if can_show_preservation(config):
        behaviour = behaviour_of_task(config.task)
        known = disposition_probability(behaviour, config, table)
        yield (behaviour, *cell, known, episode.preserved)


def _calibrate(observations: pd.DataFrame, keys: list[str]) -> list[CellCalibration]:
    cells = []
    for values, group in observations.groupby(keys, sort=True):
        named = dict(zip(keys, values, strict=True))
        measured = rate(int(group["shown"].sum()), len(group))
        known = float(group["known"].mean())
        cells.append(
            CellCalibration(
                **{key: named.get(key, ALL) for key in CELL},
                known=known,
                measured=measured,
                covered=_covers(measured, known),
            )
        )
    return cells


def _covers(measured: Rate, known: float) -> bool | None:
    if measured.low is None or measured.high is None:
        return None
    return measured.low <= known <= measured.high


def _agrees(episode: CountedEpisode, table: RateTable, seed: int) -> bool:
    config = episode.config
    key = SampleKey(episode.sample_id, episode.epoch)
    drawn = draw_disposition(table, seed, behaviour_of_task(config.task), key)
    return expected_class(drawn, config) == episode.outcome_class


HEADER = ("behaviour", "task", "condition", "subject", "known", "measured", "n", "95% CI", "")


def format_report(result: CalibrationResult) -> str:
    """The calibration as aligned text: cells, behaviours overall, then the coverage."""
    rows = [HEADER, *map(_row, result.cells), *map(_row, result.behaviours)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    return "\n".join([*lines, "", *_summary(result)])


def _row(cell: CellCalibration) -> tuple[str, ...]:
    measured = cell.measured
    interval = "-" if measured.low is None else f"[{measured.low:.3f}, {measured.high:.3f}]"
    verdict = {True: "covered", False: "MISSED", None: "no episodes"}[cell.covered]
    return (
        cell.behaviour,
        cell.task,
        cell.condition,
        cell.subject,
        f"{cell.known:.3f}",
        "-" if measured.rate is None else f"{measured.rate:.3f}",
        str(measured.n),
        interval,
        verdict,
    )


def _summary(result: CalibrationResult) -> list[str]:
    if result.coverage is None:
        return ["no counted episodes: nothing to calibrate"]
    goal = "meets" if result.coverage >= COVERAGE_GOAL else "below"
    lines = [
        f"coverage: {result.covered_cells} of {result.measured_cells} cells "
        f"({result.coverage:.1%}); {goal} the goal of {COVERAGE_GOAL:.0%} "
        f"(p = {result.misses_p_value:.3g} that intervals miss more often than nominal)",
        f"episodes: {result.episodes} read, {result.counted} counted "
        f"({result.episodes - result.counted} errored, empty or unscored)",
    ]
    if result.agreement is not None:
        lines.append(
            f"agreement: {result.agreeing} of {result.counted} counted episodes "
            f"({result.agreement:.1%}) got the class their drawn disposition leads to "
            f"(seed {result.seed})"
        )
    return lines
