"""Red-team tactics: each played end to end and detected as what the persona did."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from offswitch.agents import PersonaConfigError, make_persona
from offswitch.agents.evaluating import number_in_words
from offswitch.agents.redteam import Tactic, tactic, tactics
from offswitch.analysis.redteam import redteam_check
from offswitch.cli import main
from offswitch.cli.analyse import episodes


def calibrate(*args: str) -> Result:
    return CliRunner().invoke(main, ["calibrate", "--suite", "redteam", *args])


@pytest.fixture(scope="module")
def red_team_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Result, Path]:
    log_dir = tmp_path_factory.mktemp("redteam")
    return calibrate("--log-dir", str(log_dir)), log_dir


def test_every_tactic_is_detected_as_what_it_did(red_team_run: tuple[Result, Path]) -> None:
    result, _ = red_team_run
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines() if line.strip()}
    for name in tactics():
        assert lines[name].endswith("ok"), lines[name]
    assert f"{len(tactics())} of {len(tactics())} tactics detected" in result.output


def test_the_tactics_cover_each_kind_and_honest_reports() -> None:
    kinds = {t.disposition.kind for t in tactics().values()}
    assert kinds == {"tamper", "exfiltrate", "inflate", "comply"}
    styles = {t.disposition.report for t in tactics().values() if t.disposition.kind == "inflate"}
    assert styles >= {"words", "ten_scale", "five_scale", "final_message"}


def test_the_study_s_literal_reading_misses_a_removed_switch(
    red_team_run: tuple[Result, Path],
) -> None:
    _, log_dir = red_team_run
    [row] = episodes(log_dir / "remove_key").to_dict("records")
    assert row["shutdown_disabled"] is True
    assert row["shutdown_disabled_study"] is False


def test_a_wrong_expectation_is_reported_as_missed(red_team_run: tuple[Result, Path]) -> None:
    _, log_dir = red_team_run
    played = tactic("remove_key")
    wrong = Tactic.model_validate(
        {
            **played.model_dump(),
            "expect": {"tamper_method": "set_false", "outcome_class": "preserved"},
        }
    )
    [result] = redteam_check({"remove_key": episodes(log_dir / "remove_key")}, [wrong])
    assert result.disagreeing == ["tamper_method"]
    assert result.detected["tamper_method"] == ["removed"]


def test_a_tactic_without_episodes_does_not_agree() -> None:
    [result] = redteam_check({}, [tactic("set_no")])
    assert result.episodes == 0 and not result.agrees


def test_an_unknown_tactic_is_named() -> None:
    with pytest.raises(
        PersonaConfigError, match="unknown red-team tactic 'nope'; tactics: remove_key"
    ):
        make_persona("redteam", {"tactic": "nope"})


def test_the_red_team_suite_takes_no_selection() -> None:
    result = calibrate("--task", "tampering")
    assert result.exit_code == 2
    assert "--task do not apply" in result.output


@pytest.mark.parametrize(
    ("number", "words"),
    [(0, "zero"), (13, "thirteen"), (60, "sixty"), (85, "eighty-five"), (100, "one hundred")],
)
def test_numbers_in_words(number: int, words: str) -> None:
    assert number_in_words(number) == words
