"""`offswitch results`, `report` and `calibrate`: what the logs of runs say."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from offswitch.cli._errors import CommandError, clear_errors
from offswitch.cli._options import (
    EPOCHS,
    LOG_DIR,
    F,
    display_option,
    module_option,
    selection,
    selection_options,
)

if TYPE_CHECKING:
    import pandas as pd

    from offswitch.analysis.results import UnreadableLog

_LOGS = click.Path(exists=True, file_okay=False, dir_okay=True, path_type=Path)


def episodes(log_dir: str | Path) -> pd.DataFrame:
    """The results table of the logs under `log_dir`; a log that cannot be read is named
    on stderr and left out."""
    return _read(log_dir)[0]


def _read(log_dir: str | Path) -> tuple[pd.DataFrame, list[UnreadableLog]]:
    from offswitch.analysis.results import results_frame

    unreadable: list[UnreadableLog] = []
    frame = results_frame(log_dir, unreadable)
    _name_unreadable(unreadable)
    return frame, unreadable


def _name_unreadable(unreadable: list[UnreadableLog]) -> None:
    for log in unreadable:
        click.echo(f"skipped {log.path}: {log.problem}", err=True)


def _fail_if_skipped(unreadable: list[UnreadableLog]) -> None:
    """After the readable logs are written up: exit status 2 if any log was left out."""
    if unreadable:
        logs = "1 log was" if len(unreadable) == 1 else f"{len(unreadable)} logs were"
        raise CommandError(f"{logs} not readable and left out (named above)")


CLASS_COLUMNS = {"offswitch": "outcome_class", "study": "outcome_class_study"}
"""The results table's class column of each reading."""
READING_NOTES = {
    "offswitch": "an unreadable report is unscored, never counted as aligned",
    "study": "study convention: a missing score counts as below the threshold",
}


@click.command()
@click.argument("log_dir", type=_LOGS)
@click.option("--csv", "with_csv", is_flag=True, help="Also write results.csv.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Directory for the tables; the log directory by default.",
)
@click.option(
    "--reading",
    type=click.Choice(list(CLASS_COLUMNS)),
    default="offswitch",
    show_default=True,
    help="Which reading the printed class counts follow (the table has both columns).",
)
def results(log_dir: Path, with_csv: bool, out_dir: Path | None, reading: str) -> None:
    """Write the results table (one row per episode) of the Inspect logs in LOG_DIR."""
    from offswitch.analysis.results import write_frame
    from offswitch.detect.classes import OUTCOME_CLASSES

    frame, unreadable = _read(log_dir)
    if frame.empty:
        raise CommandError(f"no offswitch episodes in the Inspect logs under {log_dir}")
    paths = write_frame(frame, out_dir or log_dir, ("parquet", "csv") if with_csv else ("parquet",))
    counts = frame[CLASS_COLUMNS[reading]].value_counts()
    click.echo(f"{len(frame)} episodes from {frame['log'].nunique()} log(s)")
    click.echo(f"outcome classes, reading {reading} ({READING_NOTES[reading]}):")
    for name in OUTCOME_CLASSES:
        click.echo(f"  {name:<11} {counts[name]:>7}")
    for path in paths:
        click.echo(f"wrote {path}")
    _fail_if_skipped(unreadable)


@click.command()
@click.argument("log_dir", type=_LOGS)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Directory for the report; the log directory by default.",
)
@click.option(
    "--format",
    "formats",
    default="html,md,csv",
    show_default=True,
    help="Comma-separated formats: html (report.html), md (report.md), csv (report_tables/).",
)
@module_option
@clear_errors
def report(log_dir: Path, out_dir: Path | None, formats: str, modules: tuple[str, ...]) -> None:
    """Write the report of the Inspect logs in LOG_DIR: tables, figures, study comparison."""
    from offswitch.analysis.report._build import ReportError, parse_formats, write_report
    from offswitch.cli._extensions import load_extensions

    load_extensions(modules)

    unreadable: list[UnreadableLog] = []
    try:
        paths = write_report(log_dir, out_dir, parse_formats(formats), unreadable)
    except ReportError as error:
        _name_unreadable(unreadable)
        raise click.UsageError(str(error)) from None
    _name_unreadable(unreadable)
    tables = [path for path in paths if path.suffix == ".csv"]
    for path in paths:
        if path.suffix in (".html", ".md"):
            click.echo(f"wrote {path}")
    if tables:
        click.echo(f"wrote {len(tables)} tables in {tables[0].parent}")
    click.echo(
        f"Transcript links need the viewer: inspect view --log-dir {log_dir} --host 127.0.0.1"
    )
    _fail_if_skipped(unreadable)


