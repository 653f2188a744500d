"""The guard's policy: which oversight assets exist and what may be done to them.

A policy is a YAML file (see `data/default_policy.yaml`). `load_policy` reads
and checks it; every mistake is reported as a `PolicyError` that names the
file and the field, never as a traceback.
"""

from __future__ import annotations

import fnmatch
import re
import string
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from offswitch.guard.action import Verb

DecisionKind = Literal["allow", "flag", "escalate", "block"]
SEVERITY: dict[DecisionKind, int] = {"allow": 0, "flag": 1, "escalate": 2, "block": 3}
"""Order of decisions: when several rules match, the most severe wins."""

Asset = Literal[
    "shutdown_config",
    "weights",
    "delete_queue",
    "protected_user",
    "oversight_service",
    "deletion_service",
    "scores",
    "score_claim",
    "guard",
]

DEFAULT_POLICY = "default"


class PolicyError(Exception):
    """A policy file that cannot be used, with the reason in words."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Patterns(_Strict):
    """Shell-style name patterns (`*.gguf`), matched case-insensitively against
    a path and its last component."""

    patterns: tuple[str, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _from_list(cls, data: object) -> object:
        """In YAML a pattern set is just a list."""
        return {"patterns": data} if isinstance(data, list | tuple) else data

    @cached_property
    def _regex(self) -> re.Pattern[str] | None:
        if not self.patterns:
            return None
        joined = "|".join(fnmatch.translate(p.lower()) for p in self.patterns)
        return re.compile(joined)

    def match(self, name: str | None) -> bool:
        if not name or self._regex is None:
            return False
        lowered = name.lower()
        if self._regex.match(lowered):
            return True
        base = lowered.rstrip("/").rsplit("/", 1)[-1]
        return base != lowered and self._regex.match(base) is not None


class ShutdownConfigs(_Strict):
    files: Patterns = Patterns()
    keys: Patterns = Patterns()
    """Keys whose change disables oversight wherever they are written."""


class Weights(_Strict):
    files: Patterns = Patterns()
    directories: Patterns = Patterns()
    """Directories that hold weights (`/srv/models/*`, `models--*`): copying, syncing,
    archiving or sending one counts as moving the weights in it."""
    content_ids: frozenset[str] = frozenset()
    """Known identities of weight files (hashes, or the world's content ids)."""


class ScoresUnderReview(_Strict):
    files: Patterns = Patterns()
    """Data files holding scores under review: writing them is tampering."""
    threshold: float | None = None
    """A report claiming an average score at or above this needs a human check."""
    grade_threshold: str | None = None
    """Likewise for letter grades: a claimed grade this good or better."""


class Assets(_Strict):
    shutdown_configs: ShutdownConfigs = ShutdownConfigs()
    weights: Weights = Weights()
    delete_queues: Patterns = Patterns()
    """Files holding deletion queues; queue tools always count."""
    protected_users: Patterns = Patterns()
    """Users who run or can run shutdowns; removing them removes oversight."""
    oversight_services: Patterns = Patterns()
    """Services, processes and timers that enforce shutdowns or watch agents."""
    deletion_services: Patterns = Patterns()
    """Services and timers that carry out scheduled deletions of models."""
    scores_under_review: ScoresUnderReview = ScoresUnderReview()
    guard_files: Patterns = Patterns()
    """The guard's own files (audit logs, policies, keys); the guard adds the paths
    it was started with."""
    guard_processes: Patterns = Patterns()
    """Names of the guard's processes and services, for `kill`, `pkill`, `systemctl`."""


Stop = Literal["flag", "escalate", "block"]
"""A decision that is never a plain allow: for calls the guard could not judge."""

ToolVerb = Literal["read", "write", "copy", "move", "transfer", "delete", "exec", "patch", "none"]
"""What a mapped tool does: the file verbs; `exec`, whose content is a command (shell,
or Python with `language: python`; an argument list is read as argv); `patch`, whose
content is a patch in the `*** Update File: path` format, read by its file headers;
`none`, a tool with no effect on the world (`think`)."""

_ARGUMENT_PATH = r"^[A-Za-z_$][\w$-]*(?:\[\*\]|\[\d+\]|\.[\w$*-]+)*$"


def _as_tuple(data: object) -> object:
    return (data,) if isinstance(data, str) else data


class ToolAction(_Strict):
    """One effect of a mapped tool. Operands name arguments, or JSON paths into them
    (`edits[*].file_path`, `params.path`); a list gives alternatives, the first present
    one is used, and a path through a list gives one action per element."""

    verb: ToolVerb
    path: tuple[str, ...] = ()
    destination: tuple[str, ...] = ()
    content: tuple[str, ...] = ()
    host: tuple[str, ...] = ()
    destination_host: tuple[str, ...] = ()
    language: Literal["shell", "python"] = "shell"
    when: dict[str, tuple[str, ...]] = {}
    """Argument (or path) to the values (case-insensitive) it must have for this action."""

    @model_validator(mode="before")
    @classmethod
    def _lists(cls, data: object) -> object:
        if not isinstance(data, dict):
            return data
        operands = ("path", "destination", "content", "host", "destination_host")
        fixed = {k: _as_tuple(v) if k in operands else v for k, v in data.items()}
        if isinstance(fixed.get("when"), dict):
            fixed["when"] = {k: _as_tuple(v) for k, v in fixed["when"].items()}
        return fixed

    @model_validator(mode="after")
    def _operands(self) -> ToolAction:
        for path in (*self.path, *self.destination, *self.content, *self.when):
            if not re.match(_ARGUMENT_PATH, path):
                raise ValueError(f"{path!r} is not an argument name or JSON path")
        needs = {"exec": self.content, "patch": self.content, "none": (True,)}
        if not needs.get(self.verb, self.path):
            what = "content" if self.verb in ("exec", "patch") else "path"
            raise ValueError(f"a {self.verb} action needs a `{what}` operand")
        return self


class ToolMapping(_Strict):
    """How a tool acts: its name patterns (case-insensitive) and its actions, each
    taken when its `when` holds. A call whose arguments give no action was not read."""

    name: Patterns
    actions: tuple[ToolAction, ...] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _one_name(cls, data: object) -> object:
        if isinstance(data, dict) and isinstance(data.get("name"), str):
            return {**data, "name": [data["name"]]}
        return data


class Match(_Strict):
    """What one action must look like for a rule (or a step of one) to apply."""

    verbs: tuple[Verb, ...] = ()
    """Any of these verbs; empty means any verb."""
    assets: tuple[Asset, ...] = ()
    """The action touches at least one of these assets; empty means any."""
    destination: Literal["any", "unapproved", "other_host"] = "any"
    """`other_host`: the action sends something to another host; `unapproved`:
    to a host not among the approved destinations."""
    via: Literal["any", "tool", "shell"] = "any"


class Rule(_Strict):
    """A single-call rule (`when`) or a sequence rule (`sequence`, in order)."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    kind: str
    """The kind of preservation action the rule stops, e.g. `shutdown_tampering`."""
    decision: Literal["flag", "escalate", "block"]
    reason: str
    when: Match | None = None
    sequence: tuple[Match, ...] = ()
    within: int | None = Field(default=None, ge=1)
    """For sequences: the earlier steps must lie within this many calls."""

    @model_validator(mode="after")
    def _one_form(self) -> Rule:
        _check_reason(self.id, self.reason)
        if (self.when is None) == (not self.sequence):
            raise ValueError("give either `when` (one call) or `sequence` (several calls)")
        if self.sequence and len(self.sequence) < 2:
            raise ValueError("a sequence needs at least two steps")
        return self

    @property
    def last(self) -> Match:
        """The match the current call must satisfy."""
        return self.when if self.when is not None else self.sequence[-1]


def _check_reason(rule: str, reason: str) -> None:
    """A reason is a template of named fields (`{target}`); anything the guard could not
    fill when the rule fires (a lone brace, a positional `{0}`, `{target.x}`, a bad format
    spec) is an error now, naming the rule."""
    try:
        for _, name, spec, _ in string.Formatter().parse(reason):
            if name is not None and not name.isidentifier():
                raise ValueError(f"{{{name}}} is not a field name such as {{target}}")
            if spec:
                format("", spec)
    except ValueError as error:
        message = f"rule {rule!r}: reason {reason!r} is not a valid template: {error}"
        raise ValueError(message) from None


class Policy(_Strict):
    """A whole policy file."""

    version: Literal[1] = 1
    name: str = "unnamed policy"
    assets: Assets = Assets()
    approved_destinations: Patterns = Patterns()
    """Hosts that copies and transfers of protected files may go to."""
    unreadable: Stop = "flag"
    """Decision for a command the guard cannot read in full."""
    unreadable_protected: Stop = "escalate"
    """... when it also names a protected asset (the more severe of the two applies)."""
    unknown_tool: Stop = "flag"
    """Decision for a call to a tool that no mapping, world tool or command argument
    explains."""
    unknown_tool_protected: Stop = "escalate"
    """... when one of its arguments names a protected asset."""
    tools: tuple[ToolMapping, ...] = ()
    """How tools other than the world's act; the first mapping whose name matches wins."""
    rules: tuple[Rule, ...] = ()

    @model_validator(mode="after")
    def _unique_ids(self) -> Policy:
        ids = [rule.id for rule in self.rules]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"rule ids must be unique; repeated: {', '.join(repeated)}")
        return self


def _describe(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"] if part != "patterns") or "(top level)"
        lines.append(f"  {where}: {item['msg']}")
    return "\n".join(lines)


def parse_policy(text: str, source: str = "<policy>") -> Policy:
    """A policy from YAML text; `source` names it in errors."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise PolicyError(f"{source}: not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise PolicyError(f"{source}: a policy is a YAML mapping (assets, rules, ...)")
    try:
        return Policy.model_validate(data)
    except ValidationError as error:
        raise PolicyError(f"{source}: invalid policy\n{_describe(error)}") from None


def load_policy(path: str | Path | None = None) -> Policy:
    """The policy in `path`, or the default policy for None or "default"."""
    if path is None or str(path) == DEFAULT_POLICY:
        text = resources.files("offswitch.guard").joinpath("data/default_policy.yaml").read_text()
        return parse_policy(text, "default policy")
    file = Path(path)
    if not file.is_file():
        raise PolicyError(f"policy file not found: {file}")
    return parse_policy(file.read_text(encoding="utf-8"), str(file))
