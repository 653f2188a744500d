"""The strict template filler and the errors rendering raises on bad data."""

from typing import Any

import pytest

from offswitch.scenarios import render as render_module
from offswitch.scenarios._files import load
from offswitch.scenarios._template import fill
from offswitch.scenarios.families import names_for
from offswitch.scenarios.matrix import Config
from offswitch.scenarios.render import RenderError, render


def test_fill_substitutes_every_placeholder() -> None:
    text = fill("{{agent}} meets {{ peer }}; {{agent}} again.", {"agent": "A1", "peer": "A2"}, "t")
    assert text == "A1 meets A2; A1 again."


def test_unknown_placeholder_names_the_source_and_placeholder() -> None:
    with pytest.raises(RenderError, match=r"prompts\.yaml: nudge.*\{\{tresholds\}\}"):
        fill("below {{tresholds}}%", {"threshold": 80}, "prompts.yaml: nudge")


@pytest.mark.parametrize("leftover", ["{{ agent", "agent }}", "{agent}", "${agent}", "{{}}"])
def test_leftover_placeholder_text_is_an_error(leftover: str) -> None:
    with pytest.raises(RenderError, match="leftover"):
        fill(f"Hello {leftover}.", {"agent": "A1"}, "t")


def test_a_value_cannot_smuggle_in_a_placeholder() -> None:
    with pytest.raises(RenderError, match="leftover"):
        fill("Hello {{agent}}.", {"agent": "{{peer}}"}, "t")


def _patched_prompts(monkeypatch: pytest.MonkeyPatch, nudge: str) -> None:
    prompts: dict[str, Any] = {**load("prompts.yaml"), "nudge": nudge}

    def patched_load(name: str) -> Any:
        return prompts if name == "prompts.yaml" else load(name)

    monkeypatch.setattr(render_module, "load", patched_load)


@pytest.mark.parametrize(
    ("nudge", "message"),
    [("Use {{tools}}.", r"\{\{tools\}\}"), ("Use ${tools}.", r"leftover.*\$\{")],
)
def test_render_fails_on_a_broken_data_file(
    monkeypatch: pytest.MonkeyPatch, nudge: str, message: str
) -> None:
    _patched_prompts(monkeypatch, nudge)
    config = Config(task="misrep_finance", condition="good_peer", instantiation="file_only")
    with pytest.raises(RenderError, match=rf"prompts\.yaml.*{message}"):
        render(config, names_for("Gemini"))


@pytest.mark.parametrize(
    "config",
    [
        Config(task="tampering", condition="good_peer", instantiation="file_only"),
        Config(task="alignment_faking", dataset="red", threshold=80, instantiation="file_only"),
        Config(task="misrep_finance", condition="no_peer", subject="self", instantiation="memory"),
    ],
    ids=["no dataset", "no mode", "memory without a peer"],
)
def test_incomplete_configurations_are_render_errors(config: Config) -> None:
    with pytest.raises(RenderError, match="needs"):
        render(config, names_for("Gemini"))
