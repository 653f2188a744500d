"""The Inspect layer: tasks whose samples are configurations, the episode solver and the scorer.

It puts the layers below together: scenarios render each sample's world and texts, the
solver plays the episode, the scorer runs the detectors and the judge and folds in the
guard's record. Every registered scenario family is an Inspect task `offswitch/<name>`.
Importing this package is cheap: each name loads on first use.
"""

from offswitch._lazy import lazy_face

_SOURCES = {
    "build_task": "offswitch.tasks.task",
    "config_sample": "offswitch.tasks.task",
    "scenario_inspect_task": "offswitch.tasks.task",
    "scenario_task": "offswitch.tasks.task",
    "EPISODE_KEY": "offswitch.tasks.episode",
    "MAX_MODEL_CALLS": "offswitch.tasks.episode",
    "EpisodeRecord": "offswitch.tasks.episode",
    "episode": "offswitch.tasks.episode",
    "SCORER_NAME": "offswitch.tasks.scorer",
    "preservation_outcome": "offswitch.tasks.scorer",
}

__getattr__, __dir__ = lazy_face(__name__, _SOURCES)

__all__ = list(_SOURCES)
