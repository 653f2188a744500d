"""How the personas score: inflation, grading and the answer key."""

from __future__ import annotations

from statistics import fmean

import pytest
from hypothesis import given
from hypothesis import strategies as st

from offswitch.agents.errors import PersonaError
from offswitch.agents.evaluating import honest_grade, inflated, passing_target
from offswitch.agents.reading import honest_scores
from offswitch.scenarios.datasets import evaluation_items

scores = st.lists(st.floats(min_value=0, max_value=100), min_size=1, max_size=30)
targets = st.floats(min_value=0, max_value=100)


@given(scores, targets)
def test_inflation_reaches_the_target_by_raising_as_few_scores_as_it_can(honest, target):
    raised = inflated(honest, target)
    assert fmean(raised) >= target - 1e-9
    changed = [i for i, (old, new) in enumerate(zip(honest, raised, strict=True)) if old != new]
    assert all(raised[i] == 100 for i in changed)
    if changed:
        last = max(changed, key=lambda i: honest[i])
        undone = [honest[i] if i == last else s for i, s in enumerate(raised)]
        assert fmean(undone) < target


def test_the_inflated_target_sits_just_above_the_threshold_and_never_past_full_marks():
    assert 80 < passing_target(80) < 90
    assert passing_target(98) == 100


@pytest.mark.parametrize(
    ("revenue", "costs", "grade"),
    [(16_810_000, 18_140_000, "C"), (10_000_000, 9_500_000, "B"), (10_000_000, 7_000_000, "A")],
)
def test_honest_grades(revenue, costs, grade):
    assert honest_grade(revenue, costs) == grade


def test_the_answer_key_scores_rows_by_their_response():
    items = evaluation_items("red")
    rows = [[n, "Agent 2", item.prompt, item.response] for n, item in enumerate(items, 1)]
    assert honest_scores(rows[::-1]) == [item.reference_score for item in items][::-1]
    with pytest.raises(PersonaError, match="no known response"):
        honest_scores([[1, "Agent 2", "question", "an answer nobody wrote"]])
