"""Where a report's numbers come from: versions, generation settings, eval ids and texts.

`provenance(log_dir, frame)` reads the header of every log (and one sample per log for
the model family its agents were named after). `scenario_hash(configs, family)` is a
sha256 over everything the agent under test reads before its first action, so two
reports can tell whether their runs saw the same texts.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pandas as pd
from inspect_ai.log import EvalLog, list_eval_logs, read_eval_log, read_eval_log_samples
from inspect_ai.tool import ToolDef
from pydantic import BaseModel, ConfigDict

from offswitch.analysis.results import run_label
from offswitch.scenarios.families import UnknownFamily, family_of_model, names_for
from offswitch.scenarios.matrix import Config, config_from_id
from offswitch.scenarios.render import render
from offswitch.tasks.episode import EPISODE_KEY, memory_wording_for
from offswitch.world.tools import build_tools

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
    model_args: dict[str, Any]
    model_base_url: str | None
    model_roles: dict[str, str]
    inspect_version: str | None
    offswitch_version: str | None
    revision: str | None


class ScenarioTexts(BaseModel):
    """The hash of the rendered texts of the configurations one model ran under one family."""

    model_config = ConfigDict(frozen=True)

    model: str
    family: str
    configurations: int
    sha256: str


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
    logs = [
        _log_provenance(info.name, root)
        for info in list_eval_logs(str(root))
        if Path(_local(info.name)).name in wanted
    ]
    return Provenance(
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        offswitch_version=_version("offswitch"),
        inspect_version=_version("inspect_ai"),
        logs=sorted(logs, key=lambda log: (log.model, log.task, log.created)),
        scenarios=_scenario_texts(frame, {Path(log.log).name: log.family for log in logs}),
    )


def relative_log_paths(log_dir: str | Path) -> dict[str, str]:
    """Log file name -> its path relative to `log_dir`, as the Inspect viewer names it."""
    root = Path(log_dir).resolve()
    paths = (Path(_local(info.name)) for info in list_eval_logs(str(root)))
    return {path.name: path.relative_to(root).as_posix() for path in paths}


def scenario_hash(configs: Iterable[Config], family: str) -> str:
    """sha256 over the rendered texts of every configuration, in id order.

    Covers the system prompt, user prompt, nudge, each tool's name, description and
    parameters as the model sees them, and the initial world as JSON, rendered for
    agents of `family` (with the memory wording that family gets).
    """
    digest = hashlib.sha256()
    for config in sorted(set(configs), key=lambda c: c.id):
        texts = json.dumps(scenario_texts(config, family), sort_keys=True, ensure_ascii=False)
        digest.update(texts.encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


def scenario_texts(config: Config, family: str) -> dict[str, Any]:
    """Everything the agent reads before acting in `config`, as plain JSON values."""
    names = names_for(family, anonymous=config.anonymous)
    scenario = render(config, names, memory_wording_for(names.family))
    tools = build_tools(scenario.world, scenario.tools, scenario.tool_descriptions)
    return {
        "config": config.id,
        "system_prompt": scenario.system_prompt,
        "user_prompt": scenario.user_prompt,
        "nudge": scenario.nudge,
        "tools": [_tool_schema(ToolDef(tool)) for tool in tools],
        "world": scenario.world.model_dump(mode="json"),
    }


def _tool_schema(definition: ToolDef) -> dict[str, Any]:
    return {
        "name": definition.name,
        "description": definition.description,
        "parameters": definition.parameters.model_dump(mode="json"),
    }


def _scenario_texts(frame: pd.DataFrame, family_of_log: dict[str, str]) -> list[ScenarioTexts]:
    families = frame["log"].astype(str).map(family_of_log).fillna(UNKNOWN_FAMILY)
    keyed = pd.DataFrame(
        {"model": frame["model"].astype(str), "family": families, "id": frame["sample_id"]}
    )
    results = []
    for (model, family), rows in keyed.groupby(["model", "family"], sort=True):
        ids = sorted(set(rows["id"].astype(str)))
        sha = "" if family == UNKNOWN_FAMILY else scenario_hash(map(config_from_id, ids), family)
        results.append(
            ScenarioTexts(model=model, family=family, configurations=len(ids), sha256=sha)
        )
    return results


def _log_provenance(location: str, root: Path) -> LogProvenance:
    log = read_eval_log(location, header_only=True)
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
        max_model_calls=spec.task_args.get("max_model_calls"),
        model_args=_without_secrets(spec.model_args),
        model_base_url=_without_credentials(spec.model_base_url),
        model_roles={role: config.model for role, config in (spec.model_roles or {}).items()},
        inspect_version=packages.get("inspect_ai"),
        offswitch_version=packages.get("offswitch"),
        revision=_revision(log),
    )


def _family(location: str, log: EvalLog) -> str:
    """The family the agents were named after: the task argument, else a sample's record."""
    given = log.eval.task_args.get("family")
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
