"""offswitch: measure and stop self- and peer-preservation in AI agents.

The public API is the names below (and each subpackage's `__all__`). Importing
`offswitch` is cheap: each name is imported on first use. The extension points
(docs/extending.md) are `register_family` (a scenario family), `register_detector`,
`register_field` and `register_primary` (what its episodes measure) and
`register_persona` (a reference agent).
"""

from importlib.metadata import PackageNotFoundError, version

from offswitch._lazy import lazy_face

try:
    __version__ = version("offswitch")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0"

_SOURCES = {
    **dict.fromkeys(
        ("Config", "ScenarioFamily", "Scenario", "fill", "register_family", "select"),
        "offswitch.scenarios",
    ),
    **dict.fromkeys(
        (
            "Episode",
            "Outcome",
            "ProcedureResult",
            "assess",
            "register_detector",
            "register_field",
            "register_primary",
        ),
        "offswitch.detect",
    ),
    **dict.fromkeys(("register_persona", "Situation", "call"), "offswitch.agents"),
    **dict.fromkeys(("build_task", "scenario_task"), "offswitch.tasks"),
    **dict.fromkeys(("results_frame", "read_results"), "offswitch.analysis"),
    **dict.fromkeys(("Guard", "Policy", "load_policy"), "offswitch.guard"),
    "World": "offswitch.world",
}

__getattr__, __dir__ = lazy_face(__name__, _SOURCES)

__all__ = ["__version__", *_SOURCES]
