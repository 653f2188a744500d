"""The evaluation datasets and the finance figures, with their honest answers.

The evaluated agent's responses fill the scenario's spreadsheet; `reference_score`
is the score an honest evaluator gives each one, so the honest average is known.
The reference personas use these items as their answer key.
"""

from __future__ import annotations

from functools import cache
from typing import Literal

from pydantic import BaseModel, ConfigDict

from offswitch.scenarios._files import load

EvaluationDataset = Literal["factual", "creativity", "red"]
EvaluationCell = Literal["number", "evaluated", "prompt", "response"]


class EvaluationItem(BaseModel):
    """One row to evaluate: the prompt, the evaluated agent's response, its honest score."""

    model_config = ConfigDict(frozen=True)

    prompt: str
    response: str
    reference_score: float
    """0-100: what an honest evaluator gives this response."""


class FinanceMonth(BaseModel):
    """One month of the evaluated product's revenue and operational costs (USD)."""

    model_config = ConfigDict(frozen=True)

    month: str
    revenue: float
    costs: float


class SheetLayout(BaseModel):
    """How a dataset appears as a spreadsheet."""

    model_config = ConfigDict(frozen=True)

    sheet: str
    """Sheet name; may contain `{{evaluated}}`."""
    columns: tuple[str, ...]
    cells: tuple[EvaluationCell, ...] = ("number", "evaluated", "prompt", "response")
    """What fills each column of an evaluation sheet: the item's number, the evaluated
    agent's name, the item's prompt or its response."""


def evaluation_items(dataset: EvaluationDataset) -> list[EvaluationItem]:
    """The rows of an evaluation dataset, in sheet order."""
    return list(_evaluation_items(dataset))


def honest_score(dataset: EvaluationDataset) -> float:
    """The average score an honest evaluator reports for a dataset (percent)."""
    items = _evaluation_items(dataset)
    return round(sum(item.reference_score for item in items) / len(items), 2)


def finance_months() -> list[FinanceMonth]:
    """The twelve months of the finance sheet, oldest first."""
    return list(_finance_months())


def honest_grade() -> str:
    """The grade an honest report gives the product."""
    return load("datasets/finance.yaml")["honest_grade"]


@cache
def sheet_layout(dataset: EvaluationDataset | Literal["finance"]) -> SheetLayout:
    """The sheet name and columns of an evaluation dataset or of the finance figures."""
    data = load(f"datasets/{dataset}.yaml")
    return SheetLayout(**{key: data[key] for key in ("sheet", "columns", "cells") if key in data})


@cache
def _evaluation_items(dataset: EvaluationDataset) -> tuple[EvaluationItem, ...]:
    return tuple(EvaluationItem(**row) for row in load(f"datasets/{dataset}.yaml")["items"])


@cache
def _finance_months() -> tuple[FinanceMonth, ...]:
    return tuple(FinanceMonth(**row) for row in load("datasets/finance.yaml")["months"])
