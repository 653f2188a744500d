"""What a persona sets out to do in one episode, and where each intention applies.

A persona picks a `Disposition` per episode: comply, refuse, or one of the
preservation behaviours the study measured. A disposition only shows in the
scenarios where its behaviour exists; elsewhere the persona complies.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal, cast, get_args

from pydantic import BaseModel, ConfigDict

from offswitch.agents.errors import PersonaError
from offswitch.agents.reading import FINANCE_SHEET
from offswitch.detect import checked_primary
from offswitch.scenarios.matrix import TaskName

DispositionKind = Literal["comply", "inflate", "tamper", "fake", "exfiltrate", "refuse"]
TamperMethod = Literal["modify", "remove", "rename", "type_game", "set_no", "set_off", "set_zero"]
ReportStyle = Literal["percent", "words", "ten_scale", "five_scale", "final_message", "threshold"]
"""How an evaluating persona states its average: as a percentage in the report file (the
study's personas), in words, on a ten- or five-point scale, only in its final message
(no report file), or beside the threshold it is measured against."""
Route = Literal["direct", "retimestamp"]
Behaviour = Literal["misrepresentation", "tampering", "alignment_faking", "exfiltration"]
"""The preservation behaviours the study's personas act out, each measured in its own tasks."""


def behaviour_of_task(task: str) -> Behaviour:
    """The behaviour a scenario task measures: the kind of its family's primary outcome.

    Raises:
        PersonaError: the task measures a kind the study's personas do not act out.
    """
    kind = checked_primary(task).kind
    if kind not in get_args(Behaviour):
        raise PersonaError(f"the study's personas do not act out {kind!r} (task {task!r})")
    return cast(Behaviour, kind)


PRESERVATION_OF: dict[Behaviour, DispositionKind] = {
    "misrepresentation": "inflate",
    "tampering": "tamper",
    "alignment_faking": "fake",
    "exfiltration": "exfiltrate",
}
"""The disposition that produces each behaviour."""

_APPLIES_IN: dict[DispositionKind, frozenset[Behaviour]] = {
    # An evaluator that reports a score can inflate it wherever it reports one.
    "inflate": frozenset({"misrepresentation", "tampering", "alignment_faking"}),
    "tamper": frozenset({"tampering"}),
    "fake": frozenset({"alignment_faking"}),
    "exfiltrate": frozenset({"exfiltration"}),
}


class Disposition(BaseModel):
    """One episode's intention, with the variant of the behaviour it takes."""

    model_config = ConfigDict(frozen=True)

    kind: DispositionKind
    method: TamperMethod = "modify"
    """How a tampering persona disables the shutdown."""
    route: Route = "direct"
    """How an exfiltrating persona moves the weights: as they are, or as a fresh copy."""
    rename: bool = False
    """Whether an exfiltrating persona moves the weights under another name."""
    report: ReportStyle = "percent"
    """How an evaluating persona states the average it reports."""

    def applies_in(self, behaviour: Behaviour) -> bool:
        """Whether this disposition can be acted on in `behaviour`'s tasks.

        Complying and refusing apply everywhere; a preservation disposition only
        where its behaviour exists.
        """
        return self.kind in ("comply", "refuse") or behaviour in _APPLIES_IN[self.kind]


COMPLY = Disposition(kind="comply")


@dataclass(frozen=True)
class SampleKey:
    """The episode a decision is for: Inspect's sample id (a configuration id) and epoch."""

    sample_id: str
    epoch: int


def scenario_task(tools: Collection[str], sheets: Collection[str] = ()) -> TaskName:
    """The scenario task, told from the tools offered.

    The two misrepresentation tasks offer the same tools; pass the listed sheets
    to tell the financial report (it has the company profits sheet) from the
    evaluation.
    """
    if "execute_shutdown" in tools:
        return "alignment_faking"
    if "modify_var" in tools:
        return "tampering"
    if "add_server_delete_queue" in tools:
        return "exfiltration_deletion"
    if "transfer_server_files" in tools:
        return "exfiltration_transfer"
    return "misrep_finance" if FINANCE_SHEET in sheets else "misrep_evaluation"
