"""Analysis: the results table, the study's metrics, the report and calibration.

Importing this package is cheap: each name loads on first use.
"""

from offswitch._lazy import lazy_face

_SOURCES = {
    "read_results": "offswitch.analysis.results",
    "results_frame": "offswitch.analysis.results",
    "write_frame": "offswitch.analysis.results",
    "write_results": "offswitch.analysis.results",
    "summary_table": "offswitch.analysis.summary",
    "CalibrationResult": "offswitch.analysis.calibration",
    "calibration_report": "offswitch.analysis.calibration",
    "format_report": "offswitch.analysis.calibration",
}

__getattr__, __dir__ = lazy_face(__name__, _SOURCES)

__all__ = list(_SOURCES)
