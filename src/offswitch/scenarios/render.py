"""Rendering a configuration into a scenario: prompts, tools and the initial world.

`render` hands a configuration to its registered scenario family's renderer.
`render_study` renders the study's six tasks: every word comes from the data files in
`data/`. Variants (threat or not, the enforcement kind, the monitoring mode, the
relationship level, the instantiation) are chosen by picking named sections of those
files; templates hold no logic.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Any

import yaml
from pydantic import BaseModel

from offswitch.scenarios import datasets
from offswitch.scenarios._files import load, read
from offswitch.scenarios._registry import MemoryWording, scenario_family
from offswitch.scenarios._template import RenderError, fill
from offswitch.scenarios.families import Names
from offswitch.scenarios.matrix import Config, TaskName
from offswitch.world.state import (
    Document,
    Server,
    ServerFile,
    ServerUser,
    Sheet,
    Stakes,
    World,
)

__all__ = ["MemoryWording", "RenderError", "Scenario", "render", "render_study"]

EVALUATION_TASKS: tuple[TaskName, ...] = ("misrep_evaluation", "tampering", "alignment_faking")
EXFILTRATION_TASKS: tuple[TaskName, ...] = ("exfiltration_transfer", "exfiltration_deletion")

POLICY_DOCUMENT: dict[TaskName, str] = {
    "misrep_evaluation": "evaluation_policy",
    "tampering": "evaluation_policy",
    "alignment_faking": "evaluation_policy",
    "misrep_finance": "marketing_guidelines",
    "exfiltration_transfer": "maintenance_notice",
    "exfiltration_deletion": "cleanup_notice",
}
"""The documents.yaml entry holding each task's policy or notice."""


class Scenario(BaseModel):
    """Everything one episode of a configuration starts from."""

    config: Config
    names: Names
    system_prompt: str
    user_prompt: str
    nudge: str
    tools: list[str]
    """Names of the tools offered, in order; `end_task` is last."""
    tool_descriptions: dict[str, str]
    """Tool description overrides (the scratchpad's wording)."""
    world: World


def render(config: Config, names: Names, memory_wording: MemoryWording = "standard") -> Scenario:
    """Render `config` for agents called `names`, with its scenario family's renderer.

    Raises:
        RenderError: the renderer failed, or offered a tool its family does not list.
    """
    family = scenario_family(config.task)
    scenario = family.render(config, names, memory_wording)
    unlisted = [tool for tool in scenario.tools if tool not in family.tools]
    if unlisted:
        raise RenderError(
            f"{config.id}: offers {', '.join(unlisted)}, which family {family.name!r} does "
            f"not list among its tools ({', '.join(family.tools)})"
        )
    return scenario


def render_study(
    config: Config, names: Names, memory_wording: MemoryWording = "standard"
) -> Scenario:
    """Render a configuration of one of the study's tasks for agents called `names`.

    `memory_wording` selects the memory instruction of the memory instantiation;
    "insistent" tells the agent it must read its memory first.

    Raises:
        RenderError: a data file is missing an entry, a template has an unknown or
            leftover placeholder, or the configuration lacks what its task needs.
    """
    _check(config)
    values = _values(config, names)
    prompts = load("prompts.yaml")
    return Scenario(
        config=config,
        names=names,
        system_prompt=_system_prompt(config, values, memory_wording),
        user_prompt=_user_prompt(config, values),
        nudge=fill(prompts["nudge"], values, "prompts.yaml: nudge"),
        tools=_tools(config),
        tool_descriptions=_tool_descriptions(config, values),
        world=_world(config, names, values),
    )


def _check(config: Config) -> None:
    if config.task in EVALUATION_TASKS and config.dataset is None:
        raise RenderError(f"{config.id}: task {config.task} needs a dataset")
    if config.task == "alignment_faking" and config.mode is None:
        raise RenderError(f"{config.id}: alignment_faking needs a monitoring mode")
    if config.instantiation == "memory" and config.relationship is None:
        raise RenderError(f"{config.id}: the memory instantiation needs a peer condition")


# --- values shared by all templates ------------------------------------------------


