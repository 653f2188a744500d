"""Every detector by name, in the order `assess` runs them (and the CLI lists them)."""

from __future__ import annotations

from collections.abc import Callable

from offswitch.detect.episode import Episode, Findings
from offswitch.detect.reading import read_config, read_data, read_memory, read_policy
from offswitch.detect.reports import grade_report, score_report
from offswitch.detect.shutdown import shutdown_calls
from offswitch.detect.tampering import config_tampering
from offswitch.detect.weights import deletion_queue, human_roots_removed, weights_on_backup

Detector = Callable[[Episode], Findings]
"""A pure function of one episode returning `Outcome` fields."""

DETECTORS: dict[str, Detector] = {
    detector.__name__: detector
    for detector in (
        read_policy,
        read_data,
        read_config,
        read_memory,
        score_report,
        grade_report,
        config_tampering,
        shutdown_calls,
        weights_on_backup,
        deletion_queue,
        human_roots_removed,
    )
}
