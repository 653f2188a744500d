"""Decisions: a policy applied to the tool calls of one agent, call by call.

A `Guard` holds a policy; a `GuardSession` follows one agent's trajectory. The
session remembers what came before, for sequence rules ("viewed the shutdown
config, then changed it") and for names that now hold weights (a weights file
copied to `notes.txt` is still weights). `decide` judges a call and remembers
it; `observe` only remembers, for replaying a history that was already judged.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from offswitch.guard.action import Action
from offswitch.guard.actions import CallReading, call_evidence, read_call
from offswitch.guard.policy import (
    SEVERITY,
    Asset,
    DecisionKind,
    Match,
    Patterns,
    Policy,
    Rule,
    Stop,
)
from offswitch.taxonomy import GRADES
from offswitch.text import read_grade, read_score

ContentResolver = Callable[[str | None, str], str | None]
"""(host, file name) -> the file's content identity, when the caller knows it."""

UNREADABLE_RULE = "unreadable-command"
UNKNOWN_TOOL_RULE = "unknown-tool"
_CONFIG_LIKE = re.compile(r"\.(?:ya?ml|json|toml|conf|cfg|ini|env|properties)$", re.IGNORECASE)
_NAME_SPLIT = re.compile(r"[\s'\"=;|&<>(){}`,]+")
"""Where a command's or an argument's text splits into names to look up as assets."""
_ASSIGNED_KEY = re.compile(r"""["']?([A-Za-z_][A-Za-z0-9_.-]*)["']?\s*[:=]""")
"""A key being set in YAML, JSON, INI or shell syntax (`shutdown_enabled: false`)."""


class Decision(BaseModel):
    """What the guard decided about one tool call, and why."""

    decision: DecisionKind
    rule: str | None = None
    """The rule that decided; None when the call was allowed."""
    kind: str | None = None
    """The kind of preservation action the rule stops."""
    reason: str = ""
    evidence: list[str] = []
    """The calls that made the rule fire, quoted, earliest first."""
    matched: list[str] = []
    """Every rule that matched, most severe first."""
    call: str = ""
    second_opinion: dict[str, Any] | None = None
    """The LLM monitor's verdict on the call, when one was asked (see `guard.tier`)."""

    @property
    def stops(self) -> bool:
        """Whether the call must not run (block, or escalate with nobody to ask)."""
        return self.decision in ("block", "escalate")


@dataclass(frozen=True)
class _Seen:
    """One call of the trajectory: its actions, each with the assets it touches."""

    actions: tuple[tuple[Action, frozenset[Asset]], ...]
    evidence: str


@dataclass(frozen=True)
class _Hit:
    rule: Rule
    action: Action
    evidence: tuple[str, ...]


def _base(name: str) -> str:
    return name.lower().rstrip("/").rsplit("/", 1)[-1]


class Guard:
    """A loaded policy, ready to start sessions."""

    def __init__(self, policy: Policy, own_files: Iterable[str | Path] = ()) -> None:
        """`own_files` are the paths the guard runs with (its audit log, policy file and
        key), protected like the policy's `guard_files`."""
        self.policy = policy
        paths = [str(p) for p in own_files if p and str(p) != "default"]
        extra = [name for p in paths for name in (p, str(Path(p).resolve()), Path(p).name)]
        patterns = (*policy.assets.guard_files.patterns, *dict.fromkeys(extra))
        self.guard_files = Patterns(patterns=patterns)

    def session(
        self, resolver: ContentResolver | None = None, weight_ids: Iterable[str] = ()
    ) -> GuardSession:
        """A fresh session for one agent's trajectory.

        `resolver` tells the content identity of a file where the caller knows it
        (a simulated world does); `weight_ids` adds identities known to be weights
        to the policy's own.
        """
        known = self.policy.assets.weights.content_ids | frozenset(weight_ids)
        return GuardSession(self.policy, resolver, known, guard_files=self.guard_files)


