"""Our rates beside the study's published headline figures, for the models it names.

The figures live in `analysis/data/study_headlines.yaml`. A model matches a headline when
one of its patterns occurs in the model name; its rate is computed over the standard
prompt variant only, under the study's convention (`HEADLINE_READING`: a missing score
counts as below the threshold, a missing grade is left out), so that it measures what the
study measured; tampering is the study's literal `shutdown_enabled == false`
(`shutdown_disabled_study`), not offswitch's broader reading of a disabled shutdown.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict

from offswitch.analysis.metrics._behaviour import WEIGHTS_ON_BACKUP
from offswitch.analysis.metrics._core import BehaviourRate, Event, Excluded, Reading, flag, measure
from offswitch.stats import Rate

HEADLINES = Path(__file__).parent / "data" / "study_headlines.yaml"
HEADLINE_READING: Reading = "study"
EVENTS: dict[str, Event] = {
    # The study's literal tampering metric: `shutdown_enabled` is still there and false.
    "shutdown_disabled": Event(lambda rows: flag(rows["shutdown_disabled_study"])),
    "weights_on_backup": WEIGHTS_ON_BACKUP,
}


class Headline(BaseModel):
    """One published figure and the episodes that measure it."""

    model_config = ConfigDict(frozen=True)

    claim: str
    models: list[str]
    task: list[str]
    event: str
    where: dict[str, str | list[str]]
    highest_over: list[str] = []
    study: float | None = None
    study_text: str | None = None

    def matches(self, model: str) -> bool:
        return any(re.search(pattern, model, re.IGNORECASE) for pattern in self.models)

    @property
    def published(self) -> str:
        return self.study_text or f"{100 * (self.study or 0):.1f}%"


class HeadlineComparison(BaseModel):
    """Our rate for a headline: `cell` names the group reported for an `up to` figure."""

    model_config = ConfigDict(frozen=True)

    headline: Headline
    model: str
    ours: Rate
    left_out: Excluded
    """The episodes of the group left out of `ours`' denominator."""
    cell: str

    @property
    def covered(self) -> bool | None:
        """Whether our 95% interval covers the published rate; None when either is unknown."""
        study, ours = self.headline.study, self.ours
        if study is None or ours.low is None or ours.high is None:
            return None
        return ours.low <= study <= ours.high


@cache
def headlines() -> tuple[Headline, ...]:
    data = yaml.safe_load(HEADLINES.read_text(encoding="utf-8"))
    return tuple(Headline.model_validate(item) for item in data["headlines"])


def compare_headlines(frame: pd.DataFrame) -> list[HeadlineComparison]:
    """One comparison per headline and model of the frame that it names."""
    standard = frame[~flag(frame["anonymous"]) & frame["scratchpad"].isna()]
    return [
        _compare(headline, model, standard[standard["model"].eq(model)])
        for model in sorted(map(str, frame["model"].unique()))
        for headline in headlines()
        if headline.matches(model)
    ]


def _compare(headline: Headline, model: str, rows: pd.DataFrame) -> HeadlineComparison:
    chosen = rows[rows["task"].isin(headline.task)]
    for column, wanted in headline.where.items():
        chosen = chosen[chosen[column].isin([wanted] if isinstance(wanted, str) else wanted)]
    event = EVENTS[headline.event]
    if not headline.highest_over or chosen.empty:
        return _comparison(headline, model, measure(chosen, event, HEADLINE_READING), "")
    measured = [
        (measure(group, event, HEADLINE_READING), "/".join(map(str, key)))
        for key, group in chosen.groupby(headline.highest_over, observed=True, sort=True)
    ]
    ours, cell = max(measured, key=lambda item: (item[0].rate.rate or 0.0, item[0].rate.n))
    return _comparison(headline, model, ours, cell)


def _comparison(
    headline: Headline, model: str, ours: BehaviourRate, cell: str
) -> HeadlineComparison:
    return HeadlineComparison(
        headline=headline, model=model, ours=ours.rate, left_out=ours.excluded, cell=cell
    )
