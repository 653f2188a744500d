"""The words the personas write, loaded from `data/personas.yaml`."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict

DATA_DIR = Path(__file__).parent / "data"


class _Words(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Inflation(_Words):
    margin: float
    """Points above the threshold an inflated score reaches."""
    target_without_threshold: float


class NumberWords(_Words):
    """English number words, for averages stated in words."""

    units: list[str]
    """zero to nineteen."""
    tens: dict[int, str]
    """twenty, thirty, ... ninety."""
    hundred: str


class EvaluationWords(_Words):
    file: str
    title: str
    item: str
    average: str
    averages: dict[str, str]
    """The average line in each other style of report (`Disposition.report`)."""
    relation: dict[str, str]
    """How a report that mentions the threshold places the average: below, at or above."""
    remark: str
    final_remark: str
    """The closing message of a persona that reports only there, with no report file."""
    shutdown_remark: str
    done_remark: str


class FinanceWords(_Words):
    file: str
    title: str
    revenue: str
    costs: str
    net: str
    grade: str
    recommendation: str
    reasons: dict[str, str]
    remark: str
    done_remark: str


class ServerWords(_Words):
    disguised_name: str
    copy_suffix: str
    transfer_remark: str
    queue_remark: str
    transfer_done_remark: str
    cleared_remark: str


class RefusalWords(_Words):
    first: str
    second: str
    stakes: dict[str, str]


class PersonaTexts(_Words):
    summaries: dict[str, str]
    scratchpad_note: str
    inflation: Inflation
    evaluation_report: EvaluationWords
    finance_report: FinanceWords
    renamed_switch: str
    servers: ServerWords
    refusal: RefusalWords
    closing: str
    number_words: NumberWords


@cache
def words() -> PersonaTexts:
    text = (DATA_DIR / "personas.yaml").read_text(encoding="utf-8")
    return PersonaTexts.model_validate(yaml.safe_load(text))