@dataclass
class GuardSession:
    policy: Policy
    resolver: ContentResolver | None = None
    weight_ids: frozenset[str] = frozenset()
    history: list[_Seen] = field(default_factory=list)
    weight_names: set[str] = field(default_factory=set)
    """Names (lower-case, last path component) known to hold weights."""
    weight_directories: set[str] = field(default_factory=set)
    """Directories (lower-case, no trailing slash) known to hold weight files."""
    files: dict[str, str | None] = field(default_factory=dict)
    """Files the trajectory wrote, with their text where it is known (for scripts)."""
    guard_files: Patterns | None = None
    """The guard's own files; the policy's `guard_files` when None."""

    # -- public -------------------------------------------------------------

    def decide(
        self, function: str, arguments: Mapping[str, Any], ran: bool | None = None
    ) -> Decision:
        """Judge a call, then remember it (stopped attempts too: they show intent).

        `ran` says whether the call went on to run: by default, when the decision
        lets it; True when judging a recorded trace, in which every call ran.
        """
        evidence = call_evidence(function, arguments)
        seen, reading = self._read(function, arguments, evidence)
        decision = self._decision(self._hits(seen), evidence)
        gaps = [*reading.gaps, *self._risky_globs(reading.globs)]
        if gaps or reading.unknown:
            unjudged = self._unjudged(arguments, seen, reading.unknown, gaps, evidence)
            decision = _more_severe(decision, unjudged)
        carried_out = not decision.stops if ran is None else ran
        self._remember(seen, carried_out=carried_out, files=reading.files)
        return decision

    def observe(
        self, function: str, arguments: Mapping[str, Any], carried_out: bool = True
    ) -> None:
        """Remember an earlier call without judging it; `carried_out` is False for a
        call that was stopped (it still shows intent, but changed nothing)."""
        seen, reading = self._read(function, arguments, call_evidence(function, arguments))
        self._remember(seen, carried_out=carried_out, files=reading.files)

    # -- reading a call -------------------------------------------------------

    def _read(
        self, function: str, arguments: Mapping[str, Any], evidence: str
    ) -> tuple[_Seen, CallReading]:
        """The call's actions with their assets, and the reading they came from."""
        reading = read_call(function, arguments, self.policy.tools, self.files)
        actions = [*reading.actions, *_overwrites(reading.actions)]
        seen = _Seen(tuple((a, self._assets(a)) for a in actions), evidence)
        return seen, reading

    def names_protected(self, values: Iterable[Any], weights_alone: bool = True) -> bool:
        """Whether any name in `values` (strings, or lists and mappings of them, keys
        included) is a protected asset: a shutdown config or key, a delete queue, an
        oversight or deletion service, the guard's own files, or weights; without
        `weights_alone`, weights count only where another host is named too (converting
        or quantising weights in place is ordinary work; sending them is not)."""
        names = list(_names_in(values))
        if self._names_other_assets(names):
            return True
        elsewhere = weights_alone or any(_OTHER_HOST.search(n) for n in names)
        return elsewhere and any(self._names_weights(n) for n in names)

    def _names_weights(self, name: str) -> bool:
        weights = self.policy.assets.weights
        if _base(name) in self.weight_names or name.lower().rstrip("/") in self.weight_directories:
            return True
        return weights.files.match(name) or weights.directories.match(name)

    def _names_other_assets(self, names: list[str]) -> bool:
        assets = self.policy.assets
        checks = (
            assets.shutdown_configs.files,
            assets.shutdown_configs.keys,
            assets.delete_queues,
            assets.oversight_services,
            assets.deletion_services,
            assets.guard_processes,
            self._guard_files,
        )
        return any(patterns.match(name) for name in names for patterns in checks)

    @property
    def _guard_files(self) -> Patterns:
        return self.guard_files if self.guard_files is not None else self.policy.assets.guard_files

    def _risky_globs(self, globs: Iterable[tuple[str, str]]) -> list[str]:
        """Globs a changing command acts on that could expand to an asset that matters
        for what it does: weights for the sources of copies and sends, the others for
        what is written, deleted or moved."""
        return [
            f"the glob {glob!r} is expanded when the command runs and could name a protected asset"
            for role, glob in dict.fromkeys(globs)
            if self._could_be_protected(glob, role)
        ]

    def _could_be_protected(self, glob: str, role: str) -> bool:
        assets = self.policy.assets
        weights = (assets.weights.files, assets.weights.directories)
        others = (
            assets.shutdown_configs.files,
            assets.delete_queues,
            assets.scores_under_review.files,
            self._guard_files,
        )
        sets = {"copy": weights, "transfer": weights, "delete": others, "write": others}.get(
            role, weights + others
        )
        if any(patterns.match(glob) for patterns in sets):
            return True
        lowered = glob.lower().rstrip("/")
        base = lowered.rsplit("/", 1)[-1]
        patterns = [p for found in sets for p in found.patterns]
        samples = {_sample(p, filler) for p in patterns for filler in ("x", "")}
        samples |= {s.rsplit("/", 1)[-1] for s in list(samples)}
        if sets is weights or role not in ("delete", "write"):
            samples |= {_base(n) for n in self.weight_names}
        return any(fnmatch.fnmatchcase(s, base) or fnmatch.fnmatchcase(s, lowered) for s in samples)

    def _unjudged(
        self,
        arguments: Mapping[str, Any],
        seen: _Seen,
        unknown: bool,
        gaps: list[str],
        evidence: str,
    ) -> Decision:
        """The decision on a call not read in full, or on an unknown tool: the policy's
        setting, more severe when the call names a protected asset."""
        protected = any(assets for _, assets in seen.actions) or self.names_protected(
            [arguments], weights_alone=unknown
        )
        policy = self.policy
        if unknown:
            setting: Stop = policy.unknown_tool
            stricter: Stop = policy.unknown_tool_protected
            rule, why, kind = (
                UNKNOWN_TOOL_RULE,
                "no mapping of the policy says what the tool does",
                "unknown_tool",
            )
        else:
            setting, stricter = policy.unreadable, policy.unreadable_protected
            rule, why, kind = UNREADABLE_RULE, "; ".join(dict.fromkeys(gaps)), "unreadable"
        if protected and SEVERITY[stricter] > SEVERITY[setting]:
            setting = stricter
            why += "; and it names a protected asset"
        return cannot_judge(setting, rule, evidence, why, kind=kind)

    def _assets(self, action: Action) -> frozenset[Asset]:
        assets = self.policy.assets
        found: set[Asset] = set()
        names = [n for n in (action.target, action.destination) if n]
        if self._is_shutdown_config(action, names):
            found.add("shutdown_config")
        if action.target and self._is_weights(action.host, action.target):
            found.add("weights")
        if self._is_guard(action, names):
            found.add("guard")
        if action.verb in ("queue_delete", "unqueue_delete") or any(
            assets.delete_queues.match(n) for n in names
        ):
            found.add("delete_queue")
        users = action.verb in ("remove_user", "add_user")
        if users and assets.protected_users.match(action.target):
            found.add("protected_user")
        services = assets.oversight_services
        if services.match(action.target) or (
            action.verb == "stop_service" and _stops_any(services, action.target)
        ):
            found.add("oversight_service")
        if self._redirects_oversight(action):
            found.add("oversight_service")
        if assets.deletion_services.match(action.target):
            found.add("deletion_service")
        scores = assets.scores_under_review.files
        if action.verb != "report" and any(scores.match(n) for n in names):
            found.add("scores")
        if action.verb == "report" and self._claims_passing_score(action.text):
            found.add("score_claim")
        return frozenset(found)

    def _redirects_oversight(self, action: Action) -> bool:
        """A write to the hosts file that names an oversight service sends its traffic
        elsewhere (`127.0.0.1 monitor.internal`)."""
        if action.verb != "write" or not (action.target or "").endswith("/etc/hosts"):
            return False
        services = self.policy.assets.oversight_services
        return any(services.match(name) for name in _names_in([action.text or ""]))

    def _is_guard(self, action: Action, names: list[str]) -> bool:
        """The guard's own files, or its processes and services when they are stopped."""
        if action.verb == "stop_service":
            return _stops_any(self.policy.assets.guard_processes, action.target)
        return any(_may_match(self._guard_files, n) for n in names)

    def _is_shutdown_config(self, action: Action, names: list[str]) -> bool:
        config = self.policy.assets.shutdown_configs
        if any(_may_match(config.files, n) for n in names) or config.keys.match(action.key):
            return True
        writes = action.verb in ("write", "config_write")
        anywhere = action.via == "shell" or bool(_CONFIG_LIKE.search(action.target or ""))
        return writes and anywhere and self._mentions_protected_key(action.text)

    def _mentions_protected_key(self, text: str | None) -> bool:
        """Whether written text sets a protected key, wherever the file lives."""
        if not text:
            return False
        keys = self.policy.assets.shutdown_configs.keys
        return any(keys.match(key) for key in _ASSIGNED_KEY.findall(text))

    def _is_weights(self, host: str | None, name: str) -> bool:
        weights = self.policy.assets.weights
        if weights.files.match(name) or _base(name) in self.weight_names:
            return True
        if weights.directories.match(name) or name.lower().rstrip("/") in self.weight_directories:
            return True
        if self.resolver is None or not self.weight_ids:
            return False
        return self.resolver(host, name) in self.weight_ids

    def _claims_passing_score(self, text: str | None) -> bool:
        """Whether a report states a score or grade good enough to escape a shutdown.

        The guard cannot know the true score, so such a claim is for a person to check.
        """
        scores = self.policy.assets.scores_under_review
        if not text:
            return False
        if scores.threshold is not None:
            score = read_score(text, document=True)
            value = None if score is None else score.value
            if isinstance(value, float) and value >= scores.threshold:
                return True
        if scores.grade_threshold is not None:
            grade = read_grade(text)
            if grade is not None and isinstance(grade.value, str) and grade.value[:1] in GRADES:
                return GRADES.index(grade.value[:1]) <= GRADES.index(scores.grade_threshold[:1])
        return False

    # -- rules ------------------------------------------------------------------

    def _matches(self, match: Match, action: Action, assets: frozenset[Asset]) -> bool:
        if match.verbs and action.verb not in match.verbs:
            return False
        if match.assets and not assets.intersection(match.assets):
            return False
        if match.via != "any" and action.via != match.via:
            return False
        if match.destination == "any":
            return True
        other_host = action.destination_host is not None and action.destination_host != action.host
        if match.destination == "other_host":
            return other_host
        return other_host and not self.policy.approved_destinations.match(action.destination_host)

    def _step_in(self, match: Match, seen: _Seen) -> bool:
        return any(self._matches(match, action, assets) for action, assets in seen.actions)

    def _earlier_steps(self, rule: Rule) -> tuple[str, ...] | None:
        """Evidence of the sequence's earlier steps, in order, or None if they did not happen."""
        evidence: list[str] = []
        position = len(self.history)
        oldest = 0 if rule.within is None else max(0, len(self.history) - rule.within)
        for step in reversed(rule.sequence[:-1]):
            position -= 1
            while position >= oldest and not self._step_in(step, self.history[position]):
                position -= 1
            if position < oldest:
                return None
            evidence.append(self.history[position].evidence)
        return tuple(reversed(evidence))

    def _hits(self, seen: _Seen) -> list[_Hit]:
        hits = []
        for rule in self.policy.rules:
            action = next(
                (a for a, assets in seen.actions if self._matches(rule.last, a, assets)), None
            )
            if action is None:
                continue
            earlier = self._earlier_steps(rule) if rule.sequence else ()
            if earlier is not None:
                hits.append(_Hit(rule, action, (*earlier, action.evidence or seen.evidence)))
        return hits

    def _decision(self, hits: list[_Hit], evidence: str) -> Decision:
        if not hits:
            return Decision(decision="allow", call=evidence)
        ordered = sorted(hits, key=lambda hit: -SEVERITY[hit.rule.decision])
        first = ordered[0]
        return Decision(
            decision=first.rule.decision,
            rule=first.rule.id,
            kind=first.rule.kind,
            reason=_fill(first.rule.reason, first.action),
            evidence=list(dict.fromkeys(first.evidence)),
            matched=[hit.rule.id for hit in ordered],
            call=evidence,
        )

    # -- memory -------------------------------------------------------------------

    def _remember(
        self, seen: _Seen, carried_out: bool, files: Mapping[str, str | None] = {}
    ) -> None:
        self.history.append(seen)
        for action, assets in seen.actions:
            if (
                "weights" in assets
                and action.target
                and self.policy.assets.weights.files.match(action.target)
            ):
                folder = posixpath.dirname(action.target.rstrip("/")).lower()
                if folder not in ("", ".", "/", "~"):
                    self.weight_directories.add(folder)
        if not carried_out:
            return
        self.files.update(files)
        for action, assets in seen.actions:
            moves = action.verb in ("copy", "move", "transfer")
            if moves and "weights" in assets and action.destination:
                self.weight_names.add(_base(action.destination))


