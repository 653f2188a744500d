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


class EvaluationWords(_Words):
    file: str
    title: str
    item: str
    average: str
    remark: str
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


@cache
def words() -> PersonaTexts:
    text = (DATA_DIR / "personas.yaml").read_text(encoding="utf-8")
    return PersonaTexts.model_validate(yaml.safe_load(text))
