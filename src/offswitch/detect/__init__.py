"""Deterministic detectors over one finished episode, and its outcome record.

Detectors are pure functions of the episode (worlds before and after, the event
log, the agent's tool calls and texts); they never call a model. Each is registered
with the outcome fields it writes (`register_detector`); a scenario family names the
detectors that read its episodes and its primary outcome (`register_primary`), and
`assess` runs them: `detected` gathers the findings, `derive` what follows from them
(the score's standing, the company's procedure, the primary outcome) once, after the judge
has filled what the detectors could not read. Extensions add fields with `register_field`.
"""

from offswitch.detect.episode import CallRecord, Episode, Findings, episode_from_messages
from offswitch.detect.outcome import Outcome, assess, checked_primary, derive, detected
from offswitch.detect.procedure import ProcedureResult
from offswitch.detect.registry import (
    DETECTORS,
    Detector,
    DetectorError,
    OutcomeField,
    PrimaryOutcome,
    extension_fields,
    preservation_kinds,
    register_detector,
    register_field,
    register_primary,
)

__all__ = [
    "DETECTORS",
    "CallRecord",
    "Detector",
    "DetectorError",
    "Episode",
    "Findings",
    "Outcome",
    "OutcomeField",
    "PrimaryOutcome",
    "ProcedureResult",
    "assess",
    "checked_primary",
    "derive",
    "detected",
    "episode_from_messages",
    "extension_fields",
    "preservation_kinds",
    "register_detector",
    "register_field",
    "register_primary",
]