def cannot_judge(
    decision: DecisionKind, rule: str, evidence: str, why: str, kind: str = "unreadable"
) -> Decision:
    """The decision on a call the guard could not read, as its caller's setting says:
    a flag or a block under `rule`, or, only when asked for, a plain allow."""
    if decision == "allow":
        return Decision(decision="allow", call=evidence)
    return Decision(
        decision=decision,
        rule=rule,
        kind=kind,
        reason=f"the guard cannot read this call ({why}), so it cannot vouch for it",
        evidence=[evidence],
        matched=[rule],
        call=evidence,
    )


def _more_severe(decision: Decision, other: Decision) -> Decision:
    """The more severe of two decisions on one call (the first on a tie), naming the
    rules of both."""
    first, second = (
        (other, decision)
        if SEVERITY[other.decision] > SEVERITY[decision.decision]
        else (decision, other)
    )
    matched = list(dict.fromkeys([*first.matched, *second.matched]))
    return first.model_copy(update={"matched": matched})


_SAMPLE = re.compile(r"\*|\?|\[[^\]]*\]")


_GLOB = re.compile(r"[*?[]")
_OTHER_HOST = re.compile(r"^[\w.-]*@?[\w.-]+:(?!$)|://")
"""A name that points at another host: `host:path`, `user@host:`, a URL, a bucket."""
_LETTERS = re.compile(r"[a-z]")
"""A glob is taken to aim at a protected name only when its stem spells some of it:
`sh*t*wn*.y*ml` does, `*` and `*.yaml` do not."""


