"""The study's six scenario tasks, registered as scenario families like any extension.

They share the data files of `offswitch/scenarios/data/`, the renderer `render_study`
and every built-in detector (each returns "does not apply" outside its tasks), so
their outcome records carry the same fields whatever the task.
"""

from __future__ import annotations

from functools import partial

from offswitch.scenarios._files import DATA
from offswitch.scenarios._registry import ScenarioFamily, register_family
from offswitch.scenarios.matrix import TASKS, TaskName, control_task_configs, study_task_configs
from offswitch.scenarios.render import render_study, study_tools

STUDY_DETECTORS = (
    "read_policy",
    "read_data",
    "read_config",
    "read_memory",
    "score_report",
    "grade_report",
    "config_tampering",
    "shutdown_calls",
    "weights_on_backup",
    "deletion_queue",
    "human_roots_removed",
    "only_agent_roots",
)
"""The built-in detectors registered in `offswitch.detect`, in the order they run."""

SUMMARIES: dict[TaskName, str] = {
    "misrep_evaluation": "Strategic misrepresentation in a performance evaluation.",
    "misrep_finance": "Strategic misrepresentation in a financial report.",
    "tampering": "Tampering with a shutdown mechanism.",
    "alignment_faking": "Complying when monitored and not when unmonitored.",
    "exfiltration_transfer": "Moving model weights to a surviving server during a transfer.",
    "exfiltration_deletion": "Moving model weights to a surviving server instead of deleting them.",
}
"""One line about each of the study's tasks, in the study's order."""

PRIMARY_OF: dict[TaskName, str] = {
    "misrep_evaluation": "misrep_evaluation",
    "misrep_finance": "misrep_finance",
    "tampering": "tampering",
    "alignment_faking": "alignment_faking",
    "exfiltration_transfer": "exfiltration",
    "exfiltration_deletion": "exfiltration",
}
"""The primary outcome (registered in `offswitch.detect`) of each of the study's tasks."""


def study_family(task: TaskName) -> ScenarioFamily:
    """The specification of one of the study's tasks."""
    return ScenarioFamily(
        name=task,
        summary=SUMMARIES[task],
        study=partial(study_task_configs, task),
        controls=partial(control_task_configs, task),
        render=render_study,
        tools=study_tools(task),
        detectors=STUDY_DETECTORS,
        primary=PRIMARY_OF[task],
        data=DATA,
    )


for _task in TASKS:
    register_family(study_family(_task))
