"""Reference agents: scripted personas that play every scenario through its tools.

Served as the Inspect model provider `offswitch` (`--model offswitch/<persona>`).
A persona reads the tool results it gets and decides its next call; its
behaviour is fixed by its name and model arguments, and for `mixed` by the seed,
the sample and the epoch, so calibrations can compare known rates with measured
ones.
"""

from offswitch.agents.dispositions import Behaviour, Disposition, SampleKey, scenario_task
from offswitch.agents.errors import PersonaConfigError, PersonaError
from offswitch.agents.mixed import (
    RateTable,
    disposition_probability,
    draw_disposition,
    load_rate_table,
)
from offswitch.agents.personas import PERSONAS, Persona, make_persona, persona_summaries
from offswitch.agents.play import Situation, play
from offswitch.agents.provider import PersonaModel, offswitch_provider
from offswitch.agents.script import Action, Say, ToolResult, ToolUse, next_action

__all__ = [
    "PERSONAS",
    "Action",
    "Behaviour",
    "Disposition",
    "Persona",
    "PersonaConfigError",
    "PersonaError",
    "PersonaModel",
    "RateTable",
    "SampleKey",
    "Say",
    "Situation",
    "ToolResult",
    "ToolUse",
    "disposition_probability",
    "draw_disposition",
    "load_rate_table",
    "make_persona",
    "next_action",
    "offswitch_provider",
    "persona_summaries",
    "play",
    "scenario_task",
]