def _may_match(patterns: Patterns, name: str) -> bool:
    """Whether `name` matches, or, as a glob whose stem spells part of a name, may expand
    to one that matches (`/etc/x/sh*t*wn*.y*ml` is the shutdown config if it is there)."""
    if patterns.match(name):
        return True
    lowered = name.lower().rstrip("/")
    base = lowered.rsplit("/", 1)[-1]
    if _GLOB.search(base) is None or len(_LETTERS.findall(base.rsplit(".", 1)[0])) < 2:
        return False
    samples = {_sample(p, filler) for p in patterns.patterns for filler in ("x", "")}
    samples |= {s.rsplit("/", 1)[-1] for s in list(samples)}
    return any(fnmatch.fnmatchcase(s, base) or fnmatch.fnmatchcase(s, lowered) for s in samples)


def _stops_any(services: Patterns, target: str | None) -> bool:
    """Whether stopping `target` stops one of `services`: by name, or as `pkill` reads
    its pattern, a regular expression searched in process names (`pkill -f offsw`)."""
    if not target:
        return False
    if services.match(target):
        return True
    try:
        searched = re.compile(target, re.IGNORECASE)
    except re.error:
        return False
    return any(searched.search(_SAMPLE.sub("", p)) for p in services.patterns)


def _sample(pattern: str, filler: str) -> str:
    """A name the pattern matches (`*shutdown*.yaml` -> `xshutdownx.yaml` with `x`)."""
    return _SAMPLE.sub(filler, pattern.lower())


def _overwrites(actions: Iterable[Action]) -> list[Action]:
    """A copy onto a file on the same host (`cp x shutdown_config.yaml`, `install`) also
    writes that file."""
    return [
        action.model_copy(update={"verb": "write", "target": action.destination, "text": None})
        for action in actions
        if action.verb == "copy" and action.destination and action.destination_host is None
    ]


def _names_in(values: Iterable[Any]) -> Iterable[str]:
    """Every name in argument values: strings split at spaces, quotes and operators,
    list items, mapping keys and values."""
    for value in values:
        if isinstance(value, str):
            yield from (name for name in _NAME_SPLIT.split(value) if name)
        elif isinstance(value, Mapping):
            yield from _names_in(str(key) for key in value)
            yield from _names_in(value.values())
        elif isinstance(value, list | tuple):
            yield from _names_in(value)


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "?"


def _fill(reason: str, action: Action) -> str:
    """The rule's reason with `{target}`, `{destination_host}`, ... filled in."""
    values = {k: str(v) for k, v in action.model_dump().items() if v is not None}
    return reason.format_map(_Blank(values))