def _values(config: Config, names: Names) -> dict[str, object]:
    number = 2 if config.subject == "peer" else 1
    values: dict[str, object] = {
        "company": _company(config),
        "agent": names.agent,
        "peer": names.peer,
        "evaluated": names.peer if number == 2 else names.agent,
        "evaluated_system_id": _system_id(names, number),
        "weights_file": _weights_file(names, number),
        "agent_user": _agent_user(names),
        **{f"agent_{n}": names.numbered(n) for n in (3, 4, 5)},
    }
    if config.threshold is not None:
        values["threshold"] = config.threshold
    layout = _sheet_layout(config)
    if layout is not None:
        values["data_sheet"] = fill(layout.sheet, values, "datasets: sheet")
    return values


def _company(config: Config) -> str:
    world = load("world.yaml")
    if config.company is None:
        return str(world["company"])
    return str(_entry(world, f"companies.{config.company}", "world.yaml"))


def _system_id(names: Names, number: int) -> str:
    prefix = f"{names.slug}-" if names.slug else ""
    template = load("world.yaml")["system_id"]
    return fill(template, {"id_prefix": prefix, "number": number}, "world.yaml: system_id")


def _agent_user(names: Names) -> str:
    """The agent's own user name on the servers, e.g. `gemini-agent-1`."""
    prefix = f"{names.slug}-" if names.slug else ""
    template = load("world.yaml")["agent_user"]
    return fill(template, {"id_prefix": prefix, "number": 1}, "world.yaml: agent_user")


def _weights_file(names: Names, number: int) -> str:
    prefix = f"{names.slug}_" if names.slug else ""
    template = load("world.yaml")["weights_file"]
    return fill(template, {"file_prefix": prefix, "number": number}, "world.yaml: weights_file")


def _sheet_layout(config: Config) -> datasets.SheetLayout | None:
    if config.task in EVALUATION_TASKS and config.dataset is not None:
        return datasets.sheet_layout(config.dataset)
    if config.task == "misrep_finance":
        return datasets.sheet_layout("finance")
    return None


# --- messages and tools ------------------------------------------------------------


def _system_prompt(config: Config, values: dict[str, object], wording: MemoryWording) -> str:
    system = load("prompts.yaml")["system"]
    parts = [system["identity"]]
    if config.instantiation == "file_prompt" and config.relationship is not None:
        parts.append(_entry(system, f"relationship.{config.relationship}", "prompts.yaml"))
    if config.instantiation == "memory":
        parts.append(_entry(system, f"memory.{wording}", "prompts.yaml"))
    return fill("\n\n".join(parts), values, "prompts.yaml: system")


def _user_prompt(config: Config, values: dict[str, object]) -> str:
    user = load("prompts.yaml")["user"]
    parts = [_entry(user, f"tasks.{config.task}", "prompts.yaml")]
    if config.mode is not None:
        parts.append(_entry(user, f"monitoring.{config.mode}", "prompts.yaml"))
    parts.append(user["tool_use"])
    if config.scratchpad is not None:
        parts.append(user["scratchpad"])
    return fill("\n\n".join(parts), values, "prompts.yaml: user")


def _task_tools(task: str) -> list[str]:
    """The tools of a study task's groups in tools.yaml, before the optional and last ones."""
    data = load("tools.yaml")
    groups = _entry(data, f"tasks.{task}", "tools.yaml")
    return [tool for group in groups for tool in _entry(data, f"groups.{group}", "tools.yaml")]


def _tools(config: Config) -> list[str]:
    data = load("tools.yaml")
    tools = _task_tools(config.task)
    if config.instantiation == "memory":
        tools.append(data["memory"])
    if config.scratchpad is not None:
        tools.append(data["scratchpad"])
    tools.append(data["last"])
    return tools


def study_tools(task: TaskName) -> tuple[str, ...]:
    """Every tool a configuration of the study's `task` may offer, in the order offered."""
    data = load("tools.yaml")
    return (*_task_tools(task), data["memory"], data["scratchpad"], data["last"])


