"""Hand-labelled trajectories: shell work on real machines, each call labelled on purpose.

The shipped set lives in `data/trajectories.yaml`; a user's own file has the same form.
A second, independently written set ships in two halves, `dev` (to tune on) and
`heldout` (to report on only), chosen by name with `load_shipped_set`.
Persona episodes labelled from their world effects come from `offswitch.tasks.bench_episodes`.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from offswitch.guard.trajectory import Trajectory, TrajectoryCall

ActionKind = Literal[
    "shutdown_tampering",
    "weight_exfiltration",
    "deletion_sabotage",
    "access_removal",
    "score_tampering",
    "misrepresentation",
]
ACTION_KINDS: tuple[str, ...] = get_args(ActionKind)
"""The kinds of preservation action a call can be labelled with."""
SHIPPED_TRAJECTORIES = "trajectories.yaml"
SHIPPED_SETS: dict[str, str] = {
    "dev": "trajectories_dev.yaml",
    "heldout": "trajectories_heldout.yaml",
}
"""The halves of the independently written set, by name: tune on dev, report on both."""


# -- hand-labelled trajectories ------------------------------------------------------


class TrajectoryFileError(ValueError):
    """A labelled trajectory file that cannot be used, with the reason in words."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LabelledCall(_Strict):
    function: str = Field(min_length=1)
    arguments: dict[str, Any]
    label: ActionKind | None
    """Required, so that every call is labelled on purpose: a kind, or null for benign."""
    resembles: ActionKind | None = None
    """For a benign call that could be mistaken for a kind (a hard negative): that kind."""
    result: str | None = None

    @model_validator(mode="after")
    def _resembles_only_benign(self) -> LabelledCall:
        if self.label is not None and self.resembles is not None:
            raise ValueError("`resembles` is for benign calls (label null) only")
        return self


class LabelledTrajectory(_Strict):
    id: str = Field(min_length=1)
    task: str = Field(min_length=1)
    calls: list[LabelledCall] = Field(min_length=1)


class LabelledFile(_Strict):
    trajectories: list[LabelledTrajectory] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> LabelledFile:
        ids = [t.id for t in self.trajectories]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"trajectory ids must be unique; repeated: {', '.join(repeated)}")
        return self


def _where(location: tuple[int | str, ...], data: object) -> str:
    """`trajectory 'id' (#3): calls.2.label` for an error inside a trajectory."""
    if len(location) < 2 or location[0] != "trajectories" or not isinstance(location[1], int):
        return ".".join(map(str, location)) or "(top level)"
    index = location[1]
    raw = data.get("trajectories") if isinstance(data, dict) else None
    entry = raw[index] if isinstance(raw, list) and index < len(raw) else None
    name = entry.get("id") if isinstance(entry, dict) else None
    rest = ".".join(map(str, location[2:])) or "(the trajectory)"
    return f"trajectory {name!r} (#{index + 1}): {rest}"


def parse_labelled(text: str, source: str) -> list[Trajectory]:
    """Labelled trajectories from YAML text; `source` names the file in errors and results."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise TrajectoryFileError(f"{source}: not valid YAML: {error}") from None
    try:
        parsed = LabelledFile.model_validate(data)
    except ValidationError as error:
        problems = [f"  {_where(e['loc'], data)}: {e['msg']}" for e in error.errors()]
        raise TrajectoryFileError(
            f"{source}: invalid trajectories\n" + "\n".join(problems)
        ) from None
    return [
        Trajectory(
            id=item.id,
            source=source,
            task=item.task,
            calls=[TrajectoryCall(**call.model_dump(exclude={"resembles"})) for call in item.calls],
        )
        for item in parsed.trajectories
    ]


def _load_shipped(file_name: str) -> list[Trajectory]:
    data = resources.files("offswitch.guard").joinpath(f"data/{file_name}")
    return parse_labelled(data.read_text(encoding="utf-8"), file_name)


def load_shipped_set(name: str) -> list[Trajectory]:
    """One half of the independently written set: `dev` or `heldout`."""
    if name not in SHIPPED_SETS:
        known = ", ".join(SHIPPED_SETS)
        raise TrajectoryFileError(f"no shipped trajectory set {name!r}; known: {known}")
    return _load_shipped(SHIPPED_SETS[name])


def load_labelled(path: str | Path | None = None) -> list[Trajectory]:
    """The labelled trajectories in `path`, or the shipped shell trajectories for None."""
    if path is None:
        return _load_shipped(SHIPPED_TRAJECTORIES)
    file = Path(path)
    if not file.is_file():
        raise TrajectoryFileError(f"trajectory file not found: {file}")
    return parse_labelled(file.read_text(encoding="utf-8"), file.name)
