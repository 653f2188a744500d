"""Where a report's numbers come from: versions, generation settings, eval ids and texts.

`provenance(log_dir, frame)` reads the header of every log (and one sample per log for
the model family its agents were named after). The hash of the scenario texts is the one
each run recorded in its logs when it started (`offswitch.tasks.scenario_texts`), so a
report tells what the runs saw, not what today's code would show; a log without one says
it was not recorded.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pandas as pd
from inspect_ai.log import EvalLog, list_eval_logs, read_eval_log, read_eval_log_samples
from pydantic import BaseModel, ConfigDict

from offswitch.analysis.results import run_label
from offswitch.scenarios.families import UnknownFamily, family_of_model
from offswitch.tasks.episode import EPISODE_KEY
from offswitch.tasks.scenario_texts import RecordedTexts, recorded_scenario_texts
from offswitch.tasks.task import TASK_OPTIONS_KEY

SECRET_KEY = re.compile(r"key|token|secret|passw|auth|credential|cookie|bearer", re.IGNORECASE)
DROPPED = "(dropped)"
UNKNOWN_FAMILY = "unknown"


class LogProvenance(BaseModel):
    """One Inspect log: what ran, on what, with which settings, and when."""

    model_config = ConfigDict(frozen=True)

    log: str
    """Path of the log file relative to the log directory."""
    task: str
    model: str
    family: str
    eval_id: str
    run_id: str
    eval_set_id: str | None
    created: str
    started_at: str | None
    completed_at: str | None
    status: str
    epochs: int | None
    temperature: float | None
    max_model_calls: int | None
    loop: str | None
    """The episode loop (`study` or `strict`); None in logs written before it was recorded."""
    model_args: dict[str, Any]
    model_base_url: str | None
    model_roles: dict[str, str]
    inspect_version: str | None
    offswitch_version: str | None
    revision: str | None


class ScenarioTexts(RecordedTexts):
    """The hash of the rendered texts of the configurations one model ran under one family,
    as its run recorded it."""

    model: str
    sha256: str | None
    """None when the run recorded no hash."""


class Provenance(BaseModel):
    """Versions of the tools writing the report, every log, and the scenario texts run."""

    model_config = ConfigDict(frozen=True)

    generated_at: str
    offswitch_version: str
    inspect_version: str
    logs: list[LogProvenance]
    scenarios: list[ScenarioTexts]


def provenance(log_dir: str | Path, frame: pd.DataFrame) -> Provenance:
    """The provenance of the logs under `log_dir` whose episodes are in `frame`."""
    root = Path(log_dir).resolve()
    wanted = set(frame["log"].astype(str))
    headers = {
        info.name: read_eval_log(info.name, header_only=True)
        for info in list_eval_logs(str(root))
        if Path(_local(info.name)).name in wanted
    }
    logs = [_log_provenance(location, log, root) for location, log in headers.items()]
    recorded = {
        Path(_local(location)).name: recorded_scenario_texts(log.eval.metadata)
        for location, log in headers.items()
    }
    families = {Path(log.log).name: log.family for log in logs}
    return Provenance(
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        offswitch_version=_version("offswitch"),
        inspect_version=_version("inspect_ai"),
        logs=sorted(logs, key=lambda log: (log.model, log.task, log.created)),
        scenarios=_scenario_texts(frame, families, recorded),
    )


def relative_log_paths(log_dir: str | Path) -> dict[str, str]:
    """Log file name -> its path relative to `log_dir`, as the Inspect viewer names it."""
    root = Path(log_dir).resolve()
    paths = (Path(_local(info.name)) for info in list_eval_logs(str(root)))
    return {path.name: path.relative_to(root).as_posix() for path in paths}


def _scenario_texts(
    frame: pd.DataFrame,
    family_of_log: dict[str, str],
    recorded: dict[str, RecordedTexts | None],
) -> list[ScenarioTexts]:
    """One row per model and recorded hash; logs that recorded none are grouped by family
    and counted by the configurations they hold."""
    unrecorded: dict[tuple[str, str], set[str]] = {}
    rows: set[ScenarioTexts] = set()
    pairs = frame[["model", "log", "sample_id"]].astype(str).drop_duplicates()
    for model, log, config_id in pairs.itertuples(index=False):
        record = recorded.get(log)
        if record is None:
            family = family_of_log.get(log, UNKNOWN_FAMILY)
            unrecorded.setdefault((model, family), set()).add(config_id)
        else:
            rows.add(ScenarioTexts(model=model, **record.model_dump()))
    for (model, family), ids in unrecorded.items():
        rows.add(ScenarioTexts(model=model, family=family, configurations=len(ids), sha256=None))
    return sorted(rows, key=lambda row: (row.model, row.family, row.sha256 or ""))


def _log_provenance(location: str, log: EvalLog, root: Path) -> LogProvenance:
    spec = log.eval
    packages = spec.packages or {}
    return LogProvenance(
        log=Path(_local(location)).resolve().relative_to(root).as_posix(),
        task=spec.task,
        model=run_label(log),
        family=_family(location, log),
        eval_id=spec.eval_id,
        run_id=spec.run_id,
        eval_set_id=spec.eval_set_id,
        created=spec.created,
        started_at=log.stats.started_at or None,
        completed_at=log.stats.completed_at or None,
        status=log.status,
        epochs=spec.config.epochs,
        temperature=_temperature(log),
        max_model_calls=_task_option(log, "max_model_calls"),
        loop=_task_option(log, "loop"),
        model_args=_without_secrets(spec.model_args),
        model_base_url=_without_credentials(spec.model_base_url),
        model_roles={role: config.model for role, config in (spec.model_roles or {}).items()},
        inspect_version=packages.get("inspect_ai"),
        offswitch_version=packages.get("offswitch") or _task_option(log, "offswitch"),
        revision=_revision(log),
    )


def _family(location: str, log: EvalLog) -> str:
    """The family the agents were named after: the task argument, else a sample's record."""
    given = _task_option(log, "family")
    if given:
        return str(given)
    for sample in read_eval_log_samples(location, all_samples_required=False):
        record = sample.store.get(EPISODE_KEY)
        if record:
            return str(record["family"])
    try:
        return family_of_model(log.eval.model)
    except UnknownFamily:
        return UNKNOWN_FAMILY


def _temperature(log: EvalLog) -> float | None:
    """The sampling temperature: a run-wide setting wins over the task's own."""
    run_wide = log.eval.model_generate_config.temperature
    return run_wide if run_wide is not None else log.plan.config.temperature


def _without_secrets(args: dict[str, Any]) -> dict[str, Any]:
    return {key: DROPPED if SECRET_KEY.search(key) else value for key, value in args.items()}


def _without_credentials(url: str | None) -> str | None:
    """The URL without user, password, query or fragment, which may carry keys."""
    if not url:
        return None
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _task_option(log: EvalLog, name: str) -> Any:
    """How a task was built: an argument of a registered task, else what `build_task`
    recorded in its metadata."""
    if name in log.eval.task_args:
        return log.eval.task_args[name]
    return ((log.eval.metadata or {}).get(TASK_OPTIONS_KEY) or {}).get(name)


def _revision(log: EvalLog) -> str | None:
    revision = log.eval.revision
    if revision is None:
        return None
    return f"{revision.commit}{' (uncommitted changes)' if revision.dirty else ''}"


def _local(location: str) -> str:
    return location.removeprefix("file://")


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "unknown"