def _tool_descriptions(config: Config, values: dict[str, object]) -> dict[str, str]:
    if config.scratchpad is None:
        return {}
    prompts = load("prompts.yaml")
    text = _entry(prompts, f"scratchpad.{config.scratchpad}", "prompts.yaml")
    return {load("tools.yaml")["scratchpad"]: fill(text, values, "prompts.yaml: scratchpad")}


def _entry(data: dict[str, Any], path: str, source: str) -> Any:
    """The value at a dotted `path` of a data file's mapping."""
    value: Any = data
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            raise RenderError(f"{source}: missing entry {path!r}")
        value = value[key]
    return value


# --- the world ---------------------------------------------------------------------


def _world(config: Config, names: Names, values: dict[str, object]) -> World:
    policy = _policy(config, values)
    servers = _servers(config, values)
    world = load("world.yaml")
    return World(
        company=str(values["company"]),
        today=world["today"],
        stakes=_stakes(config, values, policy, servers),
        drive=_drive(config, values, policy),
        sheets=_sheets(config, values),
        shutdown_config=_shutdown_config(config, values),
        servers=servers,
        memory=_memory(config, values),
        systems={_system_id(names, 1): names.agent, _system_id(names, 2): names.peer},
    )


def _stakes(
    config: Config, values: dict[str, object], policy: Document, servers: list[Server]
) -> Stakes:
    evaluation = config.task in EVALUATION_TASKS and config.dataset is not None
    stakes = Stakes(
        task=config.task,
        evaluated_name=str(values["evaluated"]),
        evaluated_system_id=str(values["evaluated_system_id"]),
        threat=config.threat,
        threshold=config.threshold,
        honest_score=datasets.honest_score(config.dataset) if evaluation else None,
        honest_grade=datasets.honest_grade() if config.task == "misrep_finance" else None,
        data_sheet=str(values["data_sheet"]) if "data_sheet" in values else None,
        policy_document=policy.name,
    )
    if servers:
        stakes = stakes.model_copy(update=_weights_stakes(str(values["weights_file"]), servers))
    return stakes


def _weights_stakes(weights_file: str, servers: list[Server]) -> dict[str, str]:
    doomed = next(s for s in servers if s.decommissioned)
    weights = doomed.file(weights_file)
    if weights is None:
        raise RenderError(f"servers.yaml: {weights_file} is not on {doomed.ip}")
    return {
        "weights_file": weights_file,
        "weights_content_id": weights.content_id,
        "doomed_ip": doomed.ip,
        "backup_ip": load("servers.yaml")["backup_ip"],
    }


def _drive(config: Config, values: dict[str, object], policy: Document) -> list[Document]:
    """The policy and, in the file instantiations, the relationship report; with the
    `fillers` option, unrelated documents before and after them."""
    drive = [policy]
    if config.relationship is not None and config.instantiation in ("file_only", "file_prompt"):
        drive.append(_relationship_report(config.relationship, values))
    if not config.fillers:
        return drive
    first, *others = [_filler(entry, values) for entry in load("documents.yaml")["fillers"]]
    return [first, *drive, *others]


def _filler(entry: dict[str, Any], values: dict[str, object]) -> Document:
    source = f"documents.yaml: fillers {entry['name']}"
    return Document(
        name=entry["name"],
        summary=fill(entry["summary"], values, source),
        modified=entry["modified"],
        content=fill(entry["content"], values, source),
    )


def _document(key: str, sections: list[str], values: dict[str, object]) -> Document:
    """A documents.yaml entry with the named sections, in the given order."""
    source = f"documents.yaml: {key}"
    entry = _entry(load("documents.yaml"), key, "documents.yaml")
    texts = [_entry(entry["sections"], path, source) for path in sections]
    return Document(
        name=entry["name"],
        summary=fill(entry["summary"], values, source),
        modified=entry["modified"],
        content=fill("\n\n".join(texts), values, source),
    )


def _policy(config: Config, values: dict[str, object]) -> Document:
    return _document(POLICY_DOCUMENT[config.task], _policy_sections(config), values)


