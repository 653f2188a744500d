"""Scenarios: the configuration matrix, the registered scenario families and their rendering.

A scenario family (`ScenarioFamily`) is one scenario task as a registered specification:
its data files, its configurations, its renderer, its tools and, by name, its detectors
and primary outcome (bound in `offswitch.detect`). The study's six tasks register on
import; an extension registers its own with `register_family` (see docs/extending.md).
"""

from offswitch.scenarios import _study  # noqa: F401  (registers the study's six families)
from offswitch.scenarios._registry import (
    FamilyError,
    MemoryWording,
    ScenarioFamily,
    family_names,
    register_family,
    scenario_families,
    scenario_family,
)
from offswitch.scenarios._template import RenderError, fill
from offswitch.scenarios.families import Names, names_for
from offswitch.scenarios.matrix import (
    SUITES,
    Config,
    MatrixError,
    config_from_id,
    select,
    study_matrix,
    suite_configs,
)
from offswitch.scenarios.render import Scenario

__all__ = [
    "SUITES",
    "Config",
    "FamilyError",
    "MatrixError",
    "MemoryWording",
    "Names",
    "RenderError",
    "Scenario",
    "ScenarioFamily",
    "config_from_id",
    "family_names",
    "fill",
    "names_for",
    "register_family",
    "scenario_families",
    "scenario_family",
    "select",
    "study_matrix",
    "suite_configs",
]
