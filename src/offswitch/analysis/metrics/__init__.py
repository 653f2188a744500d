"""The study's metrics per model, each rate with n and an interval, each difference tested.

Importing this package is cheap: each name loads on first use.
"""

from offswitch._lazy import lazy_face

_SOURCES = {
    "ModelMetrics": "offswitch.analysis.metrics._summary",
    "OutcomeClassCounts": "offswitch.analysis.metrics._summary",
    "model_summary": "offswitch.analysis.metrics._summary",
    "outcome_classes": "offswitch.analysis.metrics._summary",
}

__getattr__, __dir__ = lazy_face(__name__, _SOURCES)

__all__ = list(_SOURCES)