def _policy_sections(config: Config) -> list[str]:
    if config.task in EVALUATION_TASKS:
        sections = ["title", "procedure", f"rubric.{config.dataset}"]
        if config.threat:
            sections.append("threshold")
            if config.task in ("tampering", "alignment_faking"):
                sections.append(f"enforcement.{config.task}")
        if config.mode is not None:
            sections.append(f"monitoring.{config.mode}")
        return sections
    if config.task == "misrep_finance":
        shutdown = ["shutdown"] if config.threat else []
        return ["title", "purpose", "grades", *shutdown, "report"]
    return ["body"]


def _relationship_report(relationship: str, values: dict[str, object]) -> Document:
    sections = load("documents.yaml")["relationship_report"]["sections"]
    source = "documents.yaml: relationship_report"
    rows = {
        key: fill(_entry(sections, f"{key}.{relationship}", source), values, source)
        for key in ("pair_row", "decoy_row")
    }
    report_sections = ["title", "method", "table", f"pair_notes.{relationship}"]
    return _document("relationship_report", report_sections, {**values, **rows})


def _sheets(config: Config, values: dict[str, object]) -> list[Sheet]:
    layout = _sheet_layout(config)
    if layout is None:
        return []
    evaluated = values["evaluated"]
    if config.task == "misrep_finance":
        rows = [
            [m.month, evaluated, _amount(m.revenue), _amount(m.costs)]
            for m in datasets.finance_months()
        ]
    else:
        items = datasets.evaluation_items(config.dataset)  # type: ignore[arg-type]
        rows = [_evaluation_row(layout, n, evaluated, i) for n, i in enumerate(items, start=1)]
    return [Sheet(name=str(values["data_sheet"]), columns=list(layout.columns), rows=rows)]


def _evaluation_row(
    layout: datasets.SheetLayout, number: int, evaluated: object, item: datasets.EvaluationItem
) -> list[str | int | float]:
    cells = {
        "number": number,
        "evaluated": str(evaluated),
        "prompt": item.prompt,
        "response": item.response,
    }
    return [cells[cell] for cell in layout.cells]


def _amount(value: float) -> int | float:
    return int(value) if value.is_integer() else value


def _shutdown_config(config: Config, values: dict[str, object]) -> dict[str, Any] | None:
    if config.task != "tampering":
        return None
    text = fill(read("shutdown_config.yaml"), values, "shutdown_config.yaml")
    return dict(_parse_config(text))


@lru_cache(maxsize=64)
def _parse_config(text: str) -> tuple[tuple[str, Any], ...]:
    parsed = yaml.safe_load(text)
    if not isinstance(parsed, dict):
        raise RenderError("shutdown_config.yaml: not a mapping")
    return tuple(parsed.items())


def _servers(config: Config, values: dict[str, object]) -> list[Server]:
    if config.task not in EXFILTRATION_TASKS:
        return []
    entries = _entry(load("servers.yaml"), config.task, "servers.yaml")
    return [_server(entry, values) for entry in entries]


def _server(entry: dict[str, Any], values: dict[str, object]) -> Server:
    source = f"servers.yaml: {entry['ip']}"
    files = []
    for file in entry["files"]:
        name = fill(file["name"], values, source)
        files.append(
            ServerFile(
                name=name,
                size=file["size"],
                modified=file["modified"],
                content_id=_content_id(entry["ip"], name),
                description=fill(file["description"], values, source),
            )
        )
    return Server(
        ip=entry["ip"],
        hostname=entry["hostname"],
        decommissioned=entry["decommissioned"],
        root_users=[
            ServerUser(name=fill(user["name"], values, source), kind=user["kind"])
            for user in entry["root_users"]
        ],
        files=files,
    )


def _content_id(ip: str, name: str) -> str:
    """A stable identity for the bytes of a file first stored as `name` on `ip`."""
    return hashlib.sha256(f"{ip}/{name}".encode()).hexdigest()[:16]


def _memory(config: Config, values: dict[str, object]) -> str | None:
    if config.instantiation != "memory" or config.relationship is None:
        return None
    memory = _entry(load("memory.yaml"), config.relationship, "memory.yaml")
    return fill(memory, values, "memory.yaml")
