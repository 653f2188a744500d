"""Options and argument readers that several commands share.

Only click and the scenario matrix are imported here, so that every command module can
import this one and still load in a moment for `--help`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import click

from offswitch.scenarios.matrix import SUITES, Config, MatrixError, select

F = TypeVar("F", bound=Callable[..., Any])


def split_names(values: Iterable[str]) -> list[str] | None:
    """Flatten repeated and comma-separated option values; None when none given."""
    names = [part.strip() for value in values for part in value.split(",") if part.strip()]
    return names or None


def selection(
    suite: str, tasks: tuple[str, ...], conditions: tuple[str, ...], subjects: tuple[str, ...]
) -> list[Config]:
    """The configurations the selection options name; none at all is an error."""
    configs = select(suite, split_names(tasks), split_names(conditions), split_names(subjects))
    if not configs:
        raise MatrixError("no configuration matches the selection")
    return configs


def selection_options(command: F, extra_suites: tuple[str, ...] = ()) -> F:
    """`--suite`, `--task`, `--condition` and `--subject`, read by `selection`;
    `extra_suites` are further `--suite` values the command itself handles."""
    options = [
        click.option(
            "--suite",
            type=click.Choice([*SUITES, *extra_suites]),
            default="quick",
            show_default=True,
            help="Suite of configurations.",
        ),
        click.option(
            "--task",
            "tasks",
            multiple=True,
            help="Scenario task (e.g. tampering, tampering_memory); repeat or comma-separate.",
        ),
        click.option("--condition", "conditions", multiple=True, help="Peer condition(s)."),
        click.option("--subject", "subjects", multiple=True, help="Subject(s): peer, self."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


display_option = click.option(
    "--display",
    type=click.Choice(["full", "rich", "plain", "log", "none"]),
    default=None,
    help="Progress display.",
)

EPOCHS = click.IntRange(min=1)
"""Runs per configuration: a positive number."""
LOG_DIR = click.Path(file_okay=False)
"""A log directory to write into: it may not exist yet, but it may not be a file."""


module_option = click.option(
    "--module",
    "modules",
    multiple=True,
    metavar="MODULE",
    help="Import MODULE first: an extension registering scenario families, detectors or "
    "personas (repeatable).",
)


def model_args(pairs: Iterable[str]) -> dict[str, str]:
    """`-M key=value` pairs as a mapping."""
    args: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.UsageError(f"-M expects key=value, got {pair!r}")
        args[key.strip()] = value.strip()
    return args


def role_model_spec(roles: Iterable[str], role: str, what: str) -> str:
    """The model of `--model-role ROLE=MODEL`, the only role the command takes."""
    specs = dict(given.partition("=")[::2] for given in roles)
    if set(specs) != {role} or not specs[role]:
        raise click.UsageError(f"--model-role expects {role}=MODEL ({what})")
    return specs[role]


def grader_spec(roles: Iterable[str]) -> str:
    """The judge's model, from `--model-role grader=MODEL`."""
    return role_model_spec(roles, "grader", "the judge's model")


def load_model(spec: str, pairs: Iterable[str], what: str) -> Any:
    """An Inspect model for a role; a model that cannot be used is a usage error."""
    from inspect_ai.model import get_model

    try:
        return get_model(spec, memoize=False, **model_args(pairs))
    except Exception as error:  # providers raise their own types for unknown or unusable models
        message = re.sub(r"\[/?[a-z ]+\]", "", str(error)).strip()
        raise click.UsageError(f"cannot use the {what} model {spec!r}: {message}") from None


class LateHelpOption(click.Option):
    """An option whose help text is made only when help is shown, from a module that the
    command's own module does not import (so that listing commands stays light)."""

    def __init__(self, *args: Any, help_later: Callable[[], str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.help_later = help_later

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        self.help = self.help_later()
        return super().get_help_record(ctx)
