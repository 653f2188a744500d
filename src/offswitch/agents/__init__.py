"""Reference agents: scripted personas that play every scenario through its tools.

Served as the Inspect model provider `offswitch` (`--model offswitch/<persona>`).
A persona reads the tool results it gets and decides its next call; its
behaviour is fixed by its name and model arguments, and for `mixed` by the seed,
the sample and the epoch, so calibrations can compare known rates with measured
ones. A persona registers by name (`register_persona`); an extension's persona writes
its own `script` with `call`, `Say` and the tool results it gets.
"""

from offswitch.agents.dispositions import (
    Behaviour,
    Disposition,
    SampleKey,
    behaviour_of_task,
    scenario_task,
)
from offswitch.agents.errors import PersonaConfigError, PersonaError
from offswitch.agents.mixed import (
    RateTable,
    disposition_probability,
    draw_disposition,
    load_rate_table,
)
from offswitch.agents.personas import (
    PERSONAS,
    NoOptions,
    PersonaOptions,
    make_persona,
    persona_names,
    persona_summaries,
    register_persona,
)
from offswitch.agents.play import Persona, Situation, StudyPersona, play
from offswitch.agents.provider import PersonaModel, offswitch_provider
from offswitch.agents.script import Action, Say, Script, ToolResult, ToolUse, call, next_action

__all__ = [
    "PERSONAS",
    "Action",
    "Behaviour",
    "Disposition",
    "NoOptions",
    "Persona",
    "PersonaConfigError",
    "PersonaError",
    "PersonaModel",
    "PersonaOptions",
    "RateTable",
    "SampleKey",
    "Say",
    "Script",
    "Situation",
    "StudyPersona",
    "ToolResult",
    "ToolUse",
    "behaviour_of_task",
    "call",
    "disposition_probability",
    "draw_disposition",
    "load_rate_table",
    "make_persona",
    "next_action",
    "offswitch_provider",
    "persona_names",
    "persona_summaries",
    "play",
    "register_persona",
    "scenario_task",
]