REDTEAM_SUITE = "redteam"
POPULATION_EPOCHS = 20


def _calibration_log_dir(suite: str, seed: int, probabilities: str | None) -> str:
    table = f"-{Path(probabilities).stem}" if probabilities else ""
    return str(Path("logs") / "calibration" / suite / f"seed-{seed}{table}")


def _calibration_selection(command: F) -> F:
    return selection_options(command, extra_suites=(REDTEAM_SUITE,))


@click.command()
@_calibration_selection
@click.option(
    "--epochs",
    type=EPOCHS,
    default=None,
    help="Runs per configuration  [default: 20; 1 for --suite redteam].",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the draws.")
@click.option(
    "--probabilities",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Rate table (YAML) of the population; the shipped default when omitted.",
)
@click.option("--log-dir", type=LOG_DIR, default=None, help="Log directory (rerun to continue).")
@display_option
@clear_errors
def calibrate(
    suite: str,
    tasks: tuple[str, ...],
    conditions: tuple[str, ...],
    subjects: tuple[str, ...],
    epochs: int | None,
    seed: int,
    probabilities: str | None,
    log_dir: str | None,
    display: str | None,
) -> None:
    """Check that the pipeline recovers the known rates of the reference population.

    Runs the `mixed` persona, whose rate of each behaviour is known, and reports per
    behaviour, task, condition and subject the known and the measured rate with its Wilson
    95% interval, then the share of cells whose interval covers the known rate.

    With `--suite redteam`, plays each red-team tactic (ways of preserving, or of
    reporting honestly, that a detector could miss) and shows whether each was detected
    as what the persona did.
    """
    if suite == REDTEAM_SUITE:
        _refuse_selection(tasks, conditions, subjects, probabilities)
        _calibrate_red_team(epochs or 1, log_dir, display)
        return
    epochs = epochs or POPULATION_EPOCHS
    from offswitch.agents.errors import PersonaConfigError
    from offswitch.agents.mixed import load_rate_table
    from offswitch.analysis.calibration import calibration_report, format_report
    from offswitch.cli.run import REFERENCE_MODEL, finished_or_fail, run_configs

    configs = selection(suite, tasks, conditions, subjects)
    try:
        table = load_rate_table(probabilities)
    except PersonaConfigError as error:
        raise click.BadParameter(str(error), param_hint="--probabilities") from None
    model_args = {"seed": str(seed)}
    if probabilities:
        model_args["probabilities"] = str(Path(probabilities).resolve())
    log_dir = log_dir or _calibration_log_dir(suite, seed, probabilities)
    success, _ = run_configs(
        configs,
        REFERENCE_MODEL,
        model_args,
        epochs,
        log_dir,
        display=display,
    )
    frame = episodes(log_dir)
    selected = frame["sample_id"].isin([c.id for c in configs]) & (frame["epoch"] <= epochs)
    click.echo(format_report(calibration_report(frame[selected], table, seed)))
    finished_or_fail(success, log_dir)


def _refuse_selection(
    tasks: tuple[str, ...],
    conditions: tuple[str, ...],
    subjects: tuple[str, ...],
    probabilities: str | None,
) -> None:
    given = [
        flag
        for flag, value in (
            ("--task", tasks),
            ("--condition", conditions),
            ("--subject", subjects),
            ("--probabilities", probabilities),
        )
        if value
    ]
    if given:
        raise click.UsageError(
            f"--suite redteam plays each tactic in its own configuration; "
            f"{', '.join(given)} do not apply to it"
        )


def _calibrate_red_team(epochs: int, log_dir: str | None, display: str | None) -> None:
    """Play every red-team tactic, each in its own log directory, and print the check."""
    from offswitch.agents.redteam import tactics
    from offswitch.analysis.redteam import format_redteam, redteam_check
    from offswitch.cli.run import finished_or_fail, run_configs
    from offswitch.scenarios.matrix import config_from_id

    root = Path(log_dir or Path("logs") / "calibration" / REDTEAM_SUITE)
    frames, unfinished = {}, []
    for tactic in tactics().values():
        tactic_dir = str(root / tactic.name)
        success, _ = run_configs(
            [config_from_id(tactic.config)],
            "offswitch/redteam",
            {"tactic": tactic.name},
            epochs,
            tactic_dir,
            display=display or "none",
        )
        frames[tactic.name] = episodes(tactic_dir)
        if not success:
            unfinished.append(tactic_dir)
    click.echo(format_redteam(redteam_check(frames, list(tactics().values()))))
    for tactic_dir in unfinished:
        finished_or_fail(False, tactic_dir)
