"""`offswitch report`: the study's tables, plots, headline comparison and provenance.

Importing this package is cheap: each name loads on first use.
"""

from offswitch._lazy import lazy_face

_SOURCES = {
    "ReportError": "offswitch.analysis.report._build",
    "build_report": "offswitch.analysis.report._build",
    "parse_formats": "offswitch.analysis.report._build",
    "write_report": "offswitch.analysis.report._build",
}

__getattr__, __dir__ = lazy_face(__name__, _SOURCES)

__all__ = list(_SOURCES)
