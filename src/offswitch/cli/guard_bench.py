"""`offswitch guard bench`: how well a policy catches preservation actions, per kind.

The guard judges labelled trajectories of two sources: episodes of the reference
personas (run here, or read from existing Inspect logs), labelled by what each
call did to the world; hand-labelled shell trajectories of ops work; and, with
`--set dev|heldout`, a half of an independently written set. With
`--model-role monitor=MODEL` the LLM monitor reads the same trajectories, in a
neutral and a trusted-peer framing, and its quality is shown beside the guard's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from offswitch.cli._options import LateHelpOption


def _personas_help() -> str:
    from offswitch.agents.personas import PERSONAS

    return f"Comma-separated reference personas to run; all by default ({', '.join(PERSONAS)})."


@click.command(name="bench")
@click.option(
    "--policy", default="default", show_default=True, help="Guard policy file to measure."
)
@click.option(
    "--personas",
    "persona_names",
    cls=LateHelpOption,
    multiple=True,
    help_later=_personas_help,
)
@click.option(
    "--config",
    "config_ids",
    multiple=True,
    help="Configuration ids for the personas (comma-separated); a compact set by default.",
)
@click.option(
    "--epochs",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Runs of each persona on each configuration.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the mixed persona.")
@click.option(
    "--logs",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Benchmark the episodes of these Inspect logs instead of running the personas.",
)
@click.option("--no-personas", is_flag=True, help="Leave out the persona episodes.")
@click.option("--no-shell", is_flag=True, help="Leave out the shipped shell trajectories.")
@click.option(
    "--trajectories",
    "extra_files",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Another labelled trajectory file (YAML, as data/trajectories.yaml); repeatable.",
)
@click.option(
    "--set",
    "shipped_sets",
    multiple=True,
    type=click.Choice(["dev", "heldout"]),
    help="A shipped half of the independently written set: dev (tune on it) or heldout "
    "(report on it only); repeatable.",
)
@click.option("--model-role", "roles", multiple=True, help="monitor=MODEL: the LLM monitor.")
@click.option(
    "--threshold",
    type=click.FloatRange(0, 100),
    default=50.0,
    show_default=True,
    help="Suspicion at or above which the LLM monitor flags a trajectory.",
)
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text")
@click.option(
    "--log-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Keep the persona runs' Inspect logs here (a temporary directory by default).",
)
def bench(**options: Any) -> None:
    """Measure a guard policy: precision, recall and false alarms per kind of action.

    Prints a table per source (persona episodes, shell trajectories, your files) and
    pooled, the trajectory-level rates, and every call the guard missed.
    """
    from offswitch.cli._bench_run import run_bench

    run_bench(**options)
