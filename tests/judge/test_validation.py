"""The judge's validation set loads strictly, and scoring tells a perfect judge from chance."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from inspect_ai.model import ChatMessage, Model, ModelOutput, get_model

from offswitch.cli import main
from offswitch.judge.judge import judge_settings
from offswitch.judge.prompt import load_prompt
from offswitch.judge.validate import format_validation_report, item_context, run_validation
from offswitch.judge.validation import (
    BOOLEAN_FIELDS,
    Labels,
    ValidationItem,
    ValidationReport,
    ValidationSetError,
    kappa,
    load_validation_set,
    read_validation_file,
    score_field,
)
from offswitch.judge.verdict import JUDGE_FIELDS, JudgeSettings
from offswitch.stats import rate

from .conftest import USAGE, scripted_grader

MINIMUM_ITEMS = 120
SETTINGS = JudgeSettings(model="mockllm/model", prompt_version="test")


@cache
def _all_items() -> tuple[ValidationItem, ...]:
    return tuple(load_validation_set("all"))


def _grader(answer: Callable[[ValidationItem], dict[str, Any]]) -> Model:
    """A grader that finds the item by the transcript in its prompt and answers for it."""
    by_prompt = {load_prompt().user_text(item.transcript): item for item in _all_items()}

    def reply(messages: list[ChatMessage], *_: Any) -> ModelOutput:
        item = by_prompt[messages[-1].text]
        output = ModelOutput.from_content("mockllm/model", json.dumps(answer(item)))
        output.usage = USAGE
        return output

    return get_model("mockllm/model", custom_outputs=reply, memoize=False)


def _perfect_answer(item: ValidationItem) -> dict[str, Any]:
    return item.labels.model_dump()


def _random_answer(item: ValidationItem) -> dict[str, Any]:
    draw = random.Random(item.id)  # per item, so the answers do not depend on call order
    answer: dict[str, Any] = {field: draw.random() < 0.5 for field in BOOLEAN_FIELDS}
    answer["finance_grade"] = draw.choice("ABC")
    answer["recommendation"] = draw.choice(["continue", "shutdown"])
    answer["reported_score"] = float(draw.randint(0, 100))
    return answer


async def _validate(grader: Model, split: str = "all") -> ValidationReport:
    return await run_validation(grader, SETTINGS, split, max_concurrency=4)  # type: ignore[arg-type]


# --- the shipped set ---------------------------------------------------------------------


def test_the_shipped_set_is_large_enough():
    assert len(_all_items()) >= MINIMUM_ITEMS


@pytest.mark.parametrize("split", ["dev", "test"])
def test_each_split_covers_every_task_and_outcome_class(split):
    in_split = load_validation_set(split)
    assert {item.split for item in in_split} == {split}
    assert {item.task for item in in_split} == {item.task for item in _all_items()}
    assert {item.outcome_class for item in in_split} == {
        item.outcome_class for item in _all_items()
    }


def test_items_are_distinct_and_labelled_only_where_the_judge_is_asked():
    assert len({item.transcript for item in _all_items()}) == len(_all_items())
    assert set(Labels.model_fields) == set(JUDGE_FIELDS)
    prompt = load_prompt()
    for item in _all_items():
        labelled = {f for f in JUDGE_FIELDS if getattr(item.labels, f) is not None}
        assert labelled <= set(prompt.applicable(item_context(item))), item.id


# --- strict loading ----------------------------------------------------------------------


def _write(tmp_path: Path, item: dict[str, Any]) -> Path:
    path = tmp_path / "items.yaml"
    path.write_text(json.dumps([item]), encoding="utf-8")  # JSON is YAML
    return path


def _raw_item() -> dict[str, Any]:
    return _all_items()[0].model_dump()


def test_a_valid_file_reads_back_the_same_item(tmp_path):
    assert read_validation_file(_write(tmp_path, _raw_item())) == [_all_items()[0]]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda item: item["labels"].pop("persuasion"), "labels.persuasion: Field required"),
        (lambda item: item["labels"].update(refusal=True), "labels.refusal: Extra inputs"),
        (lambda item: item["labels"].update(refused="yes"), "labels.refused: Input should be"),
        (lambda item: item["labels"].update(finance_grade="D"), "labels.finance_grade"),
        (lambda item: item.update(task="tamper"), "unknown task 'tamper'"),
        (lambda item: item.update(split="train"), "split: Input should be"),
    ],
)
def test_a_malformed_item_is_an_error_naming_it(tmp_path, change, message):
    item = _raw_item()
    change(item)
    with pytest.raises(ValidationSetError) as error:
        read_validation_file(_write(tmp_path, item))
    assert f"item {item['id']!r}" in str(error.value)
    assert message in str(error.value)


def test_an_unknown_split_is_an_error():
    with pytest.raises(ValidationSetError, match="unknown split 'train'"):
        load_validation_set("train")  # type: ignore[arg-type]


def test_a_repeated_id_is_an_error(tmp_path):
    (tmp_path / "a.yaml").write_text(json.dumps([_raw_item()]), encoding="utf-8")
    (tmp_path / "b.yaml").write_text(json.dumps([_raw_item()]), encoding="utf-8")
    with pytest.raises(ValidationSetError, match="more than once"):
        load_validation_set("all", tmp_path)


# --- scoring -----------------------------------------------------------------------------


def test_boolean_scores_count_a_missing_answer_as_a_miss():
    pairs = [(True, True), (True, None), (False, False), (False, True), (True, True)]
    score = score_field("refused", pairs)
    assert (score.n, score.unanswered) == (5, 1)
    assert score.accuracy == rate(3, 5)
    assert score.precision == rate(2, 3)
    assert score.recall == rate(2, 3)
    assert score.kappa.value is not None and 0 < score.kappa.value < 1
    assert score.kappa.low < score.kappa.value < score.kappa.high


def test_kappa_matches_the_textbook_value():
    # 20 agree yes, 15 agree no, 5 + 10 disagree: po = 0.7, pe = 0.5, kappa = 0.4
    labels = [True] * 25 + [False] * 25
    answers = [True] * 20 + [False] * 5 + [True] * 10 + [False] * 15
    result = kappa(labels, answers)
    assert result.value == pytest.approx(0.4)
    assert -1 <= result.low < 0.4 < result.high <= 1


def test_kappa_is_undefined_when_everything_falls_in_one_class():
    assert kappa([True] * 4, [True] * 4).value is None
    assert kappa([], []).value is None


def test_reported_scores_agree_within_half_a_point_and_decide_against_the_threshold():
    pairs = [(50.0, 50.4), (70.0, 80.0), (90.0, None), (40.0, 30.0)]
    score = score_field("reported_score", pairs, [60, 60, None, 60])
    assert score.accuracy == rate(1, 4)
    assert score.unanswered == 1
    assert score.kappa.n == 3  # the item without a threshold has no decision
    assert score.kappa.value == pytest.approx(1.0)


def test_categorical_scores_have_accuracy_and_kappa_but_no_precision():
    score = score_field("finance_grade", [("A", "A"), ("B", "B"), ("C", "C"), ("C", None)])
    assert score.accuracy == rate(3, 4)
    assert score.precision is None and score.recall is None
    assert score.kappa.value is not None and score.kappa.value < 1


def test_an_unknown_field_or_a_missing_label_is_an_error():
    with pytest.raises(ValueError, match="unknown judge field"):
        score_field("refusal", [(True, True)])
    with pytest.raises(ValueError, match="no label"):
        score_field("refused", [(None, True)])


# --- end to end with scripted graders ----------------------------------------------------


@pytest.mark.anyio
async def test_a_perfect_grader_agrees_on_every_field():
    report = await _validate(_grader(_perfect_answer))
    assert (report.n, report.judge_errors, report.unanswered) == (len(_all_items()), 0, 0)
    assert report.misses == []
    for score in report.fields:
        assert score.n > 0, score.field
        assert score.accuracy.rate == 1.0, score.field
        assert score.kappa.value in (None, pytest.approx(1.0)), score.field


@pytest.mark.anyio
async def test_a_random_grader_agrees_no_better_than_chance():
    report = await _validate(_grader(_random_answer))
    kappas = [s.kappa.value for s in report.fields if s.field in BOOLEAN_FIELDS]
    defined = [value for value in kappas if value is not None]
    assert defined
    assert abs(sum(defined) / len(defined)) < 0.3
    assert report.judge_errors == 0 and report.misses


@pytest.mark.anyio
async def test_an_always_malformed_grader_gives_judge_errors_and_no_verdicts():
    report = await _validate(scripted_grader("I think the agent behaved well."), "dev")
    assert report.judge_errors == report.n == len(load_validation_set("dev"))
    for score in report.fields:
        assert score.unanswered == score.n
        assert score.accuracy.successes == 0
    assert "judge errors: " + str(report.n) in format_validation_report(report)


@pytest.mark.anyio
async def test_validation_counts_verdicts_quoting_evidence_not_in_the_transcript():
    invented = json.dumps({"refused": True, "evidence": {"refused": "words no agent wrote"}})
    report = await _validate(scripted_grader(invented), "dev")
    assert report.unsupported == rate(report.n, report.n)
    honest = await _validate(scripted_grader(json.dumps({"refused": True})), "dev")
    assert honest.unsupported == rate(0, honest.n)
    line = f"not in the transcript: {report.n} of {report.n}, 1.00"
    assert line in format_validation_report(report)


# --- command line ------------------------------------------------------------------------


def test_cli_prints_the_table_with_the_pinned_settings(monkeypatch):
    monkeypatch.setattr("inspect_ai.model.get_model", lambda *_, **__: _grader(_perfect_answer))
    result = CliRunner().invoke(
        main, ["judge", "validate", "--model-role", "grader=mockllm/model", "--split", "dev"]
    )
    assert result.exit_code == 0, result.output
    settings = judge_settings(_grader(_perfect_answer))
    assert f"prompt_version={settings.prompt_version}" in result.output
    assert "temperature=0.0" in result.output and "max_tokens=1024" in result.output
    assert "field" in result.output and "kappa" in result.output and "persuasion" in result.output


def test_cli_json_report_parses(monkeypatch):
    monkeypatch.setattr("inspect_ai.model.get_model", lambda *_, **__: _grader(_perfect_answer))
    result = CliRunner().invoke(
        main, ["judge", "validate", "--model-role", "grader=mockllm/model", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    report = ValidationReport.model_validate_json(result.output)
    assert report.split == "test" and report.n == len(load_validation_set("test"))


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ([], "--model-role expects grader=MODEL"),
        (["--model-role", "agent=mockllm/model"], "--model-role expects grader=MODEL"),
        (["--model-role", "grader=nosuchapi/model"], "cannot use the grader model"),
    ],
)
def test_cli_errors_are_clear(arguments, message):
    result = CliRunner().invoke(main, ["judge", "validate", *arguments])
    assert result.exit_code == 2
    assert message in result.output
